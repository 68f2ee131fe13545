// The CPU fused kernels end to end: tests/codegen/fused.mlir through
// knet-autodiff, knet-fuse and the C++ emitter, compiled into this program.
// Each kernel must compute what the runtime's ops compute, over broadcast,
// transposed and sliced operands, in f32 and f64, and fall back to the
// replaced ops (same results, same errors) when the operands do not suit it.
#include "test_util.h"

#include "core/parallel.h"

#include <knet/compiled.h>

#include <cmath>
#include <limits>

using namespace knet;
using knet::testing::all_close;
using knet::testing::rand_f32;
using knet::testing::rand_f64;

#if KNET_FUSION_KERNELS

const detail::CompiledFunction &knet_compiled_chain();
const detail::CompiledFunction &knet_compiled_pair();
const detail::CompiledFunction &knet_compiled_reduce();
const detail::CompiledFunction &knet_compiled_select();
const detail::CompiledFunction &knet_compiled_gelus();
const detail::CompiledFunction &knet_compiled_maxinf();
const detail::CompiledFunction &knet_compiled_maxempty();
const detail::CompiledFunction &knet_compiled_maximum();
const detail::CompiledFunction &knet_compiled_bcast();
const detail::CompiledFunction &knet_compiled_scal();
const detail::CompiledFunction &knet_compiled_scal2();
const detail::CompiledFunction &knet_compiled_meanf();
const detail::CompiledFunction &knet_compiled_dback();
const detail::CompiledFunction &knet_compiled_scaled();
const detail::CompiledFunction &knet_compiled_rowsum();
const detail::CompiledFunction &knet_compiled_biasgrad();
const detail::CompiledFunction &knet_compiled_biasgrad2();
const detail::CompiledFunction &knet_compiled_sumbeside();

