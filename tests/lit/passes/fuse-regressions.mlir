// knet-fuse on inputs that once made invalid IR: the result must verify
// (knet-opt verifies after the pass) and keep the replaced semantics.
// RUN: %knet-opt %s -knet-fuse -split-input-file | FileCheck %s

// A bool sum_to cannot become a (float) reduction: it stays out of kernels,
// and the kernel it would have split does not move past it.
// CHECK-LABEL: func.func @bool_sum_to
// CHECK: knet.gt
// CHECK: knet.sum_to %{{.*}} like %{{.*}} : tensor<*xi1>
// CHECK: knet.fused
// CHECK: return
func.func @bool_sum_to(%x: tensor<*xf32>, %y: tensor<*xf32>, %l: tensor<*xi1>) -> (tensor<*xi1>, tensor<*xf32>) {
  %c = knet.gt %x, %y : tensor<*xf32>, tensor<*xf32> -> tensor<*xi1>
  %t = knet.sum_to %c like %l : tensor<*xi1>, tensor<*xi1> -> tensor<*xi1>
  %n = knet.where %c, %x, %y : tensor<*xi1>, tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  %m = knet.exp %n : tensor<*xf32>
  return %t, %m : tensor<*xi1>, tensor<*xf32>
}

// -----

// Ranked types: a result narrower than the inputs' broadcast shape cannot
// be a kernel result; no kernel is made rather than an invalid one.
// CHECK-LABEL: func.func @narrow
// CHECK-NOT: knet.fused
// CHECK: knet.exp
// CHECK: knet.add
func.func @narrow(%x: tensor<?x4xf32>, %b: tensor<4xf32>) -> (tensor<4xf32>, tensor<?x4xf32>) {
  %a = knet.exp %b : tensor<4xf32>
  %c = knet.add %x, %a : tensor<?x4xf32>, tensor<4xf32> -> tensor<?x4xf32>
  return %a, %c : tensor<4xf32>, tensor<?x4xf32>
}

// -----

// 0-d chains: each member's float inputs are listed (cones) so that the
// run time can keep a chain of 0-d f64 scalars in f64.
// CHECK-LABEL: func.func @scalars
// CHECK: knet.fused(%{{.*}}, %{{.*}}) cones [array<i64: 0>]
func.func @scalars(%x: tensor<*xf32>, %s: tensor<*xf32>) -> tensor<*xf32> {
  %0 = knet.mul %s, %s : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  %1 = knet.div %0, %s : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  %2 = knet.mul %x, %1 : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  return %2 : tensor<*xf32>
}
