// Matrix products: matmul (2-D and batched with broadcast batch dims) and
// linear, with their tape rules. f32 runs on oneDNN's dnnl_sgemm, except
// small products (small_sgemm), and f64 on OpenBLAS's cblas_dgemm (rows split
// across knet's threads). Operands whose last two dims are a row-major or a
// column-major matrix (a transposed view) go to BLAS without a copy, with the
// transpose flag set; batch dims are walked through their strides, so sliced
// and broadcast batches need no copy either.
#include "core/autograd.h"
#include "core/cuda.h"
#include "core/dispatch.h"
#include "core/loops.h"
#include "core/parallel.h"

#include <knet/compiled.h>
#include <knet/ops/elementwise.h>
#include <knet/ops/linalg.h>
#include <knet/ops/reduce.h>

#include <cblas.h>
#include <oneapi/dnnl/dnnl.h>

#include <algorithm>
#include <climits>

namespace knet {

using namespace detail;

namespace {

// A copy in row-major order that the tape does not see (the op records
// itself with its original inputs).
Tensor plain_copy(const Tensor &x) {
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  if (cuda::on_gpu(x)) {
    cuda::convert(y, x);
    return y;
  }
  dispatch_float(x.dtype(), "matmul", [&]<class T>() {
    cpu_map<T, T>(
        y, [](T v) { return v; }, "matmul", x);
  });
  return y;
}

// How BLAS reads the matrix in an operand's last two dims.
struct MatView {
  bool trans = false; // stored column-major: pass 'T'
  int64_t ld = 1;
};

// Whether the [rows, cols] matrix with element strides (sr, sc) is one BLAS
// can read directly, and how.
bool blas_view(int64_t rows, int64_t cols, int64_t sr, int64_t sc, MatView &v) {
  // A size-1 dim's stride is never used: normalize it.
  if (cols == 1)
    sc = 1;
  if (rows == 1)
    sr = std::max<int64_t>(cols, 1);
  if (sc == 1 && sr >= std::max<int64_t>(cols, 1)) {
    v = {false, sr};
    return true;
  }
  if (rows == 1 && cols > 1 && sc >= 1) {
    // A single row with a non-unit stride: read it as a column-major
    // [1, cols] matrix, i.e. a transposed [cols, 1] one.
    v = {true, sc};
    return true;
  }
  if (sr == 1 && sc >= std::max<int64_t>(rows, 1)) {
    v = {true, sc};
    return true;
  }
  return false;
}

// An operand prepared for the batched gemm: its data, how its matrices are
// read, and the element stride of each output batch dim (0 where broadcast).
struct Operand {
  Tensor t; // the tensor whose data is read (maybe a copy)
  MatView view;
  Shape batch_strides; // aligned with the output batch dims
};

Operand prepare(const Tensor &x, const Shape &out_batch) {
  const int r = x.rank();
  const int64_t rows = x.shape()[r - 2], cols = x.shape()[r - 1];
  Operand o;
  o.t = x;
  if (!blas_view(rows, cols, x.strides()[r - 2], x.strides()[r - 1], o.view)) {
    o.t = plain_copy(x);
    blas_view(rows, cols, o.t.strides()[r - 2], o.t.strides()[r - 1], o.view);
  }
  const int nb = static_cast<int>(out_batch.size());
  const int xb = r - 2;
  o.batch_strides.assign(nb, 0);
  for (int i = 0; i < xb; ++i) {
    int d = nb - xb + i;
    if (x.shape()[i] != 1)
      o.batch_strides[d] = o.t.strides()[i];
  }
  return o;
}

void check_int(int64_t v, const Tensor &a, const Tensor &b, const char *op) {
  if (v > INT_MAX)
    fail(op, ": matrix too large for BLAS: ", shape_str(a.shape()), " x ",
         shape_str(b.shape()));
}

struct Checked {
  Shape batch; // broadcast batch dims of the output
  int64_t m, k, n;
};

Checked check_matmul(const Tensor &a, const Tensor &b, const char *op) {
  if (!a.defined() || !b.defined())
    fail(op, ": undefined tensor");
  if (a.device() != b.device())
    fail(op, ": operands on different devices: ", shape_str(a.shape()), " on ",
         device_str(a.device()), " x ", shape_str(b.shape()), " on ",
         device_str(b.device()));
  if (a.device().kind == Device::cpu) {
    check_cpu(a, op);
    check_cpu(b, op);
  }
  if (a.rank() < 2 || b.rank() < 2)
    fail(op,
         ": operands must have rank >= 2 (reshape a vector to [1,k] or "
         "[k,1]), got ",
         shape_str(a.shape()), " x ", shape_str(b.shape()));
  if (a.dtype() != b.dtype())
    fail(op, ": dtype mismatch: ", dtype_name(a.dtype()), " ",
         shape_str(a.shape()), " x ", dtype_name(b.dtype()), " ",
         shape_str(b.shape()));
  const bool half = a.dtype() == DType::f16 || a.dtype() == DType::bf16;
  if (a.dtype() != DType::f32 && a.dtype() != DType::f64 &&
      !(half && cuda::on_gpu(a)))
    fail(op, ": expected f32 or f64, got ", dtype_name(a.dtype()), " ",
         shape_str(a.shape()), " x ", shape_str(b.shape()));
  Checked c;
  c.m = a.size(-2);
  c.k = a.size(-1);
  c.n = b.size(-1);
  if (b.size(-2) != c.k)
    fail(op, ": inner dimensions differ: ", shape_str(a.shape()), " x ",
         shape_str(b.shape()));
  Shape ab(a.shape().begin(), a.shape().end() - 2);
  Shape bb(b.shape().begin(), b.shape().end() - 2);
  const size_t nb = std::max(ab.size(), bb.size());
  c.batch.assign(nb, 1);
  for (size_t i = 0; i < nb; ++i) {
    int64_t x = i + ab.size() >= nb ? ab[i + ab.size() - nb] : 1;
    int64_t y = i + bb.size() >= nb ? bb[i + bb.size() - nb] : 1;
    if (x != y && x != 1 && y != 1)
      fail(op, ": batch dimensions do not broadcast: ", shape_str(a.shape()),
           " x ", shape_str(b.shape()));
    c.batch[i] = x == 1 ? y : x;
  }
  check_int(c.m, a, b, op);
  check_int(c.k, a, b, op);
  check_int(c.n, a, b, op);
  return c;
}

// Calls f(i, oa, ob) for every matrix i of the output batch (row-major
// order), with the element offsets of A's and B's matrices for it.
template <class F>
void for_each_matrix(const Operand &A, const Operand &B, const Checked &c,
                     F f) {
  const int nb = static_cast<int>(c.batch.size());
  const int64_t count = shape_numel(c.batch);
  Shape idx(nb, 0);
  int64_t oa = 0, ob = 0;
  for (int64_t i = 0; i < count; ++i) {
    f(i, oa, ob);
    for (int d = nb - 1; d >= 0; --d) {
      oa += A.batch_strides[d];
      ob += B.batch_strides[d];
      if (++idx[d] < c.batch[d])
        break;
      oa -= idx[d] * A.batch_strides[d];
      ob -= idx[d] * B.batch_strides[d];
      idx[d] = 0;
    }
  }
}

// The one element stride that walks an operand's batch matrices in the
// order of the output's batch (0: one matrix for all), or -1 when no single
// stride does.
int64_t flat_batch_stride(const Operand &o, const Shape &batch) {
  int64_t stride = -1, expect = 0;
  bool all_zero = true;
  for (int d = static_cast<int>(batch.size()) - 1; d >= 0; --d) {
    if (batch[d] == 1)
      continue;
    all_zero &= o.batch_strides[d] == 0;
    if (stride < 0) {
      stride = o.batch_strides[d];
      expect = stride * batch[d];
    } else if (o.batch_strides[d] != expect) {
      return -1;
    } else {
      expect *= batch[d];
    }
  }
  return all_zero ? 0 : stride;
}

// Whether an f32 product of m*n*k multiply-adds goes to OpenBLAS rather than
// oneDNN: OpenBLAS's small-matrix kernels (one thread, no packing, up to
// 100^3) take half of dnnl_sgemm's time at 100x10x784 on one thread (12
// against 22 us on an AVX-512 Xeon), and with two threads they still beat
// oneDNN's parallel sgemm there (12 against 15 us) without waking a thread.
bool small_sgemm(int64_t m, int64_t n, int64_t k) {
  return static_cast<double>(m) * static_cast<double>(n) *
             static_cast<double>(k) <=
         1e6;
}

// Rows [r0, r1) of y = a . b + beta * y on OpenBLAS (one thread, see
// core/parallel.cpp), for one matrix of a batch: pa, pb and py point at it.
template <class T>
void blas_rows(const Operand &A, const Operand &B, const Checked &c,
               const T *pa, int64_t lda, const T *pb, int64_t ldb, T *py,
               double beta, int64_t r0, int64_t r1) {
  const auto ta = A.view.trans ? CblasTrans : CblasNoTrans;
  const auto tb = B.view.trans ? CblasTrans : CblasNoTrans;
  const T *pr = pa + (A.view.trans ? r0 : r0 * lda);
  const int m = static_cast<int>(r1 - r0), n = static_cast<int>(c.n),
            k = static_cast<int>(c.k);
  if constexpr (std::is_same_v<T, float>)
    cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, 1.0f, pr, static_cast<int>(lda),
                pb, static_cast<int>(ldb), static_cast<float>(beta),
                py + r0 * c.n, n);
  else
    cblas_dgemm(CblasRowMajor, ta, tb, m, n, k, 1.0, pr, static_cast<int>(lda),
                pb, static_cast<int>(ldb), beta, py + r0 * c.n, n);
}

// The batched product on the GPU: one strided-batched cuBLAS call when each
// operand's batch has one stride, else one call per matrix.
void gemm_cuda(const Operand &A, const Operand &B, const Checked &c, Tensor &y,
               double beta, const char *op) {
  const Device dev = y.device();
  const cuda_abi::Backend &be = cuda::require(dev, op);
  const int64_t count = shape_numel(c.batch), mn = c.m * c.n;
  const size_t es = dtype_size(y.dtype());
  const int64_t lda = std::max<int64_t>(A.view.ld, 1);
  const int64_t ldb = std::max<int64_t>(B.view.ld, 1);
  auto call = [&](int64_t oa, int64_t ob, int64_t oy, int64_t sa, int64_t sb,
                  int64_t batches) {
    cuda::check_retry(dev, op, [&] {
      return be.gemm(dev.index, static_cast<int>(y.dtype()), A.view.trans,
                     B.view.trans, c.m, c.n, c.k, 1.0,
                     static_cast<char *>(A.t.impl()->data()) + oa * es, lda, sa,
                     static_cast<char *>(B.t.impl()->data()) + ob * es, ldb, sb,
                     beta, static_cast<char *>(y.impl()->data()) + oy * es, c.n,
                     mn, batches, allow_tf32() ? 1 : 0);
    });
  };
  const int64_t sa = flat_batch_stride(A, c.batch),
                sb = flat_batch_stride(B, c.batch);
  if (count == 1 || (sa >= 0 && sb >= 0)) {
    call(0, 0, 0, std::max<int64_t>(sa, 0), std::max<int64_t>(sb, 0), count);
    return;
  }
  for_each_matrix(A, B, c, [&](int64_t i, int64_t oa, int64_t ob) {
    call(oa, ob, i * mn, 0, 0, 1);
  });
}

// y[batch] = a[batch] . b[batch] + beta * y[batch]; y is contiguous
// [batch..., m, n].
void gemm_batched(const Tensor &a, const Tensor &b, const Checked &c, Tensor &y,
                  double beta, const char *op) {
  if (y.numel() == 0)
    return;
  if (c.k == 0) {
    if (beta == 0 && cuda::on_gpu(y))
      cuda::fill(y, 0.0);
    else if (beta == 0)
      dispatch_float(y.dtype(), op, [&]<class T>() {
        std::fill(y.data<T>(), y.data<T>() + y.numel(), T(0));
      });
    return;
  }
  Operand A = prepare(a, c.batch), B = prepare(b, c.batch);
  const int64_t mn = c.m * c.n;
  const int64_t lda = std::max<int64_t>(A.view.ld, 1);
  const int64_t ldb = std::max<int64_t>(B.view.ld, 1);
  check_int(lda, a, b, op);
  check_int(ldb, a, b, op);
  if (cuda::on_gpu(y)) {
    gemm_cuda(A, B, c, y, beta, op);
    return;
  }
  const bool small = small_sgemm(c.m, c.n, c.k);
  for_each_matrix(A, B, c, [&](int64_t i, int64_t oa, int64_t ob) {
    if (y.dtype() == DType::f32 && small) {
      blas_rows(A, B, c, A.t.data<float>() + oa, lda, B.t.data<float>() + ob,
                ldb, y.data<float>() + i * mn, beta, 0, c.m);
    } else if (y.dtype() == DType::f32) {
      const float *pa = A.t.data<float>() + oa;
      const float *pb = B.t.data<float>() + ob;
      float *py = y.data<float>() + i * mn;
      dnnl_status_t s = dnnl_sgemm(
          A.view.trans ? 'T' : 'N', B.view.trans ? 'T' : 'N', c.m, c.n, c.k,
          1.0f, pa, lda, pb, ldb, static_cast<float>(beta), py, c.n);
      if (s != dnnl_success)
        fail(op, ": dnnl_sgemm failed (status ", static_cast<int>(s), ") on ",
             shape_str(a.shape()), " x ", shape_str(b.shape()));
    } else {
      // Rows of y go to knet's threads, each a product of its own.
      parallel_for(c.m, std::max<int64_t>(c.n * c.k / 4, 1),
                   [&](int64_t r0, int64_t r1) {
                     blas_rows(A, B, c, A.t.data<double>() + oa, lda,
                               B.t.data<double>() + ob, ldb,
                               y.data<double>() + i * mn, beta, r0, r1);
                   });
    }
  });
}

Shape out_shape(const Checked &c) {
  Shape s = c.batch;
  s.push_back(c.m);
  s.push_back(c.n);
  return s;
}

} // namespace

