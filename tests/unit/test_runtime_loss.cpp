// Losses and metrics: nll, accuracy, bce, logistic. Forward against naive
// references written here, backward against central differences.
#include "test_util.h"

#include <cmath>
#include <limits>
#include <string>

using namespace knet;
using knet::testing::all_close;
using knet::testing::check_grads;
using knet::testing::rand_f64;

namespace {

Tensor labels_of(const std::vector<int64_t> &v) {
  return Tensor::from(v, {static_cast<int64_t>(v.size())});
}

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

// -mean (or -sum) over rows with label >= 0 of log softmax(row)[label],
// with the max subtracted for stability.
double ref_nll(const Tensor &scores, const std::vector<int64_t> &labels,
               bool average) {
  const int64_t N = scores.shape()[0], C = scores.shape()[1];
  std::vector<double> x = scores.contiguous().to_vector<double>();
  double total = 0;
  int64_t count = 0;
  for (int64_t i = 0; i < N; ++i) {
    if (labels[i] < 0)
      continue;
    double m = x[i * C];
    for (int64_t j = 1; j < C; ++j)
      m = std::max(m, x[i * C + j]);
    double s = 0;
    for (int64_t j = 0; j < C; ++j)
      s += std::exp(x[i * C + j] - m);
    total += -(x[i * C + labels[i]] - m - std::log(s));
    ++count;
  }
  return average ? total / count : total;
}

} // namespace

TEST(Nll, ForwardMatchesReference) {
  Tensor s = rand_f64({6, 5}, -3, 3);
  std::vector<int64_t> l{0, 4, -1, 2, 2, 1};
  Tensor y = nll(s, labels_of(l));
  EXPECT_EQ(y.rank(), 0);
  EXPECT_EQ(y.dtype(), DType::f64);
  EXPECT_NEAR(y.item<double>(), ref_nll(s, l, true), 1e-12);
  EXPECT_NEAR(nll(s, labels_of(l), {.average = false}).item<double>(),
              ref_nll(s, l, false), 1e-12);
  // f32 scores.
  Tensor y32 = nll(s.to(DType::f32), labels_of(l));
  EXPECT_EQ(y32.dtype(), DType::f32);
  EXPECT_NEAR(y32.item<double>(), ref_nll(s.to(DType::f32), l, true), 1e-5);
  // Non-contiguous scores: transposed and column-sliced.
  Tensor t = rand_f64({5, 6}, -3, 3, 2).transpose(0, 1);
  ASSERT_FALSE(t.is_contiguous());
  EXPECT_NEAR(nll(t, labels_of(l)).item<double>(), ref_nll(t, l, true), 1e-12);
  Tensor sl = rand_f64({6, 10}, -3, 3, 3).slice(1, 1, 10, 2); // [6,5]
  EXPECT_NEAR(nll(sl, labels_of(l)).item<double>(), ref_nll(sl, l, true),
              1e-12);
}

TEST(Nll, StableForLargeScores) {
  Tensor s = Tensor::from<double>({1000, 0, -1000, 1000, 1001, 999}, {2, 3});
  // Row 0: log(1 + e^-1000 + e^-2000) - 0 ~ 0 for label 0, 1000 for label 1.
  // Row 1: lse = 1001 + log(1 + e^-1 + e^-2).
  double lse1 = 1001 + std::log(1 + std::exp(-1.0) + std::exp(-2.0));
  Tensor y = nll(s, labels_of({1, 2}), {.average = false});
  EXPECT_NEAR(y.item<double>(), 1000 + (lse1 - 999), 1e-9);
  Tensor yf = nll(s.to(DType::f32), labels_of({0, 1}));
  EXPECT_TRUE(std::isfinite(yf.item<double>()));
  EXPECT_NEAR(yf.item<double>(), (0 + (lse1 - 1001)) / 2, 1e-5);
  Param q(s.to(DType::f32));
  Tape t = diff([&] { return nll(q, labels_of({0, 1})); });
  for (float g : t.grad(q).to_vector<float>())
    EXPECT_TRUE(std::isfinite(g));
}

