//===- Lowering.cpp - Clang AST to knet IR --------------------------------===//
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
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"

#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/CrashRecoveryContext.h"

#include <deque>
#include <functional>
#include <optional>

using namespace clang;
namespace kn = mlir::knet;

namespace knet::frontend {

using Location = mlir::Location;
using Type = mlir::Type;
using Value = mlir::Value;

void registerDialects(mlir::DialectRegistry &registry) {
  registry
      .insert<kn::KnetDialect, mlir::func::FuncDialect, mlir::scf::SCFDialect,
              mlir::arith::ArithDialect, mlir::math::MathDialect>();
}

namespace {

//===----------------------------------------------------------------------===//
// C++ types
//===----------------------------------------------------------------------===//

bool inNamespace(const Decl *d, StringRef ns) {
  const DeclContext *dc = d->getDeclContext();
  while (dc && !dc->isTranslationUnit()) {
    if (const auto *n = dyn_cast<NamespaceDecl>(dc))
      if (!n->isInline())
        return n->getName() == ns &&
               n->getParent()->getRedeclContext()->isTranslationUnit();
    dc = dc->getParent();
  }
  return false;
}

const CXXRecordDecl *recordOf(QualType t) {
  if (t.isNull())
    return nullptr;
  t = t.getNonReferenceType().getCanonicalType();
  return t->getAsCXXRecordDecl();
}

bool isKnetClass(QualType t, StringRef name) {
  const CXXRecordDecl *r = recordOf(t);
  return r && r->getName() == name && inNamespace(r, "knet");
}
bool isTensor(QualType t) { return isKnetClass(t, "Tensor"); }
bool isParam(QualType t) { return isKnetClass(t, "Param"); }
bool isTensorLike(QualType t) { return isTensor(t) || isParam(t); }

/// The element type of std::vector<T> or std::array<T, N>, or null.
QualType vectorElement(QualType t) {
  const auto *s =
      dyn_cast_or_null<ClassTemplateSpecializationDecl>(recordOf(t));
  if (!s || (s->getName() != "vector" && s->getName() != "array") ||
      !inNamespace(s, "std") || s->getTemplateArgs().size() < 1 ||
      s->getTemplateArgs()[0].getKind() != TemplateArgument::Type)
    return {};
  return s->getTemplateArgs()[0].getAsType();
}
/// N of std::array<T, N> (a list of N elements in the IR), or nullopt.
std::optional<int64_t> stdArraySize(QualType t) {
  const auto *s =
      dyn_cast_or_null<ClassTemplateSpecializationDecl>(recordOf(t));
  if (!s || s->getName() != "array" || !inNamespace(s, "std") ||
      s->getTemplateArgs().size() != 2 ||
      s->getTemplateArgs()[1].getKind() != TemplateArgument::Integral)
    return std::nullopt;
  return s->getTemplateArgs()[1].getAsIntegral().getSExtValue();
}
/// The element types of std::pair<A, B> or std::tuple<T...>, or nullopt.
std::optional<llvm::SmallVector<QualType>> tupleElements(QualType t) {
  const auto *s = dyn_cast_or_null<ClassTemplateSpecializationDecl>(
      recordOf(t.getNonReferenceType()));
  if (!s || !inNamespace(s, "std") ||
      (s->getName() != "pair" && s->getName() != "tuple"))
    return std::nullopt;
  llvm::SmallVector<QualType> out;
  for (const TemplateArgument &a : s->getTemplateArgs().asArray()) {
    if (a.getKind() == TemplateArgument::Type) {
      out.push_back(a.getAsType());
    } else if (a.getKind() == TemplateArgument::Pack) {
      for (const TemplateArgument &p : a.pack_elements()) {
        if (p.getKind() != TemplateArgument::Type)
          return std::nullopt;
        out.push_back(p.getAsType());
      }
    } else {
      return std::nullopt;
    }
  }
  return out;
}
/// Whether `t` is an unsigned integer (or an enum over one): its IR ops
/// are the unsigned ones (divui, remui, shrui, cmpi u*, extui, uitofp).
bool isUnsignedInt(QualType t) {
  t = t.getNonReferenceType().getCanonicalType();
  return !t->isBooleanType() && t->isUnsignedIntegerOrEnumerationType();
}

bool isTensorList(QualType t) {
  QualType e = vectorElement(t);
  return !e.isNull() && isTensorLike(e);
}

/// A user struct whose fields are all lowerable (checked by flattenType).
bool isUserStruct(QualType t) {
  const CXXRecordDecl *r = recordOf(t);
  if (!r || !r->hasDefinition() || r->isUnion() || r->isLambda())
    return false;
  if (inNamespace(r, "std") || inNamespace(r, "knet"))
    return false;
  return r->getNumBases() == 0 && !r->isPolymorphic();
}

std::string typeName(QualType t) {
  return t.getNonReferenceType().getUnqualifiedType().getAsString();
}

//===----------------------------------------------------------------------===//
// Values
//===----------------------------------------------------------------------===//

mlir::DenseElementsAttr denseSplat(mlir::ShapedType t, mlir::Attribute a) {
  return mlir::DenseElementsAttr::get(t, llvm::ArrayRef<mlir::Attribute>(a));
}

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

void leaves(const Val &x, llvm::SmallVectorImpl<Value> &out) {
  if (x.isStruct()) {
    for (const Val &f : x.fields)
      leaves(f, out);
    return;
  }
  if (x.v)
    out.push_back(x.v);
}

Val rebuild(const Val &like, llvm::ArrayRef<Value> &it) {
  if (like.isStruct()) {
    Val s;
    s.record = like.record;
    s.lambda = like.lambda;
    for (const Val &f : like.fields)
      s.fields.push_back(rebuild(f, it));
    return s;
  }
  if (!like.v)
    return Val();
  Val r(it.front());
  it = it.drop_front();
  return r;
}

bool sameLeaves(const Val &a, const Val &b) {
  llvm::SmallVector<Value> x, y;
  leaves(a, x);
  leaves(b, y);
  return x == y;
}

//===----------------------------------------------------------------------===//
// The module-wide state
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

bool ModuleLowering::flattenType(QualType t, llvm::SmallVectorImpl<Type> &out,
                                 std::string &why, bool idTensor) {
  QualType base = t.getNonReferenceType();
  if (isTensorLike(base)) {
    out.push_back(tensorType(idTensor ? i64() : f32()));
    return true;
  }
  if (isTensorList(base)) {
    out.push_back(kn::ListType::get(&ctx, tensorType(f32())));
    return true;
  }
  if (isKnetClass(base, "Moments")) {
    out.push_back(kn::MomentsType::get(&ctx));
    return true;
  }
  if (Type s = scalarType(base)) {
    out.push_back(s);
    return true;
  }
  if (auto elems = tupleElements(base)) {
    for (QualType e : *elems)
      if (!flattenType(e, out, why))
        return false;
    return true;
  }
  if (base->isPointerType() || base->isArrayType()) {
    why = "pointer to user data ('" + typeName(t) + "')";
    return false;
  }
  if (!vectorElement(base).isNull()) {
    why = "non-tensor container '" + typeName(t) + "'";
    return false;
  }
  if (isUserStruct(base)) {
    for (const FieldDecl *f : recordOf(base)->fields()) {
      if (!flattenType(f->getType(), out, why)) {
        why = "field '" + f->getNameAsString() + "' of '" + typeName(t) +
              "': " + why;
        return false;
      }
    }
    return true;
  }
  why = "type '" + typeName(t) +
        "' is not a Tensor, Param, scalar, vector of these or struct of these";
  return false;
}

const Expr *strip(const Expr *e) {
  while (true) {
    e = e->IgnoreParens();
    if (const auto *c = dyn_cast<ImplicitCastExpr>(e))
      e = c->getSubExpr();
    else if (const auto *m = dyn_cast<MaterializeTemporaryExpr>(e))
      e = m->getSubExpr();
    else if (const auto *b = dyn_cast<CXXBindTemporaryExpr>(e))
      e = b->getSubExpr();
    else if (const auto *w = dyn_cast<ExprWithCleanups>(e))
      e = w->getSubExpr();
    else if (const auto *c = dyn_cast<CXXConstructExpr>(e);
             c && c->getNumArgs() == 1 && c->getConstructor() &&
             c->getConstructor()->isCopyOrMoveConstructor())
      e = c->getArg(0);
    else
      return e;
  }
}

/// The runtime name of a knet function: "relu", "operator-/1" (unary),
/// "Tensor::reshape"; empty when not a knet runtime function.
std::string runtimeName(const FunctionDecl *fn, unsigned numArgs) {
  if (!inNamespace(fn, "knet"))
    return {};
  std::string name = fn->getNameAsString();
  if (const auto *m = dyn_cast<CXXMethodDecl>(fn))
    return m->getParent()->getNameAsString() + "::" + name;
  if (name == "operator-" && numArgs == 1)
    return "operator-/1";
  return name;
}

const Signature &ModuleLowering::signatureOf(const FunctionDecl *fn) {
  fn = fn->getCanonicalDecl();
  auto it = signatures.find(fn);
  if (it != signatures.end())
    return it->second;
  Signature sig;
  // Tensor parameters used directly as labels or ids are i64 tensors.
  llvm::SmallPtrSet<const ParmVarDecl *, 4> ids;
  if (const FunctionDecl *def = fn->getDefinition()) {
    struct Finder : RecursiveASTVisitor<Finder> {
      llvm::SmallPtrSet<const ParmVarDecl *, 4> *ids;
      bool VisitCallExpr(CallExpr *c) {
        const FunctionDecl *callee = c->getDirectCallee();
        if (!callee || c->getNumArgs() < 2)
          return true;
        std::string n = runtimeName(callee, c->getNumArgs());
        if (n == "nll" || n == "accuracy" || n == "embedding")
          if (const auto *d = dyn_cast<DeclRefExpr>(strip(c->getArg(1))))
            if (const auto *p = dyn_cast<ParmVarDecl>(d->getDecl()))
              ids->insert(p);
        return true;
      }
    } finder;
    finder.ids = &ids;
    finder.TraverseStmt(def->getBody());
    fn = def;
  }
  mlir::Builder b(&ctx);
  // One name per leaf ("m.w1") and whether it is a Param.
  std::function<void(QualType, std::string,
                     llvm::SmallVectorImpl<std::pair<std::string, bool>> &)>
      names = [&](QualType t, std::string name,
                  llvm::SmallVectorImpl<std::pair<std::string, bool>> &out) {
        QualType base = t.getNonReferenceType();
        if (isUserStruct(base) && !isTensorList(base)) {
          for (const FieldDecl *f : recordOf(base)->fields())
            names(f->getType(), name + "." + f->getNameAsString(), out);
          return;
        }
        bool isP = isParam(base) ||
                   (isTensorList(base) && isParam(vectorElement(base)));
        out.push_back({name, isP});
      };
  for (const ParmVarDecl *p : fn->parameters()) {
    llvm::SmallVector<Type> types;
    if (!flattenType(p->getType(), types, sig.why, ids.contains(p))) {
      sig.why = "parameter '" + p->getNameAsString() + "': " + sig.why;
      sig.whyLoc = p->getLocation();
      break;
    }
    llvm::SmallVector<std::pair<std::string, bool>> leafNames;
    names(p->getType(), p->getNameAsString(), leafNames);
    for (auto [i, t] : llvm::enumerate(types)) {
      llvm::SmallVector<mlir::NamedAttribute> attrs;
      auto [name, isP] = i < leafNames.size()
                             ? leafNames[i]
                             : std::pair<std::string, bool>{"", false};
      attrs.push_back(b.getNamedAttr("knet.name", b.getStringAttr(name)));
      if (isP)
        attrs.push_back(b.getNamedAttr("knet.param", b.getUnitAttr()));
      sig.inputs.push_back(t);
      sig.argAttrs.push_back(b.getDictionaryAttr(attrs));
    }
  }
  QualType rt = fn->getReturnType();
  if (sig.why.empty() && !rt->isVoidType() &&
      !flattenType(rt, sig.results, sig.why)) {
    sig.why = "result: " + sig.why;
    sig.whyLoc = fn->getReturnTypeSourceRange().getBegin();
  }
  // What the body writes through a non-const reference must reach the
  // caller: a Tensor& comes back as an extra result; other non-const
  // references (but Moments, which batchnorm updates) are not carried.
  for (const ParmVarDecl *p : fn->parameters()) {
    QualType t = p->getType();
    if (!sig.why.empty() || !t->isLValueReferenceType() ||
        t.getNonReferenceType().isConstQualified() ||
        isKnetClass(t.getNonReferenceType(), "Moments"))
      continue;
    if (!isTensor(t.getNonReferenceType())) {
      sig.why = ("parameter '" + p->getName() +
                 "' is a non-const reference to something other than a "
                 "Tensor (only a Tensor& is written back to the caller)")
                    .str();
      sig.whyLoc = p->getLocation();
      break;
    }
    sig.inout.push_back(p);
    sig.results.push_back(tensorType(f32()));
  }
  return signatures[fn->getCanonicalDecl()] = std::move(sig);
}

//===----------------------------------------------------------------------===//
// Errors: what is wrong in either mode
//===----------------------------------------------------------------------===//

bool isParamValueCall(const Expr *e) {
  const auto *m = dyn_cast<CXXMemberCallExpr>(strip(e));
  return m && m->getMethodDecl() && m->getMethodDecl()->getName() == "value" &&
         isParam(m->getMethodDecl()->getThisType()->getPointeeType());
}

bool ModuleLowering::checkErrors(const FunctionDecl *fn, const Stmt *body) {
  struct Checker : RecursiveASTVisitor<Checker> {
    ModuleLowering *m;
    bool ok = true;
    void fail(SourceLocation l, const llvm::Twine &msg) {
      m->error(l, msg);
      ok = false;
    }
    bool VisitCallExpr(CallExpr *c) {
      const FunctionDecl *callee = c->getDirectCallee();
      if (!callee)
        return true;
      StringRef name =
          callee->getName().empty() ? StringRef() : callee->getName();
      unsigned first = 0;
      if (const auto *op = dyn_cast<CXXOperatorCallExpr>(c)) {
        OverloadedOperatorKind k = op->getOperator();
        if ((k == OO_Equal || k == OO_PlusEqual || k == OO_MinusEqual ||
             k == OO_StarEqual || k == OO_SlashEqual) &&
            c->getNumArgs() > 0 && isParamValueCall(c->getArg(0))) {
          fail(op->getOperatorLoc(),
               "a Param's value is read-only inside a KNET_COMPILE function; "
               "update parameters outside the differentiated code");
          return true;
        }
        if (isa<CXXMethodDecl>(callee))
          first = 1;
      }
      if (inNamespace(callee, "knet")) {
        if (!isa<CXXMethodDecl>(callee) && name.ends_with("_") &&
            !name.ends_with("__")) {
          fail(c->getBeginLoc(),
               "in-place change of a tensor: 'knet::" + name +
                   "' writes into its argument; compute a new tensor "
                   "instead (x = x + y)");
          return true;
        }
        if (isa<CXXMethodDecl>(callee) &&
            (name == "data" || name == "data_ptr")) {
          const auto *mc = cast<CXXMemberCallExpr>(c);
          fail(mc->getExprLoc(),
               "in-place change of a tensor: '" + name +
                   "()' exposes the tensor's memory for writing");
          return true;
        }
      }
      // A Param's value bound to a non-const Tensor& parameter.
      for (unsigned i = first; i < c->getNumArgs(); ++i) {
        unsigned pi = i - first;
        if (pi >= callee->getNumParams())
          break;
        QualType pt = callee->getParamDecl(pi)->getType();
        if (pt->isLValueReferenceType() &&
            !pt.getNonReferenceType().isConstQualified() &&
            isParamValueCall(c->getArg(i)))
          fail(c->getArg(i)->getExprLoc(),
               "a Param's value is read-only inside a KNET_COMPILE function; "
               "it is passed here to '" +
                   callee->getQualifiedNameAsString() +
                   "', which may change it");
      }
      return true;
    }
    bool VisitBinaryOperator(BinaryOperator *b) {
      if (b->isAssignmentOp() && isParamValueCall(b->getLHS()))
        fail(b->getOperatorLoc(),
             "a Param's value is read-only inside a KNET_COMPILE function");
      return true;
    }
    bool TraverseLambdaExpr(LambdaExpr *) { return true; }
  } checker;
  checker.m = this;
  (void)fn;
  checker.TraverseStmt(const_cast<Stmt *>(body));
  return checker.ok;
}

//===----------------------------------------------------------------------===//
// Lowering one function
//===----------------------------------------------------------------------===//

/// Stops lowering: the function stays on the tape (or had an error).
struct Stop {};

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

  // --- constants, casts ----------------------------------------------------
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

  /// Converts a scalar to another scalar type (C++ conversions).
  /// Converts a scalar to another scalar type as C++ does: integers of
  /// any width wrap, and the source's (`fromUnsigned`) or the
  /// destination's (`toUnsigned`) signedness picks zero or sign extension
  /// and the int/float conversion. The IR's integers are signless; the
  /// signedness is the C++ type's, which the caller knows.
  Value convertScalar(Location l, Value v, Type to, bool fromUnsigned = false,
                      bool toUnsigned = false) {
    Type from = v.getType();
    if (from == to)
      return v;
    if (from.isInteger(1))
      fromUnsigned = true;
    // float -> double -> float is the float.
    if (auto e = v.getDefiningOp<mlir::arith::ExtFOp>();
        e && e.getIn().getType() == to)
      return e.getIn();
    // Constants convert at compile time.
    if (auto c = v.getDefiningOp<mlir::arith::ConstantOp>();
        c && !isa<mlir::IndexType>(from) && !isa<mlir::IndexType>(to))
      if (Value r =
              convertConstant(l, c.getValue(), to, fromUnsigned, toUnsigned))
        return r;
    if (to.isInteger(1)) {
      if (isFloat(from))
        return b.create<mlir::arith::CmpFOp>(l, mlir::arith::CmpFPredicate::UNE,
                                             v, constFloat(l, from, 0));
      return b.create<mlir::arith::CmpIOp>(l, mlir::arith::CmpIPredicate::ne, v,
                                           constInt(l, from, 0));
    }
    if (isFloat(from) && isFloat(to)) {
      if (from.getIntOrFloatBitWidth() < to.getIntOrFloatBitWidth())
        return b.create<mlir::arith::ExtFOp>(l, to, v);
      return b.create<mlir::arith::TruncFOp>(l, to, v);
    }
    if (isa<mlir::IndexType>(from) || isa<mlir::IndexType>(to)) {
      if (isFloat(from) || isFloat(to)) {
        // Through i64.
        Value mid = convertScalar(l, v, m.i64(), fromUnsigned, toUnsigned);
        return convertScalar(l, mid, to, fromUnsigned, toUnsigned);
      }
      if (isa<mlir::IndexType>(from) && isa<mlir::IndexType>(to))
        return v;
      if (fromUnsigned)
        return b.create<mlir::arith::IndexCastUIOp>(l, to, v);
      return b.create<mlir::arith::IndexCastOp>(l, to, v);
    }
    if (isFloat(to)) {
      if (fromUnsigned)
        return b.create<mlir::arith::UIToFPOp>(l, to, v);
      return b.create<mlir::arith::SIToFPOp>(l, to, v);
    }
    if (isFloat(from)) {
      if (toUnsigned)
        return b.create<mlir::arith::FPToUIOp>(l, to, v);
      return b.create<mlir::arith::FPToSIOp>(l, to, v);
    }
    unsigned fw = from.getIntOrFloatBitWidth(), tw = to.getIntOrFloatBitWidth();
    if (fw > tw)
      return b.create<mlir::arith::TruncIOp>(l, to, v);
    if (fromUnsigned)
      return b.create<mlir::arith::ExtUIOp>(l, to, v);
    return b.create<mlir::arith::ExtSIOp>(l, to, v);
  }
  /// `attr` converted to `to` at compile time, or null where C++ leaves
  /// the result undefined (a float out of the integer's range).
  Value convertConstant(Location l, mlir::Attribute attr, Type to,
                        bool fromUnsigned, bool toUnsigned) {
    if (auto f = dyn_cast<mlir::FloatAttr>(attr)) {
      llvm::APFloat x = f.getValue();
      if (to.isInteger(1))
        return constBool(l, !x.isZero());
      if (isFloat(to)) {
        bool lost;
        x.convert(cast<mlir::FloatType>(to).getFloatSemantics(),
                  llvm::APFloat::rmNearestTiesToEven, &lost);
        return b.create<mlir::arith::ConstantOp>(l, b.getFloatAttr(to, x));
      }
      llvm::APSInt r(to.getIntOrFloatBitWidth(), toUnsigned);
      bool exact;
      if (x.convertToInteger(r, llvm::APFloat::rmTowardZero, &exact) &
          llvm::APFloat::opInvalidOp)
        return {};
      return b.create<mlir::arith::ConstantOp>(l, b.getIntegerAttr(to, r));
    }
    auto i = dyn_cast<mlir::IntegerAttr>(attr);
    if (!i)
      return {};
    llvm::APInt x = i.getValue();
    if (to.isInteger(1))
      return constBool(l, !x.isZero());
    if (isFloat(to)) {
      llvm::APFloat r(cast<mlir::FloatType>(to).getFloatSemantics());
      r.convertFromAPInt(x, !fromUnsigned, llvm::APFloat::rmNearestTiesToEven);
      return b.create<mlir::arith::ConstantOp>(l, b.getFloatAttr(to, r));
    }
    unsigned w = to.getIntOrFloatBitWidth();
    llvm::APInt r = fromUnsigned ? x.zextOrTrunc(w) : x.sextOrTrunc(w);
    return b.create<mlir::arith::ConstantOp>(l, b.getIntegerAttr(to, r));
  }
  /// `v`, the value of C++ type `from`, converted to C++ type `to`.
  Value convertCxx(Location l, Value v, QualType from, QualType to) {
    Type t = m.scalarType(to);
    if (!t || !v || isTensorT(v.getType()))
      return v;
    return convertScalar(l, v, t, isUnsignedInt(from), isUnsignedInt(to));
  }

