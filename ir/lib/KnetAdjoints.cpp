//===- KnetAdjoints.cpp - the derivative of every differentiable op -------===//
//
// DifferentiableOpInterface::buildAdjoint of each knet op (Knet's @primitive):
// given the gradients of the op's results it emits, at the builder's
// insertion point, the ops computing the gradients of its operands. Each
// rule is the runtime's tape rule (runtime/ops/*.cpp, the closure passed to
// record()) written with knet ops, in the same order of operations, so that
// compiled and taped gradients agree to the last bit where the kernels do.
//
// The scalar arith and math ops that C++ scalar code lowers to get their
// rules as external models (registerAdjointExternalModels).
//
//===----------------------------------------------------------------------===//

#include "knet/IR/KnetDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/TypeUtilities.h"

#include "llvm/ADT/STLExtras.h"

#include <cmath>

using namespace mlir;
using namespace mlir::knet;

namespace {

constexpr int64_t kDynamic = ShapedType::kDynamic;

//===----------------------------------------------------------------------===//
// Types of the adjoint's intermediates
//===----------------------------------------------------------------------===//

/// A tensor type of `elem` with `shape`, or unranked when `shape` is null.
Type tensorOf(std::optional<SmallVector<int64_t>> shape, Type elem) {
  if (!shape)
    return UnrankedTensorType::get(elem);
  return RankedTensorType::get(*shape, elem);
}

std::optional<SmallVector<int64_t>> shapeOf(Type t) {
  if (auto r = dyn_cast<RankedTensorType>(t))
    return SmallVector<int64_t>(r.getShape());
  return std::nullopt;
}

/// The NumPy broadcast of two tensor types (element type of `a`).
Type broadcastType(Type a, Type b) {
  Type elem = getElementTypeOrSelf(a);
  auto sa = shapeOf(a), sb = shapeOf(b);
  if (!sa || !sb)
    return UnrankedTensorType::get(elem);
  size_t rank = std::max(sa->size(), sb->size());
  SmallVector<int64_t> shape(rank, 1);
  for (size_t i = 0; i < rank; ++i) {
    int64_t ia = static_cast<int64_t>(i) - (rank - sa->size());
    int64_t ib = static_cast<int64_t>(i) - (rank - sb->size());
    int64_t da = ia >= 0 ? (*sa)[ia] : 1, db = ib >= 0 ? (*sb)[ib] : 1;
    if (da == 1)
      shape[i] = db;
    else if (db == 1)
      shape[i] = da;
    else if (da == kDynamic)
      shape[i] = db;
    else
      shape[i] = da;
  }
  return RankedTensorType::get(shape, elem);
}

/// x with dims d0 and d1 swapped.
Type transposeType(Type x, int64_t d0, int64_t d1) {
  auto s = shapeOf(x);
  if (!s)
    return x;
  int64_t r = s->size();
  d0 = d0 < 0 ? d0 + r : d0;
  d1 = d1 < 0 ? d1 + r : d1;
  std::swap((*s)[d0], (*s)[d1]);
  return tensorOf(s, getElementTypeOrSelf(x));
}

/// The result of a batched matmul of a and b.
Type matmulType(Type a, Type b) {
  Type elem = getElementTypeOrSelf(a);
  auto sa = shapeOf(a), sb = shapeOf(b);
  if (!sa || !sb)
    return UnrankedTensorType::get(elem);
  // Batch dims broadcast; the last two are [M, N].
  SmallVector<int64_t> ba(sa->begin(), sa->end() - 2),
      bb(sb->begin(), sb->end() - 2);
  auto batch = shapeOf(broadcastType(RankedTensorType::get(ba, elem),
                                     RankedTensorType::get(bb, elem)));
  batch->push_back((*sa)[sa->size() - 2]);
  batch->push_back(sb->back());
  return RankedTensorType::get(*batch, elem);
}

/// x with a size-1 dim inserted at `dim` (negative: from the end).
Type unsqueezeType(Type x, int64_t dim) {
  auto s = shapeOf(x);
  if (!s)
    return x;
  int64_t r = s->size() + 1;
  int64_t d = dim < 0 ? dim + r : dim;
  s->insert(s->begin() + d, 1);
  return tensorOf(s, getElementTypeOrSelf(x));
}

/// The 0-d tensor type of x's element type.
RankedTensorType scalarTensorType(Type x) {
  return RankedTensorType::get({}, getElementTypeOrSelf(x));
}

//===----------------------------------------------------------------------===//
// A builder of knet ops that infers the result types
//===----------------------------------------------------------------------===//

struct Adj {
  OpBuilder &b;
  Location loc;

  /// A 0-d constant of x's element type.
  Value cst(Value x, double v) {
    RankedTensorType t = scalarTensorType(x.getType());
    Attribute attr;
    if (auto ft = dyn_cast<FloatType>(t.getElementType());
        ft && ft.isF32() && static_cast<double>(static_cast<float>(v)) != v)
      // f32 stands for the run-time float dtype: an f64 x must see the
      // exact double, so the constant is a scalar of it, not an f32 attr.
      return b.create<ScalarOp>(
          loc, t, b.create<arith::ConstantOp>(loc, b.getF64FloatAttr(v)));
    if (auto ft = dyn_cast<FloatType>(t.getElementType()))
      attr = DenseElementsAttr::get(t, FloatAttr::get(ft, v));
    else
      attr = DenseElementsAttr::get(
          t, IntegerAttr::get(t.getElementType(), static_cast<int64_t>(v)));
    return b.create<ConstantOp>(loc, t, cast<ElementsAttr>(attr));
  }

  template <typename OpT> Value binary(Value x, Value y) {
    return b.create<OpT>(loc, broadcastType(x.getType(), y.getType()), x, y);
  }
  Value add(Value x, Value y) { return binary<AddOp>(x, y); }
  Value sub(Value x, Value y) { return binary<SubOp>(x, y); }
  Value mul(Value x, Value y) { return binary<MulOp>(x, y); }
  Value div(Value x, Value y) { return binary<DivOp>(x, y); }
  Value pow(Value x, Value y) { return binary<PowOp>(x, y); }
  Value neg(Value x) { return b.create<NegOp>(loc, x.getType(), x); }
  Value mulC(Value x, double v) { return mul(x, cst(x, v)); }

  Value where(Value c, Value x, Value y) {
    Type t =
        broadcastType(broadcastType(c.getType(), x.getType()), y.getType());
    t = cast<TensorType>(t).clone(getElementTypeOrSelf(x));
    return b.create<WhereOp>(loc, t, c, x, y);
  }
  /// A comparison of x and y (an i1 tensor).
  template <typename OpT> Value compare(Value x, Value y) {
    Type t = cast<TensorType>(broadcastType(x.getType(), y.getType()))
                 .clone(b.getI1Type());
    return b.create<OpT>(loc, t, x, y);
  }
  Value zerosLike(Value x) {
    return b.create<ZerosLikeOp>(loc, x.getType(), x);
  }

