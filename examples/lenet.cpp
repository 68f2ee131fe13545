// LeNet on MNIST (Knet tutorial: lenet).
//   lenet [--epochs 1] [--steps N] [--min-acc A]
// conv5x5x20-relu-pool, conv5x5x50-relu-pool, dense 500 relu, dense 10; Adam.
#include "example_args.h"

#include <knet/knet.h>

#include <chrono>
#include <iostream>

using namespace knet;

struct LeNet {
  Param c1 = param({20, 1, 5, 5}), b1 = param0({1, 20, 1, 1});
  Param c2 = param({50, 20, 5, 5}), b2 = param0({1, 50, 1, 1});
  Param w3 = param({500, 800}), b3 = param0({500});
  Param w4 = param({10, 500}), b4 = param0({10});
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

// Accuracy over a dataset in batches (bounded memory).
double evaluate(const LeNet &m, const Tensor &x, const Tensor &y) {
  double correct = 0;
  const Device dev = m.c1.value().device();
  for (auto [xb, yb] : minibatch(x, y, 500, {.partial = true}))
    correct += accuracy(predict(m, xb.to(dev)), yb.to(dev)) *
               static_cast<double>(xb.size(0));
  return correct / static_cast<double>(x.size(0));
}

int main(int argc, char **argv) {
  example::Args args(argc, argv);
  const int epochs = static_cast<int>(args.num("epochs", 1));
  const int64_t steps = static_cast<int64_t>(args.num("steps", -1));
  seed(1);
  std::cout << "loss: "
            << (is_compiled(loss) ? "compiled by knetc" : "on the tape")
            << "\n";
  Mnist d = mnist(data_dir("mnist"));
  std::cout << "mnist: " << d.xtrn.size(0) << " train, " << d.xtst.size(0)
            << " test; LeNet, Adam, batch 100, on "
            << device_str(default_device()) << "\n";
  // The data stays on the CPU; each batch goes to the model's device.
  const Device dev = default_device();
  LeNet m;
  Adam opt;
  double first = -1, last = 0;
  int64_t step = 0;
  auto t0 = std::chrono::steady_clock::now();
  for (int e = 1; e <= epochs && step != steps; ++e) {
    auto bar = progress(minibatch(d.xtrn, d.ytrn, 100, {.shuffle = true}));
    for (auto [x, y] : bar) {
      Tape t = diff(loss, m, x.to(dev), y.to(dev));
      update(t, opt);
      last = t.value().item<double>();
      if (first < 0)
        first = last;
      bar.set("loss", last);
      if (++step == steps)
        break;
    }
  }
  double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
          .count();
  double acc = evaluate(m, d.xtst, d.ytst);
  std::cout << step << " steps in " << secs << " s; first batch loss " << first
            << ", last " << last << "; test accuracy " << acc << "\n";
  int status = example::check(last < first, "training loss fell");
  if (args.has("min-acc"))
    status |=
        example::check(acc >= args.num("min-acc", 0),
                       "accuracy >= " + std::to_string(args.num("min-acc", 0)));
  return status;
}
