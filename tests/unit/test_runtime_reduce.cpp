// Reductions, argmax, logsumexp, softmax, logsoftmax, their backward kernels
// and sum_to: forward against naive index loops written here (several dim
// combinations, negative dims, keepdim, non-contiguous inputs), backward
// against central differences.
#include "test_util.h"

#include "core/parallel.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <string>

using namespace knet;
using knet::testing::all_close;
using knet::testing::check_grads;
using knet::testing::rand_f64;

namespace {

template <class F>
void expect_error(F f, const std::vector<std::string> &parts) {
  try {
    f();
    ADD_FAILURE() << "expected an error containing '" << parts[0] << "'";
  } catch (const Error &e) {
    for (const auto &p : parts)
      EXPECT_NE(std::string(e.what()).find(p), std::string::npos)
          << "message '" << e.what() << "' lacks '" << p << "'";
  }
}

// Row-major multi-index of flat index i.
std::vector<int64_t> unravel(int64_t i, const Shape &s) {
  std::vector<int64_t> idx(s.size());
  for (size_t d = s.size(); d-- > 0;) {
    idx[d] = i % s[d];
    i /= s[d];
  }
  return idx;
}

int64_t ravel(const std::vector<int64_t> &idx, const Shape &s) {
  int64_t f = 0;
  for (size_t d = 0; d < s.size(); ++d)
    f = f * s[d] + idx[d];
  return f;
}

std::vector<bool> reduced_mask(const std::vector<int> &dims, int r) {
  std::vector<bool> m(r, dims.empty());
  for (int d : dims)
    m[d < 0 ? d + r : d] = true;
  return m;
}

enum class Red { sum, mean, max, min };

// Naive reduction of x over `dims` (empty: all) by visiting every element.
Tensor ref_reduce(const Tensor &x, const std::vector<int> &dims, bool keepdim,
                  Red op) {
  const Shape &s = x.shape();
  const int r = x.rank();
  std::vector<bool> m = reduced_mask(dims, r);
  Shape keep, out;
  for (int d = 0; d < r; ++d) {
    keep.push_back(m[d] ? 1 : s[d]);
    if (!m[d])
      out.push_back(s[d]);
  }
  int64_t n_out = 1, per = 1;
  for (int d = 0; d < r; ++d)
    (m[d] ? per : n_out) *= s[d];
  double init = op == Red::max   ? -std::numeric_limits<double>::infinity()
                : op == Red::min ? std::numeric_limits<double>::infinity()
                                 : 0.0;
  std::vector<double> acc(n_out, init);
  std::vector<double> xv = x.to_vector<double>();
  for (int64_t i = 0; i < static_cast<int64_t>(xv.size()); ++i) {
    std::vector<int64_t> idx = unravel(i, s);
    for (int d = 0; d < r; ++d)
      if (m[d])
        idx[d] = 0;
    double &a = acc[ravel(idx, keep)];
    if (op == Red::max)
      a = std::max(a, xv[i]);
    else if (op == Red::min)
      a = std::min(a, xv[i]);
    else
      a += xv[i];
  }
  if (op == Red::mean)
    for (auto &a : acc)
      a /= per;
  return Tensor::from(acc, keepdim ? keep : out);
}

// Naive per-slice function along dim d: f maps the vector of one slice to
// its outputs (same length, or 1 for a reduction).
Tensor ref_along(
    const Tensor &x, int dim, bool reduces, bool keepdim,
    const std::function<std::vector<double>(const std::vector<double> &)> &f) {
  const Shape &s = x.shape();
  const int r = x.rank(), d = dim < 0 ? dim + r : dim;
  std::vector<double> xv = x.to_vector<double>();
  Shape out = s;
  if (reduces)
    out[d] = 1;
  std::vector<double> y(reduces ? xv.size() / s[d] : xv.size());
  for (int64_t i = 0; i < static_cast<int64_t>(xv.size()); ++i) {
    std::vector<int64_t> idx = unravel(i, s);
    if (idx[d] != 0)
      continue;
    std::vector<double> slice;
    for (int64_t k = 0; k < s[d]; ++k) {
      idx[d] = k;
      slice.push_back(xv[ravel(idx, s)]);
    }
    std::vector<double> o = f(slice);
    for (size_t k = 0; k < o.size(); ++k) {
      idx[d] = static_cast<int64_t>(k);
      y[ravel(idx, out)] = o[k];
    }
  }
  Tensor t = Tensor::from(y, out);
  if (reduces && !keepdim) {
    Shape sq = s;
    sq.erase(sq.begin() + d);
    t = t.reshape(sq);
  }
  return t;
}

// Stable references, computed with the maximum subtracted.
double lse_of(const std::vector<double> &v) {
  double m = *std::max_element(v.begin(), v.end()), s = 0;
  for (double e : v)
    s += std::exp(e - m);
  return m + std::log(s);
}
std::vector<double> ref_lse(const std::vector<double> &v) {
  return {lse_of(v)};
}
std::vector<double> ref_softmax(const std::vector<double> &v) {
  double l = lse_of(v);
  std::vector<double> o;
  for (double e : v)
    o.push_back(std::exp(e - l));
  return o;
}
std::vector<double> ref_logsoftmax(const std::vector<double> &v) {
  double l = lse_of(v);
  std::vector<double> o;
  for (double e : v)
    o.push_back(e - l);
  return o;
}

const std::vector<std::vector<int>> kDimCombos = {
    {}, {0}, {1}, {2}, {-1}, {0, 2}, {-3, -2}, {2, 0}, {1, 2}, {0, 1, 2}};

// Non-contiguous views of a [3,4,5] shape built from other bases.
std::vector<Tensor> views_345() {
  return {
      rand_f64({5, 3, 4}, -2, 2, 11).permute({1, 2, 0}), // permuted
      rand_f64({3, 8, 5}, -2, 2, 12).slice(1, 1, 8, 2),  // stepped slice
      rand_f64({4, 4, 5}, -2, 2, 13).slice(0, 1, 4),     // offset, contiguous
      rand_f64({3, 1, 5}, -2, 2, 14).expand({3, 4, 5}),  // stride 0
      rand_f64({4, 5, 3}, -2, 2, 15).transpose(0, 2).transpose(1, 2),
  };
}

} // namespace

