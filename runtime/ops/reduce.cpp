// Reductions (sum, mean, max, min, argmax), logsumexp, softmax, logsoftmax
// and sum_to, with their tape rules.
#include "core/cuda.h"
#include "core/elementwise.h"
#include "core/rows.h"

#include <knet/checks.h>
#include <knet/ops/elementwise.h>
#include <knet/ops/reduce.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace knet {

using namespace detail;

namespace {

// Accumulator type: sums of f32 run in f64.
template <class T>
using Acc = std::conditional_t<std::is_same_v<T, float>, double, T>;

struct ReducePlan {
  std::vector<bool> reduced; // per input dim
  Shape out_shape;           // without the reduced dims
  Shape keep_shape;          // with size-1 reduced dims
  int64_t rows = 1, cols = 1;
  bool outer = false; // reduced dims are a prefix: x is [cols, rows]
  Tensor x;           // contiguous; [rows, cols] unless `outer`
};

ReducePlan plan_reduce(const Tensor &x, const Dims &dims, const char *op) {
  check_cpu(x, op);
  const int r = x.rank();
  ReducePlan p;
  if (std::string e = reduce_dims_error(dims, r); !e.empty())
    fail(op, ": ", e);
  p.reduced.assign(r, dims.empty());
  for (int d : dims)
    p.reduced[normalize_dim(d, r, op)] = true;
  Shape kept_order, red_order;
  for (int d = 0; d < r; ++d) {
    if (p.reduced[d]) {
      p.keep_shape.push_back(1);
      red_order.push_back(d);
      p.cols *= x.shape()[d];
    } else {
      p.keep_shape.push_back(x.shape()[d]);
      p.out_shape.push_back(x.shape()[d]);
      kept_order.push_back(d);
      p.rows *= x.shape()[d];
    }
  }
  // Reduced dims all before kept dims on a contiguous tensor: sum columns.
  bool prefix = !red_order.empty() && !kept_order.empty() &&
                red_order.back() < kept_order.front();
  if (prefix && x.is_contiguous()) {
    p.outer = true;
    p.x = x;
    return p;
  }
  Shape order = kept_order;
  order.insert(order.end(), red_order.begin(), red_order.end());
  // The permutation is internal: no tape involvement.
  Tensor v = make_view(x, x.shape(), x.strides(), x.offset());
  Shape shape(r), strides(r);
  for (int i = 0; i < r; ++i) {
    shape[i] = x.shape()[order[i]];
    strides[i] = x.strides()[order[i]];
  }
  v = make_view(x, shape, strides, x.offset());
  p.x = dense(v);
  return p;
}

// Rows of the reduction engine (core/loops.h, run_reduction): fold the
// input x (p[1]) into the accumulators (p[0], of type A).
template <class T, class A>
void sum_row(char *const *p, const int64_t *s, int64_t n) {
  const char *x = p[1];
  if (s[0] != 0) {
    for (int64_t j = 0; j < n; ++j)
      *reinterpret_cast<A *>(p[0] + j * s[0]) +=
          static_cast<A>(*reinterpret_cast<const T *>(x + j * s[1]));
    return;
  }
  A &acc = *reinterpret_cast<A *>(p[0]);
  if (s[1] != static_cast<int64_t>(sizeof(T))) {
    for (int64_t j = 0; j < n; ++j)
      acc += static_cast<A>(*reinterpret_cast<const T *>(x + j * s[1]));
    return;
  }
  acc += fold_sum<A>(reinterpret_cast<const T *>(x), n);
}

template <class T, bool IsMax>
void extremum_row(char *const *p, const int64_t *s, int64_t n) {
  auto better = [](T v, T a) { return IsMax ? v > a : v < a; };
  const char *x = p[1];
  if (s[0] != 0) {
    for (int64_t j = 0; j < n; ++j) {
      T &a = *reinterpret_cast<T *>(p[0] + j * s[0]);
      const T v = *reinterpret_cast<const T *>(x + j * s[1]);
      a = better(v, a) ? v : a;
    }
    return;
  }
  T &a = *reinterpret_cast<T *>(p[0]);
  const T v = fold_extremum<IsMax>(reinterpret_cast<const T *>(x), n,
                                   s[1] / static_cast<int64_t>(sizeof(T)));
  a = better(v, a) ? v : a;
}

Shape result_shape(const ReducePlan &p, bool keepdim) {
  return keepdim ? p.keep_shape : p.out_shape;
}

// The shapes of a reduction of x over dims: the accumulators' (`keep`, the
// folded dims as 1) and the result's without keepdim.
struct Reduction {
  Shape keep, out;
};
Reduction reduction(const Tensor &x, const Dims &dims, const char *op) {
  const int r = x.rank();
  if (std::string e = reduce_dims_error(dims, r); !e.empty())
    fail(op, ": ", e);
  std::vector<bool> folded(r, dims.empty());
  for (int d : dims)
    folded[normalize_dim(d, r, op)] = true;
  Reduction red;
  for (int d = 0; d < r; ++d) {
    red.keep.push_back(folded[d] ? 1 : x.shape()[d]);
    if (!folded[d])
      red.out.push_back(x.shape()[d]);
  }
  return red;
}

// The gradient of a reduction, broadcast back over x: dy reshaped to the
// keepdim shape and expanded.
Tensor expand_back(const Tensor &dy, const Shape &keep, const Shape &xs) {
  return dy.reshape(keep).expand(xs);
}

Tensor sum_impl(const Tensor &x, const Dims &dims, bool keepdim) {
  Tensor y;
  Shape keep;
  if (cuda::on_gpu(x)) {
    y = cuda::run_reduce("sum", x, dims, keepdim);
    keep = reduction(x, dims, "sum").keep;
  } else {
    check_cpu(x, "sum");
    Reduction r = reduction(x, dims, "sum");
    dispatch_numeric(x.dtype(), "sum", [&]<class T>() {
      using A = Acc<T>;
      Tensor acc = Tensor::zeros(r.keep, dtype_of<A>, x.device());
      const Tensor *ops[2] = {&acc, &x};
      run_reduction(x.shape(), ops, 2, &sum_row<T, A>,
                    &merge_accumulators<A, 0>, 1, "sum");
      y = acc.to(x.dtype()).reshape(keepdim ? r.keep : r.out);
    });
    keep = r.keep;
  }
  if (recording())
    record("sum", {x}, {y},
           [keep, xs = x.shape()](const Grads &dy, const Needs &) {
             return Grads{expand_back(dy[0], keep, xs)};
           });
  return y;
}

template <bool IsMax>
Tensor extremum(const Tensor &x, const Dims &dims, bool keepdim) {
  const char *op = IsMax ? "max" : "min";
  if (x.numel() == 0)
    fail(op, ": empty tensor ", shape_str(x.shape()));
  Tensor y;
  Shape keep;
  if (cuda::on_gpu(x)) {
    y = cuda::run_reduce(op, x, dims, keepdim);
    keep = reduction(x, dims, op).keep;
  } else {
    check_cpu(x, op);
    Reduction r = reduction(x, dims, op);
    y = Tensor::empty(r.keep, x.dtype(), x.device());
    dispatch_numeric(x.dtype(), op, [&]<class T>() {
      std::fill_n(y.data<T>(), y.numel(),
                  IsMax ? std::numeric_limits<T>::lowest()
                        : std::numeric_limits<T>::max());
      const Tensor *ops[2] = {&y, &x};
      run_reduction(x.shape(), ops, 2, &extremum_row<T, IsMax>,
                    &merge_accumulators<T, (IsMax ? 1 : -1)>, 1, op);
    });
    if (!keepdim)
      y = y.reshape(r.out);
    keep = r.keep;
  }
  if (recording())
    record(op, {x}, {y}, [x, y, keep, dims](const Grads &dy, const Needs &) {
      // Ties share the gradient equally.
      Tensor mask = (x == y.reshape(keep)).to(x.dtype());
      Tensor count = sum(mask, dims, true);
      return Grads{mask * expand_back(dy[0], keep, x.shape()) / count};
    });
  return y;
}

} // namespace