TEST(Nll, SkippedRowsAndAllSkipped) {
  Tensor s = rand_f64({3, 4});
  Param p(s.clone());
  Tape t = diff([&] { return nll(p, labels_of({-1, -1, -1})); });
  EXPECT_EQ(t.value().item<double>(), 0.0);
  Tensor g = t.grad(p);
  if (g.defined()) {
    EXPECT_TRUE(all_close(g, Tensor::zeros({3, 4}, DType::f64)));
  }
  // Skipped rows get zero gradient, counted rows (softmax - onehot)/count.
  Param q(s.clone());
  std::vector<int64_t> l{2, -5, 0};
  Tape t2 = diff([&] { return nll(q, labels_of(l)); });
  std::vector<double> x = s.to_vector<double>(), ref(12, 0.0);
  for (int i = 0; i < 3; ++i) {
    if (l[i] < 0)
      continue;
    double z = 0;
    for (int j = 0; j < 4; ++j)
      z += std::exp(x[i * 4 + j]);
    for (int j = 0; j < 4; ++j)
      ref[i * 4 + j] = (std::exp(x[i * 4 + j]) / z - (j == l[i])) / 2.0;
  }
  EXPECT_TRUE(all_close(t2.grad(q), Tensor::from(ref, {3, 4}), 1e-10, 1e-12));
}

TEST(NllGrad, AgainstCentralDifferences) {
  Tensor s = rand_f64({5, 4}, -2, 2);
  Tensor l = labels_of({3, -1, 0, 1, 3});
  EXPECT_TRUE(check_grads([](auto &v) { return nll(v[0], v[1]); }, {s, l}));
  EXPECT_TRUE(check_grads(
      [](auto &v) { return nll(v[0], v[1], {.average = false}); }, {s, l}));
  // Through a view and a product (the upstream gradient is not 1).
  EXPECT_TRUE(
      check_grads([](auto &v) { return nll(v[0].transpose(0, 1), v[1]) * 3.0; },
                  {rand_f64({4, 5}, -2, 2, 2), l}));
}

TEST(NllGrad, SecondOrder) {
  // The gradient of nll w.r.t. scores, differentiated again: the backward
  // rule under a recording tape is made of differentiable ops.
  Tensor s = rand_f64({4, 3}, -2, 2);
  Tensor l = labels_of({2, 0, -1, 1});
  EXPECT_TRUE(check_grads(
      [](auto &v) {
        auto [val, g] =
            value_and_grad([&](Tensor t) { return nll(t, v[1]); }, v[0] * 1.0);
        return g * g;
      },
      {s, l}));
  // Both paths of the backward rule give the same gradient.
  Param p(s.clone());
  Tape fast = diff([&] { return nll(p, l); });
  Tensor slow;
  Tape outer = diff([&] {
    auto [val, g] =
        value_and_grad([&](Tensor t) { return nll(t, l); }, p.value() * 1.0);
    slow = g;
    return sum(g);
  });
  EXPECT_TRUE(all_close(slow, fast.grad(p), 1e-12, 1e-14));
}

TEST(Nll, Errors) {
  Tensor s = Tensor::zeros({3, 4});
  expect_error(
      [&] {
        (void)nll(s, labels_of({0, 4, 1}));
      },
      {"nll", "label 4", "row 1", "4 classes"});
  expect_error([&] { (void)nll(s, Tensor::zeros({3}, DType::i32)); },
               {"nll", "i64", "i32"});
  expect_error(
      [&] {
        (void)nll(s, labels_of({0, 1}));
      },
      {"nll", "[2]", "[3,4]"});
  expect_error([&] { (void)nll(Tensor::zeros({4}), labels_of({0})); },
               {"nll", "[N,C]", "[4]"});
  expect_error(
      [&] {
        (void)nll(Tensor::zeros({1, 2}, DType::i64), labels_of({0}));
      },
      {"nll", "floating"});
  expect_error(
      [&] {
        (void)accuracy(s, labels_of({0, 1, 7}));
      },
      {"accuracy", "label 7"});
}