TEST(Reduce, SumMeanMaxMinOverDimCombos) {
  Tensor x = rand_f64({3, 4, 5}, -2, 2);
  for (const auto &dims : kDimCombos)
    for (bool keep : {false, true}) {
      SCOPED_TRACE(::testing::Message()
                   << "dims size " << dims.size() << " keepdim " << keep);
      EXPECT_TRUE(all_close(sum(x, dims, keep),
                            ref_reduce(x, dims, keep, Red::sum), 1e-12));
      EXPECT_TRUE(all_close(mean(x, dims, keep),
                            ref_reduce(x, dims, keep, Red::mean), 1e-12));
      EXPECT_TRUE(all_close(max(x, dims, keep),
                            ref_reduce(x, dims, keep, Red::max), 0, 0));
      EXPECT_TRUE(all_close(min(x, dims, keep),
                            ref_reduce(x, dims, keep, Red::min), 0, 0));
    }
  // Whole-tensor overloads give 0-d results.
  EXPECT_EQ(sum(x).rank(), 0);
  EXPECT_NEAR(sum(x).item<double>(),
              ref_reduce(x, {}, false, Red::sum).item<double>(), 1e-12);
  EXPECT_NEAR(mean(x).item<double>(),
              ref_reduce(x, {}, false, Red::mean).item<double>(), 1e-12);
  EXPECT_EQ(max(x).item<double>(),
            ref_reduce(x, {}, false, Red::max).item<double>());
  EXPECT_EQ(min(x).item<double>(),
            ref_reduce(x, {}, false, Red::min).item<double>());
  // A 0-d input.
  EXPECT_EQ(sum(Tensor::scalar(2.5, DType::f64)).item<double>(), 2.5);
  EXPECT_EQ(max(Tensor::scalar(-1.5, DType::f64)).item<double>(), -1.5);
}

