// knet-accumulate: a matrix product added into a value with no other use
// becomes one knet.matmul_acc (a GEMM adding into that value's buffer at run
// time); not when the value, the product or its sum_to has another use, nor
// when the value is the function's argument (the caller's buffer).
// RUN: %knet-opt %s -knet-accumulate -split-input-file | FileCheck %s

// A weight's gradient accumulated over a loop, the adjoint of an RNN's time
// loop: the loop-carried gradient takes each step's product.
// CHECK-LABEL: func.func @loop(
// CHECK: scf.for {{.*}} iter_args(%[[G:.*]] = %{{.*}})
// CHECK-NEXT: %[[R:.*]] = knet.matmul_acc %[[G]], %arg1, %arg2 like %arg0 {knet.reverse} :
// CHECK-NEXT: scf.yield %[[R]]
// CHECK-NOT: knet.matmul
func.func @loop(%w: tensor<*xf32>, %a: tensor<*xf32>, %b: tensor<*xf32>, %n: index) -> tensor<*xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %z = knet.zeros_like %w : tensor<*xf32>
  %g = scf.for %i = %c0 to %n step %c1 iter_args(%acc = %z) -> (tensor<*xf32>) {
    %p = knet.matmul %a, %b : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
    %s = knet.sum_to %p like %w : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
    %r = knet.add %acc, %s {knet.reverse} : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
    scf.yield %r : tensor<*xf32>
  }
  return %g : tensor<*xf32>
}

// -----

// The sum on the left: the same.
// CHECK-LABEL: func.func @left(
// CHECK: knet.matmul_acc %{{.*}}, %arg1, %arg2 like %arg0
func.func @left(%w: tensor<*xf32>, %a: tensor<*xf32>, %b: tensor<*xf32>) -> tensor<*xf32> {
  %acc = knet.exp %w : tensor<*xf32>
  %p = knet.matmul %a, %b : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  %s = knet.sum_to %p like %w : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  %r = knet.add %s, %acc : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  return %r : tensor<*xf32>
}

// -----

// Left alone: the accumulator is read again, the product has another use,
// or the accumulator is the function's argument.
// CHECK-LABEL: func.func @kept(
// CHECK-NOT: knet.matmul_acc
// CHECK: return
func.func @kept(%w: tensor<*xf32>, %a: tensor<*xf32>, %b: tensor<*xf32>) -> (tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>) {
  %acc = knet.exp %w : tensor<*xf32>
  %p = knet.matmul %a, %b : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  %s = knet.sum_to %p like %w : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  %r = knet.add %acc, %s : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  %acc2 = knet.exp %a : tensor<*xf32>
  %p2 = knet.matmul %a, %b : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  %s2 = knet.sum_to %p2 like %w : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  %r2 = knet.add %acc2, %s2 : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  %p3 = knet.matmul %a, %b : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  %s3 = knet.sum_to %p3 like %w : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  %r3 = knet.add %w, %s3 : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  %t = knet.add %r, %acc : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  %t2 = knet.add %r2, %p2 : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  return %t, %t2, %r3, %r3 : tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>
}

// -----

// Left alone: an accumulator defined outside the loop that adds into it is
// read again by every iteration (its buffer must not change), and a product
// made outside the loop is not to be made again in each.
// CHECK-LABEL: func.func @outside(
// CHECK-NOT: knet.matmul_acc
// CHECK: return
func.func @outside(%w: tensor<*xf32>, %a: tensor<*xf32>, %b: tensor<*xf32>, %n: index) -> (tensor<*xf32>, tensor<*xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %acc = knet.exp %w : tensor<*xf32>
  %z = knet.zeros_like %w : tensor<*xf32>
  %g = scf.for %i = %c0 to %n step %c1 iter_args(%x = %z) -> (tensor<*xf32>) {
    %p = knet.matmul %a, %b : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
    %s = knet.sum_to %p like %w : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
    %r = knet.add %acc, %s : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
    scf.yield %r : tensor<*xf32>
  }
  %p2 = knet.matmul %a, %b : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  %s2 = knet.sum_to %p2 like %w : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  %h = scf.for %i = %c0 to %n step %c1 iter_args(%x = %z) -> (tensor<*xf32>) {
    %r = knet.add %x, %s2 : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
    scf.yield %r : tensor<*xf32>
  }
  return %g, %h : tensor<*xf32>, tensor<*xf32>
}
