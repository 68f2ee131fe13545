// Round trip of losses, convolution, pooling, batchnorm and dropout.
// RUN: %knet-opt %s | %knet-opt | FileCheck %s
// RUN: %knet-opt %s -mlir-print-op-generic | %knet-opt | FileCheck %s

// CHECK-LABEL: func.func @losses
func.func @losses(%s: tensor<?x10xf32>, %l: tensor<?xi64>, %p: tensor<?x1xf32>, %dy: tensor<f32>) {
  // CHECK-NEXT: knet.nll %{{.*}}, %{{.*}} : tensor<?x10xf32>, tensor<?xi64> -> tensor<f32>
  %0 = knet.nll %s, %l : tensor<?x10xf32>, tensor<?xi64> -> tensor<f32>
  // CHECK-NEXT: knet.nll %{{.*}}, %{{.*}} {average = false} : tensor<?x10xf32>, tensor<?xi64> -> tensor<f32>
  %1 = knet.nll %s, %l {average = false} : tensor<?x10xf32>, tensor<?xi64> -> tensor<f32>
  // CHECK-NEXT: knet.nll_back %{{.*}}, %{{.*}}, %{{.*}} : tensor<f32>, tensor<?x10xf32>, tensor<?xi64> -> tensor<?x10xf32>
  %2 = knet.nll_back %dy, %s, %l : tensor<f32>, tensor<?x10xf32>, tensor<?xi64> -> tensor<?x10xf32>
  // CHECK-NEXT: knet.accuracy %{{.*}}, %{{.*}} : tensor<?x10xf32>, tensor<?xi64>
  %3 = knet.accuracy %s, %l : tensor<?x10xf32>, tensor<?xi64>
  // CHECK-NEXT: knet.bce %{{.*}}, %{{.*}} : tensor<?x1xf32>, tensor<?x1xf32> -> tensor<f32>
  %4 = knet.bce %p, %p : tensor<?x1xf32>, tensor<?x1xf32> -> tensor<f32>
  // CHECK-NEXT: knet.logistic %{{.*}}, %{{.*}} : tensor<?x1xf32>, tensor<?x1xf32> -> tensor<f32>
  %5 = knet.logistic %p, %p : tensor<?x1xf32>, tensor<?x1xf32> -> tensor<f32>
  // CHECK-NEXT: knet.bce_back %{{.*}}, %{{.*}}, %{{.*}} : tensor<f32>, tensor<?x1xf32>, tensor<?x1xf32> -> tensor<?x1xf32>
  %6 = knet.bce_back %dy, %p, %p : tensor<f32>, tensor<?x1xf32>, tensor<?x1xf32> -> tensor<?x1xf32>
  // CHECK-NEXT: knet.logistic_back %{{.*}}, %{{.*}}, %{{.*}} : tensor<f32>, tensor<?x1xf32>, tensor<?x1xf32> -> tensor<?x1xf32>
  %7 = knet.logistic_back %dy, %p, %p : tensor<f32>, tensor<?x1xf32>, tensor<?x1xf32> -> tensor<?x1xf32>
  return
}

// CHECK-LABEL: func.func @conv
func.func @conv(%x: tensor<?x1x28x28xf32>, %w: tensor<8x1x5x5xf32>, %g: tensor<8x2x3x3xf32>,
                %x4: tensor<2x4x9x9xf32>, %dy: tensor<?x8x24x24xf32>) {
  // CHECK-NEXT: knet.conv2d %{{.*}}, %{{.*}} : tensor<?x1x28x28xf32>, tensor<8x1x5x5xf32> -> tensor<?x8x24x24xf32>
  %0 = knet.conv2d %x, %w : tensor<?x1x28x28xf32>, tensor<8x1x5x5xf32> -> tensor<?x8x24x24xf32>
  // CHECK-NEXT: knet.conv2d %{{.*}}, %{{.*}} padding 1 stride 2 dilation 2 groups 2 : tensor<2x4x9x9xf32>, tensor<8x2x3x3xf32> -> tensor<2x8x4x4xf32>
  %1 = knet.conv2d %x4, %g padding 1 stride 2 dilation 2 groups 2 : tensor<2x4x9x9xf32>, tensor<8x2x3x3xf32> -> tensor<2x8x4x4xf32>
  // CHECK-NEXT: knet.conv2d_back_data %{{.*}}, %{{.*}} like %{{.*}} : tensor<?x8x24x24xf32>, tensor<8x1x5x5xf32>, tensor<?x1x28x28xf32> -> tensor<?x1x28x28xf32>
  %2 = knet.conv2d_back_data %dy, %w like %x : tensor<?x8x24x24xf32>, tensor<8x1x5x5xf32>, tensor<?x1x28x28xf32> -> tensor<?x1x28x28xf32>
  // CHECK-NEXT: knet.conv2d_back_filter %{{.*}}, %{{.*}} like %{{.*}} : tensor<?x8x24x24xf32>, tensor<?x1x28x28xf32>, tensor<8x1x5x5xf32> -> tensor<8x1x5x5xf32>
  %3 = knet.conv2d_back_filter %dy, %x like %w : tensor<?x8x24x24xf32>, tensor<?x1x28x28xf32>, tensor<8x1x5x5xf32> -> tensor<8x1x5x5xf32>
  // CHECK-NEXT: knet.deconv2d %{{.*}}, %{{.*}} stride 2 : tensor<?x8x24x24xf32>, tensor<8x1x5x5xf32> -> tensor<?x1x51x51xf32>
  %4 = knet.deconv2d %dy, %w stride 2 : tensor<?x8x24x24xf32>, tensor<8x1x5x5xf32> -> tensor<?x1x51x51xf32>
  return
}

