// The dynamic tape: Params found wherever they live, gradients against
// central differences, higher-order gradients, errors, memory.
#include "test_util.h"

#include "core/autograd.h"
#include "core/tensor_impl.h"

#include <cmath>

using namespace knet;
using knet::testing::all_close;
using knet::testing::check_grads;
using knet::testing::rand_f64;

namespace {

// A model is a plain struct of Params and vectors of Params.
struct Layer {
  Param w, b;
};
struct Model {
  std::vector<Layer> layers;
  Param scale;
};

Model make_model() {
  Model m;
  m.layers.push_back({Param(rand_f64({3, 4}, -1, 1, 11), "w0"),
                      Param(rand_f64({4}, -0.1, 0.1, 12), "b0")});
  m.layers.push_back({Param(rand_f64({4, 2}, -1, 1, 13), "w1"),
                      Param(rand_f64({2}, -0.1, 0.1, 14), "b1")});
  m.scale = Param(rand_f64({1}, 0.5, 1, 15), "scale");
  return m;
}

// x [N, D] times w [D, H] through broadcasting and a reduction.
Tensor affine(const Tensor &x, const Layer &l) {
  Tensor prod = x.unsqueeze(2) * l.w.value().unsqueeze(0); // [N, D, H]
  return sum(prod, {1}) + l.b;
}

Tensor predict(const Model &m, Tensor x) {
  for (size_t i = 0; i < m.layers.size(); ++i) {
    x = affine(x, m.layers[i]);
    if (i + 1 < m.layers.size())
      x = tanh(x);
  }
  return x * m.scale;
}

Tensor loss(const Model &m, const Tensor &x, const Tensor &y) {
  Tensor d = predict(m, x) - y;
  return mean(d * d);
}

} // namespace

TEST(Tape, FindsParamsInStructsVectorsAndCaptures) {
  Model m = make_model();
  Tensor x = rand_f64({5, 3}, -1, 1, 21), y = rand_f64({5, 2}, -1, 1, 22);
  Tape t = diff(loss, m, x, y);
  EXPECT_EQ(t.params().size(), 5u);
  for (const Layer &l : m.layers) {
    EXPECT_TRUE(t.grad(l.w).defined());
    EXPECT_EQ(t.grad(l.w).shape(), l.w.value().shape());
  }
  EXPECT_NEAR(t.value().item<double>(), loss(m, x, y).item<double>(), 1e-12);
  // The same through a capturing lambda.
  Tape t2 = diff([&] { return loss(m, x, y); });
  EXPECT_TRUE(all_close(t2.grad(m.scale), t.grad(m.scale)));
  GradcheckResult r = gradcheck(loss, m, x, y);
  EXPECT_TRUE(r.ok) << r.worst;
  EXPECT_LT(r.max_rel_error, 1e-7);
}

TEST(Tape, LoopsAndBranchesFollowTheRun) {
  Param w(rand_f64({3}, 0.5, 1.5, 3), "w");
  auto f = [&](int steps) {
    Tensor h = w.value();
    for (int i = 0; i < steps; ++i) {
      if (i % 2 == 0)
        h = sin(h) * w;
      else
        h = h + exp(-h);
    }
    return sum(h);
  };
  for (int steps : {0, 1, 4}) {
    if (steps == 0) {
      Tape t = diff(f, steps);
      // sum(w): gradient of ones.
      EXPECT_TRUE(all_close(t.grad(w), Tensor::ones({3}, DType::f64)));
      continue;
    }
    GradcheckResult r = gradcheck(f, steps);
    EXPECT_TRUE(r.ok) << r.worst;
  }
}

TEST(Tape, UnreachedParamHasNoGradient) {
  Param a(rand_f64({2}), "a"), b(rand_f64({2}), "b");
  Tape t = diff([&] { return sum(a.value() * 2.0); });
  EXPECT_TRUE(t.grad(a).defined());
  EXPECT_FALSE(t.grad(b).defined());
  EXPECT_EQ(t.params().size(), 1u);
  // A loss that touches no Param at all.
  Tape t0 = diff([&] { return sum(Tensor::ones({2}, DType::f64)); });
  EXPECT_TRUE(t0.params().empty());
  EXPECT_DOUBLE_EQ(t0.value().item<double>(), 2.0);
}

