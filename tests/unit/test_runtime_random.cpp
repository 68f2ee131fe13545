// Random numbers: Philox4x32-10 against Random123's published known-answer
// vectors, the layout of the global stream, distribution sanity, the
// initializers and dropout.
#include "test_util.h"

#include <array>
#include <cmath>
#include <cstdint>

// The generator's block function (defined in runtime/ops/random.cpp).
namespace knet::detail {
std::array<uint32_t, 4> philox4x32_10(std::array<uint32_t, 4> ctr,
                                      std::array<uint32_t, 2> key);
}

using namespace knet;
using knet::testing::all_close;
using knet::testing::check_grads;
using knet::testing::rand_f64;

namespace {

struct Stats {
  double mean, var, min, max;
};

Stats stats(const Tensor &t) {
  std::vector<double> v = t.to_vector<double>();
  double s = 0, mn = INFINITY, mx = -INFINITY;
  for (double e : v) {
    s += e;
    mn = std::min(mn, e);
    mx = std::max(mx, e);
  }
  const double m = s / v.size();
  double ss = 0;
  for (double e : v)
    ss += (e - m) * (e - m);
  return {m, ss / v.size(), mn, mx};
}

// Restores the training flag when a test ends.
struct TrainingGuard {
  bool old;
  explicit TrainingGuard(bool on) : old(set_training(on)) {}
  ~TrainingGuard() { set_training(old); }
};

} // namespace

// Random123 kat_vectors, philox4x32 with 10 rounds: counter (4 words) and
// key (2 words) in, 4 words out.
TEST(Philox, KnownAnswerVectors) {
  using A4 = std::array<uint32_t, 4>;
  EXPECT_EQ(detail::philox4x32_10({0, 0, 0, 0}, {0, 0}),
            (A4{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}));
  EXPECT_EQ(detail::philox4x32_10(
                {0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu},
                {0xffffffffu, 0xffffffffu}),
            (A4{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}));
  EXPECT_EQ(detail::philox4x32_10(
                {0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u},
                {0xa4093822u, 0x299f31d0u}),
            (A4{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}));
}

// The documented stream: key = seed, element i of an op uses word i%4 of
// block (offset + i/4); each op advances the offset by ceil(n/4) blocks.
TEST(Philox, StreamLayoutIsCounterBased) {
  const uint64_t s = 0x0123456789abcdefull;
  const std::array<uint32_t, 2> key{0x89abcdefu, 0x01234567u};
  seed(s);
  std::vector<double> a = rand({7}, DType::f64).to_vector<double>();
  std::vector<double> b = rand({5}, DType::f64).to_vector<double>();
  auto word = [&](uint64_t blk, int j) {
    return detail::philox4x32_10(
        {static_cast<uint32_t>(blk), static_cast<uint32_t>(blk >> 32), 0, 0},
        key)[j];
  };
  for (int i = 0; i < 7; ++i)
    EXPECT_EQ(a[i], std::ldexp(static_cast<double>(word(i / 4, i % 4)), -32))
        << i;
  // 7 values used blocks 0 and 1: the next op starts at block 2.
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(b[i],
              std::ldexp(static_cast<double>(word(2 + i / 4, i % 4)), -32))
        << i;
  // f32: the top 24 bits.
  seed(s);
  std::vector<float> f = rand({6}, DType::f32).to_vector<float>();
  for (int i = 0; i < 6; ++i)
    EXPECT_EQ(f[i],
              std::ldexp(static_cast<float>(word(i / 4, i % 4) >> 8), -24))
        << i;
  // A large draw (split across threads) follows the same layout.
  seed(s);
  std::vector<double> big = rand({1 << 20}, DType::f64).to_vector<double>();
  for (int64_t i = 0; i < (1 << 20); i += 9973)
    EXPECT_EQ(big[i], std::ldexp(static_cast<double>(word(i / 4, i % 4)), -32))
        << i;
  // randn: Box-Muller on word pairs of the same blocks.
  seed(s);
  std::vector<double> z = randn({4}, DType::f64).to_vector<double>();
  for (int j = 0; j < 2; ++j) {
    double u1 = (static_cast<double>(word(0, 2 * j)) + 1) / 4294967296.0;
    double u2 = static_cast<double>(word(0, 2 * j + 1)) / 4294967296.0;
    double r = std::sqrt(-2 * std::log(u1));
    EXPECT_NEAR(z[2 * j], r * std::cos(2 * M_PI * u2), 1e-12);
    EXPECT_NEAR(z[2 * j + 1], r * std::sin(2 * M_PI * u2), 1e-12);
  }
}

