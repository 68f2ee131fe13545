// Ops that gather, join and split tensors: embedding (and its backward
// kernel embedding_back), concat, stack, chunk and mat, with their tape rules.
#include "core/cuda.h"
#include "core/elementwise.h"

#include <knet/checks.h>
#include <knet/ops/elementwise.h>
#include <knet/ops/shape.h>

#include <algorithm>

namespace knet {

using namespace detail;

namespace {

// Checks ids (i64, on `device` or on the CPU) and returns a pointer to
// their values: `idc` is the dense ids on `device` (CPU ids go there), and
// the pointer is into it on the CPU, or into `host` (a copy) for a GPU.
const int64_t *check_ids(const Tensor &ids, Device device, const char *op,
                         Tensor &idc, std::vector<int64_t> &host) {
  if (!ids.defined())
    fail(op, ": undefined ids");
  if (ids.device() != device && ids.device().kind != Device::cpu)
    fail(op, ": ids on ", device_str(ids.device()), " but the values on ",
         device_str(device));
  if (ids.dtype() != DType::i64)
    fail(op, ": ids must have dtype i64, got ", dtype_name(ids.dtype()), " ",
         shape_str(ids.shape()));
  idc = dense(ids);
  if (device.kind == Device::cpu)
    return idc.data<int64_t>();
  host = idc.to_vector<int64_t>();
  if (idc.device() != device) {
    RecordingPause pause;
    idc = idc.to(device);
  }
  return host.data();
}

// Copies src into the region of out that starts at `begin` along `dim`
// (an internal write into a fresh tensor: no tape involvement).
void copy_into(const Tensor &out, const Tensor &src, int dim, int64_t begin,
               const char *op) {
  Shape strides = out.strides();
  int64_t off = out.offset() + begin * strides[dim];
  Tensor region = make_view(out, src.shape(), strides, off);
  if (cuda::on_gpu(out)) {
    cuda::convert(region, src);
    return;
  }
  dispatch_all(out.dtype(), op, [&]<class T>() {
    cpu_map<T, T>(
        region, [](T v) { return v; }, op, src);
  });
}

} // namespace

Tensor embedding(const Tensor &table, const Tensor &ids) {
  const char *op = "embedding";
  if (!table.defined())
    fail(op, ": undefined table");
  if (!cuda::on_gpu(table))
    check_cpu(table, op);
  Tensor idc;
  std::vector<int64_t> host;
  const int64_t *id = check_ids(ids, table.device(), op, idc, host);
  if (table.rank() != 2)
    fail(op, ": table must be [V,E], got ", shape_str(table.shape()));
  if (!is_floating(table.dtype()))
    fail(op, ": table must have a floating dtype, got ",
         dtype_name(table.dtype()));
  const int64_t V = table.size(0), E = table.size(1);
  const int64_t n = idc.numel();
  for (int64_t i = 0; i < n; ++i)
    if (id[i] < 0 || id[i] >= V)
      fail(op, ": id ", id[i], " out of range for a table of ", V, " rows ",
           shape_str(table.shape()));
  Shape out_shape = ids.shape();
  out_shape.push_back(E);
  Tensor y = Tensor::empty(out_shape, table.dtype(), table.device());
  const int64_t s0 = table.strides()[0], s1 = table.strides()[1];
  if (cuda::on_gpu(table))
    cuda::gather_rows(y.reshape({n, E}), dense(table), idc);
  else
    dispatch_float(table.dtype(), op, [&]<class T>() {
      const T *t = table.data<T>();
      T *o = y.data<T>();
      parallel_for(n, E, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) {
          const T *row = t + id[i] * s0;
          T *dst = o + i * E;
          if (s1 == 1)
            std::copy(row, row + E, dst);
          else
            for (int64_t j = 0; j < E; ++j)
              dst[j] = row[j * s1];
        }
      });
    });
  if (recording())
    // The ids are saved by value: a later in-place write to the caller's ids
    // must not change this gradient.
    record(op, {table, ids}, {y},
           [idc = idc.shares_storage(ids) ? idc.clone() : idc,
            V](const Grads &dy, const Needs &n) {
             return Grads{n[0] ? embedding_back(dy[0], idc, V) : Tensor(),
                          Tensor()};
           });
  return y;
}