Tensor sum(const Tensor &x) { return sum_impl(x, {}, false); }
Tensor sum(const Tensor &x, Dims dims, bool keepdim) {
  return sum_impl(x, dims, keepdim);
}

Tensor mean(const Tensor &x) { return mean(x, {}, false); }
Tensor mean(const Tensor &x, Dims dims, bool keepdim) {
  if (!is_floating(x.dtype()))
    fail("mean: expected a floating dtype, got ", dtype_name(x.dtype()));
  Tensor s = sum_impl(x, dims, keepdim);
  int64_t n = s.numel() == 0 ? 0 : x.numel() / s.numel();
  return s / static_cast<double>(n);
}

Tensor max(const Tensor &x) { return extremum<true>(x, {}, false); }
Tensor max(const Tensor &x, Dims dims, bool keepdim) {
  return extremum<true>(x, dims, keepdim);
}
Tensor min(const Tensor &x) { return extremum<false>(x, {}, false); }
Tensor min(const Tensor &x, Dims dims, bool keepdim) {
  return extremum<false>(x, dims, keepdim);
}

Tensor argmax(const Tensor &x, int dim, bool keepdim) {
  if (x.numel() == 0)
    fail("argmax: empty tensor ", shape_str(x.shape()));
  if (cuda::on_gpu(x)) {
    // The first index of the maximum: the least index where x equals it
    // (0 where no element does, an all-NaN row, as on the CPU). Indices in
    // f64: exact for any length.
    RecordingPause pause;
    const int d = normalize_dim(dim, x.rank(), "argmax");
    const int64_t n = x.shape()[d];
    std::vector<double> ids(n);
    for (int64_t i = 0; i < n; ++i)
      ids[i] = static_cast<double>(i);
    Shape at(x.rank(), 1);
    at[d] = n;
    Tensor iota = Tensor::from(ids, at).to(x.device());
    Tensor m = max(x, {d}, true);
    Tensor first =
        min(where(x == m, iota, Tensor::scalar(static_cast<double>(n))), {d},
            keepdim);
    first = where(first >= static_cast<double>(n), Tensor::scalar(0.0), first);
    return first.to(DType::i64);
  }
  ReducePlan p = plan_reduce(x, {dim}, "argmax");
  if (p.outer) { // argmax needs rows: make the reduced dim innermost
    // (Kept as size 1 and moved back: without keepdim on rank >= 3 the
    // other dims would come out in transposed order.)
    Tensor t = x.transpose(dim, -1).contiguous();
    Tensor r = argmax(t, -1, true).transpose(dim, -1).contiguous();
    return keepdim ? r : r.squeeze(dim);
  }
  Tensor y = Tensor::empty(result_shape(p, keepdim), DType::i64, x.device());
  dispatch_numeric(x.dtype(), "argmax", [&]<class T>() {
    const T *px = p.x.data<T>();
    int64_t *py = y.data<int64_t>();
    const int64_t C = p.cols;
    parallel_for(p.rows, C, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        const T *row = px + i * C;
        int64_t best = 0;
        for (int64_t j = 1; j < C; ++j)
          if (row[j] > row[best])
            best = j;
        py[i] = best;
      }
    });
  });
  return y;
}