TEST(Reduce, NonContiguousInputs) {
  for (const Tensor &v : views_345()) {
    ASSERT_EQ(v.shape(), (Shape{3, 4, 5}));
    for (const auto &dims : kDimCombos)
      for (bool keep : {false, true}) {
        SCOPED_TRACE(::testing::Message()
                     << "strides " << shape_str(v.strides()) << " dims size "
                     << dims.size() << " keepdim " << keep);
        EXPECT_TRUE(all_close(sum(v, dims, keep),
                              ref_reduce(v, dims, keep, Red::sum), 1e-12));
        EXPECT_TRUE(all_close(mean(v, dims, keep),
                              ref_reduce(v, dims, keep, Red::mean), 1e-12));
        EXPECT_TRUE(all_close(max(v, dims, keep),
                              ref_reduce(v, dims, keep, Red::max), 0, 0));
        EXPECT_TRUE(all_close(min(v, dims, keep),
                              ref_reduce(v, dims, keep, Red::min), 0, 0));
      }
  }
}

TEST(Reduce, DtypesAndLargeParallelSums) {
  // f32 sums accumulate in f64.
  Tensor big = rand_f64({300, 700}, 0, 1, 3);
  Tensor bf = big.to(DType::f32);
  for (const auto &dims : std::vector<std::vector<int>>{{}, {0}, {1}}) {
    EXPECT_TRUE(
        all_close(sum(bf, dims), ref_reduce(bf, dims, false, Red::sum), 1e-6));
    EXPECT_TRUE(all_close(sum(big, dims),
                          ref_reduce(big, dims, false, Red::sum), 1e-12));
    EXPECT_TRUE(all_close(max(big, dims),
                          ref_reduce(big, dims, false, Red::max), 0, 0));
    EXPECT_TRUE(
        all_close(min(bf, dims), ref_reduce(bf, dims, false, Red::min), 0, 0));
  }
  EXPECT_EQ(sum(bf).dtype(), DType::f32);
  // 1-d beyond the parallel threshold (split into per-thread partials).
  Tensor line = rand_f64({100000}, -1, 1, 4);
  EXPECT_NEAR(sum(line).item<double>(),
              ref_reduce(line, {}, false, Red::sum).item<double>(), 1e-9);
  EXPECT_EQ(max(line).item<double>(),
            ref_reduce(line, {}, false, Red::max).item<double>());
  // Integers.
  Tensor i = Tensor::from<int64_t>({3, -7, 2, 9, 0, 4}, {2, 3});
  EXPECT_EQ(sum(i, {1}).to_vector<int64_t>(), (std::vector<int64_t>{-2, 13}));
  EXPECT_EQ(sum(i).dtype(), DType::i64);
  EXPECT_EQ(max(i, {0}).to_vector<int64_t>(), (std::vector<int64_t>{9, 0, 4}));
  EXPECT_EQ(min(i.to(DType::i32)).item<int32_t>(), -7);
}

TEST(Reduce, EmptyTensors) {
  Tensor e = Tensor::zeros({0, 3}, DType::f64);
  EXPECT_TRUE(all_close(sum(e, {0}), Tensor::zeros({3}, DType::f64)));
  EXPECT_EQ(sum(e, {1}).shape(), (Shape{0}));
  EXPECT_EQ(sum(e).item<double>(), 0.0);
  expect_error([&] { (void)max(e); }, {"max", "empty", "[0,3]"});
  expect_error([&] { (void)argmax(e, 0); }, {"argmax", "empty"});
}

TEST(Reduce, Errors) {
  Tensor x = Tensor::zeros({2, 3});
  expect_error([&] { (void)sum(x, {1, -1}); }, {"sum", "twice"});
  EXPECT_THROW((void)sum(x, {2}), Error);
  EXPECT_THROW((void)mean(x, {-3}), Error);
  expect_error([&] { (void)mean(Tensor::zeros({2}, DType::i64)); },
               {"mean", "floating", "i64"});
  EXPECT_THROW((void)softmax(x, 2), Error);
  expect_error(
      [&] {
        (void)softmax(Tensor::zeros({2, 0}), 1);
      },
      {"softmax", "empty"});
  expect_error([&] { (void)logsumexp(Tensor::zeros({3}, DType::i32), 0); },
               {"logsumexp", "i32"});
  expect_error([&] { (void)sum_to(x, {4}); }, {"sum_to", "[2,3]", "[4]"});
  expect_error([&] { (void)sum_to(x, {2, 2}); }, {"sum_to", "[2,2]"});
  expect_error([&] { (void)sum_to(x, {1, 2, 3}); }, {"sum_to", "[1,2,3]"});
  EXPECT_THROW((void)sum(Tensor()), Error);
}