  /// The gradient g of a broadcast operand summed back to x's shape (the
  /// result has x's type).
  Value sumTo(Value g, Value x) {
    return b.create<SumToOp>(loc, x.getType(), g, x);
  }
  Value broadcastTo(Value g, Value x) {
    return b.create<BroadcastToOp>(loc, x.getType(), g, x);
  }
  Value reshapeLike(Value g, Value x) {
    return b.create<ReshapeLikeOp>(loc, x.getType(), g, x);
  }
  Value transpose(Value x, int64_t d0, int64_t d1) {
    return b.create<TransposeOp>(loc, transposeType(x.getType(), d0, d1), x,
                                 b.getI64IntegerAttr(d0),
                                 b.getI64IntegerAttr(d1));
  }
  Value matmul(Value x, Value y) {
    return b.create<MatmulOp>(loc, matmulType(x.getType(), y.getType()), x, y);
  }
  Value unsqueeze(Value x, int64_t dim) {
    return b.create<UnsqueezeOp>(loc, unsqueezeType(x.getType(), dim), x,
                                 b.getI64IntegerAttr(dim));
  }
  Value exp(Value x) { return b.create<ExpOp>(loc, x.getType(), x); }
  Value log(Value x) { return b.create<LogOp>(loc, x.getType(), x); }
  Value sin(Value x) { return b.create<SinOp>(loc, x.getType(), x); }
  Value cos(Value x) { return b.create<CosOp>(loc, x.getType(), x); }
  Value sigm(Value x) { return b.create<SigmOp>(loc, x.getType(), x); }
  Value sign(Value x) { return b.create<SignOp>(loc, x.getType(), x); }
  /// An i64 constant (for sizes and indices).
  Value i64(int64_t v) {
    return b.create<arith::ConstantOp>(loc, b.getI64IntegerAttr(v));
  }
  Value index(int64_t v) { return b.create<arith::ConstantIndexOp>(loc, v); }
  /// A 0-d tensor of x's element type holding the scalar s.
  Value scalarLike(Value s, Value x) {
    return b.create<ScalarOp>(loc, scalarTensorType(x.getType()), s);
  }

  /// dy of a reduction of x over `dims` reshaped to the keepdim shape, so
  /// that it broadcasts against x (the runtime's dy.reshape(keep)).
  Value keepShape(Value dy, Value x, ArrayRef<int64_t> dims, bool keepdim) {
    if (keepdim || dims.empty())
      return dy;
    SmallVector<int64_t> order(dims);
    if (auto s = shapeOf(x.getType())) {
      int64_t r = s->size();
      for (int64_t &d : order)
        d = d < 0 ? d + r : d;
      llvm::sort(order);
    } else {
      // Unknown rank: leading dims in increasing order, then trailing ones
      // (negative) from the last: each insertion keeps the earlier ones.
      llvm::sort(order, [](int64_t p, int64_t q) {
        if ((p < 0) != (q < 0))
          return p >= 0;
        return p >= 0 ? p < q : p > q;
      });
    }
    for (int64_t d : order)
      dy = unsqueeze(dy, d);
    return dy;
  }
};

SmallVector<Value> nulls(Operation *op) {
  return SmallVector<Value>(op->getNumOperands(), Value());
}

bool isFloatTensor(Type t) {
  return isa<TensorType>(t) && isa<FloatType>(getElementTypeOrSelf(t));
}

/// The adjoint of a reduction over `dims` of x: dy (already scaled)
/// broadcast back over x.
Value expandBack(Adj &a, Value dy, Value x, ArrayRef<int64_t> dims,
                 bool keepdim) {
  return a.broadcastTo(a.keepShape(dy, x, dims, keepdim), x);
}

} // namespace

//===----------------------------------------------------------------------===//
// Elementwise, unary: dx = f(dy, x or y)
//===----------------------------------------------------------------------===//

#define KNET_UNARY_ADJOINT(OP, BODY)                                           \
  SmallVector<Value> OP::buildAdjoint(OpBuilder &builder,                      \
                                      ValueRange resultGrads) {                \
    Adj a{builder, getLoc()};                                                  \
    Value dy = resultGrads[0], x = getX(), y = getY();                         \
    (void)a;                                                                   \
    (void)dy;                                                                  \
    (void)x;                                                                   \
    (void)y;                                                                   \
    if (!dy)                                                                   \
      return nulls(*this);                                                     \
    return {BODY};                                                             \
  }

// runtime/ops/elementwise.cpp, unary.cpp
KNET_UNARY_ADJOINT(NegOp, a.neg(dy))
KNET_UNARY_ADJOINT(AbsOp, a.mul(dy, a.sign(x)))
// Piecewise constant: the tape records nothing, so no gradient flows.
KNET_UNARY_ADJOINT(SignOp, Value())
KNET_UNARY_ADJOINT(ExpOp, a.mul(dy, y))
KNET_UNARY_ADJOINT(LogOp, a.div(dy, x))
KNET_UNARY_ADJOINT(Log1pOp, a.div(dy, a.add(x, a.cst(x, 1.0))))
KNET_UNARY_ADJOINT(SqrtOp, a.div(a.mulC(dy, 0.5), y))
KNET_UNARY_ADJOINT(RsqrtOp, a.mul(a.mul(a.mul(a.mulC(dy, -0.5), y), y), y))
KNET_UNARY_ADJOINT(SinOp, a.mul(dy, a.cos(x)))
KNET_UNARY_ADJOINT(CosOp, a.neg(a.mul(dy, a.sin(x))))
KNET_UNARY_ADJOINT(TanhOp,
                   builder.create<TanhBackOp>(getLoc(), x.getType(), dy, y))
KNET_UNARY_ADJOINT(SigmOp,
                   builder.create<SigmBackOp>(getLoc(), x.getType(), dy, y))
KNET_UNARY_ADJOINT(ReluOp,
                   builder.create<ReluBackOp>(getLoc(), x.getType(), dy, y))
KNET_UNARY_ADJOINT(EluOp,
                   builder.create<EluBackOp>(getLoc(), x.getType(), dy, x))
KNET_UNARY_ADJOINT(SeluOp,
                   builder.create<SeluBackOp>(getLoc(), x.getType(), dy, x))
KNET_UNARY_ADJOINT(GeluOp,
                   builder.create<GeluBackOp>(getLoc(), x.getType(), dy, x))
KNET_UNARY_ADJOINT(SoftplusOp,
                   builder.create<SoftplusBackOp>(getLoc(), x.getType(), dy, x))
KNET_UNARY_ADJOINT(SwishOp,
                   builder.create<SwishBackOp>(getLoc(), x.getType(), dy, x))
// dy / 6 where |x| < 3, else 0 (unary.cpp).
KNET_UNARY_ADJOINT(
    HardsigmoidOp,
    a.where(a.compare<LtOp>(builder.create<AbsOp>(getLoc(), x.getType(), x),
                            a.cst(x, 3.0)),
            a.mulC(dy, 1.0 / 6), a.zerosLike(dy)))
#undef KNET_UNARY_ADJOINT

