// Every op carries the C++ source location (FileLineColLoc).
// RUN: %knetc --emit=ir --print-locs %s | FileCheck %s
#include <knet/knet.h>
using namespace knet;

// CHECK-LABEL: func.func @f(
KNET_COMPILE Tensor f(Tensor x, int n) {
  // CHECK: knet.relu %{{.*}} : tensor<*xf32> loc("{{.*}}locations.cpp":[[@LINE+1]]:14)
  Tensor h = relu(x);
  // CHECK: scf.for {{.*}} {
  // CHECK: knet.exp %{{.*}} : tensor<*xf32> loc("{{.*}}locations.cpp":[[@LINE+3]]:9)
  // CHECK: knet.add {{.*}} loc("{{.*}}locations.cpp":[[@LINE+2]]:16)
  for (int i = 0; i < n; ++i)
    h = exp(h) + x;
  // CHECK: } loc("{{.*}}locations.cpp":[[@LINE-2]]:3)
  return h;
}
// CHECK-NOT: loc(unknown)
