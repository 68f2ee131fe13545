// Loop planning for the elementwise driver.
#include "core/loops.h"

#include <algorithm>
#include <vector>

namespace knet::detail {

LoopPlan plan_loop(const Shape &shape, const Tensor *const *ops, int n,
                   const char *op) {
  LoopPlan L;
  L.nops = n;
  L.numel = shape_numel(shape);
  const int rank = static_cast<int>(shape.size());
  // Per operand byte strides over `shape`, 0 along broadcast dimensions.
  int64_t sizes[64];
  int64_t strides[kMaxLoopOps][64];
  if (n > kMaxLoopOps)
    fail(op, ": ", n, " operands exceed the supported ", kMaxLoopOps);
  if (rank > 64)
    fail(op, ": rank ", rank, " exceeds the supported 64");
  for (int k = 0; k < n; ++k) {
    const Tensor &t = *ops[k];
    const int r = t.rank();
    if (r > rank)
      fail(op, ": operand of shape ", shape_str(t.shape()),
           " does not broadcast to ", shape_str(shape));
    const int64_t es = static_cast<int64_t>(dtype_size(t.dtype()));
    for (int d = 0; d < rank; ++d) {
      int td = d - (rank - r);
      if (td < 0 || t.shape()[td] == 1) {
        strides[k][d] = 0;
      } else if (t.shape()[td] == shape[d]) {
        strides[k][d] = t.strides()[td] * es;
      } else {
        fail(op, ": operand of shape ", shape_str(t.shape()),
             " does not broadcast to ", shape_str(shape));
      }
    }
    L.base[k] = t.impl()->data();
  }
  // Drop size-1 dims and merge dims that are contiguous for every operand.
  int nd = 0;
  for (int d = 0; d < rank; ++d) {
    if (shape[d] == 1)
      continue;
    if (nd > 0) {
      bool mergeable = true;
      for (int k = 0; k < n && mergeable; ++k)
        mergeable = strides[k][nd - 1] == strides[k][d] * shape[d];
      if (mergeable) {
        sizes[nd - 1] *= shape[d];
        for (int k = 0; k < n; ++k)
          strides[k][nd - 1] = strides[k][d];
        continue;
      }
    }
    sizes[nd] = shape[d];
    for (int k = 0; k < n; ++k)
      strides[k][nd] = strides[k][d];
    ++nd;
  }
  if (nd == 0) {
    sizes[0] = 1;
    for (int k = 0; k < n; ++k)
      strides[k][0] = 0;
    nd = 1;
  }
  if (nd > kMaxLoopDims)
    fail(op, ": too many non-mergeable dimensions (", nd, ")");
  L.ndim = nd;
  for (int d = 0; d < nd; ++d) {
    L.sizes[d] = sizes[d];
    for (int k = 0; k < n; ++k)
      L.strides[k][d] = strides[k][d];
  }
  return L;
}

void run_reduction(const Shape &shape, const Tensor *const *ops, int n,
                   ReduceRow row, ReduceMerge merge, int64_t cost,
                   const char *op) {
  const Tensor &acc = *ops[0];
  LoopPlan L = plan_loop(shape, ops, n, op);
  if (L.numel == 0)
    return;
  const int nd = L.ndim;
  const int64_t inner = L.sizes[nd - 1];
  // Outer dims: kept ones (the accumulator moves along them) first, then
  // folded ones, each group in the plan's order.
  int order[kMaxLoopDims];
  int no = 0, nkept = 0;
  for (int d = 0; d < nd - 1; ++d)
    if (L.strides[0][d] != 0)
      order[no++] = d;
  nkept = no;
  for (int d = 0; d < nd - 1; ++d)
    if (L.strides[0][d] == 0)
      order[no++] = d;
  int64_t kept = 1, folded = 1;
  for (int i = 0; i < no; ++i)
    (i < nkept ? kept : folded) *= L.sizes[order[i]];
  int64_t s[kMaxLoopOps];
  row_strides(L, s);
  const bool row_folds = s[0] == 0;

  // Rows [k0, k1) of the kept outer index times rows [f0, f1) of the folded
  // one, elements [j0, j1) of each, into accumulators at `base0`.
  auto fold = [&](char *base0, int64_t k0, int64_t k1, int64_t f0, int64_t f1,
                  int64_t j0, int64_t j1) {
    char *p[kMaxLoopOps];
    for (int64_t k = k0; k < k1; ++k)
      for (int64_t f = f0; f < f1; ++f) {
        // The multi-index of (k, f) over the reordered outer dims.
        int64_t rk = k, rf = f;
        for (int o = 0; o < L.nops; ++o)
          p[o] = (o == 0 ? base0 : L.base[o]) + j0 * s[o];
        for (int i = no - 1; i >= 0; --i) {
          const int d = order[i];
          int64_t &r = i < nkept ? rk : rf;
          const int64_t idx = r % L.sizes[d];
          r /= L.sizes[d];
          for (int o = 0; o < L.nops; ++o)
            p[o] += idx * L.strides[o][d];
        }
        row(p, s, j1 - j0);
      }
  };
  const int threads = num_threads();
  const int64_t work = L.numel * cost;
  if (threads <= 1 || work < kParallelGrain) {
    fold(L.base[0], 0, kept, 0, folded, 0, inner);
    return;
  }
  if (kept >= threads || (!row_folds && kept * inner >= threads)) {
    // Each thread owns whole kept rows: no two touch one accumulator.
    if (kept >= threads)
      parallel_for(kept, folded * inner * cost, [&](int64_t b, int64_t e) {
        fold(L.base[0], b, e, 0, folded, 0, inner);
      });
    else
      parallel_for(inner, kept * folded * cost, [&](int64_t b, int64_t e) {
        fold(L.base[0], 0, kept, 0, folded, b, e);
      });
    return;
  }
  // Few accumulators: split the folded rows (or, with one folded row, the
  // row itself) among the threads, each into its own accumulators.
  const int64_t parts =
      std::min<int64_t>(threads, folded > 1 ? folded : (row_folds ? inner : 1));
  if (parts <= 1) {
    fold(L.base[0], 0, kept, 0, folded, 0, inner);
    return;
  }
  std::vector<Tensor> own(parts);
  for (int64_t t = 1; t < parts; ++t)
    own[t] = acc.clone();
#pragma omp parallel for num_threads(static_cast <int>(parts)) schedule(static)
  for (int64_t t = 0; t < parts; ++t) {
    char *base0 = t == 0 ? L.base[0] : own[t].impl()->data();
    if (folded > 1)
      fold(base0, 0, kept, folded * t / parts, folded * (t + 1) / parts, 0,
           inner);
    else
      fold(base0, 0, kept, 0, 1, inner * t / parts, inner * (t + 1) / parts);
  }
  for (int64_t t = 1; t < parts; ++t)
    merge(L.base[0], own[t].impl()->data(), acc.numel());
}

} // namespace knet::detail