// dy strictly inside (lo, hi), else 0 (unary.cpp).
SmallVector<Value> HardtanhOp::buildAdjoint(OpBuilder &builder,
                                            ValueRange resultGrads) {
  Adj a{builder, getLoc()};
  Value dy = resultGrads[0], x = getX();
  if (!dy)
    return nulls(*this);
  Value zero = a.zerosLike(dy);
  Value lo = a.cst(x, getLoAttr().getValueAsDouble());
  Value hi = a.cst(x, getHiAttr().getValueAsDouble());
  return {a.where(a.compare<GtOp>(x, lo),
                  a.where(a.compare<LtOp>(x, hi), dy, zero), zero)};
}

//===----------------------------------------------------------------------===//
// Elementwise, binary, broadcasting: each gradient is summed back to its
// operand's shape (knet.sum_to)
//===----------------------------------------------------------------------===//

SmallVector<Value> AddOp::buildAdjoint(OpBuilder &builder,
                                       ValueRange resultGrads) {
  Adj a{builder, getLoc()};
  Value dy = resultGrads[0];
  if (!dy)
    return nulls(*this);
  return {a.sumTo(dy, getLhs()), a.sumTo(dy, getRhs())};
}

SmallVector<Value> SubOp::buildAdjoint(OpBuilder &builder,
                                       ValueRange resultGrads) {
  Adj a{builder, getLoc()};
  Value dy = resultGrads[0];
  if (!dy)
    return nulls(*this);
  return {a.sumTo(dy, getLhs()), a.sumTo(a.neg(dy), getRhs())};
}

SmallVector<Value> MulOp::buildAdjoint(OpBuilder &builder,
                                       ValueRange resultGrads) {
  Adj a{builder, getLoc()};
  Value dy = resultGrads[0], x = getLhs(), y = getRhs();
  if (!dy)
    return nulls(*this);
  return {a.sumTo(a.mul(dy, y), x), a.sumTo(a.mul(dy, x), y)};
}

SmallVector<Value> DivOp::buildAdjoint(OpBuilder &builder,
                                       ValueRange resultGrads) {
  Adj a{builder, getLoc()};
  Value dy = resultGrads[0], x = getLhs(), y = getRhs(), r = getResult();
  if (!dy)
    return nulls(*this);
  // d/da = dy / b; d/db = -(dy * y / b)
  return {a.sumTo(a.div(dy, y), x), a.sumTo(a.neg(a.div(a.mul(dy, r), y)), y)};
}

SmallVector<Value> PowOp::buildAdjoint(OpBuilder &builder,
                                       ValueRange resultGrads) {
  Adj a{builder, getLoc()};
  Value dy = resultGrads[0], x = getLhs(), e = getRhs(), y = getResult();
  if (!dy)
    return nulls(*this);
  // d/da = dy * b * pow(a, b - 1); d/db = dy * y * log(a)
  Value da = a.mul(a.mul(dy, e), a.pow(x, a.sub(e, a.cst(e, 1.0))));
  Value db = a.mul(a.mul(dy, y), a.log(x));
  return {a.sumTo(da, x), a.sumTo(db, e)};
}

/// maximum and minimum: the gradient goes to a where `c` (a >= b, a <= b)
/// holds, to b elsewhere.
template <typename CmpOp, typename OpT>
static SmallVector<Value> extremumAdjoint(OpT op, OpBuilder &builder,
                                          ValueRange resultGrads) {
  Adj a{builder, op.getLoc()};
  Value dy = resultGrads[0], x = op.getLhs(), y = op.getRhs();
  if (!dy)
    return nulls(op);
  Value c = a.compare<CmpOp>(x, y), z = a.zerosLike(dy);
  return {a.sumTo(a.where(c, dy, z), x), a.sumTo(a.where(c, z, dy), y)};
}

SmallVector<Value> MaximumOp::buildAdjoint(OpBuilder &builder,
                                           ValueRange resultGrads) {
  return extremumAdjoint<GeOp>(*this, builder, resultGrads);
}

SmallVector<Value> MinimumOp::buildAdjoint(OpBuilder &builder,
                                           ValueRange resultGrads) {
  return extremumAdjoint<LeOp>(*this, builder, resultGrads);
}

SmallVector<Value> WhereOp::buildAdjoint(OpBuilder &builder,
                                         ValueRange resultGrads) {
  Adj a{builder, getLoc()};
  Value dy = resultGrads[0], c = getCond();
  if (!dy)
    return nulls(*this);
  Value z = a.zerosLike(dy);
  return {Value(), a.sumTo(a.where(c, dy, z), getA()),
          a.sumTo(a.where(c, z, dy), getB())};
}

//===----------------------------------------------------------------------===//
// Conversions, fills, scalars
//===----------------------------------------------------------------------===//

SmallVector<Value> CastOp::buildAdjoint(OpBuilder &builder,
                                        ValueRange resultGrads) {
  Value dy = resultGrads[0];
  // Tensor::to records only between float types.
  if (!dy || !isFloatTensor(getX().getType()) || !isFloatTensor(getType()))
    return nulls(*this);
  // To an explicit dtype: back to whatever x holds at run time.
  if (getDtype())
    return {builder.create<CastLikeOp>(getLoc(), getX().getType(), dy, getX())};
  return {builder.create<CastOp>(getLoc(), getX().getType(), dy)};
}

SmallVector<Value> CastLikeOp::buildAdjoint(OpBuilder &builder,
                                            ValueRange resultGrads) {
  Value dy = resultGrads[0];
  if (!dy || !isFloatTensor(getX().getType()) || !isFloatTensor(getType()))
    return nulls(*this);
  return {builder.create<CastLikeOp>(getLoc(), getX().getType(), dy, getX()),
          Value()};
}

// Only the operand's shape matters.
SmallVector<Value> ZerosLikeOp::buildAdjoint(OpBuilder &, ValueRange) {
  return nulls(*this);
}
SmallVector<Value> OnesLikeOp::buildAdjoint(OpBuilder &, ValueRange) {
  return nulls(*this);
}

SmallVector<Value> ScalarOp::buildAdjoint(OpBuilder &builder,
                                          ValueRange resultGrads) {
  Value dy = resultGrads[0];
  if (!dy || !isa<FloatType>(getValue().getType()) ||
      !isa<FloatType>(getElementTypeOrSelf(getType())))
    return nulls(*this);
  return {builder.create<ItemOp>(getLoc(), getValue().getType(), dy)};
}

// Reading a tensor's value into a C++ scalar detaches it, as on the tape
// (Tensor::item returns a plain number the tape cannot follow): no gradient
// flows back to x. (The per-op adjoint test found the compiled code
// differentiating through it while the tape did not.)
SmallVector<Value> ItemOp::buildAdjoint(OpBuilder &, ValueRange) {
  return nulls(*this);
}

//===----------------------------------------------------------------------===//
// Linear algebra (runtime/ops/linalg.cpp)
//===----------------------------------------------------------------------===//

