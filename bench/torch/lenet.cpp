// LibTorch peer of bench/knet/lenet.cpp: LeNet on MNIST (batch 100, Adam,
// 1 epoch), the same initial weights and batches.
#include "data.h"
#include "torch_bench.h"

struct LeNet {
  torch::Tensor c1, b1, c2, b2, w3, b3, w4, b4;
  torch::Tensor predict(const torch::Tensor &x) const {
    torch::Tensor h = torch::max_pool2d(torch::relu(torch::conv2d(x, c1, b1)),
                                        2); // [N,20,12,12]
    h = torch::max_pool2d(torch::relu(torch::conv2d(h, c2, b2)),
                          2); // [N,50,4,4]
    h = torch::relu(torch::linear(h.flatten(1), w3, b3));
    return torch::linear(h, w4, b4);
  }
  torch::Tensor loss(const torch::Tensor &x, const torch::Tensor &y) const {
    return bench::nll(predict(x), y);
  }
};

int main(int argc, char **argv) {
  bench::Args args(argc, argv);
  const int epochs = static_cast<int>(args.integer("epochs", 1));
  const int64_t steps = args.integer("steps", -1), batch = 100, px = 784;
  bench::setup_torch("lenet", args);
  bench::Mnist d = bench::mnist(bench::data_root(args));
  bench::Rng rng(1);
  auto xavier = [&](std::vector<int64_t> s) {
    return bench::param_of(bench::xavier_uniform(s, rng), s);
  };
  auto zero = [&](std::vector<int64_t> s) {
    return bench::param_of(bench::zeros(s), s);
  };
  LeNet m{
      xavier({20, 1, 5, 5}), zero({20}),  xavier({50, 20, 5, 5}), zero({50}),
      xavier({500, 800}),    zero({500}), xavier({10, 500}),      zero({10})};
  std::vector<torch::Tensor> params{m.c1, m.b1, m.c2, m.b2,
                                    m.w3, m.b3, m.w4, m.b4};
  std::vector<int64_t> first(batch);
  std::iota(first.begin(), first.end(), 0);
  auto xb = [&](const std::vector<float> &x, const std::vector<int64_t> &idx) {
    return bench::tensor_of(bench::gather(x, px, idx),
                            {static_cast<int64_t>(idx.size()), 1, 28, 28});
  };
  auto yb = [&](const std::vector<int64_t> &y,
                const std::vector<int64_t> &idx) {
    return bench::tensor_of(bench::gather(y, 1, idx),
                            {static_cast<int64_t>(idx.size())});
  };
  torch::optim::Adam opt(params, torch::optim::AdamOptions(0.001).eps(1e-8));

  // Each library's own row gather from the training set.
  torch::Tensor xtrain = bench::mnist_pixels(d.train);
  torch::Tensor ytrain = bench::tensor_of(d.train.y, {d.train.n});

  if (args.str("task", "train") == "ratio") {
    torch::Tensor x = bench::mnist_rows(xtrain, first),
                  y = bench::rows_of(ytrain, first);
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
  if (steps >= 0 && static_cast<size_t>(steps) < batches.size())
    batches.resize(static_cast<size_t>(steps));
  double t0 = bench::now(), last = 0, first_loss = std::nan("");
  for (const auto &idx : batches) {
    bench::zero_grad(params);
    torch::Tensor l =
        m.loss(bench::mnist_rows(xtrain, idx), bench::rows_of(ytrain, idx));
    l.backward();
    opt.step();
    last = l.item<double>();
    if (std::isnan(first_loss))
      first_loss = last;
  }
  double secs = bench::now() - t0;
  torch::NoGradGuard no_grad;
  double total = 0, right = 0;
  for (int64_t i = 0; i < d.test.n; i += 500) {
    std::vector<int64_t> idx(
        static_cast<size_t>(std::min<int64_t>(500, d.test.n - i)));
    std::iota(idx.begin(), idx.end(), i);
    torch::Tensor x = xb(d.test.x, idx), y = yb(d.test.y, idx);
    torch::Tensor s = m.predict(x);
    double k = static_cast<double>(idx.size());
    total += bench::nll(s, y).item<double>() * k;
    right += bench::accuracy(s, y) * k;
  }
  bench::result("train_s", secs);
  bench::result("first_loss", first_loss);
  bench::result("steps", batches.size());
  bench::result("last_batch_loss", last);
  bench::result("loss", total / static_cast<double>(d.test.n));
  bench::result("accuracy", right / static_cast<double>(d.test.n));
  return 0;
}
