// Optimizers: one and two steps of every update rule against values worked
// out by hand from Knet's formulas (written out below, not taken from the
// implementation); gclip; per-Param lazy state; update(tape, opt);
// clip_global_norm; a small regression that SGD and Adam both fit; no
// allocation in steady state; f32 arithmetic in every instruction set.
#include "test_util.h"

#include <knet/memory.h>
#include <knet/train.h>
#include <knet/vmath.h>

#include <cmath>
#include <string>

using namespace knet;
using knet::testing::rand_f64;

namespace {

Tensor vec(std::vector<double> v) {
  auto n = static_cast<int64_t>(v.size());
  return Tensor::from(v, {n});
}

// w = [1, -2], first gradient g1 = [0.5, -1.5], second g2 = [0.25, 1].
Param start() { return Param(vec({1.0, -2.0}), "w"); }
const std::vector<double> g1 = {0.5, -1.5};
const std::vector<double> g2 = {0.25, 1.0};

::testing::AssertionResult
values_are(const Param &p, std::vector<double> expect, double rtol = 1e-12) {
  std::vector<double> got = p.value().to_vector<double>();
  if (got.size() != expect.size())
    return ::testing::AssertionFailure() << "size " << got.size();
  for (size_t i = 0; i < got.size(); ++i)
    if (!(std::abs(got[i] - expect[i]) <= rtol * std::abs(expect[i]) + 1e-15))
      return ::testing::AssertionFailure()
             << "element " << i << ": got " << got[i] << ", expected "
             << expect[i];
  return ::testing::AssertionSuccess();
}

} // namespace

TEST(Optimizers, KnetDefaults) {
  EXPECT_EQ(SGD{}.lr, 0.1);
  EXPECT_EQ(Momentum{}.lr, 0.05);
  EXPECT_EQ(Momentum{}.gamma, 0.95);
  EXPECT_EQ(Nesterov{}.lr, 0.05);
  EXPECT_EQ(Nesterov{}.gamma, 0.95);
  EXPECT_EQ(Adagrad{}.lr, 0.05);
  EXPECT_EQ(Adagrad{}.eps, 1e-6);
  EXPECT_EQ(Rmsprop{}.lr, 0.01);
  EXPECT_EQ(Rmsprop{}.rho, 0.9);
  EXPECT_EQ(Rmsprop{}.eps, 1e-6);
  EXPECT_EQ(Adadelta{}.lr, 1.0);
  EXPECT_EQ(Adadelta{}.rho, 0.9);
  EXPECT_EQ(Adadelta{}.eps, 1e-6);
  EXPECT_EQ(Adam{}.lr, 0.001);
  EXPECT_EQ(Adam{}.beta1, 0.9);
  EXPECT_EQ(Adam{}.beta2, 0.999);
  EXPECT_EQ(Adam{}.eps, 1e-8);
  EXPECT_EQ(Adam{}.gclip, 0.0);
  Adam a{.lr = 0.01, .gclip = 2};
  EXPECT_EQ(a.lr, 0.01);
  EXPECT_EQ(a.beta1, 0.9);
  EXPECT_EQ(a.gclip, 2.0);
}

TEST(Optimizers, SGD) {
  Param p = start();
  SGD opt;
  opt.update(p, vec(g1));
  // w - 0.1 g1
  EXPECT_TRUE(values_are(p, {1 - 0.1 * 0.5, -2 - 0.1 * -1.5})); // .95 -1.85
  opt.update(p, vec(g2));
  EXPECT_TRUE(values_are(p, {0.95 - 0.1 * 0.25, -1.85 - 0.1 * 1.0}));
}

TEST(Optimizers, SGDFloat32) {
  Param p(Tensor::from<float>({1.0f, -2.0f}, {2}));
  SGD opt{.lr = 0.5};
  opt.update(p, Tensor::from<float>({0.5f, -1.5f}, {2}));
  EXPECT_EQ(p.value().dtype(), DType::f32);
  EXPECT_TRUE(values_are(p, {0.75, -1.25}, 1e-7));
  // An f64 gradient for an f32 value is converted.
  opt.update(p, vec({0.5, 0.5}));
  EXPECT_TRUE(values_are(p, {0.5, -1.5}, 1e-7));
}

