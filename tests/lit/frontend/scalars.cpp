// Scalar locals (float, double, integer, bool), reassignment, compound
// assignment and increments become arith ops in SSA form. Integers have
// their C++ width; signed arithmetic at int's rank cannot overflow (nsw).
// RUN: %knetc --emit=ir %s | FileCheck %s
#include <knet/knet.h>
using namespace knet;

// CHECK-LABEL: func.func @arith(
// CHECK-SAME: %[[A:.*]]: f64 {knet.name = "a"}, %[[N:.*]]: i32 {knet.name = "n"}, %[[F:.*]]: f32 {knet.name = "f"}, %[[B:.*]]: i1 {knet.name = "b"}) -> f64
KNET_COMPILE double arith(double a, int n, float f, bool b) {
  // CHECK: %[[C:.*]] = arith.constant 2 : i32
  // CHECK: %[[K:.*]] = arith.muli %[[N]], %[[C]] overflow<nsw> : i32
  int k = n * 2;
  // CHECK: %[[K1:.*]] = arith.addi %[[K]], %{{.*}} overflow<nsw> : i32
  k += 1;
  // CHECK: %[[K2:.*]] = arith.addi %[[K1]], %{{.*}} overflow<nsw> : i32
  ++k;
  // CHECK: %[[FE:.*]] = arith.extf %[[F]] : f32 to f64
  // CHECK: %[[S:.*]] = arith.addf %[[A]], %[[FE]] : f64
  double s = a + f;
  // CHECK: %[[KF:.*]] = arith.sitofp %[[K2]] : i32 to f64
  // CHECK: %[[S2:.*]] = arith.mulf %[[S]], %[[KF]] : f64
  s *= k;
  // CHECK: %[[SEL:.*]] = scf.if %[[B]] -> (f64)
  if (b)
    s = -s;
  // CHECK: return %[[SEL]] : f64
  return s;
}
