// Binary arithmetic, comparisons, where, pow/maximum/minimum and the in-place
// updates, each with its tape rule beside its kernel.
#include "core/elementwise.h"
#include "core/cuda.h"
#include "ops/op_bodies.inc"

#include <knet/ops/elementwise.h>
#include <knet/ops/reduce.h>

#include <algorithm>
#include <cmath>

namespace knet {

using namespace detail;

namespace {

// y = f(a, b) over any numeric dtype (arithmetic on integers too).
template <class F>
Tensor arith(const Tensor &a0, const Tensor &b0, const char *op, F f) {
  if (cuda::on_gpu(a0) || cuda::on_gpu(b0))
    return cuda::run_op(op, {a0, b0});
  Tensor a = a0, b = b0;
  unify_scalar_dtype(a, b);
  check_cpu(a, op);
  check_cpu(b, op);
  check_same_dtype(a, b, op);
  Tensor y = Tensor::empty(broadcast_shapes(a.shape(), b.shape(), op),
                           a.dtype(), a.device());
  dispatch_numeric(a.dtype(), op, [&]<class T>() {
    cpu_map<T, T, T>(
        y, [f](T u, T v) { return static_cast<T>(f(u, v)); }, op, a, b);
  });
  propagate_weak(y, {&a, &b});
  return y;
}

// y = f(a, s) with the scalar converted to a's dtype.
template <class F>
Tensor arith_scalar(const Tensor &a, double s, const char *op, F f) {
  if (cuda::on_gpu(a)) {
    // The GPU kernels take the scalar as a weak operand; s - a and s / a
    // are sub and div with it first.
    const std::string name = op;
    if (name == "rsub" || name == "rdiv")
      return cuda::run_op(name == "rsub" ? "sub" : "div",
                          {Tensor::scalar(s), a});
    return cuda::run_op(op, {a, Tensor::scalar(s)});
  }
  check_cpu(a, op);
  Tensor y = Tensor::empty(a.shape(), a.dtype(), a.device());
  dispatch_numeric(a.dtype(), op, [&]<class T>() {
    T c = static_cast<T>(s);
    cpu_map<T, T>(
        y, [f, c](T u) { return static_cast<T>(f(u, c)); }, op, a);
  });
  propagate_weak(y, {&a});
  return y;
}

template <class F>
Tensor compare(const Tensor &a0, const Tensor &b0, const char *op, F f) {
  if (cuda::on_gpu(a0) || cuda::on_gpu(b0))
    return cuda::run_op(op, {a0, b0});
  Tensor a = a0, b = b0;
  unify_scalar_dtype(a, b);
  check_cpu(a, op);
  check_cpu(b, op);
  check_same_dtype(a, b, op);
  Tensor y = Tensor::empty(broadcast_shapes(a.shape(), b.shape(), op),
                           DType::b8, a.device());
  dispatch_all(a.dtype(), op,
               [&]<class T>() { cpu_map<bool, T, T>(y, f, op, a, b); });
  return y;
}

template <class F>
Tensor compare_scalar(const Tensor &a, double s, const char *op, F f) {
  if (cuda::on_gpu(a)) {
    // The CPU compares in double: so does the GPU when s is not exactly an
    // f32 (f16/bf16 compare in f32 at least).
    const bool exact_f32 = static_cast<double>(static_cast<float>(s)) == s;
    DType t = a.dtype();
    if (t == DType::f16 || t == DType::bf16)
      t = exact_f32 ? DType::f32 : DType::f64;
    else if (t == DType::f32 && !exact_f32)
      t = DType::f64;
    return cuda::run_op(op, {a.to(t), Tensor::scalar(s)});
  }
  check_cpu(a, op);
  Tensor y = Tensor::empty(a.shape(), DType::b8, a.device());
  dispatch_all(a.dtype(), op, [&]<class T>() {
    cpu_map<bool, T>(
        y, [f, s](T u) { return f(static_cast<double>(u), s); }, op, a);
  });
  return y;
}

} // namespace

Tensor operator+(const Tensor &a, const Tensor &b) {
  Tensor y = arith(a, b, "add", [](auto u, auto v) { return u + v; });
  if (recording())
    record("add", {a, b}, {y},
           [sa = a.shape(), sb = b.shape()](const Grads &dy, const Needs &n) {
             return Grads{n[0] ? sum_to(dy[0], sa) : Tensor(),
                          n[1] ? sum_to(dy[0], sb) : Tensor()};
           });
  return y;
}

Tensor operator-(const Tensor &a, const Tensor &b) {
  Tensor y = arith(a, b, "sub", [](auto u, auto v) { return u - v; });
  if (recording())
    record("sub", {a, b}, {y},
           [sa = a.shape(), sb = b.shape()](const Grads &dy, const Needs &n) {
             return Grads{n[0] ? sum_to(dy[0], sa) : Tensor(),
                          n[1] ? sum_to(-dy[0], sb) : Tensor()};
           });
  return y;
}

Tensor operator*(const Tensor &a, const Tensor &b) {
  Tensor y = arith(a, b, "mul", [](auto u, auto v) { return u * v; });
  if (recording())
    record("mul", {a, b}, {y}, [a, b](const Grads &dy, const Needs &n) {
      return Grads{n[0] ? sum_to(dy[0] * b, a.shape()) : Tensor(),
                   n[1] ? sum_to(dy[0] * a, b.shape()) : Tensor()};
    });
  return y;
}

namespace {
// Integer division by zero is undefined behaviour in C++: refuse it.
void check_int_divisor(const Tensor &b, const char *op) {
  if (is_floating(b.dtype()) || b.dtype() == DType::b8)
    return;
  bool zero = dispatch_numeric(b.dtype(), op, [&]<class T>() {
    for (T v : b.to_vector<T>())
      if (v == 0)
        return true;
    return false;
  });
  if (zero)
    fail(op, ": integer division by zero (divisor ", dtype_name(b.dtype()), " ",
         shape_str(b.shape()), ")");
}
} // namespace

Tensor operator/(const Tensor &a, const Tensor &b) {
  check_int_divisor(b, "div");
  Tensor y = arith(a, b, "div", [](auto u, auto v) { return u / v; });
  if (recording())
    record("div", {a, b}, {y}, [a, b, y](const Grads &dy, const Needs &n) {
      return Grads{n[0] ? sum_to(dy[0] / b, a.shape()) : Tensor(),
                   n[1] ? sum_to(-(dy[0] * y / b), b.shape()) : Tensor()};
    });
  return y;
}

Tensor operator+(const Tensor &a, double s) {
  Tensor y = arith_scalar(a, s, "add", [](auto u, auto v) { return u + v; });
  if (recording())
    record("add", {a}, {y},
           [](const Grads &dy, const Needs &) { return Grads{dy[0]}; });
  return y;
}

Tensor operator-(const Tensor &a, double s) { return a + (-s); }

Tensor operator*(const Tensor &a, double s) {
  Tensor y = arith_scalar(a, s, "mul", [](auto u, auto v) { return u * v; });
  if (recording())
    record("mul", {a}, {y},
           [s](const Grads &dy, const Needs &) { return Grads{dy[0] * s}; });
  return y;
}

Tensor operator/(const Tensor &a, double s) {
  if (!is_floating(a.dtype()) && static_cast<int64_t>(s) == 0)
    fail("div: integer division by zero (", dtype_name(a.dtype()), " ",
         shape_str(a.shape()), " / ", s, ")");
  Tensor y = arith_scalar(a, s, "div", [](auto u, auto v) { return u / v; });
  if (recording())
    record("div", {a}, {y},
           [s](const Grads &dy, const Needs &) { return Grads{dy[0] / s}; });
  return y;
}

Tensor operator+(double s, const Tensor &b) { return b + s; }
Tensor operator*(double s, const Tensor &b) { return b * s; }

Tensor operator-(double s, const Tensor &b) {
  Tensor y = arith_scalar(b, s, "rsub", [](auto u, auto v) { return v - u; });
  if (recording())
    record("rsub", {b}, {y},
           [](const Grads &dy, const Needs &) { return Grads{-dy[0]}; });
  return y;
}

Tensor operator/(double s, const Tensor &b) {
  check_int_divisor(b, "rdiv");
  Tensor y = arith_scalar(b, s, "rdiv", [](auto u, auto v) { return v / u; });
  if (recording())
    record("rdiv", {b}, {y}, [b, y](const Grads &dy, const Needs &) {
      return Grads{-(dy[0] * y / b)};
    });
  return y;
}

Tensor operator-(const Tensor &a) {
  Tensor y;
  if (cuda::on_gpu(a)) {
    y = cuda::run_op("neg", {a});
  } else {
    check_cpu(a, "neg");
    y = Tensor::empty(a.shape(), a.dtype(), a.device());
    dispatch_numeric(a.dtype(), "neg", [&]<class T>() {
      cpu_map<T, T>(
          y, [](T u) { return static_cast<T>(-u); }, "neg", a);
    });
    propagate_weak(y, {&a});
  }
  if (recording())
    record("neg", {a}, {y},
           [](const Grads &dy, const Needs &) { return Grads{-dy[0]}; });
  return y;
}

Tensor pow(const Tensor &a, const Tensor &b) {
  Tensor y = map_float2(a, b, "pow", KNET_BODIES(pow));
  if (recording())
    record("pow", {a, b}, {y}, [a, b, y](const Grads &dy, const Needs &n) {
      return Grads{n[0] ? sum_to(dy[0] * b * pow(a, b - 1.0), a.shape())
                        : Tensor(),
                   n[1] ? sum_to(dy[0] * y * log(a), b.shape()) : Tensor()};
    });
  return y;
}

Tensor pow(const Tensor &a, double s) {
  Tensor y = cuda::on_gpu(a)
                 ? cuda::run_op("pow", {a, Tensor::scalar(s)})
                 : map_float(
                       a, "pow",
                       [s](auto u) {
                         return body::pow(u, static_cast<decltype(u)>(s));
                       },
                       [s](float *y, const float *u) {
                         alignas(64) float e[vm::kBlock];
                         std::fill_n(e, vm::kBlock, static_cast<float>(s));
                         kernels().pow(y, u, e);
                       });
  if (recording())
    record("pow", {a}, {y}, [a, s](const Grads &dy, const Needs &) {
      return Grads{dy[0] * s * pow(a, s - 1)};
    });
  return y;
}

Tensor pow(double s, const Tensor &b) {
  Tensor y = cuda::on_gpu(b)
                 ? cuda::run_op("pow", {Tensor::scalar(s), b})
                 : map_float(
                       b, "pow",
                       [s](auto u) {
                         return body::pow(static_cast<decltype(u)>(s), u);
                       },
                       [s](float *y, const float *u) {
                         alignas(64) float e[vm::kBlock];
                         std::fill_n(e, vm::kBlock, static_cast<float>(s));
                         kernels().pow(y, e, u);
                       });
  if (recording())
    record("pow", {b}, {y}, [s, y](const Grads &dy, const Needs &) {
      return Grads{dy[0] * y * std::log(s)};
    });
  return y;
}

Tensor maximum(const Tensor &a, const Tensor &b) {
  Tensor y =
      arith(a, b, "maximum", [](auto u, auto v) { return u >= v ? u : v; });
  if (recording())
    record("maximum", {a, b}, {y}, [a, b](const Grads &dy, const Needs &n) {
      Tensor c = a >= b, z = zeros_like(dy[0]);
      return Grads{n[0] ? sum_to(where(c, dy[0], z), a.shape()) : Tensor(),
                   n[1] ? sum_to(where(c, z, dy[0]), b.shape()) : Tensor()};
    });
  return y;
}

Tensor minimum(const Tensor &a, const Tensor &b) {
  Tensor y =
      arith(a, b, "minimum", [](auto u, auto v) { return u <= v ? u : v; });
  if (recording())
    record("minimum", {a, b}, {y}, [a, b](const Grads &dy, const Needs &n) {
      Tensor c = a <= b, z = zeros_like(dy[0]);
      return Grads{n[0] ? sum_to(where(c, dy[0], z), a.shape()) : Tensor(),
                   n[1] ? sum_to(where(c, z, dy[0]), b.shape()) : Tensor()};
    });
  return y;
}

Tensor maximum(const Tensor &a, double s) {
  Tensor y = arith_scalar(a, s, "maximum",
                          [](auto u, auto v) { return u >= v ? u : v; });
  if (recording())
    record("maximum", {a}, {y}, [a, s](const Grads &dy, const Needs &) {
      return Grads{where(a >= s, dy[0], zeros_like(dy[0]))};
    });
  return y;
}

Tensor minimum(const Tensor &a, double s) {
  Tensor y = arith_scalar(a, s, "minimum",
                          [](auto u, auto v) { return u <= v ? u : v; });
  if (recording())
    record("minimum", {a}, {y}, [a, s](const Grads &dy, const Needs &) {
      return Grads{where(a <= s, dy[0], zeros_like(dy[0]))};
    });
  return y;
}

#define KNET_COMPARE(OP, NAME)                                                 \
  Tensor operator OP(const Tensor &a, const Tensor &b) {                       \
    return compare(a, b, NAME, [](auto u, auto v) { return u OP v; });         \
  }                                                                            \
  Tensor operator OP(const Tensor &a, double s) {                              \
    return compare_scalar(a, s, NAME,                                          \
                          [](double u, double v) { return u OP v; });          \
  }
KNET_COMPARE(==, "eq")
KNET_COMPARE(!=, "ne")
KNET_COMPARE(<, "lt")
KNET_COMPARE(<=, "le")
KNET_COMPARE(>, "gt")
KNET_COMPARE(>=, "ge")
#undef KNET_COMPARE

Tensor where(const Tensor &c, const Tensor &a0, const Tensor &b0) {
  Tensor a = a0, b = b0;
  Tensor cb = c.dtype() == DType::b8 ? c : (c != 0.0);
  Tensor y;
  if (cuda::on_gpu(cb) || cuda::on_gpu(a) || cuda::on_gpu(b)) {
    // The kernel adapts weak operands (on the GPU, where f16 is stored).
    y = cuda::run_op("where", {cb, a, b});
  } else {
    unify_scalar_dtype(a, b);
    check_cpu(c, "where");
    check_cpu(a, "where");
    check_cpu(b, "where");
    check_same_dtype(a, b, "where");
    Shape shape = broadcast_shapes(
        broadcast_shapes(cb.shape(), a.shape(), "where"), b.shape(), "where");
    y = Tensor::empty(shape, a.dtype(), a.device());
    dispatch_all(a.dtype(), "where", [&]<class T>() {
      cpu_map<T, bool, T, T>(
          y, [](bool k, T u, T v) { return k ? u : v; }, "where", cb, a, b);
    });
    propagate_weak(y, {&a, &b});
  }
  if (recording())
    record(
        "where", {cb, a, b}, {y},
        [cb, sa = a.shape(), sb = b.shape()](const Grads &dy, const Needs &n) {
          Tensor z = zeros_like(dy[0]);
          return Grads{Tensor(),
                       n[1] ? sum_to(where(cb, dy[0], z), sa) : Tensor(),
                       n[2] ? sum_to(where(cb, z, dy[0]), sb) : Tensor()};
        });
  return y;
}

// Like a weak scalar, weak too (a compiled adjoint accumulates the gradient
// of a C++ scalar from zeros like it).
Tensor zeros_like(const Tensor &x) {
  Tensor y = Tensor::zeros(x.shape(), x.dtype(), x.device());
  propagate_weak(y, {&x});
  return y;
}

Tensor ones_like(const Tensor &x) {
  Tensor y = Tensor::ones(x.shape(), x.dtype(), x.device());
  propagate_weak(y, {&x});
  return y;
}

void copy_(Tensor &dst, const Tensor &src) {
  check_writable(dst, "copy_");
  if (dst.device().kind == Device::cpu && src.device().kind == Device::cuda) {
    // To the CPU first (in dst's dtype: f16 is stored on GPUs only).
    copy_(dst, src.to(dst.dtype()).to(Device{}));
    return;
  }
  if (dst.device().kind == Device::cuda || src.device().kind == Device::cuda) {
    Tensor s = src.device() == dst.device() ? src : src.to(dst.device());
    if (broadcast_shapes(s.shape(), dst.shape(), "copy_") != dst.shape())
      fail("copy_: source ", shape_str(s.shape()),
           " does not broadcast to the destination ", shape_str(dst.shape()));
    while (s.rank() > dst.rank())
      s = s.squeeze(0);
    cuda::convert(dst, s);
    ++dst.impl()->storage->version;
    return;
  }
  check_cpu(dst, "copy_");
  check_cpu(src, "copy_");
  dispatch_all(dst.dtype(), "copy_", [&]<class U>() {
    dispatch_all(src.dtype(), "copy_", [&]<class T>() {
      cpu_map<U, T>(
          dst, [](T v) { return static_cast<U>(v); }, "copy_", src);
    });
  });
  ++dst.impl()->storage->version;
}

void fill_(Tensor &dst, double value) {
  check_writable(dst, "fill_");
  if (dst.device().kind == Device::cuda) {
    cuda::fill(dst, value);
    ++dst.impl()->storage->version;
    return;
  }
  check_cpu(dst, "fill_");
  dispatch_all(dst.dtype(), "fill_", [&]<class T>() {
    T v = static_cast<T>(value);
    cpu_map<T>(
        dst, [v]() { return v; }, "fill_");
  });
  ++dst.impl()->storage->version;
}

void add_(Tensor &dst, const Tensor &src, double alpha) {
  check_writable(dst, "add_");
  if (cuda::on_gpu(dst) || cuda::on_gpu(src)) {
    RecordingPause pause;
    copy_(dst, dst + (alpha == 1 ? src : src * alpha));
    return;
  }
  check_cpu(dst, "add_");
  check_cpu(src, "add_");
  check_same_dtype(dst, src, "add_");
  dispatch_numeric(dst.dtype(), "add_", [&]<class T>() {
    T a = static_cast<T>(alpha);
    cpu_map<T, T, T>(
        dst, [a](T u, T v) { return static_cast<T>(u + a * v); }, "add_", dst,
        src);
  });
  ++dst.impl()->storage->version;
}

void mul_(Tensor &dst, double s) {
  check_writable(dst, "mul_");
  if (cuda::on_gpu(dst)) {
    RecordingPause pause;
    copy_(dst, dst * s);
    return;
  }
  check_cpu(dst, "mul_");
  dispatch_numeric(dst.dtype(), "mul_", [&]<class T>() {
    T a = static_cast<T>(s);
    cpu_map<T, T>(
        dst, [a](T u) { return static_cast<T>(u * a); }, "mul_", dst);
  });
  ++dst.impl()->storage->version;
}

} // namespace knet
