//===- KnetOps.cpp - verifiers and folders of the knet ops ----------------===//

#include "knet/IR/KnetDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/TypeUtilities.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallBitVector.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::knet;

#define GET_OP_CLASSES
#include "knet/IR/KnetOps.cpp.inc"

void KnetDialect::registerOps() {
  addOperations<
#define GET_OP_LIST
#include "knet/IR/KnetOps.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// Shape helpers
//===----------------------------------------------------------------------===//

static constexpr int64_t kDynamic = ShapedType::kDynamic;

/// Prints a shape as [?, 4].
static std::string shapeStr(ArrayRef<int64_t> shape) {
  std::string s = "[";
  llvm::raw_string_ostream os(s);
  llvm::interleave(
      shape,
      [&](int64_t d) {
        if (d == kDynamic)
          os << "?";
        else
          os << d;
      },
      [&] { os << ", "; });
  os << "]";
  return s;
}

static RankedTensorType ranked(Type t) { return dyn_cast<RankedTensorType>(t); }
static RankedTensorType ranked(Value v) { return ranked(v.getType()); }

/// Static sizes that differ (a dynamic size matches anything).
static bool conflicts(int64_t a, int64_t b) {
  return a != kDynamic && b != kDynamic && a != b;
}

/// Checks that a ranked `actual` type has the `expected` rank and sizes
/// (kDynamic: any size). `what` names the value in messages.
static LogicalResult checkShape(Operation *op, Type actual,
                                ArrayRef<int64_t> expected, StringRef what) {
  auto t = ranked(actual);
  if (!t)
    return success();
  if (t.getRank() != static_cast<int64_t>(expected.size()))
    return op->emitOpError()
           << what << " has rank " << t.getRank() << " but rank "
           << expected.size() << " is expected (shape " << shapeStr(expected)
           << ")";
  for (auto [i, a, e] : llvm::enumerate(t.getShape(), expected))
    if (conflicts(a, e))
      return op->emitOpError()
             << what << " has size " << a << " in dim " << i << " but " << e
             << " is expected (shape " << shapeStr(expected) << ")";
  return success();
}

/// `actual` and `like` have compatible shapes where both are ranked.
static LogicalResult checkSameShape(Operation *op, Type actual, Type like,
                                    StringRef what, StringRef likeWhat) {
  auto l = ranked(like);
  if (!l || !ranked(actual))
    return success();
  auto t = ranked(actual);
  if (t.getRank() != l.getRank() ||
      llvm::any_of(llvm::zip(t.getShape(), l.getShape()), [](auto p) {
        return conflicts(std::get<0>(p), std::get<1>(p));
      }))
    return op->emitOpError()
           << what << " type " << actual << " does not have the shape of "
           << likeWhat << " (" << like << ")";
  return success();
}

/// A rank check where the type is ranked.
static LogicalResult checkRank(Operation *op, Type type, int64_t rank,
                               StringRef what) {
  auto t = ranked(type);
  if (t && t.getRank() != rank)
    return op->emitOpError()
           << what << " must have rank " << rank << ", got " << type;
  return success();
}

/// Normalizes a possibly negative dim; emits an error when out of range.
static FailureOr<int64_t> normalizeDim(Operation *op, int64_t dim, int64_t rank,
                                       StringRef what = "dim") {
  if (dim < -rank || dim >= rank) {
    op->emitOpError() << what << " " << dim
                      << " is out of range for an operand of rank " << rank;
    return failure();
  }
  return dim < 0 ? dim + rank : dim;
}

static int64_t dimOf(RankedTensorType t, int64_t i) {
  return t ? t.getDimSize(i) : kDynamic;
}

//===----------------------------------------------------------------------===//
// Shared verifiers
//===----------------------------------------------------------------------===//

/// The broadcast shape of the tensor operands of `op`. `certain` is false
/// when an unranked operand may add dims or sizes.
static LogicalResult
broadcastShape(Operation *op, SmallVectorImpl<int64_t> &shape, bool &certain) {
  certain = true;
  int64_t rank = 0;
  for (Value v : op->getOperands()) {
    if (!isa<TensorType>(v.getType()))
      continue;
    if (auto t = ranked(v))
      rank = std::max(rank, t.getRank());
    else
      certain = false;
  }
  SmallVector<int64_t> known(rank, -1);
  SmallVector<int64_t> knownFrom(rank, -1);
  SmallVector<bool> dynamic(rank, false);
  for (auto [index, v] : llvm::enumerate(op->getOperands())) {
    auto t = ranked(v);
    if (!t)
      continue;
    int64_t offset = rank - t.getRank();
    for (auto [k, d] : llvm::enumerate(t.getShape())) {
      int64_t pos = offset + k;
      if (d == kDynamic) {
        dynamic[pos] = true;
        continue;
      }
      if (d == 1)
        continue;
      if (known[pos] != -1 && known[pos] != d)
        return op->emitOpError()
               << "operands are not broadcast-compatible: operand #"
               << knownFrom[pos] << " has size " << known[pos]
               << " and operand #" << index << " has size " << d << " in dim "
               << pos << " of the broadcast shape";
      known[pos] = d;
      knownFrom[pos] = index;
    }
  }
  shape.clear();
  for (int64_t pos = 0; pos < rank; ++pos)
    shape.push_back(known[pos] != -1 ? known[pos]
                    : dynamic[pos]   ? kDynamic
                                     : 1);
  return success();
}

/// A ranked result has the broadcast `shape` (when `certain`; otherwise at
/// least its rank and known sizes).
static LogicalResult checkBroadcastResult(Operation *op, Type resultType,
                                          ArrayRef<int64_t> shape,
                                          bool certain) {
  auto t = ranked(resultType);
  if (!t)
    return success();
  int64_t rank = shape.size();
  if (certain ? t.getRank() != rank : t.getRank() < rank)
    return op->emitOpError()
           << "result rank " << t.getRank() << " does not match the rank "
           << rank << " of the broadcast shape " << shapeStr(shape)
           << " of the operands";
  int64_t offset = t.getRank() - rank;
  for (int64_t pos = 0; pos < rank; ++pos) {
    int64_t r = t.getDimSize(offset + pos), e = shape[pos];
    if (!certain && e == 1)
      continue;
    if (conflicts(r, e))
      return op->emitOpError()
             << "result has size " << r << " in dim " << offset + pos
             << " but the operands broadcast to " << e << " (shape "
             << shapeStr(shape) << ")";
  }
  return success();
}

LogicalResult mlir::knet::verifyBroadcast(Operation *op) {
  SmallVector<int64_t> shape;
  bool certain;
  if (failed(broadcastShape(op, shape, certain)))
    return failure();
  for (Type t : op->getResultTypes())
    if (failed(checkBroadcastResult(op, t, shape, certain)))
      return failure();
  return success();
}

/// The shape of `input` reduced over `dims`, or failure (with an error).
static FailureOr<SmallVector<int64_t>>
reducedShape(Operation *op, ArrayRef<int64_t> input, ArrayRef<int64_t> dims,
             bool keepdim, bool allDimsWhenEmpty) {
  int64_t rank = input.size();
  llvm::SmallBitVector reduced(rank, dims.empty() && allDimsWhenEmpty);
  for (int64_t d : dims) {
    FailureOr<int64_t> n = normalizeDim(op, d, rank);
    if (failed(n))
      return failure();
    if (reduced.test(*n)) {
      op->emitOpError() << "dim " << d << " is reduced twice";
      return failure();
    }
    reduced.set(*n);
  }
  SmallVector<int64_t> shape;
  for (int64_t i = 0; i < rank; ++i) {
    if (!reduced.test(i))
      shape.push_back(input[i]);
    else if (keepdim)
      shape.push_back(1);
  }
  return shape;
}

LogicalResult mlir::knet::verifyReduction(Operation *op, Type input,
                                          ArrayRef<int64_t> dims, bool keepdim,
                                          Type result, bool allDimsWhenEmpty) {
  auto in = ranked(input);
  if (!in)
    return success();
  FailureOr<SmallVector<int64_t>> shape =
      reducedShape(op, in.getShape(), dims, keepdim, allDimsWhenEmpty);
  if (failed(shape))
    return failure();
  return checkShape(op, result, *shape, "result");
}

LogicalResult mlir::knet::verifyDim(Operation *op, Type type, int64_t dim) {
  if (auto t = ranked(type))
    return normalizeDim(op, dim, t.getRank());
  return success();
}

LogicalResult mlir::knet::verifyBinaryLoss(Operation *op, Type scores,
                                           Type labels, Type loss) {
  if (failed(checkSameShape(op, labels, scores, "labels", "the scores")))
    return failure();
  return checkRank(op, loss, 0, "the loss");
}

LogicalResult mlir::knet::verifyBinaryLossBack(Operation *op, Type dy,
                                               Type scores, Type labels,
                                               Type dscores) {
  if (failed(checkRank(op, dy, 0, "the loss gradient dy")) ||
      failed(checkSameShape(op, labels, scores, "labels", "the scores")))
    return failure();
  return checkSameShape(op, dscores, scores, "result", "the scores");
}

//===----------------------------------------------------------------------===//
// Folding helpers
//===----------------------------------------------------------------------===//

/// The value of a splat int or float constant.
static std::optional<double> splatValue(Attribute attr) {
  auto splat = dyn_cast_or_null<SplatElementsAttr>(attr);
  if (!splat)
    return std::nullopt;
  Type et = splat.getElementType();
  if (isa<FloatType>(et))
    return splat.getSplatValue<APFloat>().convertToDouble();
  if (et.isInteger(1))
    return splat.getSplatValue<bool>() ? 1.0 : 0.0;
  if (isa<IntegerType>(et))
    return static_cast<double>(splat.getSplatValue<APInt>().getSExtValue());
  return std::nullopt;
}

static bool isSplatOf(Attribute attr, double v) {
  std::optional<double> s = splatValue(attr);
  return s && *s == v;
}

/// A splat of `v` with the (static) type `type`, or null.
static Attribute makeSplat(Type type, double v) {
  auto t = ranked(type);
  if (!t || !t.hasStaticShape())
    return {};
  Type et = t.getElementType();
  if (auto ft = dyn_cast<FloatType>(et)) {
    APFloat f(v);
    bool lost;
    f.convert(ft.getFloatSemantics(), APFloat::rmNearestTiesToEven, &lost);
    return DenseElementsAttr::get(t, f);
  }
  if (auto it = dyn_cast<IntegerType>(et))
    return DenseElementsAttr::get(
        t, APInt(it.getWidth(), static_cast<int64_t>(v), /*isSigned=*/true));
  return {};
}

/// Folds a binary op over two splat constants.
template <typename Fn>
static OpFoldResult foldSplats(Attribute lhs, Attribute rhs, Type resultType,
                               Fn fn) {
  std::optional<double> a = splatValue(lhs), b = splatValue(rhs);
  if (!a || !b)
    return {};
  if (isa<IntegerType>(getElementTypeOrSelf(resultType))) {
    auto x = static_cast<int64_t>(*a), y = static_cast<int64_t>(*b);
    std::optional<int64_t> r = fn(x, y);
    if (!r)
      return {};
    return makeSplat(resultType, static_cast<double>(*r));
  }
  std::optional<double> r = fn(*a, *b);
  return r ? makeSplat(resultType, *r) : Attribute();
}

//===----------------------------------------------------------------------===//
// Elementwise ops
//===----------------------------------------------------------------------===//

OpFoldResult AddOp::fold(FoldAdaptor adaptor) {
  if (isSplatOf(adaptor.getRhs(), 0) && getLhs().getType() == getType())
    return getLhs();
  if (isSplatOf(adaptor.getLhs(), 0) && getRhs().getType() == getType())
    return getRhs();
  return foldSplats(adaptor.getLhs(), adaptor.getRhs(), getType(),
                    [](auto a, auto b) { return std::optional(a + b); });
}

OpFoldResult SubOp::fold(FoldAdaptor adaptor) {
  if (isSplatOf(adaptor.getRhs(), 0) && getLhs().getType() == getType())
    return getLhs();
  return foldSplats(adaptor.getLhs(), adaptor.getRhs(), getType(),
                    [](auto a, auto b) { return std::optional(a - b); });
}

OpFoldResult MulOp::fold(FoldAdaptor adaptor) {
  if (isSplatOf(adaptor.getRhs(), 1) && getLhs().getType() == getType())
    return getLhs();
  if (isSplatOf(adaptor.getLhs(), 1) && getRhs().getType() == getType())
    return getRhs();
  return foldSplats(adaptor.getLhs(), adaptor.getRhs(), getType(),
                    [](auto a, auto b) { return std::optional(a * b); });
}

OpFoldResult DivOp::fold(FoldAdaptor adaptor) {
  if (isSplatOf(adaptor.getRhs(), 1) && getLhs().getType() == getType())
    return getLhs();
  return foldSplats(adaptor.getLhs(), adaptor.getRhs(), getType(),
                    [](auto a, auto b) -> std::optional<decltype(a)> {
                      if (b == 0)
                        return std::nullopt; // keep x/0 for the runtime
                      return a / b;
                    });
}

OpFoldResult NegOp::fold(FoldAdaptor adaptor) {
  if (auto inner = getX().getDefiningOp<NegOp>())
    return inner.getX();
  if (std::optional<double> v = splatValue(adaptor.getX()))
    return makeSplat(getType(), -*v);
  return {};
}

/// A `dtype` attribute names a run-time dtype of the element type's kind:
/// a float dtype for the float element type that stands for it, an integer
/// one for i64 (i32, u8 are carried in i64), b8 for i1.
static LogicalResult verifyDType(Operation *op, StringAttr dtype, Type type) {
  if (!dtype)
    return success();
  Type e = getElementTypeOrSelf(type);
  StringRef n = dtype.getValue();
  bool ok = llvm::StringSwitch<bool>(n)
                .Cases("f32", "f64", "f16", "bf16", isa<FloatType>(e))
                .Cases("i32", "i64", "u8", e.isInteger(64))
                .Case("b8", e.isInteger(1))
                .Default(false);
  if (!ok)
    return op->emitOpError()
           << "dtype \"" << n << "\" cannot be held in " << type;
  return success();
}

LogicalResult CastOp::verify() {
  return verifyDType(*this, getDtypeAttr(), getType());
}

OpFoldResult CastOp::fold(FoldAdaptor) {
  if (getX().getType() == getType() && !getDtype())
    return getX();
  return {};
}

LogicalResult FullOp::verify() {
  if (failed(verifyDType(*this, getDtypeAttr(), getType())))
    return failure();
  auto y = ranked(getType());
  if (y && static_cast<int64_t>(getShape().size()) != y.getRank())
    return emitOpError() << "has " << getShape().size()
                         << " shape operands but the result has rank "
                         << y.getRank();
  return success();
}

//===----------------------------------------------------------------------===//
// Constants and scalars
//===----------------------------------------------------------------------===//

LogicalResult ConstantOp::verify() {
  if (!isa<RankedTensorType>(getValue().getType()))
    return emitOpError() << "value must be a ranked tensor attribute, got "
                         << getValue().getType();
  return success();
}

OpFoldResult ConstantOp::fold(FoldAdaptor) { return getValue(); }

LogicalResult ScalarOp::verify() {
  if (failed(verifyDType(*this, getDtypeAttr(), getType())))
    return failure();
  return checkRank(*this, getType(), 0, "result");
}

LogicalResult ItemOp::verify() {
  auto t = ranked(getX());
  if (t && t.hasStaticShape() && t.getNumElements() != 1)
    return emitOpError() << "operand has " << t.getNumElements()
                         << " elements; item needs exactly one";
  return success();
}

LogicalResult SizeOp::verify() {
  return verifyDim(*this, getX().getType(), getDimAttr().getInt());
}

OpFoldResult SizeOp::fold(FoldAdaptor) {
  auto t = ranked(getX());
  if (!t)
    return {};
  int64_t d = getDimAttr().getInt() < 0 ? getDimAttr().getInt() + t.getRank()
                                        : getDimAttr().getInt();
  if (t.isDynamicDim(d))
    return {};
  return IntegerAttr::get(getType(), t.getDimSize(d));
}

OpFoldResult NumelOp::fold(FoldAdaptor) {
  auto t = ranked(getX());
  if (!t || !t.hasStaticShape())
    return {};
  return IntegerAttr::get(getType(), t.getNumElements());
}

//===----------------------------------------------------------------------===//
// Linear algebra
//===----------------------------------------------------------------------===//

LogicalResult MatmulOp::verify() {
  auto a = ranked(getA()), b = ranked(getB());
  if ((a && a.getRank() < 2) || (b && b.getRank() < 2))
    return emitOpError() << "operands must have rank 2 or more (reshape a "
                            "1-D operand), got "
                         << getA().getType() << " and " << getB().getType();
  if (!a || !b)
    return success();
  int64_t k1 = a.getDimSize(a.getRank() - 1),
          k2 = b.getDimSize(b.getRank() - 2);
  if (conflicts(k1, k2))
    return emitOpError() << "contracted dims differ: " << k1 << " in "
                         << getA().getType() << " and " << k2 << " in "
                         << getB().getType();
  // Batch dims broadcast.
  int64_t rank = std::max(a.getRank(), b.getRank());
  SmallVector<int64_t> shape(rank, 1);
  for (int64_t pos = 0; pos < rank - 2; ++pos) {
    int64_t ia = pos - (rank - a.getRank()), ib = pos - (rank - b.getRank());
    int64_t da = ia >= 0 ? a.getDimSize(ia) : 1;
    int64_t db = ib >= 0 ? b.getDimSize(ib) : 1;
    if (da != 1 && db != 1 && conflicts(da, db))
      return emitOpError() << "batch dims are not broadcast-compatible: " << da
                           << " and " << db << " in dim " << pos;
    shape[pos] = da == 1 ? db : (db == 1 ? da : (da == kDynamic ? db : da));
  }
  shape[rank - 2] = a.getDimSize(a.getRank() - 2);
  shape[rank - 1] = b.getDimSize(b.getRank() - 1);
  return checkShape(*this, getType(), shape, "result");
}

LogicalResult LinearOp::verify() {
  if (failed(checkRank(*this, getX().getType(), 2, "x")) ||
      failed(checkRank(*this, getW().getType(), 2, "w")) ||
      (getB() && failed(checkRank(*this, getB().getType(), 1, "b"))))
    return failure();
  Type et = getElementTypeOrSelf(getX().getType());
  if (getElementTypeOrSelf(getW().getType()) != et ||
      (getB() && getElementTypeOrSelf(getB().getType()) != et) ||
      getElementTypeOrSelf(getType()) != et)
    return emitOpError() << "x, w, b and the result must have the same "
                            "element type";
  auto x = ranked(getX()), w = ranked(getW());
  int64_t in1 = dimOf(x, 1), in2 = dimOf(w, 1), out = dimOf(w, 0);
  if (conflicts(in1, in2))
    return emitOpError() << "x has " << in1 << " input features but w has "
                         << in2;
  if (getB() && conflicts(dimOf(ranked(getB()), 0), out))
    return emitOpError() << "b has " << dimOf(ranked(getB()), 0)
                         << " elements but w has " << out << " output features";
  return checkShape(*this, getType(), {dimOf(x, 0), out}, "result");
}

//===----------------------------------------------------------------------===//
// Adjoint helpers
//===----------------------------------------------------------------------===//

LogicalResult SumToOp::verify() {
  if (failed(checkSameShape(*this, getType(), getLike().getType(), "result",
                            "`like`")))
    return failure();
  auto x = ranked(getX()), like = ranked(getLike());
  if (!x || !like)
    return success();
  if (like.getRank() > x.getRank())
    return emitOpError() << "cannot sum " << getX().getType()
                         << " to the larger rank of " << getLike().getType();
  int64_t offset = x.getRank() - like.getRank();
  for (auto [i, d] : llvm::enumerate(like.getShape()))
    if (d != 1 && conflicts(d, x.getDimSize(offset + i)))
      return emitOpError() << getLike().getType() << " does not broadcast to "
                           << getX().getType() << " (dim " << i << ")";
  return success();
}

LogicalResult BroadcastToOp::verify() {
  if (failed(checkSameShape(*this, getType(), getLike().getType(), "result",
                            "`like`")))
    return failure();
  auto x = ranked(getX()), like = ranked(getLike());
  if (!x || !like)
    return success();
  if (x.getRank() > like.getRank())
    return emitOpError() << "cannot broadcast " << getX().getType()
                         << " to the smaller rank of " << getLike().getType();
  int64_t offset = like.getRank() - x.getRank();
  for (auto [i, d] : llvm::enumerate(x.getShape()))
    if (d != 1 && conflicts(d, like.getDimSize(offset + i)))
      return emitOpError() << getX().getType() << " does not broadcast to "
                           << getLike().getType() << " (dim " << i << ")";
  return success();
}

LogicalResult ReshapeLikeOp::verify() {
  if (failed(checkSameShape(*this, getType(), getLike().getType(), "result",
                            "`like`")))
    return failure();
  auto x = ranked(getX()), like = ranked(getLike());
  if (x && like && x.hasStaticShape() && like.hasStaticShape() &&
      x.getNumElements() != like.getNumElements())
    return emitOpError() << "cannot reshape " << x.getNumElements()
                         << " elements to " << like.getNumElements();
  return success();
}

/// x already has the result's static type: nothing to do.
template <typename Op> static OpFoldResult foldLike(Op op) {
  auto t = ranked(op.getType());
  if (t && t.hasStaticShape() && op.getX().getType() == t)
    return op.getX();
  if (op.getX().getType() == op.getType() &&
      op.getX().getType() == op.getLike().getType() && t)
    return op.getX();
  return {};
}

OpFoldResult SumToOp::fold(FoldAdaptor) { return foldLike(*this); }
OpFoldResult BroadcastToOp::fold(FoldAdaptor) { return foldLike(*this); }
OpFoldResult ReshapeLikeOp::fold(FoldAdaptor) { return foldLike(*this); }

//===----------------------------------------------------------------------===//
// Losses
//===----------------------------------------------------------------------===//

/// scores [N, C], labels [N].
static LogicalResult verifyClassScores(Operation *op, Value scores,
                                       Value labels) {
  if (failed(checkRank(op, scores.getType(), 2, "scores")) ||
      failed(checkRank(op, labels.getType(), 1, "labels")))
    return failure();
  int64_t n1 = dimOf(ranked(scores), 0), n2 = dimOf(ranked(labels), 0);
  if (conflicts(n1, n2))
    return op->emitOpError()
           << "scores have " << n1 << " rows but there are " << n2 << " labels";
  return success();
}

LogicalResult NllOp::verify() {
  if (failed(verifyClassScores(*this, getScores(), getLabels())))
    return failure();
  return checkRank(*this, getType(), 0, "the loss");
}

LogicalResult NllBackOp::verify() {
  if (failed(verifyClassScores(*this, getScores(), getLabels())) ||
      failed(checkRank(*this, getDy().getType(), 0, "the loss gradient dy")))
    return failure();
  return checkSameShape(*this, getType(), getScores().getType(), "result",
                        "the scores");
}

LogicalResult AccuracyOp::verify() {
  return verifyClassScores(*this, getScores(), getLabels());
}

//===----------------------------------------------------------------------===//
// Convolution and pooling
//===----------------------------------------------------------------------===//

static LogicalResult checkRank4(Operation *op) {
  for (auto [i, v] : llvm::enumerate(op->getOperands()))
    if (failed(checkRank(op, v.getType(), 4,
                         ("operand #" + Twine(i) + " (NCHW)").str())))
      return failure();
  return checkRank(op, op->getResult(0).getType(), 4, "result (NCHW)");
}

static int64_t convOut(int64_t in, int64_t k, int64_t pad, int64_t stride,
                       int64_t dilation) {
  if (in == kDynamic || k == kDynamic)
    return kDynamic;
  return (in + 2 * pad - dilation * (k - 1) - 1) / stride + 1;
}

static int64_t deconvOut(int64_t in, int64_t k, int64_t pad, int64_t stride,
                         int64_t dilation) {
  if (in == kDynamic || k == kDynamic)
    return kDynamic;
  return (in - 1) * stride - 2 * pad + dilation * (k - 1) + 1;
}

/// conv2d and deconv2d: channels and the output shape.
template <typename Op> static LogicalResult verifyConvForward(Op op, bool de) {
  if (failed(checkRank4(op)))
    return failure();
  auto x = ranked(op.getX()), w = ranked(op.getW());
  int64_t groups = op.getGroups();
  int64_t c = dimOf(x, 1);
  // conv2d: w is [Cout, Cin/groups, kH, kW]; deconv2d: [Cin, Cout/groups, ..].
  int64_t wIn = de ? dimOf(w, 0) : dimOf(w, 1);
  int64_t wOut = de ? dimOf(w, 1) : dimOf(w, 0);
  if (c != kDynamic && c % groups != 0)
    return op.emitOpError()
           << "the " << c
           << " input channels are not divisible by groups = " << groups;
  if (!de && conflicts(c, wIn == kDynamic ? kDynamic : wIn * groups))
    return op.emitOpError() << "x has " << c << " channels but w expects "
                            << wIn << " x " << groups << " groups";
  if (de && conflicts(c, wIn))
    return op.emitOpError()
           << "x has " << c << " channels but w expects " << wIn;
  if (!de && wOut != kDynamic && wOut % groups != 0)
    return op.emitOpError()
           << "the " << wOut
           << " output channels are not divisible by groups = " << groups;
  int64_t outC = de ? (wOut == kDynamic ? kDynamic : wOut * groups) : wOut;
  auto spatial = de ? deconvOut : convOut;
  SmallVector<int64_t> shape = {dimOf(x, 0), outC};
  for (int i = 2; i < 4; ++i) {
    int64_t s = spatial(dimOf(x, i), dimOf(w, i), op.getPadding(),
                        op.getStride(), op.getDilation());
    if (s != kDynamic && s < 1)
      return op.emitOpError() << "the output would be empty in dim " << i
                              << " (size " << s << ")";
    shape.push_back(s);
  }
  return checkShape(op, op.getType(), shape, "result");
}

LogicalResult Conv2dOp::verify() { return verifyConvForward(*this, false); }
LogicalResult Deconv2dOp::verify() { return verifyConvForward(*this, true); }

LogicalResult Conv2dBackDataOp::verify() {
  if (failed(checkRank4(*this)))
    return failure();
  return checkSameShape(*this, getType(), getLike().getType(), "result",
                        "`like` (x)");
}

LogicalResult Conv2dBackFilterOp::verify() {
  if (failed(checkRank4(*this)))
    return failure();
  return checkSameShape(*this, getType(), getLike().getType(), "result",
                        "`like` (w)");
}

template <typename Op> static LogicalResult verifyPoolOptions(Op op) {
  if (static_cast<int64_t>(op.getPadding()) >=
      static_cast<int64_t>(op.getWindow()))
    return op.emitOpError()
           << "padding " << op.getPadding()
           << " must be smaller than the window " << op.getWindow();
  return checkRank4(op);
}

static int64_t poolStride(int64_t stride, int64_t window) {
  return stride == 0 ? window : stride;
}

LogicalResult PoolOp::verify() {
  if (failed(verifyPoolOptions(*this)))
    return failure();
  auto x = ranked(getX());
  int64_t s = poolStride(getStride(), getWindow());
  SmallVector<int64_t> shape = {dimOf(x, 0), dimOf(x, 1)};
  for (int i = 2; i < 4; ++i)
    shape.push_back(convOut(dimOf(x, i), getWindow(), getPadding(), s, 1));
  return checkShape(*this, getType(), shape, "result");
}

LogicalResult PoolBackOp::verify() {
  if (failed(verifyPoolOptions(*this)) ||
      failed(checkSameShape(*this, getDy().getType(), getY().getType(), "dy",
                            "y")))
    return failure();
  return checkSameShape(*this, getType(), getX().getType(), "result", "x");
}

LogicalResult UnpoolOp::verify() {
  if (failed(verifyPoolOptions(*this)))
    return failure();
  auto x = ranked(getX());
  int64_t s = poolStride(getStride(), getWindow());
  SmallVector<int64_t> shape = {dimOf(x, 0), dimOf(x, 1)};
  for (int i = 2; i < 4; ++i)
    shape.push_back(deconvOut(dimOf(x, i), getWindow(), getPadding(), s, 1));
  return checkShape(*this, getType(), shape, "result");
}

//===----------------------------------------------------------------------===//
// Normalization and dropout
//===----------------------------------------------------------------------===//

static LogicalResult verifyBatchnormShapes(Operation *op, Value x, Value params,
                                           double eps) {
  auto xt = ranked(x);
  if (xt && xt.getRank() != 2 && xt.getRank() != 4)
    return op->emitOpError()
           << "x must be [N, C] or [N, C, H, W], got " << x.getType();
  if (failed(checkRank(op, params.getType(), 1, "params")))
    return failure();
  int64_t c = dimOf(xt, 1), p = dimOf(ranked(params), 0);
  if (c != kDynamic && conflicts(2 * c, p))
    return op->emitOpError() << "params must have 2C = " << 2 * c
                             << " elements (scale, then shift), got " << p;
  if (!(eps > 0))
    return op->emitOpError() << "eps must be positive, got " << eps;
  return success();
}

LogicalResult BatchnormOp::verify() {
  if (failed(verifyBatchnormShapes(*this, getX(), getParams(),
                                   getEps().convertToDouble())))
    return failure();
  double m = getMomentum().convertToDouble();
  if (!(m >= 0 && m <= 1))
    return emitOpError() << "momentum must be in [0, 1], got " << m;
  return checkSameShape(*this, getType(), getX().getType(), "result", "x");
}

LogicalResult BatchnormBackOp::verify() {
  if (failed(verifyBatchnormShapes(*this, getX(), getParams(),
                                   getEps().convertToDouble())) ||
      failed(checkSameShape(*this, getDy().getType(), getX().getType(), "dy",
                            "x")) ||
      failed(checkSameShape(*this, getDx().getType(), getX().getType(),
                            "result dx", "x")))
    return failure();
  return checkSameShape(*this, getDparams().getType(), getParams().getType(),
                        "result dparams", "params");
}

static LogicalResult verifyDropoutP(Operation *op, double p) {
  if (!(p >= 0 && p < 1))
    return op->emitOpError() << "p must be in [0, 1), got " << p;
  return success();
}

LogicalResult DropoutOp::verify() {
  return verifyDropoutP(*this, getP().convertToDouble());
}

LogicalResult DropoutBackOp::verify() {
  return verifyDropoutP(*this, getP().convertToDouble());
}

//===----------------------------------------------------------------------===//
// Gather, join, split and views
//===----------------------------------------------------------------------===//

LogicalResult EmbeddingOp::verify() {
  if (failed(checkRank(*this, getTable().getType(), 2, "table")))
    return failure();
  auto ids = ranked(getIds());
  if (!ids)
    return success();
  SmallVector<int64_t> shape(ids.getShape());
  shape.push_back(dimOf(ranked(getTable()), 1));
  return checkShape(*this, getType(), shape, "result");
}

LogicalResult EmbeddingBackOp::verify() {
  if (failed(checkRank(*this, getLike().getType(), 2, "`like` (the table)")))
    return failure();
  return checkSameShape(*this, getType(), getLike().getType(), "result",
                        "`like` (the table)");
}

/// All operands of a join have the same element type and rank.
static LogicalResult verifyJoinOperands(Operation *op, ValueRange xs,
                                        int64_t &rank) {
  if (xs.empty())
    return op->emitOpError() << "needs at least one operand";
  Type et = getElementTypeOrSelf(xs[0].getType());
  rank = -1;
  for (auto [i, v] : llvm::enumerate(xs)) {
    if (getElementTypeOrSelf(v.getType()) != et)
      return op->emitOpError() << "operand #" << i << " has element type "
                               << getElementTypeOrSelf(v.getType())
                               << " but operand #0 has " << et;
    auto t = ranked(v);
    if (!t)
      continue;
    if (rank != -1 && t.getRank() != rank)
      return op->emitOpError()
             << "operand #" << i << " has rank " << t.getRank()
             << " but the operands before it have rank " << rank;
    rank = t.getRank();
  }
  if (getElementTypeOrSelf(op->getResult(0).getType()) != et)
    return op->emitOpError() << "result element type must be " << et;
  return success();
}

LogicalResult ConcatOp::verify() {
  int64_t rank;
  if (failed(verifyJoinOperands(*this, getXs(), rank)))
    return failure();
  if (rank < 0)
    return success();
  FailureOr<int64_t> dim = normalizeDim(*this, getDimAttr().getInt(), rank);
  if (failed(dim))
    return failure();
  SmallVector<int64_t> shape(rank, kDynamic);
  bool allRanked = true;
  int64_t total = 0;
  for (auto [i, v] : llvm::enumerate(getXs())) {
    auto t = ranked(v);
    if (!t) {
      allRanked = false;
      continue;
    }
    for (int64_t k = 0; k < rank; ++k) {
      if (k == *dim)
        continue;
      if (conflicts(shape[k], t.getDimSize(k)))
        return emitOpError() << "operand #" << i << " has size "
                             << t.getDimSize(k) << " in dim " << k
                             << " but the operands before it have " << shape[k];
      if (t.getDimSize(k) != kDynamic)
        shape[k] = t.getDimSize(k);
    }
    total = (total == kDynamic || t.isDynamicDim(*dim))
                ? kDynamic
                : total + t.getDimSize(*dim);
  }
  shape[*dim] = allRanked ? total : kDynamic;
  return checkShape(*this, getType(), shape, "result");
}

LogicalResult StackOp::verify() {
  int64_t rank;
  if (failed(verifyJoinOperands(*this, getXs(), rank)))
    return failure();
  if (rank < 0)
    return success();
  FailureOr<int64_t> dim = normalizeDim(*this, getDimAttr().getInt(), rank + 1);
  if (failed(dim))
    return failure();
  SmallVector<int64_t> shape(rank, kDynamic);
  for (auto [i, v] : llvm::enumerate(getXs())) {
    auto t = ranked(v);
    if (!t)
      continue;
    for (int64_t k = 0; k < rank; ++k) {
      if (conflicts(shape[k], t.getDimSize(k)))
        return emitOpError() << "operand #" << i << " has size "
                             << t.getDimSize(k) << " in dim " << k
                             << " but the operands before it have " << shape[k];
      if (t.getDimSize(k) != kDynamic)
        shape[k] = t.getDimSize(k);
    }
  }
  shape.insert(shape.begin() + *dim, static_cast<int64_t>(getXs().size()));
  return checkShape(*this, getType(), shape, "result");
}

LogicalResult ChunkOp::verify() {
  auto elem = cast<TensorType>(cast<ListType>(getType()).getElementType());
  if (elem.getElementType() != getElementTypeOrSelf(getX().getType()))
    return emitOpError() << "the list's tensors must have the element type "
                         << getElementTypeOrSelf(getX().getType());
  auto x = ranked(getX());
  if (!x)
    return success();
  if (failed(normalizeDim(*this, getDimAttr().getInt(), x.getRank())))
    return failure();
  return checkRank(*this, elem, x.getRank(), "the list's tensor type");
}

LogicalResult MatOp::verify() {
  auto x = ranked(getX());
  if (x && x.getRank() < 1)
    return emitOpError() << "cannot flatten a 0-d tensor to [N, rest]";
  int64_t n = dimOf(x, 0), rest = x ? 1 : kDynamic;
  if (x)
    for (int64_t d : x.getShape().drop_front())
      rest = (rest == kDynamic || d == kDynamic) ? kDynamic : rest * d;
  return checkShape(*this, getType(), {n, rest}, "result");
}

LogicalResult ReshapeOp::verify() {
  auto y = ranked(getType());
  if (y && static_cast<int64_t>(getShape().size()) != y.getRank())
    return emitOpError() << "has " << getShape().size()
                         << " shape operands but the result has rank "
                         << y.getRank();
  auto x = ranked(getX());
  if (x && y && x.hasStaticShape() && y.hasStaticShape() &&
      x.getNumElements() != y.getNumElements())
    return emitOpError() << "cannot reshape " << x.getNumElements()
                         << " elements to " << y.getNumElements();
  return success();
}

OpFoldResult ReshapeOp::fold(FoldAdaptor) {
  auto y = ranked(getType());
  if (y && y.hasStaticShape() && getX().getType() == y)
    return getX();
  return {};
}

LogicalResult TransposeOp::verify() {
  auto x = ranked(getX());
  if (!x)
    return success();
  FailureOr<int64_t> a =
      normalizeDim(*this, getDim0Attr().getInt(), x.getRank(), "dim0");
  if (failed(a))
    return failure();
  FailureOr<int64_t> b =
      normalizeDim(*this, getDim1Attr().getInt(), x.getRank(), "dim1");
  if (failed(b))
    return failure();
  SmallVector<int64_t> shape(x.getShape());
  std::swap(shape[*a], shape[*b]);
  return checkShape(*this, getType(), shape, "result");
}

OpFoldResult TransposeOp::fold(FoldAdaptor) {
  auto x = ranked(getX());
  if (!x)
    return {};
  auto norm = [&](int64_t d) { return d < 0 ? d + x.getRank() : d; };
  int64_t a = norm(getDim0Attr().getInt()), b = norm(getDim1Attr().getInt());
  if (a == b && getX().getType() == getType())
    return getX();
  // transpose(transpose(y, a, b), a, b) = y
  if (auto inner = getX().getDefiningOp<TransposeOp>()) {
    int64_t c = norm(inner.getDim0Attr().getInt()),
            d = norm(inner.getDim1Attr().getInt());
    if (((a == c && b == d) || (a == d && b == c)) &&
        inner.getX().getType() == getType())
      return inner.getX();
  }
  return {};
}

LogicalResult PermuteOp::verify() {
  auto x = ranked(getX());
  if (!x)
    return success();
  ArrayRef<int64_t> perm = getPerm();
  llvm::SmallBitVector seen(x.getRank());
  bool valid = static_cast<int64_t>(perm.size()) == x.getRank();
  for (int64_t p : perm) {
    if (!valid || p < 0 || p >= x.getRank() || seen.test(p)) {
      valid = false;
      break;
    }
    seen.set(p);
  }
  if (!valid)
    return emitOpError() << "perm " << shapeStr(perm)
                         << " is not a permutation of the " << x.getRank()
                         << " dims of " << getX().getType();
  SmallVector<int64_t> shape;
  for (int64_t p : perm)
    shape.push_back(x.getDimSize(p));
  return checkShape(*this, getType(), shape, "result");
}

OpFoldResult PermuteOp::fold(FoldAdaptor) {
  ArrayRef<int64_t> perm = getPerm();
  bool identity = llvm::all_of(llvm::enumerate(perm), [](auto p) {
    return static_cast<int64_t>(p.index()) == p.value();
  });
  if (identity && getX().getType() == getType())
    return getX();
  // permute(permute(y, p), q) = permute(y, p[q[i]])
  if (auto inner = getX().getDefiningOp<PermuteOp>()) {
    ArrayRef<int64_t> p = inner.getPerm();
    SmallVector<int64_t> composed;
    for (int64_t q : perm)
      composed.push_back(p[q]);
    getXMutable().assign(inner.getX());
    setPerm(composed);
    return getResult();
  }
  return {};
}

LogicalResult SliceOp::verify() {
  auto x = ranked(getX());
  if (!x)
    return success();
  if (failed(normalizeDim(*this, getDimAttr().getInt(), x.getRank())))
    return failure();
  return checkRank(*this, getType(), x.getRank(), "result");
}

LogicalResult SliceBackOp::verify() {
  if (failed(checkSameShape(*this, getType(), getLike().getType(), "result",
                            "`like`")))
    return failure();
  auto like = ranked(getLike());
  if (!like)
    return success();
  if (failed(normalizeDim(*this, getDimAttr().getInt(), like.getRank())))
    return failure();
  return checkRank(*this, getDy().getType(), like.getRank(), "dy");
}

LogicalResult SelectOp::verify() {
  auto x = ranked(getX());
  if (!x)
    return success();
  FailureOr<int64_t> dim =
      normalizeDim(*this, getDimAttr().getInt(), x.getRank());
  if (failed(dim))
    return failure();
  SmallVector<int64_t> shape(x.getShape());
  shape.erase(shape.begin() + *dim);
  return checkShape(*this, getType(), shape, "result");
}

LogicalResult SelectBackOp::verify() {
  if (failed(checkSameShape(*this, getType(), getLike().getType(), "result",
                            "`like`")))
    return failure();
  auto like = ranked(getLike());
  if (!like)
    return success();
  if (failed(normalizeDim(*this, getDimAttr().getInt(), like.getRank())))
    return failure();
  return checkRank(*this, getDy().getType(), like.getRank() - 1, "dy");
}

LogicalResult SqueezeOp::verify() {
  auto x = ranked(getX());
  if (!x)
    return success();
  FailureOr<int64_t> dim =
      normalizeDim(*this, getDimAttr().getInt(), x.getRank());
  if (failed(dim))
    return failure();
  if (conflicts(x.getDimSize(*dim), 1))
    return emitOpError() << "dim " << getDimAttr().getInt() << " has size "
                         << x.getDimSize(*dim) << "; squeeze needs size 1";
  SmallVector<int64_t> shape(x.getShape());
  shape.erase(shape.begin() + *dim);
  return checkShape(*this, getType(), shape, "result");
}

LogicalResult UnsqueezeOp::verify() {
  auto x = ranked(getX());
  if (!x)
    return success();
  FailureOr<int64_t> dim =
      normalizeDim(*this, getDimAttr().getInt(), x.getRank() + 1);
  if (failed(dim))
    return failure();
  SmallVector<int64_t> shape(x.getShape());
  shape.insert(shape.begin() + *dim, 1);
  return checkShape(*this, getType(), shape, "result");
}

//===----------------------------------------------------------------------===//
// Lists
//===----------------------------------------------------------------------===//

LogicalResult ListMakeOp::verify() {
  Type elem = cast<ListType>(getType()).getElementType();
  for (auto [i, v] : llvm::enumerate(getElements()))
    if (v.getType() != elem)
      return emitOpError() << "element #" << i << " has type " << v.getType()
                           << " but the list holds " << elem;
  return success();
}

OpFoldResult ListGetOp::fold(FoldAdaptor adaptor) {
  auto index = dyn_cast_or_null<IntegerAttr>(adaptor.getIndex());
  if (!index)
    return {};
  // Through a list_set at a constant index: its value, or (another index)
  // the element of the list it updated.
  if (auto set = getList().getDefiningOp<ListSetOp>()) {
    IntegerAttr at;
    if (!matchPattern(set.getIndex(), m_Constant(&at)))
      return {};
    if (at.getInt() == index.getInt())
      return set.getValue();
    getListMutable().assign(set.getList());
    return getResult();
  }
  auto make = getList().getDefiningOp<ListMakeOp>();
  if (!make)
    return {};
  int64_t i = index.getInt();
  if (i < 0 || i >= static_cast<int64_t>(make.getElements().size()))
    return {};
  return make.getElements()[i];
}

/// list_get(list_zeros_like(l), i) -> zeros_like(list_get(l, i)).
LogicalResult ListGetOp::canonicalize(ListGetOp op, PatternRewriter &rewriter) {
  auto zeros = op.getList().getDefiningOp<ListZerosLikeOp>();
  if (!zeros)
    return failure();
  // Both stay in the sweep (forward or reverse) the list_get was in: its
  // attributes are read before it is replaced (and freed).
  DictionaryAttr sweep = op->getDiscardableAttrDictionary();
  auto element =
      rewriter.create<ListGetOp>(op.getLoc(), zeros.getList(), op.getIndex());
  auto zero = rewriter.replaceOpWithNewOp<ZerosLikeOp>(op, element);
  for (Operation *created : {element.getOperation(), zero.getOperation()})
    created->setDiscardableAttrs(sweep);
  return success();
}

LogicalResult ListSetOp::verify() {
  Type elem = cast<ListType>(getType()).getElementType();
  if (getValue().getType() != elem)
    return emitOpError() << "value has type " << getValue().getType()
                         << " but the list holds " << elem;
  return success();
}

OpFoldResult ListSizeOp::fold(FoldAdaptor) {
  if (auto make = getList().getDefiningOp<ListMakeOp>())
    return IntegerAttr::get(getType(), make.getElements().size());
  return {};
}

//===----------------------------------------------------------------------===//
// The value stack
//===----------------------------------------------------------------------===//

/// Whether `op` or an op nested in it uses `stack`.
static bool touchesStack(Operation *op, Value stack) {
  return llvm::any_of(stack.getUsers(),
                      [&](Operation *user) { return op->isAncestor(user); });
}

LogicalResult StackPopOp::canonicalize(StackPopOp op,
                                       PatternRewriter &rewriter) {
  Value stack = op.getStack();
  for (Operation *prev = op->getPrevNode(); prev; prev = prev->getPrevNode()) {
    if (auto push = dyn_cast<StackPushOp>(prev)) {
      if (push.getStack() == stack) {
        rewriter.replaceOp(op, push.getValue());
        rewriter.eraseOp(push);
        // A stack left without uses goes too.
        if (auto make = stack.getDefiningOp<StackNewOp>();
            make && make->use_empty())
          rewriter.eraseOp(make);
        return success();
      }
      continue;
    }
    if (touchesStack(prev, stack))
      return failure();
  }
  return failure();
}

//===----------------------------------------------------------------------===//
// knet.fused
//===----------------------------------------------------------------------===//

LogicalResult FusedOp::verify() {
  if (!getReduce() && (getDims() || getKeepdim()))
    return emitOpError() << "'dims' and 'keepdim' need a 'reduce'";
  if (getReduce() && getNumResults() == 0)
    return emitOpError() << "a 'reduce' kernel has the reduction's result";
  int64_t numInputs = getInputs().size();
  if (std::optional<ArrayAttr> checks = getChecks()) {
    for (Attribute a : *checks) {
      ArrayRef<int64_t> c = cast<DenseI64ArrayAttr>(a).asArrayRef();
      if (c.empty() || c[0] < 1 || c[0] + 2 > static_cast<int64_t>(c.size()))
        return emitOpError() << "a shape check is [n, a1..an, b1..bm] with "
                                "n >= 1 and m >= 1";
      for (int64_t index : c.drop_front())
        if (index < 0 || index >= numInputs)
          return emitOpError() << "a shape check names input #" << index
                               << " but the op has " << numInputs << " inputs";
    }
  }
  if (std::optional<ArrayAttr> cones = getCones())
    for (Attribute a : *cones)
      for (int64_t index : cast<DenseI64ArrayAttr>(a).asArrayRef())
        if (index < 0 || index >= numInputs)
          return emitOpError() << "a dtype cone names input #" << index
                               << " but the op has " << numInputs << " inputs";
  if (getReduce() == ReduceKind::sum_to) {
    if (numInputs < 1 || getDims() || getKeepdim())
      return emitOpError() << "'reduce sum_to' takes the shape of its last "
                              "input and no 'dims' or 'keepdim'";
    // Further results are elementwise over the other inputs (unchecked).
    if (auto like = ranked(getInputs().back()))
      if (failed(checkShape(*this, getResult(0).getType(), like.getShape(),
                            "result")))
        return failure();
    return success();
  }
  SmallVector<int64_t> shape;
  bool certain;
  if (failed(broadcastShape(*this, shape, certain)))
    return failure();
  if (getReduce()) {
    if (!certain)
      return success();
    FailureOr<SmallVector<int64_t>> reduced =
        reducedShape(*this, shape, getDims().value_or(ArrayRef<int64_t>{}),
                     getKeepdim(), /*allDimsWhenEmpty=*/true);
    if (failed(reduced))
      return failure();
    // The first result is reduced; further ones are elementwise.
    if (failed(checkShape(*this, getResult(0).getType(), *reduced, "result")))
      return failure();
    for (Type t : llvm::drop_begin(getResultTypes()))
      if (failed(checkBroadcastResult(*this, t, shape, certain)))
        return failure();
    return success();
  }
  for (Type t : getResultTypes())
    if (failed(checkBroadcastResult(*this, t, shape, certain)))
      return failure();
  return success();
}

LogicalResult FusedOp::verifyRegions() {
  Block &body = getBody().front();
  if (body.getNumArguments() != getInputs().size())
    return emitOpError() << "the body has " << body.getNumArguments()
                         << " arguments but the op has " << getInputs().size()
                         << " inputs";
  for (auto [i, arg, input] :
       llvm::enumerate(body.getArguments(), getInputs())) {
    Type et = getElementTypeOrSelf(input.getType());
    if (arg.getType() != et)
      return emitOpError() << "body argument #" << i << " has type "
                           << arg.getType() << " but input #" << i
                           << " has element type " << et;
  }
  for (Operation &op : body) {
    if (isa<YieldOp>(op))
      continue;
    StringRef ns = op.getDialect() ? op.getDialect()->getNamespace() : "";
    if (ns != "arith" && ns != "math")
      return op.emitOpError()
             << "is not allowed in a knet.fused body: only arith and math "
                "ops compute on scalars there";
    for (Type t : op.getResultTypes())
      if (!t.isIntOrFloat())
        return op.emitOpError()
               << "in a knet.fused body must compute scalars, got " << t;
  }
  auto yield = dyn_cast<YieldOp>(body.getTerminator());
  if (!yield)
    return emitOpError() << "the body must end in knet.yield";
  if (failed(verifyFallback()))
    return failure();
  if (yield.getValues().size() != getNumResults())
    return emitOpError() << "the body yields " << yield.getValues().size()
                         << " values but the op has " << getNumResults()
                         << " results";
  for (auto [i, v, r] : llvm::enumerate(yield.getValues(), getResults())) {
    Type et = getElementTypeOrSelf(r.getType());
    if (v.getType() != et)
      return emitOpError() << "yielded value #" << i << " has type "
                           << v.getType() << " but result #" << i
                           << " has element type " << et;
  }
  return success();
}

LogicalResult FusedOp::verifyFallback() {
  Region &region = getFallback();
  if (region.empty())
    return success();
  if (!region.hasOneBlock())
    return emitOpError() << "the fallback must be one block";
  Block &block = region.front();
  if (block.getNumArguments() != getInputs().size())
    return emitOpError() << "the fallback has " << block.getNumArguments()
                         << " arguments but the op has " << getInputs().size()
                         << " inputs";
  for (auto [i, arg, input] :
       llvm::enumerate(block.getArguments(), getInputs()))
    if (arg.getType() != input.getType())
      return emitOpError() << "fallback argument #" << i << " has type "
                           << arg.getType() << " but input #" << i
                           << " has type " << input.getType();
  auto yield = dyn_cast<YieldOp>(block.getTerminator());
  if (!yield || yield.getValues().getTypes() != getResultTypes())
    return emitOpError() << "the fallback must end in knet.yield of the "
                            "results' types";
  return success();
}