TEST(Argmax, MatchesReferenceOverEveryDim) {
  Tensor x = rand_f64({3, 4, 5}, -2, 2, 21);
  auto ref_argmax = [](const std::vector<double> &v) {
    return std::vector<double>{
        double(std::max_element(v.begin(), v.end()) - v.begin())};
  };
  std::vector<Tensor> inputs{x};
  for (const Tensor &v : views_345()) // not the expanded one: ties (below)
    if (std::find(v.strides().begin(), v.strides().end(), 0) ==
        v.strides().end())
      inputs.push_back(v);
  ASSERT_EQ(inputs.size(), 5u);
  for (const Tensor &v : inputs)
    for (int d : {0, 1, 2, -1, -3})
      for (bool keep : {false, true}) {
        SCOPED_TRACE(::testing::Message()
                     << "dim " << d << " keepdim " << keep << " strides "
                     << shape_str(v.strides()));
        Tensor a = argmax(v, d, keep);
        EXPECT_EQ(a.dtype(), DType::i64);
        EXPECT_TRUE(
            all_close(a, ref_along(v, d, true, keep, ref_argmax), 0, 0));
      }
}

TEST(Argmax, TiesPickTheFirst) {
  Tensor x = Tensor::from<double>({1, 5, 5, 2, 2, 2, 7, 0, 7}, {3, 3});
  EXPECT_EQ(argmax(x, 1).to_vector<int64_t>(), (std::vector<int64_t>{1, 0, 0}));
  EXPECT_EQ(argmax(x, 0).to_vector<int64_t>(), (std::vector<int64_t>{2, 0, 2}));
  // Stride-0 view: every element along dim 1 ties.
  Tensor e = rand_f64({3, 1, 5}).expand({3, 4, 5});
  EXPECT_TRUE(all_close(argmax(e, 1), Tensor::zeros({3, 5}, DType::i64)));
}

TEST(Softmax, ForwardOverDimsAndViews) {
  std::vector<Tensor> inputs = views_345();
  inputs.insert(inputs.begin(), rand_f64({3, 4, 5}, -3, 3, 31));
  for (const Tensor &v : inputs)
    for (int d : {0, 1, 2, -1, -2}) {
      SCOPED_TRACE(::testing::Message()
                   << "dim " << d << " strides " << shape_str(v.strides()));
      EXPECT_TRUE(all_close(softmax(v, d),
                            ref_along(v, d, false, false, ref_softmax), 1e-12,
                            1e-15));
      EXPECT_TRUE(all_close(logsoftmax(v, d),
                            ref_along(v, d, false, false, ref_logsoftmax),
                            1e-12, 1e-14));
      EXPECT_TRUE(all_close(logp(v, d), logsoftmax(v, d), 0, 0));
      for (bool keep : {false, true})
        EXPECT_TRUE(all_close(logsumexp(v, d, keep),
                              ref_along(v, d, true, keep, ref_lse), 1e-12));
    }
  // f32.
  Tensor f = rand_f64({4, 6}, -3, 3, 32).to(DType::f32);
  EXPECT_EQ(softmax(f, 1).dtype(), DType::f32);
  EXPECT_TRUE(all_close(
      softmax(f, 1), ref_along(f, 1, false, false, ref_softmax), 1e-5, 1e-7));
  EXPECT_TRUE(
      all_close(logsumexp(f, 0), ref_along(f, 0, true, false, ref_lse), 1e-6));
}

