// Batch normalization.
#pragma once

#include <knet/ops/conv.h>
#include <knet/tensor.h>

#include <optional>
#include <sstream>
#include <string>
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

// What is wrong with the options, or "" (the one statement of the rules,
// checked by batchnorm and by knetc on constant options).
inline std::string batchnorm_options_error(const BatchnormOptions &o) {
  std::ostringstream s;
  if (!(o.eps > 0))
    s << "eps must be > 0, got " << o.eps;
  else if (!(o.momentum >= 0 && o.momentum <= 1))
    s << "momentum must be in [0, 1], got " << o.momentum;
  return s.str();
}

// x is [N, C] or [N, C, H, W]; params is [2C]: scale then shift (Knet's
// bnparams layout).
Tensor batchnorm(const Tensor &x, Moments &moments, const Tensor &params,
                 BatchnormOptions o = {});
// Inference-mode batchnorm of a convolution, folded into it (knetc's
// knet-fold-batchnorm): batchnorm(conv2d(x, w, co), moments, params,
// {.training = false, .eps = eps}) computed as conv2d(x, w * a, co) + b,
// with a = scale / sqrt(var + eps) per output channel and b = shift -
// mean * a. Checks and creates the moments as batchnorm does.
Tensor conv2d_batchnorm(const Tensor &x, const Tensor &w, Moments &moments,
                        const Tensor &params, double eps, ConvOptions co = {});
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
