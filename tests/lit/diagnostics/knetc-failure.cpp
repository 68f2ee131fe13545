// A failure inside knetc after the frontend (here forced with the test hook
// --knetc-test-fail, which makes the C++ emitter fail on a function) never
// breaks the build: the function, and any compiled function calling it,
// falls back to the tape with a warning in Clang's format at its line, knetc
// still writes the translation unit and exits 0, and --explain says so
// rather than "compiled statically".
// RUN: %knetc --knetc-test-fail=broken -o %t.cpp %s 2>&1 | FileCheck %s --check-prefix=WARN
// RUN: FileCheck %s --check-prefix=TU < %t.cpp
// RUN: not grep -E 'knet_(broken|caller)_forward' %t.cpp
// RUN: %knetc --knetc-test-fail=broken --explain %s 2>/dev/null | FileCheck %s --check-prefix=EXPLAIN
// Without the hook all three compile.
// RUN: %knetc --explain %s | FileCheck %s --check-prefix=ALL
#include <knet/knet.h>
using namespace knet;

// WARN: knetc-failure.cpp:[[@LINE+3]]:1: warning: knetc failed to compile 'broken' (a knetc bug, please report it); it runs on the tape instead: {{.*}}failing on purpose
// EXPLAIN: knetc-failure.cpp:[[@LINE+2]]: broken: stays on the tape: {{.*}}knetc-failure.cpp:[[@LINE+2]]: knetc failed on it (a knetc bug, please report it): {{.*}}failing on purpose
// ALL: knetc-failure.cpp:[[@LINE+1]]: broken: compiled statically
KNET_COMPILE Tensor broken(Tensor x) { return tanh(x) * 2.0; }

// EXPLAIN: knetc-failure.cpp:[[@LINE+2]]: caller: stays on the tape: {{.*}}knetc-failure.cpp:[[@LINE+2]]: it calls 'broken', which knetc failed on
// ALL: knetc-failure.cpp:[[@LINE+1]]: caller: compiled statically
KNET_COMPILE Tensor caller(Tensor x) { return sum(broken(x)); }

// EXPLAIN: knetc-failure.cpp:[[@LINE+2]]: fine: compiled statically
// ALL: knetc-failure.cpp:[[@LINE+1]]: fine: compiled statically
KNET_COMPILE Tensor fine(Tensor x) { return sum(relu(x)); }

// TU: knet_fine_forward
