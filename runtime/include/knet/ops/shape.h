// Ops that gather, join and split tensors.
#pragma once

#include <knet/tensor.h>

#include <vector>

namespace knet {

// Rows of `table` [V, E] for i64 `ids` of any shape: result ids.shape + [E].
Tensor embedding(const Tensor &table, const Tensor &ids);
Tensor concat(const std::vector<Tensor> &xs, int dim);
Tensor stack(const std::vector<Tensor> &xs, int dim);
// n nearly equal pieces along dim (views).
std::vector<Tensor> chunk(const Tensor &x, int n, int dim);
// Flattens to [N, rest].
Tensor mat(const Tensor &x);

} // namespace knet