TEST(Optimizers, Momentum) {
  Param p = start();
  Momentum opt; // lr 0.05, gamma 0.95
  opt.update(p, vec(g1));
  // v1 = 0.95*0 - 0.05*g1 = [-0.025, 0.075]; w1 = w + v1
  EXPECT_TRUE(values_are(p, {0.975, -1.925}));
  opt.update(p, vec(g2));
  // v2 = 0.95*v1 - 0.05*g2 = [-0.02375 - 0.0125, 0.07125 - 0.05]
  //    = [-0.03625, 0.02125]; w2 = w1 + v2
  EXPECT_TRUE(values_are(p, {0.975 - 0.03625, -1.925 + 0.02125}));
}

TEST(Optimizers, Nesterov) {
  Param p = start();
  Nesterov opt; // lr 0.05, gamma 0.95
  opt.update(p, vec(g1));
  // v1 = 0.95*0 - 0.05*g1 = [-0.025, 0.075];
  // w1 = w - 0.95*v0 + 1.95*v1 = [1 - 0.04875, -2 + 0.14625]
  EXPECT_TRUE(values_are(p, {0.95125, -1.85375}));
  opt.update(p, vec(g2));
  // v2 = 0.95*v1 - 0.05*g2 = [-0.03625, 0.02125]
  // w2 = w1 - 0.95*v1 + 1.95*v2
  EXPECT_TRUE(values_are(p, {0.95125 + 0.02375 - 1.95 * 0.03625,
                             -1.85375 - 0.07125 + 1.95 * 0.02125}));
}

TEST(Optimizers, Adagrad) {
  Param p = start();
  Adagrad opt; // lr 0.05, eps 1e-6
  opt.update(p, vec(g1));
  // G1 = g1^2 = [0.25, 2.25]; w1 = w - 0.05*g1/sqrt(G1 + 1e-6)
  const double a1 = 1 - 0.05 * 0.5 / std::sqrt(0.25 + 1e-6);
  const double b1 = -2 + 0.05 * 1.5 / std::sqrt(2.25 + 1e-6);
  EXPECT_TRUE(values_are(p, {a1, b1}));
  opt.update(p, vec(g2));
  // G2 = G1 + g2^2 = [0.3125, 3.25]
  EXPECT_TRUE(values_are(p, {a1 - 0.05 * 0.25 / std::sqrt(0.3125 + 1e-6),
                             b1 - 0.05 * 1.0 / std::sqrt(3.25 + 1e-6)}));
}

TEST(Optimizers, Rmsprop) {
  Param p = start();
  Rmsprop opt; // lr 0.01, rho 0.9, eps 1e-6
  opt.update(p, vec(g1));
  // G1 = 0.9*0 + 0.1*g1^2 = [0.025, 0.225]
  const double a1 = 1 - 0.01 * 0.5 / std::sqrt(0.025 + 1e-6);
  const double b1 = -2 + 0.01 * 1.5 / std::sqrt(0.225 + 1e-6);
  EXPECT_TRUE(values_are(p, {a1, b1}));
  opt.update(p, vec(g2));
  // G2 = 0.9*G1 + 0.1*g2^2 = [0.0225 + 0.00625, 0.2025 + 0.1]
  EXPECT_TRUE(values_are(p, {a1 - 0.01 * 0.25 / std::sqrt(0.02875 + 1e-6),
                             b1 - 0.01 * 1.0 / std::sqrt(0.3025 + 1e-6)}));
}

