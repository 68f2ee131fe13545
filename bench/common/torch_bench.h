// Helpers of the LibTorch benchmark programs: tensors from the shared arrays
// of data.h / bench.h, the thread settings, and the lines every program
// prints first.
#pragma once

#include "bench.h"
#include "data.h"

#include <torch/torch.h>

namespace bench {

inline torch::Tensor tensor_of(const std::vector<float> &v,
                               std::vector<int64_t> s) {
  return torch::from_blob(const_cast<float *>(v.data()), s, torch::kFloat32)
      .clone();
}
inline torch::Tensor tensor_of(const std::vector<int64_t> &v,
                               std::vector<int64_t> s) {
  return torch::from_blob(const_cast<int64_t *>(v.data()), s, torch::kInt64)
      .clone();
}
// Rows `idx` (dim 0) of t: LibTorch's index_select, one pass into a new
// tensor.
inline torch::Tensor rows_of(const torch::Tensor &t,
                             const std::vector<int64_t> &idx) {
  return t.index_select(0, torch::from_blob(const_cast<int64_t *>(idx.data()),
                                            {static_cast<int64_t>(idx.size())},
                                            torch::kInt64));
}
// MNIST images as their bytes, [n, 1, 28, 28] u8, and rows `idx` of them as
// f32 in [0, 1] (x * (1/255), as knet's minibatch converts): LibTorch's
// gather of the bytes, then its conversion.
inline torch::Tensor mnist_pixels(const MnistSplit &s) {
  return torch::from_blob(const_cast<uint8_t *>(s.pixels.data()),
                          {s.n, 1, 28, 28}, torch::kUInt8)
      .clone();
}
inline torch::Tensor mnist_rows(const torch::Tensor &pixels,
                                const std::vector<int64_t> &idx) {
  return rows_of(pixels, idx).to(torch::kFloat32).mul_(1.0f / 255);
}
// A leaf that requires grad.
inline torch::Tensor param_of(const std::vector<float> &v,
                              std::vector<int64_t> s) {
  return tensor_of(v, std::move(s)).requires_grad_(true);
}

// Drops the gradients (PyTorch 2's zero_grad(set_to_none=True); 1.13's C++
// zero_grad() fills them with zeros, which backward then accumulates into).
inline void zero_grad(const std::vector<torch::Tensor> &params) {
  for (const torch::Tensor &p : params)
    p.mutable_grad() = torch::Tensor();
}

// Sets LibTorch's intra-op and inter-op thread counts to the count asked for
// (--threads, else $KNET_NUM_THREADS, else 1) and reports them.
inline void setup_torch(const std::string &model, const Args &args) {
  int n = threads(args);
  torch::set_num_threads(n);
  torch::set_num_interop_threads(n);
  result("model", model);
  result("impl", "libtorch");
  result("threads", torch::get_num_threads());
  result("interop_threads", torch::get_num_interop_threads());
}

// Mean NLL of log-softmax scores, as knet::nll (ids < 0 skipped).
inline torch::Tensor nll(const torch::Tensor &scores, const torch::Tensor &y,
                         bool average = true) {
  return torch::nll_loss(torch::log_softmax(scores, 1), y, {},
                         average ? at::Reduction::Mean : at::Reduction::Sum,
                         -1);
}

inline double accuracy(const torch::Tensor &scores, const torch::Tensor &y) {
  return scores.argmax(1).eq(y).to(torch::kFloat64).mean().item<double>();
}

} // namespace bench
