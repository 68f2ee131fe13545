// std:: math on scalars lowers to math and arith ops.
// RUN: %knetc --emit=ir %s | FileCheck %s
#include <knet/knet.h>
#include <algorithm>
#include <cmath>
using namespace knet;

// CHECK-LABEL: func.func @schedule(
KNET_COMPILE double schedule(double t, int step) {
  // CHECK: math.exp
  // CHECK: math.sqrt
  // CHECK: math.powf
  // CHECK: math.tanh
  // CHECK: math.absf
  // CHECK: math.log
  // CHECK: arith.maximumf
  // CHECK: arith.minsi
  // CHECK: math.cos
  double a = std::exp(-t) + std::sqrt(t) + std::pow(t, 2.0) + std::tanh(t);
  double b = std::log(1.0 + std::abs(t)) + std::max(a, 0.0);
  int c = std::min(step, 10);
  return a + b + c + std::cos(t);
}
