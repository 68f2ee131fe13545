// Lambdas defined and called in a compiled function are inlined: captures
// by reference read the variable when called, captures by copy (and init
// captures) the value it had when the lambda was made.
// RUN: %knetc --emit=ir %s | FileCheck %s
// RUN: %knetc --emit=ir %s | %knet-opt | FileCheck %s
#include <knet/knet.h>
using namespace knet;

// CHECK-LABEL: func.func @closures(
// CHECK-SAME: %[[X:[^:]*]]: tensor<*xf32> {knet.name = "x"}, %[[W:[^:]*]]: tensor<*xf32>
// f, by reference: s is 3 when it is called.
// CHECK: %[[M:.*]] = knet.matmul %[[X]], %[[W]]
// CHECK: %[[S3:.*]] = knet.constant dense<3.000000e+00>
// CHECK: %[[T:.*]] = knet.mul %[[M]], %[[S3]]
// CHECK: %[[H:.*]] = knet.tanh %[[T]]
// g, by copy: s was 0.5 when it was made (its argument f(x) saw 3).
// CHECK: %[[S05:.*]] = knet.constant dense<5.000000e-01>
// CHECK: knet.mul %[[H]], %[[S05]]
KNET_COMPILE Tensor closures(const Tensor &x, const Tensor &w) {
  double s = 0.5;
  auto f = [&](const Tensor &h) { return tanh(matmul(h, w) * s); };
  auto g = [s](const Tensor &h) { return h * s; };
  s = 3.0;
  return sum(g(f(x)));
}

// A lambda that writes a variable it captures by reference, called in a
// loop: the variable is carried by the loop. Generic lambdas, init
// captures and a lambda called where it is made compile too.
// CHECK-LABEL: func.func @accumulate(
// CHECK: scf.for {{.*}} iter_args(%{{.*}} = %{{.*}}) -> (tensor<*xf32>)
// CHECK: knet.add
// CHECK: scf.yield
KNET_COMPILE Tensor accumulate(const Tensor &x, int n) {
  Tensor total = x * 0.0;
  auto add = [&](const Tensor &t) { total = total + t; };
  for (int i = 0; i < n; ++i)
    add(x);
  auto scaled = [k = n + 1](auto t) { return t * static_cast<double>(k); };
  return sum(scaled(total)) + [&] { return sum(x); }();
}
