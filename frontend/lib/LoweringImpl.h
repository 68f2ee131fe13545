//===- LoweringImpl.h - The frontend's shared lowering state ----*- C++ -*-===//
//
// Private to frontend/lib: the classes the lowering files share, as clang's
// CodeGen shares CodeGenModule and CodeGenFunction:
//  - Lowering.cpp: the translation unit (ModuleLowering), C++ types,
//    signatures, the errors of either mode;
//  - LowerStmt.cpp: statements, control flow, loops, jumps;
//  - LowerExpr.cpp: expressions, scalar and tensor conversions;
//  - LowerCall.cpp: calls (runtime, std, compiled, inlined), lambdas,
//    function bodies;
//  - LowerOps.cpp: the op table (RuntimeOps.def) and its builders.
//
// Each KNET_COMPILE function becomes a func.func over knet/scf/arith/math:
//  - C++ values are SSA values; a local variable maps to its current value
//    (an environment), so reassignment is just rebinding;
//  - if/else, loops and the ternary are scf.if/scf.for/scf.while whose
//    results (iter_args) are the variables they assign;
//  - break, continue and early return set i1 flags; the statements after
//    one that may jump run under scf.if (!flag);
//  - structs of tensors are flattened into their fields; std::vector<Param>
//    and std::vector<Tensor> are !knet.list values;
//  - runtime calls map to ops through RuntimeOps.def; calls to functions
//    with a visible body are inlined; calls to other KNET_COMPILE functions
//    are func.call.
// What cannot be resolved statically makes the function stay on the tape,
// with a reason and a line; what is wrong in either mode is a Clang error.
//
//===----------------------------------------------------------------------===//

#ifndef KNET_FRONTEND_LIB_LOWERINGIMPL_H
#define KNET_FRONTEND_LIB_LOWERINGIMPL_H

#include "knet/Frontend/Frontend.h"

#include "knet/IR/KnetDialect.h"

#include "clang/AST/ASTContext.h"
#include "clang/AST/Attr.h"
#include "clang/AST/DeclCXX.h"
#include "clang/AST/DeclTemplate.h"
#include "clang/AST/Expr.h"
#include "clang/AST/ExprCXX.h"
#include "clang/AST/RecursiveASTVisitor.h"
#include "clang/AST/StmtCXX.h"
#include "clang/Basic/Diagnostic.h"
#include "clang/Basic/SourceManager.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Builders.h"

#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSwitch.h"

#include <knet/error.h>

#include <deque>
#include <optional>
#include <string>
#include <vector>

namespace mlir::knet::frontend {

using namespace clang;
namespace kn = mlir::knet;

using Location = mlir::Location;
using Type = mlir::Type;
using Value = mlir::Value;

//===----------------------------------------------------------------------===//
// C++ types (Lowering.cpp)
//===----------------------------------------------------------------------===//

/// Whether `d` is declared in the top-level namespace `ns` (inline
/// namespaces are looked through).
bool inNamespace(const Decl *d, StringRef ns);
const CXXRecordDecl *recordOf(QualType t);
/// Whether `t` is the knet runtime's class `name` (Tensor, Param, Moments).
bool isKnetClass(QualType t, StringRef name);
inline bool isTensor(QualType t) { return isKnetClass(t, "Tensor"); }
inline bool isParam(QualType t) { return isKnetClass(t, "Param"); }
inline bool isTensorLike(QualType t) { return isTensor(t) || isParam(t); }
/// The element type of std::vector<T> or std::array<T, N>, or null.
QualType vectorElement(QualType t);
/// N of std::array<T, N> (a list of N elements in the IR), or nullopt.
std::optional<int64_t> stdArraySize(QualType t);
/// The element types of std::pair<A, B> or std::tuple<T...>, or nullopt.
std::optional<llvm::SmallVector<QualType>> tupleElements(QualType t);
/// Whether `t` is an unsigned integer (or an enum over one): its IR ops
/// are the unsigned ones (divui, remui, shrui, cmpi u*, extui, uitofp).
bool isUnsignedInt(QualType t);
/// std::vector or std::array of Tensor or Param: a !knet.list.
bool isTensorList(QualType t);
/// A user struct whose fields are all lowerable (checked by flattenType).
bool isUserStruct(QualType t);
std::string typeName(QualType t);
/// `e` without parentheses, implicit casts, temporaries and copies.
const Expr *strip(const Expr *e);
/// The runtime name of a knet function: "relu", "operator-/1" (unary),
/// "Tensor::reshape"; empty when not a knet runtime function.
std::string runtimeName(const FunctionDecl *fn, unsigned numArgs);

//===----------------------------------------------------------------------===//
// Values
//===----------------------------------------------------------------------===//

/// A lowered C++ value: a leaf SSA value, or a struct of them.
struct Val {
  Value v;
  std::vector<Val> fields;
  const RecordDecl *record = nullptr;
  // For lists made here: the elements, when statically known.
  llvm::SmallVector<Value> elems;
  bool known = false;
  // A closure (a lambda's value): `fields` hold its by-copy captures.
  const LambdaExpr *lambda = nullptr;

