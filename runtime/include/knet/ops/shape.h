// Ops that gather, join and split tensors.
#pragma once

#include <knet/tensor.h>

#include <vector>

namespace knet {

// Rows of `table` [V, E] for i64 `ids` of any shape: result ids.shape + [E].
Tensor embedding(const Tensor &table, const Tensor &ids);
// The gradient of embedding w.r.t. its table: dy [ids.shape + E] scattered
// (summed) into a [vocab, E] zero table at the rows `ids` name.
Tensor embedding_back(const Tensor &dy, const Tensor &ids, int64_t vocab);
// Joins along an existing dim; shapes equal elsewhere, one dtype.
Tensor concat(const std::vector<Tensor> &xs, int dim);
// Joins along a new dim (all shapes equal).
Tensor stack(const std::vector<Tensor> &xs, int dim);
// n nearly equal pieces along dim (views), as numpy.array_split: always n
// pieces, the first size % n one longer (empty pieces when n > size).
std::vector<Tensor> chunk(const Tensor &x, int n, int dim);
// Flattens to [N, rest] (N = the first dim; [N] gives [N,1], a scalar [1,1]).
Tensor mat(const Tensor &x);

// Backward kernels of the views x.slice(dim, begin, end, step) and
// x.select(dim, index) (for compiled adjoints): dy placed into zeros of x's
// shape.
Tensor slice_back(const Tensor &dy, const Shape &x_shape, int dim,
                  int64_t begin, int64_t end, int64_t step = 1);
Tensor select_back(const Tensor &dy, const Shape &x_shape, int dim,
                   int64_t index);

} // namespace knet
