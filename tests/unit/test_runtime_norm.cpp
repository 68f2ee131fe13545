// Batch normalization: training and inference forward against a naive
// reference, the running moments, mode selection, gradients in both modes
// (2-D and 4-D, first and second order) and misuse.
#include "test_util.h"

#include <cmath>

using namespace knet;
using knet::testing::all_close;
using knet::testing::check_grads;
using knet::testing::rand_f64;

namespace {

struct RefBn {
  Tensor y;
  std::vector<double> mean, var; // batch mean, biased batch variance
};

// Naive reference: x as [N, C, S]; statistics per channel over N and S.
RefBn ref_bn(const Tensor &x, const Tensor &params, double eps,
             const std::vector<double> *run_mean = nullptr,
             const std::vector<double> *run_var = nullptr) {
  const int64_t N = x.size(0), C = x.size(1);
  const int64_t S = x.rank() == 4 ? x.size(2) * x.size(3) : 1;
  std::vector<double> xv = x.contiguous().to_vector<double>();
  std::vector<double> pv = params.to_vector<double>();
  RefBn r;
  r.mean.assign(C, 0);
  r.var.assign(C, 0);
  for (int64_t c = 0; c < C; ++c) {
    double s = 0;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = 0; i < S; ++i)
        s += xv[(n * C + c) * S + i];
    r.mean[c] = s / (N * S);
    double ss = 0;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = 0; i < S; ++i) {
        double d = xv[(n * C + c) * S + i] - r.mean[c];
        ss += d * d;
      }
    r.var[c] = ss / (N * S);
  }
  const std::vector<double> &m = run_mean ? *run_mean : r.mean;
  const std::vector<double> &v = run_var ? *run_var : r.var;
  std::vector<double> y(xv.size());
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t i = 0; i < S; ++i) {
        int64_t k = (n * C + c) * S + i;
        y[k] = pv[c] * (xv[k] - m[c]) / std::sqrt(v[c] + eps) + pv[C + c];
      }
  r.y = Tensor::from(y, x.shape());
  return r;
}

Tensor vec(const std::vector<double> &v) {
  return Tensor::from(v, {static_cast<int64_t>(v.size())});
}

struct TrainingGuard {
  bool old;
  explicit TrainingGuard(bool on) : old(set_training(on)) {}
  ~TrainingGuard() { set_training(old); }
};

} // namespace

TEST(Batchnorm, TrainingForwardAndMomentsMatchReference) {
  for (Shape shape : {Shape{8, 3}, Shape{4, 3, 5, 2}}) {
    SCOPED_TRACE(shape_str(shape));
    const int64_t C = shape[1];
    Tensor x = rand_f64(shape, -2, 3, 1);
    Tensor params = rand_f64({2 * C}, 0.5, 1.5, 2);
    Moments m;
    Tensor y = batchnorm(x, m, params, {.training = true, .eps = 1e-3});
    RefBn r = ref_bn(x, params, 1e-3);
    EXPECT_TRUE(all_close(y, r.y, 1e-10, 1e-12));
    // First call: moments start at mean 0, var 1, then one update with the
    // unbiased batch variance.
    const double M = static_cast<double>(x.numel() / C);
    std::vector<double> em(C), ev(C);
    for (int64_t c = 0; c < C; ++c) {
      em[c] = 0.1 * r.mean[c];
      ev[c] = 0.9 + 0.1 * r.var[c] * M / (M - 1);
    }
    EXPECT_TRUE(all_close(m.mean, vec(em), 1e-12, 1e-14));
    EXPECT_TRUE(all_close(m.var, vec(ev), 1e-12, 1e-14));
    // Second call with momentum 0.3 compounds.
    Tensor x2 = rand_f64(shape, -1, 1, 3);
    batchnorm(x2, m, params, {.training = true, .momentum = 0.3});
    RefBn r2 = ref_bn(x2, params, 1e-5);
    for (int64_t c = 0; c < C; ++c) {
      em[c] = 0.7 * em[c] + 0.3 * r2.mean[c];
      ev[c] = 0.7 * ev[c] + 0.3 * r2.var[c] * M / (M - 1);
    }
    EXPECT_TRUE(all_close(m.mean, vec(em), 1e-12, 1e-14));
    EXPECT_TRUE(all_close(m.var, vec(ev), 1e-12, 1e-14));
    // f32 gives the same within float precision.
    Moments m32;
    Tensor y32 = batchnorm(x.to(DType::f32), m32, params.to(DType::f32),
                           {.training = true, .eps = 1e-3});
    EXPECT_EQ(y32.dtype(), DType::f32);
    EXPECT_EQ(m32.mean.dtype(), DType::f32);
    EXPECT_TRUE(all_close(y32, r.y, 1e-4, 1e-5));
  }
}

