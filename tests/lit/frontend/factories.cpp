// Tensor factories and named dtypes: Tensor::zeros/ones/full/empty with
// sizes computed from other tensors, x.dtype(), Tensor::to and
// Tensor::scalar with a dtype. The float element type stands for the run's
// float dtype; a dtype the code names is the op's attribute, passed to the
// runtime as written.
// RUN: %knetc --emit=ir %s | FileCheck %s
// RUN: %knetc --emit=ir %s | %knet-opt | FileCheck %s
// RUN: %knetc --emit=cpp %s | FileCheck %s --check-prefix=CPP
#include <knet/knet.h>
using namespace knet;

// CHECK-LABEL: func.func @zero_state(
// CHECK-SAME: %[[X:[^:]*]]: tensor<*xf32>
// CHECK: %[[B:.*]] = knet.size %[[X]], 1
// CHECK: %[[H:.*]] = arith.extsi %{{.*}} : i32 to i64
// CHECK: %[[Z:.*]] = arith.constant 0.000000e+00 : f64
// CHECK: %[[F:.*]] = knet.full %[[Z]](%[[B]], %[[H]]) {dtype = "f32"} : tensor<*xf32>
// CHECK: knet.cast_like %[[F]] like %[[X]]
// CHECK: knet.full %{{.*}}(%{{.*}}) {dtype = "f64"} : tensor<*xf32>
// CHECK: knet.full %{{.*}}(%{{.*}}) {dtype = "i64"} : tensor<*xi64>
// CPP-LABEL: knet_zero_state_forward(
// CPP: [[F:v[0-9]+]] = knet::Tensor::full({{[{]}}{{.*}}}, 0.0, knet::DType::f32);
// CPP-NEXT: [[F]].to(x.dtype());
// CPP: knet::Tensor::full({{[{]}}{{.*}}}, 1.0, knet::DType::f64)
// CPP: knet::Tensor::full({{[{]}}{{.*}}}, {{.*}}, knet::DType::i64)
KNET_COMPILE Tensor zero_state(const Tensor &x, int hidden, double v) {
  Tensor h = Tensor::zeros({x.size(1), hidden}, x.dtype());
  Tensor o = Tensor::ones({2}, DType::f64);
  Tensor n = Tensor::full({3}, v, DType::i64);
  return sum(h) + sum(o) + sum(n.to(DType::f64));
}

// CHECK-LABEL: func.func @named_dtypes(
// CHECK: knet.cast %{{.*}} {dtype = "f64"} : tensor<*xf32> -> tensor<*xf32>
// CHECK: knet.cast_like %{{.*}} like %{{.*}} : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
// CHECK: knet.scalar %{{.*}} {dtype = "f32"} : f64 -> tensor<f32>
// CPP-LABEL: knet_named_dtypes_forward(
// CPP: .to(knet::DType::f64)
// CPP: .to(x.dtype())
// CPP: knet::Tensor::scalar(2.5, knet::DType::f32)
KNET_COMPILE Tensor named_dtypes(const Tensor &x) {
  Tensor y = x.to(DType::f64) * 3.0;
  return sum(y.to(x.dtype()) * Tensor::scalar(2.5, DType::f32));
}

// The adjoint of a cast to a named dtype converts back to what x holds.
// CPP-LABEL: knet_named_dtypes_grad(
// CPP: = x.to(knet::DType::f64);
// CPP: [[Y:v[0-9]+]] = v{{[0-9]+}} * v{{[0-9]+}};
// CPP: .to([[Y]].dtype());
// CPP: .to(x.dtype());

// Tensor::from of constant data: a dense constant of the C++ element type,
// converted to exactly that dtype (f64 data is not rounded to f32).
// CHECK-LABEL: func.func @from_data(
// CHECK: %[[K:.*]] = knet.constant dense<{{\[}}[1.000000e-01, 2.000000e-01]]> : tensor<1x2xf64>
// CHECK: knet.cast %[[K]] {dtype = "f64"} : tensor<1x2xf64> -> tensor<*xf32>
// CHECK: knet.constant dense<[0, 1]> : tensor<2xi64>
KNET_COMPILE Tensor from_data(const Tensor &x) {
  Tensor w = Tensor::from<double>({0.1, 0.2}, {1, 2});
  Tensor ids = Tensor::from<int64_t>({0, 1}, {2});
  return sum(x * w) + nll(x, ids);
}
