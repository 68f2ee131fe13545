// Round trip of linear algebra, reductions, softmax and the adjoint helpers.
// RUN: %knet-opt %s | %knet-opt | FileCheck %s
// RUN: %knet-opt %s -mlir-print-op-generic | %knet-opt | FileCheck %s

// CHECK-LABEL: func.func @linalg
func.func @linalg(%x: tensor<?x784xf32>, %w: tensor<784x64xf32>, %wt: tensor<64x784xf32>,
                  %b: tensor<64xf32>, %ba: tensor<7x?x3x5xf64>, %bb: tensor<5x2xf64>) {
  // CHECK-NEXT: knet.matmul %{{.*}}, %{{.*}} : tensor<?x784xf32>, tensor<784x64xf32> -> tensor<?x64xf32>
  %0 = knet.matmul %x, %w : tensor<?x784xf32>, tensor<784x64xf32> -> tensor<?x64xf32>
  // CHECK-NEXT: knet.matmul %{{.*}}, %{{.*}} : tensor<7x?x3x5xf64>, tensor<5x2xf64> -> tensor<7x?x3x2xf64>
  %1 = knet.matmul %ba, %bb : tensor<7x?x3x5xf64>, tensor<5x2xf64> -> tensor<7x?x3x2xf64>
  // CHECK-NEXT: knet.linear %{{.*}}, %{{.*}}, %{{.*}} : tensor<?x784xf32>, tensor<64x784xf32>, tensor<64xf32> -> tensor<?x64xf32>
  %2 = knet.linear %x, %wt, %b : tensor<?x784xf32>, tensor<64x784xf32>, tensor<64xf32> -> tensor<?x64xf32>
  // CHECK-NEXT: knet.linear %{{.*}}, %{{.*}} : tensor<?x784xf32>, tensor<64x784xf32> -> tensor<?x64xf32>
  %3 = knet.linear %x, %wt : tensor<?x784xf32>, tensor<64x784xf32> -> tensor<?x64xf32>
  return
}

// CHECK-LABEL: func.func @reductions
func.func @reductions(%x: tensor<?x10xf32>, %u: tensor<*xf32>, %i: tensor<2x3xi64>) {
  // CHECK-NEXT: knet.sum %{{.*}} : tensor<?x10xf32> -> tensor<f32>
  %0 = knet.sum %x : tensor<?x10xf32> -> tensor<f32>
  // CHECK-NEXT: knet.sum %{{.*}} dims [1] keepdim : tensor<?x10xf32> -> tensor<?x1xf32>
  %1 = knet.sum %x dims [1] keepdim : tensor<?x10xf32> -> tensor<?x1xf32>
  // CHECK-NEXT: knet.mean %{{.*}} dims [0] : tensor<?x10xf32> -> tensor<10xf32>
  %2 = knet.mean %x dims [0] : tensor<?x10xf32> -> tensor<10xf32>
  // CHECK-NEXT: knet.max %{{.*}} dims [-1] : tensor<?x10xf32> -> tensor<?xf32>
  %3 = knet.max %x dims [-1] : tensor<?x10xf32> -> tensor<?xf32>
  // CHECK-NEXT: knet.min %{{.*}} dims [0, 1] keepdim : tensor<2x3xi64> -> tensor<1x1xi64>
  %4 = knet.min %i dims [0, 1] keepdim : tensor<2x3xi64> -> tensor<1x1xi64>
  // CHECK-NEXT: knet.sum %{{.*}} dims [3] : tensor<*xf32> -> tensor<*xf32>
  %5 = knet.sum %u dims [3] : tensor<*xf32> -> tensor<*xf32>
  // CHECK-NEXT: knet.argmax %{{.*}} dim 1 : tensor<?x10xf32> -> tensor<?xi64>
  %6 = knet.argmax %x dim 1 : tensor<?x10xf32> -> tensor<?xi64>
  // CHECK-NEXT: knet.argmax %{{.*}} dim 1 keepdim : tensor<?x10xf32> -> tensor<?x1xi64>
  %7 = knet.argmax %x dim 1 keepdim : tensor<?x10xf32> -> tensor<?x1xi64>
  // CHECK-NEXT: knet.logsumexp %{{.*}} dim 1 : tensor<?x10xf32> -> tensor<?xf32>
  %8 = knet.logsumexp %x dim 1 : tensor<?x10xf32> -> tensor<?xf32>
  // CHECK-NEXT: knet.softmax %{{.*}} dim 1 : tensor<?x10xf32>
  %9 = knet.softmax %x dim 1 : tensor<?x10xf32>
  // CHECK-NEXT: knet.logsoftmax %{{.*}} dim -1 : tensor<?x10xf32>
  %10 = knet.logsoftmax %x dim -1 : tensor<?x10xf32>
  // CHECK-NEXT: knet.softmax_back %{{.*}}, %{{.*}} dim 1 : tensor<?x10xf32>
  %11 = knet.softmax_back %x, %9 dim 1 : tensor<?x10xf32>
  // CHECK-NEXT: knet.logsoftmax_back %{{.*}}, %{{.*}} dim 1 : tensor<?x10xf32>
  %12 = knet.logsoftmax_back %x, %10 dim 1 : tensor<?x10xf32>
  return
}

// CHECK-LABEL: func.func @adjoint_helpers
func.func @adjoint_helpers(%dy: tensor<?x4xf32>, %b: tensor<4xf32>, %x: tensor<2x2xf32>) {
  // CHECK-NEXT: knet.sum_to %{{.*}} like %{{.*}} : tensor<?x4xf32>, tensor<4xf32> -> tensor<4xf32>
  %0 = knet.sum_to %dy like %b : tensor<?x4xf32>, tensor<4xf32> -> tensor<4xf32>
  // CHECK-NEXT: knet.broadcast_to %{{.*}} like %{{.*}} : tensor<4xf32>, tensor<?x4xf32> -> tensor<?x4xf32>
  %1 = knet.broadcast_to %b like %dy : tensor<4xf32>, tensor<?x4xf32> -> tensor<?x4xf32>
  // CHECK-NEXT: knet.reshape_like %{{.*}} like %{{.*}} : tensor<4xf32>, tensor<2x2xf32> -> tensor<2x2xf32>
  %2 = knet.reshape_like %b like %x : tensor<4xf32>, tensor<2x2xf32> -> tensor<2x2xf32>
  return
}