TEST(Batchnorm, InferenceUsesRunningMoments) {
  for (Shape shape : {Shape{5, 4}, Shape{2, 4, 3, 3}}) {
    SCOPED_TRACE(shape_str(shape));
    Tensor x = rand_f64(shape, -2, 2, 4);
    Tensor params = rand_f64({8}, -1, 1, 5);
    std::vector<double> rm{0.1, -0.2, 0.3, 0.0}, rv{1.5, 0.5, 2.0, 0.9};
    Moments m{vec(rm), vec(rv)};
    Tensor y = batchnorm(x, m, params, {.training = false});
    EXPECT_TRUE(
        all_close(y, ref_bn(x, params, 1e-5, &rm, &rv).y, 1e-10, 1e-12));
    // Inference leaves the moments alone.
    EXPECT_TRUE(all_close(m.mean, vec(rm), 0, 0));
    EXPECT_TRUE(all_close(m.var, vec(rv), 0, 0));
  }
}

TEST(Batchnorm, NonContiguousInput) {
  Tensor base = rand_f64({3, 6, 4, 5}, -1, 1, 6);
  Tensor x = base.slice(1, 0, 6, 2).transpose(2, 3); // [3,3,5,4] strided
  ASSERT_FALSE(x.is_contiguous());
  Tensor params = rand_f64({6}, 0.5, 1.5, 7);
  Moments m;
  EXPECT_TRUE(all_close(batchnorm(x, m, params, {.training = true}),
                        ref_bn(x, params, 1e-5).y, 1e-10, 1e-12));
}

TEST(Batchnorm, ModeSelection) {
  Tensor x = rand_f64({6, 2}, -1, 1, 8);
  Tensor params = bnparams(2, DType::f64);
  {
    // Unset, no tape, training() off: inference.
    TrainingGuard off(false);
    Moments m;
    Tensor y = batchnorm(x, m, params);
    EXPECT_TRUE(all_close(y, x / std::sqrt(1 + 1e-5), 1e-12, 1e-14));
    EXPECT_TRUE(all_close(m.mean, Tensor::zeros({2}, DType::f64), 0, 0));
    // Forced training.
    EXPECT_TRUE(all_close(batchnorm(x, m, params, {.training = true}),
                          ref_bn(x, params, 1e-5).y, 1e-10, 1e-12));
    // A recording tape: training.
    Moments m2;
    Param p(params.clone(), "bn");
    Tensor yt;
    diff([&] {
      yt = batchnorm(x, m2, p.value());
      return sum(yt);
    });
    EXPECT_TRUE(all_close(yt, ref_bn(x, params, 1e-5).y, 1e-10, 1e-12));
    EXPECT_FALSE(all_close(m2.mean, Tensor::zeros({2}, DType::f64), 0, 0));
  }
  {
    // training() on: training mode; training = false still wins.
    TrainingGuard on(true);
    Moments m;
    EXPECT_TRUE(all_close(batchnorm(x, m, params), ref_bn(x, params, 1e-5).y,
                          1e-10, 1e-12));
    Moments m3;
    EXPECT_TRUE(all_close(batchnorm(x, m3, params, {.training = false}),
                          x / std::sqrt(1 + 1e-5), 1e-12, 1e-14));
  }
}

TEST(Batchnorm, TrainingGradients) {
  for (Shape shape : {Shape{6, 3}, Shape{3, 2, 3, 4}}) {
    SCOPED_TRACE(shape_str(shape));
    const int64_t C = shape[1];
    EXPECT_TRUE(check_grads(
        [](const std::vector<Tensor> &in) {
          Moments m;
          return batchnorm(in[0], m, in[1], {.training = true});
        },
        {rand_f64(shape, -1, 2, 9), rand_f64({2 * C}, 0.5, 1.5, 10)}));
  }
}

TEST(Batchnorm, InferenceGradients) {
  for (Shape shape : {Shape{4, 3}, Shape{2, 3, 2, 3}}) {
    SCOPED_TRACE(shape_str(shape));
    const int64_t C = shape[1];
    Tensor rm = rand_f64({C}, -0.5, 0.5, 11), rv = rand_f64({C}, 0.5, 2, 12);
    EXPECT_TRUE(check_grads(
        [&](const std::vector<Tensor> &in) {
          Moments m{rm, rv};
          return batchnorm(in[0], m, in[1], {.training = false});
        },
        {rand_f64(shape, -1, 2, 13), rand_f64({2 * C}, 0.5, 1.5, 14)}));
  }
}

TEST(Batchnorm, SecondOrderTrainingGradients) {
  // The backward under an outer tape is written with differentiable ops.
  for (Shape shape : {Shape{5, 2}, Shape{2, 2, 2, 3}}) {
    SCOPED_TRACE(shape_str(shape));
    const int64_t C = shape[1];
    Tensor r = rand_f64(shape, -1, 1, 15);
    for (int which : {0, 1}) { // d(grad x) and d(grad params)
      EXPECT_TRUE(check_grads(
          [&](const std::vector<Tensor> &in) {
            auto [v, gx, gp] = value_and_grad(
                [&](Tensor x, Tensor p) {
                  Moments m;
                  return sum(pow(batchnorm(x, m, p, {.training = true}), 3.0) *
                             r);
                },
                in[0] * 1.0, in[1] * 1.0);
            return which == 0 ? gx : gp;
          },
          {rand_f64(shape, -1, 2, 16), rand_f64({2 * C}, 0.5, 1.5, 17)}));
    }
  }
}

