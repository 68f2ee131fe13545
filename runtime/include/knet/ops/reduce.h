// Reductions, softmax and friends. `dims` may be negative (from the end);
// empty `dims` means every dimension.
#pragma once

#include <knet/tensor.h>

#include <vector>

namespace knet {

using Dims = std::vector<int>;

Tensor sum(const Tensor &x);
Tensor sum(const Tensor &x, Dims dims, bool keepdim = false);
Tensor mean(const Tensor &x);
Tensor mean(const Tensor &x, Dims dims, bool keepdim = false);
Tensor max(const Tensor &x);
Tensor max(const Tensor &x, Dims dims, bool keepdim = false);
Tensor min(const Tensor &x);
Tensor min(const Tensor &x, Dims dims, bool keepdim = false);
// Index of the largest element along `dim` (i64, no gradient); first wins.
Tensor argmax(const Tensor &x, int dim, bool keepdim = false);

Tensor logsumexp(const Tensor &x, int dim, bool keepdim = false);
Tensor softmax(const Tensor &x, int dim);
Tensor logsoftmax(const Tensor &x, int dim);
inline Tensor logp(const Tensor &x, int dim) { return logsoftmax(x, dim); }
Tensor softmax_back(const Tensor &dy, const Tensor &y, int dim);
Tensor logsoftmax_back(const Tensor &dy, const Tensor &y, int dim);

// Sums a broadcast gradient back to `shape` (the shape of the operand that
// was broadcast): the adjoint of broadcasting.
Tensor sum_to(const Tensor &x, const Shape &shape);

} // namespace knet
