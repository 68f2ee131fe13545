// The scalar bodies (ScalarElementwiseOpInterface::buildScalar) of the
// elementwise ops, seen through knet-test-scalar-bodies, which wraps each op
// in a one-op knet.fused kernel; the kernels verify and round-trip.
// RUN: %knet-opt %s -knet-test-scalar-bodies | %knet-opt | FileCheck %s
// RUN: %knet-opt %s -knet-test-scalar-bodies | FileCheck %s --check-prefix=GONE
// GONE-NOT: = knet.{{[a-z_]+}} %arg

// CHECK-LABEL: func.func @unary
func.func @unary(%x: tensor<?x4xf32>) {
  // CHECK: knet.fused(%{{.*}}) : (tensor<?x4xf32>) -> tensor<?x4xf32>
  // CHECK: arith.negf
  %neg = knet.neg %x : tensor<?x4xf32>
  // CHECK: knet.fused(%{{.*}}) : (tensor<?x4xf32>) -> tensor<?x4xf32>
  // CHECK: math.absf
  %abs = knet.abs %x : tensor<?x4xf32>
  // CHECK: knet.fused(%{{.*}}) : (tensor<?x4xf32>) -> tensor<?x4xf32>
  // CHECK: arith.select
  %sign = knet.sign %x : tensor<?x4xf32>
  // CHECK: knet.fused(%{{.*}}) : (tensor<?x4xf32>) -> tensor<?x4xf32>
  // CHECK: math.exp
  %exp = knet.exp %x : tensor<?x4xf32>
  // CHECK: knet.fused(%{{.*}}) : (tensor<?x4xf32>) -> tensor<?x4xf32>
  // CHECK: math.log
  %log = knet.log %x : tensor<?x4xf32>
  // CHECK: knet.fused(%{{.*}}) : (tensor<?x4xf32>) -> tensor<?x4xf32>
  // CHECK: math.log1p
  %log1p = knet.log1p %x : tensor<?x4xf32>
  // CHECK: knet.fused(%{{.*}}) : (tensor<?x4xf32>) -> tensor<?x4xf32>
  // CHECK: math.sqrt
  %sqrt = knet.sqrt %x : tensor<?x4xf32>
  // CHECK: knet.fused(%{{.*}}) : (tensor<?x4xf32>) -> tensor<?x4xf32>
  // CHECK: math.rsqrt
  %rsqrt = knet.rsqrt %x : tensor<?x4xf32>
  // CHECK: knet.fused(%{{.*}}) : (tensor<?x4xf32>) -> tensor<?x4xf32>
  // CHECK: math.sin
  %sin = knet.sin %x : tensor<?x4xf32>
  // CHECK: knet.fused(%{{.*}}) : (tensor<?x4xf32>) -> tensor<?x4xf32>
  // CHECK: math.cos
  %cos = knet.cos %x : tensor<?x4xf32>
  // CHECK: knet.fused(%{{.*}}) : (tensor<?x4xf32>) -> tensor<?x4xf32>
  // CHECK: math.tanh
  %tanh = knet.tanh %x : tensor<?x4xf32>
  // CHECK: knet.fused(%{{.*}}) : (tensor<?x4xf32>) -> tensor<?x4xf32>
  // CHECK: math.exp
  %sigm = knet.sigm %x : tensor<?x4xf32>
  // CHECK: knet.fused(%{{.*}}) : (tensor<?x4xf32>) -> tensor<?x4xf32>
  // CHECK: arith.cmpf ogt
  %relu = knet.relu %x : tensor<?x4xf32>
  // CHECK: knet.fused(%{{.*}}) : (tensor<?x4xf32>) -> tensor<?x4xf32>
  // CHECK: math.expm1
  %elu = knet.elu %x : tensor<?x4xf32>
  // CHECK: knet.fused(%{{.*}}) : (tensor<?x4xf32>) -> tensor<?x4xf32>
  // CHECK: math.expm1
  %selu = knet.selu %x : tensor<?x4xf32>
  // CHECK: knet.fused(%{{.*}}) : (tensor<?x4xf32>) -> tensor<?x4xf32>
  // CHECK: math.tanh
  %gelu = knet.gelu %x : tensor<?x4xf32>
  // CHECK: knet.fused(%{{.*}}) : (tensor<?x4xf32>) -> tensor<?x4xf32>
  // CHECK: math.log1p
  %softplus = knet.softplus %x : tensor<?x4xf32>
  // CHECK: knet.fused(%{{.*}}) : (tensor<?x4xf32>) -> tensor<?x4xf32>
  // CHECK: math.exp
  %swish = knet.swish %x : tensor<?x4xf32>
  return
}

