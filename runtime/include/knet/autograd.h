// Gradients: Param, Tape, diff, value_and_grad, gradcheck (Knet's AutoGrad).
#pragma once

#include <knet/compiled.h>
#include <knet/ops/elementwise.h>
#include <knet/ops/random.h>
#include <knet/tensor.h>

#include <cmath>
#include <functional>
#include <memory>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

namespace knet {

namespace detail {
struct ParamImpl;
struct TapeImpl;
class TapeScope;
} // namespace detail

// A tracked tensor with identity; a handle: copies refer to one parameter.
class Param {
public:
  Param() = default; // undefined
  explicit Param(Tensor value, std::string name = {});

  const Tensor &value() const;
  Tensor &value();
  operator const Tensor &() const { return value(); }
  const std::string &name() const;
  bool defined() const { return impl_ != nullptr; }
  // Identity: two handles of one parameter compare equal.
  friend bool operator==(const Param &a, const Param &b) {
    return a.impl_ == b.impl_;
  }
  detail::ParamImpl *impl() const { return impl_.get(); }

  explicit Param(std::shared_ptr<detail::ParamImpl> impl)
      : impl_(std::move(impl)) {}

private:
  std::shared_ptr<detail::ParamImpl> impl_;
};

// A new parameter; `name` is what gradcheck and errors call it (a compiled
// function names an unnamed Param after its path in the call: "m.w1").
Param param(Shape shape, Init init = xavier_uniform(), DType dtype = DType::f32,
            std::string name = "");
Param param0(Shape shape, DType dtype = DType::f32,
             std::string name = ""); // zeros

// The result of diff: the loss and the gradient of every Param it reached.
class Tape {
public:
  Tape() = default;
  explicit Tape(std::shared_ptr<detail::TapeImpl> impl)
      : impl_(std::move(impl)) {}
  Tensor value() const;
  Tensor grad(const Param &p) const; // undefined if p did not reach the loss
  std::vector<Param> params() const;

private:
  std::shared_ptr<detail::TapeImpl> impl_;
};

namespace detail {
// Calls f(args...) with a fresh tape recording; returns the finished tape.
Tape diff_on_tape(const std::function<Tensor()> &f);
// The registry of knetc-compiled functions, keyed by the user function's
// address (filled by generated code).
const void *find_compiled(const void *fn);

template <class F> const void *function_address(const F &f) {
  using D = std::decay_t<F>;
  if constexpr (std::is_pointer_v<D> &&
                std::is_function_v<std::remove_pointer_t<D>>)
    return reinterpret_cast<const void *>(f);
  else if constexpr (std::is_function_v<std::remove_reference_t<F>>)
    return reinterpret_cast<const void *>(&f);
  else
    return nullptr;
}
} // namespace detail

// Runs f(args...) with recording on and differentiates its scalar result
// with respect to every Param it touched.
template <class F, class... A> Tape diff(F &&f, A &&...args) {
  const void *address = detail::function_address(f);
  const bool compiled = address && detail::find_compiled_function(address);
  return detail::diff_on_tape([&]() -> Tensor {
    if (compiled)
      detail::expect_compiled_root();
    return std::invoke(f, args...);
  });
}

// Whether knetc compiled f (a KNET_COMPILE function in a *.knet.cpp TU).
template <class F> bool is_compiled(const F &f) {
  const void *a = detail::function_address(f);
  return a && detail::find_compiled(a);
}

namespace detail {
template <class T>
constexpr bool is_scalar_arg = std::is_floating_point_v<std::decay_t<T>> ||
                               std::is_integral_v<std::decay_t<T>>;

// A value_and_grad argument as a leaf of a compiled function.
template <class T> Tensor as_leaf(const T &a) {
  if constexpr (std::is_same_v<T, Tensor>)
    return a;
  else if constexpr (std::is_floating_point_v<T>)
    return Tensor::scalar(static_cast<double>(a)); // weak, exact
  else
    return integer_leaf(static_cast<int64_t>(a));
}

// The positional gradient of argument `a` from its leaf gradient `g`:
// a Tensor for a Tensor (zeros when it did not reach the value), the
// argument's type for a scalar.
template <class T> auto positional_grad(const Tensor &g, const T &a) {
  if constexpr (std::is_same_v<T, Tensor>)
    return g.defined() ? g : Tensor::zeros(a.shape(), a.dtype(), a.device());
  else
    return g.defined() ? static_cast<T>(g.template item<double>()) : T(0);
}

// The value of f in f's own return type: a double function's is a double.
template <class R> auto value_as(const Tensor &v) {
  if constexpr (std::is_arithmetic_v<R>)
    return static_cast<R>(v.item<double>());
  else
    return v;
}

template <class R, class... A, size_t... I>
auto compiled_value_and_grad(const CompiledFunction &cf,
                             std::index_sequence<I...>, const A &...args) {
  if (!cf.grad)
    throw Error(std::string("value_and_grad: ") + cf.name +
                " has no compiled adjoint (marked knet.no_grad)");
  std::vector<Tensor> in{as_leaf(args)...}, dx;
  std::vector<Tensor> out = cf.grad(in, {Tensor()}, dx);
  if (out.size() != 1 + cf.inout || out[0].numel() != 1)
    throw Error(std::string("value_and_grad: ") + cf.name +
                " must return one scalar");
  dx.resize(in.size());
  return std::tuple{value_as<R>(out[0]), positional_grad(dx[I], args)...};
}
} // namespace detail

// Positional gradients: {value, d/darg0, d/darg1, ...} for Tensor, double and
// float arguments; the value has f's return type (a double for a double f).
// Gradients with respect to scalar arguments need a knetc-compiled f; Tensor
// arguments work on the tape as well.
template <class F, class... A> auto value_and_grad(F f, A... args) {
  static_assert(((std::is_same_v<std::decay_t<A>, Tensor> ||
                  detail::is_scalar_arg<A>)&&...),
                "value_and_grad: arguments must be Tensors or scalars");
  const void *address = detail::function_address(f);
  const detail::CompiledFunction *cf =
      address ? detail::find_compiled_function(address) : nullptr;
  if constexpr ((detail::is_scalar_arg<A> || ...)) {
    if (!cf)
      throw Error("value_and_grad: a scalar argument needs a knetc-compiled "
                  "function (mark it KNET_COMPILE and build it with knetc); "
                  "the tape differentiates Tensor arguments only");
    using R = std::decay_t<std::invoke_result_t<F, A...>>;
    return detail::compiled_value_and_grad<R>(
        *cf, std::index_sequence_for<A...>{}, args...);
  } else {
    return [&]<size_t... I>(std::index_sequence<I...>) {
      std::vector<Param> ps{Param(args)...};
      Tape t = detail::diff_on_tape(
          [&]() -> Tensor { return f(Tensor(ps[I].value())...); });
      return std::tuple{t.value(),
                        detail::positional_grad(t.grad(ps[I]), args)...};
    }
    (std::index_sequence_for<A...>{});
  }
}

// The error of one element is |analytic - numeric| / max(|analytic|,
// |numeric|, floor): relative where the gradient is large, absolute (over
// `floor`, 1) only where both are near zero, so that a central difference's
// rounding at a tiny gradient is no false alarm.
struct GradcheckResult {
  bool ok = true;
  double max_abs_error = 0; // |analytic - numeric|
  double max_rel_error = 0; // the error above, the largest
  // The worst element: "param 'w1' [4,3] element 5: analytic 0.1 numeric
  // 0.2" (an unnamed Param is "param #k", k its place among the Params f
  // reached).
  std::string worst;
  explicit operator bool() const { return ok; }
};

namespace detail {
GradcheckResult gradcheck_impl(const std::function<Tensor()> &f, double eps,
                               double tol, int max_per_param);
}

// Compares diff's gradients with central differences, element by element,
// for every Param f touches. Meant for f64 parameters (eps 1e-6, tolerance
// 1e-6 relative); f32 parameters get eps 1e-3 and tolerance 1e-2. The
// numeric evaluations of f run as the analytic one does: in training mode
// and from the same random numbers (dropout draws the same mask each time).
template <class F, class... A> GradcheckResult gradcheck(F f, A... args) {
  return detail::gradcheck_impl(
      [&]() -> Tensor { return std::invoke(f, args...); }, 0, 0, 0);
}

} // namespace knet