TEST(Softmax, StableForLargeValues) {
  for (DType dt : {DType::f64, DType::f32}) {
    Tensor x =
        Tensor::from<double>({1000, 1001, 999, -1000, -1001, -1002}, {2, 3})
            .to(dt);
    std::vector<std::vector<double>> rows{{1000, 1001, 999},
                                          {-1000, -1001, -1002}};
    std::vector<double> sm, lsm, lse;
    for (auto &r : rows) {
      for (double v : ref_softmax(r))
        sm.push_back(v);
      for (double v : ref_logsoftmax(r))
        lsm.push_back(v);
      lse.push_back(lse_of(r));
    }
    double tol = dt == DType::f64 ? 1e-12 : 1e-6;
    EXPECT_TRUE(all_close(softmax(x, 1), Tensor::from(sm, {2, 3}), tol, tol));
    EXPECT_TRUE(
        all_close(logsoftmax(x, -1), Tensor::from(lsm, {2, 3}), tol, tol));
    EXPECT_TRUE(all_close(logsumexp(x, 1), Tensor::from(lse, {2}), tol));
    // Gradients stay finite.
    Param p(x.clone());
    Tape t = diff([&] { return sum(logsumexp(p, 1)) + sum(softmax(p, 0)); });
    for (double g : t.grad(p).to_vector<double>())
      EXPECT_TRUE(std::isfinite(g));
  }
  // -inf entries get probability 0; a row of one finite value gets 1.
  double inf = std::numeric_limits<double>::infinity();
  Tensor m = Tensor::from<double>({-inf, 0, 0, 5, -inf, -inf}, {2, 3});
  EXPECT_TRUE(all_close(softmax(m, 1),
                        Tensor::from<double>({0, 0.5, 0.5, 1, 0, 0}, {2, 3})));
  EXPECT_TRUE(all_close(logsumexp(m, 1),
                        Tensor::from<double>({std::log(2.0), 5}, {2})));
}

TEST(ReduceGrad, SumMeanMaxMin) {
  Tensor x = rand_f64({3, 4, 5}, -2, 2, 41);
  for (const auto &dims : kDimCombos)
    for (bool keep : {false, true}) {
      SCOPED_TRACE(::testing::Message()
                   << "dims size " << dims.size() << " keepdim " << keep);
      EXPECT_TRUE(
          check_grads([&](auto &v) { return sum(v[0], dims, keep); }, {x}));
      EXPECT_TRUE(
          check_grads([&](auto &v) { return mean(v[0], dims, keep); }, {x}));
      EXPECT_TRUE(
          check_grads([&](auto &v) { return max(v[0], dims, keep); }, {x}));
      EXPECT_TRUE(
          check_grads([&](auto &v) { return min(v[0], dims, keep); }, {x}));
    }
  // Through views: permuted and sliced inputs.
  EXPECT_TRUE(check_grads(
      [](auto &v) {
        return sum(v[0].permute({2, 0, 1}), {0, 2});
      },
      {x}));
  EXPECT_TRUE(check_grads(
      [](auto &v) { return max(v[0].slice(2, 0, 5, 2), {-1}, true); }, {x}));
  EXPECT_TRUE(check_grads(
      [](auto &v) { return mean(v[0].transpose(0, 2), {1}); }, {x}));
  EXPECT_TRUE(check_grads([](auto &v) { return min(v[0]) * sum(v[0]); }, {x}));
}