namespace {

// Row-wise kernels over the last dimension of a contiguous tensor.
enum class RowOp { logsumexp, softmax, logsoftmax };

template <class T>
void row_kernel(RowOp op, const T *x, T *y, int64_t R, int64_t C) {
  parallel_for(R, C * 4, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const T *xr = x + i * C;
      const ShiftedExpSum<T> sum =
          shifted_exp_sum(xr, C, 1, i + 1 < e ? xr + C : nullptr);
      const T m = sum.m;
      const Acc<T> s = static_cast<Acc<T>>(sum.s);
      // (x - m) - log(s), not x - (m + log(s)): for large |x| the rounding
      // of m + log(s) would cost up to an ulp of m (1e-5 relative in f32).
      const T logs = static_cast<T>(std::log(s));
      if (op == RowOp::logsumexp) {
        y[i] = m + logs;
      } else if (op == RowOp::softmax) {
        T *yr = y + i * C;
        for (int64_t j = 0; j < C; ++j)
          yr[j] = (xr[j] - m) - logs;
        vm::exp(yr, yr, C);
      } else {
        T *yr = y + i * C;
        for (int64_t j = 0; j < C; ++j)
          yr[j] = (xr[j] - m) - logs;
      }
    }
  });
}

// Applies a row op along `dim` of x; the result has x's shape (or x's shape
// with dim removed/kept as 1 for logsumexp).
Tensor along_dim(const Tensor &x, int dim, RowOp op, const char *name) {
  const int d = normalize_dim(dim, x.rank(), name);
  if (x.shape()[d] == 0)
    fail(name, ": dimension ", dim, " of ", shape_str(x.shape()), " is empty");
  if (cuda::on_gpu(x)) {
    if (op == RowOp::logsumexp) {
      RecordingPause pause;
      // An infinite maximum shifts by 0 (inf - inf would be NaN).
      Tensor m = max(x, {d}, true);
      m = where(abs(m) < std::numeric_limits<double>::infinity(), m,
                Tensor::scalar(0.0));
      return (log(sum(exp(x - m), {d}, true)) + m).squeeze(d);
    }
    // cuDNN over [outer, dim, inner].
    Tensor xc = dense(x);
    const int64_t n = x.shape()[d];
    const int64_t outer =
        shape_numel(Shape(x.shape().begin(), x.shape().begin() + d));
    const int64_t inner = x.numel() / std::max<int64_t>(outer * n, 1);
    Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
    if (x.numel() > 0)
      cuda::check(cuda::require(x.device(), name)
                      .softmax_forward(x.device().index,
                                       static_cast<int>(x.dtype()),
                                       op == RowOp::logsoftmax, outer, n, inner,
                                       xc.impl()->data(), y.impl()->data()),
                  name);
    return y;
  }
  check_cpu(x, name);
  // Move dim last (no tape: an internal layout change).
  const int r = x.rank();
  Shape order(r);
  for (int i = 0, k = 0; i < r; ++i)
    if (i != d)
      order[k++] = i;
  order[r - 1] = d;
  Shape ps(r), pst(r);
  for (int i = 0; i < r; ++i) {
    ps[i] = x.shape()[order[i]];
    pst[i] = x.strides()[order[i]];
  }
  Tensor xp = make_view(x, ps, pst, x.offset());
  xp = dense(xp);
  const int64_t C = ps[r - 1], R = C ? xp.numel() / C : 0;
  Shape yshape = ps;
  if (op == RowOp::logsumexp)
    yshape.pop_back();
  Tensor yp = Tensor::empty(yshape, x.dtype(), x.device());
  dispatch_float(x.dtype(), name, [&]<class T>() {
    row_kernel<T>(op, xp.data<T>(), yp.data<T>(), R, C);
  });
  if (op == RowOp::logsumexp)
    return yp; // [x.shape without d]
  // Back to x's dimension order, contiguous.
  Shape inv(r);
  for (int i = 0; i < r; ++i)
    inv[order[i]] = i;
  Shape ys(r), yst(r);
  for (int i = 0; i < r; ++i) {
    ys[i] = yshape[inv[i]];
    yst[i] = yp.strides()[inv[i]];
  }
  return dense(make_view(yp, ys, yst, 0));
}

} // namespace

