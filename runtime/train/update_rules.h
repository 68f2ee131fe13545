// The optimizers' per-element update rules (internal), stated once: the CPU
// loops of train/update_isa.inc run them, compiled for each instruction set.
// Each rule updates one value w and its state s[0..nbuf) in the value's
// dtype A (f32 or f64, as Knet computes them), given the (clipped) gradient
// g; its members are the step's constants, rounded to A. Always inlined:
// an out-of-line copy compiled for AVX-512 (core/isa_avx512.cpp) could be
// the one the linker keeps for every caller. `cost` is the
// per-element cost of its loop for parallel_for: 1 for a multiply-add per
// value, 16 for rules that divide or take square roots (measured: SGD over
// 8000 values takes 0.7 us on one thread and more on two; Adam over 8000
// takes 6.3 us on one thread and 4.3 on two).
#pragma once

#include <cmath>
#include <cstdint>

namespace knet::detail {

struct SgdRule {
  static constexpr int nbuf = 0;
  static constexpr int64_t cost = 1;
  double lr;
  template <class A>
  [[gnu::always_inline]] void operator()(A &w, A g, A *) const {
    w -= A(lr) * g;
  }
};

struct MomentumRule {
  static constexpr int nbuf = 1;
  static constexpr int64_t cost = 2;
  double lr, gamma;
  template <class A>
  [[gnu::always_inline]] void operator()(A &w, A g, A *s) const {
    A &v = s[0];
    v = A(gamma) * v - A(lr) * g;
    w += v;
  }
};

struct NesterovRule {
  static constexpr int nbuf = 1;
  static constexpr int64_t cost = 2;
  double lr, gamma;
  template <class A>
  [[gnu::always_inline]] void operator()(A &w, A g, A *s) const {
    A &v = s[0];
    v *= A(gamma);
    w -= v;
    v -= A(lr) * g;
    w += A(1 + gamma) * v;
  }
};

struct AdagradRule {
  static constexpr int nbuf = 1;
  static constexpr int64_t cost = 16;
  double lr, eps;
  template <class A>
  [[gnu::always_inline]] void operator()(A &w, A g, A *s) const {
    A &G = s[0];
    G += g * g;
    w -= A(lr) * g / std::sqrt(G + A(eps));
  }
};

struct RmspropRule {
  static constexpr int nbuf = 1;
  static constexpr int64_t cost = 16;
  double lr, rho, eps;
  template <class A>
  [[gnu::always_inline]] void operator()(A &w, A g, A *s) const {
    A &G = s[0];
    G = A(rho) * G + A(1 - rho) * g * g;
    w -= A(lr) * g / std::sqrt(G + A(eps));
  }
};

struct AdadeltaRule {
  static constexpr int nbuf = 2;
  static constexpr int64_t cost = 16;
  double lr, rho, eps;
  template <class A>
  [[gnu::always_inline]] void operator()(A &w, A g, A *s) const {
    A &G = s[0], &D = s[1];
    G = A(rho) * G + A(1 - rho) * g * g;
    A u = g * std::sqrt(D + A(eps)) / std::sqrt(G + A(eps));
    D = A(rho) * D + A(1 - rho) * u * u;
    w -= A(lr) * u;
  }
};

// c1, c2: the bias corrections 1 - beta^t of this step. The corrections
// fold into two constants, lr / c1 and 1 / sqrt(c2), so that each value
// takes one division and one square root (the divider was the loop's
// bottleneck with three divisions: 130 us for MLP's 51K values).
struct AdamRule {
  static constexpr int nbuf = 2;
  static constexpr int64_t cost = 16;
  double lr, b1, b2, eps, c1, c2;
  template <class A>
  [[gnu::always_inline]] void operator()(A &w, A g, A *s) const {
    A &m = s[0], &v = s[1];
    m = A(b1) * m + A(1 - b1) * g;
    v = A(b2) * v + A(1 - b2) * g * g;
    w -= A(lr / c1) * m / (std::sqrt(v) * A(1 / std::sqrt(c2)) + A(eps));
  }
};

#define KNET_UPDATE_RULES(X)                                                   \
  X(SgdRule, sgd)                                                              \
  X(MomentumRule, momentum)                                                    \
  X(NesterovRule, nesterov)                                                    \
  X(AdagradRule, adagrad)                                                      \
  X(RmspropRule, rmsprop)                                                      \
  X(AdadeltaRule, adadelta)                                                    \
  X(AdamRule, adam)

// One pass over elements [b, e) of a value w, its gradient g (times scale,
// in double, then rounded to T) and the rule's state buffers s[k].
template <class T, class R>
using UpdateLoop = void (*)(const R &rule, T *w, const T *g, T *const *s,
                            double scale, int64_t b, int64_t e);

// The loops of every rule and float dtype, in one instruction set.
struct UpdateTable {
#define KNET_UPDATE_MEMBER(R, name)                                            \
  UpdateLoop<float, R> name##_f32;                                             \
  UpdateLoop<double, R> name##_f64;
  KNET_UPDATE_RULES(KNET_UPDATE_MEMBER)
#undef KNET_UPDATE_MEMBER
};

// The table for the instruction set the vector math uses (knet/vmath.h).
const UpdateTable &update_table();

template <class R> struct UpdateLoops;
#define KNET_UPDATE_LOOKUP(R, name)                                            \
  template <> struct UpdateLoops<R> {                                          \
    static UpdateLoop<float, R> get(const UpdateTable &t, float *) {           \
      return t.name##_f32;                                                     \
    }                                                                          \
    static UpdateLoop<double, R> get(const UpdateTable &t, double *) {         \
      return t.name##_f64;                                                     \
    }                                                                          \
  };
KNET_UPDATE_RULES(KNET_UPDATE_LOOKUP)
#undef KNET_UPDATE_LOOKUP

} // namespace knet::detail
