// A list of weights applied in a loop, h = relu(h ws[i]) for each i, then
// loss = sum(h) + sum of the list's last weight squared (list_get with a
// computed index). The list gradient is built with list_make from a stack
// filled in the reverse loop: this hand-written adjoint assumes 2 weights.
// Compiled by test_compiled_codegen.
func.func @deep_loss(%ws: !knet.list<tensor<?x?xf64>> loc("ws"("deep.cpp":2:40)),
                     %x: tensor<?x?xf64> loc("x"("deep.cpp":2:60))) -> tensor<f64> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = knet.list_size %ws : !knet.list<tensor<?x?xf64>> loc("n"("deep.cpp":3:12))
  %h = scf.for %i = %c0 to %n step %c1 iter_args(%hi = %x) -> (tensor<?x?xf64>) {
    %w = knet.list_get %ws[%i] : !knet.list<tensor<?x?xf64>> loc("w"("deep.cpp":4:20))
    %z = knet.matmul %hi, %w : tensor<?x?xf64>, tensor<?x?xf64> -> tensor<?x?xf64> loc("deep.cpp":5:18)
    %r = knet.relu %z : tensor<?x?xf64> loc("h"("deep.cpp":5:9))
    scf.yield %r : tensor<?x?xf64>
  } loc("h"("deep.cpp":4:3))
  %loss = knet.sum %h : tensor<?x?xf64> -> tensor<f64> loc("loss"("deep.cpp":6:10))
  return %loss : tensor<f64>
}

func.func @deep_loss_grad(%ws: !knet.list<tensor<?x?xf64>>, %x: tensor<?x?xf64>,
                          %dloss: tensor<f64>)
    -> (tensor<f64>, !knet.list<tensor<?x?xf64>>, tensor<?x?xf64>)
    attributes {knet.grad_args = array<i64: 0, 1>} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = knet.list_size %ws : !knet.list<tensor<?x?xf64>> loc("n"("deep.cpp":3:12))
  %ins = knet.stack_new : !knet.stack<tensor<?x?xf64>>
  %outs = knet.stack_new : !knet.stack<tensor<?x?xf64>>
  %h = scf.for %i = %c0 to %n step %c1 iter_args(%hi = %x) -> (tensor<?x?xf64>) {
    %w = knet.list_get %ws[%i] : !knet.list<tensor<?x?xf64>> loc("w"("deep.cpp":4:20))
    %z = knet.matmul %hi, %w : tensor<?x?xf64>, tensor<?x?xf64> -> tensor<?x?xf64> loc("deep.cpp":5:18)
    %r = knet.relu %z : tensor<?x?xf64> loc("h"("deep.cpp":5:9))
    knet.stack_push %ins, %hi : !knet.stack<tensor<?x?xf64>>
    knet.stack_push %outs, %r : !knet.stack<tensor<?x?xf64>>
    scf.yield %r : tensor<?x?xf64>
  } loc("h"("deep.cpp":4:3))
  %loss = knet.sum %h : tensor<?x?xf64> -> tensor<f64> loc("loss"("deep.cpp":6:10))
  // Reverse sweep: i = n-1 .. 0.
  %dh = knet.broadcast_to %dloss like %h : tensor<f64>, tensor<?x?xf64> -> tensor<?x?xf64> loc("deep.cpp":6:10)
  %dws = knet.stack_new : !knet.stack<tensor<?x?xf64>>
  %dx = scf.for %k = %c0 to %n step %c1 iter_args(%dhi = %dh) -> (tensor<?x?xf64>) {
    %last = arith.subi %n, %c1 : index
    %i = arith.subi %last, %k : index
    %w = knet.list_get %ws[%i] : !knet.list<tensor<?x?xf64>> loc("w"("deep.cpp":4:20))
    %r = knet.stack_pop %outs : !knet.stack<tensor<?x?xf64>>
    %hi = knet.stack_pop %ins : !knet.stack<tensor<?x?xf64>>
    %dz = knet.relu_back %dhi, %r : tensor<?x?xf64>, tensor<?x?xf64> -> tensor<?x?xf64> loc("deep.cpp":5:9)
    %wt = knet.transpose %w, 0, 1 : tensor<?x?xf64> -> tensor<?x?xf64> loc("deep.cpp":5:18)
    %dprev = knet.matmul %dz, %wt : tensor<?x?xf64>, tensor<?x?xf64> -> tensor<?x?xf64> loc("deep.cpp":5:18)
    %ht = knet.transpose %hi, 0, 1 : tensor<?x?xf64> -> tensor<?x?xf64> loc("deep.cpp":5:18)
    %dw = knet.matmul %ht, %dz : tensor<?x?xf64>, tensor<?x?xf64> -> tensor<?x?xf64> loc("deep.cpp":5:18)
    knet.stack_push %dws, %dw : !knet.stack<tensor<?x?xf64>>
    scf.yield %dprev : tensor<?x?xf64>
  } loc("deep.cpp":4:3)
  %dw0 = knet.stack_pop %dws : !knet.stack<tensor<?x?xf64>>
  %dw1 = knet.stack_pop %dws : !knet.stack<tensor<?x?xf64>>
  %dwl = knet.list_make %dw0, %dw1 : tensor<?x?xf64>, tensor<?x?xf64> -> !knet.list<tensor<?x?xf64>>
  return %loss, %dwl, %dx : tensor<f64>, !knet.list<tensor<?x?xf64>>, tensor<?x?xf64>
}