TEST(Optimizers, Adadelta) {
  Param p = start();
  Adadelta opt; // lr 1, rho 0.9, eps 1e-6
  opt.update(p, vec(g1));
  // G1 = 0.1*g1^2 = [0.025, 0.225]; u1 = g1*sqrt(0 + eps)/sqrt(G1 + eps)
  const double ua = 0.5 * std::sqrt(1e-6) / std::sqrt(0.025 + 1e-6);
  const double ub = -1.5 * std::sqrt(1e-6) / std::sqrt(0.225 + 1e-6);
  EXPECT_TRUE(values_are(p, {1 - ua, -2 - ub}));
  // D1 = 0.1*u1^2
  const double da = 0.1 * ua * ua, db = 0.1 * ub * ub;
  opt.update(p, vec(g2));
  // G2 = 0.9*G1 + 0.1*g2^2 = [0.02875, 0.3025]; u2 = g2*sqrt(D1+eps)/...
  const double va = 0.25 * std::sqrt(da + 1e-6) / std::sqrt(0.02875 + 1e-6);
  const double vb = 1.0 * std::sqrt(db + 1e-6) / std::sqrt(0.3025 + 1e-6);
  EXPECT_TRUE(values_are(p, {1 - ua - va, -2 - ub - vb}));
  // D2 = 0.9*D1 + 0.1*u2^2 is the second buffer.
  const detail::OptSlot *s = opt.state.find(p);
  ASSERT_NE(s, nullptr);
  ASSERT_EQ(s->buffers.size(), 2u);
  std::vector<double> D = s->buffers[1].to_vector<double>();
  EXPECT_NEAR(D[0], 0.9 * da + 0.1 * va * va, 1e-18);
  EXPECT_NEAR(D[1], 0.9 * db + 0.1 * vb * vb, 1e-18);
}

TEST(Optimizers, AdamWithBiasCorrection) {
  Param p = start();
  Adam opt; // lr 0.001, beta1 0.9, beta2 0.999, eps 1e-8
  opt.update(p, vec(g1));
  // t=1: m = 0.1*g1, v = 0.001*g1^2; mhat = m/0.1 = g1, vhat = v/0.001 = g1^2
  // w1 = w - 0.001*g1/(|g1| + 1e-8)
  const double a1 = 1 - 0.001 * 0.5 / (0.5 + 1e-8);
  const double b1 = -2 + 0.001 * 1.5 / (1.5 + 1e-8);
  EXPECT_TRUE(values_are(p, {a1, b1}));
  opt.update(p, vec(g2));
  // t=2: m = 0.9*m1 + 0.1*g2 = [0.045 + 0.025, -0.135 + 0.1]
  //      v = 0.999*v1 + 0.001*g2^2 = [0.999*0.00025 + 0.0000625,
  //                                   0.999*0.00225 + 0.001]
  //      mhat = m/(1 - 0.81), vhat = v/(1 - 0.998001)
  const double ma = 0.07, mb = -0.035;
  const double va = 0.999 * 0.00025 + 0.001 * 0.0625;
  const double vb = 0.999 * 0.00225 + 0.001 * 1.0;
  const double c1 = 1 - 0.9 * 0.9, c2 = 1 - 0.999 * 0.999;
  EXPECT_TRUE(values_are(p,
                         {a1 - 0.001 * (ma / c1) / (std::sqrt(va / c2) + 1e-8),
                          b1 - 0.001 * (mb / c1) / (std::sqrt(vb / c2) + 1e-8)},
                         1e-11));
  EXPECT_EQ(opt.state.find(p)->t, 2);
}

TEST(Optimizers, NonDefaultHyperparameters) {
  Param p = start();
  Momentum opt{.lr = 0.5, .gamma = 0.5};
  opt.update(p, vec(g1));
  // v1 = -0.5*g1 = [-0.25, 0.75]
  EXPECT_TRUE(values_are(p, {0.75, -1.25}));
  opt.update(p, vec(g2));
  // v2 = 0.5*v1 - 0.5*g2 = [-0.125 - 0.125, 0.375 - 0.5]
  EXPECT_TRUE(values_are(p, {0.5, -1.375}));
}

TEST(Optimizers, GclipScalesLargeGradientsOnly) {
  Param p(vec({0, 0}));
  SGD opt{.lr = 1, .gclip = 1};
  Tensor g = vec({3, 4}); // norm 5 > 1: scaled by 1/5
  opt.update(p, g);
  EXPECT_TRUE(values_are(p, {-0.6, -0.8}));
  EXPECT_EQ(g.to_vector<double>(), (std::vector<double>{3, 4})); // untouched
  opt.update(p, vec({0.3, 0.4})); // norm 0.5 <= 1: as is
  EXPECT_TRUE(values_are(p, {-0.9, -1.2}));

  // The clipped gradient also feeds the state.
  Param q(vec({0, 0}));
  Momentum m{.lr = 0.1, .gamma = 0.5, .gclip = 2};
  m.update(q, vec({0, -8})); // norm 8: g -> [0, -2]; v = [0, 0.2]
  EXPECT_TRUE(values_are(q, {0, 0.2}));
  m.update(q, vec({0, 0})); // v = 0.5*v
  EXPECT_TRUE(values_are(q, {0, 0.3}));

  EXPECT_THROW(SGD{.gclip = -1}.update(p, vec({1, 1})), Error);
}

