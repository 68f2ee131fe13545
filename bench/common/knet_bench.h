// Helpers of the knet benchmark programs: tensors and Params from the shared
// arrays of data.h / bench.h, and the lines every program prints first.
#pragma once

#include "bench.h"
#include "data.h"

#include <knet/knet.h>

namespace bench {

inline knet::Tensor tensor_of(const std::vector<float> &v, knet::Shape s) {
  return knet::Tensor::from(v, std::move(s));
}
inline knet::Tensor tensor_of(const std::vector<int64_t> &v, knet::Shape s) {
  return knet::Tensor::from(v, std::move(s));
}
// Rows `idx` (dim 0) of x and y through knet's minibatch gather
// (Minibatch::batch): one pass into a buffer that the next batch reuses.
class RowBatches {
public:
  RowBatches(knet::Tensor x, knet::Tensor y, int64_t batch,
             knet::MinibatchOptions opts = {})
      : mb_(knet::minibatch(std::move(x), std::move(y), batch, opts)) {}
  std::pair<knet::Tensor, knet::Tensor>
  operator()(const std::vector<int64_t> &idx) const {
    return mb_.batch(0, &idx);
  }

private:
  knet::Minibatch mb_;
};

// MNIST images as their bytes, [n, 1, 28, 28] u8, and the options that
// make f32 batches of them in [0, 1] (the values bench::mnist's x holds, to
// rounding: x * (1/255) rather than x / 255).
inline knet::Tensor mnist_pixels(const MnistSplit &s) {
  return knet::Tensor::from(s.pixels, {s.n, 1, 28, 28});
}
inline knet::MinibatchOptions mnist_batches() {
  return {.xtype = knet::DType::f32, .xscale = 1.0 / 255};
}

inline knet::Param param_of(const std::vector<float> &v, knet::Shape s) {
  return knet::Param(tensor_of(v, std::move(s)));
}

// "@impl=knet-compiled" or "@impl=knet-tape" from whether knetc compiled the
// function the program differentiates, and the thread count knet runs with.
inline void report_knet(const std::string &model, bool compiled,
                        const Args &args) {
  result("model", model);
  result("impl", compiled ? "knet-compiled" : "knet-tape");
  const char *env = std::getenv("KNET_NUM_THREADS");
  result("threads", env && *env ? std::string(env) : std::string("all"));
  (void)args;
}

} // namespace bench
