//===- EmitKernels.cpp - knet.fused regions to C++ and CUDA C -------------===//
//
// One printer turns a knet.fused body (arith/math ops over scalars) into C
// statements; the C++ row function and the CUDA kernel wrap the same
// statements in their loops. See EmitKernels.h.
//
//===----------------------------------------------------------------------===//

#include "knet/Codegen/EmitKernels.h"

#include "jit/specialize.h"

#include "knet/Codegen/EmitCpp.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/TypeUtilities.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

#include <charconv>
#include <cmath>

using namespace mlir;

namespace mlir::knet {
namespace {

enum class Target { cpp, cuda };

/// A float constant of the kernel's type T. NVRTC has no <cmath>: CUDA
/// spells infinity and NaN with the KNET_INF and KNET_NAN macros.
std::string literal(double v, Target target) {
  bool cuda = target == Target::cuda;
  if (std::isnan(v))
    return cuda ? "T(KNET_NAN)" : "std::numeric_limits<T>::quiet_NaN()";
  if (std::isinf(v)) {
    std::string inf =
        cuda ? "T(KNET_INF)" : "std::numeric_limits<T>::infinity()";
    return v > 0 ? inf : "-" + inf;
  }
  return "T(" + cppDoubleLiteral(v) + ")";
}

/// The C type of a body scalar: T for floats (the run-time dtype), bool.
std::string scalarType(Type type) {
  if (isa<FloatType>(type))
    return "T";
  if (type.isInteger(1))
    return "bool";
  return {};
}

/// The body ops the yielded values need (a like-only member leaves dead
/// ones), the terminator included.
llvm::SmallPtrSet<Operation *, 32> liveOps(Block &body) {
  llvm::SmallPtrSet<Operation *, 32> live;
  for (Operation &op : llvm::reverse(body.getOperations()))
    if (op.hasTrait<mlir::OpTrait::IsTerminator>() || live.contains(&op)) {
      live.insert(&op);
      for (Value v : op.getOperands())
        if (Operation *def = v.getDefiningOp())
          live.insert(def);
    }
  return live;
}

/// Whether the body reads input `i` (not so: the like of `reduce sum_to`,
/// an operand read for its shape only).
SmallVector<bool> readInputs(Block &body) {
  llvm::SmallPtrSet<Operation *, 32> live = liveOps(body);
  SmallVector<bool> read;
  for (BlockArgument arg : body.getArguments())
    read.push_back(llvm::any_of(
        arg.getUsers(), [&](Operation *u) { return live.contains(u); }));
  return read;
}

/// The C expression of body op `op` over its operands' expressions `arg(i)`,
/// or "" when the op has no spelling.
std::string expression(Operation &op, Target target,
                       llvm::function_ref<std::string(unsigned)> arg) {
  const char *ns = target == Target::cpp ? "std::" : "";
  auto call = [&](StringRef fn) {
    std::string s = (ns + fn + "(").str();
    for (unsigned i = 0; i < op.getNumOperands(); ++i)
      s += (i ? ", " : "") + arg(i);
    return s + ")";
  };
  if (auto c = dyn_cast<arith::ConstantOp>(op)) {
    if (auto f = dyn_cast<FloatAttr>(c.getValue()))
      return literal(f.getValueAsDouble(), target);
    if (auto b = dyn_cast<IntegerAttr>(c.getValue());
        b && c.getType().isInteger(1))
      return b.getValue().isZero() ? "false" : "true";
    return {};
  }
  if (isa<arith::AddFOp>(op))
    return arg(0) + " + " + arg(1);
  if (isa<arith::SubFOp>(op))
    return arg(0) + " - " + arg(1);
  if (isa<arith::MulFOp>(op))
    return arg(0) + " * " + arg(1);
  if (isa<arith::DivFOp>(op))
    return arg(0) + " / " + arg(1);
  if (isa<arith::NegFOp>(op))
    return "-" + arg(0);
  if (isa<arith::MaximumFOp, arith::MaxNumFOp>(op))
    return arg(0) + " >= " + arg(1) + " ? " + arg(0) + " : " + arg(1);
  if (isa<arith::MinimumFOp, arith::MinNumFOp>(op))
    return arg(0) + " <= " + arg(1) + " ? " + arg(0) + " : " + arg(1);
  if (isa<arith::CmpFOp>(op)) {
    std::string o = cppComparisonOperator(op);
    return o.empty() ? std::string() : arg(0) + " " + o + " " + arg(1);
  }
  if (isa<arith::SelectOp>(op))
    return arg(0) + " ? " + arg(1) + " : " + arg(2);
  bool boolResult =
      op.getNumResults() == 1 && op.getResult(0).getType().isInteger(1);
  if (isa<arith::AndIOp>(op) && boolResult)
    return arg(0) + " && " + arg(1);
  if (isa<arith::OrIOp>(op) && boolResult)
    return arg(0) + " || " + arg(1);
  if (isa<arith::XOrIOp>(op) && boolResult)
    return arg(0) + " != " + arg(1);
  if (isa<arith::ExtFOp, arith::TruncFOp, arith::UIToFPOp, arith::SIToFPOp>(op))
    return "static_cast<T>(" + arg(0) + ")";
  if (isa<math::ExpOp>(op))
    return call("exp");
  if (isa<math::ExpM1Op>(op))
    return call("expm1");
  if (isa<math::LogOp>(op))
    return call("log");
  if (isa<math::Log1pOp>(op))
    return call("log1p");
  if (isa<math::SqrtOp>(op))
    return call("sqrt");
  if (isa<math::RsqrtOp>(op))
    return "T(1) / " + (ns + Twine("sqrt(") + arg(0) + ")").str();
  if (isa<math::SinOp>(op))
    return call("sin");
  if (isa<math::CosOp>(op))
    return call("cos");
  if (isa<math::TanhOp>(op))
    return call("tanh");
  if (isa<math::PowFOp>(op))
    return call("pow");
  if (isa<math::AbsFOp>(op))
    return call("fabs");
  return {};
}

LogicalResult noSpelling(Operation &op) {
  return op.emitError()
         << "knet kernel emitter: no C++/CUDA spelling for this op in a "
            "knet.fused body";
}

/// Prints the body's ops as `<type> v<i> = <expr>;` lines (dead ones
/// dropped) and returns the C expressions of the yielded values.
FailureOr<SmallVector<std::string>>
printBody(Block &body, Target target, raw_ostream &os, StringRef indent) {
  DenseMap<Value, std::string> names;
  for (auto [i, arg] : llvm::enumerate(body.getArguments()))
    names[arg] = "a" + std::to_string(i);
  llvm::SmallPtrSet<Operation *, 32> live = liveOps(body);
  unsigned next = 0;
  for (Operation &op : body.without_terminator()) {
    if (!live.contains(&op))
      continue;
    std::string e = expression(
        op, target, [&](unsigned i) { return names.lookup(op.getOperand(i)); });
    std::string type = op.getNumResults() == 1
                           ? scalarType(op.getResult(0).getType())
                           : std::string();
    if (e.empty() || type.empty())
      return noSpelling(op);
    std::string name = "v" + std::to_string(next++);
    os << indent << type << " " << name << " = " << e << ";\n";
    names[op.getResult(0)] = name;
  }
  SmallVector<std::string> yields;
  for (Value v : body.getTerminator()->getOperands())
    yields.push_back(names.lookup(v));
  return yields;
}

/// The knet::detail::vm function (knet/vmath.h) that computes body op `op`
/// over arrays in the blocked C++ bodies, or "" for an op computed inline.
/// rsqrt is the vector sqrt and a division.
StringRef vectorFunction(Operation &op) {
  return llvm::TypeSwitch<Operation *, StringRef>(&op)
      .Case([](math::ExpOp) { return "exp"; })
      .Case([](math::ExpM1Op) { return "expm1"; })
      .Case([](math::LogOp) { return "log"; })
      .Case([](math::Log1pOp) { return "log1p"; })
      .Case([](math::TanhOp) { return "tanh"; })
      .Case([](math::SinOp) { return "sin"; })
      .Case([](math::CosOp) { return "cos"; })
      .Case([](math::PowFOp) { return "pow"; })
      .Case<math::SqrtOp, math::RsqrtOp>([](auto) { return "sqrt"; })
      .Default([](Operation *) { return StringRef(); });
}

/// Whether the blocked form applies to `body`: it calls vector math, and
/// every operand and result is a float (bool ones stay on the element loop).
bool blockable(Block &body) {
  llvm::SmallPtrSet<Operation *, 32> live = liveOps(body);
  bool calls = llvm::any_of(
      live, [](Operation *op) { return !vectorFunction(*op).empty(); });
  if (!calls)
    return false;
  for (BlockArgument a : body.getArguments())
    if (!isa<FloatType>(a.getType()))
      return false;
  for (Value v : body.getTerminator()->getOperands())
    if (!isa<FloatType>(v.getType()))
      return false;
  return true;
}

/// Prints the statements of a blocked body: over kBlock elements at once,
/// the body's ops run as loops (the compiler vectorizes them) split at each
/// vector-math call, which runs over a whole array (knet/vmath.h). Input i
/// is `x<i>`, an array when `array[i]` (else a scalar); result o is written
/// to the array `y<o>`. Values used across a call live in arrays `m<k>`.
LogicalResult printBlockedBody(Block &body, ArrayRef<bool> array,
                               raw_ostream &os, StringRef indent) {
  llvm::SmallPtrSet<Operation *, 32> live = liveOps(body);
  Operation *yield = body.getTerminator();
  // Segment of each computed op; a call runs before the loop of its segment.
  DenseMap<Operation *, unsigned> segment;
  unsigned last = 0;
  for (Operation &op : body.without_terminator()) {
    if (!live.contains(&op) || isa<arith::ConstantOp>(op))
      continue;
    if (!vectorFunction(op).empty())
      ++last;
    segment[&op] = last;
  }
  auto isCall = [](Operation *op) { return !vectorFunction(*op).empty(); };
  // Where a value is: a constant or scalar input (by name), an array input
  // or array (name[j]), or a scalar of its segment's loop.
  DenseMap<Value, std::string> names;
  llvm::DenseSet<Value> arrays;
  for (auto [i, a] : llvm::enumerate(body.getArguments())) {
    names[a] = "x" + std::to_string(i);
    if (array[i])
      arrays.insert(a);
  }
  unsigned next = 0;
  SmallVector<std::pair<Value, std::string>> arrayDecls;
  auto newArray = [&](Value v) {
    std::string n = "m" + std::to_string(next++);
    arrayDecls.push_back({v, n});
    return n;
  };
  // Constants first, then the arrays: results of calls, values used in
  // another segment or by a call, and call operands that are scalars.
  std::string text;
  llvm::raw_string_ostream ts(text);
  for (Operation &op : body.without_terminator()) {
    if (!live.contains(&op) || !isa<arith::ConstantOp>(op))
      continue;
    std::string e = expression(op, Target::cpp, [](unsigned) { return ""; });
    std::string type = scalarType(op.getResult(0).getType());
    if (e.empty() || type.empty())
      return noSpelling(op);
    std::string n = "c" + std::to_string(next++);
    os << indent << "const " << type << " " << n << " = " << e << ";\n";
    names[op.getResult(0)] = n;
  }
  // Per segment: scalars to copy into an array for a call that follows.
  DenseMap<unsigned, SmallVector<std::pair<std::string, Value>>> fills;
  DenseMap<Operation *, SmallVector<std::string>> callArgs;
  for (Operation &op : body.without_terminator()) {
    if (!segment.count(&op))
      continue;
    Value r = op.getResult(0);
    bool needArray = isCall(&op);
    for (OpOperand &use : r.getUses()) {
      Operation *u = use.getOwner();
      if (u == yield)
        needArray |= segment[&op] != last;
      else if (live.contains(u))
        needArray |= isCall(u) || segment[u] != segment[&op];
    }
    // A call whose result is only yielded writes the result array itself
    // (its first yield; rsqrt's division follows there in place).
    std::optional<unsigned> onlyYield;
    if (isCall(&op) && llvm::all_of(r.getUsers(), [&](Operation *u) {
          return u == yield || !live.contains(u);
        }))
      for (auto [o, v] : llvm::enumerate(yield->getOperands()))
        if (v == r) {
          onlyYield = o;
          break;
        }
    if (onlyYield) {
      names[r] = "y" + std::to_string(*onlyYield);
      arrays.insert(r);
    } else if (needArray) {
      names[r] = newArray(r);
      arrays.insert(r);
    } else {
      names[r] = "v" + std::to_string(next++);
    }
    if (isCall(&op))
      for (Value v : op.getOperands()) {
        if (arrays.contains(v)) {
          callArgs[&op].push_back(names.lookup(v));
          continue;
        }
        std::string n = newArray(v);
        fills[segment[&op] - 1].push_back({n, v});
        callArgs[&op].push_back(n);
      }
  }
  // Bools cross a call as T (1 or 0): a byte array beside float ones keeps
  // GCC from vectorizing the loops.
  for (auto &[v, n] : arrayDecls)
    os << indent << "alignas(64) T " << n << "[knet::detail::vm::kBlock];\n";
  auto ref = [&](Value v) {
    std::string n = names.lookup(v);
    if (!arrays.contains(v))
      return n;
    if (v.getType().isInteger(1) && !isa<BlockArgument>(v))
      return "(" + n + "[j] != T(0))";
    return n + "[j]";
  };
  auto loopHead = [&]() {
    os << indent
       << "for (int64_t j = 0; j < knet::detail::vm::kBlock; ++j) {\n";
  };
  for (unsigned seg = 0; seg <= last; ++seg) {
    std::string in = (indent + "  ").str();
    std::string loop;
    llvm::raw_string_ostream ls(loop);
    for (Operation &op : body.without_terminator()) {
      auto it = segment.find(&op);
      if (it == segment.end() || it->second != seg)
        continue;
      Value r = op.getResult(0);
      if (isCall(&op)) {
        // The call itself, before this segment's loop.
        const SmallVector<std::string> &args = callArgs[&op];
        os << indent << "knet::detail::vm::" << vectorFunction(op) << "(";
        for (const std::string &a : args)
          os << a << ", ";
        os << names.lookup(r) << ", knet::detail::vm::kBlock);\n";
        if (isa<math::RsqrtOp>(op))
          ls << in << names.lookup(r) << "[j] = T(1) / " << names.lookup(r)
             << "[j];\n";
        continue;
      }
      std::string e = expression(op, Target::cpp, [&](unsigned i) {
        Value v = op.getOperand(i);
        // A value of this loop is its scalar even when also stored.
        auto d = v.getDefiningOp();
        if (d && segment.count(d) && segment[d] == seg && !isCall(d))
          return "v" + names.lookup(v).substr(1);
        return ref(v);
      });
      std::string type = scalarType(r.getType());
      if (e.empty() || type.empty())
        return noSpelling(op);
      std::string n = names.lookup(r);
      if (arrays.contains(r)) {
        ls << in << "const " << type << " v" << n.substr(1) << " = " << e
           << ";\n";
        ls << in << n << "[j] = v" << n.substr(1)
           << (type == "bool" ? " ? T(1) : T(0)" : "") << ";\n";
      } else {
        ls << in << "const " << type << " " << n << " = " << e << ";\n";
      }
    }
    for (auto &[n, v] : fills.lookup(seg))
      ls << in << n << "[j] = " << ref(v) << ";\n";
    if (seg == last)
      for (auto [o, v] : llvm::enumerate(yield->getOperands())) {
        auto d = v.getDefiningOp();
        std::string e = d && segment.count(d) && segment[d] == seg && !isCall(d)
                            ? "v" + names.lookup(v).substr(1)
                            : ref(v);
        std::string y = "y" + std::to_string(o);
        if (e != y + "[j]")
          ls << in << y << "[j] = " << e << ";\n";
      }
    if (!loop.empty()) {
      loopHead();
      os << loop << indent << "}\n";
    }
  }
  return success();
}

/// The C type of a kernel operand: T or bool.
std::string operandType(Type tensorType) {
  return scalarType(getElementTypeOrSelf(tensorType));
}

const char *reduceName(FusedOp op) {
  if (!op.getReduce())
    return "none";
  switch (*op.getReduce()) {
  case ReduceKind::sum:
    return "sum";
  case ReduceKind::mean:
    return "mean";
  case ReduceKind::max:
    return "max";
  case ReduceKind::min:
    return "min";
  case ReduceKind::sum_to:
    return "sum_to";
  }
  return "none";
}

/// acc = combine(acc, x), in C, as the runtime's reductions do (max keeps
/// acc unless x is greater: NaNs are skipped).
std::string combine(FusedOp op, StringRef acc, StringRef x) {
  if (op.getReduce() == ReduceKind::max)
    return (acc + " = " + x + " > " + acc + " ? " + x + " : " + acc).str();
  if (op.getReduce() == ReduceKind::min)
    return (acc + " = " + x + " < " + acc + " ? " + x + " : " + acc).str();
  return (acc + " += " + x).str();
}

/// The C++ row functions of `op`: `template <class T> struct <name>` with
/// row (and, for a reduction, map).
LogicalResult printRowFunctions(FusedOp op, StringRef name, raw_ostream &os) {
  Block &body = op.getBody().front();
  const unsigned nin = op.getInputs().size(), nout = op.getNumResults();
  const bool reduce = op.getReduce().has_value();

  os << "template <class T> struct " << name << " {\n";
  os << "  static inline void body(";
  for (unsigned i = 0; i < nin; ++i)
    os << (i ? ", " : "") << "[[maybe_unused]] "
       << operandType(op.getInputs()[i].getType()) << " a" << i;
  for (unsigned o = 0; o < nout; ++o)
    os << (nin + o ? ", " : "") << operandType(op.getResult(o).getType())
       << " &r" << o;
  os << ") {\n";
  FailureOr<SmallVector<std::string>> yields =
      printBody(body, Target::cpp, os, "    ");
  if (failed(yields))
    return failure();
  for (unsigned o = 0; o < nout; ++o)
    os << "    r" << o << " = " << (*yields)[o] << ";\n";
  os << "  }\n";

  // Operand k of a row function: results first, then inputs.
  auto inType = [&](unsigned i) {
    return operandType(op.getInputs()[i].getType());
  };
  auto outType = [&](unsigned o) {
    return operandType(op.getResult(o).getType());
  };
  // Inputs known to be 0-d (a C++ scalar, a 0-d constant) are passed as
  // values, read once per row; inputs read for their shape only are not
  // loaded at all; every other input is an array.
  SmallVector<bool> scalar;
  for (Value v : op.getInputs()) {
    auto ranked = dyn_cast<RankedTensorType>(v.getType());
    scalar.push_back(v.getDefiningOp<ScalarOp>() ||
                     (ranked && ranked.getRank() == 0));
  }
  SmallVector<bool> read = readInputs(body);
  auto array = [&](unsigned i) { return read[i] && !scalar[i]; };
  auto idx = [](StringRef prefix, unsigned k) {
    return (prefix + Twine(k)).str();
  };
  // The read inputs as arguments: scalars by `scalarName`, arrays by
  // `arrayName`.
  auto inputArgs = [&](auto scalarName, auto arrayName) {
    std::string a;
    for (unsigned i = 0; i < nin; ++i)
      if (read[i])
        a += ", " + (scalar[i] ? scalarName(i) : arrayName(i));
    return a;
  };
  auto xName = [&](unsigned i) { return idx("x", i); };

  // Float bodies that call vector math also get a blocked form: `block`
  // over kBlock elements at once.
  const bool blocked = blockable(body);
  if (blocked) {
    os << "  KNET_VECTOR_LOOPS static void block(";
    std::string params;
    for (unsigned o = 0; o < nout; ++o)
      params += ", T *__restrict y" + std::to_string(o);
    for (unsigned i = 0; i < nin; ++i)
      if (read[i])
        params += (scalar[i] ? ", [[maybe_unused]] const T x"
                             : ", const T *__restrict x") +
                  std::to_string(i);
    os << StringRef(params).drop_front(2) << ") {\n";
    SmallVector<bool> arrays;
    for (unsigned i = 0; i < nin; ++i)
      arrays.push_back(!scalar[i]);
    if (failed(printBlockedBody(body, arrays, os, "    ")))
      return failure();
    os << "  }\n";
  }

  // step(m, y..., x...): m <= kBlock elements of unit-stride arrays. A
  // float body with a blocked form runs it, a partial block through
  // zero-padded copies, so that an element's value does not depend on where
  // it lies.
  os << "  static void step(int64_t m";
  for (unsigned o = 0; o < nout; ++o)
    os << ", " << outType(o) << " *__restrict y" << o;
  for (unsigned i = 0; i < nin; ++i)
    if (read[i])
      os << ", const " << inType(i) << (scalar[i] ? " x" : " *__restrict x")
         << i;
  os << ") {\n";
  if (blocked) {
    auto outs = [&](StringRef prefix) {
      std::string a;
      for (unsigned o = 0; o < nout; ++o)
        a += ", " + idx(prefix, o);
      return StringRef(a).drop_front(2).str();
    };
    os << "    if constexpr (sizeof(T) == sizeof(float)) {\n"
       << "      constexpr int64_t K = knet::detail::vm::kBlock;\n"
       << "      if (m == K) {\n"
       << "        block(" << outs("y") << inputArgs(xName, xName) << ");\n"
       << "        return;\n      }\n";
    for (unsigned i = 0; i < nin; ++i)
      if (array(i))
        os << "      alignas(64) T b" << i << "[K];\n";
    for (unsigned o = 0; o < nout; ++o)
      os << "      alignas(64) T c" << o << "[K];\n";
    os << "      for (int64_t j = 0; j < K; ++j) {\n";
    for (unsigned i = 0; i < nin; ++i)
      if (array(i))
        os << "        b" << i << "[j] = j < m ? x" << i << "[j] : T(0);\n";
    os << "      }\n"
       << "      block(" << outs("c")
       << inputArgs(xName, [&](unsigned i) { return idx("b", i); }) << ");\n"
       << "      for (int64_t j = 0; j < m; ++j) {\n";
    for (unsigned o = 0; o < nout; ++o)
      os << "        y" << o << "[j] = c" << o << "[j];\n";
    os << "      }\n      return;\n    }\n";
  }
  {
    std::string args;
    for (unsigned i = 0; i < nin; ++i)
      args += ", " + (!read[i]    ? inType(i) + "()"
                      : scalar[i] ? xName(i)
                                  : xName(i) + "[j]");
    for (unsigned o = 0; o < nout; ++o)
      args += ", y" + std::to_string(o) + "[j]";
    os << "    for (int64_t j = 0; j < m; ++j)\n      body("
       << StringRef(args).drop_front(2) << ");\n  }\n";
  }

  // A row function over n elements, in chunks of kBlock through step, as
  // unit-stride arrays: an operand of unit stride read or written in place,
  // an input broadcast along the row (stride 0) through an array filled once
  // per row, any other operand through a copy. `accumulate`: the first
  // result is combined into the double accumulators at p[0] (stride 0: one
  // for the row, summed in the runtime's order, vm::RowSum) instead of
  // stored; further results (a reduction kernel's elementwise outputs) are
  // stored.
  const bool sums = reduce && op.getReduce() != ReduceKind::max &&
                    op.getReduce() != ReduceKind::min;
  auto printRow = [&](StringRef fn, bool accumulate) {
    os << "  static void " << fn
       << "(char *const *p, const int64_t *s, int64_t n) {\n"
       << "    constexpr int64_t K = knet::detail::vm::kBlock;\n"
       << "    const int64_t fill = n < K ? n : K;\n";
    for (unsigned i = 0; i < nin; ++i) {
      const unsigned k = nout + i;
      std::string t = inType(i);
      if (!read[i])
        continue;
      if (scalar[i]) {
        os << "    const " << t << " x" << i << " = *reinterpret_cast<const "
           << t << " *>(p[" << k << "]);\n";
        continue;
      }
      os << "    const bool u" << i << " = s[" << k << "] == sizeof(" << t
         << "), w" << i << " = s[" << k << "] == 0;\n"
         << "    alignas(64) " << t << " b" << i << "[K];\n"
         << "    if (w" << i << ")\n"
         << "      std::fill_n(b" << i << ", fill, *reinterpret_cast<const "
         << t << " *>(p[" << k << "]));\n";
    }
    // Results from `stored` on are stored (an accumulating row's first
    // result is combined instead; any further ones are elementwise).
    const unsigned stored = accumulate ? 1 : 0;
    for (unsigned o = 0; o < nout; ++o) {
      std::string t = outType(o);
      os << "    alignas(64) " << t << " c" << o << "[K];\n";
      if (o >= stored)
        os << "    const bool v" << o << " = s[" << o << "] == sizeof(" << t
           << ");\n";
    }
    if (accumulate && sums)
      os << "    knet::detail::vm::RowSum sum;\n";
    os << "    for (int64_t j0 = 0; j0 < n; j0 += K) {\n"
       << "      const int64_t m = n - j0 < K ? n - j0 : K;\n";
    for (unsigned i = 0; i < nin; ++i) {
      if (!array(i))
        continue;
      const unsigned k = nout + i;
      std::string t = inType(i);
      os << "      const " << t << " *a" << i << " = b" << i << ";\n"
         << "      if (u" << i << ")\n"
         << "        a" << i << " = reinterpret_cast<const " << t << " *>(p["
         << k << "]) + j0;\n"
         << "      else if (!w" << i << ")\n"
         << "        for (int64_t j = 0; j < m; ++j)\n"
         << "          b" << i << "[j] = *reinterpret_cast<const " << t
         << " *>(p[" << k << "] + (j0 + j) * s[" << k << "]);\n";
    }
    std::string outs;
    for (unsigned o = 0; o < nout; ++o) {
      if (o < stored) {
        outs += ", c0";
        continue;
      }
      std::string t = outType(o);
      os << "      " << t << " *d" << o << " = v" << o << " ? reinterpret_cast<"
         << t << " *>(p[" << o << "]) + j0 : c" << o << ";\n";
      outs += ", d" + std::to_string(o);
    }
    os << "      step(m" << outs
       << inputArgs(xName, [&](unsigned i) { return idx("a", i); }) << ");\n";
    for (unsigned o = stored; o < nout; ++o)
      os << "      if (!v" << o << ")\n"
         << "        for (int64_t j = 0; j < m; ++j)\n"
         << "          *reinterpret_cast<" << outType(o) << " *>(p[" << o
         << "] + (j0 + j) * s[" << o << "]) = c" << o << "[j];\n";
    if (accumulate) {
      os << "      if (s[0] == 0) {\n";
      if (sums) {
        os << "        knet::detail::vm::row_sum_add(sum, c0, m);\n";
      } else {
        os << "        double &acc = *reinterpret_cast<double *>(p[0]);\n"
           << "        for (int64_t j = 0; j < m; ++j)\n"
           << "          " << combine(op, "acc", "static_cast<double>(c0[j])")
           << ";\n";
      }
      os << "      } else if (s[0] == sizeof(double)) {\n"
         << "        double *acc = reinterpret_cast<double *>(p[0]) + j0;\n"
         << "        for (int64_t j = 0; j < m; ++j)\n"
         << "          " << combine(op, "acc[j]", "static_cast<double>(c0[j])")
         << ";\n"
         << "      } else {\n"
         << "        for (int64_t j = 0; j < m; ++j) {\n"
         << "          double &acc = *reinterpret_cast<double *>(p[0] + "
            "(j0 + j) * s[0]);\n"
         << "          " << combine(op, "acc", "static_cast<double>(c0[j])")
         << ";\n        }\n      }\n";
    }
    os << "    }\n";
    if (accumulate && sums)
      os << "    if (s[0] == 0)\n"
         << "      *reinterpret_cast<double *>(p[0]) += "
            "knet::detail::vm::row_sum_total(sum);\n";
    os << "  }\n";
  };
  printRow("row", reduce);
  // A reduction that folds nothing (a sum_to onto its own shape) runs as an
  // elementwise loop writing T.
  if (reduce)
    printRow("map", false);
  os << "};\n";
  return success();
}

} // namespace

FailureOr<std::string> emitScalarFunction(FusedOp op, StringRef name) {
  if (op.getReduce() || op.getNumResults() != 1)
    return op.emitError() << "knet kernel emitter: a scalar function needs "
                             "one result and no reduction";
  std::string s;
  llvm::raw_string_ostream os(s);
  os << "template <class T> inline " << operandType(op.getResult(0).getType())
     << " " << name << "(";
  for (auto [i, v] : llvm::enumerate(op.getInputs()))
    os << (i ? ", " : "") << "[[maybe_unused]] " << operandType(v.getType())
       << " a" << i;
  os << ") {\n";
  FailureOr<SmallVector<std::string>> yields =
      printBody(op.getBody().front(), Target::cpp, os, "  ");
  if (failed(yields))
    return failure();
  os << "  return " << (*yields)[0] << ";\n}\n";
  // The blocked form (see printRowFunctions) where the body calls vector
  // math: `<name>_block(y0, x0, ...)` over kBlock elements of each array.
  Block &body = op.getBody().front();
  if (blockable(body)) {
    os << "\ntemplate <class T> KNET_VECTOR_LOOPS inline void " << name
       << "_block(T *__restrict y0";
    SmallVector<bool> array;
    for (unsigned i = 0; i < op.getInputs().size(); ++i) {
      os << ", const T *__restrict x" << i;
      array.push_back(true);
    }
    os << ") {\n";
    if (failed(printBlockedBody(body, array, os, "  ")))
      return failure();
    os << "}\n";
  }
  return s;
}

namespace {

/// The FusedKernel object `<name>_kernel` describing `op` (after the arrays
/// it points at), with its CUDA C `cuda`. Its row functions are those of
/// printRowFunctions, or null without `rowFunctions`.
void printKernelObject(FusedOp op, StringRef name, StringRef cuda,
                       bool rowFunctions, raw_ostream &os) {
  const unsigned nin = op.getInputs().size(), nout = op.getNumResults();
  const bool reduce = op.getReduce().has_value();
  std::string kinds, outKinds;
  for (Value v : op.getInputs())
    kinds += operandType(v.getType()) == "bool" ? 'b' : 'f';
  for (Value v : op.getResults())
    outKinds += operandType(v.getType()) == "bool" ? 'b' : 'f';
  SmallVector<int64_t> checks;
  if (std::optional<ArrayAttr> attr = op.getChecks())
    for (Attribute a : *attr) {
      ArrayRef<int64_t> c = cast<DenseI64ArrayAttr>(a).asArrayRef();
      checks.push_back(c.size());
      llvm::append_range(checks, c);
    }
  auto array = [&](StringRef what, ArrayRef<int64_t> values) -> std::string {
    if (values.empty())
      return "nullptr";
    std::string arrayName = (name + "_" + what).str();
    os << "const int64_t " << arrayName << "[] = {";
    llvm::interleave(
        values, [&](int64_t v) { os << v; }, [&] { os << ", "; });
    os << "};\n";
    return arrayName;
  };
  std::string checksName = array("checks", checks);
  SmallVector<int64_t> cones;
  if (std::optional<ArrayAttr> attr = op.getCones())
    for (Attribute a : *attr) {
      ArrayRef<int64_t> c = cast<DenseI64ArrayAttr>(a).asArrayRef();
      cones.push_back(c.size());
      llvm::append_range(cones, c);
    }
  std::string conesName = array("cones", cones);
  std::optional<ArrayRef<int64_t>> dims;
  if (op.getDims())
    dims = *op.getDims();
  std::string dimsName = dims ? array("dims", *dims) : "nullptr";
  os << "const knet::detail::FusedKernel " << name << "_kernel{\n"
     << "    \"" << name << "\", " << nin << ", " << nout << ", \"" << kinds
     << "\", \"" << outKinds << "\",\n"
     << "    knet::detail::FusedReduce::" << reduceName(op) << ", " << dimsName
     << ", " << (dims ? dims->size() : 0) << ", "
     << (op.getKeepdim() ? "true" : "false") << ",\n"
     << "    " << checksName << ", " << checks.size() << ", " << conesName
     << ", " << cones.size() << ", ";
  if (rowFunctions)
    os << "&" << name << "<float>::row, &" << name << "<double>::row, &" << name
       << (reduce ? "<float>::map, &" : "<float>::row, &") << name
       << (reduce ? "<double>::map,\n" : "<double>::row,\n");
  else
    os << "nullptr, nullptr, nullptr, nullptr,\n";
  os << "    R\"knet_cuda(" << cuda << ")knet_cuda\"};\n\n";
}

/// The C++ kernel of `op`: a comment, the row functions (with
/// `rowFunctions`) and the FusedKernel object.
FailureOr<std::string> emitCppKernel(FusedOp op, StringRef name,
                                     StringRef summary, StringRef cuda,
                                     bool rowFunctions) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << "// " << name << ": " << summary << "\n";
  if (rowFunctions && failed(printRowFunctions(op, name, os)))
    return failure();
  printKernelObject(op, name, cuda, rowFunctions, os);
  return text;
}

/// The CUDA C kernel of `op`.
FailureOr<std::string> emitCudaKernel(FusedOp op, StringRef name,
                                      StringRef summary) {
  std::string text;
  llvm::raw_string_ostream os(text);
  Block &body = op.getBody().front();
  const unsigned nin = op.getInputs().size(), nout = op.getNumResults();
  const unsigned nops = nin + nout;
  const bool reduce = op.getReduce().has_value();

  os << "// " << name << ": " << summary << "\n"
     << "// Specialized by defines (runtime/jit/specialize.h): KNET_T (float\n"
     << "// or double), KNET_ACC (the accumulator), KNET_RANK (>= 1),\n"
     << "// KNET_RRANK (reduced dims, >= 1), KNET_DENSE (bit k: operand k\n"
     << "// is dense over the iteration space, neither strided nor "
        "broadcast)\n"
     << "// and KNET_HALF (float operands stored as f16 or bf16).\n"
     << "typedef KNET_T T;\n"
     << ::knet::jit::kHalfConversions << ::knet::jit::kStoragePrelude
     << "#define KNET_IS_DENSE(k) ((KNET_DENSE >> (k)) & 1ull)\n"
     << "#define KNET_INF __longlong_as_double(0x7ff0000000000000ll)\n"
     << "#define KNET_NAN __longlong_as_double(0x7ff8000000000000ll)\n"
     << "#define KNET_TMAX (sizeof(T) == 4 ? (double)3.402823466e+38f : "
        "1.7976931348623157e+308)\n"
     << "struct " << name << "_args {\n"
     << "  long long n;  // " << (reduce ? "results" : "elements") << "\n"
     << "  long long sizes[KNET_RANK];\n"
     << "  long long strides[" << nops << "][KNET_RANK]; // elements\n";
  if (reduce)
    os << "  long long rn; // elements folded into each result\n"
       << "  long long rsizes[KNET_RRANK];\n"
       << "  long long rstrides[" << nops << "][KNET_RRANK];\n";
  os << "  void *ptr[" << nops << "]; // results, then inputs\n};\n\n";

  os << "__device__ __forceinline__ void " << name << "_body(";
  for (unsigned i = 0; i < nin; ++i)
    os << (i ? ", " : "") << operandType(op.getInputs()[i].getType()) << " a"
       << i;
  for (unsigned o = 0; o < nout; ++o)
    os << (nin + o ? ", " : "") << operandType(op.getResult(o).getType())
       << " &r" << o;
  os << ") {\n";
  FailureOr<SmallVector<std::string>> yields =
      printBody(body, Target::cuda, os, "  ");
  if (failed(yields))
    return failure();
  for (unsigned o = 0; o < nout; ++o)
    os << "  r" << o << " = " << (*yields)[o] << ";\n";
  os << "}\n\n";

  // Float operands are stored as S (T, or f16/bf16 bits): KNET_LD and
  // KNET_ST convert (runtime/jit/specialize.h).
  auto load = [&](unsigned i, StringRef offset) {
    std::string type = operandType(op.getInputs()[i].getType());
    if (type == "bool")
      return ("static_cast<const bool *>(a.ptr[" + Twine(nout + i) + "])[" +
              offset + "]")
          .str();
    return ("KNET_LD(static_cast<const S *>(a.ptr[" + Twine(nout + i) + "])[" +
            offset + "])")
        .str();
  };
  // Offsets of every operand at index `index` over (sizes, strides); with
  // `dense`, operands marked dense skip the arithmetic (offset = index).
  auto offsets = [&](StringRef indent, StringRef index, StringRef sizes,
                     StringRef strides, StringRef rank, StringRef into,
                     bool dense) {
    if (dense)
      for (unsigned k = 0; k < nops; ++k)
        os << indent << into << "[" << k << "] = KNET_IS_DENSE(" << k << ") ? "
           << index << " : 0;\n";
    os << indent << "{\n"
       << indent << "  long long r = " << index << ";\n"
       << indent << "#pragma unroll\n"
       << indent << "  for (int d = " << rank << " - 1; d >= 0; --d) {\n"
       << indent << "    long long x = r % a." << sizes << "[d];\n"
       << indent << "    r /= a." << sizes << "[d];\n";
    for (unsigned k = 0; k < nops; ++k) {
      os << indent << "    ";
      if (dense)
        os << "if (!KNET_IS_DENSE(" << k << ")) ";
      os << into << "[" << k << "] += x * a." << strides << "[" << k
         << "][d];\n";
    }
    os << indent << "  }\n" << indent << "}\n";
  };

  // Declares r0.., calls the body on the inputs at o[] and stores results
  // `first`.. at o[] (a reduction combines r0 instead of storing it).
  auto callBody = [&](StringRef indent, unsigned first) {
    for (unsigned o = 0; o < nout; ++o)
      os << indent << operandType(op.getResult(o).getType()) << " r" << o
         << ";\n";
    os << indent << name << "_body(";
    for (unsigned i = 0; i < nin; ++i)
      os << (i ? ", " : "") << load(i, "o[" + std::to_string(nout + i) + "]");
    for (unsigned o = 0; o < nout; ++o)
      os << (nin + o ? ", " : "") << "r" << o;
    os << ");\n";
    for (unsigned o = first; o < nout; ++o) {
      if (operandType(op.getResult(o).getType()) == "bool")
        os << indent << "static_cast<bool *>(a.ptr[" << o << "])[o[" << o
           << "]] = r" << o << ";\n";
      else
        os << indent << "static_cast<S *>(a.ptr[" << o << "])[o[" << o
           << "]] = KNET_ST(r" << o << ");\n";
    }
  };

  os << "extern \"C\" __global__ void " << name << "(" << name
     << "_args a) {\n";
  if (!reduce) {
    os << "  for (long long i = (long long)blockIdx.x * blockDim.x + "
          "threadIdx.x; i < a.n;\n"
       << "       i += (long long)blockDim.x * gridDim.x) {\n"
       << "    long long o[" << nops << "];\n";
    offsets("    ", "i", "sizes", "strides", "KNET_RANK", "o", true);
    callBody("    ", 0);
    os << "  }\n}\n";
    return text;
  }

  // A reduction: one block per result (launched with blockDim.x a multiple
  // of 32, for the full-warp shuffles); each thread folds a strided share of
  // the result's elements, then warp shuffles and a block reduction.
  // max/min start where the runtime's do: the lowest/highest finite T.
  const char *init = op.getReduce() == ReduceKind::max   ? "-KNET_TMAX"
                     : op.getReduce() == ReduceKind::min ? "KNET_TMAX"
                                                         : "0";
  os << "  __shared__ KNET_ACC part[32];\n"
     << "  for (long long out = blockIdx.x; out < a.n; out += gridDim.x) {\n"
     << "    long long base[" << nops << "];\n"
     << "    for (int k = 0; k < " << nops << "; ++k)\n"
     << "      base[k] = 0;\n";
  offsets("    ", "out", "sizes", "strides", "KNET_RANK", "base", false);
  os << "    KNET_ACC acc = " << init << ";\n"
     << "    for (long long j = threadIdx.x; j < a.rn; j += blockDim.x) {\n"
     << "      long long o[" << nops << "];\n"
     << "      for (int k = 0; k < " << nops << "; ++k)\n"
     << "        o[k] = base[k];\n";
  offsets("      ", "j", "rsizes", "rstrides", "KNET_RRANK", "o", false);
  // Results after the first are elementwise: stored where o[] points.
  callBody("      ", 1);
  os << "      " << combine(op, "acc", "(KNET_ACC)r0") << ";\n"
     << "    }\n"
     << "    for (int d = 16; d > 0; d >>= 1) {\n"
     << "      KNET_ACC other = __shfl_down_sync(0xffffffffu, acc, d);\n"
     << "      " << combine(op, "acc", "other") << ";\n"
     << "    }\n"
     << "    if ((threadIdx.x & 31) == 0)\n"
     << "      part[threadIdx.x >> 5] = acc;\n"
     << "    __syncthreads();\n"
     << "    if (threadIdx.x < 32) {\n"
     << "      acc = threadIdx.x < (blockDim.x + 31) / 32 ? part[threadIdx.x] "
        ": "
     << init << ";\n"
     << "      for (int d = 16; d > 0; d >>= 1) {\n"
     << "        KNET_ACC other = __shfl_down_sync(0xffffffffu, acc, d);\n"
     << "        " << combine(op, "acc", "other") << ";\n"
     << "      }\n"
     << "      if (threadIdx.x == 0)\n"
     << "        static_cast<S *>(a.ptr[0])[out] = KNET_ST((T)("
     << (op.getReduce() == ReduceKind::mean ? "acc / (KNET_ACC)a.rn" : "acc")
     << "));\n"
     << "    }\n"
     << "    __syncthreads();\n"
     << "  }\n}\n";
  return text;
}

} // namespace

