// std:: math on scalars lowers to math and arith ops.
// RUN: %knetc --emit=ir %s | FileCheck %s
// RUN: %knetc --emit=cpp %s -o %t.cpp
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

// Every std:: function of RuntimeOps.def (KNET_MATH) has a C++ form: the
// RUN line with --emit=cpp fails on a missing one.
// CHECK-LABEL: func.func @every_function(
KNET_COMPILE double every_function(double t) {
  double p = std::exp(t) + std::exp2(t) + std::expm1(t) + std::log(t) +
             std::log2(t) + std::log10(t) + std::log1p(t) + std::sqrt(t);
  double q = std::cbrt(t) + std::sin(t) + std::cos(t) + std::tan(t) +
             std::atan(t) + std::tanh(t) + std::erf(t) + std::floor(t);
  return p + q + std::ceil(t) + std::round(t) + std::trunc(t) + std::fabs(t) +
         std::atan2(t, p) + std::hypot(t, q) + std::pow(t, q);
}
