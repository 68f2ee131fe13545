#include "test_util.h"

#include <cmath>
#include <random>
#include <sstream>

namespace knet::testing {

Tensor rand_f64(const Shape &shape, double lo, double hi, uint64_t seed) {
  std::mt19937_64 g(seed);
  std::uniform_real_distribution<double> u(lo, hi);
  int64_t n = 1;
  for (int64_t s : shape)
    n *= s;
  std::vector<double> v(n);
  for (auto &x : v)
    x = u(g);
  return Tensor::from(v, shape);
}

Tensor rand_f32(const Shape &shape, double lo, double hi, uint64_t seed) {
  return rand_f64(shape, lo, hi, seed).to(DType::f32);
}

::testing::AssertionResult all_close(const Tensor &a, const Tensor &b,
                                     double rtol, double atol) {
  if (!a.defined() || !b.defined())
    return ::testing::AssertionFailure() << "undefined tensor";
  if (a.shape() != b.shape())
    return ::testing::AssertionFailure()
           << "shapes differ: " << shape_str(a.shape()) << " vs "
           << shape_str(b.shape());
  std::vector<double> x = a.to_vector<double>(), y = b.to_vector<double>();
  for (size_t i = 0; i < x.size(); ++i) {
    bool both_nan = std::isnan(x[i]) && std::isnan(y[i]);
    if (!both_nan && !(std::abs(x[i] - y[i]) <= atol + rtol * std::abs(y[i])))
      return ::testing::AssertionFailure()
             << "element " << i << ": " << x[i] << " vs " << y[i] << " (shape "
             << shape_str(a.shape()) << ")";
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult
check_grads(const std::function<Tensor(const std::vector<Tensor> &)> &f,
            const std::vector<Tensor> &inputs, double tol) {
  std::vector<Param> ps;
  std::vector<Tensor> args;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor &x = inputs[i];
    if (x.defined() && is_floating(x.dtype())) {
      if (x.dtype() != DType::f64)
        return ::testing::AssertionFailure()
               << "check_grads: input " << i << " is not f64";
      ps.emplace_back(x.clone(), "input" + std::to_string(i));
      args.push_back(Tensor());
    } else {
      args.push_back(x);
    }
  }
  auto call = [&]() {
    std::vector<Tensor> in = args;
    size_t k = 0;
    for (auto &t : in)
      if (!t.defined())
        t = ps[k++].value();
    return f(in);
  };
  Tensor probe = call();
  Tensor weights = rand_f64(probe.shape(), 0.5, 1.5, 7);
  GradcheckResult r = detail::gradcheck_impl(
      [&]() { return sum(call() * weights); }, 1e-6, tol, 200);
  // Every float input must have reached the loss.
  Tape t = diff([&]() { return sum(call() * weights); });
  for (auto &p : ps)
    if (!t.grad(p).defined())
      return ::testing::AssertionFailure()
             << "no gradient reached " << p.name();
  if (!r.ok)
    return ::testing::AssertionFailure()
           << "gradient mismatch: " << r.worst << " (max rel error "
           << r.max_rel_error << ")";
  return ::testing::AssertionSuccess();
}

} // namespace knet::testing
