// Convolution and pooling over NCHW tensors. Weights are [Cout, Cin/groups,
// kH, kW] for conv2d and [Cin, Cout/groups, kH, kW] for deconv2d.
#pragma once

#include <knet/tensor.h>

#include <cstdint>
#include <string>

namespace knet {

struct ConvOptions {
  int64_t padding = 0;
  int64_t stride = 1;
  int64_t dilation = 1;
  int64_t groups = 1;
};

// Cross-correlation, as cuDNN and PyTorch.
Tensor conv2d(const Tensor &x, const Tensor &w, ConvOptions o = {});
Tensor conv2d_back_data(const Tensor &dy, const Tensor &w, const Shape &x_shape,
                        ConvOptions o = {});
Tensor conv2d_back_filter(const Tensor &dy, const Tensor &x,
                          const Shape &w_shape, ConvOptions o = {});
// Transposed convolution: the adjoint of conv2d with the same options.
Tensor deconv2d(const Tensor &x, const Tensor &w, ConvOptions o = {});

enum class PoolMode { max, avg };

struct PoolOptions {
  int64_t window = 2;
  int64_t stride = 0; // 0: same as window
  int64_t padding = 0;
  PoolMode mode = PoolMode::max;
};

// What is wrong with options, or "" when they are valid: the one statement
// of the rules, checked by the runtime's ops and by knetc on constant options
// (at the user's line).
inline std::string conv_options_error(const ConvOptions &o) {
  if (o.padding < 0)
    return "padding must be >= 0";
  if (o.stride < 1)
    return "stride must be >= 1";
  if (o.dilation < 1)
    return "dilation must be >= 1";
  if (o.groups < 1)
    return "groups must be >= 1";
  return {};
}
inline std::string pool_options_error(const PoolOptions &o) {
  if (o.window < 1)
    return "window must be >= 1";
  if (o.stride < 0)
    return "stride must be >= 0 (0: the window)";
  if (o.padding < 0)
    return "padding must be >= 0";
  if (o.padding >= o.window)
    return "padding must be smaller than the window";
  return {};
}

Tensor pool(const Tensor &x, PoolOptions o = {});
Tensor pool_back(const Tensor &dy, const Tensor &y, const Tensor &x,
                 PoolOptions o = {});
// Each element repeated over a window x window block (the adjoint of average
// pooling times the window area), as Knet's unpool.
Tensor unpool(const Tensor &x, PoolOptions o = {});

} // namespace knet