  /// A tensor with the element type `elem` (knet.cast when different).
  Value castTensor(Location l, Value v, Type elem, SourceLocation at) {
    if (elemOf(v) == elem)
      return v;
    if (isFloat(elem) && !isFloat(elemOf(v)) && fromFloat.count(v))
      return checkIntegerGrad(v, at), v;
    Value r = b.create<kn::CastOp>(l, m.tensorType(elem), v);
    return r;
  }
  void checkIntegerGrad(Value v, SourceLocation at) {
    auto it = fromFloat.find(v);
    if (it == fromFloat.end())
      return;
    SourceLocation conv = it->second;
    error(at, "gradient through an integer: this value was converted to an "
              "integer type, which carries no gradient, and flows back into "
              "differentiable arithmetic");
    if (conv.isValid())
      m.note(conv, "converted to an integer here");
  }
  /// The unranked form of a tensor (joins, returns, lists).
  Value unranked(Location l, Value v, Type want = {}) {
    if (!isTensorT(v.getType()))
      return v;
    Type elem =
        want ? cast<mlir::TensorType>(want).getElementType() : elemOf(v);
    Type t = m.tensorType(elem);
    if (v.getType() == t)
      return v;
    return b.create<kn::CastOp>(l, t, v);
  }
  /// Makes `v` of type `t` (joins): tensors through knet.cast, scalars
  /// through arith.
  Value coerce(Location l, Value v, Type t) {
    if (v.getType() == t)
      return v;
    if (isTensorT(v.getType()) && isTensorT(t))
      return b.create<kn::CastOp>(l, t, v);
    if (v.getType().isIntOrIndexOrFloat() && t.isIntOrIndexOrFloat())
      return convertScalar(l, v, t);
    return v;
  }
  /// A tensor from a scalar, with element type `elem` (0-d).
  Value scalarTensor(Location l, Value s, Type elem) {
    auto t = mlir::RankedTensorType::get({}, elem);
    if (auto c = s.getDefiningOp<mlir::arith::ConstantOp>()) {
      mlir::Attribute a;
      if (auto f = dyn_cast<mlir::FloatAttr>(c.getValue());
          f && elem.isF32() &&
          static_cast<double>(static_cast<float>(f.getValueAsDouble())) !=
              f.getValueAsDouble())
        // f32 stands for the run-time dtype: an f32 attribute would round
        // the constant an f64 tensor meets (0.083 * x); a scalar of the
        // double keeps it exact (the runtime narrows it for f32 partners).
        return b.create<kn::ScalarOp>(l, t,
                                      convertScalar(l, s, b.getF64Type()));
      if (auto f = dyn_cast<mlir::FloatAttr>(c.getValue())) {
        if (isFloat(elem))
          a = denseSplat(t, b.getFloatAttr(elem, f.getValueAsDouble()));
        else
          a = denseSplat(t, b.getIntegerAttr(elem, static_cast<int64_t>(
                                                       f.getValueAsDouble())));
      } else if (auto i = dyn_cast<mlir::IntegerAttr>(c.getValue())) {
        int64_t v = i.getType().isInteger(1) ? i.getValue().getZExtValue()
                                             : i.getValue().getSExtValue();
        if (isFloat(elem))
          a = denseSplat(t, b.getFloatAttr(elem, static_cast<double>(v)));
        else
          a = denseSplat(t, b.getIntegerAttr(elem, v));
      }
      if (a) {
        return b.create<kn::ConstantOp>(l, t, cast<mlir::ElementsAttr>(a));
      }
    }
    // A float scalar keeps its own type (the tensor's element type stands
    // for its run-time dtype; the scalar meets it as a C++ double would).
    Value v =
        isFloat(s.getType()) && isFloat(elem) ? s : convertScalar(l, s, elem);
    return b.create<kn::ScalarOp>(l, t, v);
  }
  /// A value of type `t` that stands for "not set yet".
  /// A value of type `t` for a variable that has none yet. `undefined`:
  /// what C++ default construction gives (`Tensor t;` is an undefined
  /// Tensor); otherwise a zero that no path reads (the slot of an early
  /// return, the result of `?:` before its branches).
  Value placeholder(Location l, Type t, bool undefined) {
    if (undefined && isa<mlir::TensorType>(t))
      return b.create<kn::UndefinedOp>(l, t);
    if (auto tt = dyn_cast<mlir::TensorType>(t)) {
      Value z = scalarTensor(l, constFloat(l, m.f32(), 0), tt.getElementType());
      return unranked(l, z, t);
    }
    if (auto lt = dyn_cast<kn::ListType>(t))
      return b.create<kn::ListMakeOp>(l, t, mlir::ValueRange{});
    if (isFloat(t))
      return constFloat(l, t, 0);
    if (t.isIntOrIndex())
      return constInt(l, t, 0);
    return {};
  }
  Result placeholderVal(Location l, QualType qt, SourceLocation at,
                        bool undefined = true) {
    llvm::SmallVector<Type> types;
    std::string why;
    if (!m.flattenType(qt, types, why))
      return tape(at, why);
    // std::array<Tensor, N>: N undefined tensors, as C++ default-constructs.
    if (std::optional<int64_t> n = stdArraySize(qt.getNonReferenceType())) {
      Val list;
      list.known = true;
      Type et = m.tensorType(m.f32());
      for (int64_t i = 0; i < *n; ++i)
        list.elems.push_back(b.create<kn::UndefinedOp>(l, et));
      list.v = b.create<kn::ListMakeOp>(l, kn::ListType::get(&m.ctx, et),
                                        list.elems);
      return list;
    }
    llvm::SmallVector<Value> vals;
    for (Type t : types) {
      Value p = placeholder(l, t, undefined);
      if (!p)
        return tape(at, "cannot make a value of type '" + typeName(qt) + "'");
      vals.push_back(p);
    }
    llvm::ArrayRef<Value> it = vals;
    return shapeVal(qt, it);
  }
  /// Builds a Val of C++ type `qt` from flattened values.
  Val shapeVal(QualType qt, llvm::ArrayRef<Value> &it) {
    QualType base = qt.getNonReferenceType();
    if (auto elems = tupleElements(base)) {
      Val s;
      s.record = recordOf(base);
      for (QualType e : *elems)
        s.fields.push_back(shapeVal(e, it));
      return s;
    }
    if (isUserStruct(base) && !isTensorList(base)) {
      Val s;
      s.record = recordOf(base);
      for (const FieldDecl *f : recordOf(base)->fields())
        s.fields.push_back(shapeVal(f->getType(), it));
      return s;
    }
    Val v(it.front());
    it = it.drop_front();
    return v;
  }

  // --- statements ----------------------------------------------------------
  bool lowerStmt(const Stmt *s);
  bool lowerStmts(llvm::ArrayRef<const Stmt *> stmts);
  bool lowerDecl(const VarDecl *vd);
  bool lowerReturn(const ReturnStmt *r);
  bool lowerIf(const IfStmt *s);
  bool lowerSwitch(const SwitchStmt *s);
  Result lowerLambda(const LambdaExpr *le);
  Result callLambda(const CXXMethodDecl *md, const CallExpr *c,
                    const Expr *object, llvm::ArrayRef<const Expr *> args);
  bool lowerWhile(const Stmt *loop, const Expr *cond, const Stmt *body,
                  const Stmt *inc, bool isDo);
  bool lowerFor(const ForStmt *s);
  bool lowerRangeFor(const CXXForRangeStmt *s);
  bool structuredIf(Location l, Value cond, llvm::function_ref<bool()> thenBody,
                    llvm::function_ref<bool()> elseBody);
  Value notExited(Location l);
  bool mayExit(const Stmt *s);
  void assignedIn(const Stmt *s, llvm::SmallPtrSetImpl<const void *> &keys);
  bool loopRegion(mlir::Block *block, llvm::ArrayRef<const void *> keys,
                  const Env &outer, llvm::function_ref<bool()> body,
                  llvm::SmallVectorImpl<Value> &yields);