// A function that returns its Param unchanged: d p / d p = 1 (the loss
// is the Param's value, touched by no op; the differential tester found the
// tape giving no gradient where the compiled adjoint gave 1).
TEST(Tape, LossThatIsTheParamHasGradientOne) {
  Param p(Tensor::from<double>({0.5}, {}), "p");
  Tape t = diff([&](const Tensor &x) { return x; }, p.value());
  ASSERT_TRUE(t.grad(p).defined());
  EXPECT_DOUBLE_EQ(t.grad(p).item<double>(), 1.0);
  Tape t2 = diff([&]() -> Tensor { return p; });
  ASSERT_TRUE(t2.grad(p).defined());
  EXPECT_DOUBLE_EQ(t2.grad(p).item<double>(), 1.0);
}

TEST(Tape, ParamUsedTwiceAccumulates) {
  Param a(Tensor::from<double>({1.5, -2}, {2}), "a");
  Tape t = diff([&] { return sum(a.value() * a.value() + a.value()); });
  EXPECT_TRUE(all_close(t.grad(a), Tensor::from<double>({4, -3}, {2})));
}

TEST(Tape, GradientsOwnTheirStorage) {
  Param a(rand_f64({3}), "a"), b(rand_f64({3}), "b");
  Tape t = diff([&] { return sum(a.value() + b.value()); });
  EXPECT_FALSE(t.grad(a).shares_storage(t.grad(b)));
}

TEST(Tape, SecondDerivativeOfSin) {
  Param x(rand_f64({4}, -2, 2, 5), "x");
  Tape outer = diff([&] {
    Tape inner = diff([&] { return sum(sin(x.value())); });
    EXPECT_TRUE(all_close(inner.grad(x), cos(x.value()), 1e-12));
    return sum(inner.grad(x));
  });
  EXPECT_TRUE(all_close(outer.grad(x), -sin(x.value()), 1e-12));
}

TEST(Tape, SecondDerivativeOfTanh) {
  Param x(rand_f64({4}, -2, 2, 6), "x");
  Tape outer = diff([&] {
    Tape inner = diff([&] { return sum(tanh(x.value())); });
    return sum(inner.grad(x));
  });
  Tensor t = tanh(x.value());
  EXPECT_TRUE(all_close(outer.grad(x), t * (1.0 - t * t) * -2.0, 1e-12));
}

TEST(Tape, HessianVectorProductOfAnMlp) {
  Model m = make_model();
  Tensor x = rand_f64({6, 3}, -1, 1, 31), y = rand_f64({6, 2}, -1, 1, 32);
  Param &w = m.layers[0].w;
  Tensor v = rand_f64(w.value().shape(), -1, 1, 33);
  Tape outer = diff([&] {
    Tape inner = diff(loss, m, x, y);
    return sum(inner.grad(w) * v);
  });
  Tensor hv = outer.grad(w);
  ASSERT_TRUE(hv.defined());
  // Central differences of the gradient along v.
  const double h = 1e-5;
  Tensor w0 = w.value().clone();
  w.value() = w0 + v * h;
  Tensor gp = diff(loss, m, x, y).grad(w);
  w.value() = w0 - v * h;
  Tensor gm = diff(loss, m, x, y).grad(w);
  w.value() = w0;
  Tensor numeric = (gp - gm) / (2 * h);
  EXPECT_TRUE(all_close(hv, numeric, 1e-6, 1e-8));
  // The HVP also reaches the other layers (mixed second derivatives).
  EXPECT_TRUE(outer.grad(m.layers[1].w).defined());
}

TEST(Tape, ValueAndGradPositional) {
  Tensor a = rand_f64({3}), b = rand_f64({3}, -1, 1, 2);
  auto f = [](const Tensor &p, const Tensor &q) { return sum(p * q * q); };
  auto [value, da, db] = value_and_grad(f, a, b);
  EXPECT_NEAR(value.item<double>(), f(a, b).item<double>(), 1e-12);
  EXPECT_TRUE(all_close(da, b * b));
  EXPECT_TRUE(all_close(db, a * b * 2.0));
  EXPECT_FALSE(is_compiled(+[](const Tensor &p) { return sum(p); }));
}

