//===- LowerOps.cpp - Runtime calls to knet ops ---------------------------===//
//
// The op table: RuntimeOps.def maps each knet runtime function to an op and
// a signature kind; one builder per kind (build<Kind><OpT>) checks the
// arguments, converts scalars and element types as the runtime does, and
// makes the op. The builders are templates over the op; the table below
// instantiates them, so they stay in this file.
//
//===----------------------------------------------------------------------===//

#include "LoweringImpl.h"

#include <knet/checks.h>
#include <knet/ops/conv.h>
#include <knet/ops/norm.h>

namespace mlir::knet::frontend {

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

// x, then compile-time constants, each the op's F64 attribute of the same
// name as the runtime function's parameter: hardtanh(x, lo, hi). C++
// default arguments count.
template <typename OpT> Result FunctionLowering::buildUnaryAttrs(Call &c) {
  Value x = tensorArg(c, 0);
  if (!x)
    return std::nullopt;
  if (!isFloat(elemOf(x)))
    x = castTensor(c.loc, x, m.f32(), c.at);
  const FunctionDecl *fn = c.expr->getDirectCallee();
  llvm::SmallVector<mlir::NamedAttribute> attrs;
  for (unsigned i = 1; fn && i < fn->getNumParams(); ++i) {
    std::string name = fn->getParamDecl(i)->getNameAsString();
    if (!llvm::is_contained(OpT::getAttributeNames(), name))
      return tape(c.at, "'" + c.name + "': parameter '" + name +
                            "' is no attribute of " +
                            OpT::getOperationName().str() + " (a knetc bug)");
    if (!arg(c, i))
      return tape(c.at, "'" + c.name + "' needs its " + name);
    std::optional<double> v = constFloatArg(arg(c, i), name, c.name);
    if (!v)
      return std::nullopt;
    attrs.push_back(attr(name, b.getF64FloatAttr(*v)));
  }
  return create(c, OpT::getOperationName(), {x}, {x.getType()}, attrs);
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
    if (!dims || broken(c, d, ::knet::reduce_dims_error(*dims, -1)))
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

static bool isUndefinedTensor(const Expr *e) {
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
FunctionLowering::constOptions(const Expr *e, StringRef op,
                               llvm::StringMap<const Expr *> *runtime) {
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
    if (!init->EvaluateAsInt(r, m.ast) && runtime &&
        runtime->count(f->getName())) {
      (*runtime)[f->getName()] = init;
      continue;
    }
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

/// An integer option of `opts`, or `def`.
static int64_t intOption(const llvm::StringMap<mlir::Attribute> &opts,
                         StringRef k, int64_t def) {
  mlir::Attribute a = opts.lookup(k);
  return a ? cast<mlir::IntegerAttr>(a).getInt() : def;
}

template <typename OpT> Result FunctionLowering::buildConv(Call &c) {
  Value x = tensorArg(c, 0), w = x ? tensorArg(c, 1) : Value();
  if (!w)
    return std::nullopt;
  auto opts = constOptions(arg(c, 2), c.name);
  if (!opts)
    return std::nullopt;
  // Invalid constant options fail on the tape too: an error here.
  ::knet::ConvOptions o{
      intOption(*opts, "padding", 0), intOption(*opts, "stride", 1),
      intOption(*opts, "dilation", 1), intOption(*opts, "groups", 1)};
  if (broken(c, arg(c, 2), ::knet::conv_options_error(o)))
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

bool FunctionLowering::badPoolOptions(
    Call &c, const Expr *at, const llvm::StringMap<mlir::Attribute> &o) {
  ::knet::PoolOptions p;
  p.window = intOption(o, "window", 2);
  p.stride = intOption(o, "stride", 0);
  p.padding = intOption(o, "padding", 0);
  return broken(c, at, ::knet::pool_options_error(p));
}

bool FunctionLowering::broken(Call &c, const Expr *at, const std::string &e) {
  if (e.empty())
    return false;
  error(at ? at->getExprLoc() : c.at, "'" + c.name + "': " + e);
  return true;
}

template <typename OpT> Result FunctionLowering::buildPool(Call &c) {
  Value x = tensorArg(c, 0);
  if (!x)
    return std::nullopt;
  auto opts = constOptions(arg(c, 1), c.name);
  if (!opts)
    return std::nullopt;
  if (badPoolOptions(c, arg(c, 1), *opts))
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
  if (badPoolOptions(c, arg(c, 3), *opts))
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
  llvm::StringMap<const Expr *> runtime{{"training", nullptr}};
  auto opts = constOptions(arg(c, 3), c.name, &runtime);
  if (!opts)
    return std::nullopt;
  Value train;
  if (const Expr *t = runtime.lookup("training")) {
    train = scalar(t);
    if (!train)
      return std::nullopt;
    train = convertScalar(c.loc, train, b.getI1Type());
  }
  ::knet::BatchnormOptions bo;
  if (mlir::Attribute a = opts->lookup("eps"))
    bo.eps = cast<mlir::FloatAttr>(a).getValueAsDouble();
  if (mlir::Attribute a = opts->lookup("momentum"))
    bo.momentum = cast<mlir::FloatAttr>(a).getValueAsDouble();
  if (broken(c, arg(c, 3), ::knet::batchnorm_options_error(bo)))
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
  Type yt = m.tensorType(elemOf(x));
  if (!train)
    return create(c, OpT::getOperationName(), {x, mo->v, p}, {yt}, attrs);
  // A run-time training flag: one batchnorm per mode under an scf.if.
  auto ifOp = b.create<mlir::scf::IfOp>(c.loc, mlir::TypeRange{yt}, train,
                                        /*withElseRegion=*/true);
  for (bool mode : {true, false}) {
    mlir::OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(mode ? ifOp.thenBlock() : ifOp.elseBlock());
    llvm::SmallVector<mlir::NamedAttribute> modeAttrs(attrs);
    modeAttrs.push_back(attr("training", b.getBoolAttr(mode)));
    Result y =
        create(c, OpT::getOperationName(), {x, mo->v, p}, {yt}, modeAttrs);
    b.create<mlir::scf::YieldOp>(c.loc, y->v);
  }
  return Val(ifOp.getResult(0));
}

template <typename OpT> Result FunctionLowering::buildDropout(Call &c) {
  Value x = tensorArg(c, 0);
  if (!x)
    return std::nullopt;
  if (!arg(c, 1))
    return tape(c.at, "'dropout' needs p");
  auto p = constFloatArg(arg(c, 1), "p", c.name);
  if (!p || broken(c, arg(c, 1), ::knet::dropout_p_error(*p)))
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
  if (!n || broken(c, arg(c, 1), ::knet::chunk_count_error(*n)))
    return std::nullopt;
  auto dim = constArg(c, 2, "dim");
  if (!dim)
    return std::nullopt;
  x = unranked(c.loc, x);
  return create(c, OpT::getOperationName(), {x},
                {kn::ListType::get(&m.ctx, x.getType())},
                {attr("n", b.getI64IntegerAttr(*n)),
                 attr("dim", b.getI64IntegerAttr(*dim))});
}

bool FunctionLowering::shapeOperands(const Expr *e, StringRef what,
                                     llvm::SmallVectorImpl<Value> &dims,
                                     ::knet::Shape &known) {
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
    Expr::EvalResult r;
    known.push_back(d->EvaluateAsInt(r, m.ast) ? r.Val.getInt().getSExtValue()
                                               : 0);
  }
  return true;
}

/// The tensor t of an argument `t.shape()`, else null.
static const Expr *shapeOf(const Expr *e) {
  const auto *mc = e ? dyn_cast<CXXMemberCallExpr>(strip(e)) : nullptr;
  if (mc && mc->getMethodDecl() && mc->getMethodDecl()->getName() == "shape" &&
      isTensorLike(mc->getImplicitObjectArgument()->getType()))
    return mc->getImplicitObjectArgument();
  return nullptr;
}

// x and the shape of another tensor, `y.shape()`: sum_to(x, y.shape()),
// x.expand(y.shape()), x.reshape(y.shape()); the op takes y itself.
template <typename OpT> Result FunctionLowering::buildLike(Call &c) {
  Value x = tensorArg(c, 0);
  if (!x)
    return std::nullopt;
  const Expr *of = shapeOf(arg(c, c.object ? 0 : 1));
  if (!of)
    return tape(c.at, "the shape of '" + c.name +
                          "' must be another tensor's shape(): " + "y.shape()");
  Value like = tensor(of);
  if (!like)
    return std::nullopt;
  if (elemOf(like) != elemOf(x))
    like = castTensor(c.loc, like, elemOf(x), c.at);
  x = unranked(c.loc, x);
  like = unranked(c.loc, like);
  return create(c, OpT::getOperationName(), {x, like}, {x.getType()});
}

template <typename OpT> Result FunctionLowering::buildReshape(Call &c) {
  if (shapeOf(arg(c, 0)))
    return buildLike<kn::ReshapeLikeOp>(c);
  Value x = tensorArg(c, 0);
  if (!x)
    return std::nullopt;
  llvm::SmallVector<Value> dims;
  ::knet::Shape known;
  if (!shapeOperands(arg(c, 0), "reshape", dims, known) ||
      broken(c, arg(c, 0), ::knet::reshape_error(known)))
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
  if (!perm ||
      broken(c, arg(c, 0), ::knet::permute_error({perm->begin(), perm->end()})))
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
    if (!step || broken(c, arg(c, 3), ::knet::slice_step_error(*step)))
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
  if (!arg(c, 1)) {
    // Tensor::scalar(v) without a dtype: a weak scalar (docs/ops.md, "Dtype
    // promotion"), carried as the double it holds.
    Type e = isFloat(v.getType()) ? v.getType() : Type(b.getF64Type());
    return Val(b.create<kn::ScalarOp>(c.loc,
                                      mlir::RankedTensorType::get({}, m.f32()),
                                      convertScalar(c.loc, v, e)));
  }
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
  ::knet::Shape dims(shape->begin(), shape->end());
  if (broken(c, arg(c, 1), ::knet::shape_error(dims)) ||
      broken(c, arg(c, 1), ::knet::from_count_error(il->getNumInits(), dims)))
    return std::nullopt;
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
  ::knet::Shape known;
  if (!shapeOperands(arg(c, 0), kind, dims, known) ||
      broken(c, arg(c, 0), ::knet::shape_error(known)))
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

} // namespace mlir::knet::frontend