  // --- expressions ---------------------------------------------------------
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
  Result lowerRuntimeCall(const std::string &name, const CallExpr *c,
                          const Expr *object,
                          llvm::ArrayRef<const Expr *> args);
  Result lowerScalarMath(const FunctionDecl *fn, const CallExpr *c,
                         llvm::ArrayRef<const Expr *> args);
  Result lowerCompiledCall(const FunctionDecl *fn, const CallExpr *c,
                           llvm::ArrayRef<const Expr *> args);
  Result inlineCall(const FunctionDecl *fn, const CallExpr *c,
                    const Expr *object, llvm::ArrayRef<const Expr *> args,
                    const Val *closure = nullptr);
  Result lowerBody(const FunctionDecl *fn, bool inlined);
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
  /// The i64 sizes of a braced shape (`{n, -1}`, `{x.size(0), 4}`).
  bool shapeOperands(const Expr *e, StringRef what,
                     llvm::SmallVectorImpl<Value> &dims);
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
  std::optional<llvm::StringMap<mlir::Attribute>> constOptions(const Expr *e,
                                                               StringRef op);
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
// The table
//===----------------------------------------------------------------------===//

const llvm::StringMap<FunctionLowering::Builder> &opTable() {
  static const llvm::StringMap<FunctionLowering::Builder> table = [] {
    llvm::StringMap<FunctionLowering::Builder> t;
#define KNET_OP(NAME, OP, KIND)                                                \
  t[NAME] = &FunctionLowering::build##KIND<kn::OP>;
#include "RuntimeOps.def"
    return t;
  }();
  return table;
}

using MathBuilder = Value (*)(mlir::OpBuilder &, Location, Value);
const llvm::StringMap<MathBuilder> &mathTable() {
  static const llvm::StringMap<MathBuilder> table = [] {
    llvm::StringMap<MathBuilder> t;
#define KNET_MATH(NAME, OP)                                                    \
  t[NAME] = [](mlir::OpBuilder &b, Location l, Value x) -> Value {             \
    return b.create<mlir::OP>(l, x);                                           \
  };                                                                           \
  t[NAME "f"] = t[NAME];
#include "RuntimeOps.def"
    return t;
  }();
  return table;
}

//===----------------------------------------------------------------------===//
// Builders of the op kinds
//===----------------------------------------------------------------------===//

template <typename OpT> Result FunctionLowering::buildUnary(Call &c) {
  Value x = tensorArg(c, 0);
  if (!x)
    return std::nullopt;
  Type t = x.getType();
  if (std::is_same_v<OpT, kn::MatOp>)
    t = m.tensorType(elemOf(x));
  if (!std::is_same_v<OpT, kn::NegOp> && !std::is_same_v<OpT, kn::AbsOp> &&
      !std::is_same_v<OpT, kn::SignOp> &&
      !std::is_same_v<OpT, kn::ZerosLikeOp> &&
      !std::is_same_v<OpT, kn::OnesLikeOp> && !std::is_same_v<OpT, kn::MatOp> &&
      !isFloat(elemOf(x))) {
    x = castTensor(c.loc, x, m.f32(), c.at);
    t = x.getType();
  }
  return create(c, OpT::getOperationName(), {x}, {t});
}

bool FunctionLowering::binaryOperands(Call &c, Value &a, Value &x) {
  Result ra = c.object ? lowerExpr(c.object) : lowerExpr(arg(c, 0));
  if (!ra)
    return false;
  Result rb = lowerExpr(c.object ? arg(c, 0) : arg(c, 1));
  if (!rb)
    return false;
  a = ra->v;
  x = rb->v;
  if (!a || !x)
    return tape(c.at, "'" + c.name + "': unsupported operands"), false;
  bool ta = isTensorT(a.getType()), tb = isTensorT(x.getType());
  if (!ta && !tb)
    return tape(c.at, "'" + c.name + "': no tensor operand"), false;
  if (!ta) {
    checkIntegerGrad(a, c.at);
    a = scalarTensor(c.loc, a, elemOf(x));
  }
  if (!tb) {
    checkIntegerGrad(x, c.at);
    x = scalarTensor(c.loc, x, elemOf(a));
  }
  Type ea = elemOf(a), eb = elemOf(x);
  if (ea != eb) {
    // Promote like the runtime: float over integer, wider over narrower.
    Type to;
    if (isFloat(ea) && isFloat(eb))
      to = ea.getIntOrFloatBitWidth() >= eb.getIntOrFloatBitWidth() ? ea : eb;
    else if (isFloat(ea) || isFloat(eb))
      to = isFloat(ea) ? ea : eb;
    else
      to = m.i64();
    a = castTensor(c.loc, a, to, c.at);
    x = castTensor(c.loc, x, to, c.at);
    if (stopped)
      return false;
  }
  return true;
}

template <typename OpT> Result FunctionLowering::buildBinary(Call &c) {
  Value a, x;
  if (!binaryOperands(c, a, x))
    return std::nullopt;
  if (elemOf(a).isInteger(1)) {
    a = castTensor(c.loc, a, m.i64(), c.at);
    x = castTensor(c.loc, x, m.i64(), c.at);
  }
  if (std::is_same_v<OpT, kn::PowOp> && !isFloat(elemOf(a))) {
    a = castTensor(c.loc, a, m.f32(), c.at);
    x = castTensor(c.loc, x, m.f32(), c.at);
  }
  return create(c, OpT::getOperationName(), {a, x}, {m.tensorType(elemOf(a))});
}

template <typename OpT> Result FunctionLowering::buildCompare(Call &c) {
  Value a, x;
  if (!binaryOperands(c, a, x))
    return std::nullopt;
  if (elemOf(a).isInteger(1)) {
    a = castTensor(c.loc, a, m.i64(), c.at);
    x = castTensor(c.loc, x, m.i64(), c.at);
  }
  return create(c, OpT::getOperationName(), {a, x}, {m.tensorType(m.i1())});
}

template <typename OpT> Result FunctionLowering::buildBackEw(Call &c) {
  Value dy = tensorArg(c, 0), v = dy ? tensorArg(c, 1) : Value();
  if (!v)
    return std::nullopt;
  v = castTensor(c.loc, v, elemOf(dy), c.at);
  return create(c, OpT::getOperationName(), {dy, v},
                {m.tensorType(elemOf(dy))});
}

template <typename OpT> Result FunctionLowering::buildWhere(Call &c) {
  Value cond = tensorArg(c, 0);
  if (!cond)
    return std::nullopt;
  Call rest = c;
  rest.args.erase(rest.args.begin());
  Value a, x;
  if (!binaryOperands(rest, a, x))
    return std::nullopt;
  if (!elemOf(cond).isInteger(1))
    cond = castTensor(c.loc, cond, m.i1(), c.at);
  return create(c, OpT::getOperationName(), {cond, a, x},
                {m.tensorType(elemOf(a))});
}

std::optional<llvm::SmallVector<int64_t>>
FunctionLowering::constInts(const Expr *e, StringRef what, StringRef op) {
  if (const auto *d = dyn_cast<CXXDefaultArgExpr>(strip(e)))
    e = d->getExpr();
  e = strip(e);
  const InitListExpr *il = nullptr;
  if (const auto *ce = dyn_cast<CXXConstructExpr>(e)) {
    if (ce->getNumArgs() >= 1)
      if (const auto *sl =
              dyn_cast<CXXStdInitializerListExpr>(strip(ce->getArg(0))))
        il = dyn_cast<InitListExpr>(strip(sl->getSubExpr()));
  } else if (const auto *sl = dyn_cast<CXXStdInitializerListExpr>(e)) {
    il = dyn_cast<InitListExpr>(strip(sl->getSubExpr()));
  } else if (const auto *l = dyn_cast<InitListExpr>(e)) {
    il = l;
  }
  llvm::SmallVector<int64_t> out;
  if (il) {
    for (const Expr *x : il->inits()) {
      Expr::EvalResult r;
      if (!x->EvaluateAsInt(r, m.ast)) {
        tape(x->getExprLoc(),
             "the " + what + " of '" + op + "' are not compile-time constants");
        return std::nullopt;
      }
      out.push_back(r.Val.getInt().getSExtValue());
    }
    return out;
  }
  if (const auto *ce = dyn_cast<CXXConstructExpr>(e);
      ce && ce->getNumArgs() == 0)
    return out;
  tape(e->getExprLoc(),
       "the " + what + " of '" + op + "' are not a braced list of constants");
  return std::nullopt;
}

template <typename OpT> Result FunctionLowering::buildReduce(Call &c) {
  Value x = tensorArg(c, 0);
  if (!x)
    return std::nullopt;
  llvm::SmallVector<mlir::NamedAttribute> attrs;
  if (const Expr *d = arg(c, 1)) {
    auto dims = constInts(d, "dims", c.name);
    if (!dims)
      return std::nullopt;
    attrs.push_back(attr("dims", b.getDenseI64ArrayAttr(*dims)));
    if (arg(c, 2)) {
      auto keep = constArg(c, 2, "keepdim");
      if (!keep)
        return std::nullopt;
      if (*keep)
        attrs.push_back(attr("keepdim", b.getUnitAttr()));
    }
  }
  if (elemOf(x).isInteger(1))
    x = castTensor(c.loc, x, m.i64(), c.at);
  return create(c, OpT::getOperationName(), {x}, {m.tensorType(elemOf(x))},
                attrs);
}

template <typename OpT> Result FunctionLowering::buildDimReduce(Call &c) {
  Value x = tensorArg(c, 0);
  if (!x)
    return std::nullopt;
  auto dim = constArg(c, 1, "dim");
  if (!dim)
    return std::nullopt;
  llvm::SmallVector<mlir::NamedAttribute> attrs{
      attr("dim", b.getI64IntegerAttr(*dim))};
  if (arg(c, 2)) {
    auto keep = constArg(c, 2, "keepdim");
    if (!keep)
      return std::nullopt;
    if (*keep)
      attrs.push_back(attr("keepdim", b.getUnitAttr()));
  }
  if (!isFloat(elemOf(x)))
    x = castTensor(c.loc, x, m.f32(), c.at);
  Type r = std::is_same_v<OpT, kn::ArgmaxOp> ? m.tensorType(m.i64())
                                             : m.tensorType(elemOf(x));
  return create(c, OpT::getOperationName(), {x}, {r}, attrs);
}

template <typename OpT> Result FunctionLowering::buildSoftmax(Call &c) {
  Value x = tensorArg(c, 0);
  if (!x)
    return std::nullopt;
  auto dim = constArg(c, 1, "dim");
  if (!dim)
    return std::nullopt;
  if (!isFloat(elemOf(x)))
    x = castTensor(c.loc, x, m.f32(), c.at);
  return create(c, OpT::getOperationName(), {x}, {x.getType()},
                {attr("dim", b.getI64IntegerAttr(*dim))});
}

template <typename OpT> Result FunctionLowering::buildSoftmaxBack(Call &c) {
  Value dy = tensorArg(c, 0), y = dy ? tensorArg(c, 1) : Value();
  if (!y)
    return std::nullopt;
  auto dim = constArg(c, 2, "dim");
  if (!dim)
    return std::nullopt;
  dy = unranked(c.loc, dy);
  y = unranked(c.loc, castTensor(c.loc, y, elemOf(dy), c.at));
  return create(c, OpT::getOperationName(), {dy, y}, {dy.getType()},
                {attr("dim", b.getI64IntegerAttr(*dim))});
}

template <typename OpT> Result FunctionLowering::buildMatmul(Call &c) {
  Value a = tensorArg(c, 0), x = a ? tensorArg(c, 1) : Value();
  if (!x)
    return std::nullopt;
  if (!isFloat(elemOf(a)))
    a = castTensor(c.loc, a, m.f32(), c.at);
  x = castTensor(c.loc, x, elemOf(a), c.at);
  return create(c, OpT::getOperationName(), {a, x}, {m.tensorType(elemOf(a))});
}

bool isUndefinedTensor(const Expr *e) {
  if (const auto *d = dyn_cast<CXXDefaultArgExpr>(strip(e)))
    e = d->getExpr();
  const auto *ce = dyn_cast<CXXConstructExpr>(strip(e));
  return ce && ce->getNumArgs() == 0 && isTensor(ce->getType());
}

template <typename OpT> Result FunctionLowering::buildLinear(Call &c) {
  Value x = tensorArg(c, 0), w = x ? tensorArg(c, 1) : Value();
  if (!w)
    return std::nullopt;
  llvm::SmallVector<Value> ops{x, castTensor(c.loc, w, elemOf(x), c.at)};
  if (const Expr *be = arg(c, 2); be && !isUndefinedTensor(be)) {
    Value bias = tensorArg(c, 2);
    if (!bias)
      return std::nullopt;
    ops.push_back(castTensor(c.loc, bias, elemOf(x), c.at));
  }
  return create(c, OpT::getOperationName(), ops, {m.tensorType(elemOf(x))});
}

std::optional<llvm::StringMap<mlir::Attribute>>
FunctionLowering::constOptions(const Expr *e, StringRef op) {
  llvm::StringMap<mlir::Attribute> out;
  if (!e)
    return out;
  if (const auto *d = dyn_cast<CXXDefaultArgExpr>(strip(e)))
    e = d->getExpr();
  e = strip(e);
  // A const local initialized with a constant list.
  if (const auto *dr = dyn_cast<DeclRefExpr>(e))
    if (const auto *vd = dyn_cast<VarDecl>(dr->getDecl()))
      if (vd->getType().isConstQualified() && vd->getInit())
        e = strip(vd->getInit());
  const auto *il = dyn_cast<InitListExpr>(e);
  if (il && il->isSyntacticForm() && il->getSemanticForm())
    il = il->getSemanticForm();
  const RecordDecl *rd = il ? il->getType()->getAsRecordDecl() : nullptr;
  if (!il || !rd) {
    tape(e->getExprLoc(),
         "the options of '" + op + "' are not a braced list of constants");
    return std::nullopt;
  }
  unsigned i = 0;
  for (const FieldDecl *f : rd->fields()) {
    const Expr *init = i < il->getNumInits() ? il->getInit(i) : nullptr;
    ++i;
    if (const auto *di = dyn_cast_or_null<CXXDefaultInitExpr>(init))
      init = di->getExpr();
    if (!init)
      init = f->getInClassInitializer();
    if (!init || isa<ImplicitValueInitExpr>(init))
      continue;
    QualType ft = f->getType();
    if (!vectorElement(ft).isNull())
      continue;
    if (const auto *rt = recordOf(ft); rt && rt->getName() == "optional") {
      const auto *ce = dyn_cast<CXXConstructExpr>(strip(init));
      if (!ce || ce->getNumArgs() == 0)
        continue; // nullopt
      init = ce->getArg(0);
      ft = init->getType();
    }
    if (ft->isRealFloatingType()) {
      std::string what = (llvm::Twine("'") + f->getName() + "' option").str();
      auto v = constFloatArg(init, what, op);
      if (!v)
        return std::nullopt;
      out[f->getName()] = b.getF64FloatAttr(*v);
      continue;
    }
    Expr::EvalResult r;
    if (!init->EvaluateAsInt(r, m.ast)) {
      tape(init->getExprLoc(), "the '" + f->getNameAsString() +
                                   "' option of '" + op +
                                   "' is not a compile-time constant");
      return std::nullopt;
    }
    int64_t v = r.Val.getInt().getSExtValue();
    if (ft->isBooleanType())
      out[f->getName()] = b.getBoolAttr(v != 0);
    else
      out[f->getName()] = b.getI64IntegerAttr(v);
  }
  return out;
}

template <typename OpT> Result FunctionLowering::buildNll(Call &c) {
  Value s = tensorArg(c, 0), l = s ? tensorArg(c, 1) : Value();
  if (!l)
    return std::nullopt;
  auto opts = constOptions(arg(c, 2), c.name);
  if (!opts)
    return std::nullopt;
  llvm::SmallVector<mlir::NamedAttribute> attrs;
  if (auto a = opts->lookup("average");
      a && !cast<mlir::BoolAttr>(a).getValue())
    attrs.push_back(attr("average", a));
  if (!isFloat(elemOf(s)))
    s = castTensor(c.loc, s, m.f32(), c.at);
  l = castTensor(c.loc, l, m.i64(), c.at);
  return create(c, OpT::getOperationName(), {s, l}, {m.tensorType(elemOf(s))},
                attrs);
}

template <typename OpT> Result FunctionLowering::buildAccuracy(Call &c) {
  Value s = tensorArg(c, 0), l = s ? tensorArg(c, 1) : Value();
  if (!l)
    return std::nullopt;
  if (!isFloat(elemOf(s)))
    s = castTensor(c.loc, s, m.f32(), c.at);
  l = castTensor(c.loc, l, m.i64(), c.at);
  return create(c, OpT::getOperationName(), {s, l},
                {mlir::Float64Type::get(&m.ctx)});
}

template <typename OpT> Result FunctionLowering::buildBinaryLoss(Call &c) {
  Value s = tensorArg(c, 0), l = s ? tensorArg(c, 1) : Value();
  if (!l)
    return std::nullopt;
  if (!isFloat(elemOf(s)))
    s = castTensor(c.loc, s, m.f32(), c.at);
  l = castTensor(c.loc, l, elemOf(s), c.at);
  return create(c, OpT::getOperationName(), {s, l}, {m.tensorType(elemOf(s))});
}

template <typename OpT> Result FunctionLowering::buildConv(Call &c) {
  Value x = tensorArg(c, 0), w = x ? tensorArg(c, 1) : Value();
  if (!w)
    return std::nullopt;
  auto opts = constOptions(arg(c, 2), c.name);
  if (!opts)
    return std::nullopt;
  llvm::SmallVector<mlir::NamedAttribute> attrs;
  for (StringRef k : {"padding", "stride", "dilation", "groups"}) {
    mlir::Attribute a = opts->lookup(k);
    int64_t def = k == "padding" ? 0 : 1;
    if (a && cast<mlir::IntegerAttr>(a).getInt() != def)
      attrs.push_back(attr(k, a));
  }
  w = castTensor(c.loc, w, elemOf(x), c.at);
  return create(c, OpT::getOperationName(), {x, w}, {m.tensorType(elemOf(x))},
                attrs);
}

static llvm::SmallVector<mlir::NamedAttribute>
poolAttrs(mlir::OpBuilder &b, const llvm::StringMap<mlir::Attribute> &opts) {
  llvm::SmallVector<mlir::NamedAttribute> attrs;
  for (StringRef k : {"window", "stride", "padding"}) {
    mlir::Attribute a = opts.lookup(k);
    int64_t def = k == "window" ? 2 : 0;
    if (a && cast<mlir::IntegerAttr>(a).getInt() != def)
      attrs.push_back(b.getNamedAttr(k, a));
  }
  if (mlir::Attribute a = opts.lookup("mode"))
    if (cast<mlir::IntegerAttr>(a).getInt() == 1)
      attrs.push_back(b.getNamedAttr(
          "mode", kn::PoolModeAttr::get(b.getContext(), kn::PoolMode::avg)));
  return attrs;
}

template <typename OpT> Result FunctionLowering::buildPool(Call &c) {
  Value x = tensorArg(c, 0);
  if (!x)
    return std::nullopt;
  auto opts = constOptions(arg(c, 1), c.name);
  if (!opts)
    return std::nullopt;
  return create(c, OpT::getOperationName(), {x}, {m.tensorType(elemOf(x))},
                poolAttrs(b, *opts));
}

template <typename OpT> Result FunctionLowering::buildPoolBack(Call &c) {
  Value dy = tensorArg(c, 0), y = dy ? tensorArg(c, 1) : Value(),
        x = y ? tensorArg(c, 2) : Value();
  if (!x)
    return std::nullopt;
  auto opts = constOptions(arg(c, 3), c.name);
  if (!opts)
    return std::nullopt;
  return create(c, OpT::getOperationName(), {dy, y, x},
                {m.tensorType(elemOf(dy))}, poolAttrs(b, *opts));
}

template <typename OpT> Result FunctionLowering::buildBatchnorm(Call &c) {
  Value x = tensorArg(c, 0);
  if (!x)
    return std::nullopt;
  Result mo = lowerExpr(arg(c, 1));
  if (!mo)
    return std::nullopt;
  if (!mo->v || !isa<kn::MomentsType>(mo->v.getType()))
    return tape(arg(c, 1)->getExprLoc(),
                "the moments of 'batchnorm' must be a Moments argument or "
                "field");
  Value p = tensorArg(c, 2);
  if (!p)
    return std::nullopt;
  auto opts = constOptions(arg(c, 3), c.name);
  if (!opts)
    return std::nullopt;
  llvm::SmallVector<mlir::NamedAttribute> attrs;
  if (mlir::Attribute a = opts->lookup("training"))
    attrs.push_back(attr("training", a));
  if (mlir::Attribute a = opts->lookup("eps");
      a && cast<mlir::FloatAttr>(a).getValueAsDouble() != 1e-5)
    attrs.push_back(attr("eps", a));
  if (mlir::Attribute a = opts->lookup("momentum");
      a && cast<mlir::FloatAttr>(a).getValueAsDouble() != 0.1)
    attrs.push_back(attr("momentum", a));
  p = castTensor(c.loc, p, elemOf(x), c.at);
  return create(c, OpT::getOperationName(), {x, mo->v, p},
                {m.tensorType(elemOf(x))}, attrs);
}

template <typename OpT> Result FunctionLowering::buildDropout(Call &c) {
  Value x = tensorArg(c, 0);
  if (!x)
    return std::nullopt;
  if (!arg(c, 1))
    return tape(c.at, "'dropout' needs p");
  auto p = constFloatArg(arg(c, 1), "p", c.name);
  if (!p)
    return std::nullopt;
  x = unranked(c.loc, x);
  return create(c, OpT::getOperationName(), {x}, {x.getType()},
                {attr("p", b.getF64FloatAttr(*p))});
}

template <typename OpT> Result FunctionLowering::buildEmbedding(Call &c) {
  Value t = tensorArg(c, 0), ids = t ? tensorArg(c, 1) : Value();
  if (!ids)
    return std::nullopt;
  ids = castTensor(c.loc, ids, m.i64(), c.at);
  return create(c, OpT::getOperationName(), {t, ids},
                {m.tensorType(elemOf(t))});
}

Result FunctionLowering::listOf(const Expr *e) {
  Result r = lowerExpr(e);
  if (!r)
    return std::nullopt;
  if (!r->v || !isa<kn::ListType>(r->v.getType()))
    return tape(e->getExprLoc(), "expected a std::vector<Tensor>");
  return r;
}

template <typename OpT> Result FunctionLowering::buildJoin(Call &c) {
  Result l = listOf(arg(c, 0));
  if (!l)
    return std::nullopt;
  auto dim = constArg(c, 1, "dim");
  if (!dim)
    return std::nullopt;
  if (!l->known) {
    // A list built at run time (push_back in a loop): the list-taking op.
    Type elem = cast<kn::ListType>(l->v.getType()).getElementType();
    StringRef name = std::is_same_v<OpT, kn::StackOp>
                         ? kn::StackListOp::getOperationName()
                         : kn::ConcatListOp::getOperationName();
    return create(c, name, {l->v}, {m.tensorType(getElementTypeOrSelf(elem))},
                  {attr("dim", b.getI64IntegerAttr(*dim))});
  }
  if (l->elems.empty())
    return tape(c.at, "'" + c.name + "' of no tensors");
  Type elem = elemOf(l->elems.front());
  llvm::SmallVector<Value> xs;
  for (Value v : l->elems)
    xs.push_back(castTensor(c.loc, v, elem, c.at));
  return create(c, OpT::getOperationName(), xs, {m.tensorType(elem)},
                {attr("dim", b.getI64IntegerAttr(*dim))});
}

template <typename OpT> Result FunctionLowering::buildChunk(Call &c) {
  Value x = tensorArg(c, 0);
  if (!x)
    return std::nullopt;
  auto n = constArg(c, 1, "count");
  auto dim = n ? constArg(c, 2, "dim") : std::nullopt;
  if (!dim)
    return std::nullopt;
  x = unranked(c.loc, x);
  return create(c, OpT::getOperationName(), {x},
                {kn::ListType::get(&m.ctx, x.getType())},
                {attr("n", b.getI64IntegerAttr(*n)),
                 attr("dim", b.getI64IntegerAttr(*dim))});
}

bool FunctionLowering::shapeOperands(const Expr *e, StringRef what,
                                     llvm::SmallVectorImpl<Value> &dims) {
  e = strip(e);
  const InitListExpr *il = nullptr;
  if (const auto *ce = dyn_cast<CXXConstructExpr>(e); ce && ce->getNumArgs())
    if (const auto *sl =
            dyn_cast<CXXStdInitializerListExpr>(strip(ce->getArg(0))))
      il = dyn_cast<InitListExpr>(strip(sl->getSubExpr()));
  if (!il)
    if (const auto *sl = dyn_cast<CXXStdInitializerListExpr>(e))
      il = dyn_cast<InitListExpr>(strip(sl->getSubExpr()));
  if (!il)
    return tape(e->getExprLoc(),
                "the shape of '" + what + "' must be a braced list ({n, -1})"),
           false;
  for (const Expr *d : il->inits()) {
    Value v = scalar(d);
    if (!v)
      return false;
    dims.push_back(asI64(loc(d), v));
  }
  return true;
}

template <typename OpT> Result FunctionLowering::buildReshape(Call &c) {
  Value x = tensorArg(c, 0);
  if (!x)
    return std::nullopt;
  llvm::SmallVector<Value> dims;
  if (!shapeOperands(arg(c, 0), "reshape", dims))
    return std::nullopt;
  mlir::OperationState st(c.loc, OpT::getOperationName());
  st.addOperands(x);
  st.addOperands(dims);
  st.addTypes(m.tensorType(elemOf(x)));
  return Val(b.create(st)->getResult(0));
}

template <typename OpT> Result FunctionLowering::buildTranspose(Call &c) {
  Value x = tensorArg(c, 0);
  if (!x)
    return std::nullopt;
  auto d0 = constArg(c, 0, "first dim");
  auto d1 = d0 ? constArg(c, 1, "second dim") : std::nullopt;
  if (!d1)
    return std::nullopt;
  return create(c, OpT::getOperationName(), {x}, {m.tensorType(elemOf(x))},
                {attr("dim0", b.getI64IntegerAttr(*d0)),
                 attr("dim1", b.getI64IntegerAttr(*d1))});
}

template <typename OpT> Result FunctionLowering::buildPermute(Call &c) {
  Value x = tensorArg(c, 0);
  if (!x)
    return std::nullopt;
  auto perm = constInts(arg(c, 0), "dims", c.name);
  if (!perm)
    return std::nullopt;
  return create(c, OpT::getOperationName(), {x}, {m.tensorType(elemOf(x))},
                {attr("perm", b.getDenseI64ArrayAttr(*perm))});
}

template <typename OpT> Result FunctionLowering::buildSlice(Call &c) {
  Value x = tensorArg(c, 0);
  if (!x)
    return std::nullopt;
  auto dim = constArg(c, 0, "dim");
  if (!dim)
    return std::nullopt;
  Value begin = arg(c, 1) ? scalar(arg(c, 1)) : Value();
  Value end = begin && arg(c, 2) ? scalar(arg(c, 2)) : Value();
  if (!end)
    return stopped ? std::nullopt : tape(c.at, "'slice' needs begin and end");
  llvm::SmallVector<mlir::NamedAttribute> attrs{
      attr("dim", b.getI64IntegerAttr(*dim))};
  if (arg(c, 3)) {
    auto step = constArg(c, 3, "step");
    if (!step)
      return std::nullopt;
    if (*step != 1)
      attrs.push_back(attr("step", b.getI64IntegerAttr(*step)));
  }
  return create(c, OpT::getOperationName(),
                {x, asI64(c.loc, begin), asI64(c.loc, end)},
                {m.tensorType(elemOf(x))}, attrs);
}

template <typename OpT> Result FunctionLowering::buildSelect(Call &c) {
  Value x = tensorArg(c, 0);
  if (!x)
    return std::nullopt;
  auto dim = constArg(c, 0, "dim");
  if (!dim)
    return std::nullopt;
  Value i = arg(c, 1) ? scalar(arg(c, 1)) : Value();
  if (!i)
    return stopped ? std::nullopt : tape(c.at, "'select' needs an index");
  return create(c, OpT::getOperationName(), {x, asI64(c.loc, i)},
                {m.tensorType(elemOf(x))},
                {attr("dim", b.getI64IntegerAttr(*dim))});
}

template <typename OpT> Result FunctionLowering::buildDimOp(Call &c) {
  Value x = tensorArg(c, 0);
  if (!x)
    return std::nullopt;
  auto dim = constArg(c, 0, "dim");
  if (!dim)
    return std::nullopt;
  return create(c, OpT::getOperationName(), {x}, {m.tensorType(elemOf(x))},
                {attr("dim", b.getI64IntegerAttr(*dim))});
}

template <typename OpT> Result FunctionLowering::buildSize(Call &c) {
  Value x = tensorArg(c, 0);
  if (!x)
    return std::nullopt;
  auto dim = constArg(c, 0, "dim");
  if (!dim)
    return std::nullopt;
  return create(c, OpT::getOperationName(), {x}, {m.i64()},
                {attr("dim", b.getI64IntegerAttr(*dim))});
}

template <typename OpT> Result FunctionLowering::buildNumel(Call &c) {
  Value x = tensorArg(c, 0);
  if (!x)
    return std::nullopt;
  return create(c, OpT::getOperationName(), {x}, {m.i64()});
}

template <typename OpT> Result FunctionLowering::buildItem(Call &c) {
  Value x = tensorArg(c, 0);
  if (!x)
    return std::nullopt;
  const auto *mc = dyn_cast<CXXMemberCallExpr>(c.expr);
  const FunctionDecl *md = mc ? mc->getMethodDecl() : nullptr;
  const TemplateArgumentList *targs =
      md ? md->getTemplateSpecializationArgs() : nullptr;
  Type t = targs && targs->size() == 1 &&
                   targs->get(0).getKind() == TemplateArgument::Type
               ? m.scalarType(targs->get(0).getAsType())
               : Type();
  if (!t)
    return tape(c.at, "'item' of an unsupported type");
  // knet.item gives i64 for every integer; C++ narrows it.
  Type it = t.isInteger(1) || isFloat(t) ? t : m.i64();
  Result r = create(c, OpT::getOperationName(), {x}, {it});
  if (r && it != t)
    r->v = convertScalar(c.loc, r->v, t);
  if (r && !isFloat(t) && isFloat(elemOf(x)))
    fromFloat[r->v] = c.at;
  return r;
}

std::optional<FunctionLowering::DTypeArg>
FunctionLowering::dtypeArg(const Expr *d, StringRef what) {
  // Not given: the runtime's default.
  if (!d || isa<CXXDefaultArgExpr>(d))
    return DTypeArg{"f32", Value()};
  if (const auto *mc = dyn_cast<CXXMemberCallExpr>(strip(d))) {
    const auto *md = mc->getMethodDecl();
    if (md && md->getName() == "dtype" && isTensor(mc->getObjectType())) {
      Result r = lowerExpr(mc->getImplicitObjectArgument());
      if (!r)
        return std::nullopt;
      if (!r->v || !isTensorT(r->v.getType()))
        return tape(d->getExprLoc(),
                    "the dtype of '" + what + "' is not a tensor's"),
               std::nullopt;
      return DTypeArg{"", r->v};
    }
  }
  const auto *dr = dyn_cast<DeclRefExpr>(strip(d));
  const auto *ec = dr ? dyn_cast<EnumConstantDecl>(dr->getDecl()) : nullptr;
  if (!ec)
    return tape(d->getExprLoc(), "the dtype of '" + what +
                                     "' is neither a constant nor x.dtype()"),
           std::nullopt;
  std::string n = ec->getName().str();
  if (!dtypeElement(n))
    return tape(d->getExprLoc(),
                "dtype '" + n + "' has no element type in the IR"),
           std::nullopt;
  return DTypeArg{n, Value()};
}

template <typename OpT> Result FunctionLowering::buildCast(Call &c) {
  Value x = tensorArg(c, 0);
  if (!x)
    return std::nullopt;
  const Expr *a = arg(c, 0);
  if (!a)
    return tape(c.at, "'to' needs a dtype");
  if (!a->getType()->isEnumeralType())
    return Val(x); // to(Device): a placement the IR does not see
  std::optional<DTypeArg> d = dtypeArg(a, "to");
  if (!d)
    return std::nullopt;
  if (d->like) {
    if (isFloat(elemOf(x)) != isFloat(elemOf(d->like)))
      return tape(a->getExprLoc(),
                  "'to' between a float and an integer dtype of a tensor");
    return create(c, kn::CastLikeOp::getOperationName(), {x, d->like},
                  {m.tensorType(elemOf(d->like))});
  }
  Type e = dtypeElement(d->name);
  Result r = create(c, OpT::getOperationName(), {x}, {m.tensorType(e)},
                    {attr("dtype", b.getStringAttr(d->name))});
  if (r && !isFloat(e) && isFloat(elemOf(x)))
    fromFloat[r->v] = c.at;
  return r;
}

template <typename OpT> Result FunctionLowering::buildIdentity(Call &c) {
  Value x = tensorArg(c, 0);
  if (!x)
    return std::nullopt;
  return Val(x);
}

template <typename OpT> Result FunctionLowering::buildScalar(Call &c) {
  Value v = arg(c, 0) ? scalar(arg(c, 0)) : Value();
  if (!v)
    return stopped ? std::nullopt : tape(c.at, "'scalar' needs a value");
  checkIntegerGrad(v, c.at);
  std::optional<DTypeArg> d = dtypeArg(arg(c, 1), "scalar");
  if (!d)
    return std::nullopt;
  if (d->like) {
    // A C++ scalar (f64 carrier) converted to the tensor's dtype.
    Type e = elemOf(d->like);
    Value s = b.create<kn::ScalarOp>(c.loc, mlir::RankedTensorType::get({}, e),
                                     convertScalar(c.loc, v, e));
    return Val(b.create<kn::CastLikeOp>(c.loc, s.getType(), s, d->like));
  }
  Type e = dtypeElement(d->name);
  // A float keeps its C++ precision: the runtime narrows it to the dtype.
  Type held = !isFloat(e)            ? e
              : isFloat(v.getType()) ? v.getType()
                                     : Type(b.getF64Type());
  auto op = b.create<kn::ScalarOp>(c.loc, mlir::RankedTensorType::get({}, e),
                                   convertScalar(c.loc, v, held));
  op.setDtypeAttr(b.getStringAttr(d->name));
  return Val(op);
}

template <typename OpT> Result FunctionLowering::buildFrom(Call &c) {
  // Tensor::from<T>({constants...}, {shape...}): a dense constant.
  const FunctionDecl *fn = c.expr->getDirectCallee();
  const TemplateArgumentList *ta =
      fn ? fn->getTemplateSpecializationArgs() : nullptr;
  if (!ta || ta->size() != 1 || ta->get(0).getKind() != TemplateArgument::Type)
    return tape(c.at, "'from' without its element type");
  QualType et = ta->get(0).getAsType().getCanonicalType();
  std::string name = et->isSpecificBuiltinType(BuiltinType::Float)    ? "f32"
                     : et->isSpecificBuiltinType(BuiltinType::Double) ? "f64"
                     : et->isBooleanType()                            ? "b8"
                     : et->isIntegerType() && m.ast.getIntWidth(et) == 64
                         ? "i64"
                     : et->isIntegerType() && m.ast.getIntWidth(et) == 32 &&
                             et->isSignedIntegerType()
                         ? "i32"
                         : "";
  if (name.empty())
    return tape(c.at, "'from' of element type '" + typeName(et) + "'");
  const Expr *data = arg(c, 0);
  const InitListExpr *il = nullptr;
  for (const Expr *e = data ? strip(data) : nullptr; e && !il;) {
    if (const auto *i = dyn_cast<InitListExpr>(e))
      il = i;
    else if (const auto *sl = dyn_cast<CXXStdInitializerListExpr>(e))
      e = strip(sl->getSubExpr());
    else if (const auto *ce = dyn_cast<CXXConstructExpr>(e);
             ce && ce->getNumArgs() >= 1)
      e = strip(ce->getArg(0));
    else
      break;
  }
  if (!il)
    return tape(c.at, "'from' of data that is not a braced list of constants");
  auto shape = constInts(arg(c, 1), "shape", "from");
  if (!shape)
    return std::nullopt;
  int64_t n = 1;
  for (int64_t d : *shape)
    n *= d;
  if (n != il->getNumInits())
    return tape(c.at, "'from' of " + std::to_string(il->getNumInits()) +
                          " values for " + std::to_string(n) + " elements");
  bool isF = name == "f32" || name == "f64";
  Type held = name == "f64" ? Type(b.getF64Type()) : dtypeElement(name);
  auto type = mlir::RankedTensorType::get(*shape, held);
  llvm::SmallVector<mlir::Attribute> values;
  for (const Expr *e : il->inits()) {
    Expr::EvalResult r;
    if (!e->EvaluateAsRValue(r, m.ast) || !(r.Val.isFloat() || r.Val.isInt()))
      return tape(e->getExprLoc(), "'from' of a value that is not a constant");
    if (isF)
      values.push_back(b.getFloatAttr(
          held, r.Val.isFloat()
                    ? r.Val.getFloat().convertToDouble()
                    : static_cast<double>(r.Val.getInt().getSExtValue())));
    else
      values.push_back(b.getIntegerAttr(
          held, r.Val.isInt() ? r.Val.getInt().getSExtValue()
                              : static_cast<int64_t>(
                                    r.Val.getFloat().convertToDouble())));
  }
  Value k = b.create<OpT>(
      c.loc, type, mlir::DenseElementsAttr::get(type, llvm::ArrayRef(values)));
  // The IR's float type stands for the run's dtype: the constant becomes
  // exactly the dtype the code names (f64 data is not rounded on the way).
  auto cast = b.create<kn::CastOp>(c.loc, m.tensorType(dtypeElement(name)), k);
  cast.setDtypeAttr(b.getStringAttr(name));
  return Val(cast);
}

template <typename OpT> Result FunctionLowering::buildFull(Call &c) {
  StringRef kind = StringRef(c.name).drop_front(strlen("Tensor::"));
  llvm::SmallVector<Value> dims;
  if (!shapeOperands(arg(c, 0), kind, dims))
    return std::nullopt;
  unsigned next = 1;
  Value value;
  if (kind == "full") {
    const Expr *ve = arg(c, 1);
    Value v = ve ? scalar(ve) : Value();
    if (!v)
      return stopped ? std::nullopt : tape(c.at, "'full' needs a value");
    value = convertCxx(c.loc, v, ve->getType(), m.ast.DoubleTy);
    next = 2;
  } else {
    // empty: the contents are unspecified, zeros are one choice.
    value = b.create<mlir::arith::ConstantOp>(
        c.loc, b.getF64FloatAttr(kind == "ones" ? 1.0 : 0.0));
  }
  std::optional<DTypeArg> d = dtypeArg(arg(c, next), kind);
  if (!d)
    return std::nullopt;
  if (const Expr *e = arg(c, next + 1); e && !isa<CXXDefaultArgExpr>(e))
    return tape(e->getExprLoc(), "'" + kind +
                                     "' on a named device: a placement the "
                                     "IR does not see");
  // x.dtype(): made in f32, then converted (the IR has no dtype values).
  StringRef name = d->like ? StringRef("f32") : StringRef(d->name);
  Type e = dtypeElement(name);
  auto full =
      b.create<OpT>(c.loc, m.tensorType(e), value, dims, b.getStringAttr(name));
  if (!d->like)
    return Val(full);
  return Val(b.create<kn::CastLikeOp>(c.loc, m.tensorType(elemOf(d->like)),
                                      full, d->like));
}

//===----------------------------------------------------------------------===//
// Statements
//===----------------------------------------------------------------------===//

/// The jumps that leave a statement: a break of its own level (not of a
/// loop or switch inside it), a continue of its own level (not of a loop
/// inside it: a switch passes it on), any return. A lambda's body is its
/// own.
struct JumpsOut : RecursiveASTVisitor<JumpsOut> {
  bool brk = false, cont = false, ret = false;
  int loops = 0, switches = 0;
  explicit JumpsOut(const Stmt *s) { TraverseStmt(const_cast<Stmt *>(s)); }
  bool TraverseForStmt(ForStmt *s) { return nested(s, loops); }
  bool TraverseWhileStmt(WhileStmt *s) { return nested(s, loops); }
  bool TraverseDoStmt(DoStmt *s) { return nested(s, loops); }
  bool TraverseCXXForRangeStmt(CXXForRangeStmt *s) { return nested(s, loops); }
  bool TraverseSwitchStmt(SwitchStmt *s) { return nested(s, switches); }
  bool TraverseLambdaExpr(LambdaExpr *) { return true; }
  bool nested(Stmt *s, int &depth) {
    ++depth;
    for (Stmt *c : s->children())
      if (c)
        TraverseStmt(c);
    --depth;
    return true;
  }
  bool VisitBreakStmt(BreakStmt *) {
    brk |= loops == 0 && switches == 0;
    return true;
  }
  bool VisitContinueStmt(ContinueStmt *) {
    cont |= loops == 0;
    return true;
  }
  bool VisitReturnStmt(ReturnStmt *) {
    ret = true;
    return true;
  }
};

/// Whether `s` may leave the statement list early: a return (in flag mode),
/// or a break/continue of the innermost loop.
bool FunctionLowering::mayExit(const Stmt *s) {
  JumpsOut j(s);
  return (j.ret && fns.back().flagMode) ||
         ((j.brk || j.cont) && !fns.back().loops.empty());
}

Value FunctionLowering::notExited(Location l) {
  FnCtx &fc = fns.back();
  llvm::SmallVector<Value> flags;
  if (fc.flagMode && env.count(fc.retFlag))
    flags.push_back(env[fc.retFlag].v);
  if (!fc.loops.empty()) {
    if (const void *k = fc.loops.back().brk; k && env.count(k))
      flags.push_back(env[k].v);
    if (const void *k = fc.loops.back().cont; k && env.count(k))
      flags.push_back(env[k].v);
  }
  if (flags.empty())
    return constBool(l, true);
  Value any = flags.front();
  for (Value f : llvm::drop_begin(flags))
    any = b.create<mlir::arith::OrIOp>(l, any, f);
  return notOf(l, any);
}

bool FunctionLowering::lowerStmts(llvm::ArrayRef<const Stmt *> stmts) {
  for (size_t i = 0; i < stmts.size(); ++i) {
    const Stmt *s = stmts[i];
    if (!lowerStmt(s))
      return false;
    if (fns.back().returned)
      return true; // the rest is dead
    if (isa<ReturnStmt, BreakStmt, ContinueStmt>(s))
      return true; // the rest is dead
    if (i + 1 < stmts.size() && mayExit(s)) {
      Location l = loc(stmts[i + 1]);
      Value go = notExited(l);
      return structuredIf(
          l, go, [&] { return lowerStmts(stmts.drop_front(i + 1)); }, nullptr);
    }
  }
  return true;
}

bool FunctionLowering::lowerStmt(const Stmt *s) {
  if (stopped)
    return false;
  if (const auto *cs = dyn_cast<CompoundStmt>(s)) {
    Scope scope(*this);
    llvm::SmallVector<const Stmt *> list(cs->body().begin(), cs->body().end());
    return lowerStmts(list);
  }
  if (const auto *ds = dyn_cast<DeclStmt>(s)) {
    for (const Decl *d : ds->decls()) {
      if (const auto *vd = dyn_cast<VarDecl>(d)) {
        if (!lowerDecl(vd))
          return false;
      } else if (!isa<TypedefNameDecl, UsingDecl, StaticAssertDecl>(d)) {
        return tape(d->getLocation(), "unsupported local declaration"), false;
      }
    }
    return true;
  }
  if (const auto *r = dyn_cast<ReturnStmt>(s))
    return lowerReturn(r);
  if (const auto *i = dyn_cast<IfStmt>(s))
    return lowerIf(i);
  if (const auto *w = dyn_cast<WhileStmt>(s)) {
    if (w->getConditionVariable())
      return tape(w->getBeginLoc(), "a declaration in a while condition"),
             false;
    return lowerWhile(w, w->getCond(), w->getBody(), nullptr, false);
  }
  if (const auto *d = dyn_cast<DoStmt>(s))
    return lowerWhile(d, d->getCond(), d->getBody(), nullptr, true);
  if (const auto *f = dyn_cast<ForStmt>(s))
    return lowerFor(f);
  if (const auto *rf = dyn_cast<CXXForRangeStmt>(s))
    return lowerRangeFor(rf);
  if (isa<BreakStmt>(s) || isa<ContinueStmt>(s)) {
    FnCtx &fc = fns.back();
    if (fc.loops.empty())
      return tape(s->getBeginLoc(), "break outside a loop"), false;
    const void *k =
        isa<BreakStmt>(s) ? fc.loops.back().brk : fc.loops.back().cont;
    if (!k)
      return tape(s->getBeginLoc(), "unsupported jump"), false;
    env[k] = Val(constBool(loc(s), true));
    return true;
  }
  if (isa<NullStmt>(s))
    return true;
  // [[fallthrough]], [[likely]]: the statement they mark.
  if (const auto *as = dyn_cast<AttributedStmt>(s))
    return lowerStmt(as->getSubStmt());
  if (const auto *sw = dyn_cast<SwitchStmt>(s))
    return lowerSwitch(sw);
  if (isa<GotoStmt, LabelStmt, IndirectGotoStmt>(s))
    return tape(s->getBeginLoc(), "goto"), false;
  if (isa<CXXTryStmt>(s))
    return tape(s->getBeginLoc(), "try/catch"), false;
  if (const auto *e = dyn_cast<Expr>(s))
    return lowerExpr(e).has_value();
  return tape(s->getBeginLoc(), llvm::Twine("unsupported statement (") +
                                    s->getStmtClassName() + ")"),
         false;
}

/// switch: each case label sets an `active` flag (the value matched here
/// or at a label before it: fallthrough), `default` matches when no case
/// does, and the statements between labels run under `active` and no
/// break. A break sets the switch's flag, a continue the enclosing loop's.
bool FunctionLowering::lowerSwitch(const SwitchStmt *s) {
  if (s->getConditionVariable())
    return tape(s->getBeginLoc(), "a declaration in a switch condition"), false;
  Scope scope(*this);
  if (const Stmt *init = s->getInit())
    if (!lowerStmt(init))
      return false;
  const Expr *ce = s->getCond();
  Value v = scalar(ce);
  if (!v)
    return false;
  Location l = loc(s);
  // The labels and statements of the body, in order.
  struct Item {
    const Stmt *stmt = nullptr;  // a statement, or
    const Expr *value = nullptr; // case value,
    bool isDefault = false;      // or default
  };
  llvm::SmallVector<Item> items;
  std::function<bool(const Stmt *)> add = [&](const Stmt *st) {
    if (const auto *cs = dyn_cast<CaseStmt>(st)) {
      if (cs->caseStmtIsGNURange())
        return tape(cs->getBeginLoc(), "a case range"), false;
      items.push_back({nullptr, cs->getLHS(), false});
      return add(cs->getSubStmt());
    }
    if (const auto *ds = dyn_cast<DefaultStmt>(st)) {
      items.push_back({nullptr, nullptr, true});
      return add(ds->getSubStmt());
    }
    if (isa<DeclStmt>(st))
      return tape(st->getBeginLoc(),
                  "a declaration between case labels (put it in braces)"),
             false;
    items.push_back({st, nullptr, false});
    return true;
  };
  const Stmt *body = s->getBody();
  if (const auto *cs = dyn_cast<CompoundStmt>(body)) {
    for (const Stmt *st : cs->body())
      if (!add(st))
        return false;
  } else if (!add(body)) {
    return false;
  }
  // Case values as constants of the condition's type.
  Type vt = v.getType();
  llvm::SmallVector<Value> matches;
  llvm::DenseMap<const Expr *, Value> matchOf;
  for (const Item &it : items) {
    if (!it.value)
      continue;
    Expr::EvalResult r;
    if (!it.value->EvaluateAsInt(r, m.ast))
      return tape(it.value->getExprLoc(),
                  "a case value that is not a constant"),
             false;
    Value c = constInt(l, vt, r.Val.getInt().getSExtValue());
    Value eq = b.create<mlir::arith::CmpIOp>(
        loc(it.value), mlir::arith::CmpIPredicate::eq, v, c);
    matches.push_back(eq);
    matchOf[it.value] = eq;
  }
  FnCtx &fc = fns.back();
  LoopCtx lc;
  lc.brk = newKey();
  env[lc.brk] = Val(constBool(l, false));
  if (!fc.loops.empty())
    lc.cont = fc.loops.back().cont;
  const void *active = newKey();
  env[active] = Val(constBool(l, false));
  fc.loops.push_back(lc);
  auto popLoop = llvm::make_scope_exit([&] { fns.back().loops.pop_back(); });
  for (size_t i = 0; i < items.size();) {
    const Item &it = items[i];
    if (!it.stmt) {
      Value match;
      if (it.isDefault) {
        Value any = constBool(l, false);
        for (Value mv : matches)
          any = b.create<mlir::arith::OrIOp>(l, any, mv);
        match = notOf(l, any);
      } else {
        match = matchOf[it.value];
      }
      env[active] = Val(b.create<mlir::arith::OrIOp>(l, env[active].v, match));
      ++i;
      continue;
    }
    // The statements up to the next label.
    llvm::SmallVector<const Stmt *> run;
    for (; i < items.size() && items[i].stmt; ++i)
      run.push_back(items[i].stmt);
    Location rl = loc(run.front());
    Value go = b.create<mlir::arith::AndIOp>(rl, env[active].v, notExited(rl));
    if (!structuredIf(
            rl, go, [&] { return lowerStmts(run); }, nullptr))
      return false;
  }
  return true;
}

bool FunctionLowering::lowerDecl(const VarDecl *vd) {
  if (vd->isStaticLocal())
    return tape(vd->getLocation(),
                "static local variable '" + vd->getNameAsString() + "'"),
           false;
  QualType t = vd->getType();
  Location l = loc(vd->getLocation());
  // References bind to what they refer to.
  if (t->isReferenceType() && vd->getInit()) {
    const Expr *init = strip(vd->getInit());
    if (const auto *dr = dyn_cast<DeclRefExpr>(init))
      if (isa<VarDecl>(dr->getDecl()) && env.count(resolve(dr->getDecl()))) {
        aliases[vd] = resolve(dr->getDecl());
        return true;
      }
  }
  if (!vd->getInit()) {
    // Default-initialized: a placeholder (reading it is the user's bug).
    Result p = placeholderVal(l, t, vd->getLocation());
    if (!p)
      return false;
    env[vd] = *p;
    return true;
  }
  llvm::SmallVector<Type> types;
  std::string why;
  const auto *rd = t->getAsCXXRecordDecl();
  if (!(rd && rd->isLambda()) && !m.flattenType(t, types, why))
    return tape(vd->getLocation(),
                "local '" + vd->getNameAsString() + "': " + why),
           false;
  Result v = lowerExpr(vd->getInit());
  if (!v)
    return false;
  v->v = convertCxx(l, v->v, vd->getInit()->getType(), t);
  env[vd] = *v;
  // auto [a, b] = ...: each name is an element (pair, tuple, struct).
  if (const auto *dd = dyn_cast<DecompositionDecl>(vd)) {
    if (!v->isStruct() || v->fields.size() != dd->bindings().size())
      return tape(vd->getLocation(), "a structured binding of a value that "
                                     "is not a pair, tuple or struct"),
             false;
    for (auto [i, bd] : llvm::enumerate(dd->bindings()))
      env[bd] = v->fields[i];
  }
  return true;
}

bool FunctionLowering::lowerReturn(const ReturnStmt *r) {
  FnCtx &fc = fns.back();
  Val v;
  if (const Expr *e = r->getRetValue()) {
    Result x = lowerExpr(e);
    if (!x)
      return false;
    v = *x;
    v.v = convertCxx(loc(r), v.v, e->getType(), fc.fn->getReturnType());
  }
  if (!fc.flagMode) {
    fc.simpleRet = v;
    fc.returned = true;
    return true;
  }
  if (fc.retVal) {
    // Keep the slot's types.
    llvm::SmallVector<Value> have, want;
    leaves(env[fc.retVal], want);
    leaves(v, have);
    if (have.size() != want.size())
      return tape(r->getBeginLoc(), "unsupported return value"), false;
    for (size_t i = 0; i < have.size(); ++i)
      have[i] = coerce(loc(r), have[i], want[i].getType());
    llvm::ArrayRef<Value> it = have;
    env[fc.retVal] = rebuild(env[fc.retVal], it);
  }
  env[fc.retFlag] = Val(constBool(loc(r), true));
  return true;
}

bool FunctionLowering::structuredIf(Location l, Value cond,
                                    llvm::function_ref<bool()> thenBody,
                                    llvm::function_ref<bool()> elseBody) {
  Env before = env;
  auto ifOp = b.create<mlir::scf::IfOp>(l, mlir::TypeRange{}, cond,
                                        /*withElseRegion=*/true);
  mlir::OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(ifOp.thenBlock()->getTerminator());
  bool ok;
  {
    Scope scope(*this);
    ok = thenBody();
  }
  if (!ok)
    return false;
  Env thenEnv = env;
  env = before;
  b.setInsertionPoint(ifOp.elseBlock()->getTerminator());
  if (elseBody) {
    Scope scope(*this);
    ok = elseBody();
  }
  if (!ok)
    return false;
  Env elseEnv = env;
  env = before;
  // The variables either branch changed.
  llvm::SmallVector<const void *> keys;
  for (auto &kv : before) {
    auto t = thenEnv.find(kv.first), e = elseEnv.find(kv.first);
    bool changed = (t != thenEnv.end() && !sameLeaves(t->second, kv.second)) ||
                   (e != elseEnv.end() && !sameLeaves(e->second, kv.second));
    if (changed)
      keys.push_back(kv.first);
  }
  if (keys.empty()) {
    if (ifOp.elseBlock()->getOperations().size() == 1)
      ifOp.getElseRegion().front().erase();
    b.setInsertionPointAfter(ifOp);
    return true;
  }
  llvm::SmallVector<Value> thenVals, elseVals;
  for (const void *k : keys) {
    leaves(thenEnv.count(k) ? thenEnv[k] : before[k], thenVals);
    leaves(elseEnv.count(k) ? elseEnv[k] : before[k], elseVals);
  }
  llvm::SmallVector<Type> types;
  for (size_t i = 0; i < thenVals.size(); ++i) {
    Type a = thenVals[i].getType(), c = elseVals[i].getType();
    if (a == c)
      types.push_back(a);
    else if (isTensorT(a) && isTensorT(c))
      types.push_back(m.tensorType(cast<mlir::TensorType>(a).getElementType()));
    else
      types.push_back(a);
  }
  auto yieldIn = [&](mlir::Block *block, llvm::SmallVectorImpl<Value> &vals) {
    b.setInsertionPoint(block->getTerminator());
    for (size_t i = 0; i < vals.size(); ++i)
      vals[i] = coerce(l, vals[i], types[i]);
    mlir::Operation *term = block->getTerminator();
    b.create<mlir::scf::YieldOp>(term->getLoc(), vals);
    term->erase();
  };
  yieldIn(ifOp.thenBlock(), thenVals);
  yieldIn(ifOp.elseBlock(), elseVals);
  b.setInsertionPoint(ifOp);
  auto newIf = b.create<mlir::scf::IfOp>(l, types, cond, false, false);
  newIf.getThenRegion().takeBody(ifOp.getThenRegion());
  newIf.getElseRegion().takeBody(ifOp.getElseRegion());
  ifOp.erase();
  llvm::SmallVector<Value> results(newIf.getResults());
  llvm::ArrayRef<Value> rit = results;
  for (const void *k : keys)
    env[k] = rebuild(before[k], rit);
  b.setInsertionPointAfter(newIf);
  return true;
}

bool FunctionLowering::lowerIf(const IfStmt *s) {
  if (s->getConditionVariable() || s->getInit())
    return tape(s->getBeginLoc(), "a declaration in an if condition"), false;
  if (s->isConsteval())
    return tape(s->getBeginLoc(), "if consteval"), false;
  if (s->isConstexpr()) {
    bool v;
    if (!s->getCond()->EvaluateAsBooleanCondition(v, m.ast))
      return tape(s->getBeginLoc(), "if constexpr condition"), false;
    const Stmt *taken = v ? s->getThen() : s->getElse();
    return taken ? lowerStmt(taken) : true;
  }
  Value c = scalar(s->getCond());
  if (!c)
    return false;
  Location l = loc(s);
  c = convertScalar(l, c, m.i1());
  const Stmt *elseS = s->getElse();
  return structuredIf(
      l, c, [&] { return lowerStmt(s->getThen()); },
      elseS ? llvm::function_ref<bool()>([&] { return lowerStmt(elseS); })
            : llvm::function_ref<bool()>());
}

/// The variables (keys) a statement may assign.
void FunctionLowering::assignedIn(const Stmt *s,
                                  llvm::SmallPtrSetImpl<const void *> &keys) {
  struct Finder : RecursiveASTVisitor<Finder> {
    llvm::SmallPtrSetImpl<const void *> *keys;
    FunctionLowering *self;
    void target(const Expr *e) {
      e = strip(e);
      while (true) {
        if (const auto *me = dyn_cast<MemberExpr>(e)) {
          e = strip(me->getBase());
          continue;
        }
        if (const auto *oc = dyn_cast<CXXOperatorCallExpr>(e);
            oc && oc->getOperator() == OO_Subscript) {
          e = strip(oc->getArg(0));
          continue;
        }
        break;
      }
      if (const auto *dr = dyn_cast<DeclRefExpr>(e))
        keys->insert(self->resolve(dr->getDecl()));
      else if (isa<CXXThisExpr>(e) && self->fns.back().thisKey)
        keys->insert(self->resolve(self->fns.back().thisKey));
    }
    bool VisitBinaryOperator(BinaryOperator *bo) {
      if (bo->isAssignmentOp())
        target(bo->getLHS());
      return true;
    }
    bool VisitUnaryOperator(UnaryOperator *uo) {
      if (uo->isIncrementDecrementOp())
        target(uo->getSubExpr());
      return true;
    }
    llvm::SmallPtrSet<const Stmt *, 4> lambdaBodies;
    bool VisitCallExpr(CallExpr *c) {
      const FunctionDecl *fn = c->getDirectCallee();
      if (!fn)
        return true;
      // A lambda writes the variables it captures by reference where it
      // is called.
      if (const auto *md = dyn_cast<CXXMethodDecl>(fn);
          md && md->getParent()->isLambda() && md->getDefinition() &&
          md->getDefinition()->getBody() &&
          lambdaBodies.insert(md->getDefinition()->getBody()).second)
        TraverseStmt(md->getDefinition()->getBody());
      unsigned first = 0;
      if (const auto *oc = dyn_cast<CXXOperatorCallExpr>(c)) {
        if (isa<CXXMethodDecl>(fn)) {
          first = 1;
          if (!cast<CXXMethodDecl>(fn)->isConst())
            target(oc->getArg(0));
        }
      }
      if (const auto *mc = dyn_cast<CXXMemberCallExpr>(c))
        if (mc->getMethodDecl() && !mc->getMethodDecl()->isConst() &&
            mc->getImplicitObjectArgument())
          target(mc->getImplicitObjectArgument());
      for (unsigned i = first; i < c->getNumArgs(); ++i) {
        unsigned p = i - first;
        if (p < fn->getNumParams()) {
          QualType pt = fn->getParamDecl(p)->getType();
          if (pt->isReferenceType() &&
              !pt.getNonReferenceType().isConstQualified())
            target(c->getArg(i));
        }
      }
      return true;
    }
  } f;
  f.keys = &keys;
  f.self = this;
  f.TraverseStmt(const_cast<Stmt *>(s));
}

/// Lowers a loop region: binds `keys` to the block's arguments, runs `body`
/// and collects the values to yield.
bool FunctionLowering::loopRegion(mlir::Block *block,
                                  llvm::ArrayRef<const void *> keys,
                                  const Env &outer,
                                  llvm::function_ref<bool()> body,
                                  llvm::SmallVectorImpl<Value> &yields) {
  env = outer;
  llvm::ArrayRef<Value> args(block->args_begin(), block->args_end());
  args = args.take_back([&] {
    size_t n = 0;
    for (const void *k : keys) {
      llvm::SmallVector<Value> v;
      leaves(outer.lookup(k), v);
      n += v.size();
    }
    return n;
  }());
  for (const void *k : keys)
    env[k] = rebuild(outer.lookup(k), args);
  Env bound = env;
  bool ok;
  {
    Scope scope(*this);
    ok = body();
  }
  if (!ok)
    return false;
  // Everything changed must be carried.
  for (auto &kv : bound) {
    if (llvm::is_contained(keys, kv.first))
      continue;
    auto it = env.find(kv.first);
    if (it != env.end() && !sameLeaves(it->second, kv.second))
      return tape(SourceLocation(),
                  "internal: a variable changed in a loop was not carried"),
             false;
  }
  for (const void *k : keys)
    leaves(env[k], yields);
  return true;
}

bool FunctionLowering::lowerWhile(const Stmt *loop, const Expr *cond,
                                  const Stmt *body, const Stmt *inc,
                                  bool isDo) {
  Location l = loc(loop);
  FnCtx &fc = fns.back();
  JumpsOut j(body);

  llvm::SmallPtrSet<const void *, 8> assigned;
  assignedIn(body, assigned);
  if (cond)
    assignedIn(cond, assigned);
  if (inc)
    assignedIn(inc, assigned);
  LoopCtx lc;
  if (j.brk) {
    lc.brk = newKey();
    env[lc.brk] = Val(constBool(l, false));
  }
  if (j.cont)
    lc.cont = newKey();
  llvm::SmallVector<const void *> keys;
  for (auto &kv : env)
    if (assigned.contains(kv.first) || kv.first == lc.brk ||
        (j.ret && (kv.first == fc.retFlag || kv.first == fc.retVal)))
      keys.push_back(kv.first);
  // Carried values are unranked tensors (the loop may change their shape).
  for (const void *k : keys) {
    llvm::SmallVector<Value> vs;
    leaves(env[k], vs);
    for (Value &v : vs)
      v = unranked(l, v);
    llvm::ArrayRef<Value> it = vs;
    env[k] = rebuild(env[k], it);
  }
  llvm::SmallVector<Value> inits;
  for (const void *k : keys)
    leaves(env[k], inits);
  llvm::SmallVector<Type> types;
  for (Value v : inits)
    types.push_back(v.getType());
  llvm::SmallVector<Location> locs(types.size(), l);

  Env outer = env;
  auto w = b.create<mlir::scf::WhileOp>(l, types, inits);
  mlir::Block *before = b.createBlock(&w.getBefore(), {}, types, locs);
  mlir::Block *after = b.createBlock(&w.getAfter(), {}, types, locs);
  fc.loops.push_back(lc);
  auto popLoop = llvm::make_scope_exit([&] { fns.back().loops.pop_back(); });

  auto exitFlagsOk = [&](Location cl) -> Value {
    // Not broken out of and not returned.
    llvm::SmallVector<Value> flags;
    if (lc.brk)
      flags.push_back(env[lc.brk].v);
    if (j.ret && fc.flagMode)
      flags.push_back(env[fc.retFlag].v);
    if (flags.empty())
      return {};
    Value any = flags.front();
    for (Value f : llvm::drop_begin(flags))
      any = b.create<mlir::arith::OrIOp>(cl, any, f);
    return notOf(cl, any);
  };
  auto bodyWithCont = [&]() -> bool {
    if (lc.cont)
      env[lc.cont] = Val(constBool(l, false));
    if (!lowerStmt(body))
      return false;
    if (lc.cont)
      env.erase(lc.cont);
    if (inc) {
      Value go = exitFlagsOk(loc(inc));
      if (go)
        return structuredIf(
            loc(inc), go,
            [&] { return lowerExpr(cast<Expr>(inc)).has_value(); }, nullptr);
      return lowerExpr(cast<Expr>(inc)).has_value();
    }
    return true;
  };
  auto condition = [&]() -> Value {
    Value c = scalar(cond);
    if (!c)
      return {};
    Location cl = loc(cond);
    c = convertScalar(cl, c, m.i1());
    if (Value go = exitFlagsOk(cl))
      c = b.create<mlir::arith::AndIOp>(cl, c, go);
    return c;
  };

  llvm::SmallVector<Value> condArgs, yields;
  b.setInsertionPointToEnd(before);
  Value c;
  bool ok = loopRegion(
      before, keys, outer,
      [&] {
        if (isDo && !bodyWithCont())
          return false;
        c = condition();
        return bool(c);
      },
      condArgs);
  if (!ok)
    return false;
  for (size_t i = 0; i < condArgs.size(); ++i)
    condArgs[i] = coerce(l, condArgs[i], types[i]);
  b.create<mlir::scf::ConditionOp>(l, c, condArgs);
  b.setInsertionPointToEnd(after);
  ok = loopRegion(
      after, keys, outer, [&] { return isDo ? true : bodyWithCont(); }, yields);
  if (!ok)
    return false;
  for (size_t i = 0; i < yields.size(); ++i)
    yields[i] = coerce(l, yields[i], types[i]);
  b.create<mlir::scf::YieldOp>(l, yields);
  env = outer;
  llvm::SmallVector<Value> results(w.getResults());
  llvm::ArrayRef<Value> it = results;
  for (const void *k : keys)
    env[k] = rebuild(outer.lookup(k), it);
  if (lc.brk)
    env.erase(lc.brk);
  b.setInsertionPointAfter(w);
  return true;
}

bool FunctionLowering::lowerFor(const ForStmt *s) {
  Scope scope(*this);
  if (s->getConditionVariable())
    return tape(s->getBeginLoc(), "a declaration in a for condition"), false;
  // A counted loop: for (int i = a; i < n; ++i), n invariant, no break or
  // return, i not assigned in the body -> scf.for.
  const VarDecl *iv = nullptr;
  if (const auto *ds = dyn_cast_or_null<DeclStmt>(s->getInit());
      ds && ds->isSingleDecl())
    iv = dyn_cast<VarDecl>(ds->getSingleDecl());
  auto counted = [&]() -> bool {
    if (!iv || !iv->getType()->isIntegerType() || !iv->getInit() ||
        !s->getCond() || !s->getInc())
      return false;
    const auto *cmp =
        dyn_cast<BinaryOperator>(s->getCond()->IgnoreParenImpCasts());
    if (!cmp || (cmp->getOpcode() != BO_LT && cmp->getOpcode() != BO_LE &&
                 cmp->getOpcode() != BO_NE))
      return false;
    const auto *lhs =
        dyn_cast<DeclRefExpr>(cmp->getLHS()->IgnoreParenImpCasts());
    if (!lhs || lhs->getDecl() != iv)
      return false;
    const Expr *inc = s->getInc()->IgnoreParenImpCasts();
    if (const auto *u = dyn_cast<UnaryOperator>(inc)) {
      if (!u->isIncrementOp())
        return false;
      const auto *d =
          dyn_cast<DeclRefExpr>(u->getSubExpr()->IgnoreParenImpCasts());
      if (!d || d->getDecl() != iv)
        return false;
    } else if (const auto *ca = dyn_cast<CompoundAssignOperator>(inc)) {
      const auto *d =
          dyn_cast<DeclRefExpr>(ca->getLHS()->IgnoreParenImpCasts());
      Expr::EvalResult r;
      if (ca->getOpcode() != BO_AddAssign || !d || d->getDecl() != iv ||
          !ca->getRHS()->EvaluateAsInt(r, m.ast) ||
          r.Val.getInt().getSExtValue() <= 0 || cmp->getOpcode() == BO_NE)
        return false;
    } else {
      return false;
    }
    llvm::SmallPtrSet<const void *, 8> assigned;
    assignedIn(s->getBody(), assigned);
    if (assigned.contains(iv))
      return false;
    // The bound reads nothing the body assigns.
    struct Reads : RecursiveASTVisitor<Reads> {
      llvm::SmallPtrSetImpl<const void *> *assigned;
      FunctionLowering *self;
      bool bad = false;
      bool VisitDeclRefExpr(DeclRefExpr *d) {
        bad |= assigned->contains(self->resolve(d->getDecl()));
        return true;
      }
      bool VisitCallExpr(CallExpr *c) {
        // Only size() queries and pure runtime calls in a bound.
        if (const FunctionDecl *f = c->getDirectCallee())
          bad |= !inNamespace(f, "knet") && !inNamespace(f, "std");
        return true;
      }
    } reads;
    reads.assigned = &assigned;
    reads.self = this;
    reads.TraverseStmt(const_cast<Expr *>(cmp->getRHS()));
    if (reads.bad)
      return false;
    JumpsOut j(s->getBody());
    return !j.brk && !j.ret;
  };
  if (!counted()) {
    if (s->getInit() && !lowerStmt(s->getInit()))
      return false;
    if (!s->getCond()) {
      // for (;;): a loop on true.
      return tape(s->getBeginLoc(),
                  "a for loop without a condition (write the condition)"),
             false;
    }
    return lowerWhile(s, s->getCond(), s->getBody(), s->getInc(), false);
  }
  Location l = loc(s);
  const auto *cmp = cast<BinaryOperator>(s->getCond()->IgnoreParenImpCasts());
  Value lb = scalar(iv->getInit());
  if (!lb)
    return false;
  lb = convertScalar(l, lb, m.i64(), isUnsignedInt(iv->getInit()->getType()));
  Value ub = scalar(cmp->getRHS());
  if (!ub)
    return false;
  ub = convertScalar(l, ub, m.i64(), isUnsignedInt(cmp->getRHS()->getType()));
  if (cmp->getOpcode() == BO_LE)
    ub = b.create<mlir::arith::AddIOp>(l, ub, constInt(l, m.i64(), 1),
                                       mlir::arith::IntegerOverflowFlags::nsw);
  int64_t stepV = 1;
  if (const auto *ca = dyn_cast<CompoundAssignOperator>(
          s->getInc()->IgnoreParenImpCasts())) {
    Expr::EvalResult r;
    ca->getRHS()->EvaluateAsInt(r, m.ast);
    stepV = r.Val.getInt().getSExtValue();
  }
  Value step = constInt(l, m.i64(), stepV);

  llvm::SmallPtrSet<const void *, 8> assigned;
  assignedIn(s->getBody(), assigned);
  llvm::SmallVector<const void *> keys;
  for (auto &kv : env)
    if (assigned.contains(kv.first))
      keys.push_back(kv.first);
  for (const void *k : keys) {
    llvm::SmallVector<Value> vs;
    leaves(env[k], vs);
    for (Value &v : vs)
      v = unranked(l, v);
    llvm::ArrayRef<Value> it = vs;
    env[k] = rebuild(env[k], it);
  }
  llvm::SmallVector<Value> inits;
  for (const void *k : keys)
    leaves(env[k], inits);
  llvm::SmallVector<Type> types;
  for (Value v : inits)
    types.push_back(v.getType());
  Env outer = env;
  auto forOp = b.create<mlir::scf::ForOp>(l, lb, ub, step, inits);
  mlir::Block *body = forOp.getBody();
  // The builder made a yield when there are no iter_args.
  if (!body->empty())
    body->getTerminator()->erase();
  b.setInsertionPointToEnd(body);
  LoopCtx lc;
  if (JumpsOut(s->getBody()).cont)
    lc.cont = newKey();
  fns.back().loops.push_back(lc);
  auto popLoop = llvm::make_scope_exit([&] { fns.back().loops.pop_back(); });
  llvm::SmallVector<Value> yields;
  Env withIv = outer;
  // The loop counts in i64; the variable has its C++ type.
  withIv[iv] = Val(
      convertScalar(l, forOp.getInductionVar(), m.scalarType(iv->getType())));
  bool ok = loopRegion(
      body, keys, withIv,
      [&] {
        if (lc.cont)
          env[lc.cont] = Val(constBool(l, false));
        bool r = lowerStmt(s->getBody());
        if (lc.cont)
          env.erase(lc.cont);
        return r;
      },
      yields);
  if (!ok)
    return false;
  for (size_t i = 0; i < yields.size(); ++i)
    yields[i] = coerce(l, yields[i], types[i]);
  b.create<mlir::scf::YieldOp>(l, yields);
  env = outer;
  llvm::SmallVector<Value> results(forOp.getResults());
  llvm::ArrayRef<Value> it = results;
  for (const void *k : keys)
    env[k] = rebuild(outer.lookup(k), it);
  b.setInsertionPointAfter(forOp);
  return true;
}

bool FunctionLowering::lowerRangeFor(const CXXForRangeStmt *s) {
  Scope scope(*this);
  const Expr *range = s->getRangeInit();
  if (!isTensorList(range->getType()))
    return tape(range->getExprLoc(),
                "loop over a non-tensor container ('" +
                    typeName(range->getType()) +
                    "'); only std::vector<Param> and std::vector<Tensor> "
                    "loops compile"),
           false;
  Result list = listOf(range);
  if (!list)
    return false;
  Location l = loc(s);
  Value n = b.create<kn::ListSizeOp>(l, b.getIndexType(), list->v);
  Value zero = b.create<mlir::arith::ConstantIndexOp>(l, 0);
  Value one = b.create<mlir::arith::ConstantIndexOp>(l, 1);
  const VarDecl *lv = s->getLoopVariable();
  llvm::SmallPtrSet<const void *, 8> assigned;
  assignedIn(s->getBody(), assigned);
  if (JumpsOut j(s->getBody()); j.brk || j.cont || j.ret)
    return tape(s->getBeginLoc(),
                "break, continue or return in a range-for loop (write an "
                "index loop)"),
           false;
  llvm::SmallVector<const void *> keys;
  for (auto &kv : env)
    if (assigned.contains(kv.first))
      keys.push_back(kv.first);
  for (const void *k : keys) {
    llvm::SmallVector<Value> vs;
    leaves(env[k], vs);
    for (Value &v : vs)
      v = unranked(l, v);
    llvm::ArrayRef<Value> it = vs;
    env[k] = rebuild(env[k], it);
  }
  llvm::SmallVector<Value> inits;
  for (const void *k : keys)
    leaves(env[k], inits);
  llvm::SmallVector<Type> types;
  for (Value v : inits)
    types.push_back(v.getType());
  Env outer = env;
  auto forOp = b.create<mlir::scf::ForOp>(l, zero, n, one, inits);
  mlir::Block *body = forOp.getBody();
  if (!body->empty())
    body->getTerminator()->erase();
  b.setInsertionPointToEnd(body);
  fns.back().loops.push_back(LoopCtx());
  auto popLoop = llvm::make_scope_exit([&] { fns.back().loops.pop_back(); });
  llvm::SmallVector<Value> yields;
  Value listV = list->v;
  bool ok = loopRegion(
      body, keys, outer,
      [&] {
        env[lv] = Val(b.create<kn::ListGetOp>(
            loc(lv->getLocation()),
            cast<kn::ListType>(listV.getType()).getElementType(), listV,
            forOp.getInductionVar()));
        return lowerStmt(s->getBody());
      },
      yields);
  if (!ok)
    return false;
  for (size_t i = 0; i < yields.size(); ++i)
    yields[i] = coerce(l, yields[i], types[i]);
  b.create<mlir::scf::YieldOp>(l, yields);
  env = outer;
  llvm::SmallVector<Value> results(forOp.getResults());
  llvm::ArrayRef<Value> it = results;
  for (const void *k : keys)
    env[k] = rebuild(outer.lookup(k), it);
  b.setInsertionPointAfter(forOp);
  return true;
}

//===----------------------------------------------------------------------===//
// Expressions
//===----------------------------------------------------------------------===//

Result FunctionLowering::lowerExpr(const Expr *e) {
  if (stopped)
    return std::nullopt;
  e = e->IgnoreParens();
  if (const auto *w = dyn_cast<FullExpr>(e))
    return lowerExpr(w->getSubExpr());
  if (const auto *mt = dyn_cast<MaterializeTemporaryExpr>(e))
    return lowerExpr(mt->getSubExpr());
  if (const auto *bt = dyn_cast<CXXBindTemporaryExpr>(e))
    return lowerExpr(bt->getSubExpr());
  if (const auto *da = dyn_cast<CXXDefaultArgExpr>(e))
    return lowerExpr(da->getExpr());
  if (const auto *di = dyn_cast<CXXDefaultInitExpr>(e))
    return lowerExpr(di->getExpr());
  if (const auto *c = dyn_cast<CastExpr>(e))
    return lowerCast(c);
  if (const auto *d = dyn_cast<DeclRefExpr>(e))
    return lowerDeclRef(d);
  Location l = loc(e);
  if (const auto *il = dyn_cast<IntegerLiteral>(e))
    return Val(b.create<mlir::arith::ConstantOp>(
        l, b.getIntegerAttr(m.scalarType(e->getType()), il->getValue())));
  if (const auto *cl = dyn_cast<CharacterLiteral>(e))
    return Val(constInt(l, m.scalarType(e->getType()), cl->getValue()));
  if (const auto *fl = dyn_cast<FloatingLiteral>(e))
    return Val(constFloat(l, m.scalarType(e->getType()),
                          fl->getValue().convertToDouble()));
  if (const auto *bl = dyn_cast<CXXBoolLiteralExpr>(e))
    return Val(constBool(l, bl->getValue()));
  if (const auto *bo = dyn_cast<BinaryOperator>(e))
    return lowerBinary(bo);
  if (const auto *uo = dyn_cast<UnaryOperator>(e))
    return lowerUnary(uo);
  if (const auto *co = dyn_cast<ConditionalOperator>(e))
    return lowerConditional(co);
  if (const auto *c = dyn_cast<CallExpr>(e))
    return lowerCall(c);
  if (const auto *c = dyn_cast<CXXConstructExpr>(e))
    return lowerConstruct(c);
  if (const auto *il = dyn_cast<InitListExpr>(e))
    return lowerInitList(il);
  if (const auto *me = dyn_cast<MemberExpr>(e))
    return lowerMember(me);
  if (isa<CXXThisExpr>(e)) {
    const void *k = fns.back().thisKey;
    if (!k || !env.count(resolve(k)))
      return tape(e->getExprLoc(), "'this' outside a lowered method");
    return env[resolve(k)];
  }
  if (const auto *sl = dyn_cast<CXXStdInitializerListExpr>(e)) {
    const auto *il = dyn_cast<InitListExpr>(strip(sl->getSubExpr()));
    if (!il)
      return tape(e->getExprLoc(), "unsupported initializer list");
    Val list;
    for (const Expr *x : il->inits()) {
      Value v = tensor(x);
      if (!v)
        return std::nullopt;
      list.elems.push_back(unranked(l, v, m.tensorType(m.f32())));
    }
    list.known = true;
    Type lt = kn::ListType::get(&m.ctx, m.tensorType(m.f32()));
    list.v = b.create<kn::ListMakeOp>(l, lt, list.elems);
    return list;
  }
  if (isa<UnaryExprOrTypeTraitExpr>(e)) {
    Expr::EvalResult r;
    if (e->EvaluateAsInt(r, m.ast))
      return Val(b.create<mlir::arith::ConstantOp>(
          l, b.getIntegerAttr(m.scalarType(e->getType()), r.Val.getInt())));
  }
  if (const auto *le = dyn_cast<LambdaExpr>(e))
    return lowerLambda(le);
  if (isa<ArraySubscriptExpr>(e))
    return tape(e->getExprLoc(), "pointer or array access to user data");
  if (isa<CXXNewExpr, CXXDeleteExpr>(e))
    return tape(e->getExprLoc(), "dynamic allocation (new/delete)");
  if (isa<CXXThrowExpr>(e))
    return tape(e->getExprLoc(), "throw expression");
  if (isa<StringLiteral>(e))
    return tape(e->getExprLoc(), "string value");
  return tape(e->getExprLoc(), llvm::Twine("unsupported expression (") +
                                   e->getStmtClassName() + ")");
}

Result FunctionLowering::lowerDeclRef(const DeclRefExpr *d) {
  const ValueDecl *vd = d->getDecl();
  Location l = loc(d);
  if (const auto *ec = dyn_cast<EnumConstantDecl>(vd))
    return Val(b.create<mlir::arith::ConstantOp>(
        l, b.getIntegerAttr(m.scalarType(ec->getType()), ec->getInitVal())));
  const void *k = resolve(vd);
  auto it = env.find(k);
  if (it != env.end())
    return it->second;
  if (const auto *var = dyn_cast<VarDecl>(vd)) {
    if (!var->hasLocalStorage()) {
      if (Type t = m.scalarType(var->getType())) {
        Expr::EvalResult r;
        if (var->getType().isConstQualified() && var->getInit() &&
            var->getInit()->EvaluateAsRValue(r, m.ast)) {
          if (r.Val.isInt())
            return Val(b.create<mlir::arith::ConstantOp>(
                l, b.getIntegerAttr(t, r.Val.getInt())));
          if (r.Val.isFloat())
            return Val(constFloat(l, t, r.Val.getFloat().convertToDouble()));
        }
      }
      return tape(d->getLocation(), "reads global variable '" +
                                        var->getNameAsString() +
                                        "' (pass it as an argument)");
    }
  }
  if (isa<FunctionDecl>(vd))
    return tape(d->getLocation(), "function used as a value");
  return tape(d->getLocation(), "use of '" + vd->getNameAsString() +
                                    "', which has no value here");
}

Result FunctionLowering::lowerCast(const CastExpr *c) {
  Location l = loc(c);
  const Expr *sub = c->getSubExpr();
  switch (c->getCastKind()) {
  case CK_LValueToRValue:
  case CK_NoOp:
  case CK_ConstructorConversion:
  case CK_UserDefinedConversion:
  case CK_ToVoid:
  case CK_UncheckedDerivedToBase:
  case CK_DerivedToBase:
    if (c->getCastKind() == CK_DerivedToBase ||
        c->getCastKind() == CK_UncheckedDerivedToBase)
      return tape(c->getExprLoc(), "conversion to a base class");
    return lowerExpr(sub);
  case CK_IntegralCast:
  case CK_IntegralToFloating:
  case CK_FloatingToIntegral:
  case CK_FloatingCast:
  case CK_IntegralToBoolean:
  case CK_FloatingToBoolean:
  case CK_BooleanToSignedIntegral: {
    Value v = scalar(sub);
    if (!v)
      return std::nullopt;
    Type to = m.scalarType(c->getType());
    if (!to)
      return tape(c->getExprLoc(), "unsupported conversion");
    if (isFloat(to) && !isFloat(v.getType()))
      checkIntegerGrad(v, c->getExprLoc());
    Value r = convertScalar(l, v, to, isUnsignedInt(sub->getType()),
                            isUnsignedInt(c->getType()));
    if (c->getCastKind() == CK_FloatingToIntegral)
      fromFloat[r] = c->getBeginLoc();
    else if (auto it = fromFloat.find(v); it != fromFloat.end() && !isFloat(to))
      fromFloat[r] = it->second;
    return Val(r);
  }
  case CK_ArrayToPointerDecay:
  case CK_NullToPointer:
  case CK_BitCast:
  case CK_PointerToBoolean:
  case CK_PointerToIntegral:
    return tape(c->getExprLoc(), "pointer to user data");
  case CK_FunctionToPointerDecay:
    return tape(c->getExprLoc(), "function pointer");
  default:
    return tape(c->getExprLoc(), llvm::Twine("unsupported conversion (") +
                                     c->getCastKindName() + ")");
  }
}

Value FunctionLowering::scalarBinary(Location l, BinaryOperatorKind op, Value a,
                                     Value x, SourceLocation at,
                                     QualType type) {
  using namespace mlir::arith;
  bool f = isFloat(a.getType());
  // Integer ops take the signedness of the C++ operand type. Signed
  // arithmetic at int's rank or above cannot overflow (that is undefined
  // behaviour in C++): nsw; unsigned and narrower types wrap.
  bool uns = !f && !type.isNull() && isUnsignedInt(type);
  bool wraps = uns || type.isNull() || m.ast.isPromotableIntegerType(type);
  IntegerOverflowFlags ovf =
      wraps ? IntegerOverflowFlags::none : IntegerOverflowFlags::nsw;
  if (!f && (op == BO_Shl || op == BO_Shr) && x.getType() != a.getType())
    x = convertScalar(l, x, a.getType()); // a shift's count keeps its type
  switch (op) {
  case BO_Add:
    return f ? Value(b.create<AddFOp>(l, a, x))
             : b.create<AddIOp>(l, a, x, ovf);
  case BO_Sub:
    return f ? Value(b.create<SubFOp>(l, a, x))
             : b.create<SubIOp>(l, a, x, ovf);
  case BO_Mul:
    return f ? Value(b.create<MulFOp>(l, a, x))
             : b.create<MulIOp>(l, a, x, ovf);
  case BO_Div:
    if (f)
      return b.create<DivFOp>(l, a, x);
    return uns ? Value(b.create<DivUIOp>(l, a, x)) : b.create<DivSIOp>(l, a, x);
  case BO_Rem:
    if (f)
      return b.create<RemFOp>(l, a, x);
    return uns ? Value(b.create<RemUIOp>(l, a, x)) : b.create<RemSIOp>(l, a, x);
  case BO_And:
  case BO_LAnd:
    return b.create<AndIOp>(l, a, x);
  case BO_Or:
  case BO_LOr:
    return b.create<OrIOp>(l, a, x);
  case BO_Xor:
    return b.create<XOrIOp>(l, a, x);
  case BO_Shl:
    return b.create<ShLIOp>(l, a, x);
  case BO_Shr:
    return uns ? Value(b.create<ShRUIOp>(l, a, x)) : b.create<ShRSIOp>(l, a, x);
  case BO_LT:
  case BO_GT:
  case BO_LE:
  case BO_GE:
  case BO_EQ:
  case BO_NE: {
    if (f) {
      CmpFPredicate p = op == BO_LT   ? CmpFPredicate::OLT
                        : op == BO_GT ? CmpFPredicate::OGT
                        : op == BO_LE ? CmpFPredicate::OLE
                        : op == BO_GE ? CmpFPredicate::OGE
                        : op == BO_EQ ? CmpFPredicate::OEQ
                                      : CmpFPredicate::UNE;
      return b.create<CmpFOp>(l, p, a, x);
    }
    using P = CmpIPredicate;
    P p = op == BO_LT   ? (uns ? P::ult : P::slt)
          : op == BO_GT ? (uns ? P::ugt : P::sgt)
          : op == BO_LE ? (uns ? P::ule : P::sle)
          : op == BO_GE ? (uns ? P::uge : P::sge)
          : op == BO_EQ ? P::eq
                        : P::ne;
    return b.create<CmpIOp>(l, p, a, x);
  }
  default:
    tape(at, "unsupported operator");
    return {};
  }
}

Result FunctionLowering::lowerBinary(const BinaryOperator *bo) {
  Location l = m.loc(bo->getOperatorLoc());
  BinaryOperatorKind op = bo->getOpcode();
  if (op == BO_Comma) {
    if (!lowerExpr(bo->getLHS()))
      return std::nullopt;
    return lowerExpr(bo->getRHS());
  }
  if (op == BO_Assign) {
    Result v = lowerExpr(bo->getRHS());
    if (!v)
      return std::nullopt;
    v->v =
        convertCxx(l, v->v, bo->getRHS()->getType(), bo->getLHS()->getType());
    return assign(bo->getLHS(), *v, bo->getOperatorLoc());
  }
  if (const auto *ca = dyn_cast<CompoundAssignOperator>(bo)) {
    Value cur = scalar(ca->getLHS());
    Value rhs = cur ? scalar(ca->getRHS()) : Value();
    if (!rhs)
      return std::nullopt;
    QualType compute = ca->getComputationLHSType();
    QualType lhsType = ca->getLHS()->getType();
    Value a = convertCxx(l, cur, lhsType, compute);
    Value x = convertCxx(l, rhs, ca->getRHS()->getType(), compute);
    Value r = scalarBinary(l, BinaryOperator::getOpForCompoundAssignment(op), a,
                           x, bo->getOperatorLoc(), compute);
    if (!r)
      return std::nullopt;
    r = convertCxx(l, r, ca->getComputationResultType(), lhsType);
    return assign(ca->getLHS(), Val(r), bo->getOperatorLoc());
  }
  if (bo->getLHS()->getType()->isPointerType() ||
      bo->getRHS()->getType()->isPointerType())
    return tape(bo->getOperatorLoc(), "pointer arithmetic on user data");
  Value a = scalar(bo->getLHS());
  Value x = a ? scalar(bo->getRHS()) : Value();
  if (!x)
    return std::nullopt;
  if (op == BO_LAnd || op == BO_LOr) {
    a = convertScalar(l, a, m.i1());
    x = convertScalar(l, x, m.i1());
  }
  Value r =
      scalarBinary(l, op, a, x, bo->getOperatorLoc(), bo->getLHS()->getType());
  if (!r)
    return std::nullopt;
  return Val(r);
}

Result FunctionLowering::lowerUnary(const UnaryOperator *uo) {
  Location l = loc(uo);
  switch (uo->getOpcode()) {
  case UO_Plus:
    return lowerExpr(uo->getSubExpr());
  case UO_Minus: {
    Value v = scalar(uo->getSubExpr());
    if (!v)
      return std::nullopt;
    if (auto c = v.getDefiningOp<mlir::arith::ConstantOp>()) {
      if (auto f = dyn_cast<mlir::FloatAttr>(c.getValue()))
        return Val(constFloat(l, v.getType(), -f.getValueAsDouble()));
      if (auto i = dyn_cast<mlir::IntegerAttr>(c.getValue());
          i && !v.getType().isInteger(1))
        return Val(b.create<mlir::arith::ConstantOp>(
            l, b.getIntegerAttr(v.getType(), -i.getValue())));
    }
    if (isFloat(v.getType()))
      return Val(b.create<mlir::arith::NegFOp>(l, v));
    return Val(scalarBinary(l, BO_Sub, constInt(l, v.getType(), 0), v,
                            uo->getOperatorLoc(), uo->getType()));
  }
  case UO_LNot: {
    Value v = scalar(uo->getSubExpr());
    if (!v)
      return std::nullopt;
    return Val(notOf(l, convertScalar(l, v, m.i1())));
  }
  case UO_Not: {
    Value v = scalar(uo->getSubExpr());
    if (!v)
      return std::nullopt;
    return Val(
        b.create<mlir::arith::XOrIOp>(l, v, constInt(l, v.getType(), -1)));
  }
  case UO_PreInc:
  case UO_PreDec:
  case UO_PostInc:
  case UO_PostDec: {
    Value v = scalar(uo->getSubExpr());
    if (!v)
      return std::nullopt;
    bool inc = uo->isIncrementOp();
    Value one = isFloat(v.getType()) ? constFloat(l, v.getType(), 1)
                                     : constInt(l, v.getType(), 1);
    Value n = scalarBinary(l, inc ? BO_Add : BO_Sub, v, one,
                           uo->getOperatorLoc(), uo->getSubExpr()->getType());
    if (!assign(uo->getSubExpr(), Val(n), uo->getOperatorLoc()))
      return std::nullopt;
    return Val(uo->isPrefix() ? n : v);
  }
  case UO_AddrOf:
  case UO_Deref:
    return tape(uo->getOperatorLoc(), "pointer to user data");
  default:
    return tape(uo->getOperatorLoc(), "unsupported unary operator");
  }
}

Result FunctionLowering::lowerConditional(const ConditionalOperator *co) {
  Location l = loc(co);
  Value c = scalar(co->getCond());
  if (!c)
    return std::nullopt;
  c = convertScalar(l, c, m.i1());
  // The result goes through a synthetic variable.
  const void *k = newKey();
  Result init =
      placeholderVal(l, co->getType(), co->getExprLoc(), /*undefined=*/false);
  if (!init)
    return std::nullopt;
  env[k] = *init;
  auto branch = [&](const Expr *x) {
    return [this, x, k, l, co]() -> bool {
      Result v = lowerExpr(x);
      if (!v)
        return false;
      v->v = convertCxx(l, v->v, x->getType(), co->getType());
      env[k] = *v;
      return true;
    };
  };
  auto t = branch(co->getTrueExpr()), f = branch(co->getFalseExpr());
  if (!structuredIf(l, c, t, f))
    return std::nullopt;
  Val r = env[k];
  env.erase(k);
  return r;
}

Result FunctionLowering::assign(const Expr *lhs, Val v, SourceLocation at) {
  const Expr *e = strip(lhs);
  // Path of fields from a variable.
  llvm::SmallVector<unsigned> path;
  while (const auto *me = dyn_cast<MemberExpr>(e)) {
    const auto *fd = dyn_cast<FieldDecl>(me->getMemberDecl());
    if (!fd)
      return tape(at, "assignment to an unsupported member");
    path.push_back(fd->getFieldIndex());
    e = strip(me->getBase());
  }
  const void *k = nullptr;
  if (const auto *dr = dyn_cast<DeclRefExpr>(e))
    k = resolve(dr->getDecl());
  else if (isa<CXXThisExpr>(e) && fns.back().thisKey)
    k = resolve(fns.back().thisKey);
  if (!k || !env.count(k)) {
    // v[i] = x (and v.at(i) = x) on a list: a new list, assigned to v.
    const Expr *base = nullptr, *index = nullptr;
    if (const auto *oc = dyn_cast<CXXOperatorCallExpr>(e);
        oc && oc->getOperator() == OO_Subscript && oc->getNumArgs() == 2) {
      base = oc->getArg(0);
      index = oc->getArg(1);
    } else if (const auto *mc = dyn_cast<CXXMemberCallExpr>(e);
               mc && mc->getMethodDecl() &&
               mc->getMethodDecl()->getName() == "at" &&
               mc->getNumArgs() == 1) {
      base = mc->getImplicitObjectArgument();
      index = mc->getArg(0);
    }
    if (base && path.empty() && isTensorList(base->getType())) {
      Result list = listOf(base);
      Value i = list ? scalar(index) : Value();
      if (!i)
        return std::nullopt;
      Location l = loc(e);
      Type t = list->v.getType();
      Type elem = cast<kn::ListType>(t).getElementType();
      if (!v.v || !isTensorT(v.v.getType()) ||
          elemOf(v.v) != getElementTypeOrSelf(elem))
        return tape(at, "assignment of a value that is not a tensor of the "
                        "list's element type to a std::vector element");
      Value idx = convertScalar(l, asI64(l, i), b.getIndexType());
      Value next =
          b.create<kn::ListSetOp>(l, t, list->v, idx, unranked(l, v.v, elem));
      if (!assign(base, Val(next), at))
        return std::nullopt;
      return v;
    }
    return tape(at, "assignment to something that is not a local variable");
  }
  Val *slot = &env[k];
  for (unsigned i : llvm::reverse(path)) {
    if (!slot->isStruct() || i >= slot->fields.size())
      return tape(at, "assignment to an unsupported member");
    slot = &slot->fields[i];
  }
  // Keep scalar types; tensors may change (rebinding).
  *slot = v;
  return v;
}

Result FunctionLowering::lowerMember(const MemberExpr *me) {
  const auto *fd = dyn_cast<FieldDecl>(me->getMemberDecl());
  if (!fd)
    return tape(me->getMemberLoc(), "unsupported member");
  if (me->isArrow() && !isa<CXXThisExpr>(me->getBase()->IgnoreParenImpCasts()))
    return tape(me->getOperatorLoc(), "pointer to user data");
  Result base = lowerExpr(me->getBase());
  if (!base)
    return std::nullopt;
  if (!base->isStruct() || fd->getFieldIndex() >= base->fields.size())
    return tape(me->getMemberLoc(), "member '" + fd->getNameAsString() +
                                        "' of an unsupported type");
  return base->fields[fd->getFieldIndex()];
}

Result FunctionLowering::lowerInitList(const InitListExpr *il) {
  if (il->isSyntacticForm() && il->getSemanticForm())
    il = il->getSemanticForm();
  QualType t = il->getType();
  Location l = loc(il);
  if (m.scalarType(t)) {
    if (il->getNumInits() == 0)
      return placeholderVal(l, t, il->getBeginLoc());
    return lowerExpr(il->getInit(0));
  }
  if (isTensorLike(t) && il->getNumInits() == 1)
    return lowerExpr(il->getInit(0));
  // std::array<Tensor, N>{a, b}: the braces of its one C array member;
  // elements not given are undefined tensors.
  if (std::optional<int64_t> n = stdArraySize(t); n && isTensorList(t)) {
    const InitListExpr *inner = il;
    if (il->getNumInits() == 1)
      if (const auto *i = dyn_cast<InitListExpr>(strip(il->getInit(0))))
        inner = i->isSyntacticForm() && i->getSemanticForm()
                    ? i->getSemanticForm()
                    : i;
    Val list;
    list.known = true;
    Type et = m.tensorType(m.f32());
    for (int64_t k = 0; k < *n; ++k) {
      const Expr *init = k < inner->getNumInits() ? inner->getInit(k) : nullptr;
      if (init && !isa<ImplicitValueInitExpr>(init) &&
          !(isa<CXXConstructExpr>(init) &&
            cast<CXXConstructExpr>(init)->getNumArgs() == 0)) {
        Value v = tensor(init);
        if (!v)
          return std::nullopt;
        list.elems.push_back(unranked(l, v, et));
      } else {
        list.elems.push_back(b.create<kn::UndefinedOp>(l, et));
      }
    }
    list.v =
        b.create<kn::ListMakeOp>(l, kn::ListType::get(&m.ctx, et), list.elems);
    return list;
  }
  if (isUserStruct(t)) {
    Val s;
    s.record = recordOf(t);
    unsigned i = 0;
    for (const FieldDecl *f : s.record->fields()) {
      const Expr *init = i < il->getNumInits() ? il->getInit(i) : nullptr;
      ++i;
      Result v;
      if (!init || isa<ImplicitValueInitExpr>(init))
        v = placeholderVal(l, f->getType(), il->getBeginLoc());
      else
        v = lowerExpr(init);
      if (!v)
        return std::nullopt;
      if (init && !isa<ImplicitValueInitExpr>(init))
        v->v = convertCxx(l, v->v, init->getType(), f->getType());
      s.fields.push_back(*v);
    }
    return s;
  }
  return tape(il->getBeginLoc(),
              "initializer list of type '" + typeName(t) + "'");
}

Result FunctionLowering::lowerConstruct(const CXXConstructExpr *c) {
  const CXXConstructorDecl *ctor = c->getConstructor();
  QualType t = c->getType();
  Location l = loc(c);
  if (ctor->isCopyOrMoveConstructor() && c->getNumArgs() >= 1)
    return lowerExpr(c->getArg(0));
  if (auto elems = tupleElements(t)) {
    // std::pair/std::tuple from its elements (or from another pair or
    // tuple of references to them).
    if (c->getNumArgs() == 1 && tupleElements(c->getArg(0)->getType()))
      return lowerExpr(c->getArg(0));
    if (c->getNumArgs() != elems->size())
      return tape(c->getBeginLoc(), "constructor of '" + typeName(t) +
                                        "' that is not element by element");
    Val tv;
    tv.record = recordOf(t);
    for (auto [a, e] : llvm::zip(c->arguments(), *elems)) {
      Result v = lowerExpr(a);
      if (!v)
        return std::nullopt;
      v->v = convertCxx(l, v->v, a->getType(), e);
      tv.fields.push_back(*v);
    }
    return tv;
  }
  if (isTensorList(t)) {
    if (stdArraySize(t) && c->getNumArgs() == 0)
      return placeholderVal(l, t, c->getBeginLoc());
    if (c->getNumArgs() == 0) {
      Val list;
      list.known = true;
      list.v = b.create<kn::ListMakeOp>(
          l, kn::ListType::get(&m.ctx, m.tensorType(m.f32())),
          mlir::ValueRange{});
      return list;
    }
    if (c->getNumArgs() >= 1 &&
        isa<CXXStdInitializerListExpr>(strip(c->getArg(0))))
      return lowerExpr(strip(c->getArg(0)));
    // std::vector<Tensor> hs(n): n undefined tensors.
    if (c->getNumArgs() >= 1 &&
        c->getArg(0)->getType()->isIntegralOrEnumerationType() &&
        (c->getNumArgs() == 1 || isa<CXXDefaultArgExpr>(c->getArg(1)))) {
      Value n = scalar(c->getArg(0));
      if (!n)
        return std::nullopt;
      Type lt = kn::ListType::get(&m.ctx, m.tensorType(m.f32()));
      Value empty = b.create<kn::ListMakeOp>(l, lt, mlir::ValueRange{});
      return Val(b.create<kn::ListResizeOp>(
          l, lt, empty, convertScalar(l, asI64(l, n), b.getIndexType())));
    }
    return tape(c->getBeginLoc(), "unsupported std::vector constructor");
  }
  if (isTensor(t) && c->getNumArgs() == 0)
    return placeholderVal(l, t, c->getBeginLoc());
  if (isParam(t))
    return tape(c->getBeginLoc(), "creates a Param inside a compiled function");
  if (isUserStruct(t) && c->getNumArgs() == 0 && ctor->isTrivial())
    return placeholderVal(l, t, c->getBeginLoc());
  if (isUserStruct(t) && c->getNumArgs() == 0 && ctor->isDefaulted()) {
    // Default member initializers.
    Val s;
    s.record = recordOf(t);
    for (const FieldDecl *f : s.record->fields()) {
      Result v = f->hasInClassInitializer()
                     ? lowerExpr(f->getInClassInitializer())
                     : placeholderVal(l, f->getType(), c->getBeginLoc());
      if (!v)
        return std::nullopt;
      if (f->hasInClassInitializer())
        v->v = convertCxx(l, v->v, f->getInClassInitializer()->getType(),
                          f->getType());
      s.fields.push_back(*v);
    }
    return s;
  }
  if (Type s = m.scalarType(t); s && c->getNumArgs() == 1)
    return lowerExpr(c->getArg(0));
  return tape(c->getBeginLoc(), "constructor of '" + typeName(t) +
                                    "' (only aggregates and copies compile)");
}

Result FunctionLowering::lowerCall(const CallExpr *c) {
  const FunctionDecl *fn = c->getDirectCallee();
  if (!fn)
    return tape(c->getBeginLoc(),
                "call through a function pointer, functor or lambda");
  const Expr *object = nullptr;
  llvm::SmallVector<const Expr *> args;
  if (const auto *mc = dyn_cast<CXXMemberCallExpr>(c)) {
    object = mc->getImplicitObjectArgument();
    args.append(mc->arg_begin(), mc->arg_end());
  } else if (const auto *oc = dyn_cast<CXXOperatorCallExpr>(c);
             oc && isa<CXXMethodDecl>(fn)) {
    object = oc->getArg(0);
    args.append(oc->arg_begin() + 1, oc->arg_end());
  } else {
    args.append(c->arg_begin(), c->arg_end());
  }
  SourceLocation at = c->getExprLoc();
  if (const auto *oc = dyn_cast<CXXOperatorCallExpr>(c))
    at = oc->getOperatorLoc();
  else if (const auto *mc = dyn_cast<CXXMemberCallExpr>(c))
    at = mc->getExprLoc();
  else
    at = c->getBeginLoc();

  // Assignment to a class-typed variable (Tensor, struct, vector).
  if (const auto *oc = dyn_cast<CXXOperatorCallExpr>(c);
      oc && oc->getOperator() == OO_Equal && object && args.size() == 1) {
    Result v = lowerExpr(args[0]);
    if (!v)
      return std::nullopt;
    return assign(object, *v, at);
  }
  const auto *md = dyn_cast<CXXMethodDecl>(fn);
  QualType objT = object ? object->getType() : QualType();
  if (object && objT->isPointerType())
    objT = objT->getPointeeType();
  // A lambda's call operator: its body inlined with its captures.
  if (md && md->getParent()->isLambda()) {
    if (isa<CXXConversionDecl>(md) || !object)
      return tape(at, "a lambda converted to a function pointer");
    return callLambda(md, c, object, args);
  }
  // Param: value() and the conversion to const Tensor&.
  if (md && isParam(objT)) {
    if (isa<CXXConversionDecl>(md) || md->getName() == "value")
      return lowerExpr(object);
    return tape(at,
                "Param::" + md->getNameAsString() + " has no IR equivalent");
  }
  if (md && isTensor(objT) && isa<CXXConversionDecl>(md))
    return tape(at, "conversion of a Tensor");
  // std::vector<Param|Tensor>: size, indexing.
  if (md && object && isTensorList(objT)) {
    StringRef n = md->getName();
    if (const auto *oc = dyn_cast<CXXOperatorCallExpr>(c))
      n = oc->getOperator() == OO_Subscript ? "at" : "";
    Location l = loc(c);
    if (n == "size" || n == "empty") {
      Result list = listOf(object);
      if (!list)
        return std::nullopt;
      Value sz = b.create<kn::ListSizeOp>(l, b.getIndexType(), list->v);
      Value s64 = convertScalar(l, sz, m.i64());
      if (n == "size")
        return Val(s64);
      return Val(b.create<mlir::arith::CmpIOp>(
          l, mlir::arith::CmpIPredicate::eq, s64, constInt(l, m.i64(), 0)));
    }
    if (n == "at" || n == "front" || n == "back") {
      Result list = listOf(object);
      if (!list)
        return std::nullopt;
      Value idx;
      if (n == "at") {
        Value i = scalar(args[0]);
        if (!i)
          return std::nullopt;
        idx = convertScalar(l, asI64(l, i), b.getIndexType());
      } else if (n == "front") {
        idx = b.create<mlir::arith::ConstantIndexOp>(l, 0);
      } else {
        Value sz = b.create<kn::ListSizeOp>(l, b.getIndexType(), list->v);
        idx = b.create<mlir::arith::SubIOp>(
            l, sz, b.create<mlir::arith::ConstantIndexOp>(l, 1));
      }
      return Val(b.create<kn::ListGetOp>(
          l, cast<kn::ListType>(list->v.getType()).getElementType(), list->v,
          idx));
    }
    // Growing and shrinking: a new list value assigned to the variable.
    if (n == "push_back" || n == "emplace_back" || n == "pop_back" ||
        n == "clear" || n == "reserve") {
      Result list = listOf(object);
      if (!list)
        return std::nullopt;
      if (n == "reserve")
        return Val(Value());
      Type t = list->v.getType();
      Value next;
      if (n == "pop_back") {
        next = b.create<kn::ListPopOp>(l, t, list->v);
      } else if (n == "clear") {
        next = b.create<kn::ListMakeOp>(l, t, mlir::ValueRange{});
      } else {
        if (args.size() != 1)
          return tape(at, n.str() + " with " + std::to_string(args.size()) +
                              " arguments");
        Value v = tensor(args[0]);
        if (!v)
          return std::nullopt;
        Type elem = cast<kn::ListType>(t).getElementType();
        if (elemOf(v) != getElementTypeOrSelf(elem))
          return tape(args[0]->getExprLoc(),
                      n.str() + " of a tensor of another element type than "
                                "the list's");
        next = b.create<kn::ListPushOp>(l, t, list->v, unranked(l, v, elem));
      }
      Val nv(next);
      if (list->known && !(n == "pop_back" && list->elems.empty())) {
        // Still statically known: its elements, for concat and stack.
        nv.known = true;
        nv.elems = list->elems;
        if (n == "clear")
          nv.elems.clear();
        else if (n == "pop_back")
          nv.elems.pop_back();
        else
          nv.elems.push_back(next.getDefiningOp()->getOperand(1));
      }
      if (!assign(object, nv, at))
        return std::nullopt;
      return Val(Value());
    }
    // resize(n): the first elements, then undefined tensors.
    if (n == "resize" && args.size() == 1) {
      Result list = listOf(object);
      Value sz = list ? scalar(args[0]) : Value();
      if (!sz)
        return std::nullopt;
      Value next = b.create<kn::ListResizeOp>(
          l, list->v.getType(), list->v,
          convertScalar(l, asI64(l, sz), b.getIndexType()));
      if (!assign(object, Val(next), at))
        return std::nullopt;
      return Val(Value());
    }
    if (n == "insert" || n == "resize" || n == "assign" || n == "erase" ||
        n == "emplace")
      return tape(at, "changes a std::vector (" + n.str() +
                          "); compiled code grows lists with push_back");
    return tape(at, "std::vector::" + n.str() + " has no IR equivalent");
  }
  // Tensor::shape()[i] is size(i).
  if (const auto *oc = dyn_cast<CXXOperatorCallExpr>(c);
      oc && oc->getOperator() == OO_Subscript && object) {
    if (const auto *sc = dyn_cast<CXXMemberCallExpr>(strip(object));
        sc && sc->getMethodDecl() &&
        sc->getMethodDecl()->getName() == "shape" &&
        isTensorLike(sc->getImplicitObjectArgument()->getType())) {
      Expr::EvalResult r;
      if (!args[0]->EvaluateAsInt(r, m.ast))
        return tape(args[0]->getExprLoc(),
                    "shape() indexed by a value that is not a constant");
      Value x = tensor(sc->getImplicitObjectArgument());
      if (!x)
        return std::nullopt;
      return Val(b.create<kn::SizeOp>(
          loc(c), m.i64(), x,
          b.getI64IntegerAttr(r.Val.getInt().getSExtValue())));
    }
    if (!vectorElement(objT).isNull())
      return tape(at,
                  "indexing a non-tensor container ('" + typeName(objT) + "')");
  }
  // The runtime.
  std::string rn = runtimeName(fn, c->getNumArgs());
  if (!rn.empty()) {
    auto it = opTable().find(rn);
    if (it == opTable().end())
      return tape(at, "'knet::" + rn + "' has no IR op");
    Call call{c, nullptr, {}, loc(at), at, rn};
    // Methods take the object as operand 0; free functions their first arg.
    if (md) {
      call.object = object;
      call.args = args;
      if (md->isStatic())
        call.object = nullptr;
    } else {
      call.args = args;
    }
    return (this->*(it->second))(call);
  }
  if (inNamespace(fn, "std") && !md) {
    StringRef n = fn->getName();
    if (n == "make_pair" || n == "make_tuple" || n == "tie" ||
        n == "forward_as_tuple") {
      Val tv;
      tv.record = recordOf(c->getType());
      auto elems = tupleElements(c->getType());
      if (!elems || elems->size() != args.size())
        return tape(at, "std::" + n.str() + " of unsupported values");
      for (auto [a, e] : llvm::zip(args, *elems)) {
        Result v = lowerExpr(a);
        if (!v)
          return std::nullopt;
        v->v = convertCxx(loc(a), v->v, a->getType(), e);
        tv.fields.push_back(*v);
      }
      return tv;
    }
    if (n == "get" && args.size() == 1 && tupleElements(args[0]->getType())) {
      const TemplateArgumentList *ta = fn->getTemplateSpecializationArgs();
      if (!ta || ta->size() < 1 ||
          ta->get(0).getKind() != TemplateArgument::Integral)
        return tape(at, "std::get by type");
      uint64_t i = ta->get(0).getAsIntegral().getZExtValue();
      Result tv = lowerExpr(args[0]);
      if (!tv)
        return std::nullopt;
      if (!tv->isStruct() || i >= tv->fields.size())
        return tape(at, "std::get of an unsupported value");
      return tv->fields[i];
    }
  }
  if (inNamespace(fn, "std") || fn->getBuiltinID() || fn->isExternC())
    return lowerScalarMath(fn, c, args);
  if (ModuleLowering::isCompiled(fn) && !md)
    return lowerCompiledCall(fn, c, args);
  return inlineCall(fn, c, object, args);
}

Result FunctionLowering::lowerScalarMath(const FunctionDecl *fn,
                                         const CallExpr *c,
                                         llvm::ArrayRef<const Expr *> args) {
  StringRef n = fn->getName();
  n.consume_front("__builtin_");
  Location l = loc(c);
  SourceLocation at = c->getBeginLoc();
  auto fail = [&] {
    return tape(at, "calls '" + fn->getQualifiedNameAsString() +
                        "', which has no IR equivalent");
  };
  for (const Expr *a : args)
    if (!m.scalarType(a->getType()))
      return fail();
  if (!m.scalarType(c->getType()))
    return fail();
  Type rt = m.scalarType(c->getType());
  llvm::SmallVector<Value> vs;
  for (const Expr *a : args) {
    Value v = scalar(a);
    if (!v)
      return std::nullopt;
    // The argument as the function's own type (std::max<unsigned>,
    // abs(int), sqrt(double)).
    vs.push_back(convertCxx(l, v, a->getType(), c->getType()));
  }
  bool uns = isUnsignedInt(c->getType());
  if (n == "abs" || n == "fabs" || n == "labs" || n == "llabs") {
    if (vs.size() != 1)
      return fail();
    Value x = convertScalar(l, vs[0], rt);
    return Val(isFloat(rt) ? Value(b.create<mlir::math::AbsFOp>(l, x))
                           : b.create<mlir::math::AbsIOp>(l, x));
  }
  if (n == "max" || n == "min" || n == "fmax" || n == "fmin") {
    if (vs.size() != 2)
      return fail();
    Value a = convertScalar(l, vs[0], rt), x = convertScalar(l, vs[1], rt);
    bool mx = n == "max" || n == "fmax";
    if (isFloat(rt))
      return Val(mx ? Value(b.create<mlir::arith::MaximumFOp>(l, a, x))
                    : b.create<mlir::arith::MinimumFOp>(l, a, x));
    if (uns)
      return Val(mx ? Value(b.create<mlir::arith::MaxUIOp>(l, a, x))
                    : b.create<mlir::arith::MinUIOp>(l, a, x));
    return Val(mx ? Value(b.create<mlir::arith::MaxSIOp>(l, a, x))
                  : b.create<mlir::arith::MinSIOp>(l, a, x));
  }
  if (n == "pow" || n == "powf" || n == "atan2" || n == "hypot") {
    if (vs.size() != 2 || !isFloat(rt))
      return fail();
    Value a = convertScalar(l, vs[0], rt), x = convertScalar(l, vs[1], rt);
    if (n == "atan2")
      return Val(b.create<mlir::math::Atan2Op>(l, a, x));
    if (n == "hypot")
      return Val(b.create<mlir::math::SqrtOp>(
          l, b.create<mlir::arith::AddFOp>(
                 l, b.create<mlir::arith::MulFOp>(l, a, a),
                 b.create<mlir::arith::MulFOp>(l, x, x))));
    return Val(b.create<mlir::math::PowFOp>(l, a, x));
  }
  auto it = mathTable().find(n);
  if (it == mathTable().end() || vs.size() != 1 || !isFloat(rt))
    return fail();
  return Val(it->second(b, l, convertScalar(l, vs[0], rt)));
}

Result FunctionLowering::lowerCompiledCall(const FunctionDecl *fn,
                                           const CallExpr *c,
                                           llvm::ArrayRef<const Expr *> args) {
  const FunctionDecl *def = fn->getDefinition();
  if (def && (def == fs.fn || llvm::is_contained(inlineStack, def)))
    return tape(c->getBeginLoc(),
                "recursive call to '" + fn->getQualifiedNameAsString() + "'");
  if (!def)
    return tape(c->getBeginLoc(), "calls KNET_COMPILE function '" +
                                      fn->getQualifiedNameAsString() +
                                      "', whose body is not visible here");
  auto st = m.byDecl.find(def);
  if (st == m.byDecl.end())
    return tape(c->getBeginLoc(), "calls '" + fn->getQualifiedNameAsString() +
                                      "', which knetc does not lower");
  const Signature &sig = m.signatureOf(def);
  if (!sig.why.empty())
    return tape(c->getBeginLoc(), "calls '" + fn->getQualifiedNameAsString() +
                                      "', which stays on the tape");
  Location l = loc(c);
  llvm::SmallVector<Value> ops;
  for (const Expr *a : args) {
    Result v = lowerExpr(a);
    if (!v)
      return std::nullopt;
    leaves(*v, ops);
  }
  if (ops.size() != sig.inputs.size())
    return tape(c->getBeginLoc(), "call with default or variadic arguments");
  for (size_t i = 0; i < ops.size(); ++i)
    ops[i] = coerce(l, ops[i], sig.inputs[i]);
  auto call =
      b.create<mlir::func::CallOp>(l, st->second->symbol, sig.results, ops);
  fs.calls.push_back({def, c->getBeginLoc()});
  if (sig.results.empty())
    return Val();
  llvm::SmallVector<Value> rs(call.getResults());
  llvm::ArrayRef<Value> it = rs;
  Val result = fn->getReturnType()->isVoidType()
                   ? Val()
                   : shapeVal(fn->getReturnType(), it);
  // Tensor& arguments get the callee's final values.
  for (const ParmVarDecl *p : sig.inout) {
    unsigned i = p->getFunctionScopeIndex();
    if (i >= args.size() || it.empty())
      return tape(c->getBeginLoc(), "internal: in-out argument mismatch");
    if (!assign(args[i], Val(it.front()), args[i]->getExprLoc()))
      return std::nullopt;
    it = it.drop_front();
  }
  return result;
}

/// A lambda's value: the values it captures by copy, taken now. By
/// reference captures are the variables themselves when it is called.
Result FunctionLowering::lowerLambda(const LambdaExpr *le) {
  if (le->isMutable())
    return tape(le->getBeginLoc(), "a mutable lambda (state across calls)");
  Val clo;
  clo.record = le->getLambdaClass();
  clo.lambda = le;
  for (const LambdaCapture &cap : le->captures()) {
    if (!cap.capturesVariable())
      return tape(cap.getLocation(), "a lambda capturing 'this'");
    if (cap.getCaptureKind() != LCK_ByCopy)
      continue;
    const auto *cv = dyn_cast<VarDecl>(cap.getCapturedVar());
    if (!cv)
      return tape(cap.getLocation(), "an unsupported lambda capture");
    Result v;
    if (cv->isInitCapture()) {
      v = lowerExpr(cv->getInit());
      if (v)
        v->v = convertCxx(loc(cv->getLocation()), v->v,
                          cv->getInit()->getType(), cv->getType());
    } else if (env.count(resolve(cv))) {
      v = env[resolve(cv)];
    } else {
      return tape(cap.getLocation(), "a lambda capturing '" +
                                         cv->getNameAsString() +
                                         "', which is not a local");
    }
    if (!v)
      return std::nullopt;
    clo.fields.push_back(*v);
  }
  return clo;
}

Result FunctionLowering::callLambda(const CXXMethodDecl *md, const CallExpr *c,
                                    const Expr *object,
                                    llvm::ArrayRef<const Expr *> args) {
  Result clo = lowerExpr(object);
  if (!clo)
    return std::nullopt;
  if (!clo->lambda)
    return tape(c->getBeginLoc(), "a call of a lambda knetc did not see made");
  return inlineCall(md, c, object, args, &*clo);
}

Result FunctionLowering::inlineCall(const FunctionDecl *fn, const CallExpr *c,
                                    const Expr *object,
                                    llvm::ArrayRef<const Expr *> args,
                                    const Val *closure) {
  SourceLocation at = c->getBeginLoc();
  std::string name = fn->getQualifiedNameAsString();
  const FunctionDecl *def = fn->getDefinition();
  if (!def || !def->hasBody())
    return tape(at, "calls '" + name + "', whose body is not visible");
  if (def == fs.fn->getDefinition() || llvm::is_contained(inlineStack, def))
    return tape(at, "recursive call to '" + name + "'");
  if (def->isVariadic())
    return tape(at, "calls variadic function '" + name + "'");
  if (inlineStack.size() > 64)
    return tape(at, "calls nested too deeply");
  if (!m.checkErrors(def, def->getBody())) {
    stopped = true;
    fs.report.status = FunctionReport::Status::Error;
    return std::nullopt;
  }
  // Bind the arguments: values (by value or const&) or aliases (non-const
  // references to variables).
  llvm::SmallVector<std::pair<const ParmVarDecl *, Val>> binds;
  llvm::SmallVector<std::pair<const ParmVarDecl *, const void *>> refs;
  for (unsigned i = 0; i < def->getNumParams(); ++i) {
    const ParmVarDecl *p = def->getParamDecl(i);
    const Expr *a = i < args.size() ? args[i] : p->getDefaultArg();
    if (!a)
      return tape(at, "call of '" + name + "' with missing arguments");
    QualType pt = p->getType();
    if (pt->isLValueReferenceType() &&
        !pt.getNonReferenceType().isConstQualified()) {
      const auto *dr = dyn_cast<DeclRefExpr>(strip(a));
      if (!dr || !env.count(resolve(dr->getDecl())))
        return tape(a->getExprLoc(),
                    "passes something other than a local variable to the "
                    "non-const reference parameter '" +
                        p->getNameAsString() + "' of '" + name + "'");
      refs.push_back({p, resolve(dr->getDecl())});
      continue;
    }
    // A const reference to a variable of its own type is that variable
    // too: the callee sees what it writes through another (non-const)
    // reference parameter bound to the same variable, as in C++.
    if (pt->isLValueReferenceType())
      if (const auto *dr = dyn_cast<DeclRefExpr>(strip(a));
          dr && isa<VarDecl>(dr->getDecl()) &&
          env.count(resolve(dr->getDecl())) &&
          m.ast.hasSameUnqualifiedType(dr->getType(),
                                       pt.getNonReferenceType())) {
        refs.push_back({p, resolve(dr->getDecl())});
        continue;
      }
    llvm::SmallVector<Type> types;
    std::string why;
    if (!m.flattenType(pt, types, why))
      return tape(at, "calls '" + name + "': parameter '" +
                          p->getNameAsString() + "': " + why);
    Result v = lowerExpr(a);
    if (!v)
      return std::nullopt;
    v->v = convertCxx(loc(a), v->v, a->getType(), pt);
    binds.push_back({p, *v});
  }
  Val thisVal;
  const void *thisAlias = nullptr;
  if (const auto *md = dyn_cast<CXXMethodDecl>(def);
      md && !md->isStatic() && !md->getParent()->isLambda()) {
    if (!object)
      return tape(at, "method call without an object");
    if (const auto *dr = dyn_cast<DeclRefExpr>(strip(object));
        dr && env.count(resolve(dr->getDecl()))) {
      thisAlias = resolve(dr->getDecl());
    } else if (isa<CXXThisExpr>(strip(object)) && fns.back().thisKey) {
      thisAlias = resolve(fns.back().thisKey);
    } else {
      Result o = lowerExpr(object);
      if (!o)
        return std::nullopt;
      thisVal = *o;
    }
  }
  Scope scope(*this);
  for (auto &[p, v] : binds)
    env[p] = v;
  for (auto &[p, k] : refs)
    aliases[p] = k;
  const void *thisKey = nullptr;
  if (thisAlias || thisVal.isStruct()) {
    thisKey = newKey();
    if (thisAlias)
      aliases[thisKey] = thisAlias;
    else
      env[thisKey] = thisVal;
  }
  // A lambda's body reads its by-copy captures as they were when it was
  // made (the arguments above saw the variables as they are).
  llvm::SmallVector<std::pair<const void *, std::optional<Val>>> saved;
  if (closure && closure->lambda) {
    unsigned k = 0;
    for (const LambdaCapture &cap : closure->lambda->captures()) {
      if (cap.getCaptureKind() != LCK_ByCopy)
        continue;
      const void *key = resolve(cast<VarDecl>(cap.getCapturedVar()));
      saved.push_back(
          {key, env.count(key) ? std::optional<Val>(env[key]) : std::nullopt});
      env[key] = closure->fields[k++];
    }
  }
  auto restore = llvm::make_scope_exit([&] {
    for (auto &[key, v] : llvm::reverse(saved)) {
      if (v)
        env[key] = *v;
      else
        env.erase(key);
    }
  });
  inlineStack.push_back(def);
  Result r = [&]() -> Result {
    fns.emplace_back(def);
    fns.back().thisKey = thisKey;
    Result x = lowerBody(def, /*inlined=*/true);
    fns.pop_back();
    return x;
  }();
  inlineStack.pop_back();
  for (auto &[p, k] : refs)
    aliases.erase(p);
  if (thisKey)
    aliases.erase(thisKey);
  return r;
}

/// Lowers the body of `fns.back().fn`; returns its result value.
Result FunctionLowering::lowerBody(const FunctionDecl *fn, bool inlined) {
  FnCtx &fc = fns.back();
  const Stmt *body = fn->getBody();
  Location l = loc(fn->getLocation());
  // Returns nested in control flow need flags.
  bool nested = false;
  if (const auto *cs = dyn_cast<CompoundStmt>(body)) {
    for (const Stmt *s : cs->body()) {
      if (isa<ReturnStmt>(s))
        continue;
      struct Finder : RecursiveASTVisitor<Finder> {
        bool found = false;
        bool VisitReturnStmt(ReturnStmt *) {
          found = true;
          return true;
        }
        bool TraverseLambdaExpr(LambdaExpr *) { return true; }
      } f;
      f.TraverseStmt(const_cast<Stmt *>(s));
      nested |= f.found;
    }
  }
  QualType rt = fn->getReturnType();
  if (nested) {
    fc.flagMode = true;
    fc.retFlag = newKey();
    env[fc.retFlag] = Val(constBool(l, false));
    if (!rt->isVoidType()) {
      fc.retVal = newKey();
      Result p = placeholderVal(l, rt, fn->getLocation(), /*undefined=*/false);
      if (!p)
        return std::nullopt;
      env[fc.retVal] = *p;
    }
  }
  (void)inlined;
  if (!lowerStmt(body))
    return std::nullopt;
  Val result;
  if (fc.flagMode) {
    if (fc.retVal)
      result = env[fc.retVal];
    env.erase(fc.retFlag);
    if (fc.retVal)
      env.erase(fc.retVal);
  } else if (fc.simpleRet) {
    result = *fc.simpleRet;
  }
  if (!rt->isVoidType() && result.empty())
    return tape(fn->getLocation(), "'" + fn->getNameAsString() +
                                       "' returns no value on some path");
  return result;
}

bool FunctionLowering::lower() {
  const FunctionDecl *fn = fs.fn;
  const Signature &sig = m.signatureOf(fn);
  if (!sig.why.empty())
    return tape(sig.whyLoc, sig.why), false;
  if (isa<CXXMethodDecl>(fn) && !cast<CXXMethodDecl>(fn)->isStatic())
    return tape(fn->getLocation(), "member function (make it a free function "
                                   "taking the struct)"),
           false;
  if (fn->isVariadic())
    return tape(fn->getLocation(), "variadic function"), false;
  Location l = loc(fn->getLocation());
  b.setInsertionPointToEnd(m.module.getBody());
  auto ft = b.getFunctionType(sig.inputs, sig.results);
  fs.func = b.create<mlir::func::FuncOp>(l, fs.symbol, ft);
  fs.func.setAllArgAttrs(sig.argAttrs);
  mlir::Block *entry = fs.func.addEntryBlock();
  b.setInsertionPointToStart(entry);
  llvm::ArrayRef<Value> args(entry->args_begin(), entry->args_end());
  for (const ParmVarDecl *p : fn->parameters()) {
    llvm::ArrayRef<Value> before = args;
    env[p] = shapeVal(p->getType(), args);
    for (Value a : before.drop_back(args.size()))
      cast<mlir::BlockArgument>(a).setLoc(loc(p->getLocation()));
  }
  fns.reserve(256);
  fns.emplace_back(fn);
  inlineStack.push_back(fn);
  Result r = lowerBody(fn, false);
  if (!r)
    return false;
  llvm::SmallVector<Value> outs;
  leaves(*r, outs);
  // Tensor& parameters: their final values, after the results.
  unsigned own = outs.size();
  for (const ParmVarDecl *p : sig.inout)
    leaves(env.lookup(p), outs);
  for (auto [i, p] : llvm::enumerate(sig.inout))
    fs.func.setResultAttr(own + i, "knet.inout", b.getStringAttr(p->getName()));
  if (outs.size() != sig.results.size())
    return tape(fn->getLocation(), "internal: result count mismatch"), false;
  Location rl = l;
  for (size_t i = 0; i < outs.size(); ++i)
    outs[i] = coerce(rl, outs[i], sig.results[i]);
  b.create<mlir::func::ReturnOp>(rl, outs);
  return true;
}

//===----------------------------------------------------------------------===//
// The translation unit
//===----------------------------------------------------------------------===//

TranslationUnitResult ModuleLowering::run() {
  TranslationUnitResult result;
  mlir::OpBuilder b(&ctx);
  SourceLocation mainLoc = sm.getLocForStartOfFile(sm.getMainFileID());
  result.module = mlir::ModuleOp::create(loc(mainLoc));
  module = *result.module;

  // The KNET_COMPILE functions with a body, outside system headers.
  struct Finder : RecursiveASTVisitor<Finder> {
    ModuleLowering *m;
    std::vector<const FunctionDecl *> found;
    bool VisitFunctionDecl(FunctionDecl *fd) {
      if (fd->doesThisDeclarationHaveABody() && isCompiled(fd) &&
          !m->sm.isInSystemHeader(fd->getLocation()))
        found.push_back(fd);
      return true;
    }
    bool shouldVisitTemplateInstantiations() const { return false; }
  } finder;
  finder.m = this;
  finder.TraverseDecl(ast.getTranslationUnitDecl());

  llvm::StringMap<unsigned> used;
  for (const FunctionDecl *fd : finder.found) {
    auto fs = std::make_unique<FunctionState>();
    fs->fn = fd;
    std::string name = fd->getQualifiedNameAsString();
    std::string sym = name;
    if (used[name]++)
      sym += "_" + std::to_string(used[name] - 1);
    fs->symbol = sym;
    fs->report.name = name;
    fs->report.symbol = sym;
    fs->report.decl = fd;
    auto [file, line] = fileLine(fd->getLocation());
    fs->report.file = file;
    fs->report.line = line;
    byDecl[fd] = fs.get();
    functions.push_back(std::move(fs));
  }

  for (auto &fsp : functions) {
    FunctionState &fs = *fsp;
    const FunctionDecl *fd = fs.fn;
    if (fd->isDependentContext() || fd->isTemplated()) {
      fs.report.status = FunctionReport::Status::Tape;
      fs.report.reason = "function template (its instances are not lowered)";
      fs.report.reasonFile = fs.report.file;
      fs.report.reasonLine = fs.report.line;
      continue;
    }
    if (!checkErrors(fd, fd->getBody())) {
      fs.report.status = FunctionReport::Status::Error;
      continue;
    }
    bool ok = false;
    llvm::CrashRecoveryContext crc;
    bool ran = crc.RunSafely([&] {
      FunctionLowering fl(*this, fs);
      ok = fl.lower();
    });
    if (!ran) {
      fs.report.status = FunctionReport::Status::Tape;
      fs.report.reason = "internal error in knetc while lowering it";
      fs.report.reasonFile = fs.report.file;
      fs.report.reasonLine = fs.report.line;
      if (fs.func) {
        mlir::func::FuncOp half = fs.func;
        fs.func = nullptr;
        llvm::CrashRecoveryContext again;
        if (!again.RunSafely([&] { half.erase(); }))
          result.hadError = true; // the module is not trustworthy
      }
      continue;
    }
    if (ok && fs.func) {
      // An IR that does not verify is knetc's bug: keep it on the tape.
      std::string msg;
      mlir::ScopedDiagnosticHandler handler(&ctx, [&](mlir::Diagnostic &d) {
        if (msg.empty()) {
          llvm::raw_string_ostream os(msg);
          os << d.getLocation() << ": " << d.str();
        }
        return mlir::success();
      });
      if (failed(mlir::verify(fs.func))) {
        fs.report.status = FunctionReport::Status::Tape;
        fs.report.reason = "internal: the lowered IR does not verify: " + msg;
        fs.report.reasonFile = fs.report.file;
        fs.report.reasonLine = fs.report.line;
      }
    }
    if (fs.report.status != FunctionReport::Status::Compiled && fs.func) {
      fs.func.erase();
      fs.func = nullptr;
    }
  }
  // Recursion through KNET_COMPILE calls (f -> g -> f) stays on the tape.
  for (auto &fsp : functions) {
    FunctionState &fs = *fsp;
    if (fs.report.status != FunctionReport::Status::Compiled)
      continue;
    llvm::SmallPtrSet<const FunctionDecl *, 8> seen;
    llvm::SmallVector<const FunctionDecl *> work;
    for (auto &call : fs.calls)
      work.push_back(call.first);
    bool cycle = false;
    while (!work.empty() && !cycle) {
      const FunctionDecl *f = work.pop_back_val();
      if (f == fs.fn) {
        cycle = true;
        break;
      }
      if (!seen.insert(f).second)
        continue;
      if (FunctionState *cs = byDecl.lookup(f))
        for (auto &call : cs->calls)
          work.push_back(call.first);
    }
    if (!cycle)
      continue;
    fs.report.status = FunctionReport::Status::Tape;
    fs.report.reason = "recursion through '" +
                       fs.calls.front().first->getQualifiedNameAsString() + "'";
    auto [file, line] = fileLine(fs.calls.front().second);
    fs.report.reasonFile = file;
    fs.report.reasonLine = line;
    if (fs.func) {
      fs.func.erase();
      fs.func = nullptr;
    }
  }
  // Callers of functions that stay on the tape stay there too.
  for (bool changed = true; changed;) {
    changed = false;
    for (auto &fsp : functions) {
      FunctionState &fs = *fsp;
      if (fs.report.status != FunctionReport::Status::Compiled)
        continue;
      for (auto &[callee, at] : fs.calls) {
        FunctionState *cs = byDecl.lookup(callee);
        if (cs && cs->report.status == FunctionReport::Status::Compiled)
          continue;
        fs.report.status = FunctionReport::Status::Tape;
        fs.report.reason = "calls '" + callee->getQualifiedNameAsString() +
                           "', which stays on the tape";
        auto [file, line] = fileLine(at);
        fs.report.reasonFile = file;
        fs.report.reasonLine = line;
        if (fs.func) {
          fs.func.erase();
          fs.func = nullptr;
        }
        changed = true;
        break;
      }
    }
  }
  for (auto &fsp : functions) {
    result.reports.push_back(fsp->report);
    if (fsp->report.status == FunctionReport::Status::Error)
      result.hadError = true;
  }
  if (diags.hasErrorOccurred())
    result.hadError = true;
  return result;
}

} // namespace

TranslationUnitResult lowerTranslationUnit(ASTContext &ast,
                                           mlir::MLIRContext &context) {
  context.loadDialect<kn::KnetDialect, mlir::func::FuncDialect,
                      mlir::scf::SCFDialect, mlir::arith::ArithDialect,
                      mlir::math::MathDialect>();
  ModuleLowering lowering(ast, context);
  return lowering.run();
}

} // namespace knet::frontend