TEST(Optimizers, StateIsLazyAndPerParam) {
  Param a = start(), b = start();
  Momentum opt;
  EXPECT_EQ(opt.state.size(), 0u);
  EXPECT_EQ(opt.state.find(a), nullptr);
  opt.update(a, vec(g1));
  EXPECT_EQ(opt.state.size(), 1u);
  opt.update(a, vec(g2));
  opt.update(b, vec(g1)); // b starts from zero velocity
  EXPECT_EQ(opt.state.size(), 2u);
  EXPECT_TRUE(values_are(a, {0.975 - 0.03625, -1.925 + 0.02125}));
  EXPECT_TRUE(values_are(b, {0.975, -1.925}));
  EXPECT_EQ(opt.state.find(a)->t, 2);
  EXPECT_EQ(opt.state.find(b)->t, 1);
  // A copy of the handle is the same parameter: its state continues.
  Param b2 = b;
  opt.update(b2, vec(g2));
  EXPECT_TRUE(values_are(b, {0.975 - 0.03625, -1.925 + 0.02125}));
  EXPECT_EQ(opt.state.size(), 2u);
  // A Param that dies takes its state with it.
  {
    Param c = start();
    opt.update(c, vec(g1));
    EXPECT_EQ(opt.state.size(), 3u);
  }
  EXPECT_EQ(opt.state.size(), 2u);
  // Copying an optimizer copies (clones) its state.
  Momentum copy = opt;
  copy.update(a, vec({0, 0}));
  EXPECT_EQ(copy.state.find(a)->t, 3);
  EXPECT_EQ(opt.state.find(a)->t, 2);
  // The original's velocity is untouched; the copy's decayed by gamma.
  std::vector<double> v0 = opt.state.find(a)->buffers[0].to_vector<double>();
  std::vector<double> v1 = copy.state.find(a)->buffers[0].to_vector<double>();
  EXPECT_NEAR(v0[0], -0.03625, 1e-15);
  EXPECT_NEAR(v0[1], 0.02125, 1e-15);
  EXPECT_NEAR(v1[0], 0.95 * -0.03625, 1e-15);
  EXPECT_NEAR(v1[1], 0.95 * 0.02125, 1e-15);
}

TEST(Optimizers, StateShapeChangeIsAnError) {
  Param p = start();
  Adam opt;
  opt.update(p, vec(g1));
  p.value() = vec({1, 2, 3});
  EXPECT_THROW(opt.update(p, vec({1, 1, 1})), Error);
  opt.state.clear();
  EXPECT_NO_THROW(opt.update(p, vec({1, 1, 1})));
}

TEST(Optimizers, BadArguments) {
  Param p = start();
  SGD opt;
  EXPECT_THROW(opt.update(p, vec({1, 2, 3})), Error); // shape
  Param i(Tensor::from<int64_t>({1, 2}, {2}));
  EXPECT_THROW(opt.update(i, Tensor::from<int64_t>({1, 1}, {2})), Error);
  Param undefined;
  EXPECT_THROW(opt.update(undefined, vec({1})), Error);
  // An undefined gradient (the Param did not reach the loss) is no update.
  opt.update(p, Tensor());
  EXPECT_TRUE(values_are(p, {1, -2}));
}

TEST(Optimizers, StridedValueIsUpdatedInPlace) {
  Tensor base = Tensor::from<double>({1, 2, 3, 4, 5, 6}, {2, 3});
  Param p(base.transpose(0, 1)); // [3,2] view: [[1,4],[2,5],[3,6]]
  ASSERT_FALSE(p.value().is_contiguous());
  SGD opt{.lr = 1};
  opt.update(p, Tensor::from<double>({1, 0, 0, 0, 0, 10}, {3, 2}));
  // grad[0][0] = 1 hits base[0][0]; grad[2][1] = 10 hits base[1][2].
  EXPECT_EQ(base.to_vector<double>(), (std::vector<double>{0, 2, 3, 4, 5, -4}));
}