TEST(Random, SameSeedSameNumbersDifferentSeedsDiffer) {
  seed(42);
  Tensor a = rand({1000});
  Tensor a2 = randn({100}, DType::f64);
  seed(42);
  Tensor b = rand({1000});
  Tensor b2 = randn({100}, DType::f64);
  EXPECT_EQ(a.to_vector<float>(), b.to_vector<float>());
  EXPECT_EQ(a2.to_vector<double>(), b2.to_vector<double>());
  Tensor c = rand({1000}); // the stream moved on
  EXPECT_NE(a.to_vector<float>(), c.to_vector<float>());
  seed(43);
  Tensor d = rand({1000});
  EXPECT_NE(a.to_vector<float>(), d.to_vector<float>());
  EXPECT_EQ(rand({0}).numel(), 0);
  EXPECT_THROW(rand({3}, DType::i32), Error);
  EXPECT_THROW(rand({-1}), Error);
}

TEST(Random, UniformMoments) {
  seed(7);
  const int64_t n = 200000;
  for (DType dt : {DType::f32, DType::f64}) {
    Tensor u = rand({n / 100, 100}, dt);
    EXPECT_EQ(u.dtype(), dt);
    EXPECT_EQ(u.shape(), (Shape{n / 100, 100}));
    Stats s = stats(u);
    // Standard errors: mean sqrt(1/12/n) ~ 6.5e-4, var ~ 2e-4.
    EXPECT_NEAR(s.mean, 0.5, 0.004);
    EXPECT_NEAR(s.var, 1.0 / 12, 0.0015);
    EXPECT_GE(s.min, 0.0);
    EXPECT_LT(s.max, 1.0);
    EXPECT_LT(s.min, 1e-3);
    EXPECT_GT(s.max, 1 - 1e-3);
  }
}

TEST(Random, NormalMoments) {
  seed(11);
  const int64_t n = 200001; // not a multiple of 4
  for (DType dt : {DType::f32, DType::f64}) {
    Tensor z = randn({n}, dt);
    Stats s = stats(z);
    EXPECT_NEAR(s.mean, 0.0, 0.012); // se 2.2e-3
    EXPECT_NEAR(s.var, 1.0, 0.016);  // se 3.2e-3
    std::vector<double> v = z.to_vector<double>();
    int64_t inside = 0;
    for (double e : v)
      inside += std::abs(e) < 1.0;
    EXPECT_NEAR(static_cast<double>(inside) / n, 0.682689, 0.006);
    double m4 = 0;
    for (double e : v)
      m4 += e * e * e * e;
    EXPECT_NEAR(m4 / n, 3.0, 0.15); // kurtosis of a normal
  }
}

TEST(Init, XavierUniformBoundsAndFans) {
  seed(3);
  // 2-D [out, in]: fan_in = 20, fan_out = 30.
  Tensor w = xavier_uniform()({30, 20}, DType::f64);
  const double b = std::sqrt(6.0 / 50);
  Stats s = stats(w);
  EXPECT_GE(s.min, -b);
  EXPECT_LE(s.max, b);
  EXPECT_GT(s.max, 0.95 * b);
  EXPECT_LT(s.min, -0.95 * b);
  EXPECT_NEAR(s.var, b * b / 3, 0.1 * b * b / 3);
  // conv [Cout, Cin, kH, kW]: fan_in = 4*9, fan_out = 8*9; with a gain.
  Tensor k = xavier_uniform(2.0)({8, 4, 3, 3}, DType::f32);
  const double bk = 2.0 * std::sqrt(6.0 / (36 + 72));
  Stats sk = stats(k);
  EXPECT_EQ(k.dtype(), DType::f32);
  EXPECT_GE(sk.min, -bk * (1 + 1e-6));
  EXPECT_LE(sk.max, bk * (1 + 1e-6));
  EXPECT_GT(sk.max, 0.9 * bk);
  // 1-D: fan_in = fan_out = n.
  Tensor v = xavier_uniform()({50}, DType::f64);
  Stats sv = stats(v);
  EXPECT_LE(sv.max, std::sqrt(6.0 / 100));
  EXPECT_GT(sv.max, 0.8 * std::sqrt(6.0 / 100));
  // Through param(): the default initializer.
  Param p = param({16, 8});
  Stats sp = stats(p.value());
  EXPECT_LE(sp.max, std::sqrt(6.0 / 24));
  EXPECT_GE(sp.min, -std::sqrt(6.0 / 24));
}

