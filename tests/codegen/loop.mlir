// A loop carrying a tensor, h = tanh(h w) n times, and a double scale:
// loss = sum(h) * s. The adjoint saves each step's input and output on
// knet stacks and runs the loop backwards. Compiled by test_compiled_codegen.
func.func @rnn_loss(%w: tensor<?x?xf64> loc("w"("rnn.cpp":3:28)),
                    %x: tensor<?x?xf64> loc("x"("rnn.cpp":3:45)),
                    %n: i64 loc("n"("rnn.cpp":3:56)),
                    %s: f64 loc("s"("rnn.cpp":3:66))) -> tensor<f64> {
  %c0 = arith.constant 0 : i64
  %c1 = arith.constant 1 : i64
  %h = scf.for %i = %c0 to %n step %c1 iter_args(%hi = %x) -> (tensor<?x?xf64>) : i64 {
    %z = knet.matmul %hi, %w : tensor<?x?xf64>, tensor<?x?xf64> -> tensor<?x?xf64> loc("rnn.cpp":6:18)
    %t = knet.tanh %z : tensor<?x?xf64> loc("h"("rnn.cpp":6:9))
    scf.yield %t : tensor<?x?xf64>
  } loc("h"("rnn.cpp":5:3))
  %sum = knet.sum %h : tensor<?x?xf64> -> tensor<f64> loc("rnn.cpp":7:10)
  %st = knet.scalar %s : f64 -> tensor<f64> loc("rnn.cpp":7:19)
  %loss = knet.mul %sum, %st : tensor<f64>, tensor<f64> -> tensor<f64> loc("loss"("rnn.cpp":7:10))
  return %loss : tensor<f64>
}

func.func @rnn_loss_grad(%w: tensor<?x?xf64>, %x: tensor<?x?xf64>, %n: i64,
                         %s: f64, %dloss: tensor<f64>)
    -> (tensor<f64>, tensor<?x?xf64>, tensor<?x?xf64>, f64)
    attributes {knet.grad_args = array<i64: 0, 1, 3>} {
  %c0 = arith.constant 0 : i64
  %c1 = arith.constant 1 : i64
  %inputs = knet.stack_new : !knet.stack<tensor<?x?xf64>> loc("rnn.cpp":5:3)
  %outputs = knet.stack_new : !knet.stack<tensor<?x?xf64>> loc("rnn.cpp":5:3)
  %h = scf.for %i = %c0 to %n step %c1 iter_args(%hi = %x) -> (tensor<?x?xf64>) : i64 {
    %z = knet.matmul %hi, %w : tensor<?x?xf64>, tensor<?x?xf64> -> tensor<?x?xf64> loc("rnn.cpp":6:18)
    %t = knet.tanh %z : tensor<?x?xf64> loc("h"("rnn.cpp":6:9))
    knet.stack_push %inputs, %hi : !knet.stack<tensor<?x?xf64>> loc("rnn.cpp":6:18)
    knet.stack_push %outputs, %t : !knet.stack<tensor<?x?xf64>> loc("rnn.cpp":6:9)
    scf.yield %t : tensor<?x?xf64>
  } loc("h"("rnn.cpp":5:3))
  %sum = knet.sum %h : tensor<?x?xf64> -> tensor<f64> loc("rnn.cpp":7:10)
  %st = knet.scalar %s : f64 -> tensor<f64> loc("rnn.cpp":7:19)
  %loss = knet.mul %sum, %st : tensor<f64>, tensor<f64> -> tensor<f64> loc("loss"("rnn.cpp":7:10))
  // Reverse sweep.
  %dsum = knet.mul %dloss, %st : tensor<f64>, tensor<f64> -> tensor<f64> loc("rnn.cpp":7:10)
  %dst = knet.mul %dloss, %sum : tensor<f64>, tensor<f64> -> tensor<f64> loc("rnn.cpp":7:19)
  %ds = knet.item %dst : tensor<f64> -> f64 loc("rnn.cpp":7:19)
  %dh = knet.broadcast_to %dsum like %h : tensor<f64>, tensor<?x?xf64> -> tensor<?x?xf64> loc("rnn.cpp":7:10)
  %dw0 = knet.zeros_like %w : tensor<?x?xf64> loc("rnn.cpp":6:18)
  %r:2 = scf.for %i = %c0 to %n step %c1 iter_args(%dhi = %dh, %dwi = %dw0) -> (tensor<?x?xf64>, tensor<?x?xf64>) : i64 {
    %t = knet.stack_pop %outputs : !knet.stack<tensor<?x?xf64>> loc("rnn.cpp":6:9)
    %hi = knet.stack_pop %inputs : !knet.stack<tensor<?x?xf64>> loc("rnn.cpp":6:18)
    %dz = knet.tanh_back %dhi, %t : tensor<?x?xf64>, tensor<?x?xf64> -> tensor<?x?xf64> loc("rnn.cpp":6:9)
    %wt = knet.transpose %w, 0, 1 : tensor<?x?xf64> -> tensor<?x?xf64> loc("rnn.cpp":6:18)
    %dprev = knet.matmul %dz, %wt : tensor<?x?xf64>, tensor<?x?xf64> -> tensor<?x?xf64> loc("rnn.cpp":6:18)
    %ht = knet.transpose %hi, 0, 1 : tensor<?x?xf64> -> tensor<?x?xf64> loc("rnn.cpp":6:18)
    %dwstep = knet.matmul %ht, %dz : tensor<?x?xf64>, tensor<?x?xf64> -> tensor<?x?xf64> loc("rnn.cpp":6:18)
    %dwnext = knet.add %dwi, %dwstep : tensor<?x?xf64>, tensor<?x?xf64> -> tensor<?x?xf64> loc("rnn.cpp":6:18)
    scf.yield %dprev, %dwnext : tensor<?x?xf64>, tensor<?x?xf64>
  } loc("rnn.cpp":5:3)
  return %loss, %r#1, %r#0, %ds : tensor<f64>, tensor<?x?xf64>, tensor<?x?xf64>, f64
}
