// A multilayer perceptron on MNIST (Knet tutorial: mlp), also `make demo`.
//   mnist_mlp [--epochs 10] [--hidden 64] [--min-acc A]
// One hidden relu layer, batch 100, Adam.
#include "example_args.h"

#include <knet/knet.h>

#include <chrono>
#include <iostream>

using namespace knet;

struct Mlp {
  Param w1, b1, w2, b2;
  explicit Mlp(int64_t hidden)
      : w1(param({hidden, 784})), b1(param0({hidden})), w2(param({10, hidden})),
        b2(param0({10})) {}
};

KNET_COMPILE Tensor predict(const Mlp &m, const Tensor &x) {
  Tensor h = relu(linear(mat(x), m.w1, m.b1));
  return linear(h, m.w2, m.b2);
}

KNET_COMPILE Tensor loss(const Mlp &m, const Tensor &x, const Tensor &y) {
  return nll(predict(m, x), y);
}

int main(int argc, char **argv) {
  example::Args args(argc, argv);
  const int epochs = static_cast<int>(args.num("epochs", 10));
  const int64_t hidden = static_cast<int64_t>(args.num("hidden", 64));
  seed(1);
  std::cout << "loss: "
            << (is_compiled(loss) ? "compiled by knetc" : "on the tape")
            << "\n";
  Mnist d = mnist(data_dir("mnist"));
  std::cout << "mnist: " << d.xtrn.size(0) << " train, " << d.xtst.size(0)
            << " test; MLP 784-" << hidden << "-10, Adam, batch 100, on "
            << device_str(default_device()) << "\n";
  // The data stays on the CPU; batches and the test set go to the model's
  // device.
  const Device dev = default_device();
  const Tensor xtst = d.xtst.to(dev), ytst = d.ytst.to(dev);
  Mlp m(hidden);
  Adam opt;
  double first = loss(m, xtst, ytst).item<double>();
  auto t0 = std::chrono::steady_clock::now();
  for (int e = 1; e <= epochs; ++e) {
    auto bar = progress(minibatch(d.xtrn, d.ytrn, 100, {.shuffle = true}));
    for (auto [x, y] : bar) {
      Tape t = diff(loss, m, x.to(dev), y.to(dev));
      update(t, opt);
      bar.set("loss", t.value().item<double>());
    }
    std::cout << "epoch " << e << " test accuracy "
              << accuracy(predict(m, xtst), ytst) << "\n";
  }
  double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
          .count();
  double acc = accuracy(predict(m, xtst), ytst);
  double last = loss(m, xtst, ytst).item<double>();
  std::cout << "test accuracy " << acc << ", test loss " << last << " (initial "
            << first << ") in " << secs << " s\n";
  int status = example::check(last < first, "test loss fell");
  if (args.has("min-acc"))
    status |=
        example::check(acc >= args.num("min-acc", 0),
                       "accuracy >= " + std::to_string(args.num("min-acc", 0)));
  return status;
}