TEST(Batchnorm, Bnparams) {
  Tensor p = bnparams(3);
  EXPECT_EQ(p.dtype(), DType::f32);
  EXPECT_EQ(p.to_vector<float>(), (std::vector<float>{1, 1, 1, 0, 0, 0}));
  EXPECT_EQ(bnparams(2, DType::f64).to_vector<double>(),
            (std::vector<double>{1, 1, 0, 0}));
  EXPECT_THROW(bnparams(2, DType::i32), Error);
}

TEST(Batchnorm, Misuse) {
  Tensor x = rand_f64({4, 3});
  Moments m;
  EXPECT_THROW(batchnorm(x, m, bnparams(2, DType::f64)), Error);
  EXPECT_THROW(batchnorm(x, m, bnparams(3, DType::f32)), Error);
  EXPECT_THROW(batchnorm(rand_f64({4, 3, 2}), m, bnparams(3, DType::f64)),
               Error);
  EXPECT_THROW(batchnorm(rand_f64({1, 3}), m, bnparams(3, DType::f64),
                         {.training = true}),
               Error);
  Moments bad{Tensor::zeros({2}, DType::f64), Tensor::ones({2}, DType::f64)};
  EXPECT_THROW(batchnorm(x, bad, bnparams(3, DType::f64)), Error);
  try {
    batchnorm(x, m, bnparams(2, DType::f64));
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("[4,3]"), std::string::npos)
        << e.what();
  }
}

// batchnorm_back, the kernel compiled adjoints call, equals the tape's
// gradients of x and params in both modes.
TEST(Batchnorm, BackwardKernelMatchesTheTape) {
  for (bool train : {true, false})
    for (Shape shape : {Shape{6, 3}, Shape{2, 3, 4, 5}}) {
      Tensor x = rand_f64(shape, -1, 1, 11);
      Tensor params = rand_f64({6}, 0.5, 1.5, 12);
      Tensor dy = rand_f64(shape, -1, 1, 13);
      Moments m{rand_f64({3}, -0.5, 0.5, 14), rand_f64({3}, 0.5, 1.5, 15)};
      Moments used = m;
      Param px(x), pp(params);
      Tape t = diff([&] {
        return sum(batchnorm(px.value(), used, pp.value(),
                             {.training = train, .eps = 1e-3}) *
                   dy);
      });
      auto [dx, dparams] =
          batchnorm_back(dy, x, m, params, {.training = train, .eps = 1e-3});
      EXPECT_TRUE(all_close(dx, t.grad(px), 1e-10, 1e-12)) << train;
      EXPECT_TRUE(all_close(dparams, t.grad(pp), 1e-10, 1e-12)) << train;
    }
  EXPECT_THROW(batchnorm_back(rand_f64({2, 3}), rand_f64({3, 3}), Moments{},
                              rand_f64({6})),
               Error);
}

// knet-fold-batchnorm's kernel: the inference batchnorm of a convolution,
// folded into its weights, equals the two ops (options and eps included),
// creates undefined moments as batchnorm does, and checks its operands.
TEST(Batchnorm, FoldedIntoConvolutionEqualsTheTwoOps) {
  Tensor x = rand_f64({2, 4, 5, 5}, -1, 1, 1);
  Tensor w = rand_f64({6, 2, 3, 3}, -1, 1, 2);
  Tensor params = rand_f64({12}, 0.5, 1.5, 3);
  Moments m{rand_f64({6}, -0.5, 0.5, 4), rand_f64({6}, 0.5, 2, 5)};
  const ConvOptions co{.padding = 1, .stride = 2, .groups = 2};
  Moments m2 = m;
  Tensor want =
      batchnorm(conv2d(x, w, co), m2, params, {.training = false, .eps = 1e-3});
  Tensor got = conv2d_batchnorm(x, w, m, params, 1e-3, co);
  EXPECT_TRUE(all_close(got, want, 1e-12, 1e-12));
  EXPECT_TRUE(m.mean.shares_storage(m2.mean)); // not updated
  Moments fresh, fresh2;
  EXPECT_TRUE(all_close(
      conv2d_batchnorm(x, w, fresh, params, 1e-5, co),
      batchnorm(conv2d(x, w, co), fresh2, params, {.training = false}), 1e-12,
      1e-12));
  EXPECT_TRUE(all_close(fresh.var, Tensor::ones({6}, DType::f64)));
  EXPECT_THROW((void)conv2d_batchnorm(x, w, m, rand_f64({8}), 1e-5, co), Error);
  EXPECT_THROW((void)conv2d_batchnorm(x, rand_f64({6, 2, 3}), m, params, 1e-5),
               Error);
}
