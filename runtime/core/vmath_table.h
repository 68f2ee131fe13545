// One instruction set's float vector math (internal to core/vmath*.cpp).
#pragma once

#include <cstdint>

namespace knet::detail::vm {

using Unary = void (*)(const float *, float *, int64_t);
using Binary = void (*)(const float *, const float *, float *, int64_t);

struct Table {
  const char *name;
  Unary exp, expm1, log, log1p, tanh, sin, cos, erf, sqrt;
  Binary pow;
};

#if defined(__x86_64__)
extern const Table avx512_table, avx2_table, sse4_table;
#endif

} // namespace knet::detail::vm
