// An in-place change of a tensor is an error in either mode.
// RUN: not %knetc --emit=ir %s 2>&1 | FileCheck %s
#include <knet/knet.h>
using namespace knet;

KNET_COMPILE Tensor accumulate(Tensor x, Tensor y) {
  // CHECK: inplace.cpp:[[@LINE+2]]:3: error: in-place change of a tensor: 'knet::add_' writes into its argument
  // CHECK-NEXT: {{^}}{{ +}}[[@LINE+1]] |   add_(x, y);
  add_(x, y);
  return x;
}

KNET_COMPILE Tensor poke(Tensor x) {
  // CHECK: inplace.cpp:[[@LINE+1]]:5: error: in-place change of a tensor: 'data()' exposes the tensor's memory for writing
  x.data<float>()[0] = 1.0f;
  return x;
}

KNET_COMPILE Tensor fill(Tensor x) {
  // CHECK: inplace.cpp:[[@LINE+1]]:3: error: in-place change of a tensor: 'knet::fill_'
  fill_(x, 0.0);
  return x;
}
