//===- EmitCpp.cpp - knet IR to readable host C++ -------------------------===//
//
// Prints each @f (and its adjoint @f_grad) as C++ over the runtime: one
// statement per op, variables named after the user's (NameLoc), scf loops and
// branches as C++ loops and branches whose iter_args are local variables.
// Ops become C++ through the pattern table of CppOpTable.cpp; this file only
// knows the structure: functions and their ABI, regions, constants, stacks.
//
//===----------------------------------------------------------------------===//

#include "knet/Codegen/EmitCpp.h"
#include "knet/Codegen/EmitKernels.h"

#include "knet/IR/KnetDialect.h"
#include "knet/Passes/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Support/IndentedOstream.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/Path.h"

#include <charconv>
#include <cmath>
#include <optional>
#include <string>

using namespace mlir;

namespace mlir::knet {
namespace {

//===----------------------------------------------------------------------===//
// Names, locations, literals, types
//===----------------------------------------------------------------------===//

/// The user's variable name a location carries (NameLoc, also inside a
/// FusedLoc), or an empty string.
StringRef nameFromLoc(Location loc) {
  if (auto named = dyn_cast<NameLoc>(loc))
    return named.getName().getValue();
  if (auto fused = dyn_cast<FusedLoc>(loc))
    for (Location inner : fused.getLocations())
      if (StringRef name = nameFromLoc(inner); !name.empty())
        return name;
  return {};
}

/// The file:line a location points at, if any.
std::optional<FileLineColLoc> fileLineFromLoc(Location loc) {
  if (auto flc = dyn_cast<FileLineColLoc>(loc))
    return flc;
  if (auto named = dyn_cast<NameLoc>(loc))
    return fileLineFromLoc(named.getChildLoc());
  if (auto fused = dyn_cast<FusedLoc>(loc))
    for (Location inner : fused.getLocations())
      if (auto flc = fileLineFromLoc(inner))
        return flc;
  if (auto site = dyn_cast<CallSiteLoc>(loc))
    return fileLineFromLoc(site.getCallee());
  return std::nullopt;
}

bool isCppKeyword(StringRef name) {
  static const llvm::StringSet<> keywords = {
      "alignas", "alignof", "and", "asm", "auto", "bool", "break", "case",
      "catch", "char", "class", "const", "continue", "default", "delete", "do",
      "double", "else", "enum", "explicit", "export", "extern", "false",
      "float", "for", "friend", "goto", "if", "inline", "int", "long",
      "mutable", "namespace", "new", "not", "nullptr", "operator", "or",
      "private", "protected", "public", "register", "return", "short", "signed",
      "sizeof", "static", "struct", "switch", "template", "this", "throw",
      "true", "try", "typedef", "typename", "union", "unsigned", "using",
      "virtual", "void", "volatile", "while", "xor", "concept", "requires",
      "co_await", "co_return", "co_yield", "constexpr", "consteval",
      "constinit", "decltype", "noexcept", "static_assert", "thread_local",
      "char8_t", "char16_t", "char32_t", "wchar_t",
      // Names the generated functions use themselves.
      "in", "dout", "din", "out", "knet", "std", "training_mode"};
  return keywords.contains(name);
}

std::string formatFloat(float v) {
  if (std::isnan(v) || std::isinf(v))
    return "static_cast<float>(" + cppDoubleLiteral(v) + ")";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  (void)ec;
  std::string s(buf, end);
  if (s.find_first_of(".e") == std::string::npos)
    s += ".0";
  return s + "f";
}

/// A scalar attribute as a C++ literal of `type` (f32, f64, integers, i1,
/// index), or nullopt.
std::optional<std::string> scalarLiteral(Attribute attr, Type type) {
  if (auto f = dyn_cast<FloatAttr>(attr)) {
    if (type.isF32())
      return formatFloat(static_cast<float>(f.getValueAsDouble()));
    return cppDoubleLiteral(f.getValueAsDouble());
  }
  if (auto i = dyn_cast<IntegerAttr>(attr)) {
    if (type.isInteger(1))
      return std::string(i.getValue().isZero() ? "false" : "true");
    return std::to_string(i.getValue().getSExtValue());
  }
  return std::nullopt;
}

/// The runtime's DType of a builtin element type, or an empty string.
std::string dtypeOf(Type type) {
  type = getElementTypeOrSelf(type);
  if (type.isF32())
    return "knet::DType::f32";
  if (type.isF64())
    return "knet::DType::f64";
  if (type.isInteger(64) || type.isIndex())
    return "knet::DType::i64";
  if (type.isInteger(32))
    return "knet::DType::i32";
  if (type.isInteger(1))
    return "knet::DType::b8";
  return {};
}

/// The C++ type of an IR type, or an empty string when there is none.
/// Scalars have their C++ type: an f32 scalar is a C++ `float` (float
/// arithmetic rounds as in the user's code; it meets a tensor as the double
/// it converts to exactly). Only tensor element types stand for a run-time
/// dtype.
std::string cppType(Type type) {
  if (isa<TensorType>(type))
    return "knet::Tensor";
  if (type.isF64())
    return "double";
  if (type.isF32())
    return "float";
  if (type.isInteger(1))
    return "bool";
  if (type.isInteger(8))
    return "int8_t";
  if (type.isInteger(16))
    return "int16_t";
  if (type.isInteger(32))
    return "int32_t";
  if (type.isInteger(64) || type.isIndex())
    return "int64_t";
  if (auto list = dyn_cast<ListType>(type)) {
    std::string elem = cppType(list.getElementType());
    return elem.empty() ? elem : "std::vector<" + elem + ">";
  }
  if (auto stack = dyn_cast<StackType>(type)) {
    std::string elem = cppType(stack.getElementType());
    return elem.empty() ? elem : "std::vector<" + elem + ">";
  }
  if (isa<MomentsType>(type))
    return "knet::Moments";
  return {};
}

/// A gradient that is zeros_like(an argument) and only returned: the
/// argument does not reach the results. The compiled ABI leaves such
/// gradients undefined instead of allocating zeros (compiled.h).
bool isUnusedArgumentGradient(Value g) {
  auto zeros = g.getDefiningOp<ZerosLikeOp>();
  if (!zeros || !isa<BlockArgument>(zeros.getX()) ||
      !zeros->getParentOfType<func::FuncOp>()->hasAttr("knet.grad_args"))
    return false;
  return llvm::all_of(g.getUsers(),
                      [](Operation *u) { return isa<func::ReturnOp>(u); });
}

/// Whether the emitted code reads `arg` (an unused argument's zero gradient
/// is not emitted).
bool isReadByCode(Value arg) {
  return llvm::any_of(arg.getUsers(), [](Operation *u) {
    return !isa<ZerosLikeOp>(u) || !isUnusedArgumentGradient(u->getResult(0));
  });
}

bool isScalarType(Type type) {
  return type.isF32() || type.isF64() || type.isIndex() || type.isInteger(1) ||
         type.isInteger(8) || type.isInteger(16) || type.isInteger(32) ||
         type.isInteger(64);
}

/// A runtime leaf of the compiled ABI: an index into `in` made of a constant
/// and the sizes of the list arguments before it.
struct Slot {
  int64_t base = 0;
  SmallVector<std::string, 2> lists;

  std::string str(int64_t plus = 0) const {
    std::string s;
    if (base + plus != 0 || lists.empty())
      s = std::to_string(base + plus);
    for (const std::string &l : lists)
      s += (s.empty() ? "" : " + ") + l + ".size()";
    return s;
  }
};

//===----------------------------------------------------------------------===//
// The emitter
//===----------------------------------------------------------------------===//

class CppEmitter {
public:
  CppEmitter(raw_ostream &os, const EmitOptions &options)
      : os(os), options(options) {}

  LogicalResult emitModule(ModuleOp module);

private:
  // Functions.
  LogicalResult emitForward(func::FuncOp f, StringRef id,
                            func::FuncOp save = {});
  LogicalResult emitGrad(func::FuncOp f, func::FuncOp grad, StringRef id,
                         func::FuncOp save = {});
  LogicalResult unpackArguments(func::FuncOp fn, func::FuncOp primal,
                                unsigned count, SmallVectorImpl<Slot> &slots);
  LogicalResult emitReturnValues(Operation *ret, ValueRange results);
  void resetFunction();