TEST(Accuracy, MatchesReference) {
  Tensor s = rand_f64({50, 7}, -1, 1, 4);
  std::vector<int64_t> l(50);
  for (int i = 0; i < 50; ++i)
    l[i] = (i * 5) % 8 - 1; // includes -1 (skipped)
  std::vector<double> x = s.to_vector<double>();
  int counted = 0, correct = 0;
  for (int i = 0; i < 50; ++i) {
    if (l[i] < 0)
      continue;
    ++counted;
    int best = 0;
    for (int j = 1; j < 7; ++j)
      if (x[i * 7 + j] > x[i * 7 + best])
        best = j;
    correct += best == l[i];
  }
  ASSERT_GT(correct, 0);
  EXPECT_DOUBLE_EQ(accuracy(s, labels_of(l)), double(correct) / counted);
  EXPECT_DOUBLE_EQ(accuracy(s.to(DType::f32), labels_of(l)),
                   double(correct) / counted);
  // Non-contiguous scores.
  Tensor st = s.transpose(0, 1).contiguous().transpose(0, 1);
  ASSERT_FALSE(st.is_contiguous());
  EXPECT_DOUBLE_EQ(accuracy(st, labels_of(l)), double(correct) / counted);
  // Ties: the first maximum is the prediction, as argmax.
  Tensor tie = Tensor::from<float>({1, 3, 3, 2, 2, 0}, {2, 3});
  EXPECT_DOUBLE_EQ(accuracy(tie, labels_of({1, 0})), 1.0);
  EXPECT_DOUBLE_EQ(accuracy(tie, labels_of({2, 1})), 0.0);
  EXPECT_DOUBLE_EQ(accuracy(tie, labels_of({1, -1})), 1.0);
  EXPECT_DOUBLE_EQ(accuracy(tie, labels_of({-1, -1})), 0.0);
}

TEST(Bce, ForwardMatchesReference) {
  Tensor x = rand_f64({4, 5}, -4, 4);
  Tensor p = rand_f64({4, 5}, 0, 1, 2); // soft targets
  std::vector<double> xv = x.to_vector<double>(), pv = p.to_vector<double>();
  double ref = 0;
  for (size_t i = 0; i < xv.size(); ++i) {
    double s = 1 / (1 + std::exp(-xv[i]));
    ref -= pv[i] * std::log(s) + (1 - pv[i]) * std::log(1 - s);
  }
  ref /= xv.size();
  EXPECT_NEAR(bce(x, p).item<double>(), ref, 1e-12);
  EXPECT_NEAR(bce(x.transpose(0, 1), p.transpose(0, 1)).item<double>(), ref,
              1e-12);
  EXPECT_NEAR(bce(x.to(DType::f32), p.to(DType::f32)).item<double>(), ref,
              1e-5);
  // Integer 0/1 labels are accepted.
  Tensor hard = Tensor::from<int64_t>({1, 0, 1}, {3});
  Tensor xs = Tensor::from<double>({0.5, -1, 2}, {3});
  double r2 = (-std::log(1 / (1 + std::exp(-0.5))) +
               -std::log(1 - 1 / (1 + std::exp(1.0))) +
               -std::log(1 / (1 + std::exp(-2.0)))) /
              3;
  EXPECT_NEAR(bce(xs, hard).item<double>(), r2, 1e-12);
}

TEST(Bce, StableForLargeScores) {
  // -log sigm(-100) = 100 + log1p(e^-100); -log(1 - sigm(100)) likewise;
  // the confident right answers cost ~e^-100.
  Tensor x = Tensor::from<float>({-100, 100, 100, -100}, {4});
  Tensor p = Tensor::from<float>({1, 0, 1, 0}, {4});
  Tensor y = bce(x, p);
  EXPECT_TRUE(std::isfinite(y.item<double>()));
  EXPECT_NEAR(y.item<double>(), 200.0 / 4, 1e-4);
  Tensor xl = Tensor::from<float>({-100, 100}, {2});
  Tensor pl = Tensor::from<float>({1, -1}, {2});
  EXPECT_NEAR(logistic(xl, pl).item<double>(), 100.0, 1e-4);
  EXPECT_NEAR(logistic(xl, -pl).item<double>(), 0.0, 1e-6);
  // Gradients stay finite too.
  Param q(x.clone());
  Tape t = diff([&] { return bce(q, p); });
  for (float g : t.grad(q).to_vector<float>())
    EXPECT_TRUE(std::isfinite(g));
}

