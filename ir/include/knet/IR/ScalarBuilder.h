//===- ScalarBuilder.h - scalar bodies of elementwise ops -------*- C++ -*-===//
//
// A thin builder of arith/math ops over scalars, used by the scalar bodies of
// the elementwise ops (ScalarElementwiseOpInterface::buildScalar). Each
// helper picks the float or integer op from the operand's type, so one body
// serves f32, f64 and i64 elements.
//
//===----------------------------------------------------------------------===//

#ifndef KNET_IR_SCALARBUILDER_H
#define KNET_IR_SCALARBUILDER_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/Location.h"
#include "mlir/IR/Value.h"

#include "llvm/ADT/SmallVector.h"

#include <tuple>

namespace mlir::knet {

// The constants of the runtime's activations (runtime/ops/unary.cpp).
inline constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
inline constexpr double kSeluLambda = 1.0507009873554804934193349852946;
inline constexpr double kGeluC = 0.7978845608028654; // sqrt(2/pi)
inline constexpr double kGeluK = 0.044715;

enum class CmpKind { eq, ne, lt, le, gt, ge };

class ScalarBuilder {
public:
  ScalarBuilder(OpBuilder &builder, Location loc) : b(builder), loc(loc) {}

  /// A constant of the type of `like` (or of `type`); one op per distinct
  /// constant of a body.
  Value c(Value like, double v) { return c(like.getType(), v); }
  Value c(Type type, double v);
  Value zero(Value like) { return c(like, 0.0); }
  Value one(Value like) { return c(like, 1.0); }

  Value add(Value a, Value b);
  Value sub(Value a, Value b);
  Value mul(Value a, Value b);
  Value div(Value a, Value b);
  Value neg(Value x);
  Value abs(Value x);
  Value max(Value a, Value b);
  Value min(Value a, Value b);
  Value sign(Value x);
  Value cmp(CmpKind kind, Value a, Value b);
  Value select(Value cond, Value a, Value b);
  Value cast(Value x, Type to);

  Value exp(Value x);
  Value expm1(Value x);
  Value log(Value x);
  Value log1p(Value x);
  Value sqrt(Value x);
  Value rsqrt(Value x);
  Value sin(Value x);
  Value cos(Value x);
  Value tanh(Value x);
  Value pow(Value a, Value b);
  /// 1 / (1 + exp(-x)), stable for large |x| as the runtime's.
  Value sigm(Value x);
  /// The tanh approximation, as Knet's.
  Value gelu(Value x);
  /// d gelu(x) / dx.
  Value geluDerivative(Value x);

  /// The underlying builder (for ops without a helper).
  OpBuilder &builder() { return b; }

private:
  OpBuilder &b;
  Location loc;
  llvm::SmallVector<std::tuple<Type, double, Value>, 4> constants;
};

/// Puts the ops of a scalar body (one block of side-effect-free ops ending in
/// a terminator) in one order that depends only on its dataflow: each op
/// after its operands' definitions, found depth first from the terminator's
/// operands, last operand first (dead ops then, in their order). The order
/// in which the builder's ops were created follows the C++ compiler's
/// unspecified order of evaluating arguments (sb.mul(sb.exp(x), sb.c(x, 2))),
/// so without this the kernels knetc emits would depend on the compiler that
/// built knetc.
void orderScalarBody(Block &body);

} // namespace mlir::knet

#endif // KNET_IR_SCALARBUILDER_H
