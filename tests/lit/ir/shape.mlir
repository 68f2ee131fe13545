// Round trip of gather, join, split and view ops.
// RUN: %knet-opt %s | %knet-opt | FileCheck %s
// RUN: %knet-opt %s -mlir-print-op-generic | %knet-opt | FileCheck %s

// CHECK-LABEL: func.func @gather_join
func.func @gather_join(%t: tensor<100x16xf32>, %ids: tensor<?x5xi64>, %a: tensor<2x3xf32>, %b: tensor<2x?xf32>) {
  // CHECK-NEXT: knet.embedding %{{.*}}, %{{.*}} : tensor<100x16xf32>, tensor<?x5xi64> -> tensor<?x5x16xf32>
  %0 = knet.embedding %t, %ids : tensor<100x16xf32>, tensor<?x5xi64> -> tensor<?x5x16xf32>
  // CHECK-NEXT: knet.embedding_back %{{.*}}, %{{.*}} like %{{.*}} : tensor<?x5x16xf32>, tensor<?x5xi64>, tensor<100x16xf32> -> tensor<100x16xf32>
  %1 = knet.embedding_back %0, %ids like %t : tensor<?x5x16xf32>, tensor<?x5xi64>, tensor<100x16xf32> -> tensor<100x16xf32>
  // CHECK-NEXT: knet.concat %{{.*}}, %{{.*}} dim 1 : tensor<2x3xf32>, tensor<2x?xf32> -> tensor<2x?xf32>
  %2 = knet.concat %a, %b dim 1 : tensor<2x3xf32>, tensor<2x?xf32> -> tensor<2x?xf32>
  // CHECK-NEXT: knet.concat %{{.*}}, %{{.*}} dim 0 : tensor<2x3xf32>, tensor<2x3xf32> -> tensor<4x3xf32>
  %3 = knet.concat %a, %a dim 0 : tensor<2x3xf32>, tensor<2x3xf32> -> tensor<4x3xf32>
  // CHECK-NEXT: knet.stack %{{.*}}, %{{.*}}, %{{.*}} dim -1 : tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32> -> tensor<2x3x3xf32>
  %4 = knet.stack %a, %a, %a dim -1 : tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32> -> tensor<2x3x3xf32>
  // CHECK-NEXT: knet.chunk %{{.*}}, 3 dim 1 : tensor<2x?xf32> -> !knet.list<tensor<2x?xf32>>
  %5 = knet.chunk %b, 3 dim 1 : tensor<2x?xf32> -> !knet.list<tensor<2x?xf32>>
  return
}

// CHECK-LABEL: func.func @views
func.func @views(%x: tensor<?x1x28x28xf32>, %m: tensor<3x4xf32>, %n: i64, %i: i64, %j: i64) {
  // CHECK-NEXT: knet.mat %{{.*}} : tensor<?x1x28x28xf32> -> tensor<?x784xf32>
  %0 = knet.mat %x : tensor<?x1x28x28xf32> -> tensor<?x784xf32>
  // CHECK-NEXT: knet.reshape %{{.*}}(%{{.*}}, %{{.*}}) : tensor<3x4xf32> -> tensor<?x?xf32>
  %1 = knet.reshape %m(%n, %n) : tensor<3x4xf32> -> tensor<?x?xf32>
  // CHECK-NEXT: knet.transpose %{{.*}}, 0, 1 : tensor<3x4xf32> -> tensor<4x3xf32>
  %2 = knet.transpose %m, 0, 1 : tensor<3x4xf32> -> tensor<4x3xf32>
  // CHECK-NEXT: knet.permute %{{.*}} [0, 2, 3, 1] : tensor<?x1x28x28xf32> -> tensor<?x28x28x1xf32>
  %3 = knet.permute %x [0, 2, 3, 1] : tensor<?x1x28x28xf32> -> tensor<?x28x28x1xf32>
  // CHECK-NEXT: knet.slice %{{.*}} dim 1 from %{{.*}} to %{{.*}} : tensor<3x4xf32> -> tensor<3x?xf32>
  %4 = knet.slice %m dim 1 from %i to %j : tensor<3x4xf32> -> tensor<3x?xf32>
  // CHECK-NEXT: knet.slice %{{.*}} dim 0 from %{{.*}} to %{{.*}} step 2 : tensor<3x4xf32> -> tensor<?x4xf32>
  %5 = knet.slice %m dim 0 from %i to %j step 2 : tensor<3x4xf32> -> tensor<?x4xf32>
  // CHECK-NEXT: knet.slice_back %{{.*}} like %{{.*}} dim 1 from %{{.*}} to %{{.*}} : tensor<3x?xf32>, tensor<3x4xf32> -> tensor<3x4xf32>
  %6 = knet.slice_back %4 like %m dim 1 from %i to %j : tensor<3x?xf32>, tensor<3x4xf32> -> tensor<3x4xf32>
  // CHECK-NEXT: knet.select %{{.*}} dim 0 index %{{.*}} : tensor<3x4xf32> -> tensor<4xf32>
  %7 = knet.select %m dim 0 index %i : tensor<3x4xf32> -> tensor<4xf32>
  // CHECK-NEXT: knet.select_back %{{.*}} like %{{.*}} dim 0 index %{{.*}} : tensor<4xf32>, tensor<3x4xf32> -> tensor<3x4xf32>
  %8 = knet.select_back %7 like %m dim 0 index %i : tensor<4xf32>, tensor<3x4xf32> -> tensor<3x4xf32>
  // CHECK-NEXT: knet.squeeze %{{.*}} dim 1 : tensor<?x1x28x28xf32> -> tensor<?x28x28xf32>
  %9 = knet.squeeze %x dim 1 : tensor<?x1x28x28xf32> -> tensor<?x28x28xf32>
  // CHECK-NEXT: knet.unsqueeze %{{.*}} dim -1 : tensor<3x4xf32> -> tensor<3x4x1xf32>
  %10 = knet.unsqueeze %m dim -1 : tensor<3x4xf32> -> tensor<3x4x1xf32>
  return
}
