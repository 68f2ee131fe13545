// Knet table: a multilayer perceptron on MNIST, one hidden relu layer of 64
// (batch 100, Adam, 10 epochs). Built twice: through knet_compile and as it
// is (the tape).
//   mlp [--epochs 10] [--hidden 64] [--task train|ratio] [--data DIR]
#include "data.h"
#include "knet_bench.h"

using namespace knet;

struct Mlp {
  Param w1, b1, w2, b2;
};

KNET_COMPILE Tensor predict(const Mlp &m, const Tensor &x) {
  Tensor h = relu(linear(mat(x), m.w1, m.b1));
  return linear(h, m.w2, m.b2);
}

KNET_COMPILE Tensor loss(const Mlp &m, const Tensor &x, const Tensor &y) {
  return nll(predict(m, x), y);
}

int main(int argc, char **argv) {
  bench::Args args(argc, argv);
  const int epochs = static_cast<int>(args.integer("epochs", 10));
  const int64_t hidden = args.integer("hidden", 64), batch = 100;
  bench::report_knet("mlp", is_compiled(loss), args);
  bench::Mnist d = bench::mnist(bench::data_root(args));
  bench::Rng rng(1);
  Mlp m{
      bench::param_of(bench::xavier_uniform({hidden, 784}, rng), {hidden, 784}),
      bench::param_of(bench::zeros({hidden}), {hidden}),
      bench::param_of(bench::xavier_uniform({10, hidden}, rng), {10, hidden}),
      bench::param_of(bench::zeros({10}), {10})};
  std::vector<int64_t> first(batch);
  std::iota(first.begin(), first.end(), 0);
  // Each library's own row gather from the training set; knet's converts
  // the images' bytes to f32 as it gathers.
  bench::RowBatches rows(bench::mnist_pixels(d.train),
                         bench::tensor_of(d.train.y, {d.train.n}), batch,
                         bench::mnist_batches());

  if (args.str("task", "train") == "ratio") {
    auto [x, y] = rows(first);
    bench::report_ratio([&] { (void)loss(m, x, y); },
                        [&] { (void)diff(loss, m, x, y); });
    return 0;
  }
  bench::Rng order(2);
  auto batches = bench::epoch_batches(d.train.n, batch, epochs, order);
  Adam opt;
  double t0 = bench::now(), last = 0, first_loss = std::nan("");
  for (const auto &idx : batches) {
    auto [x, y] = rows(idx);
    Tape t = diff(loss, m, x, y);
    update(t, opt);
    last = t.value().item<double>();
    if (std::isnan(first_loss))
      first_loss = last;
  }
  double secs = bench::now() - t0;
  Tensor xt = bench::tensor_of(d.test.x, {d.test.n, 1, 28, 28});
  Tensor yt = bench::tensor_of(d.test.y, {d.test.n});
  bench::result("train_s", secs);
  bench::result("first_loss", first_loss);
  bench::result("steps", batches.size());
  bench::result("last_batch_loss", last);
  bench::result("loss", loss(m, xt, yt).item<double>());
  bench::result("accuracy", accuracy(predict(m, xt), yt));
  return 0;
}