SmallVector<Value> MatmulOp::buildAdjoint(OpBuilder &builder,
                                          ValueRange resultGrads) {
  Adj a{builder, getLoc()};
  Value dy = resultGrads[0], x = getA(), w = getB();
  if (!dy)
    return nulls(*this);
  // da = dy . bT, db = aT . dy, summed over broadcast batch dims.
  Value da = a.matmul(dy, a.transpose(w, -2, -1));
  Value db = a.matmul(a.transpose(x, -2, -1), dy);
  return {a.sumTo(da, x), a.sumTo(db, w)};
}

SmallVector<Value> LinearOp::buildAdjoint(OpBuilder &builder,
                                          ValueRange resultGrads) {
  Adj a{builder, getLoc()};
  Value g = resultGrads[0], x = getX(), w = getW();
  if (!g)
    return nulls(*this);
  Value dx = a.matmul(g, w);
  if (dx.getType() != x.getType())
    dx = a.sumTo(dx, x);
  SmallVector<Value> grads{dx, a.sumTo(a.matmul(a.transpose(g, -2, -1), x), w)};
  if (getB())
    grads.push_back(a.sumTo(g, getB()));
  return grads;
}

//===----------------------------------------------------------------------===//
// Reductions and softmax (runtime/ops/reduce.cpp)
//===----------------------------------------------------------------------===//

SmallVector<Value> SumOp::buildAdjoint(OpBuilder &builder,
                                       ValueRange resultGrads) {
  Adj a{builder, getLoc()};
  Value dy = resultGrads[0];
  if (!dy)
    return nulls(*this);
  return {expandBack(a, dy, getX(), getDims().value_or(ArrayRef<int64_t>{}),
                     getKeepdim())};
}

SmallVector<Value> MeanOp::buildAdjoint(OpBuilder &builder,
                                        ValueRange resultGrads) {
  Adj a{builder, getLoc()};
  Value dy = resultGrads[0], x = getX();
  if (!dy)
    return nulls(*this);
  // mean = sum(x) / n with n = numel(x) / numel(y): dy / n, broadcast back.
  Value nx = builder.create<NumelOp>(getLoc(), x);
  Value ny = builder.create<NumelOp>(getLoc(), dy);
  Value n = builder.create<arith::DivSIOp>(getLoc(), nx, ny);
  Value scaled = a.div(dy, a.scalarLike(n, dy));
  return {expandBack(a, scaled, x, getDims().value_or(ArrayRef<int64_t>{}),
                     getKeepdim())};
}

/// max and min: the gradient is shared equally among the elements equal to
/// the extremum (ties), as the runtime's rule.
template <typename OpT>
static SmallVector<Value> reduceExtremumAdjoint(OpT op, OpBuilder &builder,
                                                ValueRange resultGrads) {
  Adj a{builder, op.getLoc()};
  Value dy = resultGrads[0], x = op.getX(), y = op.getY();
  if (!dy)
    return nulls(op);
  ArrayRef<int64_t> dims = op.getDims().value_or(ArrayRef<int64_t>{});
  bool keep = op.getKeepdim();
  // mask = (x == y.reshape(keep)).to(x.dtype()), as where(eq, 1, 0) over
  // fills like x: the IR's float element type stands for x's run-time
  // dtype, which a knet.cast to it would not follow (an f64 x would meet an
  // f32 mask).
  Value eq = a.template compare<EqOp>(x, a.keepShape(y, x, dims, keep));
  Value mask =
      a.where(eq, builder.create<OnesLikeOp>(op.getLoc(), x.getType(), x),
              a.zerosLike(x));
  // count = sum(mask, dims, keepdim = true)
  Type countType = UnrankedTensorType::get(getElementTypeOrSelf(x));
  if (auto s = shapeOf(x.getType())) {
    SmallVector<int64_t> shape(*s);
    int64_t r = s->size();
    for (int64_t i = 0; i < r; ++i)
      if (dims.empty() || llvm::is_contained(dims, i) ||
          llvm::is_contained(dims, i - r))
        shape[i] = 1;
    countType = RankedTensorType::get(shape, getElementTypeOrSelf(x));
  }
  Value count = builder.create<SumOp>(
      op.getLoc(), countType, mask,
      dims.empty() ? DenseI64ArrayAttr() : builder.getDenseI64ArrayAttr(dims),
      builder.getUnitAttr());
  // mask * expand_back(dy) / count
  Value spread = a.broadcastTo(a.keepShape(dy, x, dims, keep), x);
  Value dx = a.div(a.mul(mask, spread), count);
  if (dx.getType() != x.getType())
    dx = a.sumTo(dx, x);
  return {dx};
}

SmallVector<Value> MaxOp::buildAdjoint(OpBuilder &builder,
                                       ValueRange resultGrads) {
  return reduceExtremumAdjoint(*this, builder, resultGrads);
}

SmallVector<Value> MinOp::buildAdjoint(OpBuilder &builder,
                                       ValueRange resultGrads) {
  return reduceExtremumAdjoint(*this, builder, resultGrads);
}

SmallVector<Value> LogsumexpOp::buildAdjoint(OpBuilder &builder,
                                             ValueRange resultGrads) {
  Adj a{builder, getLoc()};
  Value dy = resultGrads[0], x = getX(), y = getY();
  if (!dy)
    return nulls(*this);
  int64_t dim = getDimAttr().getInt();
  // dy.reshape(keep) * exp(x - y.reshape(keep)), in statements: the order
  // of C++ arguments' evaluation is unspecified.
  Value e = a.exp(a.sub(x, a.keepShape(y, x, {dim}, getKeepdim())));
  Value dx = a.mul(a.keepShape(dy, x, {dim}, getKeepdim()), e);
  if (dx.getType() != x.getType())
    dx = a.sumTo(dx, x);
  return {dx};
}

SmallVector<Value> SoftmaxOp::buildAdjoint(OpBuilder &builder,
                                           ValueRange resultGrads) {
  Value dy = resultGrads[0];
  if (!dy)
    return nulls(*this);
  return {builder.create<SoftmaxBackOp>(getLoc(), getType(), dy, getY(),
                                        getDimAttr())};
}

SmallVector<Value> LogsoftmaxOp::buildAdjoint(OpBuilder &builder,
                                              ValueRange resultGrads) {
  Value dy = resultGrads[0];
  if (!dy)
    return nulls(*this);
  return {builder.create<LogsoftmaxBackOp>(getLoc(), getType(), dy, getY(),
                                           getDimAttr())};
}

//===----------------------------------------------------------------------===//
// Adjoint helpers as forward ops
//===----------------------------------------------------------------------===//

SmallVector<Value> SumToOp::buildAdjoint(OpBuilder &builder,
                                         ValueRange resultGrads) {
  Adj a{builder, getLoc()};
  Value dy = resultGrads[0];
  if (!dy)
    return nulls(*this);
  return {a.broadcastTo(dy, getX()), Value()};
}

SmallVector<Value> BroadcastToOp::buildAdjoint(OpBuilder &builder,
                                               ValueRange resultGrads) {
  Adj a{builder, getLoc()};
  Value dy = resultGrads[0];
  if (!dy)
    return nulls(*this);
  return {a.sumTo(dy, getX()), Value()};
}

