// Gradients: Param, Tape, diff, value_and_grad, gradcheck (Knet's AutoGrad).
#pragma once

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

Param param(Shape shape, Init init = xavier_uniform(),
            DType dtype = DType::f32);
Param param0(Shape shape, DType dtype = DType::f32); // zeros

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
  return detail::diff_on_tape(
      [&]() -> Tensor { return std::invoke(f, args...); });
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

template <class T> auto as_diff_arg(T &&a, std::vector<Param> &ps) {
  if constexpr (std::is_same_v<std::decay_t<T>, Tensor>) {
    ps.emplace_back(a);
    return ps.back();
  } else {
    return a;
  }
}

template <class T>
auto positional_grad(const Tape &t, const T &a, const Param *&next) {
  if constexpr (std::is_same_v<std::decay_t<T>, Tensor>) {
    Tensor g = t.grad(*next++);
    return g.defined() ? g : Tensor::zeros(a.shape(), a.dtype());
  } else {
    return a; // unreachable for non-compiled functions (checked below)
  }
}
} // namespace detail

// Positional gradients: {value, d/darg0, d/darg1, ...} for Tensor arguments.
// Gradients with respect to scalar arguments need a knetc-compiled f.
template <class F, class... A> auto value_and_grad(F f, A... args) {
  static_assert(((std::is_same_v<std::decay_t<A>, Tensor> ||
                  detail::is_scalar_arg<A>)&&...),
                "value_and_grad: arguments must be Tensors or scalars");
  if constexpr ((detail::is_scalar_arg<A> || ...)) {
    throw Error("value_and_grad: a scalar argument needs a knetc-compiled "
                "function (mark it KNET_COMPILE and build it with knetc); "
                "the tape differentiates Tensor arguments only");
  }
  std::vector<Param> ps;
  ps.reserve(sizeof...(A));
  std::vector<Tensor> values{[&] {
    if constexpr (std::is_same_v<std::decay_t<A>, Tensor>)
      return args;
    else
      return Tensor();
  }()...};
  for (auto &v : values)
    if (v.defined())
      ps.emplace_back(v);
  Tape t = detail::diff_on_tape([&]() -> Tensor {
    size_t i = 0;
    auto pick = [&](auto &a) {
      if constexpr (std::is_same_v<std::decay_t<decltype(a)>, Tensor>)
        return Tensor(ps[i++].value());
      else
        return a;
    };
    // A braced list evaluates left to right: ps is consumed in order.
    std::tuple<std::decay_t<A>...> replaced{pick(args)...};
    return std::apply(f, replaced);
  });
  const Param *next = ps.data();
  return std::tuple{t.value(), detail::positional_grad(t, args, next)...};
}

struct GradcheckResult {
  bool ok = true;
  double max_abs_error = 0; // |analytic - numeric|
  double max_rel_error = 0; // that over max(1, |numeric|)
  std::string worst;        // "param 'w' element 3: analytic 0.1 numeric 0.2"
  explicit operator bool() const { return ok; }
};

namespace detail {
GradcheckResult gradcheck_impl(const std::function<Tensor()> &f, double eps,
                               double tol, int max_per_param);
}

// Compares diff's gradients with central differences, element by element,
// for every Param f touches. Meant for f64 parameters (eps 1e-6, tolerance
// 1e-6 relative); f32 parameters get eps 1e-3 and tolerance 1e-2.
template <class F, class... A> GradcheckResult gradcheck(F f, A... args) {
  return detail::gradcheck_impl(
      [&]() -> Tensor { return std::invoke(f, args...); }, 0, 0, 0);
}

} // namespace knet
