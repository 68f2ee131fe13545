// Random numbers: a counter-based Philox4x32-10 stream (the same on CPU and
// GPU), initializers and dropout.
#pragma once

#include <knet/tensor.h>

#include <cstdint>
#include <functional>

namespace knet {

// Restarts the global stream from `seed`.
void seed(uint64_t seed);

// The position of the global stream: save it to replay the same numbers.
struct RngState {
  uint64_t seed;
  uint64_t offset;
};
RngState rng_state();
void set_rng_state(RngState state);

// Uniform in [0, 1) and standard normal tensors from the global stream.
Tensor rand(Shape shape, DType dtype = DType::f32);
Tensor randn(Shape shape, DType dtype = DType::f32);

// An initializer makes a tensor of the given shape and dtype.
using Init = std::function<Tensor(const Shape &, DType)>;
// Glorot: fan_in / fan_out from the shape (conv: channels times kernel area).
Init xavier_uniform(double gain = 1.0);
Init xavier_normal(double gain = 1.0);
Init gaussian(double mean = 0.0, double std = 0.01);
Init zeros_init();

// Sets knet::training(); returns the previous value.
bool set_training(bool on);
// Whether dropout and batchnorm act as in training outside a tape.
bool training();

// Zeroes each element with probability p and scales the rest by 1/(1-p),
// only while a tape records or training() is set; otherwise returns x.
Tensor dropout(const Tensor &x, double p);
// Backward kernel of dropout from its output y (for compiled adjoints):
// y != 0 ? dy / (1 - p) : 0.
Tensor dropout_back(const Tensor &dy, const Tensor &y, double p);

} // namespace knet
