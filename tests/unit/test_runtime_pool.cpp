// Pooling: pool (max/avg, padding, stride; f32 on oneDNN and f64 on loops)
// against a naive reference, pool_back and unpool against references and
// central differences, and misuse.
#include "test_util.h"

#include <algorithm>
#include <cmath>

using namespace knet;
using knet::testing::all_close;
using knet::testing::check_grads;
using knet::testing::rand_f64;

namespace {

// Naive reference: for every output, visit the window over the padded input.
// Max skips padded positions; avg sums real positions and divides by k*k.
Tensor ref_pool(const Tensor &x, int64_t k, int64_t s, int64_t p, bool is_max) {
  const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  const int64_t OH = (H + 2 * p - k) / s + 1, OW = (W + 2 * p - k) / s + 1;
  std::vector<double> xv = x.contiguous().to_vector<double>();
  std::vector<double> y(N * C * OH * OW);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t i = 0; i < OH; ++i)
        for (int64_t j = 0; j < OW; ++j) {
          double best = -INFINITY, sum = 0;
          for (int64_t a = 0; a < k; ++a)
            for (int64_t b = 0; b < k; ++b) {
              int64_t h = i * s + a - p, w = j * s + b - p;
              if (h < 0 || h >= H || w < 0 || w >= W)
                continue;
              double v = xv[((n * C + c) * H + h) * W + w];
              best = std::max(best, v);
              sum += v;
            }
          y[((n * C + c) * OH + i) * OW + j] = is_max ? best : sum / (k * k);
        }
  return Tensor::from(y, {N, C, OH, OW});
}

// Reference gradients: max sends dy to the first maximum in row-major window
// order; avg spreads dy/(k*k) over the real positions.
Tensor ref_pool_back(const Tensor &dy, const Tensor &x, int64_t k, int64_t s,
                     int64_t p, bool is_max) {
  const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  const int64_t OH = dy.size(2), OW = dy.size(3);
  std::vector<double> xv = x.contiguous().to_vector<double>();
  std::vector<double> gv = dy.contiguous().to_vector<double>();
  std::vector<double> dx(xv.size(), 0.0);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t i = 0; i < OH; ++i)
        for (int64_t j = 0; j < OW; ++j) {
          double g = gv[((n * C + c) * OH + i) * OW + j];
          int64_t arg = -1;
          for (int64_t a = 0; a < k; ++a)
            for (int64_t b = 0; b < k; ++b) {
              int64_t h = i * s + a - p, w = j * s + b - p;
              if (h < 0 || h >= H || w < 0 || w >= W)
                continue;
              int64_t idx = ((n * C + c) * H + h) * W + w;
              if (is_max) {
                if (arg < 0 || xv[idx] > xv[arg])
                  arg = idx;
              } else {
                dx[idx] += g / (k * k);
              }
            }
          if (is_max)
            dx[arg] += g;
        }
  return Tensor::from(dx, x.shape());
}

// Distinct values (no ties): a random permutation of 0..n-1, scaled.
Tensor distinct_f64(const Shape &shape, uint64_t seed) {
  Tensor r = rand_f64(shape, 0, 1, seed);
  std::vector<double> v = r.to_vector<double>();
  std::vector<size_t> order(v.size());
  for (size_t i = 0; i < order.size(); ++i)
    order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return v[a] < v[b]; });
  std::vector<double> out(v.size());
  for (size_t i = 0; i < order.size(); ++i)
    out[order[i]] = (static_cast<double>(i) - order.size() / 2.0) * 0.1;
  return Tensor::from(out, shape);
}

struct Case {
  Shape shape;
  int64_t k, s, p; // s = 0: window
};

