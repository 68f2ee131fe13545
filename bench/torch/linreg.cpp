// LibTorch peer of bench/knet/linreg.cpp: linear regression on Boston
// housing (full batch, SGD lr 0.1, 10K epochs), the same initial weights.
#include "data.h"
#include "torch_bench.h"

struct Linear {
  torch::Tensor w, b;
  torch::Tensor predict(const torch::Tensor &x) const {
    return torch::linear(x, w, b);
  }
  torch::Tensor loss(const torch::Tensor &x, const torch::Tensor &y) const {
    torch::Tensor d = predict(x) - y;
    return (d * d).mean();
  }
};

int main(int argc, char **argv) {
  bench::Args args(argc, argv);
  const int64_t epochs = args.integer("epochs", 10000);
  bench::setup_torch("linreg", args);
  bench::Housing h = bench::housing(bench::data_root(args));
  torch::Tensor x = bench::tensor_of(h.x, {h.n, 13});
  torch::Tensor y = bench::tensor_of(h.y, {h.n, 1});
  bench::Rng rng(1);
  Linear m{bench::param_of(bench::gaussian({1, 13}, 0.1, rng), {1, 13}),
           bench::param_of(bench::zeros({1}), {1})};
  torch::optim::SGD opt({m.w, m.b}, torch::optim::SGDOptions(0.1));

  if (args.str("task", "train") == "ratio") {
    bench::report_ratio(
        [&] {
          torch::NoGradGuard no_grad;
          (void)m.loss(x, y);
        },
        [&] {
          bench::zero_grad({m.w, m.b});
          m.loss(x, y).backward();
        });
    return 0;
  }
  {
    torch::NoGradGuard no_grad;
    bench::result("first_loss", m.loss(x, y).item<double>());
  }
  double t0 = bench::now();
  for (int64_t e = 0; e < epochs; ++e) {
    bench::zero_grad({m.w, m.b});
    m.loss(x, y).backward();
    opt.step();
  }
  double secs = bench::now() - t0;
  torch::NoGradGuard no_grad;
  bench::result("train_s", secs);
  bench::result("loss", m.loss(x, y).item<double>());
  return 0;
}
