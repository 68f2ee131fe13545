// A branch on a bool argument and one on the data:
//   y = c ? relu(x) : sin(x); if (sum(y) > 1) y = y * 0.5; loss = sum(y * y).
// The adjoint recomputes nothing: the forward branches return what the
// reverse branches need. Compiled by test_compiled_codegen.
func.func @branch_loss(%x: tensor<?xf64> loc("x"("br.cpp":2:30)),
                       %c: i1 loc("c"("br.cpp":2:38))) -> tensor<f64> {
  %y = scf.if %c -> (tensor<?xf64>) {
    %r = knet.relu %x : tensor<?xf64> loc("br.cpp":3:20)
    scf.yield %r : tensor<?xf64>
  } else {
    %s = knet.sin %x : tensor<?xf64> loc("br.cpp":3:30)
    scf.yield %s : tensor<?xf64>
  } loc("y"("br.cpp":3:10))
  %total = knet.sum %y : tensor<?xf64> -> tensor<f64> loc("br.cpp":4:7)
  %tv = knet.item %total : tensor<f64> -> f64 loc("br.cpp":4:7)
  %one = arith.constant 1.0 : f64
  %big = arith.cmpf ogt, %tv, %one : f64 loc("big"("br.cpp":4:7))
  %y2 = scf.if %big -> (tensor<?xf64>) {
    %half = knet.constant dense<0.5> : tensor<f64> loc("br.cpp":4:30)
    %m = knet.mul %y, %half : tensor<?xf64>, tensor<f64> -> tensor<?xf64> loc("br.cpp":4:26)
    scf.yield %m : tensor<?xf64>
  } else {
    scf.yield %y : tensor<?xf64>
  } loc("y"("br.cpp":4:3))
  %sq = knet.mul %y2, %y2 : tensor<?xf64>, tensor<?xf64> -> tensor<?xf64> loc("br.cpp":5:14)
  %loss = knet.sum %sq : tensor<?xf64> -> tensor<f64> loc("loss"("br.cpp":5:10))
  return %loss : tensor<f64>
}

func.func @branch_loss_grad(%x: tensor<?xf64>, %c: i1, %dloss: tensor<f64>)
    -> (tensor<f64>, tensor<?xf64>)
    attributes {knet.grad_args = array<i64: 0>} {
  %y, %ry = scf.if %c -> (tensor<?xf64>, tensor<?xf64>) {
    %r = knet.relu %x : tensor<?xf64> loc("br.cpp":3:20)
    scf.yield %r, %r : tensor<?xf64>, tensor<?xf64>
  } else {
    %s = knet.sin %x : tensor<?xf64> loc("br.cpp":3:30)
    scf.yield %s, %s : tensor<?xf64>, tensor<?xf64>
  } loc("y"("br.cpp":3:10))
  %total = knet.sum %y : tensor<?xf64> -> tensor<f64> loc("br.cpp":4:7)
  %tv = knet.item %total : tensor<f64> -> f64 loc("br.cpp":4:7)
  %one = arith.constant 1.0 : f64
  %big = arith.cmpf ogt, %tv, %one : f64 loc("big"("br.cpp":4:7))
  %half = knet.constant dense<0.5> : tensor<f64> loc("br.cpp":4:30)
  %y2 = scf.if %big -> (tensor<?xf64>) {
    %m = knet.mul %y, %half : tensor<?xf64>, tensor<f64> -> tensor<?xf64> loc("br.cpp":4:26)
    scf.yield %m : tensor<?xf64>
  } else {
    scf.yield %y : tensor<?xf64>
  } loc("y"("br.cpp":4:3))
  %sq = knet.mul %y2, %y2 : tensor<?xf64>, tensor<?xf64> -> tensor<?xf64> loc("br.cpp":5:14)
  %loss = knet.sum %sq : tensor<?xf64> -> tensor<f64> loc("loss"("br.cpp":5:10))
  // Reverse sweep.
  %dsq = knet.broadcast_to %dloss like %sq : tensor<f64>, tensor<?xf64> -> tensor<?xf64> loc("br.cpp":5:10)
  %dya = knet.mul %dsq, %y2 : tensor<?xf64>, tensor<?xf64> -> tensor<?xf64> loc("br.cpp":5:14)
  %dy2 = knet.add %dya, %dya : tensor<?xf64>, tensor<?xf64> -> tensor<?xf64> loc("br.cpp":5:14)
  %dy = scf.if %big -> (tensor<?xf64>) {
    %dm = knet.mul %dy2, %half : tensor<?xf64>, tensor<f64> -> tensor<?xf64> loc("br.cpp":4:26)
    scf.yield %dm : tensor<?xf64>
  } else {
    scf.yield %dy2 : tensor<?xf64>
  } loc("br.cpp":4:3)
  %dx = scf.if %c -> (tensor<?xf64>) {
    %dr = knet.relu_back %dy, %ry : tensor<?xf64>, tensor<?xf64> -> tensor<?xf64> loc("br.cpp":3:20)
    scf.yield %dr : tensor<?xf64>
  } else {
    %cx = knet.cos %x : tensor<?xf64> loc("br.cpp":3:30)
    %ds = knet.mul %dy, %cx : tensor<?xf64>, tensor<?xf64> -> tensor<?xf64> loc("br.cpp":3:30)
    scf.yield %ds : tensor<?xf64>
  } loc("br.cpp":3:10)
  return %loss, %dx : tensor<f64>, tensor<?xf64>
}
