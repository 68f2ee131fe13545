// An MLP loss, nll(relu(x w1 + b1) w2 + b2, y), with its adjoint written by
// hand as knet-autodiff would write it. Compiled by test_compiled_codegen.
func.func @mlp_loss(%w1: tensor<?x?xf64> loc("w1"("mlp.cpp":3:30)),
                    %b1: tensor<?xf64> loc("b1"("mlp.cpp":3:45)),
                    %w2: tensor<?x?xf64> loc("w2"("mlp.cpp":4:30)),
                    %b2: tensor<?xf64> loc("b2"("mlp.cpp":4:45)),
                    %x: tensor<?x?xf64> loc("x"("mlp.cpp":5:30)),
                    %y: tensor<?xi64> loc("y"("mlp.cpp":5:45))) -> tensor<f64> {
  %z1 = knet.matmul %x, %w1 : tensor<?x?xf64>, tensor<?x?xf64> -> tensor<?x?xf64> loc("mlp.cpp":6:14)
  %a1 = knet.add %z1, %b1 : tensor<?x?xf64>, tensor<?xf64> -> tensor<?x?xf64> loc("mlp.cpp":6:26)
  %h = knet.relu %a1 : tensor<?x?xf64> loc("h"("mlp.cpp":6:9))
  %z2 = knet.matmul %h, %w2 : tensor<?x?xf64>, tensor<?x?xf64> -> tensor<?x?xf64> loc("mlp.cpp":7:18)
  %s = knet.add %z2, %b2 : tensor<?x?xf64>, tensor<?xf64> -> tensor<?x?xf64> loc("scores"("mlp.cpp":7:10))
  %loss = knet.nll %s, %y : tensor<?x?xf64>, tensor<?xi64> -> tensor<f64> loc("loss"("mlp.cpp":8:10))
  return %loss : tensor<f64> loc("mlp.cpp":8:3)
}

func.func @mlp_loss_grad(%w1: tensor<?x?xf64>, %b1: tensor<?xf64>,
                         %w2: tensor<?x?xf64>, %b2: tensor<?xf64>,
                         %x: tensor<?x?xf64>, %y: tensor<?xi64>,
                         %dloss: tensor<f64>)
    -> (tensor<f64>, tensor<?x?xf64>, tensor<?xf64>, tensor<?x?xf64>,
        tensor<?xf64>, tensor<?x?xf64>)
    attributes {knet.grad_args = array<i64: 0, 1, 2, 3, 4>} {
  // Forward.
  %z1 = knet.matmul %x, %w1 : tensor<?x?xf64>, tensor<?x?xf64> -> tensor<?x?xf64> loc("mlp.cpp":6:14)
  %a1 = knet.add %z1, %b1 : tensor<?x?xf64>, tensor<?xf64> -> tensor<?x?xf64> loc("mlp.cpp":6:26)
  %h = knet.relu %a1 : tensor<?x?xf64> loc("h"("mlp.cpp":6:9))
  %z2 = knet.matmul %h, %w2 : tensor<?x?xf64>, tensor<?x?xf64> -> tensor<?x?xf64> loc("mlp.cpp":7:18)
  %s = knet.add %z2, %b2 : tensor<?x?xf64>, tensor<?xf64> -> tensor<?x?xf64> loc("scores"("mlp.cpp":7:10))
  %loss = knet.nll %s, %y : tensor<?x?xf64>, tensor<?xi64> -> tensor<f64> loc("loss"("mlp.cpp":8:10))
  // Reverse.
  %ds = knet.nll_back %dloss, %s, %y : tensor<f64>, tensor<?x?xf64>, tensor<?xi64> -> tensor<?x?xf64> loc("mlp.cpp":8:10)
  %db2 = knet.sum_to %ds like %b2 : tensor<?x?xf64>, tensor<?xf64> -> tensor<?xf64> loc("mlp.cpp":7:10)
  %w2t = knet.transpose %w2, 0, 1 : tensor<?x?xf64> -> tensor<?x?xf64> loc("mlp.cpp":7:18)
  %dh = knet.matmul %ds, %w2t : tensor<?x?xf64>, tensor<?x?xf64> -> tensor<?x?xf64> loc("mlp.cpp":7:18)
  %ht = knet.transpose %h, 0, 1 : tensor<?x?xf64> -> tensor<?x?xf64> loc("mlp.cpp":7:18)
  %dw2 = knet.matmul %ht, %ds : tensor<?x?xf64>, tensor<?x?xf64> -> tensor<?x?xf64> loc("mlp.cpp":7:18)
  %da1 = knet.relu_back %dh, %h : tensor<?x?xf64>, tensor<?x?xf64> -> tensor<?x?xf64> loc("mlp.cpp":6:9)
  %db1 = knet.sum_to %da1 like %b1 : tensor<?x?xf64>, tensor<?xf64> -> tensor<?xf64> loc("mlp.cpp":6:26)
  %w1t = knet.transpose %w1, 0, 1 : tensor<?x?xf64> -> tensor<?x?xf64> loc("mlp.cpp":6:14)
  %dx = knet.matmul %da1, %w1t : tensor<?x?xf64>, tensor<?x?xf64> -> tensor<?x?xf64> loc("mlp.cpp":6:14)
  %xt = knet.transpose %x, 0, 1 : tensor<?x?xf64> -> tensor<?x?xf64> loc("mlp.cpp":6:14)
  %dw1 = knet.matmul %xt, %da1 : tensor<?x?xf64>, tensor<?x?xf64> -> tensor<?x?xf64> loc("mlp.cpp":6:14)
  return %loss, %dw1, %db1, %dw2, %db2, %dx : tensor<f64>, tensor<?x?xf64>, tensor<?xf64>, tensor<?x?xf64>, tensor<?xf64>, tensor<?x?xf64>
}