// CHECK-LABEL: func.func @pool
func.func @pool(%x: tensor<?x8x24x24xf32>, %y: tensor<?x8x12x12xf32>) {
  // CHECK-NEXT: knet.pool %{{.*}} : tensor<?x8x24x24xf32> -> tensor<?x8x12x12xf32>
  %0 = knet.pool %x : tensor<?x8x24x24xf32> -> tensor<?x8x12x12xf32>
  // CHECK-NEXT: knet.pool %{{.*}} window 3 stride 1 padding 1 mode avg : tensor<?x8x24x24xf32> -> tensor<?x8x24x24xf32>
  %1 = knet.pool %x window 3 stride 1 padding 1 mode avg : tensor<?x8x24x24xf32> -> tensor<?x8x24x24xf32>
  // CHECK-NEXT: knet.pool_back %{{.*}}, %{{.*}}, %{{.*}} : tensor<?x8x12x12xf32>, tensor<?x8x12x12xf32>, tensor<?x8x24x24xf32> -> tensor<?x8x24x24xf32>
  %2 = knet.pool_back %y, %0, %x : tensor<?x8x12x12xf32>, tensor<?x8x12x12xf32>, tensor<?x8x24x24xf32> -> tensor<?x8x24x24xf32>
  // CHECK-NEXT: knet.unpool %{{.*}} : tensor<?x8x12x12xf32> -> tensor<?x8x24x24xf32>
  %3 = knet.unpool %y : tensor<?x8x12x12xf32> -> tensor<?x8x24x24xf32>
  return
}

// CHECK-LABEL: func.func @norm
func.func @norm(%x: tensor<?x16xf32>, %m: !knet.moments, %p: tensor<32xf32>, %dy: tensor<?x16xf32>) {
  // CHECK-NEXT: knet.batchnorm %{{.*}}, %{{.*}}, %{{.*}} : tensor<?x16xf32>, tensor<32xf32> -> tensor<?x16xf32>
  %0 = knet.batchnorm %x, %m, %p : tensor<?x16xf32>, tensor<32xf32> -> tensor<?x16xf32>
  // CHECK-NEXT: knet.batchnorm %{{.*}}, %{{.*}}, %{{.*}} {eps = 1.000000e-03 : f64, momentum = 2.000000e-01 : f64, training = true} : tensor<?x16xf32>, tensor<32xf32> -> tensor<?x16xf32>
  %1 = knet.batchnorm %x, %m, %p {training = true, eps = 1.0e-3 : f64, momentum = 0.2 : f64} : tensor<?x16xf32>, tensor<32xf32> -> tensor<?x16xf32>
  // CHECK-NEXT: knet.batchnorm_back %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<?x16xf32>, tensor<?x16xf32>, tensor<32xf32> -> tensor<?x16xf32>, tensor<32xf32>
  %2:2 = knet.batchnorm_back %dy, %x, %m, %p : tensor<?x16xf32>, tensor<?x16xf32>, tensor<32xf32> -> tensor<?x16xf32>, tensor<32xf32>
  // CHECK-NEXT: knet.dropout %{{.*}} p 5.000000e-01 : tensor<?x16xf32>
  %3 = knet.dropout %x p 0.5 : tensor<?x16xf32>
  // CHECK-NEXT: knet.dropout_back %{{.*}}, %{{.*}} p 5.000000e-01 : tensor<?x16xf32>, tensor<?x16xf32> -> tensor<?x16xf32>
  %4 = knet.dropout_back %dy, %3 p 0.5 : tensor<?x16xf32>, tensor<?x16xf32> -> tensor<?x16xf32>
  return
}