  Val() = default;
  Val(Value v) : v(v) {}
  bool isStruct() const { return record != nullptr; }
  bool empty() const { return !v && !record; }
};
using Result = std::optional<Val>;

/// The leaf values of `x`, in field order.
void leaves(const Val &x, llvm::SmallVectorImpl<Value> &out);
/// A Val shaped like `like` from the leaves at the front of `it`.
Val rebuild(const Val &like, llvm::ArrayRef<Value> &it);
bool sameLeaves(const Val &a, const Val &b);

//===----------------------------------------------------------------------===//
// Jumps (LowerStmt.cpp)
//===----------------------------------------------------------------------===//

/// The jumps that leave a statement: a break of its own level (not of a
/// loop or switch inside it), a continue of its own level (not of a loop
/// inside it: a switch passes it on), any return. A lambda's body is its
/// own.
struct JumpInfo {
  bool breaks = false, continues = false, returns = false;
};
JumpInfo jumpsOut(const Stmt *s);

//===----------------------------------------------------------------------===//
// The module-wide state (Lowering.cpp)
//===----------------------------------------------------------------------===//

struct Signature {
  llvm::SmallVector<Type> inputs, results;
  llvm::SmallVector<mlir::DictionaryAttr> argAttrs;
  // Tensor& parameters (in and out): their values at the end are results
  // after the function's own (`knet.inout` result attributes).
  llvm::SmallVector<const ParmVarDecl *> inout;
  std::string why; // non-empty: not lowerable
  SourceLocation whyLoc;
};

struct FunctionState {
  const FunctionDecl *fn = nullptr;
  std::string symbol;
  FunctionReport report;
  mlir::func::FuncOp func;
  // KNET_COMPILE callees (func.call) and where they are called.
  llvm::SmallVector<std::pair<const FunctionDecl *, SourceLocation>> calls;
};

class ModuleLowering {
public:
  ModuleLowering(ASTContext &ast, mlir::MLIRContext &ctx)
      : ast(ast), sm(ast.getSourceManager()), diags(ast.getDiagnostics()),
        ctx(ctx) {
    errorId = diags.getCustomDiagID(DiagnosticsEngine::Error, "%0");
    noteId = diags.getCustomDiagID(DiagnosticsEngine::Note, "%0");
  }

  TranslationUnitResult run();

  ASTContext &ast;
  SourceManager &sm;
  DiagnosticsEngine &diags;
  mlir::MLIRContext &ctx;
  unsigned errorId, noteId;
  // (tests) The function whose IR is broken before it is verified.
  llvm::StringRef testInvalidIR;
  mlir::ModuleOp module;
  std::vector<std::unique_ptr<FunctionState>> functions;
  llvm::DenseMap<const FunctionDecl *, FunctionState *> byDecl;
  llvm::DenseMap<const FunctionDecl *, Signature> signatures;

  Location loc(SourceLocation l) {
    if (l.isInvalid())
      return mlir::UnknownLoc::get(&ctx);
    PresumedLoc p = sm.getPresumedLoc(sm.getExpansionLoc(l));
    if (p.isInvalid())
      return mlir::UnknownLoc::get(&ctx);
    return mlir::FileLineColLoc::get(&ctx, p.getFilename(), p.getLine(),
                                     p.getColumn());
  }
  std::pair<std::string, unsigned> fileLine(SourceLocation l) {
    PresumedLoc p = sm.getPresumedLoc(sm.getExpansionLoc(l));
    if (p.isInvalid())
      return {"<unknown>", 0};
    return {p.getFilename(), p.getLine()};
  }
  void error(SourceLocation l, const llvm::Twine &msg) {
    diags.Report(l, errorId) << msg.str();
  }
  void note(SourceLocation l, const llvm::Twine &msg) {
    diags.Report(l, noteId) << msg.str();
  }

