// An MLP loss and its hand-written adjoint: one C++ statement per op, named
// after the user's variables, forward then reverse sweep, gradients into din.
// RUN: %knet-translate --emit-cpp %s | FileCheck %s
// RUN: %knet-translate --emit-cpp --knet-no-locations --knet-no-includes %s | FileCheck %s --check-prefix=BARE

// CHECK: #include <knet/compiled.h>
// CHECK: #include <knet/knet.h>
// BARE-NOT: #include
// BARE-NOT: // mlp.cpp

// CHECK-LABEL: static std::vector<knet::Tensor>
// CHECK-NEXT: knet_mlp_forward(const std::vector<knet::Tensor> &in) {
// CHECK-NEXT:   const knet::Tensor &w1 = in[0];
// CHECK-NEXT:   const knet::Tensor &b1 = in[1];
// CHECK-NEXT:   const knet::Tensor &w2 = in[2];
// CHECK-NEXT:   const knet::Tensor &x = in[3];
// CHECK-NEXT:   const knet::Tensor &y = in[4];
// CHECK-NEXT:   // mlp.cpp:6
// CHECK-NEXT:   knet::Tensor v0 = knet::matmul(x, w1);
// CHECK-NEXT:   knet::Tensor v1 = v0 + b1;
// CHECK-NEXT:   knet::Tensor h = knet::relu(v1);
// CHECK-NEXT:   // mlp.cpp:7
// CHECK-NEXT:   knet::Tensor scores = knet::matmul(h, w2);
// CHECK-NEXT:   // mlp.cpp:8
// CHECK-NEXT:   knet::Tensor loss = knet::nll(scores, y, {.average = false});
// CHECK-NEXT:   return {loss};
// CHECK-NEXT: }
func.func @mlp(%w1: tensor<?x?xf32> loc("w1"("mlp.cpp":3:30)),
               %b1: tensor<?xf32> loc("b1"("mlp.cpp":3:45)),
               %w2: tensor<?x?xf32> loc("w2"("mlp.cpp":4:30)),
               %x: tensor<?x?xf32> loc("x"("mlp.cpp":5:30)),
               %y: tensor<?xi64> loc("y"("mlp.cpp":5:45))) -> tensor<f32> {
  %z1 = knet.matmul %x, %w1 : tensor<?x?xf32>, tensor<?x?xf32> -> tensor<?x?xf32> loc("mlp.cpp":6:14)
  %a1 = knet.add %z1, %b1 : tensor<?x?xf32>, tensor<?xf32> -> tensor<?x?xf32> loc("mlp.cpp":6:26)
  %h = knet.relu %a1 : tensor<?x?xf32> loc("h"("mlp.cpp":6:9))
  %s = knet.matmul %h, %w2 : tensor<?x?xf32>, tensor<?x?xf32> -> tensor<?x?xf32> loc("scores"("mlp.cpp":7:10))
  %loss = knet.nll %s, %y {average = false} : tensor<?x?xf32>, tensor<?xi64> -> tensor<f32> loc("loss"("mlp.cpp":8:10))
  return %loss : tensor<f32> loc("mlp.cpp":8:3)
}

