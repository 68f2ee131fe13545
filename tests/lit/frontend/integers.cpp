// C++ integers keep their width (char i8, short i16, int i32, long long
// i64) in the signless IR; the C++ type's signedness picks the op: unsigned
// division, remainder, shifts and comparisons, zero extension, fptoui.
// Signed arithmetic at int's rank is nsw (overflow is undefined in C++);
// unsigned arithmetic wraps (no flag). A default-constructed Tensor is
// knet.undefined.
// RUN: %knetc --emit=ir %s | FileCheck %s
#include <cstdint>
#include <knet/knet.h>
using namespace knet;

// CHECK-LABEL: func.func @widths(
// CHECK-SAME: %[[U:.*]]: i32 {knet.name = "u"}, %[[C:.*]]: i8 {knet.name = "c"}, %[[S:.*]]: i16 {knet.name = "s"}, %[[L:.*]]: i64 {knet.name = "l"}) -> i64
KNET_COMPILE int64_t widths(unsigned u, unsigned char c, short s,
                            long long l) {
  // CHECK: %[[D:.*]] = arith.divui %[[U]], %{{.*}} : i32
  // CHECK: arith.remui %[[D]], %{{.*}} : i32
  unsigned q = u / 7u % 5u;
  // CHECK: %[[CE:.*]] = arith.extui %[[C]] : i8 to i32
  // CHECK: %[[SE:.*]] = arith.extsi %[[S]] : i16 to i32
  // CHECK: arith.addi %[[CE]], %[[SE]] overflow<nsw> : i32
  int d = c + s;
  // CHECK: %[[W:.*]] = arith.addi %{{.*}}, %{{.*}} overflow<nsw> : i32
  // CHECK: arith.trunci %[[W]] : i32 to i8
  unsigned char w = c;
  w += 10;
  // CHECK: arith.subi %{{.*}}, %{{.*}} : i32
  unsigned m = 0u - u;
  // CHECK: arith.shrsi %[[L]], %{{.*}} : i64
  // CHECK: arith.shrui %[[U]], %{{.*}} : i32
  // CHECK: arith.cmpi ult, %[[U]], %{{.*}} : i32
  // CHECK: %[[T:.*]] = arith.trunci %[[L]] : i64 to i32
  // CHECK: arith.extsi %[[T]] : i32 to i64
  return (int64_t)q + d + m + (l >> 2) + (u >> 1) + (u < 3u) + w + (int)l;
}

// CHECK-LABEL: func.func @conversions(
KNET_COMPILE int64_t conversions(double x, int8_t i) {
  // CHECK: arith.fptoui %{{.*}} : f64 to i32
  unsigned k = (unsigned)x;
  // CHECK: %[[I16:.*]] = arith.extsi %{{.*}} : i8 to i16
  // CHECK: arith.extui %[[I16]] : i16 to i64
  // CHECK: arith.sitofp %{{.*}} : i8 to f32
  return (int64_t)k + (uint16_t)i + (int64_t)(float)i;
}

// Constants take their type's width and wrap as C++ converts them.
// CHECK-LABEL: func.func @constants(
KNET_COMPILE int64_t constants() {
  // CHECK-DAG: arith.constant -1 : i32
  // CHECK-DAG: arith.constant 4294967297 : i64
  unsigned u = 0xFFFFFFFFu;
  long long big = 4294967297LL;
  return u + big;
}

// CHECK-LABEL: func.func @undefined_tensor(
// CHECK: %[[T:.*]] = knet.undefined : tensor<*xf32>
// CHECK: return %[[T]]
KNET_COMPILE Tensor undefined_tensor(const Tensor &x) {
  Tensor t;
  (void)x;
  return t;
}