Tensor matmul(const Tensor &a, const Tensor &b) {
  Checked c = check_matmul(a, b, "matmul");
  Tensor y = Tensor::empty(out_shape(c), a.dtype(), a.device());
  gemm_batched(a, b, c, y, 0.0, "matmul");
  if (recording())
    record("matmul", {a, b}, {y}, [a, b](const Grads &dy, const Needs &n) {
      return Grads{n[0] ? sum_to(matmul(dy[0], b.transpose(-2, -1)), a.shape())
                        : Tensor(),
                   n[1] ? sum_to(matmul(a.transpose(-2, -1), dy[0]), b.shape())
                        : Tensor()};
    });
  return y;
}

namespace detail {

Tensor matmul_accumulate(const Tensor &acc, const Tensor &a, const Tensor &b,
                         const Tensor &like) {
  const char *op = "matmul";
  auto inPlace = [&] {
    if (recording() || !acc.defined() || !a.defined() || !b.defined() ||
        !like.defined())
      return false;
    // The caller's variable holds the only reference (knet-accumulate: the
    // value has no other use), and no view shares the storage.
    if (acc.impl_ptr().use_count() != 1 ||
        acc.impl()->storage.use_count() != 1 || !acc.is_contiguous() ||
        acc.is_weak())
      return false;
    const DType t = acc.dtype();
    if ((t != DType::f32 && t != DType::f64) || a.dtype() != t ||
        b.dtype() != t || a.rank() != 2 || b.rank() != 2 ||
        a.device() != acc.device() || b.device() != acc.device())
      return false;
    const Shape product{a.size(0), b.size(1)};
    return a.size(1) == b.size(0) && acc.shape() == product &&
           like.shape() == product;
  };
  if (!inPlace())
    return acc + sum_to(matmul(a, b), like.shape());
  Checked c = check_matmul(a, b, op);
  Tensor y = acc;
  gemm_batched(a, b, c, y, 1.0, op);
  return y;
}

} // namespace detail

