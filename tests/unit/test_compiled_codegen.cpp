// End to end through the C++ emitter: the hand-written IR of
// tests/codegen/*.mlir (@f and @f_grad), translated to C++ by
// `knet-translate --emit-cpp` at build time and compiled into this program,
// must compute what the same function written with runtime ops computes, and
// the same gradients as the tape (f64, 1e-8 relative).
#include "test_util.h"

#include <knet/compiled.h>

using namespace knet;
using knet::testing::all_close;
using knet::testing::rand_f64;

#if KNET_CODEGEN_E2E

// The accessors of the generated code (tests/codegen/*.mlir).
const detail::CompiledFunction &knet_compiled_mlp_loss();
const detail::CompiledFunction &knet_compiled_rnn_loss();
const detail::CompiledFunction &knet_compiled_branch_loss();
const detail::CompiledFunction &knet_compiled_deep_loss();

namespace {

constexpr double kRtol = 1e-8;
constexpr double kAtol = 1e-12;

// Every defined din entry against the tape's gradient of the same leaf.
void expect_grads(const std::vector<Tensor> &din,
                  const std::vector<Tensor> &expected) {
  ASSERT_EQ(din.size(), expected.size());
  for (size_t i = 0; i < din.size(); ++i) {
    SCOPED_TRACE("leaf " + std::to_string(i));
    EXPECT_EQ(din[i].defined(), expected[i].defined());
    if (din[i].defined() && expected[i].defined()) {
      EXPECT_TRUE(all_close(din[i], expected[i], kRtol, kAtol));
    }
  }
}

Tensor ids(std::vector<int64_t> v) {
  const int64_t n = static_cast<int64_t>(v.size());
  return Tensor::from(v, {n});
}

// --- mlp.mlir ---------------------------------------------------------------

Tensor mlp_loss(const Tensor &w1, const Tensor &b1, const Tensor &w2,
                const Tensor &b2, const Tensor &x, const Tensor &y) {
  Tensor h = relu(matmul(x, w1) + b1);
  return nll(matmul(h, w2) + b2, y);
}

TEST(CompiledCodegen, MlpForwardAndGradMatchTheTape) {
  Tensor w1 = rand_f64({5, 4}, -1, 1, 1), b1 = rand_f64({4}, -1, 1, 2);
  Tensor w2 = rand_f64({4, 3}, -1, 1, 3), b2 = rand_f64({3}, -1, 1, 4);
  Tensor x = rand_f64({6, 5}, -1, 1, 5);
  Tensor y = ids({0, 2, 1, -1, 2, 0});
  const detail::CompiledFunction &f = knet_compiled_mlp_loss();
  EXPECT_STREQ(f.name, "mlp_loss");
  std::vector<Tensor> in = {w1, b1, w2, b2, x, y};

  std::vector<Tensor> out = f.forward(in);
  ASSERT_EQ(out.size(), 1u);
  Tensor expected = mlp_loss(w1, b1, w2, b2, x, y);
  EXPECT_TRUE(all_close(out[0], expected, kRtol, kAtol));

  Param pw1(w1), pb1(b1), pw2(w2), pb2(b2), px(x);
  Tape t = diff([&] {
    return mlp_loss(pw1.value(), pb1.value(), pw2.value(), pb2.value(),
                    px.value(), y);
  });
  std::vector<Tensor> din;
  out = f.grad(in, {}, din); // an undefined seed: ones
  EXPECT_TRUE(all_close(out[0], expected, kRtol, kAtol));
  expect_grads(din, {t.grad(pw1), t.grad(pb1), t.grad(pw2), t.grad(pb2),
                     t.grad(px), Tensor()});

  // An explicit cotangent scales every gradient.
  (void)f.grad(in, {Tensor::scalar(3.0, DType::f64)}, din);
  EXPECT_TRUE(all_close(din[2], t.grad(pw2) * 3.0, kRtol, kAtol));
}

// A caller that does not need some gradients (a data input's) gets them
// undefined, and the others unchanged.
TEST(CompiledCodegen, UnneededGradientsAreSkipped) {
  Tensor w1 = rand_f64({5, 4}, -1, 1, 1), b1 = rand_f64({4}, -1, 1, 2);
  Tensor w2 = rand_f64({4, 3}, -1, 1, 3), b2 = rand_f64({3}, -1, 1, 4);
  Tensor x = rand_f64({6, 5}, -1, 1, 5);
  Tensor y = ids({0, 2, 1, -1, 2, 0});
  const detail::CompiledFunction &f = knet_compiled_mlp_loss();
  std::vector<Tensor> in = {w1, b1, w2, b2, x, y};
  std::vector<Tensor> all, some;
  (void)f.grad(in, {}, all);
  std::vector<bool> need = {true, false, true, true, false, false};
  {
    detail::NeedScope scope(need);
    EXPECT_FALSE(detail::gradient_needed(1));
    EXPECT_TRUE(detail::gradient_needed(0));
    (void)f.grad(in, {}, some);
  }
  EXPECT_TRUE(detail::gradient_needed(1)); // the scope is gone
  ASSERT_EQ(some.size(), in.size());
  EXPECT_FALSE(some[1].defined());
  EXPECT_FALSE(some[4].defined());
  for (int i : {0, 2, 3})
    EXPECT_TRUE(all_close(some[i], all[i], 0, 0)) << "gradient " << i;
  ASSERT_TRUE(all[4].defined());
}

// The generated function registered as the compiled form of a user function,
// as knetc's rewriter will do: diff runs the compiled adjoint.
Tensor mlp_user(const Tensor &w1, const Tensor &b1, const Tensor &w2,
                const Tensor &b2, const Tensor &x, const Tensor &y) {
  return detail::run_compiled(knet_compiled_mlp_loss(),
                              {w1, b1, w2, b2, x, y})[0];
}

TEST(CompiledCodegen, MlpThroughTheRuntimeRegistry) {
  detail::register_compiled(reinterpret_cast<const void *>(&mlp_user),
                            &knet_compiled_mlp_loss());
  EXPECT_TRUE(is_compiled(mlp_user));
  Param w1(rand_f64({5, 4}, -1, 1, 7)), b1(rand_f64({4}, -1, 1, 8));
  Param w2(rand_f64({4, 3}, -1, 1, 9)), b2(rand_f64({3}, -1, 1, 10));
  Tensor x = rand_f64({6, 5}, -1, 1, 11);
  Tensor y = ids({1, 0, 2, 2, 1, 0});
  // Inside a function that stays on the tape: one node, compiled backward.
  Tape compiled = diff([&] {
    return mlp_user(w1.value(), b1.value(), w2.value(), b2.value(), x, y) * 2.0;
  });
  Tape tape = diff([&] {
    return mlp_loss(w1.value(), b1.value(), w2.value(), b2.value(), x, y) * 2.0;
  });
  EXPECT_TRUE(all_close(compiled.value(), tape.value(), kRtol, kAtol));
  for (const Param *p : {&w1, &b1, &w2, &b2})
    EXPECT_TRUE(all_close(compiled.grad(*p), tape.grad(*p), kRtol, kAtol));
}

// --- loop.mlir --------------------------------------------------------------

Tensor rnn_loss(const Tensor &w, const Tensor &x, int64_t n, const Tensor &s) {
  Tensor h = x;
  for (int64_t i = 0; i < n; ++i)
    h = tanh(matmul(h, w));
  return sum(h) * s;
}

TEST(CompiledCodegen, LoopCarryingATensorMatchesTheTape) {
  const detail::CompiledFunction &f = knet_compiled_rnn_loss();
  for (int64_t n : {0, 1, 3}) {
    SCOPED_TRACE("n = " + std::to_string(n));
    Tensor w = rand_f64({4, 4}, -0.8, 0.8, 21), x = rand_f64({3, 4}, -1, 1, 22);
    const double s = 1.7;
    std::vector<Tensor> in = {w, x, Tensor::scalar(double(n), DType::i64),
                              Tensor::scalar(s)};
    Tensor st = Tensor::scalar(s);
    Tensor expected = rnn_loss(w, x, n, st);
    std::vector<Tensor> out = f.forward(in);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_TRUE(all_close(out[0], expected, kRtol, kAtol));

    Param pw(w), px(x), ps(st);
    Tape t =
        diff([&] { return rnn_loss(pw.value(), px.value(), n, ps.value()); });
    std::vector<Tensor> din;
    out = f.grad(in, {}, din);
    EXPECT_TRUE(all_close(out[0], expected, kRtol, kAtol));
    // With n = 0 the tape sees no use of w: its gradient is zero here.
    Tensor gw = t.grad(pw).defined() ? t.grad(pw) : zeros_like(w);
    expect_grads(din, {gw, t.grad(px), Tensor(), t.grad(ps)});
    EXPECT_EQ(din[3].dtype(), DType::f64);
    EXPECT_EQ(din[3].rank(), 0);
  }
}

// --- branch.mlir ------------------------------------------------------------

Tensor branch_loss(const Tensor &x, bool c) {
  Tensor y = c ? relu(x) : sin(x);
  if (sum(y).item<double>() > 1.0)
    y = y * 0.5;
  return sum(y * y);
}

TEST(CompiledCodegen, BranchesMatchTheTape) {
  const detail::CompiledFunction &f = knet_compiled_branch_loss();
  for (bool c : {true, false})
    for (double shift : {-0.5, 1.0}) {
      SCOPED_TRACE(std::string(c ? "relu" : "sin") + " shift " +
                   std::to_string(shift));
      Tensor x = rand_f64({7}, -1, 1, 31) + shift;
      std::vector<Tensor> in = {x, Tensor::scalar(c ? 1 : 0, DType::i64)};
      Tensor expected = branch_loss(x, c);
      EXPECT_TRUE(all_close(f.forward(in)[0], expected, kRtol, kAtol));
      Param px(x);
      Tape t = diff([&] { return branch_loss(px.value(), c); });
      std::vector<Tensor> din;
      std::vector<Tensor> out = f.grad(in, {}, din);
      EXPECT_TRUE(all_close(out[0], expected, kRtol, kAtol));
      expect_grads(din, {t.grad(px), Tensor()});
    }
}

// --- lists.mlir -------------------------------------------------------------

Tensor deep_loss(const std::vector<Tensor> &ws, const Tensor &x) {
  Tensor h = x;
  for (const Tensor &w : ws)
    h = relu(matmul(h, w));
  return sum(h);
}

TEST(CompiledCodegen, ListArgumentAndListGradientMatchTheTape) {
  const detail::CompiledFunction &f = knet_compiled_deep_loss();
  Tensor w0 = rand_f64({4, 5}, -1, 1, 41), w1 = rand_f64({5, 3}, -1, 1, 42);
  Tensor x = rand_f64({2, 4}, -1, 1, 43);
  // A list leaf is its length, then its elements.
  std::vector<Tensor> in = {Tensor::scalar(2, DType::i64), w0, w1, x};
  Tensor expected = deep_loss({w0, w1}, x);
  EXPECT_TRUE(all_close(f.forward(in)[0], expected, kRtol, kAtol));
  Param p0(w0), p1(w1), px(x);
  Tape t = diff([&] {
    return deep_loss({p0.value(), p1.value()}, px.value());
  });
  std::vector<Tensor> din;
  std::vector<Tensor> out = f.grad(in, {}, din);
  EXPECT_TRUE(all_close(out[0], expected, kRtol, kAtol));
  expect_grads(din, {Tensor(), t.grad(p0), t.grad(p1), t.grad(px)});
}

} // namespace

#else

TEST(CompiledCodegen, NeedsTheCompiler) {
  GTEST_SKIP() << "built without KNET_BUILD_COMPILER: no generated code";
}

#endif
