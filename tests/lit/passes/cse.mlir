// knet-cse is MLIR's CSE except that operations with regions are never
// merged (MLIR hashes them without their regions, so many branches on one
// condition made CSE quadratic); no marker attribute is left behind.
// RUN: %knet-opt %s -knet-cse | FileCheck %s

// CHECK-LABEL: func.func @branches(
// CHECK: %[[A:.*]] = knet.mul %arg1, %arg1
// CHECK-NOT: knet.mul %arg1, %arg1
// CHECK: scf.if %arg0
// CHECK: scf.if %arg0
// CHECK-NOT: knet.cse_distinct
func.func @branches(%c: i1, %x: tensor<*xf32>) -> (tensor<*xf32>, tensor<*xf32>, tensor<*xf32>) {
  %a = knet.mul %x, %x : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  %b = knet.mul %x, %x : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  %s = knet.add %a, %b : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  %r1 = scf.if %c -> tensor<*xf32> {
    %t = knet.tanh %x : tensor<*xf32>
    scf.yield %t : tensor<*xf32>
  } else {
    scf.yield %x : tensor<*xf32>
  }
  %r2 = scf.if %c -> tensor<*xf32> {
    %t = knet.tanh %x : tensor<*xf32>
    scf.yield %t : tensor<*xf32>
  } else {
    scf.yield %x : tensor<*xf32>
  }
  return %s, %r1, %r2 : tensor<*xf32>, tensor<*xf32>, tensor<*xf32>
}
