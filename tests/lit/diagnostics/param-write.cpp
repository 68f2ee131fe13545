// Writing a Param's value inside a compiled function is an error in either
// mode: Clang's file:line:col form with a caret, exit status 1.
// RUN: not %knetc --emit=ir %s 2>&1 | FileCheck %s
#include <knet/knet.h>
using namespace knet;

KNET_COMPILE Tensor assign(Param w, Tensor x) {
  // CHECK: param-write.cpp:[[@LINE+3]]:13: error: a Param's value is read-only inside a KNET_COMPILE function
  // CHECK-NEXT: {{^}}{{ +}}[[@LINE+2]] |   w.value() = x;
  // CHECK-NEXT: {{^}}{{ +}}|             ^
  w.value() = x;
  return x;
}

static void reset(Tensor &t) { t = zeros_like(t); }

KNET_COMPILE Tensor through_ref(Param w, Tensor x) {
  // CHECK: param-write.cpp:[[@LINE+1]]:11: error: a Param's value is read-only inside a KNET_COMPILE function; it is passed here to 'reset'
  reset(w.value());
  return x;
}
// CHECK: 2 errors generated.
