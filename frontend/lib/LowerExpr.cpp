//===- LowerExpr.cpp - Expressions ----------------------------------------===//
//
// Expressions: literals, variables, operators, the ternary, assignment,
// members, initializer lists and constructors; and the conversions between
// C++ scalar types and tensors that all the lowering shares.
//
//===----------------------------------------------------------------------===//

#include "LoweringImpl.h"

namespace mlir::knet::frontend {

static mlir::DenseElementsAttr denseSplat(mlir::ShapedType t,
                                          mlir::Attribute a) {
  return mlir::DenseElementsAttr::get(t, llvm::ArrayRef<mlir::Attribute>(a));
}

//===----------------------------------------------------------------------===//
// Conversions
//===----------------------------------------------------------------------===//

/// Converts a scalar to another scalar type as C++ does: integers of
/// any width wrap, and the source's (`fromUnsigned`) or the
/// destination's (`toUnsigned`) signedness picks zero or sign extension
/// and the int/float conversion. The IR's integers are signless; the
/// signedness is the C++ type's, which the caller knows.
Value FunctionLowering::convertScalar(Location l, Value v, Type to,
                                      bool fromUnsigned, bool toUnsigned) {
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
Value FunctionLowering::convertConstant(Location l, mlir::Attribute attr,
                                        Type to, bool fromUnsigned,
                                        bool toUnsigned) {
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
Value FunctionLowering::convertCxx(Location l, Value v, QualType from,
                                   QualType to) {
  Type t = m.scalarType(to);
  if (!t || !v || isTensorT(v.getType()))
    return v;
  return convertScalar(l, v, t, isUnsignedInt(from), isUnsignedInt(to));
}

/// A tensor with the element type `elem` (knet.cast when different).
Value FunctionLowering::castTensor(Location l, Value v, Type elem,
                                   SourceLocation at) {
  if (elemOf(v) == elem)
    return v;
  if (isFloat(elem) && !isFloat(elemOf(v)) && fromFloat.count(v))
    return checkIntegerGrad(v, at), v;
  Value r = b.create<kn::CastOp>(l, m.tensorType(elem), v);
  return r;
}

void FunctionLowering::checkIntegerGrad(Value v, SourceLocation at) {
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
Value FunctionLowering::unranked(Location l, Value v, Type want) {
  if (!isTensorT(v.getType()))
    return v;
  Type elem = want ? cast<mlir::TensorType>(want).getElementType() : elemOf(v);
  Type t = m.tensorType(elem);
  if (v.getType() == t)
    return v;
  return b.create<kn::CastOp>(l, t, v);
}

/// Makes `v` of type `t` (joins): tensors through knet.cast, scalars
/// through arith.
Value FunctionLowering::coerce(Location l, Value v, Type t) {
  if (v.getType() == t)
    return v;
  if (isTensorT(v.getType()) && isTensorT(t))
    return b.create<kn::CastOp>(l, t, v);
  if (v.getType().isIntOrIndexOrFloat() && t.isIntOrIndexOrFloat())
    return convertScalar(l, v, t);
  return v;
}

/// A tensor from a scalar, with element type `elem` (0-d).
Value FunctionLowering::scalarTensor(Location l, Value s, Type elem) {
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
      return b.create<kn::ScalarOp>(l, t, convertScalar(l, s, b.getF64Type()));
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

/// A value of type `t` for a variable that has none yet. `undefined`:
/// what C++ default construction gives (`Tensor t;` is an undefined
/// Tensor); otherwise a zero that no path reads (the slot of an early
/// return, the result of `?:` before its branches).
Value FunctionLowering::placeholder(Location l, Type t, bool undefined) {
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

Result FunctionLowering::placeholderVal(Location l, QualType qt,
                                        SourceLocation at, bool undefined) {
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
    list.v =
        b.create<kn::ListMakeOp>(l, kn::ListType::get(&m.ctx, et), list.elems);
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
Val FunctionLowering::shapeVal(QualType qt, llvm::ArrayRef<Value> &it) {
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
//===----------------------------------------------------------------------===//
// Expressions
//===----------------------------------------------------------------------===//

Result FunctionLowering::lowerExpr(const Expr *e) {
  if (stopped)
    return std::nullopt;
  Nesting level(exprDepth);
  if (!nest(exprDepth, kMaxExprNesting, e->getExprLoc(), "expressions"))
    return std::nullopt;
  std::optional<Nesting> control;
  if (isa<AbstractConditionalOperator>(e)) {
    control.emplace(controlDepth);
    if (!nest(controlDepth, kMaxControlNesting, e->getExprLoc(),
              "conditionals and loops"))
      return std::nullopt;
  }
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
  if (isa<clang::StringLiteral>(e))
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
  if (const auto *dr = dyn_cast<DeclRefExpr>(e)) {
    // A non-const reference to a struct that holds Moments (or to Moments)
    // carries only the Moments back to the caller.
    if (const auto *pv = dyn_cast<ParmVarDecl>(dr->getDecl());
        pv && pv->getType()->isLValueReferenceType() &&
        !pv->getType().getNonReferenceType().isConstQualified() &&
        m.holdsMoments(pv->getType().getNonReferenceType()))
      return tape(at, "assignment through '" + pv->getName() +
                          "', a non-const reference whose only state "
                          "written back to the caller is its Moments "
                          "(which batchnorm updates)");
    k = resolve(dr->getDecl());
  } else if (isa<CXXThisExpr>(e) && fns.back().thisKey)
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

} // namespace mlir::knet::frontend