TEST(Tape, ValueAndGradScalarArgumentNeedsCompiledFunction) {
  auto f = [](const Tensor &p, double s) { return sum(p * s); };
  try {
    (void)value_and_grad(f, rand_f64({2}), 2.0);
    FAIL() << "expected an error";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("knetc-compiled"), std::string::npos)
        << e.what();
  }
}

TEST(Tape, ErrorsNameTheOp) {
  Param w(rand_f64({2, 2}), "w");
  // diff of a non-scalar.
  try {
    (void)diff([&] { return w.value() * 2.0; });
    FAIL();
  } catch (const Error &e) {
    EXPECT_STREQ(
        e.what(),
        "diff: the function must return a scalar loss, got shape [2,2]");
  }
  // Overwriting a recorded intermediate.
  try {
    (void)diff([&] {
      Tensor h = w.value() * 2.0;
      fill_(h, 0.0);
      return sum(h);
    });
    FAIL();
  } catch (const Error &e) {
    EXPECT_EQ(std::string(e.what()).rfind("fill_: cannot overwrite", 0), 0u)
        << e.what();
  }
  // Overwriting a Param's value (or a view of it) while recording.
  try {
    (void)diff([&] {
      Tensor s = sum(w.value());
      Tensor row = w.value().select(0, 0);
      add_(row, Tensor::ones({2}, DType::f64));
      return s;
    });
    FAIL();
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("Param 'w'"), std::string::npos)
        << e.what();
  }
  // Outside a tape, in-place updates are fine (that is what optimizers do).
  Tensor &v = w.value();
  add_(v, Tensor::ones({2, 2}, DType::f64));
  // Recording stopped cleanly after the errors.
  EXPECT_FALSE(detail::recording());
}

TEST(Tape, NegativeControlWrongRuleIsCaught) {
  // An op whose tape rule is deliberately wrong (factor 2 missing): the
  // gradient checker must reject it.
  auto bad_square = [](const Tensor &x) {
    Tensor y =
        Tensor::from(std::vector<double>(x.to_vector<double>()), x.shape());
    y = y.clone();
    std::vector<double> v = x.to_vector<double>();
    for (auto &e : v)
      e = e * e;
    Tensor out = Tensor::from(v, x.shape());
    if (detail::recording())
      detail::record("bad_square", {x}, {out},
                     [x](const detail::Grads &dy, const detail::Needs &) {
                       return detail::Grads{dy[0] * x}; // should be 2*x*dy
                     });
    return out;
  };
  Tensor x = rand_f64({3}, 0.5, 1.5);
  EXPECT_FALSE(check_grads([&](auto &v) { return bad_square(v[0]); }, {x}));
}

// gradcheck evaluates f numerically as diff does analytically: in training
// mode (batchnorm on batch statistics, dropout active) and with the same
// random numbers (the same dropout mask). It passes on a correct model and
// names the Param of a wrong rule.
TEST(Gradcheck, BatchnormDropoutModelInTrainingMode) {
  seed(3);
  Param w = param({5, 4}, xavier_uniform(), DType::f64, "w1");
  Param bn(bnparams(5, DType::f64), "bn");
  Tensor x = randn({6, 4}, DType::f64);
  Moments moments;
  auto model = [&] {
    Tensor h = batchnorm(linear(x, w.value()), moments, bn.value());
    return sum(tanh(dropout(h, 0.3)));
  };
  GradcheckResult r = gradcheck(model);
  EXPECT_TRUE(r.ok) << r.worst;
  EXPECT_FALSE(training()); // the mode is restored
  // A wrong rule on the way to w1 is caught, and named.
  auto bad = [&] {
    Tensor y = batchnorm(linear(x, w.value()), moments, bn.value());
    // A copy the tape does not see, recorded with a wrong rule.
    Tensor wrong = Tensor::from(y.to_vector<double>(), y.shape());
    if (detail::recording())
      detail::record("bad_scale", {y}, {wrong},
                     [](const detail::Grads &dy, const detail::Needs &) {
                       return detail::Grads{dy[0] * 1.5}; // should be dy
                     });
    return sum(tanh(dropout(wrong, 0.3)));
  };
  GradcheckResult b = gradcheck(bad);
  EXPECT_FALSE(b.ok);
  EXPECT_NE(b.worst.find("param 'w1' [5,4]"), std::string::npos) << b.worst;
  // An unnamed Param is called by its place among the Params.
  Param u(rand_f64({3}, 0.5, 1.5));
  GradcheckResult n = gradcheck([&] {
    Tensor v = u.value() * 1.0;
    Tensor out = Tensor::from(v.to_vector<double>(), v.shape());
    if (detail::recording())
      detail::record("bad", {v}, {out},
                     [](const detail::Grads &dy, const detail::Needs &) {
                       return detail::Grads{dy[0] * 2.0};
                     });
    return sum(out);
  });
  EXPECT_FALSE(n.ok);
  EXPECT_NE(n.worst.find("param #0 [3]"), std::string::npos) << n.worst;
}