Tensor logsumexp(const Tensor &x, int dim, bool keepdim) {
  Tensor y = along_dim(x, dim, RowOp::logsumexp, "logsumexp");
  const int d = normalize_dim(dim, x.rank(), "logsumexp");
  Shape keep = x.shape();
  keep[d] = 1;
  if (keepdim)
    y = make_view(y, keep, contiguous_strides(keep), 0);
  if (recording())
    record("logsumexp", {x}, {y}, [x, y, keep](const Grads &dy, const Needs &) {
      return Grads{dy[0].reshape(keep) * exp(x - y.reshape(keep))};
    });
  return y;
}

Tensor softmax(const Tensor &x, int dim) {
  Tensor y = along_dim(x, dim, RowOp::softmax, "softmax");
  if (recording())
    record("softmax", {x}, {y}, [y, dim](const Grads &dy, const Needs &) {
      return Grads{softmax_back(dy[0], y, dim)};
    });
  return y;
}

Tensor logsoftmax(const Tensor &x, int dim) {
  Tensor y = along_dim(x, dim, RowOp::logsoftmax, "logsoftmax");
  if (recording())
    record("logsoftmax", {x}, {y}, [y, dim](const Grads &dy, const Needs &) {
      return Grads{logsoftmax_back(dy[0], y, dim)};
    });
  return y;
}

// Written with differentiable ops, so their own gradients come for free.
Tensor softmax_back(const Tensor &dy, const Tensor &y, int dim) {
  return y * (dy - sum(dy * y, {dim}, true));
}

Tensor logsoftmax_back(const Tensor &dy, const Tensor &y, int dim) {
  return dy - exp(y) * sum(dy, {dim}, true);
}

Tensor sum_to(const Tensor &x, const Shape &shape) {
  if (x.shape() == shape)
    return x;
  std::optional<std::vector<int>> dims = sum_to_dims(x.shape(), shape);
  if (!dims)
    fail("sum_to: cannot reduce ", shape_str(x.shape()), " to ",
         shape_str(shape));
  Tensor s = dims->empty() ? x : sum(x, *dims, true);
  return s.reshape(shape);
}

} // namespace knet