  static bool isCompiled(const FunctionDecl *fn) {
    for (const FunctionDecl *r : fn->redecls())
      for (const auto *a : r->specific_attrs<AnnotateAttr>())
        if (a->getAnnotation() == "knet.compile")
          return true;
    return false;
  }

  /// Maps a C++ type to IR types (flattened); false with `why` otherwise.
  bool holdsMoments(QualType t);
  bool flattenType(QualType t, llvm::SmallVectorImpl<Type> &out,
                   std::string &why, bool idTensor = false);
  Type scalarType(QualType t) {
    t = t.getNonReferenceType().getCanonicalType();
    if (t->isBooleanType())
      return mlir::IntegerType::get(&ctx, 1);
    if (t->isFloatingType())
      return t->isSpecificBuiltinType(BuiltinType::Float)
                 ? Type(mlir::Float32Type::get(&ctx))
                 : Type(mlir::Float64Type::get(&ctx));
    if (t->isIntegralOrEnumerationType()) {
      // The C++ width (char 8, short 16, int 32, long 64); the IR's
      // integers are signless, ops carry the signedness (isUnsignedInt).
      uint64_t w = ast.getIntWidth(t);
      if (w != 8 && w != 16 && w != 32 && w != 64)
        return {};
      return mlir::IntegerType::get(&ctx, w);
    }
    return {};
  }
  Type tensorType(Type elem) { return mlir::UnrankedTensorType::get(elem); }
  Type f32() { return mlir::Float32Type::get(&ctx); }
  Type i64() { return mlir::IntegerType::get(&ctx, 64); }
  Type i1() { return mlir::IntegerType::get(&ctx, 1); }

  const Signature &signatureOf(const FunctionDecl *fn);
  bool checkErrors(const FunctionDecl *fn, const Stmt *body);
};

//===----------------------------------------------------------------------===//
// Lowering one function (LowerStmt, LowerExpr, LowerCall and LowerOps.cpp)
//===----------------------------------------------------------------------===//

class FunctionLowering {
public:
  FunctionLowering(ModuleLowering &m, FunctionState &fs)
      : m(m), fs(fs), b(&m.ctx) {}

  bool lower();

private:
  ModuleLowering &m;
  FunctionState &fs;
  mlir::OpBuilder b;
  bool stopped = false;

  // Nesting limits (docs/language.md, what stays on the tape): depth the user's
  // code controls is recursion here, so it is bounded and reported at the place
  // it is exceeded (the function stays on the tape), as Clang bounds
  // bracket nesting (-fbracket-depth).
  static constexpr unsigned kMaxControlNesting = 256;
  static constexpr unsigned kMaxExprNesting = 100000;
  unsigned controlDepth = 0, exprDepth = 0;
  struct Nesting {
    unsigned &depth;
    explicit Nesting(unsigned &d) : depth(++d) {}
    ~Nesting() { --depth; }
  };
  /// Enters one level of `depth`: false (the function stays on the tape)
  /// beyond `limit`.
  bool nest(unsigned depth, unsigned limit, SourceLocation at,
            llvm::StringRef what) {
    if (depth <= limit)
      return true;
    tape(at, llvm::Twine(what) + " nested deeper than " + llvm::Twine(limit) +
                 " levels (knetc's limit)");
    return false;
  }

  // The environment: variable (or synthetic key) -> current value.
  using Env = llvm::MapVector<const void *, Val>;
  Env env;
  llvm::DenseMap<const void *, const void *> aliases;
  std::deque<char> synthetic;
  const void *newKey() {
    synthetic.emplace_back();
    return &synthetic.back();
  }

  struct LoopCtx {
    const void *brk = nullptr, *cont = nullptr;
  };
  struct FnCtx {
    explicit FnCtx(const FunctionDecl *fn) : fn(fn) {}
    const FunctionDecl *fn;
    bool flagMode = false;
    const void *retFlag = nullptr, *retVal = nullptr;
    std::optional<Val> simpleRet;
    bool returned = false;
    std::vector<LoopCtx> loops;
    const void *thisKey = nullptr;
  };
  std::vector<FnCtx> fns;
  llvm::SmallVector<const FunctionDecl *> inlineStack;
  // Integer values made from float data: where the conversion is.
  llvm::DenseMap<Value, SourceLocation> fromFloat;

