// The LSTM cell, Knet's charlm cell: its forward elementwise work is one
// kernel, and the elementwise work of its adjoint at most two.
// RUN: %knet-opt %s -knet-autodiff -canonicalize -cse -knet-fuse | FileCheck %s

// CHECK-LABEL: func.func @cell(
// CHECK: knet.matmul
// CHECK: knet.chunk
// CHECK: %[[K:.*]]:2 = knet.fused(
// CHECK: } fallback {
// CHECK-COUNT-3: knet.sigm
// CHECK-NOT: knet.fused
// CHECK: return %[[K]]#{{[01]}}, %[[K]]#{{[01]}}

// CHECK-LABEL: func.func @cell_grad(
// In the adjoint the forward's and the reverse sweep's elementwise work fuse
// into one kernel: the cell state's gradient summed to c0's shape, with h, c
// and the four gate gradients as its elementwise results (one pass; the
// chain the sum reads is not computed a second time). Then the library
// calls.
// CHECK: knet.matmul
// CHECK: %[[G:.*]]:7 = knet.fused({{.*}}) reduce sum_to
// CHECK-SAME: -> (tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>)
// CHECK: knet.yield %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : f32, f32, f32, f32, f32, f32, f32
// CHECK: } fallback {
// CHECK: knet.yield {{.*}} : tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>
// CHECK-NOT: knet.fused
// CHECK: knet.concat
// CHECK-NOT: knet.fused
// CHECK: knet.matmul
// CHECK-NOT: knet.fused
// CHECK: return
func.func @cell(%w: tensor<*xf32>, %b: tensor<*xf32>, %xh: tensor<*xf32>,
                %c0: tensor<*xf32>) -> (tensor<*xf32>, tensor<*xf32>) {
  %i0 = arith.constant 0 : index
  %i1 = arith.constant 1 : index
  %i2 = arith.constant 2 : index
  %i3 = arith.constant 3 : index
  %mm = knet.matmul %xh, %w : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  %gates = knet.add %mm, %b : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  %g = knet.chunk %gates, 4 dim 1 : tensor<*xf32> -> !knet.list<tensor<*xf32>>
  %g0 = knet.list_get %g[%i0] : !knet.list<tensor<*xf32>>
  %g1 = knet.list_get %g[%i1] : !knet.list<tensor<*xf32>>
  %g2 = knet.list_get %g[%i2] : !knet.list<tensor<*xf32>>
  %g3 = knet.list_get %g[%i3] : !knet.list<tensor<*xf32>>
  %in = knet.sigm %g0 : tensor<*xf32>
  %forget = knet.sigm %g1 : tensor<*xf32>
  %out = knet.sigm %g2 : tensor<*xf32>
  %u = knet.tanh %g3 : tensor<*xf32>
  %fc = knet.mul %forget, %c0 : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  %iu = knet.mul %in, %u : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  %c = knet.add %fc, %iu : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  %tc = knet.tanh %c : tensor<*xf32>
  %h = knet.mul %out, %tc : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  return %h, %c : tensor<*xf32>, tensor<*xf32>
}
