// knet-split-adjoint: @f_grad also as @f_save (the forward sweep, returning
// f's results and then what the reverse sweep reads) and @f_resume (the
// reverse sweep, those values as arguments after f's, returning the
// gradients only), for a compiled
// function called from taped code: its backward then does not run the
// forward again. Constants and scalar arithmetic over arguments are
// recomputed, not saved; a function whose reverse sweep reads a knet.stack
// (a loop), or whose result comes from an op of the reverse sweep, is left
// whole.
// RUN: %knet-opt %s -knet-autodiff -canonicalize -knet-cse -knet-split-adjoint | FileCheck %s

// CHECK-LABEL: func.func @cell_grad(
// CHECK-LABEL: func.func @cell_save(
// CHECK-SAME: %[[X:[a-z0-9]+]]: tensor<*xf32>, %[[W:[a-z0-9]+]]: tensor<*xf32>)
// CHECK-SAME: -> (tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>)
// CHECK-SAME: attributes {knet.save_of = "cell"}
// CHECK-NEXT: %[[Z:.*]] = knet.matmul %[[X]], %[[W]]
// CHECK-NEXT: %[[T:.*]] = knet.tanh %[[Z]]
// CHECK-NEXT: %[[S:.*]] = knet.sigm %[[Z]]
// CHECK-NEXT: %[[Y:.*]] = knet.mul %[[T]], %[[S]]
// The results (y, t), then the saved values: s and t, which the reverse
// sweep reads (not y: only a result).
// CHECK-NEXT: return %[[Y]], %[[T]], %[[S]], %[[T]] :
// CHECK-LABEL: func.func @cell_resume(
// CHECK-SAME: %[[RX:[a-z0-9]+]]: tensor<*xf32>, %[[RW:[a-z0-9]+]]: tensor<*xf32>, %[[RS:[a-z0-9]+]]: tensor<*xf32>, %[[RT:[a-z0-9]+]]: tensor<*xf32>, %[[DY:[a-z0-9]+]]: tensor<*xf32>, %[[DT:[a-z0-9]+]]: tensor<*xf32>)
// CHECK-SAME: -> (tensor<*xf32>, tensor<*xf32>)
// CHECK-SAME: attributes {knet.grad_args = array<i64: 0, 1>, knet.resume_of = "cell"}
// CHECK-NOT: knet.tanh %
// CHECK-NOT: knet.sigm %
// CHECK-NOT: knet.matmul %[[RX]], %[[RW]]
// CHECK: knet.mul %[[DY]], %[[RS]]
// CHECK: knet.sigm_back %{{.*}}, %[[RS]]
// CHECK: knet.tanh_back %{{.*}}, %[[RT]]
// CHECK: return %{{[0-9]+}}, %{{[0-9]+}} : tensor<*xf32>, tensor<*xf32>{{$}}
func.func @cell(%x: tensor<*xf32>, %w: tensor<*xf32>) -> (tensor<*xf32>, tensor<*xf32>) {
  %0 = knet.matmul %x, %w : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  %1 = knet.tanh %0 : tensor<*xf32>
  %2 = knet.sigm %0 : tensor<*xf32>
  %3 = knet.mul %1, %2 : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  return %3, %1 : tensor<*xf32>, tensor<*xf32>
}

// A scalar computed from an argument (and its 0-d tensor) is recomputed by
// @f_resume.
// CHECK-LABEL: func.func @scaled_save(
// CHECK-SAME: -> (tensor<*xf32>, tensor<*xf32>)
// CHECK-LABEL: func.func @scaled_resume(
// CHECK-SAME: %[[SX:[a-z0-9]+]]: tensor<*xf32>, %[[K:[a-z0-9]+]]: f32, %[[SE:[a-z0-9]+]]: tensor<*xf32>, %{{[a-z0-9]+}}: tensor<*xf32>)
// CHECK-SAME: -> (tensor<*xf32>, f32)
// CHECK: %[[KK:.*]] = arith.mulf %[[K]], %[[K]]
// CHECK: knet.scalar %[[KK]]
// CHECK: knet.mul %{{.*}}, %[[SE]]
func.func @scaled(%x: tensor<*xf32>, %k: f32) -> tensor<*xf32> {
  %kk = arith.mulf %k, %k : f32
  %s = knet.scalar %kk : f32 -> tensor<f32>
  %0 = knet.mul %x, %s : tensor<*xf32>, tensor<f32> -> tensor<*xf32>
  %1 = knet.exp %0 : tensor<*xf32>
  return %1 : tensor<*xf32>
}

// A loop's reverse sweep pops what its forward pushed: no split.
// CHECK-LABEL: func.func @rnn_grad(
// CHECK-NOT: @rnn_save
// CHECK-NOT: @rnn_resume
func.func @rnn(%w: tensor<*xf32>, %x: tensor<*xf32>) -> tensor<*xf32> {
  %c0 = arith.constant 0 : i64
  %c1 = arith.constant 1 : i64
  %c5 = arith.constant 5 : i64
  %y = scf.for %i = %c0 to %c5 step %c1 iter_args(%h = %x) -> (tensor<*xf32>) : i64 {
    %z = knet.matmul %h, %w : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
    %t = knet.tanh %z : tensor<*xf32>
    scf.yield %t : tensor<*xf32>
  }
  return %y : tensor<*xf32>
}

// canonicalize merges the branch that computes the result with its adjoint:
// the result comes from an op of the reverse sweep, so no split.
// CHECK-LABEL: func.func @either_grad(
// CHECK-NOT: @either_save
// CHECK-NOT: @either_resume
func.func @either(%p: tensor<*xf32>, %n: i32) -> tensor<*xf32> {
  %c0 = arith.constant 0 : i32
  %cond = arith.cmpi sgt, %n, %c0 : i32
  %r = scf.if %cond -> (tensor<*xf32>) {
    scf.yield %p : tensor<*xf32>
  } else {
    %s = knet.sin %p : tensor<*xf32>
    scf.yield %s : tensor<*xf32>
  }
  return %r : tensor<*xf32>
}
