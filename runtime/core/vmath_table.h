// One instruction set's float vector math (internal to core/vmath*.cpp).
#pragma once

#include <knet/vmath.h>

#include <cstdint>

namespace knet::detail::vm {

using Unary = void (*)(const float *, float *, int64_t);
using Binary = void (*)(const float *, const float *, float *, int64_t);

// The functions in KNET_VM_UNARY_FUNCTIONS' order, then pow.
struct Table {
  const char *name;
#define KNET_VM_MEMBER(fn) Unary fn;
  KNET_VM_UNARY_FUNCTIONS(KNET_VM_MEMBER)
#undef KNET_VM_MEMBER
  Binary pow;
};

#if defined(__x86_64__)
extern const Table avx512_table, avx2_table, sse4_table;
#endif

} // namespace knet::detail::vm
