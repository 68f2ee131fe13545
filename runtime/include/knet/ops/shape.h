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

} // namespace knet