const std::vector<Case> kCases = {
    {{2, 3, 6, 6}, 2, 0, 0},
    {{2, 3, 7, 5}, 3, 2, 1},
    {{1, 2, 5, 6}, 3, 1, 1},
    {{2, 2, 7, 7}, 2, 1, 1},
    {{1, 3, 9, 8}, 3, 3, 2},
    {{3, 1, 4, 4}, 4, 1, 0},
    {{1, 1, 5, 5}, 1, 2, 0},
    // Windows that tile the input (max's backward fast path), with rows and
    // columns no window reaches.
    {{2, 3, 7, 5}, 2, 0, 0},
    {{1, 2, 7, 8}, 3, 0, 0},
};

} // namespace

TEST(Pool, ForwardMatchesNaiveF32OneDnnAndF64Loops) {
  for (const Case &c : kCases)
    for (PoolMode mode : {PoolMode::max, PoolMode::avg}) {
      SCOPED_TRACE(shape_str(c.shape) + " k=" + std::to_string(c.k) +
                   " s=" + std::to_string(c.s) + " p=" + std::to_string(c.p) +
                   (mode == PoolMode::max ? " max" : " avg"));
      PoolOptions o{c.k, c.s, c.p, mode};
      Tensor x = rand_f64(c.shape, -2, 2, 17);
      Tensor ref =
          ref_pool(x, c.k, c.s ? c.s : c.k, c.p, mode == PoolMode::max);
      Tensor y64 = pool(x, o);
      Tensor y32 = pool(x.to(DType::f32), o);
      EXPECT_EQ(y64.dtype(), DType::f64);
      EXPECT_EQ(y32.dtype(), DType::f32);
      EXPECT_TRUE(all_close(y64, ref, 1e-12, 1e-12));
      EXPECT_TRUE(all_close(y32, ref, 1e-5, 1e-6));
      // The two paths agree with each other.
      EXPECT_TRUE(all_close(y32, y64.to(DType::f32), 1e-5, 1e-6));
    }
}

TEST(Pool, LargeInputParallelPathsAgree) {
  Tensor x = rand_f64({4, 16, 32, 32}, -1, 1, 30);
  for (PoolMode mode : {PoolMode::max, PoolMode::avg}) {
    PoolOptions o{3, 2, 1, mode};
    Tensor ref = ref_pool(x, 3, 2, 1, mode == PoolMode::max);
    EXPECT_TRUE(all_close(pool(x, o), ref, 1e-12, 1e-12));
    EXPECT_TRUE(all_close(pool(x.to(DType::f32), o), ref, 1e-5, 1e-6));
    Tensor dy = rand_f64(ref.shape(), -1, 1, 31);
    Tensor dx = pool_back(dy, ref, x, o);
    EXPECT_TRUE(all_close(dx,
                          ref_pool_back(dy, x, 3, 2, 1, mode == PoolMode::max),
                          1e-12, 1e-12));
    Tensor x32 = x.to(DType::f32);
    EXPECT_TRUE(all_close(pool_back(dy.to(DType::f32), pool(x32, o), x32, o),
                          dx, 1e-5, 1e-6));
  }
}

TEST(Pool, DefaultsAreMaxWindowTwo) {
  Tensor x = rand_f64({1, 2, 4, 6}, -1, 1, 3);
  EXPECT_TRUE(all_close(pool(x), ref_pool(x, 2, 2, 0, true)));
  EXPECT_EQ(pool(x).shape(), (Shape{1, 2, 2, 3}));
}

TEST(Pool, NonContiguousInput) {
  Tensor base = rand_f64({2, 3, 8, 6}, -1, 1, 5);
  Tensor t = base.transpose(2, 3);   // [2,3,6,8] strided
  Tensor s = base.slice(1, 0, 3, 2); // [2,2,8,6] channel step 2
  for (PoolMode mode : {PoolMode::max, PoolMode::avg}) {
    PoolOptions o{3, 2, 1, mode};
    bool m = mode == PoolMode::max;
    EXPECT_TRUE(all_close(pool(t, o), ref_pool(t, 3, 2, 1, m), 1e-12, 1e-12));
    EXPECT_TRUE(all_close(pool(s, o), ref_pool(s, 3, 2, 1, m), 1e-12, 1e-12));
    EXPECT_TRUE(all_close(pool(t.to(DType::f32), o), ref_pool(t, 3, 2, 1, m),
                          1e-5, 1e-6));
  }
}

