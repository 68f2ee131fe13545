//===- LowerCall.cpp - Calls, lambdas and function bodies -----------------===//
//
// Calls: std::vector methods, the runtime (through the op table), std and
// <cmath> functions, func.call of other KNET_COMPILE functions, and the
// inlining of every other call with a visible body, lambdas included; and
// the bodies of the compiled functions themselves.
//
//===----------------------------------------------------------------------===//

#include "LoweringImpl.h"

#include "llvm/ADT/ScopeExit.h"

namespace mlir::knet::frontend {

//===----------------------------------------------------------------------===//
// Calls
//===----------------------------------------------------------------------===//

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
      if (!isa<ReturnStmt>(s))
        nested |= jumpsOut(s).returns;
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
  if (!inlined)
    topBody = body;
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

} // namespace mlir::knet::frontend
