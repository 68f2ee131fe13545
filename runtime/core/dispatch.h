// dtype dispatch: call a templated lambda with the C++ type of a dtype.
#pragma once

#include <knet/error.h>
#include <knet/tensor.h>

#include <cstdint>

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
// A 0-d floating operand takes the floating dtype of the other operand, as
// a C++ double does (`x * 0.5`); of two 0-d operands the f64 one adapts.
// knetc's generated code carries scalars as 0-d f64 tensors and relies on
// this. Other dtype pairs are left alone (an error where they must agree).
void unify_scalar_dtype(Tensor &a, Tensor &b);
// Throws unless a and b have one dtype.
void check_same_dtype(const Tensor &a, const Tensor &b, const char *op);

} // namespace knet::detail
