// Elementwise ops: arithmetic, comparisons, where, unary math, activations,
// their backward kernels, and the few in-place updates optimizers need.
// Binary ops broadcast like NumPy; tensor operands share one dtype; a double
// operand takes the tensor's dtype.
#pragma once

#include <knet/tensor.h>

namespace knet {

Tensor operator+(const Tensor &a, const Tensor &b);
Tensor operator-(const Tensor &a, const Tensor &b);
Tensor operator*(const Tensor &a, const Tensor &b);
Tensor operator/(const Tensor &a, const Tensor &b);
Tensor operator+(const Tensor &a, double b);
Tensor operator-(const Tensor &a, double b);
Tensor operator*(const Tensor &a, double b);
Tensor operator/(const Tensor &a, double b);
Tensor operator+(double a, const Tensor &b);
Tensor operator-(double a, const Tensor &b);
Tensor operator*(double a, const Tensor &b);
Tensor operator/(double a, const Tensor &b);
Tensor operator-(const Tensor &a);
Tensor pow(const Tensor &a, const Tensor &b);
Tensor pow(const Tensor &a, double b);
Tensor pow(double a, const Tensor &b);
Tensor maximum(const Tensor &a, const Tensor &b);
Tensor minimum(const Tensor &a, const Tensor &b);
Tensor maximum(const Tensor &a, double b);
Tensor minimum(const Tensor &a, double b);

// Comparisons give b8 tensors and no gradient.
Tensor operator==(const Tensor &a, const Tensor &b);
Tensor operator!=(const Tensor &a, const Tensor &b);
Tensor operator<(const Tensor &a, const Tensor &b);
Tensor operator<=(const Tensor &a, const Tensor &b);
Tensor operator>(const Tensor &a, const Tensor &b);
Tensor operator>=(const Tensor &a, const Tensor &b);
Tensor operator==(const Tensor &a, double b);
Tensor operator!=(const Tensor &a, double b);
Tensor operator<(const Tensor &a, double b);
Tensor operator<=(const Tensor &a, double b);
Tensor operator>(const Tensor &a, double b);
Tensor operator>=(const Tensor &a, double b);

// c ? a : b elementwise; c is b8 (or any dtype, nonzero = true).
Tensor where(const Tensor &c, const Tensor &a, const Tensor &b);

Tensor exp(const Tensor &x);
Tensor log(const Tensor &x);
Tensor log1p(const Tensor &x);
Tensor sqrt(const Tensor &x);
Tensor rsqrt(const Tensor &x);
Tensor abs(const Tensor &x);
Tensor sin(const Tensor &x);
Tensor cos(const Tensor &x);
Tensor tanh(const Tensor &x);
Tensor sigm(const Tensor &x); // logistic sigmoid
Tensor relu(const Tensor &x);
Tensor elu(const Tensor &x);      // alpha = 1
Tensor selu(const Tensor &x);     // Klambauer et al. constants
Tensor gelu(const Tensor &x);     // tanh approximation, as Knet
Tensor softplus(const Tensor &x); // log(1 + exp(x)), stable
Tensor swish(const Tensor &x);    // x * sigm(x)
Tensor sign(const Tensor &x);     // no gradient
// min(max(x, lo), hi); the gradient is dy strictly inside (lo, hi), else 0.
// Throws when lo > hi.
Tensor hardtanh(const Tensor &x, double lo = -1, double hi = 1);
// min(max(x / 6 + 1/2, 0), 1); the gradient is dy / 6 where |x| < 3, else 0.
Tensor hardsigmoid(const Tensor &x);

// Backward kernels: dx from the upstream gradient dy and the forward input x
// or output y, as named. Public because compiled adjoints call them.
Tensor relu_back(const Tensor &dy, const Tensor &y);
Tensor sigm_back(const Tensor &dy, const Tensor &y);
Tensor tanh_back(const Tensor &dy, const Tensor &y);
Tensor elu_back(const Tensor &dy, const Tensor &x);
Tensor selu_back(const Tensor &dy, const Tensor &x);
Tensor gelu_back(const Tensor &dy, const Tensor &x);
Tensor softplus_back(const Tensor &dy, const Tensor &x);
Tensor swish_back(const Tensor &dy, const Tensor &x);

Tensor zeros_like(const Tensor &x);
Tensor ones_like(const Tensor &x);

// In-place updates (not differentiable; an error on a tensor a tape records).
void copy_(Tensor &dst, const Tensor &src); // src broadcasts to dst
void fill_(Tensor &dst, double value);
void add_(Tensor &dst, const Tensor &src,
          double alpha = 1.0); // dst += alpha*src
void mul_(Tensor &dst, double s);

} // namespace knet
