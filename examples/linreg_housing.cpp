// Linear regression on the Boston housing data (Knet tutorial: housing).
//   linreg_housing [--epochs 10] [--max-loss L]
// Full batch, SGD lr 0.1, features standardized.
#include "example_args.h"

#include <knet/knet.h>

#include <chrono>
#include <iostream>

using namespace knet;

struct Linear {
  Param w = param({1, 13}, gaussian(0, 0.1));
  Param b = param0({1});
};

KNET_COMPILE Tensor predict(const Linear &m, const Tensor &x) {
  return linear(x, m.w, m.b);
}

KNET_COMPILE Tensor loss(const Linear &m, const Tensor &x, const Tensor &y) {
  Tensor d = predict(m, x) - y;
  return mean(d * d);
}

int main(int argc, char **argv) {
  example::Args args(argc, argv);
  const int epochs = static_cast<int>(args.num("epochs", 10));
  seed(1);
  std::cout << "loss: "
            << (is_compiled(loss) ? "compiled by knetc" : "on the tape")
            << "\n";
  Tensor table =
      read_table(data_dir("boston") + "/housing.data").to(DType::f32);
  Tensor x = table.slice(1, 0, 13), y = table.slice(1, 13, 14);
  x = (x - mean(x, {0}, true)) /
      sqrt(mean(pow(x - mean(x, {0}, true), 2.0), {0}, true));
  // On the model's device (the default: a GPU where there is one).
  x = x.contiguous().to(default_device());
  y = y.contiguous().to(default_device());
  std::cout << "housing: " << x.size(0) << " rows, 13 features\n";

  Linear m;
  SGD opt; // lr 0.1
  double first = loss(m, x, y).item<double>(), last = first;
  auto t0 = std::chrono::steady_clock::now();
  for (int e = 1; e <= epochs; ++e) {
    Tape t = diff(loss, m, x, y);
    update(t, opt);
    last = t.value().item<double>();
    if (e == 1 || e % std::max(1, epochs / 10) == 0 || e == epochs)
      std::cout << "epoch " << e << " loss " << last << "\n";
  }
  last = loss(m, x, y).item<double>();
  double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
          .count();
  std::cout << "final loss " << last << " (initial " << first << ") in " << secs
            << " s\n";
  int status = example::check(last < first, "loss fell");
  if (args.has("max-loss"))
    status |=
        example::check(last <= args.num("max-loss", 0),
                       "loss <= " + std::to_string(args.num("max-loss", 0)));
  return status;
}
