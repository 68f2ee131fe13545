// Knet table: LeNet on MNIST (conv5x5x20-relu-pool, conv5x5x50-relu-pool,
// dense 500 relu, dense 10; batch 100, Adam, 1 epoch). Built twice: through
// knet_compile and as it is (the tape).
//   lenet [--epochs 1] [--steps N] [--task train|ratio] [--data DIR]
#include "data.h"
#include "knet_bench.h"

using namespace knet;

struct LeNet {
  Param c1, b1, c2, b2, w3, b3, w4, b4;
};

KNET_COMPILE Tensor predict(const LeNet &m, const Tensor &x) {
  Tensor h = pool(relu(conv2d(x, m.c1) + m.b1)); // [N,20,12,12]
  h = pool(relu(conv2d(h, m.c2) + m.b2));        // [N,50,4,4]
  h = relu(linear(mat(h), m.w3, m.b3));
  return linear(h, m.w4, m.b4);
}

KNET_COMPILE Tensor loss(const LeNet &m, const Tensor &x, const Tensor &y) {
  return nll(predict(m, x), y);
}

int main(int argc, char **argv) {
  bench::Args args(argc, argv);
  const int epochs = static_cast<int>(args.integer("epochs", 1));
  const int64_t steps = args.integer("steps", -1), batch = 100, px = 784;
  bench::report_knet("lenet", is_compiled(loss), args);
  bench::Mnist d = bench::mnist(bench::data_root(args));
  bench::Rng rng(1);
  auto xavier = [&](bench::Shape s) {
    return bench::param_of(bench::xavier_uniform(s, rng), s);
  };
  auto zero = [&](bench::Shape s) {
    return bench::param_of(bench::zeros(s), s);
  };
  LeNet m{xavier({20, 1, 5, 5}), zero({1, 20, 1, 1}), xavier({50, 20, 5, 5}),
          zero({1, 50, 1, 1}),   xavier({500, 800}),  zero({500}),
          xavier({10, 500}),     zero({10})};
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
  if (steps >= 0 && static_cast<size_t>(steps) < batches.size())
    batches.resize(static_cast<size_t>(steps));
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
  // Test loss and accuracy in batches of 500.
  double total = 0, right = 0;
  for (int64_t i = 0; i < d.test.n; i += 500) {
    std::vector<int64_t> idx(
        static_cast<size_t>(std::min<int64_t>(500, d.test.n - i)));
    std::iota(idx.begin(), idx.end(), i);
    Tensor x = xb(d.test.x, idx), y = yb(d.test.y, idx);
    Tensor s = predict(m, x);
    double k = static_cast<double>(idx.size());
    total += nll(s, y).item<double>() * k;
    right += accuracy(s, y) * k;
  }
  bench::result("train_s", secs);
  bench::result("first_loss", first_loss);
  bench::result("steps", batches.size());
  bench::result("last_batch_loss", last);
  bench::result("loss", total / static_cast<double>(d.test.n));
  bench::result("accuracy", right / static_cast<double>(d.test.n));
  return 0;
}
