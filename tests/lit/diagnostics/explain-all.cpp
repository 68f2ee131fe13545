// --explain lists every reason a function stays on the tape, each with its
// line: after a statement that stays on the tape, the later statements of
// the body are still examined unless they use what a blocked statement
// declares or assigns.
// RUN: %knetc --explain %s | FileCheck %s
#include <knet/knet.h>
#include <vector>
using namespace knet;

Tensor external_layer(const Tensor &x);
int external_count();

// CHECK: explain-all.cpp:[[@LINE+5]]: four: stays on the tape: {{.*}}explain-all.cpp:[[@LINE+6]]: calls 'external_layer', whose body is not visible
// CHECK-NEXT: and: {{.*}}explain-all.cpp:[[@LINE+9]]: calls 'external_count', whose body is not visible
// CHECK-NEXT: and: {{.*}}explain-all.cpp:[[@LINE+9]]: recursive call to 'four'
// CHECK-NEXT: and: {{.*}}explain-all.cpp:[[@LINE+9]]: calls 'external_layer', whose body is not visible
// CHECK-NOT: and:
KNET_COMPILE Tensor four(Tensor x, int n) {
  Tensor a = external_layer(x);
  // Uses a: not examined (it would only repeat the first reason).
  Tensor b = a * 2.0;
  Tensor c = tanh(x);
  int k = external_count();
  Tensor d = n > 0 ? four(c, n - 1) : c;
  Tensor e = external_layer(c);
  // Uses d: not examined.
  Tensor f = external_layer(d);
  return sum(b) + sum(e) + sum(f) + static_cast<double>(k);
}

// One reason, one line.
// CHECK: explain-all.cpp:[[@LINE+3]]: one: stays on the tape: {{.*}}explain-all.cpp:[[@LINE+5]]: calls 'external_layer'
// CHECK-NOT: and:
// CHECK: one_ok: compiled statically
KNET_COMPILE Tensor one(Tensor x) {
  Tensor y = tanh(x);
  return sum(external_layer(y));
}
KNET_COMPILE Tensor one_ok(Tensor x) { return sum(x); }