TEST(ReduceGrad, MaxTiesShareTheGradient) {
  // Ties split the gradient equally among the tied elements.
  Tensor x = Tensor::from<double>({3, 1, 3, 2, 2, 2, 0, 5, 4}, {3, 3});
  std::vector<double> xv = x.to_vector<double>();
  Param p(x.clone());
  Tape t = diff([&] {
    return sum(max(p, {1}) * Tensor::from<double>({1, 2, 3}, {3}));
  });
  std::vector<double> ref(9);
  for (int i = 0; i < 3; ++i) {
    double m = *std::max_element(xv.begin() + 3 * i, xv.begin() + 3 * i + 3);
    int c = int(std::count(xv.begin() + 3 * i, xv.begin() + 3 * i + 3, m));
    for (int j = 0; j < 3; ++j)
      ref[3 * i + j] = xv[3 * i + j] == m ? (i + 1.0) / c : 0.0;
  }
  EXPECT_TRUE(all_close(t.grad(p), Tensor::from(ref, {3, 3}), 1e-15));
  // Whole-tensor min with a tie.
  Tensor y = Tensor::from<double>({1, 4, 1, 6}, {2, 2});
  Param q(y.clone());
  Tape t2 = diff([&] { return min(q); });
  EXPECT_TRUE(all_close(t2.grad(q),
                        Tensor::from<double>({0.5, 0, 0.5, 0}, {2, 2}), 1e-15));
  // The tie point is where central differences see one side of the kink
  // each: +h raises max by h, -h leaves it, so the numeric slope is 1/2 for
  // each of two tied elements, which is what an equal split gives.
  Tensor two = Tensor::from<double>({2, 2, 1}, {3});
  EXPECT_TRUE(check_grads([](auto &v) { return max(v[0]); }, {two}));
}

TEST(ReduceGrad, LogsumexpSoftmaxLogsoftmax) {
  Tensor x = rand_f64({3, 4, 5}, -2, 2, 51);
  for (int d : {0, 1, 2, -1}) {
    SCOPED_TRACE(::testing::Message() << "dim " << d);
    EXPECT_TRUE(check_grads([d](auto &v) { return softmax(v[0], d); }, {x}));
    EXPECT_TRUE(check_grads([d](auto &v) { return logsoftmax(v[0], d); }, {x}));
    EXPECT_TRUE(check_grads([d](auto &v) { return logsumexp(v[0], d); }, {x}));
    EXPECT_TRUE(
        check_grads([d](auto &v) { return logsumexp(v[0], d, true); }, {x}));
  }
  EXPECT_TRUE(check_grads(
      [](auto &v) { return softmax(v[0].transpose(0, 2), 1); }, {x}));
  EXPECT_TRUE(check_grads(
      [](auto &v) { return logsoftmax(v[0].slice(1, 0, 4, 3), -2); }, {x}));
}

TEST(ReduceGrad, BackwardKernels) {
  // softmax_back / logsoftmax_back equal the vector-Jacobian products of
  // softmax / logsoftmax, computed here naively, and are differentiable.
  Tensor x = rand_f64({3, 4}, -2, 2, 61), dy = rand_f64({3, 4}, -1, 1, 62);
  for (int d : {0, 1, -1}) {
    Tensor y = softmax(x, d), ly = logsoftmax(x, d);
    std::vector<double> yv = y.to_vector<double>(), dv = dy.to_vector<double>();
    std::vector<double> ref_s(12), ref_l(12);
    const int dd = d < 0 ? d + 2 : d;
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 4; ++j) {
        // dx_k = sum_m dy_m * dy_m/dx_k along the dim.
        double s = 0, l = 0;
        int n = dd == 1 ? 4 : 3;
        for (int m = 0; m < n; ++m) {
          int flat = dd == 1 ? i * 4 + m : m * 4 + j;
          int self = dd == 1 ? j : i;
          double jac = yv[flat] * ((m == self ? 1.0 : 0.0) -
                                   yv[i * 4 + j]); // d y_m / d x_self
          s += dv[flat] * jac;
          l += dv[flat] * ((m == self ? 1.0 : 0.0) - yv[i * 4 + j]);
        }
        ref_s[i * 4 + j] = s;
        ref_l[i * 4 + j] = l;
      }
    EXPECT_TRUE(all_close(softmax_back(dy, y, d), Tensor::from(ref_s, {3, 4}),
                          1e-12, 1e-14));
    EXPECT_TRUE(all_close(logsoftmax_back(dy, ly, d),
                          Tensor::from(ref_l, {3, 4}), 1e-12, 1e-14));
    EXPECT_TRUE(
        check_grads([d](auto &v) { return softmax_back(v[0], v[1], d); },
                    {dy, rand_f64({3, 4}, 0.1, 0.9, 63)}));
    EXPECT_TRUE(
        check_grads([d](auto &v) { return logsoftmax_back(v[0], v[1], d); },
                    {dy, rand_f64({3, 4}, -2, -0.1, 64)}));
  }
  // Second order through softmax: the Hessian-vector product of a loss.
  EXPECT_TRUE(check_grads(
      [](auto &v) {
        auto [val, g] = value_and_grad(
            [](Tensor t) { return sum(pow(softmax(t, 1), 2.0)); }, v[0] * 1.0);
        return g;
      },
      {x}));
}

