// Constant options that the runtime would reject are errors at the user's
// line (the rules are the runtime's own, knet/ops/conv.h), not an IR that
// fails to verify.
// RUN: not %knetc %s -- -ferror-limit=0 2>&1 | FileCheck %s
#include <knet/knet.h>
using namespace knet;

KNET_COMPILE Tensor padding(Tensor x, Tensor w) {
  // CHECK: invalid-options.cpp:[[@LINE+1]]:23: error: 'conv2d': padding must be >= 0
  return conv2d(x, w, {.padding = -1});
}
KNET_COMPILE Tensor stride(Tensor x, Tensor w) {
  // CHECK: invalid-options.cpp:[[@LINE+1]]:23: error: 'conv2d': stride must be >= 1
  return conv2d(x, w, {.stride = 0});
}
KNET_COMPILE Tensor dilation(Tensor x, Tensor w) {
  // CHECK: invalid-options.cpp:[[@LINE+1]]:25: error: 'deconv2d': dilation must be >= 1
  return deconv2d(x, w, {.dilation = -3});
}
KNET_COMPILE Tensor groups(Tensor x, Tensor w) {
  // CHECK: invalid-options.cpp:[[@LINE+1]]:23: error: 'conv2d': groups must be >= 1
  return conv2d(x, w, {.groups = 0});
}
KNET_COMPILE Tensor window(Tensor x) {
  // CHECK: invalid-options.cpp:[[@LINE+1]]:18: error: 'pool': window must be >= 1
  return pool(x, {.window = 0});
}
KNET_COMPILE Tensor pool_stride(Tensor x) {
  // CHECK: invalid-options.cpp:[[@LINE+1]]:18: error: 'pool': stride must be >= 0 (0: the window)
  return pool(x, {.stride = -2});
}
KNET_COMPILE Tensor pool_padding(Tensor x) {
  // CHECK: invalid-options.cpp:[[@LINE+1]]:20: error: 'unpool': padding must be smaller than the window
  return unpool(x, {.window = 2, .padding = 2});
}
KNET_COMPILE Tensor bn_eps(Tensor x, Moments &m, Tensor p) {
  // CHECK: invalid-options.cpp:[[@LINE+1]]:29: error: 'batchnorm': eps must be > 0, got -1
  return batchnorm(x, m, p, {.eps = -1.0});
}
KNET_COMPILE Tensor bn_momentum(Tensor x, Moments &m, Tensor p) {
  // CHECK: invalid-options.cpp:[[@LINE+1]]:29: error: 'batchnorm': momentum must be in [0, 1], got 2
  return batchnorm(x, m, p, {.momentum = 2.0});
}
KNET_COMPILE Tensor drop(Tensor x) {
  // CHECK: invalid-options.cpp:[[@LINE+1]]:21: error: 'dropout': p must be in [0, 1), got 1.5
  return dropout(x, 1.5);
}
KNET_COMPILE Tensor chunks(Tensor x) {
  // CHECK: invalid-options.cpp:[[@LINE+1]]:19: error: 'chunk': number of chunks must be positive, got 0
  return chunk(x, 0, 1)[0];
}

// The rules of shapes and dims that hold whatever the tensor holds
// (knet/checks.h), on constant arguments.
KNET_COMPILE Tensor two_inferred(Tensor x) {
  // CHECK: invalid-options.cpp:[[@LINE+1]]:20: error: 'Tensor::reshape': more than one -1 in [-1,-1]
  return x.reshape({-1, -1});
}
KNET_COMPILE Tensor negative_size(Tensor x, int64_t n) {
  // CHECK: invalid-options.cpp:[[@LINE+1]]:20: error: 'Tensor::reshape': negative dimension in [0,-3]
  return x.reshape({n, -3});
}
KNET_COMPILE Tensor repeated(Tensor x) {
  // CHECK: invalid-options.cpp:[[@LINE+1]]:20: error: 'Tensor::permute': repeated dimension in [0,-2]
  return x.permute({0, -2});
}
KNET_COMPILE Tensor out_of_range(Tensor x) {
  // CHECK: invalid-options.cpp:[[@LINE+1]]:20: error: 'Tensor::permute': dimension 2 out of range for rank 2 in [0,2]
  return x.permute({0, 2});
}
KNET_COMPILE Tensor twice(Tensor x) {
  // CHECK: invalid-options.cpp:[[@LINE+1]]:17: error: 'sum': dimension 1 given twice
  return sum(x, {1, 1});
}
KNET_COMPILE Tensor step(Tensor x) {
  // CHECK: invalid-options.cpp:[[@LINE+1]]:27: error: 'Tensor::slice': step must be positive, got 0
  return x.slice(0, 1, 4, 0);
}
KNET_COMPILE Tensor negative_shape(Tensor x) {
  // CHECK: invalid-options.cpp:[[@LINE+1]]:28: error: 'Tensor::zeros': negative dimension in shape [2,-3]
  return x + Tensor::zeros({2, -3});
}
KNET_COMPILE Tensor huge_shape(Tensor x) {
  // CHECK: invalid-options.cpp:[[@LINE+1]]:27: error: 'Tensor::ones': shape [4611686018427387904,4] has more elements than an int64 counts
  return x + Tensor::ones({int64_t(1) << 62, 4});
}
KNET_COMPILE Tensor data_count(Tensor x) {
  // CHECK: invalid-options.cpp:[[@LINE+1]]:54: error: 'Tensor::from': 3 values for shape [2,2] (4 elements)
  return x + Tensor::from<float>({1.0f, 2.0f, 3.0f}, {2, 2});
}
