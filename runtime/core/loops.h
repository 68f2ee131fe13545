// The one strided-broadcast loop driver for all CPU elementwise work
// (ATen's TensorIterator idea): operands are broadcast to a common shape,
// dimensions are coalesced, and the innermost dimension runs as a tight loop
// that the compiler vectorizes when every operand is contiguous along it.
#pragma once

#include "core/parallel.h"
#include "core/tensor_impl.h"

#include <knet/vmath.h>

#include <array>
#include <cstdint>
#include <tuple>
#include <type_traits>
#include <utility>

namespace knet::detail {

constexpr int kMaxLoopDims = 16;
// Operands of one loop: up to 7 inputs for the runtime's own kernels, more
// for knetc's fused kernels (knet/fused.h).
constexpr int kMaxLoopOps = 32;

struct LoopPlan {
  int ndim = 0;                               // >= 1 after planning
  int nops = 0;                               // operands, the output first
  int64_t sizes[kMaxLoopDims];                // outer ... inner
  int64_t strides[kMaxLoopOps][kMaxLoopDims]; // bytes, per operand
  char *base[kMaxLoopOps];
  int64_t numel = 0;
};

// Plans a loop over `shape` for operands ops[0..n) (ops[0] is written), each
// broadcast to `shape`; throws naming `op` when one does not broadcast.
LoopPlan plan_loop(const Shape &shape, const Tensor *const *ops, int n,
                   const char *op);

// s[k] = operand k's byte stride along the plan's innermost (row) dim.
inline void row_strides(const LoopPlan &L, int64_t *s) {
  for (int k = 0; k < L.nops; ++k)
    s[k] = L.strides[k][L.ndim - 1];
}

template <class Out, class... In, class F, size_t... I>
inline void map_row(F &f, char *const *p, const int64_t *s, int64_t n,
                    std::index_sequence<I...>) {
  Out *o = reinterpret_cast<Out *>(p[0]);
  bool contiguous = s[0] == static_cast<int64_t>(sizeof(Out)) &&
                    ((s[I + 1] == static_cast<int64_t>(sizeof(In))) && ...);
  if (contiguous) {
    std::tuple<const In *...> ip{reinterpret_cast<const In *>(p[I + 1])...};
    for (int64_t j = 0; j < n; ++j)
      o[j] = static_cast<Out>(f(std::get<I>(ip)[j]...));
  } else {
    for (int64_t j = 0; j < n; ++j)
      *reinterpret_cast<Out *>(p[0] + j * s[0]) = static_cast<Out>(
          f(*reinterpret_cast<const In *>(p[I + 1] + j * s[I + 1])...));
  }
}

// Runs row(ptrs, n) over the plan's innermost rows, splitting the work across
// threads. `ptrs` holds one pointer per operand at the row's start.
template <class Row> void run_plan(const LoopPlan &L, int64_t cost, Row &&row) {
  const int nd = L.ndim, nops = L.nops;
  const int64_t inner = L.sizes[nd - 1];
  const int64_t outer = inner == 0 ? 0 : L.numel / inner;
  if (L.numel == 0)
    return;
  if (outer == 1) {
    parallel_for(inner, cost, [&](int64_t b, int64_t e) {
      char *p[kMaxLoopOps];
      for (int k = 0; k < nops; ++k)
        p[k] = L.base[k] + b * L.strides[k][nd - 1];
      row(p, e - b);
    });
    return;
  }
  parallel_for(outer, inner * cost, [&](int64_t b, int64_t e) {
    int64_t idx[kMaxLoopDims];
    char *p[kMaxLoopOps];
    // Multi-index of row b over the outer dims.
    int64_t r = b;
    for (int d = nd - 2; d >= 0; --d) {
      idx[d] = r % L.sizes[d];
      r /= L.sizes[d];
    }
    for (int k = 0; k < nops; ++k) {
      p[k] = L.base[k];
      for (int d = 0; d < nd - 1; ++d)
        p[k] += idx[d] * L.strides[k][d];
    }
    for (int64_t i = b; i < e; ++i) {
      row(p, inner);
      // Advance the outer multi-index by one.
      for (int d = nd - 2; d >= 0; --d) {
        if (++idx[d] < L.sizes[d]) {
          for (int k = 0; k < nops; ++k)
            p[k] += L.strides[k][d];
          break;
        }
        for (int k = 0; k < nops; ++k)
          p[k] -= (L.sizes[d] - 1) * L.strides[k][d];
        idx[d] = 0;
      }
    }
  });
}

// out[i] = f(ins[i]...) with broadcasting, over out's shape. The element
// types are given explicitly: cpu_map<float, float, float>(out, f, a, b).
template <class Out, class... In, class F, class... Ts>
void cpu_map(const Tensor &out, F f, const char *op, const Ts &...ins) {
  static_assert(sizeof...(In) == sizeof...(Ts));
  constexpr int N = 1 + sizeof...(In);
  static_assert(N <= 8, "at most 7 inputs");
  const Tensor *ops[N] = {&out, &ins...};
  LoopPlan L = plan_loop(out.shape(), ops, N, op);
  int64_t s[N];
  row_strides(L, s);
  run_plan(L, 1, [&](char *const *p, int64_t n) {
    map_row<Out, In...>(f, p, s, n, std::index_sequence_for<In...>{});
  });
}

// A row of a reduction: folds the inputs' elements p[1..] (byte strides
// s[1..]) into the accumulators p[0] (stride s[0], 0 along a folded row).
using ReduceRow = void (*)(char *const *p, const int64_t *s, int64_t n);
// dst[i] = combine(dst[i], src[i]) for n accumulators of one reduction.
using ReduceMerge = void (*)(char *dst, const char *src, int64_t n);

// The merges of run_reduction's accumulators of type A: Sign 0 sums, 1
// keeps the larger, -1 the smaller (a NaN in src is skipped, as the rows
// skip NaNs).
template <class A, int Sign>
void merge_accumulators(char *dst, const char *src, int64_t n) {
  A *d = reinterpret_cast<A *>(dst);
  const A *v = reinterpret_cast<const A *>(src);
  for (int64_t i = 0; i < n; ++i) {
    if constexpr (Sign == 0)
      d[i] += v[i];
    else
      d[i] = (Sign > 0 ? v[i] > d[i] : v[i] < d[i]) ? v[i] : d[i];
  }
}

// The one reduction engine of the CPU (the runtime's sum, mean, max, min and
// knetc's fused reductions): ops[0] is a contiguous accumulator tensor
// holding the initial values, of `shape` with size 1 along the folded dims
// (broadcast there: stride 0); ops[1..] are the inputs, broadcast to
// `shape`. The plan's kept dims go outermost. Threads split the kept
// elements when there are enough of them; otherwise each folds a share of
// the folded extent into its own copy of the initial accumulators, merged
// into ops[0] in thread order (deterministic for a thread count). `cost` is
// per element folded.
void run_reduction(const Shape &shape, const Tensor *const *ops, int n,
                   ReduceRow row, ReduceMerge merge, int64_t cost,
                   const char *op);

// One row of a float body's blocked form block(y, x...) over vm::kBlock
// elements: full unit-stride blocks in place, a partial or strided block
// through zero-padded copies (an element's value does not depend on where
// it lies).
template <class B, size_t... I>
inline void block_row(B &block, char *const *p, const int64_t *s, int64_t n,
                      std::index_sequence<I...>) {
  constexpr int64_t K = vm::kBlock;
  constexpr int64_t F = sizeof(float);
  const bool unit = s[0] == F && ((s[I + 1] == F) && ...);
  for (int64_t j0 = 0; j0 < n; j0 += K) {
    const int64_t m = n - j0 < K ? n - j0 : K;
    if (unit && m == K) {
      block(reinterpret_cast<float *>(p[0]) + j0,
            (reinterpret_cast<const float *>(p[I + 1]) + j0)...);
      continue;
    }
    alignas(64) float b[sizeof...(I) + 1][K];
    alignas(64) float c[K];
    for (int64_t j = 0; j < K; ++j)
      ((b[I][j] = j < m ? *reinterpret_cast<const float *>(p[I + 1] +
                                                           (j0 + j) * s[I + 1])
                        : 0.0f),
       ...);
    block(c, static_cast<const float *>(b[I])...);
    for (int64_t j = 0; j < m; ++j)
      *reinterpret_cast<float *>(p[0] + (j0 + j) * s[0]) = c[j];
  }
}

// cpu_map of a float body with a blocked form (ops/op_bodies.inc): f32 runs
// block(y, x...) row by row on the vector math (knet/vmath.h); f64 runs f.
template <class T, class F, class B, class... Ts>
void cpu_map_blocked(const Tensor &out, F f, B block, const char *op,
                     const Ts &...ins) {
  if constexpr (std::is_same_v<T, float>) {
    constexpr int N = 1 + sizeof...(Ts);
    const Tensor *ops[N] = {&out, &ins...};
    LoopPlan L = plan_loop(out.shape(), ops, N, op);
    int64_t s[N];
    row_strides(L, s);
    run_plan(L, 1, [&](char *const *p, int64_t n) {
      block_row(block, p, s, n, std::index_sequence_for<Ts...>{});
    });
  } else {
    cpu_map<T, std::conditional_t<true, T, Ts>...>(out, f, op, ins...);
  }
}

} // namespace knet::detail