TEST(Init, XavierNormalGaussianZeros) {
  seed(5);
  Tensor w = xavier_normal(1.5)({200, 300}, DType::f64);
  const double sd = 1.5 * std::sqrt(2.0 / 500);
  Stats s = stats(w);
  EXPECT_NEAR(s.mean, 0.0, 5 * sd / std::sqrt(60000.0));
  EXPECT_NEAR(std::sqrt(s.var), sd, 0.02 * sd);
  Tensor g = gaussian(3.0, 0.5)({100, 100}, DType::f32);
  Stats sg = stats(g);
  EXPECT_NEAR(sg.mean, 3.0, 0.02);
  EXPECT_NEAR(std::sqrt(sg.var), 0.5, 0.01);
  Tensor z = zeros_init()({3, 4}, DType::f64);
  EXPECT_TRUE(all_close(z, Tensor::zeros({3, 4}, DType::f64)));
  EXPECT_THROW(gaussian(0, -1), Error);
  EXPECT_THROW(xavier_uniform()({3, 4}, DType::i64), Error);
}

TEST(Training, FlagRoundTrips) {
  bool was = training();
  EXPECT_EQ(set_training(true), was);
  EXPECT_TRUE(training());
  EXPECT_TRUE(set_training(false));
  EXPECT_FALSE(training());
  set_training(was);
}

TEST(Dropout, InactiveOutsideTraining) {
  TrainingGuard off(false);
  Tensor x = rand_f64({10, 10});
  Tensor y = dropout(x, 0.5);
  EXPECT_TRUE(y.shares_storage(x));
  EXPECT_TRUE(all_close(y, x, 0, 0));
  EXPECT_THROW(dropout(x, 1.0), Error);
  EXPECT_THROW(dropout(x, -0.1), Error);
  EXPECT_THROW(dropout(x, std::nan("")), Error);
  EXPECT_THROW(dropout(Tensor::ones({3}, DType::i64), 0.5), Error);
}

TEST(Dropout, StatisticsInTraining) {
  TrainingGuard on(true);
  seed(9);
  const double p = 0.3;
  Tensor x = rand_f64({200, 500}, 1.0, 2.0); // never zero
  Tensor y = dropout(x, p);
  std::vector<double> xv = x.to_vector<double>(), yv = y.to_vector<double>();
  int64_t zeros = 0;
  for (size_t i = 0; i < xv.size(); ++i) {
    if (yv[i] == 0) {
      ++zeros;
    } else {
      ASSERT_NEAR(yv[i], xv[i] / (1 - p), 1e-12) << i;
    }
  }
  // Standard error of the fraction: sqrt(p(1-p)/n) ~ 1e-3.
  EXPECT_NEAR(static_cast<double>(zeros) / xv.size(), p, 0.006);
  // f32, and a fresh mask every call.
  Tensor xf = Tensor::ones({1000}, DType::f32);
  std::vector<float> m1 = dropout(xf, 0.5).to_vector<float>();
  std::vector<float> m2 = dropout(xf, 0.5).to_vector<float>();
  EXPECT_NE(m1, m2);
  for (float v : m1)
    EXPECT_TRUE(v == 0.0f || v == 2.0f);
  // p = 0 keeps everything.
  EXPECT_TRUE(all_close(dropout(x, 0.0), x, 0, 0));
}

TEST(Dropout, ActiveWhileRecording) {
  TrainingGuard off(false);
  seed(1);
  Param w(Tensor::ones({400}, DType::f64), "w");
  Tensor y;
  Tape t = diff([&] {
    y = dropout(w.value(), 0.5);
    return sum(y);
  });
  std::vector<double> yv = y.to_vector<double>();
  std::vector<double> g = t.grad(w).to_vector<double>();
  int zeros = 0;
  for (size_t i = 0; i < yv.size(); ++i) {
    zeros += yv[i] == 0;
    // d sum(y)/dw = mask / (1 - p): 0 or 2 where y is 0 or 2.
    EXPECT_EQ(g[i], yv[i]) << i;
  }
  EXPECT_GT(zeros, 100);
  EXPECT_LT(zeros, 300);
}

TEST(Dropout, GradientMatchesFiniteDifferences) {
  // Training on so that the numerical evaluations (outside the tape) drop
  // too; the seed is reset so that every call draws the same mask.
  TrainingGuard on(true);
  EXPECT_TRUE(check_grads(
      [](const std::vector<Tensor> &in) {
        seed(123);
        return dropout(in[0] * in[0], 0.4);
      },
      {rand_f64({6, 7})}));
}

// dropout_back(dy, y, p), the kernel compiled adjoints call, equals the
// tape's gradient of dropout for the same mask.
TEST(Dropout, BackwardKernelMatchesTheTape) {
  seed(7);
  Param w(rand_f64({6, 5}, 0.5, 1.5, 3));
  Tensor dy = rand_f64({6, 5}, -1, 1, 4);
  Tensor y;
  Tape t = diff([&] {
    y = dropout(w.value(), 0.4);
    return sum(y * dy);
  });
  EXPECT_TRUE(all_close(dropout_back(dy, y, 0.4), t.grad(w), 1e-12, 1e-14));
  EXPECT_THROW(dropout_back(dy, y, 1.0), Error);
}
