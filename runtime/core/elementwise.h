// Helpers that build elementwise ops on the loop driver (internal).
#pragma once

#include "core/autograd.h"
#include "core/cuda.h"
#include "core/dispatch.h"
#include "core/isa.h"
#include "core/loops.h"

namespace knet::detail {

// No blocked form: the body runs element by element in every dtype.
struct NoBlock {};

// The scalar body of op `name` and its blocked form (ops/op_bodies.inc) in
// the loops' instruction set (core/isa.h), for map_float and map_float2.
#define KNET_BODIES(name)                                                      \
  [](auto... v) { return body::name(v...); },                                  \
      [](auto... a) { kernels().name(a...); }

// y = f(x) for floating x; f is a generic lambda over the element type.
// With a blocked form block(y, x) (KNET_BODIES), f32 runs it instead.
template <class F, class B = NoBlock>
Tensor map_float(const Tensor &x, const char *op, F f, B block = {}) {
  if (cuda::on_gpu(x))
    return cuda::run_op(op, {x});
  check_cpu(x, op);
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  dispatch_float(x.dtype(), op, [&]<class T>() {
    auto g = [f](T v) { return static_cast<T>(f(v)); };
    if constexpr (std::is_same_v<B, NoBlock>)
      cpu_map<T, T>(y, g, op, x);
    else
      cpu_map_blocked<T>(y, g, block, op, x);
  });
  propagate_weak(y, {&x});
  return y;
}

// y = f(a, b) with broadcasting over floating a, b of one dtype.
template <class F, class B = NoBlock>
Tensor map_float2(const Tensor &a0, const Tensor &b0, const char *op, F f,
                  B block = {}) {
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
    auto g = [f](T u, T v) { return static_cast<T>(f(u, v)); };
    if constexpr (std::is_same_v<B, NoBlock>)
      cpu_map<T, T, T>(y, g, op, a, b);
    else
      cpu_map_blocked<T>(y, g, block, op, a, b);
  });
  propagate_weak(y, {&a, &b});
  return y;
}

} // namespace knet::detail