SmallVector<Value> ReshapeLikeOp::buildAdjoint(OpBuilder &builder,
                                               ValueRange resultGrads) {
  Adj a{builder, getLoc()};
  Value dy = resultGrads[0];
  if (!dy)
    return nulls(*this);
  return {a.reshapeLike(dy, getX()), Value()};
}

//===----------------------------------------------------------------------===//
// Losses (runtime/ops/loss.cpp)
//===----------------------------------------------------------------------===//

SmallVector<Value> NllOp::buildAdjoint(OpBuilder &builder,
                                       ValueRange resultGrads) {
  Value dy = resultGrads[0];
  if (!dy)
    return nulls(*this);
  return {builder.create<NllBackOp>(getLoc(), getScores().getType(), dy,
                                    getScores(), getLabels(), getAverageAttr()),
          Value()};
}

// A count of matches: no gradient flows (the runtime returns a double).
SmallVector<Value> AccuracyOp::buildAdjoint(OpBuilder &, ValueRange) {
  return nulls(*this);
}

/// 1 / numel(scores) as a 0-d tensor of the scores' element type (the
/// runtime's `inv`, computed in double).
static Value inverseCount(Adj &a, Value scores) {
  Location loc = a.loc;
  Value n = a.b.create<NumelOp>(loc, scores);
  Value nf = a.b.create<arith::SIToFPOp>(loc, a.b.getF64Type(), n);
  Value one = a.b.create<arith::ConstantOp>(loc, a.b.getF64FloatAttr(1.0));
  Value inv = a.b.create<arith::DivFOp>(loc, one, nf);
  return a.scalarLike(inv, scores);
}

SmallVector<Value> BceOp::buildAdjoint(OpBuilder &builder,
                                       ValueRange resultGrads) {
  Adj a{builder, getLoc()};
  Value dy = resultGrads[0], s = getScores(), p = getLabels();
  if (!dy)
    return nulls(*this);
  Value ds = builder.create<BceBackOp>(getLoc(), s.getType(), dy, s, p);
  // labels: -(scores * (dy * inv))
  Value k = a.mul(dy, inverseCount(a, s));
  Value dp = a.neg(a.mul(s, k));
  if (dp.getType() != p.getType())
    dp = a.sumTo(dp, p);
  return {ds, dp};
}

SmallVector<Value> LogisticOp::buildAdjoint(OpBuilder &builder,
                                            ValueRange resultGrads) {
  Adj a{builder, getLoc()};
  Value dy = resultGrads[0], s = getScores(), p = getLabels();
  if (!dy)
    return nulls(*this);
  Value ds = builder.create<LogisticBackOp>(getLoc(), s.getType(), dy, s, p);
  // labels: scores * (sigm(-(p * scores)) * (dy * -inv))
  Value k =
      a.mul(a.sigm(a.neg(a.mul(p, s))), a.mul(dy, a.neg(inverseCount(a, s))));
  Value dp = a.mul(s, k);
  if (dp.getType() != p.getType())
    dp = a.sumTo(dp, p);
  return {ds, dp};
}

//===----------------------------------------------------------------------===//
// Convolution and pooling (runtime/ops/conv.cpp, pool.cpp)
//===----------------------------------------------------------------------===//

SmallVector<Value> Conv2dOp::buildAdjoint(OpBuilder &builder,
                                          ValueRange resultGrads) {
  Value dy = resultGrads[0], x = getX(), w = getW();
  if (!dy)
    return nulls(*this);
  Location loc = getLoc();
  Value dx = builder.create<Conv2dBackDataOp>(
      loc, x.getType(), dy, w, x, getPaddingAttr(), getStrideAttr(),
      getDilationAttr(), getGroupsAttr());
  Value dw = builder.create<Conv2dBackFilterOp>(
      loc, w.getType(), dy, x, w, getPaddingAttr(), getStrideAttr(),
      getDilationAttr(), getGroupsAttr());
  return {dx, dw};
}

SmallVector<Value> Deconv2dOp::buildAdjoint(OpBuilder &builder,
                                            ValueRange resultGrads) {
  Value dy = resultGrads[0], x = getX(), w = getW();
  if (!dy)
    return nulls(*this);
  Location loc = getLoc();
  // deconv2d(x, w) = conv2d_back_data(x, w): its tape rule.
  Value dx = builder.create<Conv2dOp>(loc, x.getType(), dy, w, getPaddingAttr(),
                                      getStrideAttr(), getDilationAttr(),
                                      getGroupsAttr());
  Value dw = builder.create<Conv2dBackFilterOp>(
      loc, w.getType(), x, dy, w, getPaddingAttr(), getStrideAttr(),
      getDilationAttr(), getGroupsAttr());
  return {dx, dw};
}

SmallVector<Value> PoolOp::buildAdjoint(OpBuilder &builder,
                                        ValueRange resultGrads) {
  Value dy = resultGrads[0], x = getX();
  if (!dy)
    return nulls(*this);
  return {builder.create<PoolBackOp>(getLoc(), x.getType(), dy, getResult(), x,
                                     getWindowAttr(), getStrideAttr(),
                                     getPaddingAttr(), getModeAttr())};
}

SmallVector<Value> UnpoolOp::buildAdjoint(OpBuilder &builder,
                                          ValueRange resultGrads) {
  Adj a{builder, getLoc()};
  Value dy = resultGrads[0], x = getX();
  if (!dy)
    return nulls(*this);
  // The sum over each block: average pooling times the window's area.
  Value avg = builder.create<PoolOp>(
      getLoc(), x.getType(), dy, getWindowAttr(), getStrideAttr(),
      getPaddingAttr(), PoolModeAttr::get(getContext(), PoolMode::avg));
  double area = static_cast<double>(getWindow()) * getWindow();
  Value dx = a.mulC(avg, area);
  if (dx.getType() != x.getType())
    dx = a.sumTo(dx, x);
  return {dx};
}

//===----------------------------------------------------------------------===//
// Normalization and dropout (runtime/ops/norm.cpp, random.cpp)
//===----------------------------------------------------------------------===//

SmallVector<Value> BatchnormOp::buildAdjoint(OpBuilder &builder,
                                             ValueRange resultGrads) {
  Value dy = resultGrads[0];
  if (!dy)
    return nulls(*this);
  auto back = builder.create<BatchnormBackOp>(
      getLoc(), getX().getType(), getParams().getType(), dy, getX(),
      getMoments(), getParams(), getTrainingAttr(), getEpsAttr());
  return {back.getDx(), Value(), back.getDparams()};
}

SmallVector<Value> DropoutOp::buildAdjoint(OpBuilder &builder,
                                           ValueRange resultGrads) {
  Value dy = resultGrads[0];
  if (!dy)
    return nulls(*this);
  return {builder.create<DropoutBackOp>(getLoc(), getType(), dy, getY(),
                                        getPAttr())};
}

//===----------------------------------------------------------------------===//
// Gather, join, split, views (runtime/ops/shape.cpp, core/tensor.cpp)
//===----------------------------------------------------------------------===//

