// knet.stack is a local std::vector, named after what it saves; a list
// gradient is copied into din after the list's length slot.
// RUN: %knet-translate --emit-cpp --knet-no-includes %s | FileCheck %s

// CHECK-LABEL: knet_sumall_grad(
// CHECK:        std::vector<knet::Tensor> xs(in.begin() + 1, in.begin() + 1 + in[0].item<int64_t>());
// CHECK:        std::vector<knet::Tensor> x_stack;
// CHECK:          x_stack.push_back(x);
// CHECK:          knet::Tensor [[X:v[0-9]+]] = x_stack.back();
// CHECK-NEXT:     x_stack.pop_back();
// CHECK-NEXT:     knet::Tensor [[O:v[0-9]+]] = knet::ones_like([[X]]);
// CHECK-NEXT:     grads.push_back([[O]]);
// CHECK:        std::vector<knet::Tensor> dxs = {
// CHECK:        din.assign(in.size(), knet::Tensor());
// CHECK-NEXT:   std::copy(dxs.begin(), dxs.end(), din.begin() + 1);
// CHECK-NEXT:   return {total};
func.func @sumall(%xs: !knet.list<tensor<3xf64>> loc("xs"("s.cpp":1:1))) -> tensor<f64> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %z = knet.constant dense<0.0> : tensor<f64>
  %n = knet.list_size %xs : !knet.list<tensor<3xf64>>
  %t = scf.for %i = %c0 to %n step %c1 iter_args(%acc = %z) -> (tensor<f64>) {
    %x = knet.list_get %xs[%i] : !knet.list<tensor<3xf64>> loc("x"("s.cpp":2:1))
    %s = knet.sum %x : tensor<3xf64> -> tensor<f64>
    %a = knet.add %acc, %s : tensor<f64>, tensor<f64> -> tensor<f64>
    scf.yield %a : tensor<f64>
  } loc("total"("s.cpp":2:1))
  return %t : tensor<f64>
}

// A hand-written adjoint for two-element lists.
func.func @sumall_grad(%xs: !knet.list<tensor<3xf64>>, %dt: tensor<f64>)
    -> (tensor<f64>, !knet.list<tensor<3xf64>>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %z = knet.constant dense<0.0> : tensor<f64>
  %n = knet.list_size %xs : !knet.list<tensor<3xf64>>
  %saved = knet.stack_new : !knet.stack<tensor<3xf64>>
  %t = scf.for %i = %c0 to %n step %c1 iter_args(%acc = %z) -> (tensor<f64>) {
    %x = knet.list_get %xs[%i] : !knet.list<tensor<3xf64>> loc("x"("s.cpp":2:1))
    knet.stack_push %saved, %x : !knet.stack<tensor<3xf64>>
    %s = knet.sum %x : tensor<3xf64> -> tensor<f64>
    %a = knet.add %acc, %s : tensor<f64>, tensor<f64> -> tensor<f64>
    scf.yield %a : tensor<f64>
  } loc("total"("s.cpp":2:1))
  %grads = knet.stack_new : !knet.stack<tensor<3xf64>> loc("grads"("s.cpp":3:1))
  scf.for %i = %c0 to %n step %c1 {
    %x = knet.stack_pop %saved : !knet.stack<tensor<3xf64>>
    %o = knet.ones_like %x : tensor<3xf64>
    knet.stack_push %grads, %o : !knet.stack<tensor<3xf64>>
  }
  %g1 = knet.stack_pop %grads : !knet.stack<tensor<3xf64>>
  %g0 = knet.stack_pop %grads : !knet.stack<tensor<3xf64>>
  %dxs = knet.list_make %g0, %g1 : tensor<3xf64>, tensor<3xf64> -> !knet.list<tensor<3xf64>>
  return %t, %dxs : tensor<f64>, !knet.list<tensor<3xf64>>
}
