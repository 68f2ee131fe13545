// Round trip of the elementwise ops: parse, print, parse again (and through
// the generic form); the printed text is checked.
// RUN: %knet-opt %s | %knet-opt | FileCheck %s
// RUN: %knet-opt %s -mlir-print-op-generic | %knet-opt | FileCheck %s

// CHECK-LABEL: func.func @unary
func.func @unary(%x: tensor<?x4xf32>, %i: tensor<3xi64>, %d: tensor<*xf64>) {
  // CHECK-NEXT: knet.exp %{{.*}} : tensor<?x4xf32>
  %exp = knet.exp %x : tensor<?x4xf32>
  // CHECK-NEXT: knet.log %{{.*}} : tensor<?x4xf32>
  %log = knet.log %x : tensor<?x4xf32>
  // CHECK-NEXT: knet.log1p %{{.*}} : tensor<?x4xf32>
  %log1p = knet.log1p %x : tensor<?x4xf32>
  // CHECK-NEXT: knet.sqrt %{{.*}} : tensor<?x4xf32>
  %sqrt = knet.sqrt %x : tensor<?x4xf32>
  // CHECK-NEXT: knet.rsqrt %{{.*}} : tensor<?x4xf32>
  %rsqrt = knet.rsqrt %x : tensor<?x4xf32>
  // CHECK-NEXT: knet.sin %{{.*}} : tensor<?x4xf32>
  %sin = knet.sin %x : tensor<?x4xf32>
  // CHECK-NEXT: knet.cos %{{.*}} : tensor<?x4xf32>
  %cos = knet.cos %x : tensor<?x4xf32>
  // CHECK-NEXT: knet.tanh %{{.*}} : tensor<?x4xf32>
  %tanh = knet.tanh %x : tensor<?x4xf32>
  // CHECK-NEXT: knet.sigm %{{.*}} : tensor<?x4xf32>
  %sigm = knet.sigm %x : tensor<?x4xf32>
  // CHECK-NEXT: knet.relu %{{.*}} : tensor<?x4xf32>
  %relu = knet.relu %x : tensor<?x4xf32>
  // CHECK-NEXT: knet.elu %{{.*}} : tensor<?x4xf32>
  %elu = knet.elu %x : tensor<?x4xf32>
  // CHECK-NEXT: knet.selu %{{.*}} : tensor<?x4xf32>
  %selu = knet.selu %x : tensor<?x4xf32>
  // CHECK-NEXT: knet.gelu %{{.*}} : tensor<?x4xf32>
  %gelu = knet.gelu %x : tensor<?x4xf32>
  // CHECK-NEXT: knet.softplus %{{.*}} : tensor<?x4xf32>
  %softplus = knet.softplus %x : tensor<?x4xf32>
  // CHECK-NEXT: knet.swish %{{.*}} : tensor<?x4xf32>
  %swish = knet.swish %x : tensor<?x4xf32>
  // CHECK-NEXT: knet.neg %{{.*}} : tensor<3xi64>
  %neg = knet.neg %i : tensor<3xi64>
  // CHECK-NEXT: knet.abs %{{.*}} : tensor<3xi64>
  %abs = knet.abs %i : tensor<3xi64>
  // CHECK-NEXT: knet.sign %{{.*}} : tensor<3xi64>
  %sign = knet.sign %i : tensor<3xi64>
  // CHECK-NEXT: knet.tanh %{{.*}} : tensor<*xf64>
  %t = knet.tanh %d : tensor<*xf64>
  return
}

