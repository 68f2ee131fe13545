// Every rule that a user's code can break is checked at its line while
// lowering, so lowered IR that does not verify is a bug in knetc: an error
// that says so, naming the function and the op's place, and exit status 1
// (here forced with the test hook --knetc-test-invalid-ir).
// RUN: not %knetc --knetc-test-invalid-ir=broken -o %t.cpp %s 2>&1 | FileCheck %s
// RUN: not %knetc --knetc-test-invalid-ir=broken --explain %s 2>&1 | FileCheck %s
// Without the hook it compiles.
// RUN: %knetc --explain %s | FileCheck %s --check-prefix=OK
#include <knet/knet.h>
using namespace knet;

// CHECK: invalid-ir.cpp:[[@LINE+2]]:21: error: internal compiler error: the IR that knetc lowered from 'broken' does not verify (a bug in knetc, not in this code; please report it): {{.*}}invalid-ir.cpp{{.*}}
// OK: invalid-ir.cpp:[[@LINE+1]]: broken: compiled statically
KNET_COMPILE Tensor broken(Tensor x) { return tanh(x) * 2.0; }
