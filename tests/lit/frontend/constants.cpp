// A float constant meeting a tensor is a 0-d tensor. The IR's f32 element
// type stands for the run-time dtype, so a constant that f32 cannot hold
// exactly is a knet.scalar of the f64 value (an f32 attribute would reach an
// f64 tensor rounded); one f32 holds exactly is a knet.constant.
// RUN: %knetc --emit=ir %s | FileCheck %s
#include <knet/knet.h>
using namespace knet;

// CHECK-LABEL: func.func @scale(
// CHECK-DAG: %[[C:.*]] = arith.constant 8.300000e-02 : f64
// CHECK-DAG: %[[S:.*]] = knet.scalar %[[C]] : f64 -> tensor<f32>
// CHECK-DAG: knet.mul %arg0, %[[S]]
// CHECK-DAG: %[[H:.*]] = knet.constant dense<5.000000e-01> : tensor<f32>
// CHECK-DAG: knet.mul %{{.*}}, %[[H]]
KNET_COMPILE Tensor scale(const Tensor &x) { return x * 0.083 * 0.5; }