TEST(Tape, IntermediatesAreReleased) {
  Param w(rand_f64({256, 256}), "w");
  auto f = [&] {
    Tensor h = w.value();
    for (int i = 0; i < 8; ++i)
      h = tanh(h * 1.01);
    return sum(h);
  };
  (void)diff(f); // warm the cache
  size_t before = memory_stats().bytes_in_use;
  {
    Tape t = diff(f);
    // What remains held by the tape: the loss and w's gradient only.
    size_t held = memory_stats().bytes_in_use - before;
    EXPECT_LE(held, size_t{256 * 256 * 8 + 4096});
  }
  EXPECT_EQ(memory_stats().bytes_in_use, before);
}

TEST(Tape, ParamTrackListStaysShort) {
  Param w(rand_f64({2}), "w");
  for (int i = 0; i < 100; ++i)
    (void)diff([&] { return sum(w.value() * w.value()); });
  Tape t = diff([&] { return sum(w.value()); });
  EXPECT_LE(w.value().impl()->tracks.size(), 2u);
}

TEST(Tape, ViewsCarryGradients) {
  Tensor x = rand_f64({3, 4}, -1, 1, 8);
  EXPECT_TRUE(
      check_grads([](auto &v) { return v[0].transpose(0, 1) * 2.0; }, {x}));
  EXPECT_TRUE(check_grads([](auto &v) { return v[0].slice(1, 1, 4, 2); }, {x}));
  EXPECT_TRUE(check_grads([](auto &v) { return v[0].select(0, 2); }, {x}));
  EXPECT_TRUE(check_grads([](auto &v) { return v[0].reshape({2, 6}); }, {x}));
  EXPECT_TRUE(check_grads(
      [](auto &v) {
        return v[0].permute({1, 0}).unsqueeze(0);
      },
      {x}));
  EXPECT_TRUE(
      check_grads([](auto &v) { return v[0].unsqueeze(1).squeeze(1); }, {x}));
  EXPECT_TRUE(check_grads(
      [](auto &v) {
        return v[0].select(1, 0).expand({5, 3});
      },
      {x}));
  EXPECT_TRUE(check_grads(
      [](auto &v) { return v[0].clone() + v[0].contiguous(); }, {x}));
  // Second derivative through a slice.
  Param p(rand_f64({4}, -1, 1, 9), "p");
  Tape outer = diff([&] {
    Tape inner = diff([&] { return sum(sin(p.value().slice(0, 1, 3))); });
    return sum(inner.grad(p));
  });
  std::vector<double> g = outer.grad(p).to_vector<double>();
  std::vector<double> pv = p.value().to_vector<double>();
  EXPECT_DOUBLE_EQ(g[0], 0.0);
  EXPECT_NEAR(g[1], -std::sin(pv[1]), 1e-12);
  EXPECT_NEAR(g[2], -std::sin(pv[2]), 1e-12);
  EXPECT_DOUBLE_EQ(g[3], 0.0);
}

TEST(Tape, ParamMadeFromTrackedValueKeepsOuterIdentity) {
  // value_and_grad inside diff: the inner positional Param wraps a value the
  // outer tape tracks; second-order gradients must still reach the outer one.
  Param x(rand_f64({3}, -1, 1, 41), "x");
  Tape outer = diff([&] {
    auto [v, g] =
        value_and_grad([](const Tensor &t) { return sum(sin(t)); }, x.value());
    return sum(g);
  });
  ASSERT_TRUE(outer.grad(x).defined());
  EXPECT_TRUE(all_close(outer.grad(x), -sin(x.value()), 1e-12));
  // Outside any tape, a Param shares the tensor's storage.
  Tensor t = rand_f64({2});
  Param p(t);
  EXPECT_TRUE(p.value().shares_storage(t));
}