// CHECK-LABEL: func.func @binary
func.func @binary(%a: tensor<?x4xf32>, %b: tensor<4xf32>) {
  // CHECK: knet.fused(%{{.*}}, %{{.*}}) : (tensor<?x4xf32>, tensor<4xf32>) -> tensor<?x4xf32> {
  // CHECK-NEXT: ^bb0(%[[A:.*]]: f32, %[[B:.*]]: f32):
  // CHECK-NEXT: %[[S:.*]] = arith.addf %[[A]], %[[B]] : f32
  // CHECK-NEXT: knet.yield %[[S]] : f32
  %first = knet.add %a, %b : tensor<?x4xf32>, tensor<4xf32> -> tensor<?x4xf32>
  // CHECK: knet.fused
  // CHECK: arith.addf
  %add = knet.add %a, %b : tensor<?x4xf32>, tensor<4xf32> -> tensor<?x4xf32>
  // CHECK: knet.fused
  // CHECK: arith.subf
  %sub = knet.sub %a, %b : tensor<?x4xf32>, tensor<4xf32> -> tensor<?x4xf32>
  // CHECK: knet.fused
  // CHECK: arith.mulf
  %mul = knet.mul %a, %b : tensor<?x4xf32>, tensor<4xf32> -> tensor<?x4xf32>
  // CHECK: knet.fused
  // CHECK: arith.divf
  %div = knet.div %a, %b : tensor<?x4xf32>, tensor<4xf32> -> tensor<?x4xf32>
  // CHECK: knet.fused
  // CHECK: math.powf
  %pow = knet.pow %a, %b : tensor<?x4xf32>, tensor<4xf32> -> tensor<?x4xf32>
  // CHECK: knet.fused
  // CHECK: arith.maximumf
  %maximum = knet.maximum %a, %b : tensor<?x4xf32>, tensor<4xf32> -> tensor<?x4xf32>
  // CHECK: knet.fused
  // CHECK: arith.minimumf
  %minimum = knet.minimum %a, %b : tensor<?x4xf32>, tensor<4xf32> -> tensor<?x4xf32>
  // CHECK: knet.fused(%{{.*}}, %{{.*}}) : (tensor<?x4xf32>, tensor<4xf32>) -> tensor<?x4xi1>
  // CHECK: arith.cmpf oeq
  %eq = knet.eq %a, %b : tensor<?x4xf32>, tensor<4xf32> -> tensor<?x4xi1>
  // CHECK: knet.fused(%{{.*}}, %{{.*}}) : (tensor<?x4xf32>, tensor<4xf32>) -> tensor<?x4xi1>
  // CHECK: arith.cmpf une
  %ne = knet.ne %a, %b : tensor<?x4xf32>, tensor<4xf32> -> tensor<?x4xi1>
  // CHECK: knet.fused(%{{.*}}, %{{.*}}) : (tensor<?x4xf32>, tensor<4xf32>) -> tensor<?x4xi1>
  // CHECK: arith.cmpf olt
  %lt = knet.lt %a, %b : tensor<?x4xf32>, tensor<4xf32> -> tensor<?x4xi1>
  // CHECK: knet.fused(%{{.*}}, %{{.*}}) : (tensor<?x4xf32>, tensor<4xf32>) -> tensor<?x4xi1>
  // CHECK: arith.cmpf ole
  %le = knet.le %a, %b : tensor<?x4xf32>, tensor<4xf32> -> tensor<?x4xi1>
  // CHECK: knet.fused(%{{.*}}, %{{.*}}) : (tensor<?x4xf32>, tensor<4xf32>) -> tensor<?x4xi1>
  // CHECK: arith.cmpf ogt
  %gt = knet.gt %a, %b : tensor<?x4xf32>, tensor<4xf32> -> tensor<?x4xi1>
  // CHECK: knet.fused(%{{.*}}, %{{.*}}) : (tensor<?x4xf32>, tensor<4xf32>) -> tensor<?x4xi1>
  // CHECK: arith.cmpf oge
  %ge = knet.ge %a, %b : tensor<?x4xf32>, tensor<4xf32> -> tensor<?x4xi1>
  // CHECK: knet.fused(%{{.*}}, %{{.*}}, %{{.*}}) : (tensor<?x4xi1>, tensor<?x4xf32>, tensor<4xf32>) -> tensor<?x4xf32>
  // CHECK: arith.select
  %where = knet.where %lt, %a, %b : tensor<?x4xi1>, tensor<?x4xf32>, tensor<4xf32> -> tensor<?x4xf32>
  // CHECK: knet.fused
  // CHECK: arith.select
  %relu_back = knet.relu_back %a, %a : tensor<?x4xf32>, tensor<?x4xf32> -> tensor<?x4xf32>
  // CHECK: knet.fused
  // CHECK: arith.mulf
  %sigm_back = knet.sigm_back %a, %a : tensor<?x4xf32>, tensor<?x4xf32> -> tensor<?x4xf32>
  // CHECK: knet.fused
  // CHECK: arith.subf
  %tanh_back = knet.tanh_back %a, %a : tensor<?x4xf32>, tensor<?x4xf32> -> tensor<?x4xf32>
  // CHECK: knet.fused
  // CHECK: math.exp
  %elu_back = knet.elu_back %a, %a : tensor<?x4xf32>, tensor<?x4xf32> -> tensor<?x4xf32>
  // CHECK: knet.fused
  // CHECK: math.exp
  %selu_back = knet.selu_back %a, %a : tensor<?x4xf32>, tensor<?x4xf32> -> tensor<?x4xf32>
  // CHECK: knet.fused
  // CHECK: math.tanh
  %gelu_back = knet.gelu_back %a, %a : tensor<?x4xf32>, tensor<?x4xf32> -> tensor<?x4xf32>
  // CHECK: knet.fused
  // CHECK: math.exp
  %softplus_back = knet.softplus_back %a, %a : tensor<?x4xf32>, tensor<?x4xf32> -> tensor<?x4xf32>
  // CHECK: knet.fused
  // CHECK: math.exp
  %swish_back = knet.swish_back %a, %a : tensor<?x4xf32>, tensor<?x4xf32> -> tensor<?x4xf32>
  // CHECK: knet.fused
  // CHECK: arith.constant 2.000000e+00 : f32
  %dropout_back = knet.dropout_back %a, %a p 0.5 : tensor<?x4xf32>, tensor<?x4xf32> -> tensor<?x4xf32>
  return
}