SmallVector<Value> EmbeddingOp::buildAdjoint(OpBuilder &builder,
                                             ValueRange resultGrads) {
  Value dy = resultGrads[0];
  if (!dy)
    return nulls(*this);
  return {builder.create<EmbeddingBackOp>(getLoc(), getTable().getType(), dy,
                                          getIds(), getTable()),
          Value()};
}

SmallVector<Value> ConcatOp::buildAdjoint(OpBuilder &builder,
                                          ValueRange resultGrads) {
  Adj a{builder, getLoc()};
  Value dy = resultGrads[0];
  if (!dy)
    return nulls(*this);
  // Piece k is dy.slice(dim, begin_k, begin_k + size_k).
  int64_t dim = getDimAttr().getInt();
  SmallVector<Value> grads;
  Value begin = a.i64(0);
  for (Value x : getXs()) {
    Value size = builder.create<SizeOp>(getLoc(), builder.getI64Type(), x,
                                        builder.getI64IntegerAttr(dim));
    Value end = builder.create<arith::AddIOp>(getLoc(), begin, size);
    grads.push_back(builder.create<SliceOp>(getLoc(), x.getType(), dy, begin,
                                            end, getDimAttr(),
                                            builder.getI64IntegerAttr(1)));
    begin = end;
  }
  return grads;
}

SmallVector<Value> StackOp::buildAdjoint(OpBuilder &builder,
                                         ValueRange resultGrads) {
  Adj a{builder, getLoc()};
  Value dy = resultGrads[0];
  if (!dy)
    return nulls(*this);
  // stack = concat of unsqueezed tensors: piece k is dy.select(dim, k).
  SmallVector<Value> grads;
  for (auto [k, x] : llvm::enumerate(getXs()))
    grads.push_back(builder.create<SelectOp>(getLoc(), x.getType(), dy,
                                             a.i64(k), getDimAttr()));
  return grads;
}

template <typename Op>
static SmallVector<Value> joinListAdjoint(Op op, OpBuilder &builder,
                                          ValueRange resultGrads, bool stack) {
  Value dy = resultGrads[0];
  if (!dy)
    return nulls(op);
  return {builder.create<SplitListOp>(
      op.getLoc(), op.getXs().getType(), dy, op.getXs(), op.getDimAttr(),
      stack ? builder.getUnitAttr() : UnitAttr())};
}

SmallVector<Value> ConcatListOp::buildAdjoint(OpBuilder &builder,
                                              ValueRange resultGrads) {
  return joinListAdjoint(*this, builder, resultGrads, false);
}

SmallVector<Value> StackListOp::buildAdjoint(OpBuilder &builder,
                                             ValueRange resultGrads) {
  return joinListAdjoint(*this, builder, resultGrads, true);
}

SmallVector<Value> SplitListOp::buildAdjoint(OpBuilder &builder,
                                             ValueRange resultGrads) {
  Value dl = resultGrads[0];
  if (!dl)
    return nulls(*this);
  Type t = getDy().getType();
  Value dy =
      getStack()
          ? Value(builder.create<StackListOp>(getLoc(), t, dl, getDimAttr()))
          : Value(builder.create<ConcatListOp>(getLoc(), t, dl, getDimAttr()));
  return {dy, Value()};
}

SmallVector<Value> ChunkOp::buildAdjoint(OpBuilder &builder,
                                         ValueRange resultGrads) {
  Adj a{builder, getLoc()};
  Value dl = resultGrads[0];
  if (!dl)
    return nulls(*this);
  // The pieces are slices that tile x: their gradients joined back.
  Type elem = cast<ListType>(dl.getType()).getElementType();
  SmallVector<Value> pieces;
  for (int64_t k = 0, n = getN(); k < n; ++k)
    pieces.push_back(builder.create<ListGetOp>(getLoc(), elem, dl, a.index(k)));
  return {builder.create<ConcatOp>(getLoc(), getX().getType(), pieces,
                                   getDimAttr())};
}

#define KNET_RESHAPE_ADJOINT(OP)                                               \
  SmallVector<Value> OP::buildAdjoint(OpBuilder &builder,                      \
                                      ValueRange resultGrads) {                \
    Adj a{builder, getLoc()};                                                  \
    Value dy = resultGrads[0];                                                 \
    if (!dy)                                                                   \
      return nulls(*this);                                                     \
    SmallVector<Value> grads = nulls(*this);                                   \
    grads[0] = a.reshapeLike(dy, getX());                                      \
    return grads;                                                              \
  }
// All are reshapes on the tape (dy.reshape(old shape)).
KNET_RESHAPE_ADJOINT(MatOp)
KNET_RESHAPE_ADJOINT(ReshapeOp)
KNET_RESHAPE_ADJOINT(SqueezeOp)
KNET_RESHAPE_ADJOINT(UnsqueezeOp)
#undef KNET_RESHAPE_ADJOINT

SmallVector<Value> TransposeOp::buildAdjoint(OpBuilder &builder,
                                             ValueRange resultGrads) {
  Value dy = resultGrads[0];
  if (!dy)
    return nulls(*this);
  return {builder.create<TransposeOp>(getLoc(), getX().getType(), dy,
                                      getDim0Attr(), getDim1Attr())};
}

SmallVector<Value> PermuteOp::buildAdjoint(OpBuilder &builder,
                                           ValueRange resultGrads) {
  Value dy = resultGrads[0];
  if (!dy)
    return nulls(*this);
  ArrayRef<int64_t> perm = getPerm();
  SmallVector<int64_t> inverse(perm.size());
  for (auto [i, p] : llvm::enumerate(perm))
    inverse[p] = i;
  return {builder.create<PermuteOp>(getLoc(), getX().getType(), dy,
                                    builder.getDenseI64ArrayAttr(inverse))};
}

SmallVector<Value> SliceOp::buildAdjoint(OpBuilder &builder,
                                         ValueRange resultGrads) {
  Value dy = resultGrads[0];
  if (!dy)
    return nulls(*this);
  return {builder.create<SliceBackOp>(getLoc(), getX().getType(), dy, getX(),
                                      getBegin(), getEnd(), getDimAttr(),
                                      getStepAttr()),
          Value(), Value()};
}

SmallVector<Value> SelectOp::buildAdjoint(OpBuilder &builder,
                                          ValueRange resultGrads) {
  Value dy = resultGrads[0];
  if (!dy)
    return nulls(*this);
  return {builder.create<SelectBackOp>(getLoc(), getX().getType(), dy, getX(),
                                       getIndex(), getDimAttr()),
          Value()};
}

//===----------------------------------------------------------------------===//
// Lists
//===----------------------------------------------------------------------===//

SmallVector<Value> ListMakeOp::buildAdjoint(OpBuilder &builder,
                                            ValueRange resultGrads) {
  Adj a{builder, getLoc()};
  Value dl = resultGrads[0];
  if (!dl)
    return nulls(*this);
  SmallVector<Value> grads;
  for (auto [k, x] : llvm::enumerate(getElements()))
    grads.push_back(
        builder.create<ListGetOp>(getLoc(), x.getType(), dl, a.index(k)));
  return grads;
}

