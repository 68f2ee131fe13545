// Minibatches along dim 0, optionally shuffled with knet's RNG.
#include "core/dispatch.h"
#include "core/tensor_impl.h"

#include <knet/ops/random.h>
#include <knet/train.h>

#include <algorithm>
#include <cstring>
#include <numeric>

namespace knet {

using detail::fail;

Minibatch::Minibatch(Tensor x, Tensor y, int64_t batch, MinibatchOptions opts)
    : x_(std::move(x)), y_(std::move(y)), batch_(batch), opts_(opts) {
  if (!x_.defined())
    fail("minibatch: x is undefined");
  if (x_.rank() < 1)
    fail("minibatch: x must have at least one dimension (examples along dim "
         "0), got a scalar");
  if (batch_ < 1)
    fail("minibatch: batch size must be >= 1, got ", batch_);
  n_ = x_.size(0);
  if (y_.defined()) {
    if (y_.rank() < 1)
      fail("minibatch: y must have at least one dimension, got a scalar");
    if (y_.size(0) != n_)
      fail("minibatch: x and y have different numbers of examples: x ",
           shape_str(x_.shape()), " y ", shape_str(y_.shape()));
  }
  if (opts_.shuffle) {
    detail::check_cpu(x_, "minibatch");
    if (y_.defined())
      detail::check_cpu(y_, "minibatch");
  }
}

int64_t Minibatch::length() const {
  return opts_.partial ? (n_ + batch_ - 1) / batch_ : n_ / batch_;
}

Minibatch::iterator Minibatch::begin() const {
  std::shared_ptr<const std::vector<int64_t>> perm;
  if (opts_.shuffle && n_ > 1) {
    // Fisher-Yates driven by uniforms from the global Philox stream.
    std::vector<double> u = rand({n_}, DType::f64).to_vector<double>();
    auto p = std::make_shared<std::vector<int64_t>>(n_);
    std::iota(p->begin(), p->end(), int64_t{0});
    for (int64_t i = n_ - 1; i > 0; --i) {
      auto j = static_cast<int64_t>(u[i] * static_cast<double>(i + 1));
      j = std::clamp<int64_t>(j, 0, i);
      std::swap((*p)[i], (*p)[j]);
    }
    perm = std::move(p);
  }
  return iterator(this, 0, std::move(perm));
}

Minibatch::iterator Minibatch::end() const {
  return iterator(this, length(), nullptr);
}

namespace {

// Rows rows[0..k) of t (dim 0) gathered into a new contiguous tensor.
Tensor gather_rows(const Tensor &t, const int64_t *rows, int64_t k) {
  Tensor c = t.contiguous();
  Shape shape = c.shape();
  shape[0] = k;
  Tensor out = Tensor::empty(shape, c.dtype(), c.device());
  const size_t row_bytes =
      static_cast<size_t>(c.numel() / std::max<int64_t>(c.size(0), 1)) *
      dtype_size(c.dtype());
  const char *src = c.impl()->data();
  char *dst = out.impl()->data();
  for (int64_t i = 0; i < k; ++i)
    std::memcpy(dst + i * row_bytes, src + rows[i] * row_bytes, row_bytes);
  return out;
}

} // namespace

Minibatch::value_type Minibatch::batch(int64_t i,
                                       const std::vector<int64_t> *perm) const {
  if (i < 0 || i >= length())
    fail("minibatch: batch ", i, " out of range [0, ", length(), ")");
  const int64_t b = i * batch_, e = std::min(n_, b + batch_);
  if (perm) {
    const int64_t *rows = perm->data() + b;
    return {gather_rows(x_, rows, e - b),
            y_.defined() ? gather_rows(y_, rows, e - b) : Tensor()};
  }
  return {x_.slice(0, b, e).contiguous(),
          y_.defined() ? y_.slice(0, b, e).contiguous() : Tensor()};
}

Minibatch minibatch(Tensor x, Tensor y, int64_t batch, MinibatchOptions opts) {
  return Minibatch(std::move(x), std::move(y), batch, opts);
}

Minibatch minibatch(Tensor x, int64_t batch, MinibatchOptions opts) {
  return Minibatch(std::move(x), Tensor(), batch, opts);
}

} // namespace knet
