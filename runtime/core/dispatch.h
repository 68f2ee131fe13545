// dtype dispatch: call a templated lambda with the C++ type of a dtype.
#pragma once

#include <knet/error.h>
#include <knet/tensor.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>

namespace knet::detail {

// f(<T>) for T in {float, double}.
template <class F>
decltype(auto) dispatch_float(DType t, const char *op, F &&f) {
  switch (t) {
  case DType::f32:
    return f.template operator()<float>();
  case DType::f64:
    return f.template operator()<double>();
  default:
    fail(op, ": expected a floating dtype (f32 or f64), got ", dtype_name(t));
  }
}

// f(<T>) for every numeric dtype the CPU stores (not b8).
template <class F>
decltype(auto) dispatch_numeric(DType t, const char *op, F &&f) {
  switch (t) {
  case DType::f32:
    return f.template operator()<float>();
  case DType::f64:
    return f.template operator()<double>();
  case DType::i32:
    return f.template operator()<int32_t>();
  case DType::i64:
    return f.template operator()<int64_t>();
  case DType::u8:
    return f.template operator()<uint8_t>();
  default:
    fail(op, ": unsupported dtype ", dtype_name(t));
  }
}

// f(<T>) for every dtype the CPU stores.
template <class F> decltype(auto) dispatch_all(DType t, const char *op, F &&f) {
  if (t == DType::b8)
    return f.template operator()<bool>();
  return dispatch_numeric(t, op, std::forward<F>(f));
}

// Throws unless `t` is on the CPU (the CPU kernels' precondition).
void check_cpu(const Tensor &t, const char *op);
// Dtype promotion, stated once (docs/ops.md, "Dtype promotion"): a weak
// operand (Tensor::is_weak: Tensor::scalar(v) without a dtype, a C++ number
// in an op or in knetc's generated code) takes the float dtype of the other
// operand; any other pair keeps its dtypes, 0-d or not, and must agree (an
// error where the op checks it). Two weak operands stay f64.
void unify_scalar_dtype(Tensor &a, Tensor &b);
// Marks `y` weak when every float operand in `in` is weak (the result of
// an op over weak scalars only is weak too).
void propagate_weak(Tensor &y, std::span<const Tensor *const> in);
inline void propagate_weak(Tensor &y,
                           std::initializer_list<const Tensor *> in) {
  propagate_weak(y, std::span(in.begin(), in.size()));
}
// The dtype a fused kernel over these float operands computes in, by the
// same rule: that of the operands that are not weak, which must agree, or
// f64 when all are weak; nullopt when they disagree.
std::optional<DType> promoted_float_dtype(std::span<const Tensor *const> in);
// Throws unless a and b have one dtype.
void check_same_dtype(const Tensor &a, const Tensor &b, const char *op);

} // namespace knet::detail