Tensor embedding_back(const Tensor &dy, const Tensor &ids, int64_t vocab) {
  const char *op = "embedding_back";
  if (!dy.defined())
    fail(op, ": undefined dy");
  if (!cuda::on_gpu(dy))
    check_cpu(dy, op);
  Tensor idc;
  std::vector<int64_t> host;
  const int64_t *id = check_ids(ids, dy.device(), op, idc, host);
  if (vocab < 0)
    fail(op, ": negative vocabulary size ", vocab);
  const int r = ids.rank();
  if (dy.rank() != r + 1 ||
      !std::equal(ids.shape().begin(), ids.shape().end(), dy.shape().begin()))
    fail(op, ": dy ", shape_str(dy.shape()), " does not match ids ",
         shape_str(ids.shape()), " + [E]");
  const int64_t E = dy.shape()[r];
  const int64_t n = idc.numel();
  for (int64_t i = 0; i < n; ++i)
    if (id[i] < 0 || id[i] >= vocab)
      fail(op, ": id ", id[i], " out of range for a table of ", vocab, " rows");
  Tensor dx = Tensor::zeros({vocab, E}, dy.dtype(), dy.device());
  if (cuda::on_gpu(dy))
    cuda::scatter_add_rows(dx, dense(dy).reshape({n, E}), idc);
  else
    dispatch_float(dy.dtype(), op, [&]<class T>() {
      // dy as [n, E] rows (a copy only when dy is not contiguous).
      Tensor g = dense(dy);
      const T *pg = g.data<T>();
      T *o = dx.data<T>();
      // Columns split across threads: no two threads write one element.
      parallel_for(E, n, [&](int64_t b, int64_t e) {
        for (int64_t i = 0; i < n; ++i) {
          const T *src = pg + i * E;
          T *dst = o + id[i] * E;
          for (int64_t j = b; j < e; ++j)
            dst[j] += src[j];
        }
      });
    });
  if (recording())
    record(op, {dy, ids}, {dx}, [idc](const Grads &gg, const Needs &n) {
      // Linear in dy: its adjoint gathers the rows back.
      return Grads{n[0] ? embedding(gg[0], idc) : Tensor(), Tensor()};
    });
  return dx;
}

Tensor concat(const std::vector<Tensor> &xs, int dim) {
  const char *op = "concat";
  if (xs.empty())
    fail(op, ": no tensors to concatenate");
  for (const Tensor &x : xs) {
    if (!x.defined())
      fail(op, ": undefined tensor");
    if (x.device() != xs[0].device())
      fail(op, ": tensors on ", device_str(xs[0].device()), " and ",
           device_str(x.device()));
  }
  const Tensor &x0 = xs[0];
  const int r = x0.rank();
  if (r == 0)
    fail(op, ": cannot concatenate 0-dimensional tensors (use stack)");
  const int d = normalize_dim(dim, r, op);
  Shape out_shape = x0.shape();
  out_shape[d] = 0;
  std::vector<int64_t> begins;
  for (size_t k = 0; k < xs.size(); ++k) {
    const Tensor &x = xs[k];
    if (x.dtype() != x0.dtype())
      fail(op, ": dtype mismatch: ", dtype_name(x0.dtype()), " ",
           shape_str(x0.shape()), " vs ", dtype_name(x.dtype()), " ",
           shape_str(x.shape()), " (tensor ", k, ")");
    bool ok = x.rank() == r;
    for (int i = 0; ok && i < r; ++i)
      ok = i == d || x.shape()[i] == x0.shape()[i];
    if (!ok)
      fail(op, ": shapes ", shape_str(x0.shape()), " and ",
           shape_str(x.shape()), " (tensor ", k, ") differ outside dimension ",
           dim);
    begins.push_back(out_shape[d]);
    out_shape[d] += x.shape()[d];
  }
  Tensor y = Tensor::empty(out_shape, x0.dtype(), x0.device());
  for (size_t k = 0; k < xs.size(); ++k)
    copy_into(y, xs[k], d, begins[k], op);
  if (recording()) {
    std::vector<int64_t> sizes;
    for (const Tensor &x : xs)
      sizes.push_back(x.shape()[d]);
    record(op, xs, {y}, [d, begins, sizes](const Grads &dy, const Needs &n) {
      Grads g(n.size());
      for (size_t k = 0; k < n.size(); ++k)
        if (n[k])
          g[k] = dy[0].slice(d, begins[k], begins[k] + sizes[k]);
      return g;
    });
  }
  return y;
}