namespace {
// loss = sum(a * x) + 2*sum(b): grad a = x, grad b = 2; c is unused.
struct Model {
  Param a{vec({1, 2}), "a"};
  Param b{vec({0.5}), "b"};
  Param c{vec({7}), "c"};
};
Tensor model_loss(const Model &m, const Tensor &x) {
  return sum(m.a.value() * x) + sum(m.b.value()) * 2.0;
}
} // namespace

TEST(Optimizers, UpdateFromTape) {
  Model m;
  Tensor x = vec({3, -1});
  Tape t = diff(model_loss, m, x);
  SGD sgd{.lr = 0.5};
  update(t, sgd);
  EXPECT_TRUE(values_are(m.a, {1 - 1.5, 2 + 0.5}));
  EXPECT_TRUE(values_are(m.b, {0.5 - 1.0}));
  EXPECT_TRUE(values_are(m.c, {7}));

  Adam adam;
  Tape t2 = diff(model_loss, m, x);
  update(t2, adam);
  // Adam's first step moves each element by lr * g/(|g| + eps).
  EXPECT_TRUE(values_are(
      m.a, {-0.5 - 0.001 * 3 / (3 + 1e-8), 2.5 + 0.001 * 1 / (1 + 1e-8)}));
  EXPECT_EQ(adam.state.size(), 2u); // a and b, not c

  AnyOptimizer any = Momentum{.lr = 1, .gamma = 0};
  Tape t3 = diff(model_loss, m, x);
  update(t3, any);
  EXPECT_TRUE(values_are(m.b, {-0.5 - 0.001 * 2 / (2 + 1e-8) - 2}, 1e-12));
  EXPECT_EQ(std::get<Momentum>(any).state.size(), 2u);
}

TEST(Optimizers, ClipGlobalNorm) {
  Model m;
  Tensor x = vec({3, 0});
  // grads: a = [3, 0], b = [2]: global norm sqrt(9 + 4) = sqrt(13)
  Tape t = diff(model_loss, m, x);
  EXPECT_NEAR(clip_global_norm(t, 100), std::sqrt(13.0), 1e-12);
  EXPECT_EQ(t.grad(m.a).to_vector<double>(), (std::vector<double>{3, 0}));
  const double s = 1 / std::sqrt(13.0);
  EXPECT_NEAR(clip_global_norm(t, 1), std::sqrt(13.0), 1e-12);
  std::vector<double> ga = t.grad(m.a).to_vector<double>();
  EXPECT_NEAR(ga[0], 3 * s, 1e-15);
  EXPECT_NEAR(ga[1], 0, 1e-15);
  EXPECT_NEAR(t.grad(m.b).item<double>(), 2 * s, 1e-15);
  // The update sees the clipped gradients.
  SGD opt{.lr = 1};
  update(t, opt);
  EXPECT_TRUE(values_are(m.a, {1 - 3 * s, 2}));
  EXPECT_TRUE(values_are(m.b, {0.5 - 2 * s}));
  EXPECT_THROW(clip_global_norm(t, 0), Error);
  EXPECT_THROW(clip_global_norm(t, -1), Error);
}

namespace {
// Fits y = 3x - 1 with w*x + b; returns the losses of the first and the last
// epoch (means over batches).
template <class O> std::pair<double, double> fit(O &opt, int epochs) {
  Tensor x = rand_f64({64, 1}, -1, 1, 5);
  Tensor y = x * 3.0 - 1.0;
  Param w = param0({1}, DType::f64), b = param0({1}, DType::f64);
  auto loss = [&](const Tensor &xb, const Tensor &yb) {
    Tensor d = xb * w.value() + b.value() - yb;
    return mean(d * d);
  };
  auto data = minibatch(x, y, 16);
  double first = 0, last = 0;
  for (int e = 0; e < epochs; ++e) {
    std::vector<double> l = minimize(loss, data, opt);
    EXPECT_EQ(l.size(), 4u);
    double m = 0;
    for (double v : l)
      m += v / static_cast<double>(l.size());
    (e == 0 ? first : last) = m;
  }
  return {first, last};
}
} // namespace

