//===- Lowering.cpp - Clang AST to knet IR: the translation unit ---------===//
//
// The translation unit: finds the KNET_COMPILE functions, maps their C++
// types and signatures to the IR, reports what is wrong in either mode,
// lowers each function (FunctionLowering: LowerStmt.cpp, LowerExpr.cpp,
// LowerCall.cpp, LowerOps.cpp) and keeps on the tape what calls into the
// tape. LoweringImpl.h says how the lowering works.
//
//===----------------------------------------------------------------------===//

#include "LoweringImpl.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"

#include "llvm/Support/CrashRecoveryContext.h"

#include <functional>

namespace mlir::knet::frontend {

void registerDialects(mlir::DialectRegistry &registry) {
  registry
      .insert<kn::KnetDialect, mlir::func::FuncDialect, mlir::scf::SCFDialect,
              mlir::arith::ArithDialect, mlir::math::MathDialect>();
}

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
// Signatures
//===----------------------------------------------------------------------===//

/// Whether a value of type `t` holds a batchnorm's Moments (is one, or a
/// struct with one among its fields): a non-const reference to it is in-out
/// state that the compiled ABI writes back (only the Moments: fields are
/// never assigned through it).
bool ModuleLowering::holdsMoments(QualType t) {
  llvm::SmallVector<Type> types;
  std::string why;
  return flattenType(t, types, why) &&
         llvm::any_of(types, [](Type e) { return isa<kn::MomentsType>(e); });
}

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
        holdsMoments(t.getNonReferenceType()))
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

namespace {

bool isParamValueCall(const Expr *e) {
  const auto *m = dyn_cast<CXXMemberCallExpr>(strip(e));
  return m && m->getMethodDecl() && m->getMethodDecl()->getName() == "value" &&
         isParam(m->getMethodDecl()->getThisType()->getPointeeType());
}

} // namespace

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
      // An IR that does not verify is knetc's bug (every rule that a user's
      // code can break is checked at its line while lowering): an error
      // that says so, naming the function and the op's place.
      std::string msg;
      mlir::ScopedDiagnosticHandler handler(&ctx, [&](mlir::Diagnostic &d) {
        if (msg.empty()) {
          llvm::raw_string_ostream os(msg);
          os << d.getLocation() << ": " << d.str();
        }
        return mlir::success();
      });
      if (!testInvalidIR.empty() && fs.report.name == testInvalidIR)
        fs.func.getBody().back().back().erase(); // a block with no terminator
      if (failed(mlir::verify(fs.func))) {
        fs.report.status = FunctionReport::Status::Error;
        error(fd->getLocation(),
              "internal compiler error: the IR that knetc lowered from '" +
                  fs.report.name +
                  "' does not verify (a bug in knetc, not in this code; "
                  "please report it): " +
                  msg);
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

TranslationUnitResult lowerTranslationUnit(ASTContext &ast,
                                           mlir::MLIRContext &context,
                                           llvm::StringRef testInvalidIR) {
  context.loadDialect<kn::KnetDialect, mlir::func::FuncDialect,
                      mlir::scf::SCFDialect, mlir::arith::ArithDialect,
                      mlir::math::MathDialect>();
  ModuleLowering lowering(ast, context);
  lowering.testInvalidIR = testInvalidIR;
  return lowering.run();
}

} // namespace mlir::knet::frontend
