// The runtime ops map to knet ops through one table (RuntimeOps.def),
// constant options become attributes.
// RUN: %knetc --emit=ir %s | FileCheck %s
// Every op emits C++ (the C++ emitter has a pattern for each):
// RUN: %knetc --emit=cpp %s -o %t.cpp
// The IR round-trips through knet-opt (parses and verifies).
// RUN: %knetc --emit=ir %s | %knet-opt | FileCheck %s
#include <knet/knet.h>
using namespace knet;

// CHECK-LABEL: func.func @unary(
KNET_COMPILE Tensor unary(Tensor x) {
  // CHECK: knet.exp
  // CHECK: knet.log
  // CHECK: knet.log1p
  // CHECK: knet.sqrt
  // CHECK: knet.rsqrt
  // CHECK: knet.abs
  // CHECK: knet.sin
  // CHECK: knet.cos
  // CHECK: knet.tanh
  // CHECK: knet.sigm
  // CHECK: knet.relu
  // CHECK: knet.elu
  // CHECK: knet.selu
  // CHECK: knet.gelu
  // CHECK: knet.softplus
  // CHECK: knet.swish
  // CHECK: knet.sign
  // CHECK: knet.zeros_like
  // CHECK: knet.ones_like
  // CHECK: knet.mat
  return mat(ones_like(zeros_like(sign(swish(softplus(gelu(selu(elu(relu(
      sigm(tanh(cos(sin(abs(rsqrt(sqrt(log1p(log(exp(x))))))))))))))))))));
}

// CHECK-LABEL: func.func @binary(
KNET_COMPILE Tensor binary(Tensor a, Tensor b) {
  // CHECK: knet.add
  // CHECK: knet.sub
  // CHECK: knet.mul
  // CHECK: knet.div
  // CHECK: knet.pow
  // CHECK: knet.maximum
  // CHECK: knet.minimum
  Tensor r = minimum(maximum(pow((a + b - a) * b / a, 2.0), a), b);
  // CHECK: %[[LT:.*]] = knet.lt %{{.*}}, %{{.*}} : tensor<*xf32>, tensor<*xf32> -> tensor<*xi1>
  // CHECK: knet.where %[[LT]], %{{.*}}, %{{.*}} : tensor<*xi1>, tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  r = where(a < b, r, a);
  // CHECK: knet.eq
  // CHECK: knet.ne
  // CHECK: knet.le
  // CHECK: knet.gt
  // CHECK: knet.ge
  Tensor c = where(a == b, a, b) + where(a != b, a, b) + where(a <= b, a, b) +
             where(a > 0.0, a, b) + where(a >= 1.0, a, b);
  return r + c;
}

// CHECK-LABEL: func.func @reductions(
KNET_COMPILE Tensor reductions(Tensor x) {
  // CHECK: knet.sum %{{.*}} : tensor<*xf32> -> tensor<*xf32>
  // CHECK: knet.mean %{{.*}} dims [1] keepdim : tensor<*xf32> -> tensor<*xf32>
  // CHECK: knet.max %{{.*}} dims [0, 1] : tensor<*xf32> -> tensor<*xf32>
  // CHECK: knet.min
  Tensor s = sum(x) + mean(x, {1}, true) + max(x, {0, 1}) + min(x);
  // CHECK: knet.argmax %{{.*}} dim 1 : tensor<*xf32> -> tensor<*xi64>
  // CHECK: knet.logsumexp %{{.*}} dim -1 keepdim
  // CHECK: knet.softmax %{{.*}} dim 1
  // CHECK: knet.logsoftmax %{{.*}} dim 1
  // CHECK: knet.logsoftmax %{{.*}} dim 0
  Tensor i = argmax(x, 1);
  return s + logsumexp(x, -1, true) + softmax(x, 1) + logsoftmax(x, 1) +
         logp(x, 0);
}

// CHECK-LABEL: func.func @losses(
// CHECK-SAME: %[[L:arg[0-9]+]]: tensor<*xi64> {knet.name = "labels"}
KNET_COMPILE Tensor losses(Tensor s, Tensor labels, Tensor y01) {
  // CHECK: knet.nll %{{.*}}, %[[L]] : tensor<*xf32>, tensor<*xi64>
  // CHECK: knet.nll %{{.*}}, %[[L]] {average = false}
  // CHECK: knet.bce
  // CHECK: knet.logistic
  // CHECK: knet.accuracy %{{.*}}, %[[L]]
  Tensor l = nll(s, labels) + nll(s, labels, {.average = false}) + bce(s, y01) +
             logistic(s, y01);
  return l * accuracy(s, labels);
}

// CHECK-LABEL: func.func @layers(
KNET_COMPILE Tensor layers(Tensor x, Tensor w, Tensor w2, Tensor bn, Tensor table, Tensor ids,
                           Moments &m) {
  // CHECK: knet.conv2d %{{.*}}, %{{.*}} padding 1 stride 2 :
  // CHECK: knet.conv2d %{{.*}}, %{{.*}} :
  // CHECK: knet.deconv2d %{{.*}}, %{{.*}} groups 2 :
  // CHECK: knet.pool %{{.*}} window 3 mode avg :
  // CHECK: knet.pool %{{.*}} :
  // CHECK: knet.unpool
  Tensor c = conv2d(x, w, {.padding = 1, .stride = 2}) + conv2d(x, w) +
             deconv2d(x, w2, {.groups = 2});
  Tensor p = pool(c, {.window = 3, .mode = PoolMode::avg}) + pool(c) + unpool(c);
  // CHECK: knet.batchnorm %{{.*}}, %{{.*}}, %{{.*}} {eps = 1.000000e-03 : f64, training = true}
  // CHECK: knet.dropout %{{.*}} p 2.500000e-01
  // CHECK: knet.embedding
  // CHECK: knet.linear %{{.*}}, %{{.*}} : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  Tensor b = batchnorm(p, m, bn, {.training = true, .eps = 1e-3});
  return dropout(b, 0.25) + embedding(table, ids) + linear(x, w);
}
