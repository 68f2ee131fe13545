// std::vector<Tensor>: braced lists are knet.list_make, chunk gives a list,
// indexing is knet.list_get, and a vector result is a list.
// RUN: %knetc --emit=ir %s | FileCheck %s
#include <knet/knet.h>
#include <vector>
using namespace knet;

// CHECK-LABEL: func.func @gates(
// CHECK-SAME: -> !knet.list<tensor<*xf32>>
KNET_COMPILE std::vector<Tensor> gates(Tensor x) {
  // CHECK: %[[P:.*]] = knet.chunk %{{.*}}, 2 dim 1 : tensor<*xf32> -> !knet.list<tensor<*xf32>>
  std::vector<Tensor> parts = chunk(x, 2, 1);
  // CHECK: %[[A:.*]] = knet.list_get %[[P]][%{{.*}}]
  // CHECK: %[[N:.*]] = knet.list_size %[[P]]
  // CHECK: %[[B:.*]] = knet.list_get %[[P]][%{{.*}}]
  Tensor a = parts[0], b = parts.back();
  // CHECK: %[[C:.*]] = knet.concat %{{.*}}, %{{.*}} dim 1
  Tensor c = concat({sigm(a), tanh(b)}, 1);
  // CHECK: %[[S:.*]] = knet.stack %{{.*}}, %{{.*}} dim 0
  Tensor s = stack({a, b}, 0);
  // CHECK: %[[L:.*]] = knet.list_make %[[C]], %[[S]] : tensor<*xf32>, tensor<*xf32> -> !knet.list<tensor<*xf32>>
  // CHECK: return %[[L]]
  return {c, s};
}

// CHECK-LABEL: func.func @count(
KNET_COMPILE int64_t count(const std::vector<Tensor> &xs) {
  // CHECK: knet.list_size
  // CHECK: arith.index_cast
  return xs.size();
}