  // --- reporting ---------------------------------------------------------
  std::nullopt_t tape(SourceLocation l, const llvm::Twine &why) {
    if (!stopped) {
      stopped = true;
      fs.report.status = FunctionReport::Status::Tape;
      fs.report.reason = why.str();
      auto [file, line] = m.fileLine(l);
      fs.report.reasonFile = file;
      fs.report.reasonLine = line;
    }
    return std::nullopt;
  }
  std::nullopt_t error(SourceLocation l, const llvm::Twine &msg) {
    if (!stopped) {
      stopped = true;
      fs.report.status = FunctionReport::Status::Error;
      m.error(l, msg);
    }
    return std::nullopt;
  }

  Location loc(SourceLocation l) { return m.loc(l); }
  Location loc(const Stmt *s) { return m.loc(s->getBeginLoc()); }

  // --- environment -------------------------------------------------------
  const void *resolve(const void *k) {
    auto it = aliases.find(k);
    while (it != aliases.end()) {
      k = it->second;
      it = aliases.find(k);
    }
    return k;
  }
  struct Scope {
    FunctionLowering &l;
    llvm::SmallPtrSet<const void *, 16> before;
    explicit Scope(FunctionLowering &l) : l(l) {
      for (auto &kv : l.env)
        before.insert(kv.first);
    }
    ~Scope() {
      llvm::SmallVector<const void *> drop;
      for (auto &kv : l.env)
        if (!before.contains(kv.first))
          drop.push_back(kv.first);
      for (const void *k : drop)
        l.env.erase(k);
    }
  };

  // --- constants, casts (conversions: LowerExpr.cpp) -----------------------
  Value constFloat(Location l, Type t, double v) {
    return b.create<mlir::arith::ConstantOp>(l, b.getFloatAttr(t, v));
  }
  Value constInt(Location l, Type t, int64_t v) {
    if (t.isIndex())
      return b.create<mlir::arith::ConstantOp>(l, b.getIntegerAttr(t, v));
    // v modulo 2^width, as a C++ conversion to the narrower type.
    llvm::APInt a(64, static_cast<uint64_t>(v), /*isSigned=*/true);
    return b.create<mlir::arith::ConstantOp>(
        l, b.getIntegerAttr(t, a.sextOrTrunc(t.getIntOrFloatBitWidth())));
  }
  Value constBool(Location l, bool v) { return constInt(l, m.i1(), v); }
  Value notOf(Location l, Value v) {
    return b.create<mlir::arith::XOrIOp>(l, v, constBool(l, true));
  }
  static bool isFloat(Type t) { return isa<mlir::FloatType>(t); }
  static bool isTensorT(Type t) { return isa<mlir::TensorType>(t); }
  static Type elemOf(Value v) {
    return cast<mlir::TensorType>(v.getType()).getElementType();
  }
  /// Converts a scalar to another scalar type as C++ does: integers of
  /// any width wrap, and the source's (`fromUnsigned`) or the
  /// destination's (`toUnsigned`) signedness picks zero or sign extension
  /// and the int/float conversion. The IR's integers are signless; the
  /// signedness is the C++ type's, which the caller knows.
  Value convertScalar(Location l, Value v, Type to, bool fromUnsigned = false,
                      bool toUnsigned = false);
  /// `attr` converted to `to` at compile time, or null where C++ leaves
  /// the result undefined (a float out of the integer's range).
  Value convertConstant(Location l, mlir::Attribute attr, Type to,
                        bool fromUnsigned, bool toUnsigned);
  /// `v`, the value of C++ type `from`, converted to C++ type `to`.
  Value convertCxx(Location l, Value v, QualType from, QualType to);
  /// A tensor with the element type `elem` (knet.cast when different).
  Value castTensor(Location l, Value v, Type elem, SourceLocation at);
  /// An error where `v`, made from float data, flows back into
  /// differentiable arithmetic.
  void checkIntegerGrad(Value v, SourceLocation at);
  /// The unranked form of a tensor (joins, returns, lists).
  Value unranked(Location l, Value v, Type want = {});
  /// Makes `v` of type `t` (joins): tensors through knet.cast, scalars
  /// through arith.
  Value coerce(Location l, Value v, Type t);
  /// A tensor from a scalar, with element type `elem` (0-d).
  Value scalarTensor(Location l, Value s, Type elem);
  /// A value of type `t` for a variable that has none yet. `undefined`:
  /// what C++ default construction gives (`Tensor t;` is an undefined
  /// Tensor); otherwise a zero that no path reads (the slot of an early
  /// return, the result of `?:` before its branches).
  Value placeholder(Location l, Type t, bool undefined);
  Result placeholderVal(Location l, QualType qt, SourceLocation at,
                        bool undefined = true);
  /// Builds a Val of C++ type `qt` from flattened values.
  Val shapeVal(QualType qt, llvm::ArrayRef<Value> &it);