  // Blocks and ops.
  LogicalResult emitBlock(Block &block);
  LogicalResult emitOp(Operation &op);
  LogicalResult emitPatternOp(Operation &op, StringRef pattern);
  LogicalResult emitFor(scf::ForOp op);
  LogicalResult emitWhile(scf::WhileOp op);
  LogicalResult emitIf(scf::IfOp op);
  LogicalResult emitStackPop(Operation &op);
  LogicalResult emitFused(FusedOp op);
  void emitAssignments(ArrayRef<std::string> targets, ValueRange values,
                       TypeRange types);
  void emitLocation(Location loc);

  // Values.
  std::string define(Value value, StringRef hint = {});
  std::string expr(Value value);
  std::string nameHint(Value value);
  FailureOr<std::string> typeOf(Value value, Location loc);
  std::string declareDefault(StringRef type, StringRef name);

  // Patterns.
  FailureOr<std::string> expand(Operation &op, StringRef pattern);
  FailureOr<std::string> formatAttr(Operation &op, StringRef name,
                                    Attribute attr);
  FailureOr<std::string> optionalField(Operation &op, StringRef spec,
                                       bool designated);
  FailureOr<std::string> reductionDims(Operation &op);
  FailureOr<std::string> tensorConstant(Operation &op);

  raw_indented_ostream os;
  const EmitOptions &options;

