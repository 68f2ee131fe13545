// LibTorch peer of bench/knet/mlp.cpp: an MLP on MNIST with one hidden relu
// layer of 64 (batch 100, Adam, 10 epochs), the same initial weights and
// batches.
#include "data.h"
#include "torch_bench.h"

struct Mlp {
  torch::Tensor w1, b1, w2, b2;
  torch::Tensor predict(const torch::Tensor &x) const {
    torch::Tensor h = torch::relu(torch::linear(x.flatten(1), w1, b1));
    return torch::linear(h, w2, b2);
  }
  torch::Tensor loss(const torch::Tensor &x, const torch::Tensor &y) const {
    return bench::nll(predict(x), y);
  }
};

int main(int argc, char **argv) {
  bench::Args args(argc, argv);
  const int epochs = static_cast<int>(args.integer("epochs", 10));
  const int64_t hidden = args.integer("hidden", 64), batch = 100;
  bench::setup_torch("mlp", args);
  bench::Mnist d = bench::mnist(bench::data_root(args));
  bench::Rng rng(1);
  Mlp m{
      bench::param_of(bench::xavier_uniform({hidden, 784}, rng), {hidden, 784}),
      bench::param_of(bench::zeros({hidden}), {hidden}),
      bench::param_of(bench::xavier_uniform({10, hidden}, rng), {10, hidden}),
      bench::param_of(bench::zeros({10}), {10})};
  std::vector<torch::Tensor> params{m.w1, m.b1, m.w2, m.b2};
  std::vector<int64_t> first(batch);
  std::iota(first.begin(), first.end(), 0);
  // Each library's own row gather from the training set.
  torch::Tensor xtrain = bench::mnist_pixels(d.train);
  torch::Tensor ytrain = bench::tensor_of(d.train.y, {d.train.n});
  auto xb = [&](const std::vector<int64_t> &idx) {
    return bench::mnist_rows(xtrain, idx);
  };
  auto yb = [&](const std::vector<int64_t> &idx) {
    return bench::rows_of(ytrain, idx);
  };
  // knet's Adam defaults: lr 0.001, betas (0.9, 0.999), eps 1e-8.
  torch::optim::Adam opt(params, torch::optim::AdamOptions(0.001).eps(1e-8));

  if (args.str("task", "train") == "ratio") {
    torch::Tensor x = xb(first), y = yb(first);
    bench::report_ratio(
        [&] {
          torch::NoGradGuard no_grad;
          (void)m.loss(x, y);
        },
        [&] {
          bench::zero_grad(params);
          m.loss(x, y).backward();
        });
    return 0;
  }
  bench::Rng order(2);
  auto batches = bench::epoch_batches(d.train.n, batch, epochs, order);
  double t0 = bench::now(), last = 0, first_loss = std::nan("");
  for (const auto &idx : batches) {
    bench::zero_grad(params);
    torch::Tensor l = m.loss(xb(idx), yb(idx));
    l.backward();
    opt.step();
    last = l.item<double>();
    if (std::isnan(first_loss))
      first_loss = last;
  }
  double secs = bench::now() - t0;
  torch::NoGradGuard no_grad;
  torch::Tensor xt = bench::tensor_of(d.test.x, {d.test.n, 1, 28, 28});
  torch::Tensor yt = bench::tensor_of(d.test.y, {d.test.n});
  bench::result("train_s", secs);
  bench::result("first_loss", first_loss);
  bench::result("steps", batches.size());
  bench::result("last_batch_loss", last);
  bench::result("loss", m.loss(xt, yt).item<double>());
  bench::result("accuracy", bench::accuracy(m.predict(xt), yt));
  return 0;
}