  // --- statements (LowerStmt.cpp) -------------------------------------------
  bool lowerStmt(const Stmt *s);
  /// With `survey` (the function's own body): after a statement that stays
  /// on the tape, the later ones that do not use what it (or another such
  /// one) declares or assigns are still lowered, to report every reason
  /// (--explain).
  bool lowerStmts(llvm::ArrayRef<const Stmt *> stmts, bool survey = false);
  const Stmt *topBody = nullptr;
  bool lowerDecl(const VarDecl *vd);
  bool lowerReturn(const ReturnStmt *r);
  bool lowerIf(const IfStmt *s);
  bool lowerSwitch(const SwitchStmt *s);
  bool lowerWhile(const Stmt *loop, const Expr *cond, const Stmt *body,
                  const Stmt *inc, bool isDo);
  bool lowerFor(const ForStmt *s);
  bool lowerRangeFor(const CXXForRangeStmt *s);
  bool structuredIf(Location l, Value cond, llvm::function_ref<bool()> thenBody,
                    llvm::function_ref<bool()> elseBody);
  Value notExited(Location l);
  bool mayExit(const Stmt *s);
  void assignedIn(const Stmt *s, llvm::SmallPtrSetImpl<const void *> &keys);

  // --- loops: one implementation of the carried variables --------------------
  /// The variables a loop carries (its iter_args and results).
  struct Carried {
    explicit Carried(Location l) : loc(l) {}
    Location loc; // the loop's
    llvm::SmallVector<const void *> keys;
    llvm::SmallVector<Value> inits; // their leaves, tensors unranked
    llvm::SmallVector<Type> types;
    Env outer; // the environment at the loop, with `inits` bound
  };
  /// Carries the variables that `parts` (body, condition, increment; null
  /// ones are skipped) may assign, and the synthetic ones in `also`, in
  /// the environment's order. Carried tensors are unranked (the loop may
  /// change their shapes).
  Carried carry(Location l, llvm::ArrayRef<const Stmt *> parts,
                llvm::ArrayRef<const void *> also = {});
  /// Lowers one region of a loop at the end of `block`: binds the carried
  /// variables to the block's trailing arguments, runs `body`, and ends the
  /// block with `terminate` (scf.yield when null) of their values, coerced
  /// to the carried types.
  bool carriedRegion(
      mlir::Block *block, const Carried &c, llvm::function_ref<bool()> body,
      llvm::function_ref<void(llvm::ArrayRef<Value>)> terminate = nullptr);
  /// After `loop`: the carried variables are its results.
  void rebindAfter(mlir::Operation *loop, const Carried &c);
  /// An scf.for from `lb` to `ub` by `step` carrying `c`; `body` gets the
  /// induction variable (index or i64, as `lb`).
  bool forLoop(Location l, Value lb, Value ub, Value step, const Carried &c,
               llvm::function_ref<bool(Value)> body);

