// The runtime side of compiled functions: what knetc's generated code
// registers, written here by hand for f(x, s) = sum(sin(x) * s).
#include "test_util.h"

#include <knet/compiled.h>

using namespace knet;
using knet::testing::all_close;
using knet::testing::rand_f64;

namespace {

std::vector<Tensor> f_forward(const std::vector<Tensor> &in) {
  return {sum(sin(in[0]) * in[1].item<double>())};
}

int g_grad_calls = 0;

std::vector<Tensor> f_grad(const std::vector<Tensor> &in,
                           const std::vector<Tensor> &dout,
                           std::vector<Tensor> &din) {
  ++g_grad_calls;
  std::vector<Tensor> out = f_forward(in);
  const Tensor &x = in[0];
  double s = in[1].item<double>();
  double g = dout[0].defined() ? dout[0].item<double>() : 1.0;
  din = {cos(x) * (g * s), sum(sin(x)) * g};
  return out;
}

const detail::CompiledFunction kF{"f", f_forward, f_grad};

// The user's function with its body rewritten to dispatch, as knetc does.
Tensor f(const Tensor &x, double s) {
  return detail::run_compiled(kF, {x, Tensor::scalar(s)})[0];
}

const bool kRegistered =
    (detail::register_compiled(reinterpret_cast<const void *>(&f), &kF), true);

Tensor not_compiled(const Tensor &x, double s) { return sum(sin(x) * s); }

} // namespace

TEST(Compiled, RegistryAndIsCompiled) {
  EXPECT_TRUE(kRegistered);
  EXPECT_TRUE(is_compiled(f));
  EXPECT_TRUE(is_compiled(&f));
  EXPECT_FALSE(is_compiled(not_compiled));
}

TEST(Compiled, ValueAndGradWithScalarArgument) {
  Tensor x = rand_f64({4});
  auto [v, dx, ds] = value_and_grad(f, x, 3.0);
  static_assert(std::is_same_v<decltype(ds), double>);
  EXPECT_NEAR(v.item<double>(), not_compiled(x, 3.0).item<double>(), 1e-12);
  EXPECT_TRUE(all_close(dx, cos(x) * 3.0));
  EXPECT_NEAR(ds, sum(sin(x)).item<double>(), 1e-12);
  // The tape cannot do this for the uncompiled twin.
  EXPECT_THROW((void)value_and_grad(not_compiled, x, 3.0), Error);
}

TEST(Compiled, CallInsideTapeIsOneNodeWithCompiledBackward) {
  Param w(rand_f64({5}), "w");
  // A function that stays on the tape calls the compiled one twice.
  auto loss = [&] {
    Tensor a = f(w.value() * 2.0, 0.5);
    return a + f(w.value(), 1.5) * a;
  };
  GradcheckResult r = gradcheck(loss);
  EXPECT_TRUE(r.ok) << r.worst;
  Tape t = diff(loss);
  Tensor wv = w.value();
  Tensor a = sum(sin(wv * 2.0)) * 0.5, b = sum(sin(wv)) * 1.5;
  Tensor expected = cos(wv * 2.0) * 2.0 * 0.5 * (1.0 + b) + cos(wv) * 1.5 * a;
  EXPECT_TRUE(all_close(t.grad(w), expected, 1e-12));
}

TEST(Compiled, OutsideTapeOnlyForwardRuns) {
  Tensor x = rand_f64({3});
  EXPECT_NEAR(f(x, 2.0).item<double>(), not_compiled(x, 2.0).item<double>(),
              1e-12);
}

TEST(Compiled, HigherOrderThroughCompiledIsAnError) {
  Param w(rand_f64({3}), "w");
  EXPECT_THROW((void)diff([&] {
                 Tape inner = diff([&] { return f(w.value(), 1.0); });
                 return sum(inner.grad(w));
               }),
               Error);
}

TEST(Compiled, DiffOfCompiledFunctionRunsTheAdjointOnce) {
  Param w(rand_f64({3}), "w");
  int before = g_grad_calls;
  Tape t = diff(f, w.value(), 2.0);
  EXPECT_EQ(g_grad_calls, before + 1);
  EXPECT_TRUE(all_close(t.grad(w), cos(w.value()) * 2.0, 1e-12));
  EXPECT_NEAR(t.value().item<double>(),
              not_compiled(w.value(), 2.0).item<double>(), 1e-12);
}