TEST(BceGrad, ScoresAndTargets) {
  Tensor x = rand_f64({3, 4}, -3, 3);
  Tensor p = rand_f64({3, 4}, 0, 1, 2);
  EXPECT_TRUE(check_grads([](auto &v) { return bce(v[0], v[1]); }, {x, p}));
  EXPECT_TRUE(check_grads(
      [](auto &v) {
        return bce(v[0].transpose(0, 1), v[1].transpose(0, 1)) * 2.0;
      },
      {rand_f64({4, 3}, -3, 3, 3), p.transpose(0, 1).contiguous()}));
  // Second order.
  EXPECT_TRUE(check_grads(
      [&p](auto &v) {
        auto [val, g] =
            value_and_grad([&p](Tensor t) { return bce(t, p); }, v[0] * 1.0);
        return g * g;
      },
      {x}));
}

TEST(Logistic, ForwardMatchesReference) {
  Tensor x = rand_f64({10}, -4, 4);
  std::vector<double> pv{1, -1, -1, 1, 1, 1, -1, 1, -1, -1};
  Tensor p = Tensor::from(pv, {10});
  std::vector<double> xv = x.to_vector<double>();
  double ref = 0;
  for (int i = 0; i < 10; ++i)
    ref += std::log(1 + std::exp(-pv[i] * xv[i]));
  ref /= 10;
  EXPECT_NEAR(logistic(x, p).item<double>(), ref, 1e-12);
  EXPECT_NEAR(logistic(x, p.to(DType::i64)).item<double>(), ref, 1e-12);
  Tensor x2 = rand_f64({2, 10}, -4, 4, 5).slice(0, 1, 2); // offset view
  std::vector<double> x2v = x2.to_vector<double>();
  double ref2 = 0;
  for (int i = 0; i < 10; ++i)
    ref2 += std::log(1 + std::exp(-pv[i] * x2v[i]));
  EXPECT_NEAR(logistic(x2, p.reshape({1, 10})).item<double>(), ref2 / 10,
              1e-12);
}

TEST(LogisticGrad, ScoresAndTargets) {
  Tensor x = rand_f64({3, 4}, -3, 3);
  Tensor p = rand_f64({3, 4}, -1, 1, 2);
  EXPECT_TRUE(
      check_grads([](auto &v) { return logistic(v[0], v[1]); }, {x, p}));
  EXPECT_TRUE(check_grads(
      [&p](auto &v) {
        auto [val, g] = value_and_grad(
            [&p](Tensor t) { return logistic(t, p); }, v[0] * 1.0);
        return g * g;
      },
      {x}));
}

TEST(BinaryLosses, Errors) {
  Tensor x = Tensor::zeros({3});
  expect_error([&] { (void)bce(x, Tensor::zeros({4})); },
               {"bce", "[3]", "[4]"});
  expect_error([&] { (void)bce(x, Tensor::zeros({3}, DType::f64)); },
               {"bce", "f32", "f64"});
  expect_error([&] { (void)logistic(Tensor::zeros({3}, DType::i64), x); },
               {"logistic", "floating"});
  expect_error(
      [&] {
        (void)logistic(x, Tensor::zeros({3, 1}));
      },
      {"logistic", "[3,1]"});
}

// The backward kernels compiled adjoints call equal the tape's gradients.
TEST(LossBackKernels, MatchTheTape) {
  Tensor dy = Tensor::scalar(1.7, DType::f64);
  Tensor scores = rand_f64({5, 4}, -2, 2, 3);
  Tensor ids = labels_of({0, 3, -1, 2, 1});
  for (bool average : {true, false}) {
    Param s(scores);
    Tape t =
        diff([&] { return nll(s.value(), ids, {.average = average}) * dy; });
    EXPECT_TRUE(all_close(nll_back(dy, scores, ids, {.average = average}),
                          t.grad(s), 1e-12, 1e-14));
  }
  Tensor p01 = (rand_f64({5, 4}, 0, 1, 4) > 0.5).to(DType::f64);
  Tensor pm1 = p01 * 2.0 - 1.0;
  Param s(scores);
  Tape tb = diff([&] { return bce(s.value(), p01) * dy; });
  EXPECT_TRUE(all_close(bce_back(dy, scores, p01), tb.grad(s), 1e-12, 1e-14));
  Tape tl = diff([&] { return logistic(s.value(), pm1) * dy; });
  EXPECT_TRUE(
      all_close(logistic_back(dy, scores, pm1), tl.grad(s), 1e-12, 1e-14));
  EXPECT_THROW(nll_back(rand_f64({2}), scores, ids), Error);
  EXPECT_THROW(bce_back(dy, scores, rand_f64({3})), Error);
}
