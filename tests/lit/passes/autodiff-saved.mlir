// savedForReverse (what knetc --explain lists): the forward values that a
// gradient function's reverse sweep keeps, pushed on stacks in loops or read
// after the forward sweep; arguments and constants are not listed.
// RUN: %knet-opt %s -knet-autodiff -canonicalize -cse -knet-test-saved-values -verify-diagnostics -o /dev/null

func.func @mlp(%x: tensor<?x784xf32>, %w: tensor<784x64xf32>, %l: tensor<?xi64>) -> tensor<f32> {
  %0 = knet.matmul %x, %w : tensor<?x784xf32>, tensor<784x64xf32> -> tensor<?x64xf32>
  // expected-remark @below {{saved for the reverse sweep of @mlp_grad: read after the forward}}
  %1 = knet.relu %0 : tensor<?x64xf32>
  %2 = knet.nll %1, %l : tensor<?x64xf32>, tensor<?xi64> -> tensor<f32>
  return %2 : tensor<f32>
}

func.func @rnn(%w: tensor<4x4xf32>, %x: tensor<?x4xf32>) -> tensor<?x4xf32> {
  %c0 = arith.constant 0 : i64
  %c1 = arith.constant 1 : i64
  %c5 = arith.constant 5 : i64
  // expected-remark @below {{saved for the reverse sweep of @rnn_grad: pushed on a stack}}
  %y = scf.for %i = %c0 to %c5 step %c1 iter_args(%h = %x) -> (tensor<?x4xf32>) : i64 {
    %z = knet.matmul %h, %w : tensor<?x4xf32>, tensor<4x4xf32> -> tensor<?x4xf32>
    // expected-remark @below {{saved for the reverse sweep of @rnn_grad: pushed on a stack}}
    %t = knet.tanh %z : tensor<?x4xf32>
    scf.yield %t : tensor<?x4xf32>
  }
  return %y : tensor<?x4xf32>
}
