// Softmax regression on MNIST (Knet tutorial: softmax).
//   mnist_softmax [--epochs 10] [--min-acc A]
// Batch 100, SGD lr 0.1.
#include "example_args.h"

#include <knet/knet.h>

#include <chrono>
#include <iostream>

using namespace knet;

struct Softmax {
  Param w = param({10, 784}, gaussian(0, 0.01));
  Param b = param0({10});
};

KNET_COMPILE Tensor predict(const Softmax &m, const Tensor &x) {
  return linear(mat(x), m.w, m.b);
}

KNET_COMPILE Tensor loss(const Softmax &m, const Tensor &x, const Tensor &y) {
  return nll(predict(m, x), y);
}

int main(int argc, char **argv) {
  example::Args args(argc, argv);
  const int epochs = static_cast<int>(args.num("epochs", 10));
  seed(1);
  std::cout << "loss: "
            << (is_compiled(loss) ? "compiled by knetc" : "on the tape")
            << "\n";
  Mnist d = mnist(data_dir("mnist"));
  std::cout << "mnist: " << d.xtrn.size(0) << " train, " << d.xtst.size(0)
            << " test\n";
  Softmax m;
  SGD opt;
  // The data stays on the CPU; batches and the test set go to the model's
  // device (the default: a GPU where there is one).
  const Device dev = default_device();
  const Tensor xtst = d.xtst.to(dev), ytst = d.ytst.to(dev);
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