// The adjoint takes its argument names from @mlp; the cotangent is d<result>;
// the gradient of w is dw. y (i64) gets none, x none by knet.grad_args.
// CHECK-LABEL: static std::vector<knet::Tensor>
// CHECK-NEXT: knet_mlp_grad(const std::vector<knet::Tensor> &in,
// CHECK-NEXT:               const std::vector<knet::Tensor> &dout,
// CHECK-NEXT:               std::vector<knet::Tensor> &din) {
// CHECK-NEXT:   const knet::Tensor &w1 = in[0];
// CHECK-NEXT:   const knet::Tensor &b1 = in[1];
// CHECK-NEXT:   const knet::Tensor &w2 = in[2];
// CHECK-NEXT:   const knet::Tensor &x = in[3];
// CHECK-NEXT:   const knet::Tensor &y = in[4];
// CHECK-NEXT:   knet::Tensor dloss = dout.size() > 0 ? dout[0] : knet::Tensor();
// CHECK:        knet::Tensor loss = knet::nll(scores, y, {.average = false});
// CHECK-NEXT:   if (!dloss.defined())
// CHECK-NEXT:     dloss = knet::ones_like(loss); // the seed
// CHECK-NEXT:   knet::Tensor [[DS:v[0-9]+]] = knet::nll_back(dloss, scores, y, {.average = false});
// CHECK-NEXT:   // mlp.cpp:7
// CHECK-NEXT:   knet::Tensor [[W2T:v[0-9]+]] = w2.transpose(0, 1);
// CHECK-NEXT:   knet::Tensor [[DH:v[0-9]+]] = knet::matmul([[DS]], [[W2T]]);
// CHECK-NEXT:   // mlp.cpp:6
// CHECK-NEXT:   knet::Tensor [[DA:v[0-9]+]] = knet::relu_back([[DH]], h);
// CHECK-NEXT:   din.assign(in.size(), knet::Tensor());
// What only one gradient needs runs when the caller needs that gradient.
// CHECK-NEXT:   if (knet::detail::gradient_needed(0)) {
// CHECK-NEXT:     knet::Tensor [[XT:v[0-9]+]] = x.transpose(0, 1);
// CHECK-NEXT:     knet::Tensor dw1 = knet::matmul([[XT]], [[DA]]);
// CHECK-NEXT:     din[0] = dw1;
// CHECK-NEXT:   }
// CHECK-NEXT:   if (knet::detail::gradient_needed(1)) {
// CHECK-NEXT:     knet::Tensor db1 = knet::sum_to([[DA]], b1.shape());
// CHECK-NEXT:     din[1] = db1;
// CHECK-NEXT:   }
// CHECK-NEXT:   if (knet::detail::gradient_needed(2)) {
// CHECK-NEXT:     // mlp.cpp:7
// CHECK-NEXT:     knet::Tensor [[HT:v[0-9]+]] = h.transpose(0, 1);
// CHECK-NEXT:     knet::Tensor dw2 = knet::matmul([[HT]], [[DS]]);
// CHECK-NEXT:     din[2] = dw2;
// CHECK-NEXT:   }
// CHECK-NEXT:   return {loss};
// CHECK-NEXT: }
// CHECK:      static const knet::detail::CompiledFunction knet_mlp_compiled{
// CHECK-NEXT:     "mlp", knet_mlp_forward, knet_mlp_grad};
// CHECK:      {{\[\[maybe_unused\]\]}} static const knet::detail::CompiledFunction &knet_compiled_mlp() {
// CHECK-NEXT:   return knet_mlp_compiled;
// CHECK-NEXT: }
func.func @mlp_grad(%w1: tensor<?x?xf32>, %b1: tensor<?xf32>, %w2: tensor<?x?xf32>,
                    %x: tensor<?x?xf32>, %y: tensor<?xi64>, %dloss: tensor<f32>)
    -> (tensor<f32>, tensor<?x?xf32>, tensor<?xf32>, tensor<?x?xf32>)
    attributes {knet.grad_args = array<i64: 0, 1, 2>} {
  %z1 = knet.matmul %x, %w1 : tensor<?x?xf32>, tensor<?x?xf32> -> tensor<?x?xf32> loc("mlp.cpp":6:14)
  %a1 = knet.add %z1, %b1 : tensor<?x?xf32>, tensor<?xf32> -> tensor<?x?xf32> loc("mlp.cpp":6:26)
  %h = knet.relu %a1 : tensor<?x?xf32> loc("h"("mlp.cpp":6:9))
  %s = knet.matmul %h, %w2 : tensor<?x?xf32>, tensor<?x?xf32> -> tensor<?x?xf32> loc("scores"("mlp.cpp":7:10))
  %loss = knet.nll %s, %y {average = false} : tensor<?x?xf32>, tensor<?xi64> -> tensor<f32> loc("loss"("mlp.cpp":8:10))
  %ds = knet.nll_back %dloss, %s, %y {average = false} : tensor<f32>, tensor<?x?xf32>, tensor<?xi64> -> tensor<?x?xf32> loc("mlp.cpp":8:10)
  %w2t = knet.transpose %w2, 0, 1 : tensor<?x?xf32> -> tensor<?x?xf32> loc("mlp.cpp":7:10)
  %dh = knet.matmul %ds, %w2t : tensor<?x?xf32>, tensor<?x?xf32> -> tensor<?x?xf32> loc("mlp.cpp":7:10)
  %ht = knet.transpose %h, 0, 1 : tensor<?x?xf32> -> tensor<?x?xf32> loc("mlp.cpp":7:10)
  %dw2 = knet.matmul %ht, %ds : tensor<?x?xf32>, tensor<?x?xf32> -> tensor<?x?xf32> loc("mlp.cpp":7:10)
  %da1 = knet.relu_back %dh, %h : tensor<?x?xf32>, tensor<?x?xf32> -> tensor<?x?xf32> loc("mlp.cpp":6:9)
  %db1 = knet.sum_to %da1 like %b1 : tensor<?x?xf32>, tensor<?xf32> -> tensor<?xf32> loc("mlp.cpp":6:26)
  %xt = knet.transpose %x, 0, 1 : tensor<?x?xf32> -> tensor<?x?xf32> loc("mlp.cpp":6:14)
  %dw1 = knet.matmul %xt, %da1 : tensor<?x?xf32>, tensor<?x?xf32> -> tensor<?x?xf32> loc("mlp.cpp":6:14)
  return %loss, %dw1, %db1, %dw2 : tensor<f32>, tensor<?x?xf32>, tensor<?xf32>, tensor<?x?xf32>
}