TEST(Optimizers, LinearRegressionLossDecreases) {
  SGD sgd{.lr = 0.2};
  auto [f1, l1] = fit(sgd, 40);
  EXPECT_LT(l1, 1e-3 * f1) << "SGD: first " << f1 << " last " << l1;
  Adam adam{.lr = 0.05};
  auto [f2, l2] = fit(adam, 60);
  EXPECT_LT(l2, 1e-2 * f2) << "Adam: first " << f2 << " last " << l2;
}

TEST(Optimizers, LargeParamMatchesScalarFormula) {
  // Enough elements for the update to run on several threads.
  const int64_t n = 20000;
  Tensor w0 = rand_f64({n}, -1, 1, 11);
  Tensor g = rand_f64({n}, -1, 1, 12);
  Param p(w0.clone());
  Adam opt{.lr = 0.01};
  opt.update(p, g);
  opt.update(p, g * 0.5);
  std::vector<double> w = w0.to_vector<double>(), gv = g.to_vector<double>();
  std::vector<double> got = p.value().to_vector<double>();
  double worst = 0;
  for (int64_t i = 0; i < n; ++i) {
    double m = 0.1 * gv[i], v = 0.001 * gv[i] * gv[i];
    double x = w[i] - 0.01 * (m / 0.1) / (std::sqrt(v / 0.001) + 1e-8);
    m = 0.9 * m + 0.1 * 0.5 * gv[i];
    v = 0.999 * v + 0.001 * 0.25 * gv[i] * gv[i];
    x -= 0.01 * (m / (1 - 0.81)) / (std::sqrt(v / (1 - 0.998001)) + 1e-8);
    worst = std::max(worst, std::abs(got[i] - x));
  }
  EXPECT_LT(worst, 1e-12);
}

namespace {
struct Mixed {
  Param w{rand_f64({40, 30}, -1, 1, 21).to(DType::f32), "w"};
  Param b{rand_f64({30}, -1, 1, 22), "b"};
};
Tensor mixed_loss(const Mixed &m, const Tensor &x) {
  return sum(matmul(x, m.w.value()).to(DType::f64) * m.b.value());
}
} // namespace

// After the first step (which creates the state), an update over every
// Param of a tape makes no allocator call, with and without gclip, and
// neither does clip_global_norm.
TEST(Optimizers, SteadyStateStepsDoNotAllocate) {
  Tensor x = rand_f64({8, 40}, -1, 1, 23).to(DType::f32);
  std::vector<AnyOptimizer> opts = {SGD{},     Momentum{},        Nesterov{},
                                    Adagrad{}, Rmsprop{},         Adadelta{},
                                    Adam{},    Adam{.gclip = 0.5}};
  for (AnyOptimizer &opt : opts) {
    Mixed m;
    Tape t = diff(mixed_loss, m, x);
    update(t, opt);
    const uint64_t before = memory_stats().allocations;
    for (int step = 0; step < 3; ++step) {
      update(t, opt);
      clip_global_norm(t, 1.0);
    }
    EXPECT_EQ(memory_stats().allocations, before)
        << "optimizer #" << opt.index();
  }
}

// f32 Params update in f32 (Knet's arithmetic), in every instruction set
// with the same values: Adam against its formula in float.
TEST(Optimizers, Float32AdamInEveryInstructionSet) {
  const int64_t n = 1000;
  Tensor w0 = rand_f64({n}, -1, 1, 24).to(DType::f32);
  Tensor g = rand_f64({n}, -1, 1, 25).to(DType::f32);
  std::vector<float> w = w0.to_vector<float>(), gv = g.to_vector<float>();
  std::vector<float> want(n);
  for (int64_t i = 0; i < n; ++i) {
    float m = 0.1f * gv[i], v = 0.001f * gv[i] * gv[i];
    // The rule's form: lr / c1 and 1 / sqrt(c2) folded into two constants.
    want[i] =
        w[i] - float(0.01 / (1 - 0.9)) * m /
                   (std::sqrt(v) * float(1 / std::sqrt(1 - 0.999)) + 1e-8f);
  }
  const std::string before = detail::vm::isa();
  for (const std::string &isa : detail::vm::supported_isas()) {
    ASSERT_TRUE(detail::vm::set_isa(isa));
    Param p(w0.clone());
    Adam opt{.lr = 0.01};
    opt.update(p, g);
    EXPECT_EQ(p.value().to_vector<float>(), want) << isa;
  }
  detail::vm::set_isa(before);
}
