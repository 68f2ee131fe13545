// What cannot be resolved statically stays on the tape; --explain names the
// function, the line and the reason. Statically resolvable callees of a
// function that stays on the tape still compile.
// RUN: %knetc --explain %s | FileCheck %s
// RUN: %knetc --emit=ir %s | FileCheck %s --check-prefix=IR
#include <knet/knet.h>
#include <vector>
using namespace knet;

// CHECK: fallback.cpp:[[@LINE+2]]: leaf: compiled statically
// IR: func.func @leaf(
KNET_COMPILE Tensor leaf(Tensor x) { return tanh(x); }

// Recursion.
// CHECK: fallback.cpp:[[@LINE+1]]: depth: stays on the tape: {{.*}}fallback.cpp:[[@LINE+3]]: recursive call to 'depth'
KNET_COMPILE Tensor depth(Tensor x, int n) {
  if (n == 0) return leaf(x);
  return depth(x * 0.5, n - 1);
}

// Mutual recursion through a helper.
static Tensor ping(Tensor x, int n);
static Tensor pong(Tensor x, int n) { return n > 0 ? ping(x, n - 1) : x; }
static Tensor ping(Tensor x, int n) { return pong(relu(x), n); }
// CHECK: fallback.cpp:[[@LINE+1]]: bounce: stays on the tape: {{.*}}fallback.cpp:[[@LINE-2]]: recursive call to 'ping'
KNET_COMPILE Tensor bounce(Tensor x) { return ping(x, 3); }

// A call into a body knetc cannot see.
Tensor external_layer(const Tensor &x);
// CHECK: fallback.cpp:[[@LINE+1]]: opaque: stays on the tape: {{.*}}fallback.cpp:[[@LINE+1]]: calls 'external_layer', whose body is not visible
KNET_COMPILE Tensor opaque(Tensor x) { return leaf(external_layer(x)); }

// A loop over a non-tensor container.
// CHECK: fallback.cpp:[[@LINE+1]]: scales: stays on the tape: {{.*}}fallback.cpp:[[@LINE+2]]: loop over a non-tensor container
KNET_COMPILE Tensor scales(Tensor x) {
  for (double s : {0.5, 2.0})
    x = x * s;
  return x;
}
// CHECK: fallback.cpp:[[@LINE+1]]: weighted: stays on the tape: {{.*}}fallback.cpp:[[@LINE+1]]: parameter 'ws': non-tensor container 'std::vector<double>'
KNET_COMPILE Tensor weighted(Tensor x, const std::vector<double> &ws) {
  return x * ws[0];
}

// Pointers to user data structures.
struct Tree {
  Tree *left, *right;
  Param w;
};
// CHECK: fallback.cpp:[[@LINE+1]]: walk: stays on the tape: {{.*}}fallback.cpp:[[@LINE+1]]: parameter 't': pointer to user data ('const Tree *')
KNET_COMPILE Tensor walk(const Tree *t, Tensor x) { return t ? matmul(x, t->w) : x; }

// A compiled caller of a function that stays on the tape stays there too.
// CHECK: fallback.cpp:[[@LINE+1]]: caller: stays on the tape: {{.*}}fallback.cpp:[[@LINE+1]]: calls 'depth', which stays on the tape
KNET_COMPILE Tensor caller(Tensor x) { return depth(x, 2) + leaf(x); }

// IR-NOT: func.func @depth
// IR-NOT: func.func @caller

// A non-const reference parameter: the caller must see what the body
// writes. A Tensor& comes back as a result; other references are not
// carried.
// CHECK: fallback.cpp:[[@LINE+1]]: carry: compiled statically
KNET_COMPILE Tensor carry(const Tensor &x, Tensor &h) {
  h = h + x;
  return sum(h);
}
// CHECK: fallback.cpp:[[@LINE+1]]: carry_scalar: stays on the tape: {{.*}}fallback.cpp:[[@LINE+1]]: parameter 's' is a non-const reference to something other than a Tensor (only a Tensor& is written back to the caller)
KNET_COMPILE Tensor carry_scalar(const Tensor &x, double &s) {
  s = s + 1.0;
  return sum(x) * s;
}
