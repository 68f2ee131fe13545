// Differentiating through an integer is an error in either mode: a value
// made an integer from float data flows back into float arithmetic.
// RUN: not %knetc --emit=ir %s 2>&1 | FileCheck %s
#include <knet/knet.h>
using namespace knet;

KNET_COMPILE Tensor rounded(Tensor x) {
  Tensor i = x.to(DType::i64);
  // CHECK: integer-grad.cpp:[[@LINE+2]]:12: error: gradient through an integer
  // CHECK: integer-grad.cpp:[[@LINE-2]]:16: note: converted to an integer here
  return i * x;
}

KNET_COMPILE Tensor count(Tensor x) {
  int k = static_cast<int>(sum(x).item<float>());
  // CHECK: integer-grad.cpp:[[@LINE+2]]:14: error: gradient through an integer
  // CHECK: integer-grad.cpp:[[@LINE-2]]:28: note: converted to an integer here
  return x * k;
}

// Integers that never came from float data are fine.
KNET_COMPILE Tensor fine(Tensor x, int n) { return x * n; }
// CHECK-NOT: fine