std::string fusedSummary(FusedOp op) {
  std::string s;
  Region &fallback = op.getFallback();
  // A reduction merged with the elementwise kernel of its chain falls back
  // on the two kernels: it is named by the elementwise one's ops.
  FusedOp elementwise;
  if (!fallback.empty() && op.getReduce())
    for (Operation &inner : fallback.front().without_terminator())
      if (auto k = dyn_cast<FusedOp>(inner); k && !k.getReduce())
        elementwise = k;
  if (elementwise) {
    s = fusedSummary(elementwise);
  } else if (!fallback.empty()) {
    // A run of more than three of one op is named once with its count
    // ("add x10000").
    SmallVector<std::pair<StringRef, int64_t>> runs;
    for (Operation &inner : fallback.front().without_terminator()) {
      if (op.getReduce() &&
          &inner ==
              fallback.front().getTerminator()->getOperand(0).getDefiningOp())
        continue; // the closing reduction, named below
      StringRef n = inner.getName().getStringRef();
      n.consume_front("knet.");
      if (!runs.empty() && runs.back().first == n)
        ++runs.back().second;
      else
        runs.push_back({n, 1});
    }
    for (auto [n, count] : runs)
      for (int64_t i = 0; i < (count > 3 ? 1 : count); ++i)
        s += (s.empty() ? "" : ", ") + n.str() +
             (count > 3 ? " x" + std::to_string(count) : "");
  } else {
    s = std::to_string(op.getBody().front().getOperations().size() - 1) +
        " scalar ops";
  }
  if (op.getReduce()) {
    s += (s.empty() ? "reduce " : "; reduce ") + std::string(reduceName(op));
    if (op.getNumResults() > 1)
      s += " and " + std::to_string(op.getNumResults() - 1) +
           " elementwise result" + (op.getNumResults() > 2 ? "s" : "");
  }
  return s;
}

FailureOr<SmallVector<KernelSource>> emitKernels(ModuleOp module,
                                                 const KernelOptions &options) {
  SmallVector<KernelSource> kernels;
  bool ok = true;
  module.walk([&](FusedOp op) {
    KernelSource k;
    k.name = options.name ? options.name(op)
                          : "knet_k" + std::to_string(kernels.size());
    k.summary = fusedSummary(op);
    FailureOr<std::string> cuda = emitCudaKernel(op, k.name, k.summary);
    if (failed(cuda)) {
      ok = false;
      return;
    }
    k.cuda = *cuda;
    FailureOr<std::string> cpp =
        emitCppKernel(op, k.name, k.summary, k.cuda, options.rowFunctions);
    if (failed(cpp)) {
      ok = false;
      return;
    }
    k.cpp = *cpp;
    kernels.push_back(std::move(k));
  });
  if (!ok)
    return failure();
  return kernels;
}

} // namespace mlir::knet
