// Elementwise ops: forward against direct references (broadcasting, views)
// and backward against central differences.
#include "test_util.h"

#include <algorithm>
#include <cmath>
#include <optional>

using namespace knet;
using knet::testing::all_close;
using knet::testing::check_grads;
using knet::testing::rand_f64;

namespace {

// Applies a scalar reference elementwise to a contiguous copy.
template <class F> Tensor ref_map(const Tensor &x, F f) {
  std::vector<double> v = x.to_vector<double>();
  for (auto &e : v)
    e = f(e);
  return Tensor::from(v, x.shape());
}

} // namespace

TEST(Elementwise, AddBroadcastsLikeNumPy) {
  Tensor a = Tensor::from<float>({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor b = Tensor::from<float>({10, 20, 30}, {3});
  Tensor c = Tensor::from<float>({100, 200}, {2, 1});
  EXPECT_TRUE(
      all_close(a + b, Tensor::from<float>({11, 22, 33, 14, 25, 36}, {2, 3})));
  EXPECT_TRUE(all_close(
      a + c, Tensor::from<float>({101, 102, 103, 204, 205, 206}, {2, 3})));
  EXPECT_TRUE(all_close(
      b + c, Tensor::from<float>({110, 120, 130, 210, 220, 230}, {2, 3})));
}

TEST(Elementwise, ScalarOperandsOnEitherSide) {
  Tensor a = Tensor::from<double>({1, 2, 4}, {3});
  EXPECT_TRUE(all_close(a - 1.0, Tensor::from<double>({0, 1, 3}, {3})));
  EXPECT_TRUE(all_close(1.0 - a, Tensor::from<double>({0, -1, -3}, {3})));
  EXPECT_TRUE(all_close(8.0 / a, Tensor::from<double>({8, 4, 2}, {3})));
  EXPECT_TRUE(all_close(a / 2.0, Tensor::from<double>({0.5, 1, 2}, {3})));
  EXPECT_TRUE(all_close(-a, Tensor::from<double>({-1, -2, -4}, {3})));
  EXPECT_TRUE(all_close(pow(a, 2.0), Tensor::from<double>({1, 4, 16}, {3})));
  EXPECT_TRUE(all_close(pow(2.0, a), Tensor::from<double>({2, 4, 16}, {3})));
}

TEST(Elementwise, NonContiguousInputs) {
  Tensor x = rand_f64({4, 6});
  Tensor t = x.transpose(0, 1);   // [6,4] strided
  Tensor s = x.slice(1, 1, 6, 2); // [4,3] step 2
  EXPECT_FALSE(t.is_contiguous());
  EXPECT_TRUE(all_close(
      t * 2.0, ref_map(t.contiguous(), [](double v) { return 2 * v; })));
  EXPECT_TRUE(all_close(
      exp(s), ref_map(s.contiguous(), [](double v) { return std::exp(v); })));
  EXPECT_TRUE(all_close(
      t + t, ref_map(t.contiguous(), [](double v) { return v + v; })));
}

TEST(Elementwise, LargeParallelMatchesSerial) {
  Tensor x = rand_f64({300, 1000});
  Tensor b = rand_f64({1000}, -1, 1, 2);
  Tensor y = x * b + 1.0;
  std::vector<double> xv = x.to_vector<double>(), bv = b.to_vector<double>(),
                      yv = y.to_vector<double>();
  for (size_t i = 0; i < xv.size(); i += 997)
    EXPECT_DOUBLE_EQ(yv[i], xv[i] * bv[i % 1000] + 1.0);
}

TEST(Elementwise, ComparisonsAndWhere) {
  Tensor a = Tensor::from<float>({1, 5, 3}, {3});
  Tensor b = Tensor::from<float>({2, 5, 1}, {3});
  EXPECT_EQ((a < b).dtype(), DType::b8);
  EXPECT_EQ((a < b).to_vector<bool>(), (std::vector<bool>{true, false, false}));
  EXPECT_EQ((a == b).to_vector<bool>(),
            (std::vector<bool>{false, true, false}));
  EXPECT_EQ((a >= 3.0).to_vector<bool>(),
            (std::vector<bool>{false, true, true}));
  EXPECT_TRUE(
      all_close(where(a > b, a, b), Tensor::from<float>({2, 5, 3}, {3})));
  EXPECT_TRUE(all_close(maximum(a, b), Tensor::from<float>({2, 5, 3}, {3})));
  EXPECT_TRUE(all_close(minimum(a, 2.0), Tensor::from<float>({1, 2, 2}, {3})));
}

TEST(Elementwise, UnaryForward) {
  Tensor x = rand_f64({5, 7}, -3, 3);
  Tensor p = rand_f64({5, 7}, 0.1, 3);
  auto sig = [](double v) { return 1 / (1 + std::exp(-v)); };
  EXPECT_TRUE(
      all_close(exp(x), ref_map(x, [](double v) { return std::exp(v); })));
  EXPECT_TRUE(
      all_close(log(p), ref_map(p, [](double v) { return std::log(v); })));
  EXPECT_TRUE(
      all_close(log1p(p), ref_map(p, [](double v) { return std::log1p(v); })));
  EXPECT_TRUE(
      all_close(sqrt(p), ref_map(p, [](double v) { return std::sqrt(v); })));
  EXPECT_TRUE(all_close(rsqrt(p),
                        ref_map(p, [](double v) { return 1 / std::sqrt(v); })));
  EXPECT_TRUE(
      all_close(abs(x), ref_map(x, [](double v) { return std::abs(v); })));
  EXPECT_TRUE(
      all_close(sin(x), ref_map(x, [](double v) { return std::sin(v); })));
  EXPECT_TRUE(
      all_close(cos(x), ref_map(x, [](double v) { return std::cos(v); })));
  EXPECT_TRUE(
      all_close(tanh(x), ref_map(x, [](double v) { return std::tanh(v); })));
  EXPECT_TRUE(all_close(sigm(x), ref_map(x, sig)));
  EXPECT_TRUE(
      all_close(relu(x), ref_map(x, [](double v) { return v > 0 ? v : 0; })));
  EXPECT_TRUE(all_close(elu(x), ref_map(x, [](double v) {
                          return v > 0 ? v : std::exp(v) - 1;
                        })));
  EXPECT_TRUE(
      all_close(selu(x), ref_map(x, [](double v) {
                  return 1.0507009873554805 *
                         (v > 0 ? v : 1.6732632423543772 * (std::exp(v) - 1));
                })));
  EXPECT_TRUE(all_close(gelu(x), ref_map(x, [](double v) {
                          return 0.5 * v *
                                 (1 + std::tanh(0.7978845608028654 *
                                                (v + 0.044715 * v * v * v)));
                        })));
  EXPECT_TRUE(all_close(softplus(x), ref_map(x, [](double v) {
                          return std::log(1 + std::exp(v));
                        })));
  EXPECT_TRUE(
      all_close(swish(x), ref_map(x, [&](double v) { return v * sig(v); })));
  EXPECT_TRUE(all_close(hardtanh(x, -0.5, 2), ref_map(x, [](double v) {
                          return std::min(std::max(v, -0.5), 2.0);
                        })));
  EXPECT_TRUE(all_close(hardtanh(x), ref_map(x, [](double v) {
                          return std::min(std::max(v, -1.0), 1.0);
                        })));
  EXPECT_TRUE(all_close(hardsigmoid(x), ref_map(x, [](double v) {
                          return std::min(std::max(v / 6 + 0.5, 0.0), 1.0);
                        })));
  EXPECT_THROW(hardtanh(x, 1, -1), Error);
  // Stability at the extremes.
  Tensor big = Tensor::from<float>({-200, 200}, {2});
  EXPECT_TRUE(all_close(sigm(big), Tensor::from<float>({0, 1}, {2})));
  EXPECT_TRUE(all_close(softplus(big), Tensor::from<float>({0, 200}, {2})));
}

TEST(ElementwiseGrad, BinaryWithBroadcasting) {
  Tensor a = rand_f64({3, 4}), b = rand_f64({4}, 0.5, 2, 2),
         c = rand_f64({3, 1}, 0.5, 2, 3);
  EXPECT_TRUE(check_grads([](auto &v) { return v[0] + v[1]; }, {a, b}));
  EXPECT_TRUE(check_grads([](auto &v) { return v[0] - v[1]; }, {a, c}));
  EXPECT_TRUE(check_grads([](auto &v) { return v[0] * v[1]; }, {a, b}));
  EXPECT_TRUE(check_grads([](auto &v) { return v[0] / v[1]; }, {a, c}));
  EXPECT_TRUE(check_grads([](auto &v) { return pow(v[1], v[0]); }, {a, b}));
  EXPECT_TRUE(check_grads([](auto &v) { return maximum(v[0], v[1]); }, {a, b}));
  EXPECT_TRUE(check_grads([](auto &v) { return minimum(v[0], v[1]); }, {a, c}));
  EXPECT_TRUE(check_grads([](auto &v) { return where(v[0] > 0.0, v[0], v[1]); },
                          {a, b}));
}

TEST(ElementwiseGrad, ScalarOperands) {
  Tensor a = rand_f64({2, 3}, 0.5, 2);
  EXPECT_TRUE(check_grads([](auto &v) { return 3.0 - v[0] * 2.0 + 1.0; }, {a}));
  EXPECT_TRUE(
      check_grads([](auto &v) { return 2.0 / v[0] - v[0] / 4.0; }, {a}));
  EXPECT_TRUE(check_grads(
      [](auto &v) { return pow(v[0], 3.0) + pow(2.0, v[0]); }, {a}));
  EXPECT_TRUE(check_grads(
      [](auto &v) { return maximum(v[0], 1.0) + minimum(v[0], 1.0); }, {a}));
  EXPECT_TRUE(check_grads([](auto &v) { return -v[0]; }, {a}));
}

TEST(ElementwiseGrad, UnaryOverViews) {
  Tensor x = rand_f64({4, 6}, -2, 2);
  Tensor p = rand_f64({4, 6}, 0.2, 2);
  using F = Tensor (*)(const Tensor &);
  for (F f : {F(exp), F(sin), F(cos), F(tanh), F(sigm), F(relu), F(elu),
              F(selu), F(gelu), F(softplus), F(swish), F(abs)}) {
    EXPECT_TRUE(
        check_grads([f](auto &v) { return f(v[0].transpose(0, 1)); }, {x}));
    EXPECT_TRUE(
        check_grads([f](auto &v) { return f(v[0].slice(1, 0, 6, 2)); }, {x}));
  }
  for (F f : {F(log), F(log1p), F(sqrt), F(rsqrt)})
    EXPECT_TRUE(check_grads([f](auto &v) { return f(v[0]); }, {p}));
  // Away from the kinks (+-0.5 and +-3): x is in (-2, 2).
  EXPECT_TRUE(check_grads(
      [](auto &v) { return hardtanh(v[0].transpose(0, 1), -0.5, 0.5); }, {x}));
  EXPECT_TRUE(check_grads(
      [](auto &v) { return hardsigmoid(v[0].slice(1, 0, 6, 2) * 2.0); }, {x}));
}

TEST(ElementwiseGrad, BackwardKernelsAreDifferentiable) {
  Tensor dy = rand_f64({3, 4}), x = rand_f64({3, 4}, -2, 2, 5);
  Tensor y = rand_f64({3, 4}, 0.1, 0.9, 6);
  EXPECT_TRUE(
      check_grads([](auto &v) { return tanh_back(v[0], v[1]); }, {dy, y}));
  EXPECT_TRUE(
      check_grads([](auto &v) { return sigm_back(v[0], v[1]); }, {dy, y}));
  EXPECT_TRUE(
      check_grads([](auto &v) { return elu_back(v[0], v[1]); }, {dy, x}));
  EXPECT_TRUE(
      check_grads([](auto &v) { return selu_back(v[0], v[1]); }, {dy, x}));
  EXPECT_TRUE(
      check_grads([](auto &v) { return gelu_back(v[0], v[1]); }, {dy, x}));
  EXPECT_TRUE(
      check_grads([](auto &v) { return softplus_back(v[0], v[1]); }, {dy, x}));
  EXPECT_TRUE(
      check_grads([](auto &v) { return swish_back(v[0], v[1]); }, {dy, x}));
}

TEST(Elementwise, Errors) {
  Tensor a = Tensor::zeros({2, 3}), b = Tensor::zeros({4});
  try {
    (void)(a + b);
    FAIL() << "expected an error";
  } catch (const Error &e) {
    EXPECT_STREQ(e.what(), "add: shapes [2,3] and [4] cannot broadcast");
  }
  EXPECT_THROW((void)(a + Tensor::zeros({2, 3}, DType::f64)), Error);
  EXPECT_THROW((void)exp(Tensor::zeros({2}, DType::i64)), Error);
  EXPECT_THROW((void)(a + Tensor()), Error);
}

TEST(Elementwise, InPlaceUpdates) {
  Tensor a = Tensor::ones({2, 2});
  add_(a, Tensor::full({2, 2}, 2.0), 0.5);
  EXPECT_TRUE(all_close(a, Tensor::full({2, 2}, 2.0)));
  mul_(a, 3.0);
  EXPECT_TRUE(all_close(a, Tensor::full({2, 2}, 6.0)));
  Tensor row = a.select(0, 1);
  fill_(row, -1.0);
  EXPECT_TRUE(all_close(a, Tensor::from<float>({6, 6, -1, -1}, {2, 2})));
  copy_(a, Tensor::from<float>({7, 8}, {2}));
  EXPECT_TRUE(all_close(a, Tensor::from<float>({7, 8, 7, 8}, {2, 2})));
}

TEST(Elementwise, IntegerDivisionByZeroIsAnError) {
  Tensor a = Tensor::from<int64_t>({4, 6}, {2});
  Tensor z = Tensor::from<int64_t>({2, 0}, {2});
  EXPECT_THROW((void)(a / z), Error);
  EXPECT_THROW((void)(a / 0.0), Error);
  EXPECT_THROW((void)(1.0 / z), Error);
  EXPECT_EQ((a / Tensor::from<int64_t>({2, 3}, {2})).to_vector<int64_t>(),
            (std::vector<int64_t>{2, 2}));
  // Floating division by zero is IEEE: inf.
  EXPECT_TRUE(std::isinf((Tensor::ones({1}) / 0.0).item<float>()));
}

TEST(ElementwiseGrad, SecondDerivativeOfAbsIsZero) {
  Param x(rand_f64({3}, 0.5, 1.5), "x");
  Tape outer = diff([&] {
    Tape inner = diff([&] { return sum(abs(x.value() * -1.0)); });
    return sum(inner.grad(x) * x.value());
  });
  // d/dx sum(sign(-x)*-1 * x) = sum(1) => ones; the sign part adds zero.
  EXPECT_TRUE(all_close(outer.grad(x), Tensor::ones({3}, DType::f64)));
}

// docs/ops.md, "Dtype promotion": every pairing of a weak scalar, a 0-d
// and an n-d operand of f32 and f64, both orders, through each binary op.
TEST(Elementwise, DtypePromotionTable) {
  enum Kind { weak, zero_d, nd };
  const char *kind_name[] = {"weak", "0-d", "n-d"};
  const double va = 0.1, vb = 0.7; // not exact in f32
  auto make = [](Kind k, DType t, double v) {
    if (k == weak)
      return Tensor::scalar(v);
    if (k == zero_d)
      return Tensor::scalar(v, t);
    return Tensor::full({2}, v, t);
  };
  using Op = Tensor (*)(const Tensor &, const Tensor &);
  const std::pair<const char *, Op> ops[] = {
      {"add", [](const Tensor &a, const Tensor &b) { return a + b; }},
      {"sub", [](const Tensor &a, const Tensor &b) { return a - b; }},
      {"mul", [](const Tensor &a, const Tensor &b) { return a * b; }},
      {"div", [](const Tensor &a, const Tensor &b) { return a / b; }},
      {"pow", [](const Tensor &a, const Tensor &b) { return pow(a, b); }},
      {"maximum",
       [](const Tensor &a, const Tensor &b) { return maximum(a, b); }},
      {"where", [](const Tensor &a, const Tensor &b) {
         return where(Tensor::scalar(0.0, DType::b8), a, b);
       }}};
  auto ref = [](const std::string &op, auto u, auto v) {
    using T = decltype(u);
    if (op == "add")
      return static_cast<T>(u + v);
    if (op == "sub")
      return static_cast<T>(u - v);
    if (op == "mul")
      return static_cast<T>(u * v);
    if (op == "div")
      return static_cast<T>(u / v);
    if (op == "pow")
      return static_cast<T>(std::pow(u, v));
    if (op == "maximum")
      return std::max(u, v);
    return v; // where(false, a, b)
  };
  int cases = 0;
  for (Kind ka : {weak, zero_d, nd})
    for (Kind kb : {weak, zero_d, nd})
      for (DType ta : {DType::f32, DType::f64})
        for (DType tb : {DType::f32, DType::f64}) {
          if ((ka == weak && ta == DType::f64) ||
              (kb == weak && tb == DType::f64))
            continue; // a weak scalar has no dtype of its own to vary
          const Tensor a = make(ka, ta, va), b = make(kb, tb, vb);
          std::optional<DType> want;
          if (ka == weak && kb == weak)
            want = DType::f64;
          else if (ka == weak)
            want = tb;
          else if (kb == weak || ta == tb)
            want = ta;
          for (const auto &[name, op] : ops) {
            SCOPED_TRACE(std::string(name) + ": " + kind_name[ka] + " " +
                         dtype_name(a.dtype()) + " with " + kind_name[kb] +
                         " " + dtype_name(b.dtype()));
            ++cases;
            if (!want) {
              try {
                (void)op(a, b);
                ADD_FAILURE() << "no error";
              } catch (const Error &e) {
                EXPECT_NE(std::string(e.what()).find("dtype mismatch"),
                          std::string::npos)
                    << e.what();
              }
              continue;
            }
            Tensor y = op(a, b);
            EXPECT_EQ(y.dtype(), *want);
            EXPECT_EQ(y.is_weak(), ka == weak && kb == weak);
            EXPECT_EQ(y.rank(), ka == nd || kb == nd ? 1 : 0);
            // Computed in the result's dtype from the exact doubles.
            if (*want == DType::f32)
              EXPECT_EQ(
                  y.to_vector<float>()[0],
                  ref(name, static_cast<float>(va), static_cast<float>(vb)));
            else
              EXPECT_EQ(y.to_vector<double>()[0], ref(name, va, vb));
            // Comparisons follow the same rule.
            EXPECT_EQ((a < b).dtype(), DType::b8);
          }
        }
  EXPECT_EQ(cases, 7 * 25);
}

// A weak scalar's whole life: ops over weak scalars only stay weak; a cast
// or an explicit dtype makes a tensor that is not; the loss
// accumulator keeps an f64 model's precision.
TEST(Elementwise, WeakScalars) {
  Tensor w = Tensor::scalar(0.1);
  EXPECT_TRUE(w.is_weak());
  EXPECT_EQ(w.dtype(), DType::f64);
  EXPECT_EQ(w.rank(), 0);
  EXPECT_EQ(w.item<double>(), 0.1);
  EXPECT_FALSE(Tensor::scalar(0.1, DType::f64).is_weak());
  EXPECT_FALSE(Tensor::scalar(0.1, DType::f32).is_weak());
  EXPECT_TRUE((w * 3.0).is_weak());
  EXPECT_TRUE(exp(w).is_weak());
  EXPECT_TRUE((-w).is_weak());
  EXPECT_TRUE(maximum(w, Tensor::scalar(1.0)).is_weak());
  EXPECT_TRUE(zeros_like(w).is_weak());
  EXPECT_TRUE(ones_like(w).is_weak());
  EXPECT_FALSE(w.to(DType::f64).is_weak());
  EXPECT_FALSE(w.to(DType::f32).is_weak());
  EXPECT_FALSE(w.reshape({1}).is_weak());
  // exp(weak) meets an f32 tensor and takes its dtype, rounded once.
  Tensor x = Tensor::from<float>({1, 2}, {2});
  EXPECT_EQ((x * exp(w)).dtype(), DType::f32);
  EXPECT_EQ((x * exp(w)).to_vector<float>()[1],
            2.0f * static_cast<float>(std::exp(0.1)));
  // The issue: a 0-d accumulator started from Tensor::scalar(0.0) meets an
  // f64 loss and stays f64, both orders.
  Tensor l64 = Tensor::scalar(1.0 / 3.0, DType::f64);
  Tensor loss = Tensor::scalar(0.0);
  loss = loss + l64;
  EXPECT_EQ(loss.dtype(), DType::f64);
  EXPECT_EQ(loss.item<double>(), 1.0 / 3.0);
  EXPECT_EQ((l64 + Tensor::scalar(0.0)).dtype(), DType::f64);
  // A strong f32 0-d and an f64 one are an error either way round, as
  // tensors of rank > 0 are (no silent narrowing).
  EXPECT_THROW((void)(Tensor::scalar(0.0, DType::f32) + l64), Error);
  EXPECT_THROW((void)(l64 + Tensor::scalar(0.0, DType::f32)), Error);
  EXPECT_THROW(
      (void)(Tensor::ones({1}, DType::f32) + Tensor::ones({2}, DType::f64)),
      Error);
  // Integers: a weak float does not meet an integer tensor (a C++ double
  // operand does, converted as documented).
  EXPECT_THROW((void)(Tensor::ones({2}, DType::i64) + w), Error);
  // A Param is never weak: its dtype is its own.
  Param q(Tensor::scalar(3.0), "q");
  EXPECT_FALSE(q.value().is_weak());
  EXPECT_THROW((void)(x * q.value()), Error);
  // The gradient of an f32 Param scaled by a weak scalar is f32.
  Param p(x.clone(), "p");
  Tape t = diff([&] { return sum(p.value() * Tensor::scalar(3.0)); });
  EXPECT_EQ(t.grad(p).dtype(), DType::f32);
  EXPECT_TRUE(all_close(t.grad(p), Tensor::from<float>({3, 3}, {2})));
}