  // --- expressions (LowerExpr.cpp; calls: LowerCall.cpp) --------------------
  Result lowerExpr(const Expr *e);
  Value scalar(const Expr *e) {
    Result r = lowerExpr(e);
    if (!r)
      return {};
    if (!r->v || isTensorT(r->v.getType())) {
      tape(e->getExprLoc(), "expected a scalar value");
      return {};
    }
    return r->v;
  }
  Value tensor(const Expr *e) {
    Result r = lowerExpr(e);
    if (!r)
      return {};
    if (!r->v || !isTensorT(r->v.getType())) {
      tape(e->getExprLoc(), "expected a tensor value");
      return {};
    }
    return r->v;
  }
  Result lowerCast(const CastExpr *c);
  Result lowerBinary(const BinaryOperator *bo);
  Result lowerUnary(const UnaryOperator *uo);
  Result lowerConditional(const ConditionalOperator *c);
  Result lowerCall(const CallExpr *c);
  Result lowerConstruct(const CXXConstructExpr *c);
  Result lowerInitList(const InitListExpr *il);
  Result lowerMember(const MemberExpr *me);
  Result lowerDeclRef(const DeclRefExpr *d);
  Result assign(const Expr *lhs, Val v, SourceLocation at);
  Result lowerScalarMath(const FunctionDecl *fn, const CallExpr *c,
                         llvm::ArrayRef<const Expr *> args);
  Result lowerCompiledCall(const FunctionDecl *fn, const CallExpr *c,
                           llvm::ArrayRef<const Expr *> args);
  Result inlineCall(const FunctionDecl *fn, const CallExpr *c,
                    const Expr *object, llvm::ArrayRef<const Expr *> args,
                    const Val *closure = nullptr);
  Result lowerBody(const FunctionDecl *fn, bool inlined);
  Result lowerLambda(const LambdaExpr *le);
  Result callLambda(const CXXMethodDecl *md, const CallExpr *c,
                    const Expr *object, llvm::ArrayRef<const Expr *> args);
  Result listOf(const Expr *e);

