// std::vector<Tensor> locals that grow: push_back in a loop is a
// loop-carried list value (knet.list_push), assignment by index a
// knet.list_set, pop_back a knet.list_pop; stack/concat of a list built at
// run time take the list (knet.stack_list).
// RUN: %knetc --emit=ir %s | FileCheck %s
// RUN: %knetc --emit=ir %s | %knet-opt | FileCheck %s
// RUN: %knetc --emit=cpp %s | FileCheck %s --check-prefix=CPP
#include <knet/knet.h>
using namespace knet;

// CHECK-LABEL: func.func @states(
// CHECK: %[[E:.*]] = knet.list_make -> !knet.list<tensor<*xf32>>
// CHECK: %[[L:.*]]:2 = scf.for {{.*}} iter_args(%[[A:.*]] = %[[E]], {{.*}}) -> (!knet.list<tensor<*xf32>>, tensor<*xf32>)
// CHECK: %[[H:.*]] = knet.tanh
// CHECK: %[[P:.*]] = knet.list_push %[[A]], %[[H]] : !knet.list<tensor<*xf32>>
// CHECK: scf.yield %[[P]], %[[H]]
// CHECK: %[[S:.*]] = knet.list_set %[[L]]#0[%{{.*}}], %{{.*}}
// CHECK: %[[Q:.*]] = knet.list_pop %[[S]]
// CHECK: knet.stack_list %[[Q]] dim 0
// CPP-LABEL: knet_states_grad(
// CPP: knet::detail::list_push(
// CPP: knet::detail::list_pop(
// CPP: knet::stack(
// The adjoint: the stacked gradient split back into the list's pieces,
// the pushed value's gradient read off the end.
// CPP: knet::detail::split_list({{.*}}, 0, true)
// CPP: knet::detail::list_push(
// CPP: knet::detail::list_pop(
KNET_COMPILE Tensor states(const Tensor &xs, const Tensor &w) {
  std::vector<Tensor> hs;
  Tensor h = xs.select(0, 0);
  for (int64_t t = 0; t < xs.size(0); ++t) {
    h = tanh(matmul(h, w));
    hs.push_back(h);
  }
  hs[0] = hs[0] * 2.0;
  hs.pop_back();
  return sum(stack(hs, 0)) + sum(hs.back());
}

// Pushes the IR can count stay a list of known elements: concat takes the
// tensors themselves.
// CHECK-LABEL: func.func @unrolled(
// CHECK: knet.concat %{{.*}}, %{{.*}} dim 1
KNET_COMPILE Tensor unrolled(const Tensor &a, const Tensor &b) {
  std::vector<Tensor> parts;
  parts.push_back(a);
  parts.emplace_back(b * 2.0);
  return sum(concat(parts, 1));
}

// std::vector<Tensor> hs(n) and resize: knet.list_resize (new elements are
// undefined); its adjoint pads the gradient with zeros like the elements
// it dropped (knet.list_pad_like).
// CHECK-LABEL: func.func @resized(
// CHECK: %[[E:.*]] = knet.list_make -> !knet.list<tensor<*xf32>>
// CHECK: knet.list_resize %[[E]], %{{.*}} : !knet.list<tensor<*xf32>>
// CHECK: knet.list_set
// CHECK: knet.list_resize
// CPP-LABEL: knet_resized_grad(
// CPP: knet::detail::list_pad_like(
KNET_COMPILE Tensor resized(const Tensor &x, int n) {
  std::vector<Tensor> hs(n);
  hs[0] = x * 2.0;
  hs.resize(1);
  return sum(stack(hs, 0));
}