TEST(Pool, BackMatchesReferenceBothDtypes) {
  for (const Case &c : kCases)
    for (PoolMode mode : {PoolMode::max, PoolMode::avg}) {
      SCOPED_TRACE(shape_str(c.shape) + " k=" + std::to_string(c.k) +
                   (mode == PoolMode::max ? " max" : " avg"));
      PoolOptions o{c.k, c.s, c.p, mode};
      Tensor x = distinct_f64(c.shape, 21);
      Tensor y = pool(x, o);
      Tensor dy = rand_f64(y.shape(), -1, 1, 8);
      Tensor ref = ref_pool_back(dy, x, c.k, c.s ? c.s : c.k, c.p,
                                 mode == PoolMode::max);
      EXPECT_TRUE(all_close(pool_back(dy, y, x, o), ref, 1e-12, 1e-12));
      Tensor x32 = x.to(DType::f32), dy32 = dy.to(DType::f32);
      EXPECT_TRUE(
          all_close(pool_back(dy32, pool(x32, o), x32, o), ref, 1e-5, 1e-6));
    }
}

TEST(Pool, MaxBackTiesGoToFirst) {
  // All equal: every window's gradient lands on its top-left element.
  Tensor x = Tensor::ones({1, 1, 4, 4}, DType::f64);
  PoolOptions o{2, 2, 0, PoolMode::max};
  Tensor dy = Tensor::from<double>({1, 2, 3, 4}, {1, 1, 2, 2});
  std::vector<double> dx = pool_back(dy, pool(x, o), x, o).to_vector<double>();
  std::vector<double> want(16, 0.0);
  want[0] = 1;
  want[2] = 2;
  want[8] = 3;
  want[10] = 4;
  EXPECT_EQ(dx, want);
  Tensor x32 = x.to(DType::f32);
  EXPECT_TRUE(all_close(pool_back(dy.to(DType::f32), pool(x32, o), x32, o),
                        Tensor::from(want, {1, 1, 4, 4})));
}

TEST(Pool, GradientsMatchFiniteDifferences) {
  for (const Case &c : kCases)
    for (PoolMode mode : {PoolMode::max, PoolMode::avg}) {
      SCOPED_TRACE(shape_str(c.shape) + " k=" + std::to_string(c.k) +
                   (mode == PoolMode::max ? " max" : " avg"));
      PoolOptions o{c.k, c.s, c.p, mode};
      // Distinct values 0.1 apart: a 1e-6 step never changes an argmax.
      EXPECT_TRUE(check_grads(
          [o](const std::vector<Tensor> &in) { return pool(in[0], o); },
          {distinct_f64(c.shape, 4)}));
    }
}

TEST(Pool, PoolBackGradientInDy) {
  // pool_back is linear in dy; its rule makes second derivatives work.
  for (PoolMode mode : {PoolMode::max, PoolMode::avg}) {
    PoolOptions o{3, 2, 1, mode};
    Tensor x = distinct_f64({2, 2, 7, 6}, 6);
    Tensor y = pool(x, o);
    EXPECT_TRUE(check_grads(
        [&](const std::vector<Tensor> &in) {
          return pool_back(in[0] * in[0], y, x, o);
        },
        {rand_f64(y.shape(), -1, 1, 2)}));
    // Second order through pool: d/dx of sum(grad_x(sum(pool(x)^2)) * R).
    // (The inner argument is a recorded value, not the outer Param itself:
    // value_and_grad would re-tag the Param's tensor as its own.)
    EXPECT_TRUE(check_grads(
        [o](const std::vector<Tensor> &in) {
          auto [v, g] = value_and_grad(
              [o](Tensor t) { return sum(pow(pool(t, o), 2.0)); }, in[0] * 1.0);
          return g;
        },
        {x}));
  }
}