// Integer and boolean elements, casts and fills.
// CHECK-LABEL: func.func @integers
func.func @integers(%i: tensor<3xi64>, %c: tensor<3xi1>, %f: tensor<3xf64>) {
  // CHECK: knet.fused
  // CHECK: arith.muli
  %mul = knet.mul %i, %i : tensor<3xi64>, tensor<3xi64> -> tensor<3xi64>
  // CHECK: knet.fused
  // CHECK: arith.divsi
  %div = knet.div %i, %i : tensor<3xi64>, tensor<3xi64> -> tensor<3xi64>
  // CHECK: knet.fused
  // CHECK: arith.maxsi
  %max = knet.maximum %i, %i : tensor<3xi64>, tensor<3xi64> -> tensor<3xi64>
  // CHECK: knet.fused
  // CHECK: math.absi
  %abs = knet.abs %i : tensor<3xi64>
  // CHECK: knet.fused
  // CHECK: arith.cmpi slt
  %lt = knet.lt %i, %i : tensor<3xi64>, tensor<3xi64> -> tensor<3xi1>
  // CHECK: knet.fused
  // CHECK: arith.sitofp %{{.*}} : i64 to f32
  %c1 = knet.cast %i : tensor<3xi64> -> tensor<3xf32>
  // CHECK: knet.fused
  // CHECK: arith.uitofp %{{.*}} : i1 to f64
  %c2 = knet.cast %c : tensor<3xi1> -> tensor<3xf64>
  // CHECK: knet.fused
  // CHECK: arith.truncf %{{.*}} : f64 to f32
  %c3 = knet.cast %f : tensor<3xf64> -> tensor<3xf32>
  // CHECK: knet.fused
  // CHECK: arith.cmpf une
  %c4 = knet.cast %f : tensor<3xf64> -> tensor<3xi1>
  // CHECK: knet.fused
  // CHECK: arith.constant 0 : i64
  %z = knet.zeros_like %i : tensor<3xi64>
  // CHECK: knet.fused
  // CHECK: arith.constant 1.000000e+00 : f64
  %o = knet.ones_like %f : tensor<3xf64>
  return
}