Tensor stack(const std::vector<Tensor> &xs, int dim) {
  const char *op = "stack";
  if (xs.empty())
    fail(op, ": no tensors to stack");
  const Shape &s0 = xs[0].shape();
  for (size_t k = 1; k < xs.size(); ++k)
    if (xs[k].shape() != s0)
      fail(op, ": shapes differ: ", shape_str(s0), " and ",
           shape_str(xs[k].shape()), " (tensor ", k, ")");
  const int d = normalize_dim(dim, xs[0].rank() + 1, op);
  std::vector<Tensor> us;
  us.reserve(xs.size());
  for (const Tensor &x : xs)
    us.push_back(x.unsqueeze(d));
  return concat(us, d);
}

std::vector<Tensor> chunk(const Tensor &x, int n, int dim) {
  const char *op = "chunk";
  if (!x.defined())
    fail(op, ": undefined tensor");
  if (std::string e = chunk_count_error(n); !e.empty())
    fail(op, ": ", e);
  const int d = normalize_dim(dim, x.rank(), op);
  // numpy.array_split: always n pieces; the first size % n get one more.
  const int64_t size = x.shape()[d], base = size / n, extra = size % n;
  std::vector<Tensor> out;
  out.reserve(n);
  int64_t begin = 0;
  for (int k = 0; k < n; ++k) {
    int64_t len = base + (k < extra ? 1 : 0);
    out.push_back(x.slice(d, begin, begin + len));
    begin += len;
  }
  return out;
}

Tensor mat(const Tensor &x) {
  if (!x.defined())
    fail("mat: undefined tensor");
  if (x.rank() == 0)
    return x.reshape({1, 1});
  int64_t rest = 1;
  for (int i = 1; i < x.rank(); ++i)
    rest *= x.shape()[i];
  return x.reshape({x.shape()[0], rest});
}

// The adjoints of the views Tensor::slice and Tensor::select (their tape
// rules live with the views in core/tensor.cpp): dy written into the same
// view of zeros shaped like x. Under a tape the result's gradient is that
// view of its incoming gradient.

namespace {

template <class View>
Tensor view_adjoint(const Tensor &dy, const Shape &x_shape, const char *op,
                    View view) {
  if (!dy.defined())
    fail(op, ": undefined dy");
  Tensor z = Tensor::zeros(x_shape, dy.dtype(), dy.device());
  Tensor zv = view(z);
  if (zv.shape() != dy.shape())
    fail(op, ": dy ", shape_str(dy.shape()), " does not match the view ",
         shape_str(zv.shape()), " of ", shape_str(x_shape));
  copy_(zv, dy);
  if (recording())
    record(op, {dy}, {z}, [view](const Grads &g, const Needs &) {
      return Grads{view(g[0]).contiguous()};
    });
  return z;
}

} // namespace

Tensor slice_back(const Tensor &dy, const Shape &x_shape, int dim,
                  int64_t begin, int64_t end, int64_t step) {
  return view_adjoint(dy, x_shape, "slice_back", [=](const Tensor &t) {
    return t.slice(dim, begin, end, step);
  });
}

Tensor select_back(const Tensor &dy, const Shape &x_shape, int dim,
                   int64_t index) {
  return view_adjoint(dy, x_shape, "select_back",
                      [=](const Tensor &t) { return t.select(dim, index); });
}

} // namespace knet