SmallVector<Value> ListGetOp::buildAdjoint(OpBuilder &builder,
                                           ValueRange resultGrads) {
  Value dy = resultGrads[0];
  if (!dy)
    return nulls(*this);
  // A one-hot list: zeros with dy at `index`. The autodiff pass folds it
  // into the list's accumulated gradient (list_set of a sum) instead.
  Value zeros =
      builder.create<ListZerosLikeOp>(getLoc(), getList().getType(), getList());
  return {builder.create<ListSetOp>(getLoc(), getList().getType(), zeros,
                                    getIndex(), dy),
          Value()};
}

SmallVector<Value> ListSetOp::buildAdjoint(OpBuilder &builder,
                                           ValueRange resultGrads) {
  Adj a{builder, getLoc()};
  Value dl = resultGrads[0];
  if (!dl)
    return nulls(*this);
  Value dv =
      builder.create<ListGetOp>(getLoc(), getValue().getType(), dl, getIndex());
  Value cleared = builder.create<ListSetOp>(getLoc(), getType(), dl, getIndex(),
                                            a.zerosLike(dv));
  return {cleared, Value(), dv};
}

SmallVector<Value> ListPushOp::buildAdjoint(OpBuilder &builder,
                                            ValueRange resultGrads) {
  Value dl = resultGrads[0];
  if (!dl)
    return nulls(*this);
  // The pushed value's gradient is the last element of dl.
  Value n =
      builder.create<ListSizeOp>(getLoc(), builder.getIndexType(), getList());
  Value dv = builder.create<ListGetOp>(getLoc(), getValue().getType(), dl, n);
  return {builder.create<ListPopOp>(getLoc(), getType(), dl), dv};
}

SmallVector<Value> ListPopOp::buildAdjoint(OpBuilder &builder,
                                           ValueRange resultGrads) {
  Adj a{builder, getLoc()};
  Value dl = resultGrads[0];
  if (!dl)
    return nulls(*this);
  // The dropped element gets no gradient.
  Type elem = cast<ListType>(getType()).getElementType();
  Value n =
      builder.create<ListSizeOp>(getLoc(), builder.getIndexType(), getResult());
  Value last = builder.create<ListGetOp>(getLoc(), elem, getList(), n);
  return {
      builder.create<ListPushOp>(getLoc(), getType(), dl, a.zerosLike(last))};
}

SmallVector<Value> ListResizeOp::buildAdjoint(OpBuilder &builder,
                                              ValueRange resultGrads) {
  Value dl = resultGrads[0];
  if (!dl)
    return nulls(*this);
  // The kept elements' gradients (elements it added have none to give);
  // the elements it dropped get zeros.
  return {builder.create<ListPadLikeOp>(getLoc(), getType(), dl, getList()),
          Value()};
}

SmallVector<Value> ListZerosLikeOp::buildAdjoint(OpBuilder &, ValueRange) {
  return nulls(*this);
}

//===----------------------------------------------------------------------===//
// Scalar arith and math ops (external models)
//===----------------------------------------------------------------------===//