Tensor linear(const Tensor &x, const Tensor &w, const Tensor &b) {
  const char *op = "linear";
  if (!x.defined() || !w.defined())
    fail(op, ": undefined tensor");
  if (x.rank() < 2 || w.rank() != 2)
    fail(op, ": expected x [N, in] (or [..., N, in]) and w [out, in], got x ",
         shape_str(x.shape()), " w ", shape_str(w.shape()));
  if (x.size(-1) != w.size(1))
    fail(op, ": x has ", x.size(-1), " features but w expects ", w.size(1),
         ": x ", shape_str(x.shape()), " w ", shape_str(w.shape()));
  if (b.defined()) {
    if (b.device() != w.device())
      fail(op, ": bias on ", device_str(b.device()), ", w on ",
           device_str(w.device()));
    if (b.rank() != 1 || b.size(0) != w.size(0))
      fail(op, ": bias must be [", w.size(0), "] for w ", shape_str(w.shape()),
           ", got ", shape_str(b.shape()));
    if (b.dtype() != w.dtype())
      fail(op, ": dtype mismatch: w ", dtype_name(w.dtype()), " ",
           shape_str(w.shape()), " vs b ", dtype_name(b.dtype()), " ",
           shape_str(b.shape()));
  }
  Tensor wt = w.transpose(0, 1);
  Tensor y;
  {
    // The forward: the bias broadcast into y, then y += x . w^T in one gemm.
    Checked c = check_matmul(x, wt, op);
    y = Tensor::empty(out_shape(c), x.dtype(), x.device());
    if (b.defined() && cuda::on_gpu(y))
      cuda::convert(y, b);
    else if (b.defined())
      dispatch_float(y.dtype(), op, [&]<class T>() {
        cpu_map<T, T>(
            y, [](T v) { return v; }, op, b);
      });
    gemm_batched(x, wt, c, y, b.defined() ? 1.0 : 0.0, op);
  }
  if (recording()) {
    std::vector<Tensor> in{x, w};
    if (b.defined())
      in.push_back(b);
    record("linear", in, {y}, [x, w, b](const Grads &dy, const Needs &n) {
      const Tensor &g = dy[0];
      Grads r{n[0] ? matmul(g, w) : Tensor(),
              n[1] ? sum_to(matmul(g.transpose(-2, -1), x), w.shape())
                   : Tensor()};
      if (b.defined())
        r.push_back(n[2] ? sum_to(g, b.shape()) : Tensor());
      return r;
    });
  }
  return y;
}

} // namespace knet
