// Knet table: linear regression on Boston housing (full batch of 506, SGD
// lr 0.1, 10K epochs). Built twice: through knet_compile (knetc's compiled
// adjoint) and as it is (the tape).
//   linreg [--epochs 10000] [--task train|ratio] [--data DIR]
#include "data.h"
#include "knet_bench.h"

using namespace knet;

struct Linear {
  Param w, b;
};

KNET_COMPILE Tensor predict(const Linear &m, const Tensor &x) {
  return linear(x, m.w, m.b);
}

KNET_COMPILE Tensor loss(const Linear &m, const Tensor &x, const Tensor &y) {
  Tensor d = predict(m, x) - y;
  return mean(d * d);
}

int main(int argc, char **argv) {
  bench::Args args(argc, argv);
  const int64_t epochs = args.integer("epochs", 10000);
  bench::report_knet("linreg", is_compiled(loss), args);
  bench::Housing h = bench::housing(bench::data_root(args));
  Tensor x = bench::tensor_of(h.x, {h.n, 13});
  Tensor y = bench::tensor_of(h.y, {h.n, 1});
  bench::Rng rng(1);
  Linear m{bench::param_of(bench::gaussian({1, 13}, 0.1, rng), {1, 13}),
           bench::param_of(bench::zeros({1}), {1})};

  if (args.str("task", "train") == "ratio") {
    bench::report_ratio([&] { (void)loss(m, x, y); },
                        [&] { (void)diff(loss, m, x, y); });
    return 0;
  }
  SGD opt{.lr = 0.1};
  bench::result("first_loss", loss(m, x, y).item<double>());
  double t0 = bench::now();
  for (int64_t e = 0; e < epochs; ++e) {
    Tape t = diff(loss, m, x, y);
    update(t, opt);
  }
  double secs = bench::now() - t0;
  bench::result("train_s", secs);
  bench::result("loss", loss(m, x, y).item<double>());
  return 0;
}
