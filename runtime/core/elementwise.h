// Helpers that build elementwise ops on the loop driver (internal).
#pragma once

#include "core/autograd.h"
#include "core/cuda.h"
#include "core/dispatch.h"
#include "core/loops.h"

namespace knet::detail {

// y = f(x) for floating x; f is a generic lambda over the element type.
template <class F> Tensor map_float(const Tensor &x, const char *op, F f) {
  if (cuda::on_gpu(x))
    return cuda::run_op(op, {x});
  check_cpu(x, op);
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  dispatch_float(x.dtype(), op, [&]<class T>() {
    cpu_map<T, T>(
        y, [f](T v) { return static_cast<T>(f(v)); }, op, x);
  });
  propagate_weak(y, {&x});
  return y;
}

// y = f(a, b) with broadcasting over floating a, b of one dtype.
template <class F>
Tensor map_float2(const Tensor &a0, const Tensor &b0, const char *op, F f) {
  if (cuda::on_gpu(a0) || cuda::on_gpu(b0))
    return cuda::run_op(op, {a0, b0});
  Tensor a = a0, b = b0;
  unify_scalar_dtype(a, b);
  check_cpu(a, op);
  check_cpu(b, op);
  check_same_dtype(a, b, op);
  Tensor y = Tensor::empty(broadcast_shapes(a.shape(), b.shape(), op),
                           a.dtype(), a.device());
  dispatch_float(a.dtype(), op, [&]<class T>() {
    cpu_map<T, T, T>(
        y, [f](T u, T v) { return static_cast<T>(f(u, v)); }, op, a, b);
  });
  propagate_weak(y, {&a, &b});
  return y;
}

} // namespace knet::detail
