// Constant options that the runtime would reject are errors at the user's
// line (the rules are the runtime's own, knet/ops/conv.h), not an IR that
// fails to verify.
// RUN: not %knetc %s 2>&1 | FileCheck %s
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
