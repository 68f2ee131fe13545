// Loop planning for the elementwise driver.
#include "core/loops.h"

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

} // namespace knet::detail
