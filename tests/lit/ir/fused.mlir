// Round trip of knet.fused kernels.
// RUN: %knet-opt %s | %knet-opt | FileCheck %s
// RUN: %knet-opt %s -mlir-print-op-generic | %knet-opt | FileCheck %s

// CHECK-LABEL: func.func @elementwise
func.func @elementwise(%x: tensor<?x64xf32>, %b: tensor<64xf32>) -> tensor<?x64xf32> {
  // CHECK-NEXT: %[[R:.*]] = knet.fused(%{{.*}}, %{{.*}}) : (tensor<?x64xf32>, tensor<64xf32>) -> tensor<?x64xf32> {
  // CHECK-NEXT: ^bb0(%[[A:.*]]: f32, %[[B:.*]]: f32):
  // CHECK-NEXT:   %[[S:.*]] = arith.addf %[[A]], %[[B]] : f32
  // CHECK-NEXT:   %[[Z:.*]] = arith.constant 0.000000e+00 : f32
  // CHECK-NEXT:   %[[M:.*]] = arith.maximumf %[[S]], %[[Z]] : f32
  // CHECK-NEXT:   knet.yield %[[M]] : f32
  // CHECK-NEXT: }
  %r = knet.fused(%x, %b) : (tensor<?x64xf32>, tensor<64xf32>) -> tensor<?x64xf32> {
  ^bb0(%a: f32, %c: f32):
    %s = arith.addf %a, %c : f32
    %z = arith.constant 0.0 : f32
    %m = arith.maximumf %s, %z : f32
    knet.yield %m : f32
  }
  return %r : tensor<?x64xf32>
}

// CHECK-LABEL: func.func @reduction
func.func @reduction(%x: tensor<?x10xf32>, %y: tensor<?x10xf32>) -> (tensor<f32>, tensor<?x1xf32>) {
  // CHECK: knet.fused(%{{.*}}, %{{.*}}) reduce sum : (tensor<?x10xf32>, tensor<?x10xf32>) -> tensor<f32> {
  %r = knet.fused(%x, %y) reduce sum : (tensor<?x10xf32>, tensor<?x10xf32>) -> tensor<f32> {
  ^bb0(%a: f32, %b: f32):
    %d = arith.subf %a, %b : f32
    %s = arith.mulf %d, %d : f32
    knet.yield %s : f32
  }
  // CHECK: knet.fused(%{{.*}}) reduce max dims [1] keepdim : (tensor<?x10xf32>) -> tensor<?x1xf32> {
  %m = knet.fused(%x) reduce max dims [1] keepdim : (tensor<?x10xf32>) -> tensor<?x1xf32> {
  ^bb0(%a: f32):
    %e = math.exp %a : f32
    knet.yield %e : f32
  }
  return %r, %m : tensor<f32>, tensor<?x1xf32>
}

// Two results, a comparison and a select; no inputs.
// CHECK-LABEL: func.func @multi
func.func @multi(%x: tensor<4xf64>) -> (tensor<4xf64>, tensor<4xi1>) {
  // CHECK: knet.fused(%{{.*}}) : (tensor<4xf64>) -> (tensor<4xf64>, tensor<4xi1>) {
  %r:2 = knet.fused(%x) : (tensor<4xf64>) -> (tensor<4xf64>, tensor<4xi1>) {
  ^bb0(%a: f64):
    %z = arith.constant 0.0 : f64
    %c = arith.cmpf ogt, %a, %z : f64
    %s = arith.select %c, %a, %z : f64
    knet.yield %s, %c : f64, i1
  }
  // CHECK: knet.fused() : () -> tensor<f32> {
  %k = knet.fused() : () -> tensor<f32> {
    %one = arith.constant 1.0 : f32
    knet.yield %one : f32
  }
  return %r#0, %r#1 : tensor<4xf64>, tensor<4xi1>
}
