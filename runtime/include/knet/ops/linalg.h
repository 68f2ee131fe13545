// Matrix products.
#pragma once

#include <knet/tensor.h>

namespace knet {

// 2-D: [m,k] x [k,n]. N-D: batched over the leading dims (broadcast), the
// last two multiplied. A 1-D operand is not accepted (reshape it).
Tensor matmul(const Tensor &a, const Tensor &b);
// x . w^T + b: x [N, in], w [out, in], b [out] (b may be undefined).
Tensor linear(const Tensor &x, const Tensor &w, const Tensor &b = Tensor());

} // namespace knet
