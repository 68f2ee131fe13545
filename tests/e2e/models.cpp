// Models for the end-to-end test: built once through knet_compile (compiled
// adjoints) and once as plain C++ (the tape). Both programs gradcheck every
// model against central differences and print their values and gradients;
// compare.py checks that the two agree.
#include "models.h"

using namespace knet;

KNET_COMPILE Tensor mlp_loss(const Mlp &m, const Tensor &x, const Tensor &y) {
  Tensor h = relu(linear(x, m.w1, m.b1));
  return nll(linear(h, m.w2, m.b2), y);
}

static Tensor layer(const Tensor &x, const Tensor &w) {
  return tanh(matmul(x, w));
}

// A loop over a vector of Params through a helper function.
KNET_COMPILE Tensor deep_loss(const std::vector<Param> &ws, const Tensor &x) {
  Tensor h = x;
  for (size_t i = 0; i < ws.size(); ++i)
    h = layer(h, ws[i]);
  return sum(h * h);
}

// Control flow on scalars: counted loop, branches, continue, break, and an
// early return inside a loop.
KNET_COMPILE Tensor control(const Tensor &w, int n, double s) {
  Tensor acc = w * s;
  for (int i = 0; i < n; ++i) {
    if (i % 2 == 1)
      continue;
    acc = sin(acc) + w;
    if (i > 6)
      break;
  }
  int k = 0;
  while (k < 3) {
    acc = acc * 0.5 + exp(-acc * acc);
    ++k;
  }
  do {
    acc = acc + w * w;
    --k;
  } while (k > 1);
  for (int j = 0; j < 4; ++j)
    if (j == n)
      return sum(acc * acc);
  return s > 0 ? sum(acc) : sum(-acc);
}

// A data-dependent while loop.
KNET_COMPILE Tensor until_small(const Tensor &w) {
  Tensor h = w;
  int steps = 0;
  while (sum(h * h).item<double>() > 0.01 && steps < 20) {
    h = h * 0.5;
    ++steps;
  }
  return sum(h * w);
}

// The examples' models, small: LeNet's layers, softmax regression, linear
// regression, and the char-LSTM's cell (one matrix for all gates, sliced).
KNET_COMPILE Tensor lenet_loss(const LeNetSmall &m, const Tensor &x,
                               const Tensor &y) {
  Tensor h = pool(relu(conv2d(x, m.c1) + m.b1));
  h = pool(relu(conv2d(h, m.c2, {.padding = 1}) + m.b2),
           {.mode = PoolMode::avg});
  return nll(linear(mat(h), m.w, m.b), y);
}

KNET_COMPILE Tensor softmax_loss(const Param &w, const Param &b,
                                 const Tensor &x, const Tensor &y) {
  return nll(linear(mat(x), w, b), y);
}

KNET_COMPILE Tensor linreg_loss(const Param &w, const Param &b, const Tensor &x,
                                const Tensor &y) {
  Tensor d = linear(x, w, b) - y;
  return mean(d * d);
}

KNET_COMPILE Tensor lstm_loss(const Param &w, const Param &b, const Tensor &x,
                              const Tensor &h0, const Tensor &c0) {
  Tensor gates = linear(concat({x, h0}, 1), w, b);
  std::vector<Tensor> g = chunk(gates, 4, 1);
  Tensor c = sigm(g[1]) * c0 + sigm(g[0]) * tanh(g[3]);
  Tensor h = sigm(g[2]) * tanh(c);
  return sum(h * h) + sum(c);
}

// A compiled cell with a struct argument and a struct result, called from a
// recursion that stays on the tape (the hybrid: one node per call).
KNET_COMPILE Pair cell(const Tensor &w, const Pair &l, const Pair &r) {
  Tensor c = tanh(matmul(l.h + r.h, w)) + l.c * r.c;
  return Pair{sigm(c) * l.h, c};
}

Pair fold(const Tensor &w, const std::vector<Pair> &leaves, size_t lo,
          size_t hi) {
  if (hi - lo == 1)
    return leaves[lo];
  size_t mid = (lo + hi) / 2;
  return cell(w, fold(w, leaves, lo, mid), fold(w, leaves, mid, hi));
}

