// Unary math and activations with their backward kernels and tape rules.
// Each forward and backward kernel is one scalar body on the loop driver.
#include "core/elementwise.h"
#include "ops/op_bodies.inc"

#include <knet/error.h>
#include <knet/ops/elementwise.h>

#include <algorithm>
#include <cmath>
#include <string>

namespace knet {

using namespace detail;

namespace {

constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
constexpr double kSeluLambda = 1.0507009873554804934193349852946;
constexpr double kGeluC = 0.7978845608028654; // sqrt(2/pi)
constexpr double kGeluK = 0.044715;

// Records y = op(x) whose gradient is back(dy, saved).
template <class Back>
void record_unary(const char *op, const Tensor &x, const Tensor &y, Back back) {
  if (recording())
    record(op, {x}, {y}, [back](const Grads &dy, const Needs &) {
      return Grads{back(dy[0])};
    });
}

} // namespace

Tensor exp(const Tensor &x) {
  Tensor y = map_float(x, "exp", KNET_BODIES(exp));
  record_unary("exp", x, y, [y](const Tensor &dy) { return dy * y; });
  return y;
}

Tensor log(const Tensor &x) {
  Tensor y = map_float(x, "log", KNET_BODIES(log));
  record_unary("log", x, y, [x](const Tensor &dy) { return dy / x; });
  return y;
}

Tensor log1p(const Tensor &x) {
  Tensor y = map_float(x, "log1p", KNET_BODIES(log1p));
  record_unary("log1p", x, y, [x](const Tensor &dy) { return dy / (x + 1.0); });
  return y;
}

Tensor sqrt(const Tensor &x) {
  Tensor y = map_float(x, "sqrt", KNET_BODIES(sqrt));
  record_unary("sqrt", x, y, [y](const Tensor &dy) { return dy * 0.5 / y; });
  return y;
}

Tensor rsqrt(const Tensor &x) {
  Tensor y = map_float(x, "rsqrt", KNET_BODIES(rsqrt));
  record_unary("rsqrt", x, y,
               [y](const Tensor &dy) { return dy * (-0.5) * y * y * y; });
  return y;
}

Tensor abs(const Tensor &x) {
  Tensor y = map_float(x, "abs", [](auto v) { return body::abs(v); });
  record_unary("abs", x, y, [x](const Tensor &dy) { return dy * sign(x); });
  return y;
}

Tensor sign(const Tensor &x) {
  Tensor y = map_float(x, "sign", [](auto v) { return body::sign(v); });
  // Zero almost everywhere: the tape gets no gradient through sign (so the
  // second derivative of abs is 0, as it should be away from 0).
  return y;
}

Tensor sin(const Tensor &x) {
  Tensor y = map_float(x, "sin", KNET_BODIES(sin));
  record_unary("sin", x, y, [x](const Tensor &dy) { return dy * cos(x); });
  return y;
}

Tensor cos(const Tensor &x) {
  Tensor y = map_float(x, "cos", KNET_BODIES(cos));
  record_unary("cos", x, y, [x](const Tensor &dy) { return -(dy * sin(x)); });
  return y;
}

Tensor tanh(const Tensor &x) {
  Tensor y = map_float(x, "tanh", KNET_BODIES(tanh));
  record_unary("tanh", x, y,
               [y](const Tensor &dy) { return tanh_back(dy, y); });
  return y;
}

Tensor tanh_back(const Tensor &dy, const Tensor &y) {
  Tensor dx = map_float2(dy, y, "tanh_back",
                         [](auto g, auto v) { return body::tanh_back(g, v); });
  if (recording())
    record("tanh_back", {dy, y}, {dx},
           [dy, y](const Grads &gg, const Needs &n) {
             return Grads{n[0] ? tanh_back(gg[0], y) : Tensor(),
                          n[1] ? gg[0] * dy * y * (-2.0) : Tensor()};
           });
  return dx;
}

Tensor sigm(const Tensor &x) {
  Tensor y = map_float(x, "sigm", KNET_BODIES(sigm));
  record_unary("sigm", x, y,
               [y](const Tensor &dy) { return sigm_back(dy, y); });
  return y;
}

Tensor sigm_back(const Tensor &dy, const Tensor &y) {
  Tensor dx = map_float2(dy, y, "sigm_back",
                         [](auto g, auto v) { return body::sigm_back(g, v); });
  if (recording())
    record("sigm_back", {dy, y}, {dx},
           [dy, y](const Grads &gg, const Needs &n) {
             return Grads{n[0] ? sigm_back(gg[0], y) : Tensor(),
                          n[1] ? gg[0] * dy * (1.0 - 2.0 * y) : Tensor()};
           });
  return dx;
}

Tensor relu(const Tensor &x) {
  Tensor y = map_float(x, "relu", [](auto v) { return body::relu(v); });
  record_unary("relu", x, y,
               [y](const Tensor &dy) { return relu_back(dy, y); });
  return y;
}

Tensor relu_back(const Tensor &dy, const Tensor &y) {
  Tensor dx = map_float2(dy, y, "relu_back",
                         [](auto g, auto v) { return body::relu_back(g, v); });
  // d/dy is zero almost everywhere: only dy gets a gradient.
  if (recording())
    record("relu_back", {dy, y}, {dx}, [y](const Grads &gg, const Needs &n) {
      return Grads{n[0] ? relu_back(gg[0], y) : Tensor(), Tensor()};
    });
  return dx;
}

Tensor elu(const Tensor &x) {
  Tensor y = map_float(x, "elu", KNET_BODIES(elu));
  record_unary("elu", x, y, [x](const Tensor &dy) { return elu_back(dy, x); });
  return y;
}

Tensor elu_back(const Tensor &dy, const Tensor &x) {
  Tensor dx = map_float2(dy, x, "elu_back", KNET_BODIES(elu_back));
  if (recording())
    record("elu_back", {dy, x}, {dx}, [dy, x](const Grads &gg, const Needs &n) {
      Tensor d2 =
          n[1] ? map_float2(dy, x, "elu_back2",
                            [](auto g, auto v) {
                              return v > 0 ? decltype(g)(0) : g * std::exp(v);
                            })
               : Tensor();
      if (n[1])
        no_derivative("elu_back2", {dy, x});
      return Grads{n[0] ? elu_back(gg[0], x) : Tensor(),
                   n[1] ? gg[0] * d2 : Tensor()};
    });
  return dx;
}

Tensor selu(const Tensor &x) {
  Tensor y = map_float(x, "selu", KNET_BODIES(selu));
  record_unary("selu", x, y,
               [x](const Tensor &dy) { return selu_back(dy, x); });
  return y;
}

Tensor selu_back(const Tensor &dy, const Tensor &x) {
  Tensor dx = map_float2(dy, x, "selu_back", KNET_BODIES(selu_back));
  if (recording())
    record(
        "selu_back", {dy, x}, {dx}, [dy, x](const Grads &gg, const Needs &n) {
          Tensor d2 =
              n[1] ? map_float2(dy, x, "selu_back2",
                                [](auto g, auto v) {
                                  using T = decltype(g);
                                  return v > 0
                                             ? T(0)
                                             : g * T(kSeluLambda * kSeluAlpha) *
                                                   std::exp(v);
                                })
                   : Tensor();
          if (n[1])
            no_derivative("selu_back2", {dy, x});
          return Grads{n[0] ? selu_back(gg[0], x) : Tensor(),
                       n[1] ? gg[0] * d2 : Tensor()};
        });
  return dx;
}

Tensor gelu(const Tensor &x) {
  Tensor y = map_float(x, "gelu", KNET_BODIES(gelu));
  record_unary("gelu", x, y,
               [x](const Tensor &dy) { return gelu_back(dy, x); });
  return y;
}

Tensor gelu_back(const Tensor &dy, const Tensor &x) {
  Tensor dx = map_float2(dy, x, "gelu_back", KNET_BODIES(gelu_back));
  if (recording())
    record("gelu_back", {dy, x}, {dx},
           [dy, x](const Grads &gg, const Needs &n) {
             Tensor d2;
             if (n[1]) {
               no_derivative("gelu_back2", {dy, x});
               d2 = map_float2(dy, x, "gelu_back2", [](auto g, auto v) {
                 using T = decltype(g);
                 T u = T(kGeluC) * (v + T(kGeluK) * v * v * v);
                 T du = T(kGeluC) * (T(1) + T(3 * kGeluK) * v * v);
                 T ddu = T(kGeluC) * T(6 * kGeluK) * v;
                 T t = std::tanh(u);
                 return g * (T(1) - t * t) *
                        (du - v * t * du * du + T(0.5) * v * ddu);
               });
             }
             return Grads{n[0] ? gelu_back(gg[0], x) : Tensor(),
                          n[1] ? gg[0] * d2 : Tensor()};
           });
  return dx;
}

Tensor hardtanh(const Tensor &x, double lo, double hi) {
  if (!(lo <= hi))
    throw Error("hardtanh: lo (" + std::to_string(lo) + ") > hi (" +
                std::to_string(hi) + ")");
  if (cuda::on_gpu(x)) // no one-op kernel with attributes: two ops
    return minimum(maximum(x, lo), hi);
  Tensor y = map_float(x, "hardtanh", [lo, hi](auto v) {
    using T = decltype(v);
    return std::min(std::max(v, T(lo)), T(hi));
  });
  record_unary("hardtanh", x, y, [x, lo, hi](const Tensor &dy) {
    Tensor zero = zeros_like(dy);
    return where(x > lo, where(x < hi, dy, zero), zero);
  });
  return y;
}

Tensor hardsigmoid(const Tensor &x) {
  Tensor y =
      map_float(x, "hardsigmoid", [](auto v) { return body::hardsigmoid(v); });
  record_unary("hardsigmoid", x, y, [x](const Tensor &dy) {
    return where(abs(x) < 3.0, dy * (1.0 / 6), zeros_like(dy));
  });
  return y;
}

Tensor softplus(const Tensor &x) {
  Tensor y = map_float(x, "softplus", KNET_BODIES(softplus));
  record_unary("softplus", x, y,
               [x](const Tensor &dy) { return softplus_back(dy, x); });
  return y;
}

Tensor softplus_back(const Tensor &dy, const Tensor &x) {
  Tensor dx = map_float2(dy, x, "softplus_back", KNET_BODIES(softplus_back));
  if (recording())
    record("softplus_back", {dy, x}, {dx},
           [dy, x](const Grads &gg, const Needs &n) {
             Tensor s = n[1] ? sigm(x) : Tensor();
             return Grads{n[0] ? softplus_back(gg[0], x) : Tensor(),
                          n[1] ? gg[0] * dy * s * (1.0 - s) : Tensor()};
           });
  return dx;
}

Tensor swish(const Tensor &x) {
  Tensor y = map_float(x, "swish", KNET_BODIES(swish));
  record_unary("swish", x, y,
               [x](const Tensor &dy) { return swish_back(dy, x); });
  return y;
}

Tensor swish_back(const Tensor &dy, const Tensor &x) {
  Tensor dx = map_float2(dy, x, "swish_back", KNET_BODIES(swish_back));
  if (recording())
    record("swish_back", {dy, x}, {dx},
           [dy, x](const Grads &gg, const Needs &n) {
             Tensor d2;
             if (n[1]) {
               no_derivative("swish_back2", {dy, x});
               d2 = map_float2(dy, x, "swish_back2", [](auto g, auto v) {
                 auto s = body::sigm(v);
                 return g * s * (1 - s) * (2 + v * (1 - 2 * s));
               });
             }
             return Grads{n[0] ? swish_back(gg[0], x) : Tensor(),
                          n[1] ? gg[0] * d2 : Tensor()};
           });
  return dx;
}

} // namespace knet
