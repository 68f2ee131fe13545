// Minibatches along dim 0, optionally shuffled with knet's RNG.
#include "core/dispatch.h"
#include "core/tensor_impl.h"

#include <knet/ops/random.h>
#include <knet/train.h>

#include <algorithm>
#include <cstring>
#include <numeric>
#include <type_traits>

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
  const DType xt = opts_.xtype.value_or(x_.dtype());
  if (opts_.xscale != 1 && !is_floating(xt))
    fail("minibatch: xscale = ", opts_.xscale, " needs a floating xtype, got ",
         dtype_name(xt));
  const bool converts = opts_.xtype || opts_.xscale != 1;
  if (converts)
    for (DType t : {x_.dtype(), xt})
      if (t == DType::f16 || t == DType::bf16 || t == DType::b8)
        fail("minibatch: xtype converts between f32, f64, i32, i64 and u8; "
             "got ",
             dtype_name(x_.dtype()), " to ", dtype_name(xt));
  // Gathered batches are made on the CPU (gather_rows); say so now rather
  // than at the first batch.
  if (converts || opts_.shuffle)
    detail::check_cpu(x_, "minibatch");
  if (opts_.shuffle && y_.defined())
    detail::check_cpu(y_, "minibatch");
  // Batches are slices or gathered rows of dense memory: a strided x or y
  // is made dense once, here.
  x_ = detail::dense(x_);
  if (y_.defined())
    y_ = detail::dense(y_);
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

// Rows first + rows[i] (rows null: first + i), i < k, of the dense CPU
// tensor c along dim 0, converted to `dtype` (times `scale` when it is
// floating), in one pass into `buf`'s storage when nothing else holds it and
// it is large enough, else into a new buffer that `buf` then keeps.
Tensor gather_rows(const Tensor &c, int64_t first, const int64_t *rows,
                   int64_t k, DType dtype, double scale, Tensor &buf) {
  detail::check_cpu(c, "minibatch");
  Shape shape = c.shape();
  shape[0] = k;
  const bool free = buf.defined() && buf.impl_ptr().use_count() == 1 &&
                    buf.impl()->storage.use_count() == 1 &&
                    buf.dtype() == dtype &&
                    buf.numel() >= detail::shape_numel(shape);
  if (!free) {
    Shape full = shape;
    full[0] = std::max(k, buf.defined() ? buf.size(0) : k);
    buf = Tensor::empty(full, dtype, c.device());
  }
  Tensor out =
      detail::make_view(buf, shape, detail::contiguous_strides(shape), 0);
  const int64_t row = c.numel() / std::max<int64_t>(c.size(0), 1);
  const size_t src_bytes = static_cast<size_t>(row) * dtype_size(c.dtype());
  auto src_row = [&](int64_t i) { return first + (rows ? rows[i] : i); };
  // Shuffled rows are scattered over x: each row's lines are requested while
  // the row before it is copied.
  auto prefetch = [&](int64_t i) {
    if (rows && i < k) {
      const char *p = c.impl()->data() + src_row(i) * src_bytes;
      for (size_t b = 0; b < src_bytes; b += 64)
        __builtin_prefetch(p + b);
    }
  };
  if (dtype == c.dtype() && scale == 1) {
    const char *src = c.impl()->data();
    char *dst = out.impl()->data();
    for (int64_t i = 0; i < k; ++i) {
      prefetch(i + 4);
      std::memcpy(dst + i * src_bytes, src + src_row(i) * src_bytes, src_bytes);
    }
    return out;
  }
  detail::dispatch_numeric(c.dtype(), "minibatch", [&]<class S>() {
    detail::dispatch_numeric(dtype, "minibatch", [&]<class D>() {
      const S *src = c.data<S>();
      D *dst = out.data<D>();
      for (int64_t i = 0; i < k; ++i) {
        prefetch(i + 4);
        const S *r = src + src_row(i) * row;
        D *o = dst + i * row;
        if constexpr (std::is_floating_point_v<D>) {
          const D sc = static_cast<D>(scale);
          for (int64_t j = 0; j < row; ++j)
            o[j] = static_cast<D>(r[j]) * sc;
        } else {
          for (int64_t j = 0; j < row; ++j)
            o[j] = static_cast<D>(r[j]);
        }
      }
    });
  });
  return out;
}

} // namespace

Minibatch::value_type Minibatch::batch(int64_t i,
                                       const std::vector<int64_t> *perm) const {
  if (i < 0 || i >= length())
    fail("minibatch: batch ", i, " out of range [0, ", length(), ")");
  const int64_t b = i * batch_, e = std::min(n_, b + batch_);
  const DType xt = opts_.xtype.value_or(x_.dtype());
  if (!perm && xt == x_.dtype() && opts_.xscale == 1)
    return {x_.slice(0, b, e), y_.defined() ? y_.slice(0, b, e) : Tensor()};
  if (perm && static_cast<int64_t>(perm->size()) < e)
    fail("minibatch: batch ", i, " needs rows ", b, "..", e - 1,
         " of the order, which has ", perm->size());
  if (perm)
    for (int64_t j = b; j < e; ++j)
      if ((*perm)[j] < 0 || (*perm)[j] >= n_)
        fail("minibatch: the order's entry ", j, " is ", (*perm)[j],
             ", not an example of [0, ", n_, ")");
  // Shuffled: rows perm[b..e); else rows b..e.
  const int64_t first = perm ? 0 : b;
  const int64_t *rows = perm ? perm->data() + b : nullptr;
  Tensor x = gather_rows(x_, first, rows, e - b, xt, opts_.xscale, xbuf_);
  if (!y_.defined())
    return {x, Tensor()};
  if (!perm)
    return {x, y_.slice(0, b, e)};
  return {x, gather_rows(y_, 0, rows, e - b, y_.dtype(), 1, ybuf_)};
}

Minibatch minibatch(Tensor x, Tensor y, int64_t batch, MinibatchOptions opts) {
  return Minibatch(std::move(x), std::move(y), batch, opts);
}

Minibatch minibatch(Tensor x, int64_t batch, MinibatchOptions opts) {
  return Minibatch(std::move(x), Tensor(), batch, opts);
}

} // namespace knet