  // Per function.
  DenseMap<Value, std::string> names;
  // Names for values without a NameLoc (the gradient of w is dw).
  DenseMap<Value, std::string> preferred;
  llvm::StringMap<unsigned> taken;
  unsigned nextTemp = 0;
  std::string lastLocation;
  // Seeds of the adjoint: after the op defining result i, an undefined
  // cotangent becomes ones like it.
  struct Seed {
    std::string cotangent;
    Value result;
    const char *fill; // ones_like for a loss, zeros_like for a Tensor&
  };
  // Per function: the Moments arguments (knet::Moments locals) whose final
  // statistics follow the results (compiled.h, CompiledFunction::inout).
  SmallVector<std::string, 2> momentsOut;
  DenseMap<Operation *, SmallVector<Seed, 1>> seedsAfter;
  // ... or at the start of a branch whose yielded result is already
  // computed there.
  DenseMap<Block *, SmallVector<Seed, 1>> seedsAtStart;
  using SeedPlace = std::pair<PointerUnion<Operation *, Block *>, Seed>;
  bool planSeed(Block &block, Value cotangent, const Seed &seed,
                SmallVectorImpl<SeedPlace> &at);
  // Per module: the kernel (knet_k<i>) of each knet.fused op.
  DenseMap<Operation *, std::string> kernelNames;
  // Per gradient function: ops that only one gradient uses, emitted at the
  // end under `if (knet::detail::gradient_needed(slot))`.
  DenseSet<Operation *> deferred;
};

std::string CppEmitter::define(Value value, StringRef hint) {
  std::string base = cppIdentifier(hint);
  if (base.empty()) {
    if (auto arg = dyn_cast<BlockArgument>(value))
      base = cppIdentifier(nameFromLoc(arg.getLoc()));
    else
      base = cppIdentifier(nameFromLoc(value.getDefiningOp()->getLoc()));
    // A multi-result op's name is the first result's.
    if (auto res = dyn_cast<OpResult>(value); res && res.getResultNumber() > 0)
      base.clear();
    if (base.empty())
      base = cppIdentifier(preferred.lookup(value));
  }
  std::string name;
  if (base.empty()) {
    do
      name = "v" + std::to_string(nextTemp++);
    while (taken.count(name));
  } else {
    name = isCppKeyword(base) ? base + "_" : base;
    if (unsigned &n = taken[name]; n > 0) {
      std::string candidate;
      do
        candidate = name + "_" + std::to_string(n++);
      while (taken.count(candidate));
      name = candidate;
    }
  }
  taken[name] = std::max(taken[name], 1u);
  names[value] = name;
  return name;
}

/// The user's name of a value, if it has one (also for loop-carried values:
/// the loop's name).
std::string CppEmitter::nameHint(Value value) {
  if (auto arg = dyn_cast<BlockArgument>(value)) {
    if (StringRef n = nameFromLoc(arg.getLoc()); !n.empty())
      return n.str();
    Operation *parent = arg.getOwner()->getParentOp();
    if (parent && isa<scf::ForOp, scf::WhileOp>(parent) &&
        parent->getNumResults() == 1)
      return nameFromLoc(parent->getLoc()).str();
    return {};
  }
  return nameFromLoc(value.getDefiningOp()->getLoc()).str();
}

std::string CppEmitter::expr(Value value) {
  if (auto constant = value.getDefiningOp<arith::ConstantOp>())
    if (isScalarType(value.getType()))
      if (auto lit = scalarLiteral(constant.getValue(), value.getType()))
        return StringRef(*lit).starts_with("-") ? "(" + *lit + ")" : *lit;
  auto it = names.find(value);
  assert(it != names.end() && "value used before its definition");
  return it->second;
}

FailureOr<std::string> CppEmitter::typeOf(Value value, Location loc) {
  std::string type = cppType(value.getType());
  if (type.empty())
    return emitError(loc) << "knet C++ emitter: no C++ type for "
                          << value.getType();
  return type;
}

std::string CppEmitter::declareDefault(StringRef type, StringRef name) {
  if (type == "double" || type == "float" || type == "int64_t" ||
      type == "int32_t")
    return (type + " " + name + " = 0;").str();
  if (type == "bool")
    return ("bool " + name + " = false;").str();
  return (type + " " + name + ";").str();
}

void CppEmitter::emitLocation(Location loc) {
  if (!options.locationComments)
    return;
  auto flc = fileLineFromLoc(loc);
  // Locations in .mlir files are the IR's own, not the user's source.
  if (!flc || flc->getFilename().getValue().ends_with(".mlir"))
    return;
  std::string where =
      (llvm::sys::path::filename(flc->getFilename().getValue()) + ":" +
       Twine(flc->getLine()))
          .str();
  if (where == lastLocation)
    return;
  lastLocation = where;
  os << "// " << where << "\n";
}

void CppEmitter::resetFunction() {
  names.clear();
  preferred.clear();
  taken.clear();
  nextTemp = 0;
  lastLocation.clear();
  seedsAfter.clear();
  seedsAtStart.clear();
  momentsOut.clear();
  deferred.clear();
}

//===----------------------------------------------------------------------===//
// Pattern expansion
//===----------------------------------------------------------------------===//

FailureOr<std::string> CppEmitter::formatAttr(Operation &op, StringRef name,
                                              Attribute attr) {
  if (auto b = dyn_cast<BoolAttr>(attr))
    return std::string(b.getValue() ? "true" : "false");
  if (isa<UnitAttr>(attr))
    return std::string("true");
  if (auto i = dyn_cast<IntegerAttr>(attr)) {
    if (name == "mode")
      return ("knet::PoolMode::" +
              stringifyPoolMode(static_cast<PoolMode>(i.getInt())))
          .str();
    if (i.getType().isInteger(1))
      return std::string(i.getValue().isZero() ? "false" : "true");
    return std::to_string(i.getValue().getSExtValue());
  }
  if (auto f = dyn_cast<FloatAttr>(attr))
    return cppDoubleLiteral(f.getValueAsDouble());
  if (auto s = dyn_cast<StringAttr>(attr); s && name == "dtype")
    return ("knet::DType::" + s.getValue()).str();
  if (auto array = dyn_cast<DenseI64ArrayAttr>(attr)) {
    std::string s = "{";
    llvm::interleave(
        array.asArrayRef(), [&](int64_t v) { s += std::to_string(v); },
        [&] { s += ", "; });
    return s + "}";
  }
  return emitError(op.getLoc()) << "knet C++ emitter: cannot print attribute '"
                                << name << "' = " << attr;
}

/// `name=default` or `name`: ", value" (designated: ".name = value") when
/// the attribute is present and differs from the default; "" otherwise.
FailureOr<std::string> CppEmitter::optionalField(Operation &op, StringRef spec,
                                                 bool designated) {
  auto [name, def] = spec.split('=');
  name = name.trim();
  def = def.trim();
  Attribute attr = op.getAttr(name);
  if (!attr)
    return std::string();
  FailureOr<std::string> value = formatAttr(op, name, attr);
  if (failed(value))
    return failure();
  if (!def.empty()) {
    bool same = *value == def;
    if (auto f = dyn_cast<FloatAttr>(attr)) {
      double d;
      same = !def.getAsDouble(d) && d == f.getValueAsDouble();
    } else if (name == "mode") {
      same = *value == "knet::PoolMode::" + def.str();
    }
    if (same)
      return std::string();
  }
  return designated ? ("." + name + " = " + *value).str() : *value;
}

FailureOr<std::string> CppEmitter::reductionDims(Operation &op) {
  auto dims = op.getAttrOfType<DenseI64ArrayAttr>("dims");
  bool keepdim = op.hasAttr("keepdim");
  if (dims && !dims.empty()) {
    FailureOr<std::string> list = formatAttr(op, "dims", dims);
    if (failed(list))
      return failure();
    return ", " + *list + (keepdim ? ", true" : "");
  }
  if (!keepdim)
    return std::string();
  // Every dim, kept as size 1: listed when the rank is known, else empty
  // dims, which the runtime reads as all of them.
  auto type = dyn_cast<RankedTensorType>(op.getOperand(0).getType());
  if (!type)
    return std::string(", {}, true");
  std::string s = ", {";
  for (int64_t d = 0; d < type.getRank(); ++d)
    s += (d ? ", " : "") + std::to_string(d);
  return s + "}, true";
}

FailureOr<std::string> CppEmitter::tensorConstant(Operation &op) {
  auto value = op.getAttrOfType<DenseElementsAttr>("value");
  auto type = dyn_cast<RankedTensorType>(op.getResult(0).getType());
  if (!value || !type || !type.hasStaticShape())
    return emitError(op.getLoc())
           << "knet C++ emitter: only dense constants of static shape";
  Type elem = type.getElementType();
  // A 0-d float constant is a C++ scalar: weak, like knet.scalar
  // ($sdtype).
  const bool weak = type.getRank() == 0 && isa<FloatType>(elem);
  std::string dtype = dtypeOf(elem);
  std::string shape = "{";
  llvm::interleave(
      type.getShape(), [&](int64_t d) { shape += std::to_string(d); },
      [&] { shape += ", "; });
  shape += "}";
  auto element = [&](Attribute a) -> std::string {
    if (auto f = dyn_cast<FloatAttr>(a))
      return cppDoubleLiteral(f.getValueAsDouble());
    auto i = cast<IntegerAttr>(a);
    if (elem.isInteger(1))
      return std::to_string(i.getValue().getZExtValue());
    return std::to_string(i.getValue().getSExtValue());
  };
  if (value.isSplat()) {
    std::string v = element(value.getSplatValue<Attribute>());
    if (elem.isInteger(1))
      v += ".0";
    if (weak)
      return "knet::Tensor::scalar(" + v + ")";
    if (type.getRank() == 0)
      return "knet::Tensor::scalar(" + v + ", " + dtype + ")";
    return "knet::Tensor::full(" + shape + ", " + v + ", " + dtype + ")";
  }
  std::string data;
  llvm::interleave(
      value.getValues<Attribute>(), [&](Attribute a) { data += element(a); },
      [&] { data += ", "; });
  // On the default device, as Tensor::full puts a splat (the CPU data is
  // copied there; 0-d constants stay CPU scalars, which join any device).
  if (isa<FloatType>(elem))
    return "knet::Tensor::from(std::vector<double>{" + data + "}, " + shape +
           ")" + (elem.isF64() ? "" : ".to(" + dtype + ")") +
           ".to(knet::default_device())";
  return "knet::Tensor::from(std::vector<int64_t>{" + data + "}, " + shape +
         ")" + (elem.isInteger(64) ? "" : ".to(" + dtype + ")") +
         ".to(knet::default_device())";
}

static std::string cmpOperator(Operation &op) {
  if (auto cmp = dyn_cast<arith::CmpFOp>(op)) {
    switch (cmp.getPredicate()) {
    case arith::CmpFPredicate::OEQ:
    case arith::CmpFPredicate::UEQ:
      return "==";
    case arith::CmpFPredicate::ONE:
    case arith::CmpFPredicate::UNE:
      return "!=";
    case arith::CmpFPredicate::OLT:
    case arith::CmpFPredicate::ULT:
      return "<";
    case arith::CmpFPredicate::OLE:
    case arith::CmpFPredicate::ULE:
      return "<=";
    case arith::CmpFPredicate::OGT:
    case arith::CmpFPredicate::UGT:
      return ">";
    case arith::CmpFPredicate::OGE:
    case arith::CmpFPredicate::UGE:
      return ">=";
    default:
      return {};
    }
  }
  if (auto cmp = dyn_cast<arith::CmpIOp>(op)) {
    switch (cmp.getPredicate()) {
    case arith::CmpIPredicate::eq:
      return "==";
    case arith::CmpIPredicate::ne:
      return "!=";
    case arith::CmpIPredicate::slt:
    case arith::CmpIPredicate::ult:
      return "<";
    case arith::CmpIPredicate::sle:
    case arith::CmpIPredicate::ule:
      return "<=";
    case arith::CmpIPredicate::sgt:
    case arith::CmpIPredicate::ugt:
      return ">";
    case arith::CmpIPredicate::sge:
    case arith::CmpIPredicate::uge:
      return ">=";
    }
  }
  return {};
}

/// The table's name for `op`: integer add/sub/mul that may wrap (no nsw: an
/// unsigned or narrow C++ type), comparisons of unsigned integers, casts
/// that keep the element type and casts and scalars to a named dtype have
/// their own patterns (`arith.addi.wrap`, `arith.cmpi.unsigned`,
/// `knet.cast.rank`, `knet.cast.dtype`).
static std::string patternVariant(Operation &op) {
  std::string name = op.getName().getStringRef().str();
  if (isa<arith::AddIOp, arith::SubIOp, arith::MulIOp>(op))
    if (!cast<arith::ArithIntegerOverflowFlagsInterface>(op)
             .hasNoSignedWrap() &&
        !op.getResult(0).getType().isIndex())
      return name + ".wrap";
  // Casts and scalars to a dtype the code names convert to exactly that.
  if (isa<CastOp, ScalarOp>(op) && op.hasAttr("dtype"))
    return name + ".dtype";
  // A cast between tensor types of one element type only erases or adds a
  // rank: the element type stands for the run-time dtype, which it keeps.
  if (auto cast = dyn_cast<CastOp>(op);
      cast && getElementTypeOrSelf(cast.getX().getType()) ==
                  getElementTypeOrSelf(cast.getType()))
    return name + ".rank";
  if (auto cmp = dyn_cast<arith::CmpIOp>(op))
    switch (cmp.getPredicate()) {
    case arith::CmpIPredicate::ult:
    case arith::CmpIPredicate::ule:
    case arith::CmpIPredicate::ugt:
    case arith::CmpIPredicate::uge:
      return name + ".unsigned";
    default:
      break;
    }
  return name;
}

FailureOr<std::string> CppEmitter::expand(Operation &op, StringRef pattern) {
  std::string out;
  auto operandList = [&](unsigned from) {
    std::string s;
    for (unsigned i = from; i < op.getNumOperands(); ++i)
      s += (i > from ? ", " : "") + expr(op.getOperand(i));
    return s;
  };
  auto bad = [&](StringRef what) {
    return emitError(op.getLoc()) << "knet C++ emitter: bad pattern '"
                                  << pattern << "' (" << what << ")";
  };
  while (!pattern.empty()) {
    size_t dollar = pattern.find('$');
    out += pattern.substr(0, dollar).str();
    if (dollar == StringRef::npos)
      break;
    pattern = pattern.drop_front(dollar + 1);
    auto take = [&](StringRef word) { return pattern.consume_front(word); };
    // A parenthesized or braced argument list: `(...)`, `{...}`.
    auto argument = [&](char close) -> std::optional<StringRef> {
      size_t end = pattern.find(close);
      if (end == StringRef::npos)
        return std::nullopt;
      StringRef arg = pattern.substr(0, end);
      pattern = pattern.drop_front(end + 1);
      return arg;
    };
    if (!pattern.empty() &&
        std::isdigit(static_cast<unsigned char>(pattern[0]))) {
      unsigned index = pattern[0] - '0';
      pattern = pattern.drop_front();
      if (index >= op.getNumOperands())
        return bad("operand out of range");
      out += expr(op.getOperand(index));
    } else if (!pattern.empty() && pattern[0] == 'u' && pattern.size() > 1 &&
               std::isdigit(static_cast<unsigned char>(pattern[1]))) {
      // $uN: operand N as its unsigned type.
      unsigned index = pattern[1] - '0';
      pattern = pattern.drop_front(2);
      if (index >= op.getNumOperands())
        return bad("operand out of range");
      Value v = op.getOperand(index);
      out += "knet::detail::as_unsigned<" + cppType(v.getType()) + ">(" +
             expr(v) + ")";
    } else if (take("args")) {
      out += operandList(0);
    } else if (take("rest")) {
      out += operandList(1);
    } else if (take("dims")) {
      FailureOr<std::string> dims = reductionDims(op);
      if (failed(dims))
        return failure();
      out += *dims;
    } else if (take("sdtype")) {
      // The dtype argument of a scalar as a 0-d tensor: none for a float,
      // which is weak (it takes the dtype of the tensor it meets at run
      // time), ", <DType>" for an integer.
      Type elem = getElementTypeOrSelf(op.getResult(0).getType());
      if (!isa<FloatType>(elem)) {
        std::string dtype = dtypeOf(elem);
        if (dtype.empty())
          return bad("no DType for the result");
        out += ", " + dtype;
      }
    } else if (take("dtype")) {
      std::string dtype = dtypeOf(op.getResult(0).getType());
      if (dtype.empty())
        return bad("no DType for the result");
      out += dtype;
    } else if (take("ctype")) {
      FailureOr<std::string> type = typeOf(op.getResult(0), op.getLoc());
      if (failed(type))
        return failure();
      out += *type;
    } else if (take("pred")) {
      std::string pred = cmpOperator(op);
      if (pred.empty())
        return emitError(op.getLoc())
               << "knet C++ emitter: unsupported comparison predicate";
      out += pred;
    } else if (take("constant")) {
      FailureOr<std::string> c = tensorConstant(op);
      if (failed(c))
        return failure();
      out += *c;
    } else if (take("{")) {
      std::optional<StringRef> spec = argument('}');
      if (!spec)
        return bad("unclosed ${");
      auto [name, def] = spec->split('=');
      Attribute attr = op.getAttr(name);
      if (!attr) {
        if (def.empty() && !spec->contains('='))
          return emitError(op.getLoc())
                 << "knet C++ emitter: missing attribute '" << name << "'";
        out += def.str();
        continue;
      }
      FailureOr<std::string> value = formatAttr(op, name, attr);
      if (failed(value))
        return failure();
      out += *value;
    } else if (take("opts(")) {
      std::optional<StringRef> specs = argument(')');
      if (!specs)
        return bad("unclosed $opts(");
      SmallVector<StringRef> fields;
      specs->split(fields, ',');
      std::string list;
      for (StringRef field : fields) {
        FailureOr<std::string> f = optionalField(op, field, true);
        if (failed(f))
          return failure();
        if (!f->empty())
          list += (list.empty() ? "" : ", ") + *f;
      }
      if (!list.empty())
        out += ", {" + list + "}";
    } else if (take("opt(")) {
      std::optional<StringRef> spec = argument(')');
      if (!spec)
        return bad("unclosed $opt(");
      FailureOr<std::string> f = optionalField(op, *spec, false);
      if (failed(f))
        return failure();
      if (!f->empty())
        out += ", " + *f;
    } else if (take("?")) {
      size_t end = pattern.find_if_not([](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
      });
      StringRef name = pattern.substr(0, end);
      pattern = pattern.drop_front(name.size());
      if (op.hasAttr(name))
        out += ", true";
    } else {
      return bad("unknown placeholder");
    }
  }
  return out;
}

//===----------------------------------------------------------------------===//
// Ops and regions
//===----------------------------------------------------------------------===//

/// Plans where the undefined cotangent `cotangent` becomes `seed` (ones or
/// zeros like `seed.result`) within `block`, appending to `at` the op after
/// which, or the block at whose start, it is emitted: right after the
/// result is computed when every use of the cotangent in `block` comes
/// later; at the start of `block` when the result is computed before it;
/// and when the result is yielded by an scf.if that uses the cotangent (the
/// rest of a function after an early return), in each branch, where its
/// yielded value is ready. False when there is no such place (a use inside
/// the loop computing the result).
bool CppEmitter::planSeed(Block &block, Value cotangent, const Seed &seed,
                          SmallVectorImpl<SeedPlace> &at) {
  Value result = seed.result;
  Operation *def = result.getDefiningOp();
  if (!def || def->getBlock() != &block) {
    if (!result.getParentRegion()->isAncestor(block.getParent()))
      return false;
    at.push_back({&block, seed});
    return true;
  }
  bool usedInside = false;
  for (Operation *user : cotangent.getUsers()) {
    Operation *top = block.findAncestorOpInBlock(*user);
    if (!top)
      continue; // a use outside `block`: the caller's to place
    if (top == def)
      usedInside = true;
    else if (!def->isBeforeInBlock(top))
      return false;
  }
  if (!usedInside) {
    at.push_back({def, seed});
    return true;
  }
  auto branch = dyn_cast<scf::IfOp>(def);
  if (!branch || branch.getElseRegion().empty())
    return false;
  const unsigned j = cast<OpResult>(result).getResultNumber();
  auto inBranch = [&](scf::YieldOp yield) {
    Seed inner = seed;
    inner.result = yield.getOperand(j);
    return planSeed(*yield->getBlock(), cotangent, inner, at);
  };
  return inBranch(branch.thenYield()) && inBranch(branch.elseYield());
}

LogicalResult CppEmitter::emitBlock(Block &block) {
  auto emitSeeds = [&](ArrayRef<Seed> seeds) {
    for (const Seed &seed : seeds) {
      os << "if (!" << seed.cotangent << ".defined())\n";
      os.indent() << seed.cotangent << " = knet::" << seed.fill << "("
                  << expr(seed.result) << "); // the seed\n";
      os.unindent();
    }
  };
  if (auto start = seedsAtStart.find(&block); start != seedsAtStart.end())
    emitSeeds(start->second);
  for (Operation &op : block.without_terminator()) {
    if (deferred.contains(&op))
      continue;
    if (failed(emitOp(op)))
      return failure();
    if (auto seeds = seedsAfter.find(&op); seeds != seedsAfter.end())
      emitSeeds(seeds->second);
  }
  return success();
}

LogicalResult CppEmitter::emitOp(Operation &op) {
  // Scalar constants are printed where they are used.
  if (auto constant = dyn_cast<arith::ConstantOp>(op)) {
    if (isScalarType(constant.getType()))
      return success();
    return emitPatternOp(op, "$constant");
  }
  if (auto forOp = dyn_cast<scf::ForOp>(op))
    return emitFor(forOp);
  if (auto whileOp = dyn_cast<scf::WhileOp>(op))
    return emitWhile(whileOp);
  if (auto ifOp = dyn_cast<scf::IfOp>(op))
    return emitIf(ifOp);
  if (auto fused = dyn_cast<FusedOp>(op))
    return emitFused(fused);
  if (isa<StackNewOp>(op)) {
    FailureOr<std::string> type = typeOf(op.getResult(0), op.getLoc());
    if (failed(type))
      return failure();
    // Named after what the loop saves on it: h_stack.
    std::string hint;
    for (Operation *user : op.getResult(0).getUsers())
      if (auto push = dyn_cast<StackPushOp>(user)) {
        std::string saved = nameHint(push.getValue());
        if (!saved.empty()) {
          hint = saved + "_stack";
          break;
        }
      }
    emitLocation(op.getLoc());
    os << *type << " " << define(op.getResult(0), hint) << ";\n";
    return success();
  }
  if (isa<StackPopOp>(op))
    return emitStackPop(op);
  if (isa<func::CallOp>(op))
    return emitError(op.getLoc())
           << "knet C++ emitter: calls are not supported; inline the callee "
              "first (knet-inline)";
  if (isa<ZerosLikeOp>(op) && isUnusedArgumentGradient(op.getResult(0)))
    return success(); // din[k] stays undefined
  // Dead pure ops (a forward value the adjoint does not need) are dropped.
  if (op.getNumResults() > 0 && op.use_empty() && isMemoryEffectFree(&op) &&
      op.getNumRegions() == 0)
    return success();
  StringRef pattern = lookupCppPattern(patternVariant(op));
  if (pattern.empty())
    return emitError(op.getLoc())
           << "knet C++ emitter: no C++ pattern for '" << op.getName()
           << "' (add it to codegen/lib/CppOpTable.cpp)";
  return emitPatternOp(op, pattern);
}

LogicalResult CppEmitter::emitPatternOp(Operation &op, StringRef pattern) {
  FailureOr<std::string> call = expand(op, pattern);
  if (failed(call))
    return failure();
  emitLocation(op.getLoc());
  if (op.getNumResults() == 0) {
    os << *call << ";\n";
    return success();
  }
  if (op.getNumResults() == 1) {
    FailureOr<std::string> type = typeOf(op.getResult(0), op.getLoc());
    if (failed(type))
      return failure();
    os << *type << " " << define(op.getResult(0)) << " = " << *call << ";\n";
    return success();
  }
  os << "auto [";
  llvm::interleave(
      op.getResults(), [&](Value r) { os << define(r); }, [&] { os << ", "; });
  os << "] = " << *call << ";\n";
  return success();
}

LogicalResult CppEmitter::emitStackPop(Operation &op) {
  Value result = op.getResult(0);
  FailureOr<std::string> type = typeOf(result, op.getLoc());
  if (failed(type))
    return failure();
  std::string stack = expr(op.getOperand(0));
  emitLocation(op.getLoc());
  os << *type << " " << define(result) << " = " << stack << ".back();\n";
  os << stack << ".pop_back();\n";
  return success();
}

/// targets[i] = values[i], through temporaries when a value is a target
/// assigned before it (a swap of loop variables).
void CppEmitter::emitAssignments(ArrayRef<std::string> targets,
                                 ValueRange values, TypeRange types) {
  SmallVector<std::string> sources;
  for (Value v : values)
    sources.push_back(expr(v));
  bool clash = false;
  for (size_t j = 0; j < sources.size(); ++j)
    for (size_t k = 0; k < j; ++k)
      clash |= sources[j] == targets[k] && targets[k] != sources[k];
  if (clash) {
    for (size_t j = 0; j < sources.size(); ++j) {
      if (sources[j] == targets[j])
        continue;
      std::string tmp = "next_" + targets[j];
      os << cppType(types[j]) << " " << tmp << " = " << sources[j] << ";\n";
      sources[j] = tmp;
    }
  }
  for (size_t j = 0; j < sources.size(); ++j)
    if (sources[j] != targets[j])
      os << targets[j] << " = " << sources[j] << ";\n";
}

LogicalResult CppEmitter::emitFor(scf::ForOp op) {
  emitLocation(op.getLoc());
  SmallVector<std::string> vars;
  for (auto [iterArg, init, result] :
       llvm::zip(op.getRegionIterArgs(), op.getInitArgs(), op.getResults())) {
    FailureOr<std::string> type = typeOf(iterArg, op.getLoc());
    if (failed(type))
      return failure();
    std::string hint = nameFromLoc(iterArg.getLoc()).str();
    if (hint.empty() && op.getNumResults() == 1)
      hint = nameFromLoc(op.getLoc()).str();
    if (hint.empty())
      hint = preferred.lookup(result);
    std::string initExpr = expr(init);
    std::string var = define(iterArg, hint);
    names[result] = var;
    vars.push_back(var);
    os << *type << " " << var << " = " << initExpr << ";\n";
  }
  Value iv = op.getInductionVar();
  FailureOr<std::string> ivType = typeOf(iv, op.getLoc());
  if (failed(ivType))
    return failure();
  StringRef ivHint = nameFromLoc(iv.getLoc());
  std::string i = define(iv, ivHint.empty() ? StringRef("i") : ivHint);
  std::string step = expr(op.getStep());
  os << "for (" << *ivType << " " << i << " = " << expr(op.getLowerBound())
     << "; " << i << " < " << expr(op.getUpperBound()) << "; "
     << (step == "1" ? "++" + i : i + " += " + step) << ") {\n";
  os.indent();
  if (failed(emitBlock(*op.getBody())))
    return failure();
  auto yield = cast<scf::YieldOp>(op.getBody()->getTerminator());
  emitAssignments(vars, yield.getOperands(), op.getResultTypes());
  os.unindent() << "}\n";
  return success();
}

LogicalResult CppEmitter::emitWhile(scf::WhileOp op) {
  emitLocation(op.getLoc());
  SmallVector<std::string> before, after;
  for (auto [arg, init] : llvm::zip(op.getBeforeArguments(), op.getInits())) {
    FailureOr<std::string> type = typeOf(arg, op.getLoc());
    if (failed(type))
      return failure();
    std::string initExpr = expr(init);
    std::string var = define(arg);
    before.push_back(var);
    os << *type << " " << var << " = " << initExpr << ";\n";
  }
  // The values scf.condition passes on: the after block's arguments, and
  // the loop's results once it exits.
  for (auto [arg, result] :
       llvm::zip(op.getAfterArguments(), op.getResults())) {
    FailureOr<std::string> type = typeOf(arg, op.getLoc());
    if (failed(type))
      return failure();
    std::string hint = nameFromLoc(arg.getLoc()).str();
    if (hint.empty() && op.getNumResults() == 1)
      hint = nameFromLoc(op.getLoc()).str();
    if (hint.empty())
      hint = preferred.lookup(result);
    std::string var = define(arg, hint);
    names[result] = var;
    after.push_back(var);
    os << declareDefault(*type, var) << "\n";
  }
  os << "while (true) {\n";
  os.indent();
  if (failed(emitBlock(op.getBefore().front())))
    return failure();
  scf::ConditionOp cond = op.getConditionOp();
  emitAssignments(after, cond.getArgs(), op.getResultTypes());
  os << "if (!" << expr(cond.getCondition()) << ")\n";
  os.indent() << "break;\n";
  os.unindent();
  if (failed(emitBlock(op.getAfter().front())))
    return failure();
  emitAssignments(before, op.getYieldOp().getOperands(),
                  op.getBefore().getArgumentTypes());
  os.unindent() << "}\n";
  return success();
}

LogicalResult CppEmitter::emitIf(scf::IfOp op) {
  emitLocation(op.getLoc());
  SmallVector<std::string> vars;
  for (Value result : op.getResults()) {
    FailureOr<std::string> type = typeOf(result, op.getLoc());
    if (failed(type))
      return failure();
    std::string var = define(result);
    vars.push_back(var);
    os << declareDefault(*type, var) << "\n";
  }
  os << "if (" << expr(op.getCondition()) << ") {\n";
  os.indent();
  if (failed(emitBlock(op.getThenRegion().front())))
    return failure();
  emitAssignments(vars, op.thenYield().getOperands(), op.getResultTypes());
  os.unindent() << "}";
  Region &elseRegion = op.getElseRegion();
  if (!elseRegion.empty() &&
      (elseRegion.front().getOperations().size() > 1 || op.getNumResults())) {
    os << " else {\n";
    os.indent();
    if (failed(emitBlock(elseRegion.front())))
      return failure();
    emitAssignments(vars, op.elseYield().getOperands(), op.getResultTypes());
    os.unindent() << "}";
  }
  os << "\n";
  return success();
}

/// A kernel call: run_fused runs the kernel when the operands are what it
/// assumes, else the ops it replaced (the fallback region) run here.
LogicalResult CppEmitter::emitFused(FusedOp op) {
  std::string kernel = kernelNames.lookup(op);
  emitLocation(op.getLoc());
  os << "// " << kernel << ": " << fusedSummary(op) << "\n";
  SmallVector<std::string> vars;
  for (Value r : op.getResults()) {
    vars.push_back(define(r));
    os << "knet::Tensor " << vars.back() << ";\n";
  }
  os << "{\n";
  os.indent();
  os << "const knet::Tensor *knet_in[] = {";
  llvm::interleave(
      op.getInputs(), [&](Value v) { os << "&" << expr(v); },
      [&] { os << ", "; });
  if (op.getInputs().empty())
    os << "nullptr";
  os << "};\n";
  os << "knet::Tensor knet_out[" << op.getNumResults() << "];\n";
  os << "if (knet::detail::run_fused(" << kernel
     << "_kernel, knet_in, knet_out)) {\n";
  os.indent();
  for (auto [i, var] : llvm::enumerate(vars))
    os << var << " = std::move(knet_out[" << i << "]);\n";
  os.unindent() << "} else {\n";
  os.indent();
  Region &fallback = op.getFallback();
  if (fallback.empty()) {
    os << "knet::fail(\"" << kernel
       << ": the operands do not suit the kernel and it has no fallback\");\n";
  } else {
    Block &block = fallback.front();
    for (auto [arg, input] : llvm::zip(block.getArguments(), op.getInputs()))
      names[arg] = expr(input);
    if (failed(emitBlock(block)))
      return failure();
    emitAssignments(vars, block.getTerminator()->getOperands(),
                    op.getResultTypes());
  }
  os.unindent() << "}\n";
  os.unindent() << "}\n";
  return success();
}

//===----------------------------------------------------------------------===//
// Functions and the compiled ABI
//===----------------------------------------------------------------------===//

/// Reads arguments [0, count) of `fn` from the runtime leaves `in`; names
/// come from the arguments' NameLocs, else from `primal`'s.
LogicalResult CppEmitter::unpackArguments(func::FuncOp fn, func::FuncOp primal,
                                          unsigned count,
                                          SmallVectorImpl<Slot> &slots) {
  Slot slot;
  for (unsigned k = 0; k < count; ++k) {
    BlockArgument arg = fn.getArgument(k);
    Type type = arg.getType();
    StringRef hint = nameFromLoc(arg.getLoc());
    if (hint.empty() && primal && primal != fn && k < primal.getNumArguments())
      hint = nameFromLoc(primal.getArgument(k).getLoc());
    // The frontend names arguments with a knet.name attribute ("m.w1").
    std::string attrName;
    for (func::FuncOp f : {fn, primal})
      if (hint.empty() && f && k < f.getNumArguments())
        if (auto n = f.getArgAttrOfType<StringAttr>(k, "knet.name")) {
          attrName = cppIdentifier(n.getValue());
          hint = attrName;
        }
    std::string fallback = "arg" + std::to_string(k);
    if (hint.empty())
      hint = fallback;
    slots.push_back(slot);
    std::string at = "in[" + slot.str() + "]";
    if (isa<TensorType>(type)) {
      if (isReadByCode(arg))
        os << "const knet::Tensor &" << define(arg, hint) << " = " << at
           << ";\n";
      ++slot.base;
    } else if (isScalarType(type)) {
      if (isReadByCode(arg)) {
        std::string ctype = cppType(type);
        if (type.isInteger(1))
          os << "bool " << define(arg, hint) << " = " << at
             << ".item<int64_t>() != 0;\n";
        else if (type.isInteger() && !type.isInteger(64))
          // Integers travel as exact i64 leaves; C++ narrows them.
          os << ctype << " " << define(arg, hint) << " = static_cast<" << ctype
             << ">(" << at << ".item<int64_t>());\n";
        else
          os << ctype << " " << define(arg, hint) << " = " << at << ".item<"
             << ctype << ">();\n";
      }
      ++slot.base;
    } else if (auto list = dyn_cast<ListType>(type);
               list && isa<TensorType>(list.getElementType())) {
      // A list is its length, then its elements.
      std::string name = define(arg, hint);
      std::string first = "in.begin() + " + slot.str(1);
      os << "std::vector<knet::Tensor> " << name << "(" << first << ", "
         << first << " + " << at << ".item<int64_t>());\n";
      ++slot.base;
      slot.lists.push_back(name);
    } else if (isa<MomentsType>(type)) {
      // Running statistics a batchnorm updates: two leaves (mean, var) in a
      // local copy, whose final state the function returns after its
      // results, for the caller to assign back (in-out state).
      std::string name = define(arg, hint);
      os << "knet::Moments " << name << "{" << at << ", in[" << slot.str(1)
         << "]};\n";
      momentsOut.push_back(name);
      slot.base += 2;
    } else {
      return emitError(arg.getLoc())
             << "knet C++ emitter: argument " << k << " of type " << type
             << " has no runtime leaf in the compiled ABI";
    }
  }
  return success();
}

/// Packs `results` into the runtime's flat vector and returns it.
LogicalResult CppEmitter::emitReturnValues(Operation *ret, ValueRange results) {
  if (llvm::all_of(results.getTypes(),
                   [](Type t) { return isa<TensorType>(t); })) {
    SmallVector<std::string> items;
    for (Value v : results)
      items.push_back(expr(v));
    for (const std::string &m : momentsOut) {
      items.push_back(m + ".mean");
      items.push_back(m + ".var");
    }
    os << "return {";
    llvm::interleave(items, os, ", ");
    os << "};\n";
    return success();
  }
  os << "std::vector<knet::Tensor> out;\n";
  for (Value v : results) {
    Type type = v.getType();
    if (isa<TensorType>(type)) {
      os << "out.push_back(" << expr(v) << ");\n";
    } else if (isScalarType(type) && !isa<FloatType>(type)) {
      // Integers and bools as exact i64 leaves (compiled.h).
      os << "out.push_back(knet::detail::integer_leaf(" << expr(v) << "));\n";
    } else if (isScalarType(type)) {
      os << "out.push_back(knet::Tensor::scalar(" << expr(v) << ", "
         << dtypeOf(type) << "));\n";
    } else if (auto list = dyn_cast<ListType>(type);
               list && isa<TensorType>(list.getElementType())) {
      std::string l = expr(v);
      os << "out.push_back(knet::Tensor::scalar(static_cast<double>(" << l
         << ".size()), knet::DType::i64));\n";
      os << "out.insert(out.end(), " << l << ".begin(), " << l << ".end());\n";
    } else {
      return emitError(ret->getLoc())
             << "knet C++ emitter: a result of type " << type
             << " has no runtime leaf in the compiled ABI";
    }
  }
  for (const std::string &m : momentsOut)
    os << "out.push_back(" << m << ".mean);\nout.push_back(" << m << ".var);\n";
  os << "return out;\n";
  return success();
}

static const char *kInParam = "const std::vector<knet::Tensor> &";

/// `knet_<id>_forward(in)`: @f. With `save` (knet-split-adjoint's @f_save),
/// `knet_<id>_save(in, saved)`: its ops, returning f's results and setting
/// `saved` to the values after them, which the reverse sweep reads.
LogicalResult CppEmitter::emitForward(func::FuncOp f, StringRef id,
                                      func::FuncOp save) {
  resetFunction();
  func::FuncOp fn = save ? save : f;
  std::string head = ("knet_" + id + (save ? "_save(" : "_forward(")).str();
  os << "static std::vector<knet::Tensor>\n"
     << head << kInParam << (f.getNumArguments() ? "in" : "/*in*/");
  if (save)
    os << ",\n"
       << std::string(head.size(), ' ') << "std::vector<knet::Tensor> &saved";
  os << ") {\n";
  os.indent();
  SmallVector<Slot> slots;
  if (failed(unpackArguments(fn, f, f.getNumArguments(), slots)) ||
      failed(emitBlock(fn.getBody().front())))
    return failure();
  Operation *ret = fn.getBody().front().getTerminator();
  const unsigned numOut = save ? f.getNumResults() : ret->getNumOperands();
  if (save) {
    SmallVector<std::string> items;
    for (Value v : ret->getOperands().drop_front(numOut)) {
      if (!isa<TensorType>(v.getType()))
        return emitError(ret->getLoc())
               << "knet C++ emitter: a saved value of type " << v.getType()
               << " is not a tensor";
      items.push_back(expr(v));
    }
    os << "saved = {";
    llvm::interleave(items, os, ", ");
    os << "};\n";
  }
  if (failed(emitReturnValues(ret, ret->getOperands().take_front(numOut))))
    return failure();
  os.unindent() << "}\n\n";
  return success();
}

/// The differentiable arguments of f by the contract: float tensors, float
/// scalars, lists of float tensors.
static SmallVector<int64_t> defaultGradArgs(func::FuncOp f) {
  SmallVector<int64_t> args;
  for (auto [k, type] : llvm::enumerate(f.getArgumentTypes())) {
    Type t = type;
    if (auto list = dyn_cast<ListType>(t))
      t = list.getElementType();
    if (isa<FloatType>(getElementTypeOrSelf(t)))
      args.push_back(k);
  }
  return args;
}

static bool needsTrainingMode(func::FuncOp fn) {
  return fn
      .walk([](Operation *op) {
        return isa<DropoutOp, BatchnormOp>(op) ? WalkResult::interrupt()
                                               : WalkResult::advance();
      })
      .wasInterrupted();
}

/// `knet_<id>_grad(in, dout, din)`: the adjoint @f_grad, returning f's
/// results. With `save`, `grad` is @f_resume (knet-split-adjoint): `static
/// void knet_<id>_resume(in, dout, din)`, whose arguments are f's, then the
/// values `save` saves, then the cotangents, and whose results are the
/// gradients only.
LogicalResult CppEmitter::emitGrad(func::FuncOp f, func::FuncOp grad,
                                   StringRef id, func::FuncOp save) {
  resetFunction();
  const unsigned numResults = f.getNumResults();
  const unsigned numArgs =
      f.getNumArguments() + (save ? save.getNumResults() - numResults : 0);
  // The gradients follow f's results among grad's, or come alone.
  const unsigned gradBase = save ? 0 : numResults;
  SmallVector<int64_t> gradArgs = defaultGradArgs(f);
  if (auto attr = grad->getAttrOfType<DenseI64ArrayAttr>("knet.grad_args"))
    gradArgs.assign(attr.asArrayRef().begin(), attr.asArrayRef().end());
  if (grad.getNumArguments() != numArgs + numResults ||
      grad.getNumResults() != gradBase + gradArgs.size())
    return emitError(grad.getLoc())
           << "knet C++ emitter: @" << grad.getSymName() << " should take "
           << numArgs << " arguments and " << numResults
           << " cotangents and return " << gradBase << " results and "
           << gradArgs.size() << " gradients";
  Block &body = grad.getBody().front();
  Operation *ret = body.getTerminator();
  bool usesDout = llvm::any_of(body.getArguments().drop_front(numArgs),
                               [](BlockArgument a) { return !a.use_empty(); });
  std::string fn = ("knet_" + id + (save ? "_resume(" : "_grad(")).str();
  std::string pad(fn.size(), ' ');
  os << (save ? "static void\n" : "static std::vector<knet::Tensor>\n") << fn
     << kInParam << (numArgs ? "in" : "/*in*/") << ",\n"
     << pad << kInParam << (usesDout ? "dout" : "/*dout*/") << ",\n"
     << pad << "std::vector<knet::Tensor> &din) {\n";
  os.indent();
  if (needsTrainingMode(grad))
    os << "// Dropout and batchnorm act as in training while a gradient is "
          "taken.\n"
       << "struct TrainingMode {\n"
       << "  bool was = knet::set_training(true);\n"
       << "  ~TrainingMode() { knet::set_training(was); }\n"
       << "} training_mode;\n";
  SmallVector<Slot> slots;
  if (failed(unpackArguments(grad, f, numArgs, slots)))
    return failure();
  // The gradient of argument k is d<name of k>, unless the IR names it.
  for (auto [j, k] : llvm::enumerate(gradArgs))
    if (k >= 0 && k < static_cast<int64_t>(numArgs) &&
        gradBase + j < ret->getNumOperands()) {
      StringRef argName = nameFromLoc(grad.getArgument(k).getLoc());
      if (argName.empty())
        argName = nameFromLoc(f.getArgument(k).getLoc());
      if (!argName.empty())
        preferred.try_emplace(ret->getOperand(gradBase + j),
                              ("d" + argName).str());
    }

  // Cotangents; an undefined one is the seed of a loss: ones like the result,
  // filled in right after the result is computed.
  for (unsigned i = 0; i < numResults; ++i) {
    BlockArgument cot = grad.getArgument(numArgs + i);
    if (cot.use_empty())
      continue;
    // @f_resume does not have the results (its caller defines every dout).
    Value result = save ? Value() : ret->getOperand(i);
    std::string hint = nameFromLoc(cot.getLoc()).str();
    if (hint.empty() && !result) {
      hint = numResults == 1 ? "dy" : "dy" + std::to_string(i);
    } else if (hint.empty()) {
      std::string resultName =
          isa<BlockArgument>(result)
              ? nameFromLoc(cast<BlockArgument>(result).getLoc()).str()
              : nameFromLoc(result.getDefiningOp()->getLoc()).str();
      hint = resultName.empty()
                 ? (numResults == 1 ? "dy" : "dy" + std::to_string(i))
                 : "d" + resultName;
    }
    std::string name = define(cot, hint);
    std::string idx = std::to_string(i);
    Type type = cot.getType();
    if (isScalarType(type) && isa<FloatType>(type)) {
      std::string ctype = cppType(type);
      os << ctype << " " << name << " = dout.size() > " << idx << " && dout["
         << idx << "].defined() ? dout[" << idx << "].item<" << ctype
         << ">() : 1;\n";
      continue;
    }
    if (!isa<TensorType>(type))
      return emitError(grad.getLoc())
             << "knet C++ emitter: cotangent " << i << " of type " << type
             << " is not supported";
    os << "knet::Tensor " << name << " = dout.size() > " << idx << " ? dout["
       << idx << "] : knet::Tensor();\n";
    // A Tensor& argument's final value (knet.inout) carries state out: no
    // gradient unless the caller gives one.
    const char *fill =
        f.getResultAttr(i, "knet.inout") ? "zeros_like" : "ones_like";
    // Where the result is computed in the forward sweep (planSeed), or else
    // from a run of the forward.
    SmallVector<SeedPlace> places;
    if (result && planSeed(body, cot, {name, result, fill}, places)) {
      for (auto &[place, seed] : places) {
        if (auto *op = dyn_cast<Operation *>(place))
          seedsAfter[op].push_back(seed);
        else
          seedsAtStart[cast<Block *>(place)].push_back(seed);
      }
      continue;
    }
    os << "if (!" << name << ".defined())\n";
    os.indent() << name << " = knet::" << fill << "(knet_" << id
                << "_forward(in)[" << idx << "]);\n";
    os.unindent();
  }
  // Ops that only the gradient of one tensor argument uses (a data input's
  // gradient, typically) run only when the caller needs that gradient.
  DenseMap<Operation *, int64_t> owner; // gradient index, or -1
  llvm::SmallDenseSet<size_t, 8> gradDone;
  for (Operation &op : llvm::reverse(body.without_terminator())) {
    int64_t k = -2;
    bool movable = op.getNumRegions() == 0 && op.getNumResults() > 0 &&
                   isMemoryEffectFree(&op) && !seedsAfter.count(&op);
    for (Value r : op.getResults())
      for (OpOperand &use : r.getUses()) {
        int64_t candidate = -1;
        if (use.getOwner() == ret) {
          unsigned idx = use.getOperandNumber();
          if (idx >= gradBase &&
              isa<TensorType>(
                  f.getArgument(gradArgs[idx - gradBase]).getType()))
            candidate = idx - gradBase;
        } else if (Operation *a = body.findAncestorOpInBlock(*use.getOwner());
                   a && owner.count(a)) {
          candidate = owner.lookup(a);
        }
        k = k == -2 ? candidate : (k == candidate ? k : -1);
      }
    owner[&op] = movable && k >= 0 ? k : -1;
  }
  for (auto &[op, k] : owner)
    if (k >= 0)
      deferred.insert(op);

  if (failed(emitBlock(body)))
    return failure();

  // Gradients into din, one per runtime leaf.
  os << "din.assign(in.size(), knet::Tensor());\n";
  for (auto [j, k] : llvm::enumerate(gradArgs)) {
    Value g = ret->getOperand(gradBase + j);
    SmallVector<Operation *> only;
    for (Operation &op : body.without_terminator())
      if (deferred.contains(&op) &&
          owner.lookup(&op) == static_cast<int64_t>(j))
        only.push_back(&op);
    if (only.empty())
      continue;
    const Slot &slot = slots[k];
    os << "if (knet::detail::gradient_needed(" << slot.str() << ")) {\n";
    os.indent();
    for (Operation *op : only) {
      deferred.erase(op);
      if (failed(emitOp(*op)))
        return failure();
    }
    if (!isUnusedArgumentGradient(g))
      os << "din[" << slot.str() << "] = " << expr(g) << ";\n";
    os.unindent() << "}\n";
    gradDone.insert(j);
  }
  for (auto [j, k] : llvm::enumerate(gradArgs)) {
    if (gradDone.contains(j))
      continue;
    if (k < 0 || k >= static_cast<int64_t>(numArgs))
      return emitError(grad.getLoc())
             << "knet C++ emitter: knet.grad_args names argument " << k
             << " of " << numArgs;
    Value g = ret->getOperand(gradBase + j);
    Type argType = f.getArgument(k).getType();
    const Slot &slot = slots[k];
    if (isa<ListType>(argType)) {
      std::string l = expr(g);
      os << "std::copy(" << l << ".begin(), " << l << ".end(), din.begin() + "
         << slot.str(1) << ");\n";
    } else if (isScalarType(g.getType())) {
      os << "din[" << slot.str() << "] = knet::Tensor::scalar(" << expr(g)
         << ", " << dtypeOf(argType) << ");\n";
    } else if (!isUnusedArgumentGradient(g)) {
      os << "din[" << slot.str() << "] = " << expr(g) << ";\n";
    }
  }
  if (!save &&
      failed(emitReturnValues(ret, ret->getOperands().take_front(numResults))))
    return failure();
  os.unindent() << "}\n\n";
  return success();
}

LogicalResult CppEmitter::emitModule(ModuleOp module) {
  llvm::StringMap<func::FuncOp> funcs;
  for (auto f : module.getOps<func::FuncOp>())
    funcs[f.getSymName()] = f;
  os << "// Generated by knet's C++ emitter (codegen/EmitCpp) from knet IR.\n"
     << "// Do not edit: regenerate with knetc or knet-translate --emit-cpp.\n";
  if (options.includes)
    os << "#include <knet/compiled.h>\n"
       << "#include <knet/knet.h>\n\n"
       << "#include <algorithm>\n"
       << "#include <cmath>\n"
       << "#include <cstdint>\n"
       << "#include <limits>\n"
       << "#include <vector>\n";
  os << "\n";
  FailureOr<SmallVector<KernelSource>> kernels = emitKernels(module);
  if (failed(kernels))
    return failure();
  if (!kernels->empty()) {
    os << "namespace {\n\n";
    for (const KernelSource &k : *kernels)
      os << k.cpp;
    os << "} // namespace\n\n";
    if (options.externalAccessors) {
      os << "// The fused kernels of this file (for tests).\n"
         << "std::vector<const knet::detail::FusedKernel *> "
            "knet_fused_kernels();\n"
         << "std::vector<const knet::detail::FusedKernel *> "
            "knet_fused_kernels() {\n  return {";
      for (const KernelSource &k : *kernels)
        os << (&k == kernels->data() ? "" : ", ") << "&" << k.name << "_kernel";
      os << "};\n}\n\n";
    }
  }
  unsigned index = 0;
  module.walk([&](FusedOp op) {
    kernelNames[op] = "knet_k" + std::to_string(index++);
  });
  bool ok = true;
  for (auto f : module.getOps<func::FuncOp>()) {
    StringRef name = f.getSymName();
    if (f.isExternal())
      continue;
    if (name.ends_with("_grad") && funcs.count(name.drop_back(5)))
      continue;
    // The split adjoint's halves are emitted with their function.
    if (f->hasAttr(kSaveOfAttrName) || f->hasAttr(kResumeOfAttrName))
      continue;
    // A test hook (knetc --knetc-test-fail=<function>): the emitter fails on
    // the function, as on a construct it cannot handle.
    if (f->hasAttr("knet.test_fail")) {
      ok = false;
      f.emitError("knet C++ emitter: failing on purpose (knet.test_fail, a "
                  "test hook)");
      continue;
    }
    func::FuncOp grad = funcs.lookup((name + "_grad").str());
    std::string id = cppIdentifier(name);
    if (options.forwardOnly) {
      ok &= succeeded(emitForward(f, id));
      continue;
    }
    // A function marked knet.no_grad has a forward only (its compiled
    // object has no adjoint; the runtime refuses to differentiate it).
    const bool noGrad = f->hasAttr("knet.no_grad");
    if (!noGrad && (!grad || grad.isExternal())) {
      emitError(f.getLoc()) << "knet C++ emitter: @" << name << " has no @"
                            << name << "_grad (run knet-autodiff first)";
      ok = false;
      continue;
    }
    if (failed(emitForward(f, id)) ||
        (!noGrad && failed(emitGrad(f, grad, id)))) {
      ok = false;
      continue;
    }
    // The split adjoint (knet-split-adjoint), when there is one.
    func::FuncOp save = funcs.lookup((name + "_save").str());
    func::FuncOp resume = funcs.lookup((name + "_resume").str());
    const bool split = !noGrad && save && resume &&
                       save->hasAttr(kSaveOfAttrName) &&
                       resume->hasAttr(kResumeOfAttrName);
    if (split) {
      if (failed(emitForward(f, id, save)) ||
          failed(emitGrad(f, resume, id, save))) {
        ok = false;
        continue;
      }
    }
    unsigned inout = 0;
    for (unsigned i = 0; i < f.getNumResults(); ++i)
      inout += f.getResultAttr(i, "knet.inout") != nullptr;
    inout += 2 * llvm::count_if(f.getArgumentTypes(),
                                [](Type t) { return isa<MomentsType>(t); });
    os << "static const knet::detail::CompiledFunction knet_" << id
       << "_compiled{\n"
       << "    \"" << name << "\", knet_" << id << "_forward, "
       << (noGrad ? std::string("nullptr") : "knet_" + id + "_grad");
    if (inout || split)
      os << ", " << inout;
    if (split)
      os << ", knet_" << id << "_save, knet_" << id << "_resume";
    os << "};\n\n";
    os << "// The compiled " << name << ", for registration under the user's "
       << "function.\n";
    if (options.externalAccessors)
      os << "const knet::detail::CompiledFunction &knet_compiled_" << id
         << "();\n";
    os << (options.externalAccessors ? "" : "[[maybe_unused]] static ")
       << "const knet::detail::CompiledFunction &knet_compiled_" << id
       << "() {\n";
    os.indent() << "return knet_" << id << "_compiled;\n";
    os.unindent() << "}\n\n";
  }
  return success(ok);
}

} // namespace

std::string cppComparisonOperator(Operation &op) { return cmpOperator(op); }

std::string cppDoubleLiteral(double v) {
  if (std::isnan(v))
    return "std::numeric_limits<double>::quiet_NaN()";
  if (std::isinf(v))
    return v > 0 ? "std::numeric_limits<double>::infinity()"
                 : "-std::numeric_limits<double>::infinity()";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  (void)ec;
  std::string s(buf, end);
  if (s.find_first_of(".e") == std::string::npos)
    s += ".0";
  return s;
}

std::string cppIdentifier(StringRef name) {
  std::string id;
  for (char c : name) {
    bool ok = std::isalnum(static_cast<unsigned char>(c));
    if (ok)
      id.push_back(c);
    else if (!id.empty() && id.back() != '_')
      id.push_back('_');
  }
  while (!id.empty() && id.back() == '_')
    id.pop_back();
  if (!id.empty() && std::isdigit(static_cast<unsigned char>(id.front())))
    id.insert(id.begin(), 'v');
  return id;
}

LogicalResult emitCpp(ModuleOp module, raw_ostream &os,
                      const EmitOptions &options) {
  CppEmitter emitter(os, options);
  return emitter.emitModule(module);
}

} // namespace mlir::knet