TEST(SumTo, ReducesBroadcastDims) {
  Tensor x = rand_f64({2, 3, 4}, -1, 1, 71);
  struct Case {
    Shape to;
    std::vector<int> dims; // dims of x summed (keepdim), then reshaped
  };
  for (const Case &c : std::vector<Case>{{{2, 3, 4}, {}},
                                         {{3, 4}, {0}},
                                         {{4}, {0, 1}},
                                         {{1, 4}, {0, 1}},
                                         {{3, 1}, {0, 2}},
                                         {{2, 1, 4}, {1}},
                                         {{1, 1, 1}, {0, 1, 2}},
                                         {{}, {0, 1, 2}}}) {
    SCOPED_TRACE(shape_str(c.to));
    Tensor ref = c.dims.empty() ? x : ref_reduce(x, c.dims, true, Red::sum);
    EXPECT_TRUE(all_close(sum_to(x, c.to), ref.reshape(c.to), 1e-12));
    EXPECT_TRUE(all_close(sum_to(x.permute({2, 0, 1}).permute({1, 2, 0}), c.to),
                          ref.reshape(c.to), 1e-12));
    if (!c.dims.empty()) {
      EXPECT_TRUE(
          check_grads([&c](auto &v) { return sum_to(v[0], c.to); }, {x}));
    }
  }
  // sum_to is the adjoint of broadcasting: <sum_to(g), a> = <g, expand(a)>.
  Tensor a = rand_f64({3, 1}, -1, 1, 72), g = rand_f64({2, 3, 4}, -1, 1, 73);
  double lhs = sum(sum_to(g, {3, 1}) * a).item<double>();
  double rhs = sum(g * a.expand({2, 3, 4})).item<double>();
  EXPECT_NEAR(lhs, rhs, 1e-12);
}

// The reduction engine's parallel paths (core/loops.h, run_reduction): many
// kept elements (threads split them), a kept row (the row split among the
// threads), fewer accumulators than threads over a folded leading dim (tall
// on 3 threads: the folded rows split, each thread into its own
// accumulators) and a whole-tensor fold (the row split likewise), on 1, 2
// and 3 threads, against the naive loops; f32 sums accumulate in f64.
TEST(Reduce, EveryParallelPathOfTheEngine) {
  const int before = num_threads();
  Tensor wide = rand_f64({200, 300}, -1, 1, 61);
  Tensor tall = rand_f64({30000, 2}, -1, 1, 62);
  Tensor cube = rand_f64({30, 40, 50}, -1, 1, 63).transpose(0, 2);
  for (const Tensor &x : {wide, tall, cube}) {
    for (const std::vector<int> &dims :
         std::vector<std::vector<int>>{{}, {0}, {1}, {-1}, {0, 1}}) {
      for (Red op : {Red::sum, Red::max, Red::min}) {
        Tensor want = ref_reduce(x, dims, true, op);
        Dims d(dims.begin(), dims.end());
        for (int threads : {1, 2, 3}) {
          set_num_threads(threads);
          Tensor got = op == Red::sum   ? sum(x, d, true)
                       : op == Red::max ? max(x, d, true)
                                        : min(x, d, true);
          EXPECT_TRUE(all_close(got, want, 1e-12, 1e-9))
              << threads << " threads, shape " << shape_str(x.shape());
        }
      }
    }
    Tensor x32 = x.to(DType::f32);
    Tensor want32 = ref_reduce(x32, {0}, false, Red::sum);
    for (int threads : {1, 2, 3}) {
      set_num_threads(threads);
      EXPECT_TRUE(all_close(sum(x32, {0}, false), want32, 1e-6, 1e-5))
          << threads << " threads, f32";
    }
  }
  set_num_threads(before);
}