TEST(Unpool, RepeatsEachElementOverABlock) {
  Tensor x = rand_f64({2, 3, 3, 4}, -1, 1, 12);
  for (int64_t k : {2, 3}) {
    Tensor y = unpool(x, {.window = k});
    ASSERT_EQ(y.shape(), (Shape{2, 3, 3 * k, 4 * k}));
    std::vector<double> xv = x.to_vector<double>(), yv = y.to_vector<double>();
    for (int64_t nc = 0; nc < 6; ++nc)
      for (int64_t h = 0; h < 3 * k; ++h)
        for (int64_t w = 0; w < 4 * k; ++w)
          ASSERT_EQ(yv[(nc * 3 * k + h) * 4 * k + w],
                    xv[(nc * 3 + h / k) * 4 + w / k]);
    // f32 too, and avg pooling undoes it.
    EXPECT_TRUE(all_close(unpool(x.to(DType::f32), {.window = k}), y));
    EXPECT_TRUE(all_close(pool(y, {.window = k, .mode = PoolMode::avg}), x,
                          1e-12, 1e-12));
  }
  // A strided view as input.
  Tensor t = x.transpose(2, 3);
  EXPECT_TRUE(all_close(unpool(t), unpool(t.contiguous())));
}

TEST(Unpool, GradientIsTheBlockSum) {
  EXPECT_TRUE(
      check_grads([](const std::vector<Tensor> &in) { return unpool(in[0]); },
                  {rand_f64({2, 2, 3, 3})}));
  EXPECT_TRUE(check_grads(
      [](const std::vector<Tensor> &in) {
        return unpool(in[0], {.window = 3, .stride = 2, .padding = 1});
      },
      {rand_f64({1, 2, 4, 3})}));
  // Explicitly: d sum(unpool(x) * R) / dx = block sums of R.
  Param x(rand_f64({1, 1, 2, 2}), "x");
  Tensor r = rand_f64({1, 1, 4, 4}, 0, 1, 3);
  Tape t = diff([&] { return sum(unpool(x.value()) * r); });
  EXPECT_TRUE(all_close(t.grad(x), pool(r, {.mode = PoolMode::avg}) * 4.0,
                        1e-12, 1e-12));
}

TEST(Pool, Misuse) {
  Tensor x = rand_f64({1, 1, 4, 4});
  EXPECT_THROW(pool(rand_f64({4, 4})), Error);
  EXPECT_THROW(pool(x, {.window = 0}), Error);
  EXPECT_THROW(pool(x, {.window = 2, .stride = -1}), Error);
  EXPECT_THROW(pool(x, {.window = 2, .padding = 2}), Error);
  EXPECT_THROW(pool(x, {.window = 5}), Error);
  EXPECT_THROW(pool(Tensor::ones({1, 1, 4, 4}, DType::i32)), Error);
  Tensor y = pool(x);
  EXPECT_THROW(pool_back(rand_f64({1, 1, 3, 3}), y, x), Error);
  EXPECT_THROW(pool_back(y.to(DType::f32), y, x), Error);
  EXPECT_THROW(unpool(rand_f64({3, 3})), Error);
  try {
    pool(x, {.window = 5});
    FAIL();
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("[1,1,4,4]"), std::string::npos)
        << e.what();
  }
  // The rule knetc checks on constant options too (knet/ops/conv.h).
  try {
    pool(x, {.window = 2, .padding = 2});
    FAIL();
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find(
                  "pool: padding must be smaller than the window, got "
                  "window=2 stride=0 padding=2 (input [1,1,4,4])"),
              std::string::npos)
        << e.what();
  }
}
