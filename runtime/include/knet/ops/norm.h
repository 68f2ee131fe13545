// Batch normalization.
#pragma once

#include <knet/tensor.h>

#include <optional>
#include <utility>

namespace knet {

// Running statistics, created on first use with the channel count of x.
struct Moments {
  Tensor mean;
  Tensor var;
};

struct BatchnormOptions {
  // Use batch statistics and update the moments; unset: when a tape records
  // or knet::training() is set.
  std::optional<bool> training;
  double eps = 1e-5;
  double momentum = 0.1;
};

// x is [N, C] or [N, C, H, W]; params is [2C]: scale then shift (Knet's
// bnparams layout).
Tensor batchnorm(const Tensor &x, Moments &moments, const Tensor &params,
                 BatchnormOptions o = {});
// A [2C] parameter vector: scale 1, shift 0.
Tensor bnparams(int64_t channels, DType dtype = DType::f32);

// Backward kernel of batchnorm (for compiled adjoints): the gradients of x
// and of params ([2C]: scale, then shift) given dy. Training mode (decided as
// batchnorm does) differentiates through the batch statistics; inference
// mode uses the running moments as constants.
std::pair<Tensor, Tensor> batchnorm_back(const Tensor &dy, const Tensor &x,
                                         const Moments &moments,
                                         const Tensor &params,
                                         BatchnormOptions o = {});

} // namespace knet