// CHECK-LABEL: func.func @binary
func.func @binary(%a: tensor<?x4xf32>, %b: tensor<4xf32>, %s: tensor<f32>, %i: tensor<2x3xi64>, %j: tensor<*xi64>) {
  // CHECK-NEXT: knet.add %{{.*}}, %{{.*}} : tensor<?x4xf32>, tensor<4xf32> -> tensor<?x4xf32>
  %add = knet.add %a, %b : tensor<?x4xf32>, tensor<4xf32> -> tensor<?x4xf32>
  // CHECK-NEXT: knet.sub %{{.*}}, %{{.*}} : tensor<?x4xf32>, tensor<4xf32> -> tensor<?x4xf32>
  %sub = knet.sub %a, %b : tensor<?x4xf32>, tensor<4xf32> -> tensor<?x4xf32>
  // CHECK-NEXT: knet.mul %{{.*}}, %{{.*}} : tensor<?x4xf32>, tensor<4xf32> -> tensor<?x4xf32>
  %mul = knet.mul %a, %b : tensor<?x4xf32>, tensor<4xf32> -> tensor<?x4xf32>
  // CHECK-NEXT: knet.div %{{.*}}, %{{.*}} : tensor<?x4xf32>, tensor<4xf32> -> tensor<?x4xf32>
  %div = knet.div %a, %b : tensor<?x4xf32>, tensor<4xf32> -> tensor<?x4xf32>
  // CHECK-NEXT: knet.maximum %{{.*}}, %{{.*}} : tensor<?x4xf32>, tensor<4xf32> -> tensor<?x4xf32>
  %maximum = knet.maximum %a, %b : tensor<?x4xf32>, tensor<4xf32> -> tensor<?x4xf32>
  // CHECK-NEXT: knet.minimum %{{.*}}, %{{.*}} : tensor<?x4xf32>, tensor<4xf32> -> tensor<?x4xf32>
  %minimum = knet.minimum %a, %b : tensor<?x4xf32>, tensor<4xf32> -> tensor<?x4xf32>
  // CHECK-NEXT: knet.pow %{{.*}}, %{{.*}} : tensor<?x4xf32>, tensor<f32> -> tensor<?x4xf32>
  %pow = knet.pow %a, %s : tensor<?x4xf32>, tensor<f32> -> tensor<?x4xf32>
  // CHECK-NEXT: knet.add %{{.*}}, %{{.*}} : tensor<2x3xi64>, tensor<*xi64> -> tensor<*xi64>
  %iadd = knet.add %i, %j : tensor<2x3xi64>, tensor<*xi64> -> tensor<*xi64>
  // CHECK-NEXT: knet.mul %{{.*}}, %{{.*}} : tensor<f32>, tensor<?x4xf32> -> tensor<?x4xf32>
  %smul = knet.mul %s, %a : tensor<f32>, tensor<?x4xf32> -> tensor<?x4xf32>
  // CHECK-NEXT: knet.eq %{{.*}}, %{{.*}} : tensor<?x4xf32>, tensor<f32> -> tensor<?x4xi1>
  %eq = knet.eq %a, %s : tensor<?x4xf32>, tensor<f32> -> tensor<?x4xi1>
  // CHECK-NEXT: knet.ne %{{.*}}, %{{.*}} : tensor<?x4xf32>, tensor<f32> -> tensor<?x4xi1>
  %ne = knet.ne %a, %s : tensor<?x4xf32>, tensor<f32> -> tensor<?x4xi1>
  // CHECK-NEXT: knet.lt %{{.*}}, %{{.*}} : tensor<?x4xf32>, tensor<f32> -> tensor<?x4xi1>
  %lt = knet.lt %a, %s : tensor<?x4xf32>, tensor<f32> -> tensor<?x4xi1>
  // CHECK-NEXT: knet.le %{{.*}}, %{{.*}} : tensor<?x4xf32>, tensor<f32> -> tensor<?x4xi1>
  %le = knet.le %a, %s : tensor<?x4xf32>, tensor<f32> -> tensor<?x4xi1>
  // CHECK-NEXT: knet.gt %{{.*}}, %{{.*}} : tensor<?x4xf32>, tensor<f32> -> tensor<?x4xi1>
  %gt = knet.gt %a, %s : tensor<?x4xf32>, tensor<f32> -> tensor<?x4xi1>
  // CHECK-NEXT: knet.ge %{{.*}}, %{{.*}} : tensor<?x4xf32>, tensor<f32> -> tensor<?x4xi1>
  %ge = knet.ge %a, %s : tensor<?x4xf32>, tensor<f32> -> tensor<?x4xi1>
  // CHECK-NEXT: knet.where %{{.*}}, %{{.*}}, %{{.*}} : tensor<?x4xi1>, tensor<?x4xf32>, tensor<f32> -> tensor<?x4xf32>
  %w = knet.where %lt, %a, %s : tensor<?x4xi1>, tensor<?x4xf32>, tensor<f32> -> tensor<?x4xf32>
  return
}