namespace {
// g(x) = sum(dropout(x, 0.5) * x): its adjoint draws the same mask again.
std::vector<Tensor> g_forward(const std::vector<Tensor> &in) {
  return {sum(dropout(in[0], 0.5) * in[0])};
}
std::vector<Tensor> g_grad(const std::vector<Tensor> &in,
                           const std::vector<Tensor> &dout,
                           std::vector<Tensor> &din) {
  const bool was = set_training(true);
  Tensor y = dropout(in[0], 0.5);
  set_training(was);
  Tensor out = sum(y * in[0]);
  Tensor seed = dout[0].defined() ? dout[0] : ones_like(out);
  din = {y * 2.0 * seed};
  return {out};
}
const detail::CompiledFunction kG{"g", g_forward, g_grad};
Tensor g(const Tensor &x) { return detail::run_compiled(kG, {x})[0]; }
const bool kGRegistered =
    (detail::register_compiled(reinterpret_cast<const void *>(&g), &kG), true);
Tensor g_twin(const Tensor &x) { return sum(dropout(x, 0.5) * x); }
} // namespace

TEST(Compiled, DropoutInsideTapeMatchesTheTape) {
  EXPECT_TRUE(kGRegistered);
  Param w(rand_f64({64}, 0.5, 1.5), "w");
  auto loss = [&](auto fn) {
    return [&w, fn] { return fn(w.value() * 3.0) * 2.0; };
  };
  seed(5);
  Tape compiled = diff(loss(g));
  seed(5);
  Tape twin = diff(loss(g_twin));
  EXPECT_NEAR(compiled.value().item<double>(), twin.value().item<double>(),
              1e-12);
  EXPECT_TRUE(all_close(compiled.grad(w), twin.grad(w), 1e-12));
  // Some elements were dropped: the mask was really applied.
  EXPECT_LT(compiled.value().item<double>(),
            sum(pow(w.value() * 3.0, 2.0) * 2.0).item<double>() * 2.0);
}

TEST(Compiled, FlattenArgumentsIntoLeaves) {
  std::vector<Tensor> in;
  Param p(rand_f64({2}), "p");
  Tensor t = rand_f64({3});
  detail::flatten_into(in, t);
  detail::flatten_into(in, p);
  detail::flatten_into(in, 2.5);
  detail::flatten_into(in, 1.5f);
  detail::flatten_into(in, 7);
  detail::flatten_into(in, true);
  detail::flatten_into(in, std::vector<Param>{p, p});
  ASSERT_EQ(in.size(), 9u); // six single leaves, then length + 2 elements
  EXPECT_TRUE(in[0].shares_storage(t));
  EXPECT_TRUE(in[1].shares_storage(p.value()));
  // C++ floats and doubles are weak scalars, exact in f64.
  EXPECT_TRUE(in[2].is_weak());
  EXPECT_DOUBLE_EQ(in[2].item<double>(), 2.5);
  EXPECT_TRUE(in[3].is_weak());
  EXPECT_EQ(in[3].item<double>(), 1.5);
  EXPECT_EQ(in[4].dtype(), DType::i64);
  EXPECT_EQ(in[4].item<int64_t>(), 7);
  EXPECT_EQ(in[5].item<int64_t>(), 1);
  EXPECT_EQ(in[6].item<int64_t>(), 2); // the list's length, then its elements
  EXPECT_EQ(in[6].rank(), 0);
}

TEST(Compiled, IntegerDivisionHelpersRound) {
  EXPECT_EQ(detail::floordiv<int64_t>(7, 2), 3);
  EXPECT_EQ(detail::floordiv<int64_t>(-7, 2), -4);
  EXPECT_EQ(detail::floordiv<int64_t>(7, -2), -4);
  EXPECT_EQ(detail::floordiv<int64_t>(-8, 2), -4);
  EXPECT_EQ(detail::ceildiv<int64_t>(7, 2), 4);
  EXPECT_EQ(detail::ceildiv<int64_t>(-7, 2), -3);
  EXPECT_EQ(detail::ceildiv<int64_t>(-7, -2), 4);
  EXPECT_EQ(detail::ceildiv<int64_t>(8, 2), 4);
  std::vector<Tensor> l{Tensor::ones({2}), Tensor::ones({3})};
  std::vector<Tensor> z = detail::list_zeros_like(l);
  EXPECT_EQ(z[1].shape(), (Shape{3}));
  EXPECT_EQ(z[1].to_vector<float>(), (std::vector<float>{0, 0, 0}));
  std::vector<Tensor> s = detail::list_set(l, 1, z[0]);
  EXPECT_EQ(s[1].shape(), (Shape{2}));
  EXPECT_EQ(l[1].shape(), (Shape{3})); // a copy: the input list is unchanged
}