namespace {

/// The float scalar builder over grads: the scalar versions of the tensor
/// rules above (runtime/ops/elementwise.cpp, unary.cpp).
struct ScalarAdjoints {
  static SmallVector<Value> rule(arith::AddFOp, ScalarBuilder &, Value dy) {
    return {dy, dy};
  }
  static SmallVector<Value> rule(arith::SubFOp, ScalarBuilder &e, Value dy) {
    return {dy, e.neg(dy)};
  }
  static SmallVector<Value> rule(arith::MulFOp op, ScalarBuilder &e, Value dy) {
    return {e.mul(dy, op.getRhs()), e.mul(dy, op.getLhs())};
  }
  static SmallVector<Value> rule(arith::DivFOp op, ScalarBuilder &e, Value dy) {
    return {e.div(dy, op.getRhs()),
            e.neg(e.div(e.mul(dy, op.getResult()), op.getRhs()))};
  }
  static SmallVector<Value> rule(arith::NegFOp, ScalarBuilder &e, Value dy) {
    return {e.neg(dy)};
  }
  static SmallVector<Value> rule(arith::MaximumFOp op, ScalarBuilder &e,
                                 Value dy) {
    Value c = e.cmp(CmpKind::ge, op.getLhs(), op.getRhs());
    return {e.select(c, dy, e.zero(dy)), e.select(c, e.zero(dy), dy)};
  }
  static SmallVector<Value> rule(arith::MinimumFOp op, ScalarBuilder &e,
                                 Value dy) {
    Value c = e.cmp(CmpKind::le, op.getLhs(), op.getRhs());
    return {e.select(c, dy, e.zero(dy)), e.select(c, e.zero(dy), dy)};
  }
  static SmallVector<Value> rule(arith::SelectOp op, ScalarBuilder &e,
                                 Value dy) {
    Value c = op.getCondition();
    return {Value(), e.select(c, dy, e.zero(dy)), e.select(c, e.zero(dy), dy)};
  }
  static SmallVector<Value> rule(arith::ExtFOp op, ScalarBuilder &e, Value dy) {
    return {e.cast(dy, op.getIn().getType())};
  }
  static SmallVector<Value> rule(arith::TruncFOp op, ScalarBuilder &e,
                                 Value dy) {
    return {e.cast(dy, op.getIn().getType())};
  }
  static SmallVector<Value> rule(math::ExpOp op, ScalarBuilder &e, Value dy) {
    return {e.mul(dy, op.getResult())};
  }
  static SmallVector<Value> rule(math::LogOp op, ScalarBuilder &e, Value dy) {
    return {e.div(dy, op.getOperand())};
  }
  static SmallVector<Value> rule(math::Log1pOp op, ScalarBuilder &e, Value dy) {
    Value x = op.getOperand();
    return {e.div(dy, e.add(x, e.one(x)))};
  }
  static SmallVector<Value> rule(math::SqrtOp op, ScalarBuilder &e, Value dy) {
    return {e.div(e.mul(dy, e.c(dy, 0.5)), op.getResult())};
  }
  static SmallVector<Value> rule(math::RsqrtOp op, ScalarBuilder &e, Value dy) {
    Value y = op.getResult();
    return {e.mul(e.mul(e.mul(e.mul(dy, e.c(dy, -0.5)), y), y), y)};
  }
  static SmallVector<Value> rule(math::SinOp op, ScalarBuilder &e, Value dy) {
    return {e.mul(dy, e.cos(op.getOperand()))};
  }
  static SmallVector<Value> rule(math::CosOp op, ScalarBuilder &e, Value dy) {
    return {e.neg(e.mul(dy, e.sin(op.getOperand())))};
  }
  static SmallVector<Value> rule(math::TanhOp op, ScalarBuilder &e, Value dy) {
    Value y = op.getResult();
    return {e.mul(dy, e.sub(e.one(y), e.mul(y, y)))};
  }
  static SmallVector<Value> rule(math::AbsFOp op, ScalarBuilder &e, Value dy) {
    return {e.mul(dy, e.sign(op.getOperand()))};
  }
  static SmallVector<Value> rule(arith::RemFOp op, ScalarBuilder &e, Value dy) {
    // a - trunc(a / b) * b
    Value q = e.div(op.getLhs(), op.getRhs());
    Value t = e.builder().create<math::TruncOp>(op.getLoc(), q);
    return {dy, e.neg(e.mul(dy, t))};
  }
  static SmallVector<Value> rule(math::Exp2Op op, ScalarBuilder &e, Value dy) {
    return {e.mul(e.mul(dy, op.getResult()), e.c(dy, M_LN2))};
  }
  static SmallVector<Value> rule(math::ExpM1Op op, ScalarBuilder &e, Value dy) {
    Value y = op.getResult();
    return {e.mul(dy, e.add(y, e.one(y)))};
  }
  static SmallVector<Value> rule(math::Log2Op op, ScalarBuilder &e, Value dy) {
    return {e.div(dy, e.mul(op.getOperand(), e.c(dy, M_LN2)))};
  }
  static SmallVector<Value> rule(math::Log10Op op, ScalarBuilder &e, Value dy) {
    return {e.div(dy, e.mul(op.getOperand(), e.c(dy, M_LN10)))};
  }
  static SmallVector<Value> rule(math::CbrtOp op, ScalarBuilder &e, Value dy) {
    Value y = op.getResult();
    return {e.div(dy, e.mul(e.c(dy, 3.0), e.mul(y, y)))};
  }
  static SmallVector<Value> rule(math::TanOp op, ScalarBuilder &e, Value dy) {
    Value y = op.getResult();
    return {e.mul(dy, e.add(e.one(y), e.mul(y, y)))};
  }
  static SmallVector<Value> rule(math::AtanOp op, ScalarBuilder &e, Value dy) {
    Value x = op.getOperand();
    return {e.div(dy, e.add(e.one(x), e.mul(x, x)))};
  }
  static SmallVector<Value> rule(math::Atan2Op op, ScalarBuilder &e, Value dy) {
    // atan2(a, b): d/da = b / (a^2 + b^2), d/db = -a / (a^2 + b^2)
    Value a = op.getLhs(), b = op.getRhs();
    Value r = e.add(e.mul(a, a), e.mul(b, b));
    return {e.div(e.mul(dy, b), r), e.neg(e.div(e.mul(dy, a), r))};
  }
  static SmallVector<Value> rule(math::ErfOp op, ScalarBuilder &e, Value dy) {
    Value x = op.getOperand();
    Value g = e.exp(e.neg(e.mul(x, x)));
    return {e.mul(dy, e.mul(e.c(dy, M_2_SQRTPI), g))};
  }
  // Piecewise constant: no gradient.
  template <typename OpT> static SmallVector<Value> zeroRule(OpT op) {
    return SmallVector<Value>(op->getNumOperands(), Value());
  }
  static SmallVector<Value> rule(math::FloorOp op, ScalarBuilder &, Value) {
    return zeroRule(op);
  }
  static SmallVector<Value> rule(math::CeilOp op, ScalarBuilder &, Value) {
    return zeroRule(op);
  }
  static SmallVector<Value> rule(math::RoundOp op, ScalarBuilder &, Value) {
    return zeroRule(op);
  }
  static SmallVector<Value> rule(math::TruncOp op, ScalarBuilder &, Value) {
    return zeroRule(op);
  }
  static SmallVector<Value> rule(math::PowFOp op, ScalarBuilder &e, Value dy) {
    Value a = op.getLhs(), b = op.getRhs(), y = op.getResult();
    return {e.mul(e.mul(dy, b), e.pow(a, e.sub(b, e.one(b)))),
            e.mul(e.mul(dy, y), e.log(a))};
  }
};

/// The adjoint of an arith.select between tensors or lists (the
/// canonicalizer turns an scf.if that only picks one of two values into
/// one): the operand taken gets dy, the other zeros shaped like itself (dy
/// has the shape of the operand taken, which may differ: an early return's
/// 0-d slot against the tensor returned).
SmallVector<Value> selectOfValues(arith::SelectOp op, OpBuilder &builder,
                                  Value dy) {
  Location loc = op.getLoc();
  Value c = op.getCondition();
  auto zerosLike = [&](Value x) -> Value {
    if (isa<ListType>(x.getType()))
      return builder.create<ListZerosLikeOp>(loc, x.getType(), x);
    return builder.create<ZerosLikeOp>(loc, x.getType(), x);
  };
  Value a = op.getTrueValue(), b = op.getFalseValue();
  if (isa<TensorType>(c.getType())) {
    // An elementwise select: the tensor form of where.
    Adj e{builder, loc};
    return {Value(), e.where(c, dy, zerosLike(a)),
            e.where(c, zerosLike(b), dy)};
  }
  return {Value(), builder.create<arith::SelectOp>(loc, c, dy, zerosLike(a)),
          builder.create<arith::SelectOp>(loc, c, zerosLike(b), dy)};
}

template <typename OpT>
struct ScalarAdjointModel
    : public DifferentiableOpInterface::ExternalModel<ScalarAdjointModel<OpT>,
                                                      OpT> {
  SmallVector<Value> buildAdjoint(Operation *op, OpBuilder &builder,
                                  ValueRange resultGrads) const {
    Value dy = resultGrads[0];
    if constexpr (std::is_same_v<OpT, arith::SelectOp>)
      if (dy && !isa<FloatType>(dy.getType()))
        return selectOfValues(cast<arith::SelectOp>(op), builder, dy);
    if (!dy || !isa<FloatType>(op->getResult(0).getType()))
      return SmallVector<Value>(op->getNumOperands(), Value());
    ScalarBuilder e(builder, op->getLoc());
    return ScalarAdjoints::rule(cast<OpT>(op), e, dy);
  }
};

template <typename... Ops> void attach(MLIRContext *ctx) {
  (Ops::template attachInterface<ScalarAdjointModel<Ops>>(*ctx), ...);
}

} // namespace

void mlir::knet::registerAdjointExternalModels(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, arith::ArithDialect *) {
    attach<arith::AddFOp, arith::SubFOp, arith::MulFOp, arith::DivFOp,
           arith::RemFOp, arith::NegFOp, arith::MaximumFOp, arith::MinimumFOp,
           arith::SelectOp, arith::ExtFOp, arith::TruncFOp>(ctx);
  });
  registry.addExtension(+[](MLIRContext *ctx, math::MathDialect *) {
    attach<math::ExpOp, math::Exp2Op, math::ExpM1Op, math::LogOp, math::Log2Op,
           math::Log10Op, math::Log1pOp, math::SqrtOp, math::RsqrtOp,
           math::CbrtOp, math::SinOp, math::CosOp, math::TanOp, math::AtanOp,
           math::Atan2Op, math::TanhOp, math::ErfOp, math::AbsFOp, math::PowFOp,
           math::FloorOp, math::CeilOp, math::RoundOp, math::TruncOp>(ctx);
  });
}