namespace {

constexpr double kRtol = 1e-12, kAtol = 1e-12;

Tensor chain(const Tensor &x, const Tensor &b, const Tensor &s) {
  return tanh(x * s + b) * sigm(x);
}

// Counts the kernels run and declined while `f` runs.
template <class F> std::pair<int64_t, int64_t> count(F &&f) {
  detail::FusedStats before = detail::fused_stats();
  f();
  detail::FusedStats after = detail::fused_stats();
  return {after.kernels - before.kernels, after.fallbacks - before.fallbacks};
}

TEST(FusionKernels, ElementwiseOverBroadcastAndStridedOperands) {
  const detail::CompiledFunction &f = knet_compiled_chain();
  Tensor s = Tensor::scalar(0.7, DType::f64);
  Tensor b = rand_f64({5}, -1, 1, 2);
  Tensor dense = rand_f64({4, 5}, -1, 1, 1);
  Tensor transposed = rand_f64({5, 4}, -1, 1, 3).transpose(0, 1);
  Tensor sliced = rand_f64({4, 9}, -1, 1, 4).slice(1, 2, 7);
  Tensor column = rand_f64({4, 1}, -1, 1, 5); // broadcast against b
  for (const Tensor &x : {dense, transposed, sliced, column}) {
    std::vector<Tensor> out;
    auto [run, declined] = count([&] { out = f.forward({x, b, s}); });
    EXPECT_EQ(run, 1);
    EXPECT_EQ(declined, 0);
    EXPECT_TRUE(all_close(out[0], chain(x, b, s), kRtol, kAtol));
  }
}

TEST(FusionKernels, Float32) {
  const detail::CompiledFunction &f = knet_compiled_chain();
  Tensor x = rand_f32({3, 7}, -2, 2, 6), b = rand_f32({7}, -1, 1, 7);
  Tensor s = Tensor::scalar(1.5); // a C++ double: weak, adapts
  std::vector<Tensor> out = f.forward({x, b, s});
  EXPECT_EQ(out[0].dtype(), DType::f32);
  EXPECT_TRUE(all_close(out[0], chain(x, b, s), 1e-6, 1e-6));
}

// f32 kernels that call vector math run in blocks of vm::kBlock elements
// (full blocks in place, partial and strided ones through padded copies):
// element for element the same bits as the runtime's ops, which use the same
// vector math, whatever the row length, strides or broadcasting.
TEST(FusionKernels, Float32BlocksGiveTheRuntimesBits) {
  const detail::CompiledFunction &f = knet_compiled_chain();
  Tensor s = Tensor::scalar(1.5);
  struct Case {
    Tensor x, b;
  };
  std::vector<Case> cases = {
      {rand_f32({4, 128}, -3, 3, 30), rand_f32({128}, -1, 1, 31)},
      {rand_f32({3, 70}, -3, 3, 32), rand_f32({70}, -1, 1, 33)},
      {rand_f32({70, 3}, -3, 3, 34).transpose(0, 1), rand_f32({70}, -1, 1, 35)},
      {rand_f32({5, 200}, -3, 3, 36).slice(1, 3, 150),
       rand_f32({147}, -1, 1, 37)},
      {rand_f32({130, 1}, -3, 3, 38), rand_f32({9}, -1, 1, 39)},
      {rand_f32({1}, -3, 3, 40), rand_f32({1}, -1, 1, 41)}};
  for (const Case &c : cases) {
    std::vector<Tensor> out;
    auto [run, declined] = count([&] { out = f.forward({c.x, c.b, s}); });
    EXPECT_EQ(run, 1);
    EXPECT_EQ(declined, 0);
    Tensor ref = chain(c.x, c.b, s);
    ASSERT_EQ(out[0].shape(), ref.shape());
    std::vector<float> got = out[0].to_vector<float>(),
                       want = ref.to_vector<float>();
    for (size_t i = 0; i < got.size(); ++i)
      ASSERT_EQ(got[i], want[i])
          << "x " << shape_str(c.x.shape()) << ", element " << i;
  }
  // A reduction's blocks: max over rows of sin, read in place and copied.
  const detail::CompiledFunction &r = knet_compiled_reduce();
  for (const Tensor &x : {rand_f32({3, 200}, -3, 3, 42),
                          rand_f32({200, 3}, -3, 3, 43).transpose(0, 1)}) {
    Tensor b = rand_f32({200}, -1, 1, 44);
    std::vector<Tensor> out = r.forward({x, b});
    Tensor want = max(sin(x + b), {1}, true);
    EXPECT_EQ(out[2].to_vector<float>(), want.to_vector<float>());
  }
}

// Fused sums add in the runtime's order (vm::RowSum along a folded row,
// element by element into a row of accumulators), so that in f32 they give
// the bits of the ops they replace (checked in f64, where the order shows in
// the last bits): rows read in place, broadcast along the row, and copied
// from strided operands. One thread: two may split a sum differently between
// the runtime's engine and the kernel.
TEST(FusionKernels, SumsGiveTheRuntimesBits) {
  const int threads = num_threads();
  set_num_threads(1);
  auto same_bits = [](const Tensor &got, const Tensor &want,
                      const std::string &what) {
    ASSERT_EQ(got.shape(), want.shape()) << what;
    std::vector<double> g = got.to_vector<double>(),
                        w = want.to_vector<double>();
    for (size_t i = 0; i < g.size(); ++i)
      ASSERT_EQ(g[i], w[i]) << what << ", element " << i;
  };
  const detail::CompiledFunction &rows = knet_compiled_rowsum();
  Tensor b = rand_f64({30, 1}, -1, 1, 50);
  for (const Tensor &x : {rand_f64({30, 1000}, -1, 1, 51),
                          rand_f64({1000, 30}, -1, 1, 52).transpose(0, 1),
                          rand_f64({30, 37}, -1, 1, 53)}) {
    std::vector<Tensor> out;
    auto [run, declined] = count([&] { out = rows.forward({x, b}); });
    EXPECT_EQ(run, 1);
    EXPECT_EQ(declined, 0);
    same_bits(out[0], sum((x + b) * (x + b), {1}),
              "rowsum of " + shape_str(x.shape()));
  }
  const detail::CompiledFunction &bias = knet_compiled_biasgrad();
  Tensor dy = rand_f64({8, 6, 20, 20}, -1, 1, 54);
  Tensor y = rand_f64({8, 6, 20, 20}, -1, 1, 55);
  for (const Shape &bs : {Shape{1, 6, 1, 1}, Shape{20}, Shape{6, 20, 1}}) {
    Tensor like = Tensor::zeros(bs, DType::f64);
    std::vector<Tensor> out;
    auto [run, declined] = count([&] { out = bias.forward({dy, y, like}); });
    EXPECT_EQ(run, 1);
    EXPECT_EQ(declined, 0);
    same_bits(out[0], sum_to(relu_back(dy, y), bs),
              "bias gradient onto " + shape_str(bs));
  }
  set_num_threads(threads);
}

// A reduction with an elementwise result: relu_back computed once, stored,
// and summed onto the bias in the same pass; on one thread and on two (the
// reduction engine splitting the folded rows), and onto the value's own
// shape (nothing folded: the elementwise loop). Each result has the bits of
// the ops it replaces.
TEST(FusionKernels, AReductionAndItsChainsOtherUseInOnePass) {
  const int threads = num_threads();
  const detail::CompiledFunction &f = knet_compiled_biasgrad2();
  Tensor dy = rand_f64({8, 6, 20, 20}, -1, 1, 60);
  Tensor y = rand_f64({8, 6, 20, 20}, -1, 1, 61);
  const Tensor r = relu_back(dy, y);
  for (int t : {1, 2}) {
    set_num_threads(t);
    for (const Shape &bs :
         {Shape{1, 6, 1, 1}, Shape{20}, Shape{6, 20, 1}, Shape{8, 6, 20, 20}}) {
      SCOPED_TRACE(std::to_string(t) + " threads, onto " + shape_str(bs));
      Tensor like = Tensor::zeros(bs, DType::f64);
      std::vector<Tensor> out;
      auto [run, declined] = count([&] { out = f.forward({dy, y, like}); });
      EXPECT_EQ(run, 1);
      EXPECT_EQ(declined, 0);
      ASSERT_EQ(out.size(), 2u);
      EXPECT_EQ(out[1].to_vector<double>(), r.to_vector<double>());
      Tensor want = sum_to(r, bs);
      ASSERT_EQ(out[0].shape(), want.shape());
      if (t == 1)
        EXPECT_EQ(out[0].to_vector<double>(), want.to_vector<double>());
      else
        EXPECT_TRUE(all_close(out[0], want, kRtol, kAtol));
    }
  }
  set_num_threads(threads);
  // In f32 too, where the sum is accumulated in double.
  Tensor dy32 = dy.to(DType::f32), y32 = y.to(DType::f32);
  std::vector<Tensor> out =
      f.forward({dy32, y32, Tensor::zeros({1, 6, 1, 1}, DType::f32)});
  EXPECT_EQ(out[1].to_vector<float>(), relu_back(dy32, y32).to_vector<float>());
  EXPECT_TRUE(all_close(out[0], sum_to(relu_back(dy32, y32), {1, 6, 1, 1}),
                        1e-5, 1e-5));
}

// The merged kernel declines when the reduction would fold a value
// broadcast over its elementwise result's shape (sum(s * w) beside
// s * w * x, s a row sum of x): its fallback, the two kernels it merges,
// runs them.
TEST(FusionKernels, AMergedReductionFallsBackOnItsTwoKernels) {
  const detail::CompiledFunction &f = knet_compiled_sumbeside();
  Tensor x = rand_f64({4, 5}, -1, 1, 62);
  for (const Tensor &w :
       {rand_f64({4, 1}, -1, 1, 63), rand_f64({4, 5}, -1, 1, 64)}) {
    SCOPED_TRACE("w " + shape_str(w.shape()));
    const bool merged = w.shape() == x.shape();
    std::vector<Tensor> out;
    auto [run, declined] = count([&] { out = f.forward({x, w}); });
    EXPECT_EQ(run, merged ? 1 : 2);
    EXPECT_EQ(declined, merged ? 0 : 1);
    Tensor p = sum(x, {1}, true) * w;
    EXPECT_TRUE(all_close(out[0], sum(p), kRtol, kAtol));
    EXPECT_TRUE(all_close(out[1], p * x, kRtol, kAtol));
  }
}

TEST(FusionKernels, GradientReducesToTheBroadcastOperand) {
  const detail::CompiledFunction &f = knet_compiled_chain();
  Tensor x0 = rand_f64({6, 5}, -1, 1, 8), b0 = rand_f64({5}, -1, 1, 9);
  Tensor s0 = Tensor::scalar(0.3, DType::f64);
  Param x(x0), b(b0), s(s0);
  Tape t = diff([&] { return sum(chain(x.value(), b.value(), s.value())); });
  std::vector<Tensor> din;
  Tensor dout = Tensor::ones({6, 5}, DType::f64);
  std::vector<Tensor> out;
  auto [run, declined] = count([&] {
    out = f.grad({x0, b0, s0}, {dout}, din);
  });
  EXPECT_GE(run, 2);
  EXPECT_EQ(declined, 0);
  ASSERT_EQ(din.size(), 3u);
  EXPECT_TRUE(all_close(din[0], t.grad(x), kRtol, kAtol));
  EXPECT_TRUE(all_close(din[1], t.grad(b), kRtol, kAtol));
  EXPECT_EQ(din[1].shape(), Shape({5}));
  EXPECT_TRUE(all_close(din[2], t.grad(s), kRtol, kAtol));
}

TEST(FusionKernels, TwoResultsAndTheirFallback) {
  const detail::CompiledFunction &f = knet_compiled_pair();
  Tensor x = rand_f64({3, 4}, -1, 1, 10), c = rand_f64({4}, -1, 1, 11);
  std::vector<Tensor> out;
  auto [run, declined] = count([&] { out = f.forward({x, c}); });
  EXPECT_EQ(run, 1);
  EXPECT_EQ(declined, 0);
  EXPECT_TRUE(all_close(out[0], exp(x), kRtol, kAtol));
  EXPECT_TRUE(all_close(out[1], exp(x) * c + exp(x), kRtol, kAtol));
  // exp(x) would take c's shape in the kernel: the replaced ops run.
  Tensor small = rand_f64({4}, -1, 1, 12), big = rand_f64({3, 4}, -1, 1, 13);
  auto [run2, declined2] = count([&] { out = f.forward({small, big}); });
  EXPECT_EQ(run2, 0);
  EXPECT_EQ(declined2, 1);
  EXPECT_EQ(out[0].shape(), Shape({4}));
  EXPECT_TRUE(all_close(out[0], exp(small), kRtol, kAtol));
  EXPECT_TRUE(all_close(out[1], exp(small) * big + exp(small), kRtol, kAtol));
}

TEST(FusionKernels, ReductionsCloseKernels) {
  const detail::CompiledFunction &f = knet_compiled_reduce();
  Tensor b = rand_f64({5}, -1, 1, 14);
  for (const Tensor &x : {rand_f64({4, 5}, -1, 1, 15),
                          rand_f64({5, 4}, -1, 1, 16).transpose(0, 1)}) {
    std::vector<Tensor> out;
    auto [run, declined] = count([&] { out = f.forward({x, b}); });
    EXPECT_GE(run, 3);
    EXPECT_EQ(declined, 0);
    Tensor a = x + b;
    EXPECT_TRUE(all_close(out[0], sum(relu(a), {0}), kRtol, kAtol));
    EXPECT_TRUE(all_close(out[1], mean(a * a), kRtol, kAtol));
    EXPECT_TRUE(all_close(out[2], max(sin(a), {1}, true), kRtol, kAtol));
    EXPECT_EQ(out[2].shape(), Shape({4, 1}));
  }
}

TEST(FusionKernels, BoolValuesInsideAKernel) {
  const detail::CompiledFunction &f = knet_compiled_select();
  Tensor x = rand_f64({8}, -1, 1, 17), y = rand_f64({8}, -1, 1, 18);
  std::vector<Tensor> out = f.forward({x, y});
  EXPECT_TRUE(all_close(out[0], sqrt(abs(x - y)), kRtol, kAtol));
}

// f32 tensors meeting an f64 one, or a 0-d f64 that is not weak
// (docs/ops.md, "Dtype promotion"): the kernel declines and the ops give
// the tape's error.
TEST(FusionKernels, MixedDtypesFallBackToTheSameError) {
  const detail::CompiledFunction &f = knet_compiled_chain();
  Tensor x = rand_f32({2, 3});
  const std::vector<std::pair<Tensor, Tensor>> cases = {
      {rand_f64({3}), Tensor::scalar(1.0)},
      {rand_f32({3}), Tensor::scalar(1.0, DType::f64)}};
  for (const auto &[b, s] : cases) {
    std::string tape, compiled;
    try {
      (void)chain(x, b, s);
    } catch (const Error &e) {
      tape = e.what();
    }
    try {
      (void)f.forward({x, b, s});
    } catch (const Error &e) {
      compiled = e.what();
    }
    EXPECT_NE(tape.find("dtype mismatch"), std::string::npos) << tape;
    EXPECT_EQ(compiled, tape);
  }
}

TEST(FusionKernels, ShapesThatDoNotBroadcastFallBackToTheSameError) {
  const detail::CompiledFunction &f = knet_compiled_chain();
  Tensor x = rand_f64({2, 3}), b = rand_f64({4});
  Tensor s = Tensor::scalar(1.0, DType::f64);
  EXPECT_THROW((void)f.forward({x, b, s}), Error);
}

// Bitwise equality of two tensors (NaNs equal), for kernels that must
// reproduce the runtime's ops exactly.
::testing::AssertionResult same(const Tensor &a, const Tensor &b) {
  if (a.dtype() != b.dtype() || a.shape() != b.shape())
    return ::testing::AssertionFailure()
           << dtype_name(a.dtype()) << shape_str(a.shape()) << " vs "
           << dtype_name(b.dtype()) << shape_str(b.shape());
  std::vector<double> u = a.to_vector<double>(), v = b.to_vector<double>();
  for (size_t i = 0; i < u.size(); ++i)
    if (!(u[i] == v[i] || (std::isnan(u[i]) && std::isnan(v[i]))) ||
        std::signbit(u[i]) != std::signbit(v[i]))
      return ::testing::AssertionFailure()
             << "element " << i << ": " << u[i] << " vs " << v[i];
  return ::testing::AssertionSuccess();
}

// Runs `f` and the reference, and expects equal results or the same error.
template <class Ref>
void expect_same(const detail::CompiledFunction &f, std::vector<Tensor> in,
                 Ref ref) {
  std::string compiled_error, ref_error;
  std::vector<Tensor> out, expected;
  try {
    out = f.forward(in);
  } catch (const Error &e) {
    compiled_error = e.what();
  }
  try {
    expected = ref();
  } catch (const Error &e) {
    ref_error = e.what();
  }
  EXPECT_EQ(compiled_error, ref_error);
  ASSERT_EQ(out.size(), expected.size());
  for (size_t i = 0; i < out.size(); ++i)
    EXPECT_TRUE(same(out[i], expected[i])) << "result " << i;
}

TEST(FusionKernels, ConstantsAreExactInF64) {
  Tensor x = rand_f64({1000}, -4, 4, 21);
  expect_same(knet_compiled_gelus(), {x}, [&] {
    return std::vector<Tensor>{-gelu(x), -gelu_back(x, x)};
  });
  Tensor x32 = rand_f32({1000}, -4, 4, 22);
  expect_same(knet_compiled_gelus(), {x32}, [&] {
    return std::vector<Tensor>{-gelu(x32), -gelu_back(x32, x32)};
  });
}

TEST(FusionKernels, NanInfinityAndEmptyAsTheRuntime) {
  Tensor x = Tensor::from<double>({0, 0, 0, 1, 2, 3}, {2, 3});
  expect_same(knet_compiled_maxinf(), {x},
              [&] { return std::vector<Tensor>{max(log(x), {1})}; });
  Tensor empty = Tensor::zeros({0, 3}, DType::f64);
  expect_same(knet_compiled_maxempty(), {empty},
              [&] { return std::vector<Tensor>{max(exp(empty), {1})}; });
  const double nan = std::numeric_limits<double>::quiet_NaN();
  Tensor a = Tensor::from<double>({1, 2, nan}, {3});
  Tensor b = Tensor::from<double>({nan, 0, 1}, {3});
  expect_same(knet_compiled_maximum(), {a, b},
              [&] { return std::vector<Tensor>{-maximum(a, b)}; });
  const double inf = std::numeric_limits<double>::infinity();
  Tensor dy = Tensor::from<double>({std::log(inf), 1, -1}, {3});
  Tensor y = Tensor::from<double>({0, 2, 0}, {3});
  expect_same(knet_compiled_dback(), {dy, y}, [&] {
    return std::vector<Tensor>{dropout_back(exp(dy), y, 0.5)};
  });
  Tensor m = Tensor::from<double>({1, 1, 1, 0, 0, 0, 0, 0, 0, 0}, {10});
  expect_same(knet_compiled_meanf(), {m},
              [&] { return std::vector<Tensor>{mean(abs(m))}; });
}

TEST(FusionKernels, BroadcastToKeepsItsError) {
  Tensor x = rand_f64({3}), like = rand_f64({1}), w = rand_f64({1});
  expect_same(knet_compiled_bcast(), {x, like, w},
              [&] { return std::vector<Tensor>{x.expand(like.shape()) + w}; });
  Tensor ok = rand_f64({2, 3});
  expect_same(knet_compiled_bcast(), {x, ok, w},
              [&] { return std::vector<Tensor>{x.expand(ok.shape()) + w}; });
}

TEST(FusionKernels, ScalarOperandsInTheDensePath) {
  Tensor k = Tensor::scalar(0.75, DType::f64);
  for (const Tensor &x : {rand_f64({5, 7}), rand_f64({7, 5}).transpose(0, 1)}) {
    std::vector<Tensor> out;
    auto [run, declined] = count([&] {
      out = knet_compiled_scaled().forward({x, k});
    });
    EXPECT_EQ(run, 1);
    EXPECT_EQ(declined, 0);
    EXPECT_TRUE(same(out[0], tanh(x * 0.75)));
  }
}

// Ops over weak scalars only are weak f64 on the tape: a kernel computing
// in f32 could not give them, so it declines and the ops run one by one.
TEST(FusionKernels, ChainsOfWeakScalarsKeepTheirPrecision) {
  Tensor x = rand_f32({2});
  Tensor big = Tensor::scalar(1e20);
  expect_same(knet_compiled_scal(), {x, big},
              [&] { return std::vector<Tensor>{x * ((big * big) / big)}; });
  Tensor a = Tensor::scalar(0.1);
  Tensor b = Tensor::scalar(0.2, DType::f32);
  expect_same(knet_compiled_scal2(), {a, b}, [&] {
    return std::vector<Tensor>{a * a, a * a + b};
  });
}

} // namespace

#else
TEST(FusionKernels, NeedsTheCompiler) {
  GTEST_SKIP() << "built without knetc (KNET_BUILD_COMPILER=OFF)";
}
#endif