Tensor tree_loss(const Tensor &w, const Tensor &x) {
  std::vector<Pair> leaves;
  for (int64_t i = 0; i < x.size(0); ++i)
    leaves.push_back(Pair{x.slice(0, i, i + 1), sin(x.slice(0, i, i + 1))});
  Pair root = fold(w, leaves, 0, leaves.size());
  return sum(root.h * root.c);
}

// A scalar function: nested loops, a branch inside, a helper.
static double bump(double v) { return v * v / (1.0 + v * v); }

KNET_COMPILE double nested(double x, int n) {
  double acc = x;
  for (int i = 0; i < n; ++i)
    for (int j = 0; j <= i; ++j) {
      if ((i + j) % 2 == 0)
        acc = acc + bump(acc) * 0.5;
      else
        acc = std::sin(acc) + x;
    }
  return acc;
}

// Regressions: code knetc once compiled into something else than the tape.

// A non-scalar tensor returned early, taken or not, from a branch and from
// a loop (the gradient used to be zero: the inliner's canonicalization turns
// the return slot's scf.if into an arith.select of tensors, whose adjoint
// was dropped).
KNET_COMPILE Tensor early_return(const Tensor &x, const Tensor &w, int n) {
  Tensor h = x * w;
  if (n == 2)
    return h;
  return h * w;
}

KNET_COMPILE Tensor early_return_loop(const Tensor &x, const Tensor &w, int n) {
  Tensor h = x;
  for (int i = 0; i < 4; ++i) {
    h = h * w;
    if (i == n)
      return h;
  }
  return h + 1.0;
}

// C++ integer semantics: widths, unsigned wrap-around, conversions.
KNET_COMPILE int64_t unsigned_rem(int64_t k) {
  unsigned u = 0u - 1u;
  return u % 1000 + k;
}
KNET_COMPILE int narrow_add(int k) {
  unsigned char c = 255;
  c += k; // wraps in unsigned char
  return c + 3;
}
KNET_COMPILE int64_t truncating_cast(long long k) {
  long long v = 4294967297LL + k;
  return (int)v;
}
KNET_COMPILE int64_t unsigned_div(int k) { return 7u / (unsigned)(k - 3); }
KNET_COMPILE uint64_t wide_unsigned(uint64_t a) { return a * 3u + (a >> 1); }
KNET_COMPILE Tensor unsigned_scale(const Tensor &x, unsigned n) {
  signed char s = -100;
  unsigned short t = n;
  return x * (double)(n - 5u) + (double)(t < (unsigned)s) + (double)(s * 3);
}

// A default-constructed Tensor is undefined, as on the tape.
KNET_COMPILE Tensor undefined_unless(const Tensor &x, int n) {
  Tensor t;
  if (n > 1)
    t = x * 2.0;
  return t;
}

// keepdim over every dim of an unranked operand (min's adjoint).
KNET_COMPILE Tensor keepdim_all(const Tensor &x) {
  return mean(x, {1}, true) + min(x);
}

// Found by the differential tester: a function that returns its argument
// (the tape gave no gradient for it), and a constant f32 cannot hold that
// reaches an f64 tensor (it was rounded to f32 in the IR).
KNET_COMPILE Tensor returns_argument(const Tensor &p, int n) {
  if (n > 0)
    return p;
  return sin(p);
}
KNET_COMPILE Tensor exact_constant(const Tensor &x) { return sum(x * 0.083); }

// Found by the differential tester: a const reference parameter bound to
// the same variable as a non-const one sees the callee's writes through the
// other (the inlined callee read a snapshot).
static void grow(Tensor &acc, const Tensor &x) {
  acc = acc * 2.0;
  acc = acc + x; // x is acc here: 2x + 2x
}
KNET_COMPILE Tensor aliased_refs(Tensor x) {
  grow(x, x);
  return sum(x * x);
}

// Found by the differential tester (seed 9004, f140): an argument returned
// early from a do/while; on the path that does not return it, its gradient
// was the 0-d zero of the return slot, not zeros of its shape.
KNET_COMPILE Tensor early_argument(const Tensor &p, int n, const Tensor &x) {
  int64_t w = 0;
  do {
    ++w;
    if (n > 1)
      return p;
  } while (w < n);
  return x / 1.5;
}

// Found by the differential tester: a C++ float scalar rounds as a float
// (compiled code carried it in a double).
KNET_COMPILE double float_round(double s) {
  float f = (float)s;
  f = f * 3.0f;
  return f;
}
