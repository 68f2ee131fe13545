// Vector math: picks the instruction set of the float functions once, when
// the library loads; the double functions are libm's.
#include <knet/vmath.h>

#include "core/isa.h"
#include "core/rows.h"
#include "core/vmath_table.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace knet::detail::vm {
namespace {

template <float (*F)(float)> void scalar1(const float *x, float *y, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    y[i] = F(x[i]);
}
#define KNET_VM_SCALAR(fn)                                                     \
  float fn##_s(float v) { return std::fn(v); }
KNET_VM_UNARY_FUNCTIONS(KNET_VM_SCALAR)
#undef KNET_VM_SCALAR
void pow_s(const float *x, const float *y, float *z, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    z[i] = std::pow(x[i], y[i]);
}

// libm's functions: CPUs without SSE4.1 (or another architecture), and
// KNET_SIMD=scalar.
const Table scalar_table{"scalar",
#define KNET_VM_ENTRY(fn) scalar1<fn##_s>,
                         KNET_VM_UNARY_FUNCTIONS(KNET_VM_ENTRY)
#undef KNET_VM_ENTRY
                             pow_s};

// The tables this CPU runs, widest first.
std::vector<const Table *> supported() {
  std::vector<const Table *> t;
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f"))
    t.push_back(&avx512_table);
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    t.push_back(&avx2_table);
  if (__builtin_cpu_supports("sse4.1"))
    t.push_back(&sse4_table);
#endif
  t.push_back(&scalar_table);
  return t;
}

const Table *pick() {
  std::vector<const Table *> t = supported();
  if (const char *env = std::getenv("KNET_SIMD"); env && *env) {
    for (const Table *s : t)
      if (std::string(env) == s->name)
        return s;
    std::string names;
    for (const Table *s : t)
      names += std::string(names.empty() ? "" : ", ") + s->name;
    // A bad setting is a configuration error the user must see, but
    // throwing while the library loads would abort: warn and go on.
    std::fprintf(stderr,
                 "knet: KNET_SIMD=%s is not an instruction set this CPU runs "
                 "(%s); using %s\n",
                 env, names.c_str(), t.front()->name);
  }
  return t.front();
}

const Table *g_table = pick();

} // namespace

#define KNET_VM_DEFINE(fn)                                                     \
  void fn(const float *x, float *y, int64_t n) { g_table->fn(x, y, n); }       \
  void fn(const double *x, double *y, int64_t n) {                             \
    for (int64_t i = 0; i < n; ++i)                                            \
      y[i] = std::fn(x[i]);                                                    \
  }
KNET_VM_UNARY_FUNCTIONS(KNET_VM_DEFINE)
#undef KNET_VM_DEFINE

void pow(const float *x, const float *y, float *z, int64_t n) {
  g_table->pow(x, y, z, n);
}
void pow(const double *x, const double *y, double *z, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    z[i] = std::pow(x[i], y[i]);
}

const char *isa() { return g_table->name; }

std::vector<std::string> supported_isas() {
  std::vector<std::string> names;
  for (const Table *t : supported())
    names.push_back(t->name);
  return names;
}

bool set_isa(const std::string &name) {
  for (const Table *t : supported())
    if (name == t->name) {
      g_table = t;
      return true;
    }
  return false;
}

} // namespace knet::detail::vm

namespace knet::detail {

#if defined(__x86_64__)
extern const KernelTable kernel_avx512_table, kernel_avx2_table;
#endif
extern const KernelTable kernel_base_table;

Isa loops_isa() {
#if defined(__x86_64__)
  if (vm::g_table == &vm::avx512_table)
    return Isa::avx512;
  if (vm::g_table == &vm::avx2_table)
    return Isa::avx2;
#endif
  return Isa::base;
}

const KernelTable &kernels() {
#if defined(__x86_64__)
  return for_isa(kernel_avx512_table, kernel_avx2_table, kernel_base_table);
#else
  return kernel_base_table;
#endif
}

} // namespace knet::detail

namespace knet::detail::vm {

void row_sum_add(RowSum &s, const float *x, int64_t n) {
  kernels().row_sum_add(s.part, x, n);
}

void row_sum_add(RowSum &s, const double *x, int64_t n) {
  LaneSum<double, double> sum(s.part);
  sum.add(x, n);
  sum.store(s.part);
}

double row_sum_total(const RowSum &s) {
  return LaneSum<double, double>(s.part).total();
}

} // namespace knet::detail::vm