  /// `a op x` on scalars; `type` is the C++ type of the operands (after
  /// the usual conversions), which gives integer ops their signedness.
  Value scalarBinary(Location l, BinaryOperatorKind op, Value a, Value x,
                     SourceLocation at, QualType type = {});

public:
  // The op table (RuntimeOps.def): one builder per signature kind.
  struct Call {
    const CallExpr *expr;
    const Expr *object; // the Tensor of a method call
    llvm::SmallVector<const Expr *> args;
    Location loc;
    SourceLocation at;
    std::string name;
  };
  using Builder = Result (FunctionLowering::*)(Call &);

#define KNET_BUILDER(KIND) template <typename OpT> Result build##KIND(Call &c);
  KNET_BUILDER(Unary)
  KNET_BUILDER(UnaryAttrs)
  KNET_BUILDER(Like)
  KNET_BUILDER(Binary)
  KNET_BUILDER(Compare)
  KNET_BUILDER(BackEw)
  KNET_BUILDER(Where)
  KNET_BUILDER(Reduce)
  KNET_BUILDER(DimReduce)
  KNET_BUILDER(Softmax)
  KNET_BUILDER(SoftmaxBack)
  KNET_BUILDER(Matmul)
  KNET_BUILDER(Linear)
  KNET_BUILDER(Nll)
  KNET_BUILDER(Accuracy)
  KNET_BUILDER(BinaryLoss)
  KNET_BUILDER(Conv)
  KNET_BUILDER(Pool)
  KNET_BUILDER(PoolBack)
  KNET_BUILDER(Batchnorm)
  KNET_BUILDER(Dropout)
  KNET_BUILDER(Embedding)
  KNET_BUILDER(Join)
  KNET_BUILDER(Chunk)
  KNET_BUILDER(Reshape)
  KNET_BUILDER(Transpose)
  KNET_BUILDER(Permute)
  KNET_BUILDER(Slice)
  KNET_BUILDER(Select)
  KNET_BUILDER(DimOp)
  KNET_BUILDER(Size)
  KNET_BUILDER(Numel)
  KNET_BUILDER(Item)
  KNET_BUILDER(Cast)
  KNET_BUILDER(Identity)
  KNET_BUILDER(Scalar)
  KNET_BUILDER(Full)
  KNET_BUILDER(From)
#undef KNET_BUILDER
  /// Whether constant pool options are invalid (reported as an error at
  /// them: they fail on the tape too).
  bool badPoolOptions(Call &c, const Expr *at,
                      const llvm::StringMap<mlir::Attribute> &opts);
  /// Whether `e`, what a rule of the runtime's (knet/checks.h, an op's
  /// option rule) says is wrong with a constant argument, is not empty; it
  /// is then an error at `at` naming the op: the call fails on the tape too.
  bool broken(Call &c, const Expr *at, const std::string &e);

private:
  // Helpers of the builders.
  const Expr *arg(Call &c, unsigned i) {
    return i < c.args.size() ? c.args[i] : nullptr;
  }
  /// A dtype argument: a DType constant (`name`) or the dtype of a tensor
  /// (`x.dtype()`: `like`); f32 when it is not given.
  struct DTypeArg {
    std::string name;
    Value like;
  };
  std::optional<DTypeArg> dtypeArg(const Expr *d, StringRef what);
  /// The IR element type holding a run-time dtype: the float type stands
  /// for every float dtype (the op's `dtype` attribute says which).
  Type dtypeElement(StringRef name) {
    return llvm::StringSwitch<Type>(name)
        .Cases("f32", "f64", "f16", "bf16", m.f32())
        .Cases("i32", "i64", "u8", m.i64())
        .Case("b8", m.i1())
        .Default(Type());
  }
  /// The i64 sizes of a braced shape (`{n, -1}`, `{x.size(0), 4}`); in
  /// `known` the constant ones, 0 for the others.
  bool shapeOperands(const Expr *e, StringRef what,
                     llvm::SmallVectorImpl<Value> &dims, ::knet::Shape &known);
  Value tensorArg(Call &c, unsigned i) {
    if (i == 0 && c.object)
      return tensor(c.object);
    unsigned k = c.object ? i - 1 : i;
    if (k >= c.args.size()) {
      tape(c.at, "'" + c.name + "': missing argument");
      return {};
    }
    return tensor(c.args[k]);
  }
  /// Argument i (after the object) as a compile-time integer.
  std::optional<int64_t> constArg(Call &c, unsigned i, StringRef what) {
    const Expr *e = arg(c, i);
    if (!e) {
      tape(c.at, "'" + c.name + "': missing " + what);
      return std::nullopt;
    }
    if (const auto *d = dyn_cast<CXXDefaultArgExpr>(strip(e)))
      e = d->getExpr();
    Expr::EvalResult r;
    if (e->EvaluateAsInt(r, m.ast))
      return r.Val.getInt().getSExtValue();
    tape(e->getExprLoc(),
         "the " + what + " of '" + c.name + "' is not a compile-time constant");
    return std::nullopt;
  }
  std::optional<double> constFloatArg(const Expr *e, StringRef what,
                                      StringRef op) {
    if (const auto *d = dyn_cast<CXXDefaultArgExpr>(strip(e)))
      e = d->getExpr();
    llvm::APFloat f(0.0);
    if (e->EvaluateAsFloat(f, m.ast))
      return f.convertToDouble();
    Expr::EvalResult r;
    if (e->EvaluateAsInt(r, m.ast))
      return static_cast<double>(r.Val.getInt().getSExtValue());
    tape(e->getExprLoc(),
         "the " + what + " of '" + op + "' is not a compile-time constant");
    return std::nullopt;
  }
  /// The integers of a braced list ({0, 1}); nullopt and a reason if not
  /// constant.
  std::optional<llvm::SmallVector<int64_t>>
  constInts(const Expr *e, StringRef what, StringRef op);
  /// Fields of an options struct argument ({.padding = 1}) as constants.
  /// Fields named in `runtime` may also be run-time values: their
  /// expressions are stored there instead.
  std::optional<llvm::StringMap<mlir::Attribute>>
  constOptions(const Expr *e, StringRef op,
               llvm::StringMap<const Expr *> *runtime = nullptr);
  Value asI64(Location l, Value v) { return convertScalar(l, v, m.i64()); }
  /// The runtime's Binary overloads: a scalar on one side becomes a 0-d
  /// tensor of the other side's element type.
  bool binaryOperands(Call &c, Value &a, Value &x);
  Result create(Call &c, StringRef opName, mlir::ValueRange operands,
                llvm::ArrayRef<Type> results,
                llvm::ArrayRef<mlir::NamedAttribute> attrs = {}) {
    mlir::OperationState st(c.loc, opName);
    st.addOperands(operands);
    st.addTypes(results);
    st.addAttributes(attrs);
    mlir::Operation *op = b.create(st);
    if (op->getNumResults() == 0)
      return Val();
    return Val(op->getResult(0));
  }
  mlir::NamedAttribute attr(StringRef name, mlir::Attribute a) {
    return b.getNamedAttr(name, a);
  }
};
//===----------------------------------------------------------------------===//
// The tables of RuntimeOps.def (LowerOps.cpp)
//===----------------------------------------------------------------------===//

/// Runtime function name -> the builder of its op.
const llvm::StringMap<FunctionLowering::Builder> &opTable();
/// Scalar <cmath> function name (and its float variant) -> a math op.
using MathBuilder = Value (*)(mlir::OpBuilder &, Location, Value);
const llvm::StringMap<MathBuilder> &mathTable();

} // namespace mlir::knet::frontend

#endif // KNET_FRONTEND_LIB_LOWERINGIMPL_H