// CHECK-LABEL: func.func @backward
func.func @backward(%dy: tensor<?x4xf32>, %v: tensor<?x4xf32>) {
  // CHECK-NEXT: knet.relu_back %{{.*}}, %{{.*}} : tensor<?x4xf32>, tensor<?x4xf32> -> tensor<?x4xf32>
  %relu_back = knet.relu_back %dy, %v : tensor<?x4xf32>, tensor<?x4xf32> -> tensor<?x4xf32>
  // CHECK-NEXT: knet.sigm_back %{{.*}}, %{{.*}} : tensor<?x4xf32>, tensor<?x4xf32> -> tensor<?x4xf32>
  %sigm_back = knet.sigm_back %dy, %v : tensor<?x4xf32>, tensor<?x4xf32> -> tensor<?x4xf32>
  // CHECK-NEXT: knet.tanh_back %{{.*}}, %{{.*}} : tensor<?x4xf32>, tensor<?x4xf32> -> tensor<?x4xf32>
  %tanh_back = knet.tanh_back %dy, %v : tensor<?x4xf32>, tensor<?x4xf32> -> tensor<?x4xf32>
  // CHECK-NEXT: knet.elu_back %{{.*}}, %{{.*}} : tensor<?x4xf32>, tensor<?x4xf32> -> tensor<?x4xf32>
  %elu_back = knet.elu_back %dy, %v : tensor<?x4xf32>, tensor<?x4xf32> -> tensor<?x4xf32>
  // CHECK-NEXT: knet.selu_back %{{.*}}, %{{.*}} : tensor<?x4xf32>, tensor<?x4xf32> -> tensor<?x4xf32>
  %selu_back = knet.selu_back %dy, %v : tensor<?x4xf32>, tensor<?x4xf32> -> tensor<?x4xf32>
  // CHECK-NEXT: knet.gelu_back %{{.*}}, %{{.*}} : tensor<?x4xf32>, tensor<?x4xf32> -> tensor<?x4xf32>
  %gelu_back = knet.gelu_back %dy, %v : tensor<?x4xf32>, tensor<?x4xf32> -> tensor<?x4xf32>
  // CHECK-NEXT: knet.softplus_back %{{.*}}, %{{.*}} : tensor<?x4xf32>, tensor<?x4xf32> -> tensor<?x4xf32>
  %softplus_back = knet.softplus_back %dy, %v : tensor<?x4xf32>, tensor<?x4xf32> -> tensor<?x4xf32>
  // CHECK-NEXT: knet.swish_back %{{.*}}, %{{.*}} : tensor<?x4xf32>, tensor<?x4xf32> -> tensor<?x4xf32>
  %swish_back = knet.swish_back %dy, %v : tensor<?x4xf32>, tensor<?x4xf32> -> tensor<?x4xf32>
  return
}

// CHECK-LABEL: func.func @misc
func.func @misc(%x: tensor<?x4xf32>, %i: tensor<?xi64>, %f: f64) {
  // CHECK-NEXT: knet.cast %{{.*}} : tensor<?xi64> -> tensor<?xf32>
  %c = knet.cast %i : tensor<?xi64> -> tensor<?xf32>
  // CHECK-NEXT: knet.zeros_like %{{.*}} : tensor<?x4xf32>
  %z = knet.zeros_like %x : tensor<?x4xf32>
  // CHECK-NEXT: knet.ones_like %{{.*}} : tensor<?x4xf32>
  %o = knet.ones_like %x : tensor<?x4xf32>
  // CHECK-NEXT: knet.constant dense<2.000000e+00> : tensor<f32>
  %k = knet.constant dense<2.0> : tensor<f32>
  // CHECK-NEXT: knet.constant dense<[1, 2, 3]> : tensor<3xi64>
  %k2 = knet.constant dense<[1, 2, 3]> : tensor<3xi64>
  // CHECK-NEXT: knet.scalar %{{.*}} : f64 -> tensor<f32>
  %s = knet.scalar %f : f64 -> tensor<f32>
  // CHECK-NEXT: knet.item %{{.*}} : tensor<f32> -> f64
  %it = knet.item %s : tensor<f32> -> f64
  // CHECK-NEXT: knet.size %{{.*}}, 0 : tensor<?x4xf32>
  %n = knet.size %x, 0 : tensor<?x4xf32>
  // CHECK-NEXT: knet.size %{{.*}}, -1 : tensor<?x4xf32>
  %n2 = knet.size %x, -1 : tensor<?x4xf32>
  // CHECK-NEXT: knet.numel %{{.*}} : tensor<?x4xf32>
  %ne = knet.numel %x : tensor<?x4xf32>
  return
}
