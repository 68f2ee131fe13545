// Losses and metrics: nll (with logsoftmax inside), accuracy, bce and
// logistic, each computed in one stable pass with its tape rule beside it.
#include "core/cuda.h"
#include "core/elementwise.h"
#include "core/rows.h"

#include <knet/ops/elementwise.h>
#include <knet/ops/loss.h>
#include <knet/ops/reduce.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace knet {

using namespace detail;

namespace {

// Checks scores [N,C] (floating) and labels i64 [N] (every id < C); returns
// the labels as a contiguous vector.
std::vector<int64_t> check_class_inputs(const Tensor &scores,
                                        const Tensor &labels, const char *op) {
  if (!scores.defined() || !labels.defined())
    fail(op, ": undefined tensor");
  // Labels on the CPU may go with scores on a GPU (they are read here).
  if (scores.device() != labels.device() && labels.device().kind != Device::cpu)
    fail(op, ": scores on ", device_str(scores.device()), " but labels on ",
         device_str(labels.device()));
  if (scores.rank() != 2)
    fail(op, ": scores must be [N,C], got ", shape_str(scores.shape()));
  if (!is_floating(scores.dtype()))
    fail(op, ": scores must have a floating dtype, got ",
         dtype_name(scores.dtype()));
  if (labels.dtype() != DType::i64)
    fail(op, ": labels must have dtype i64, got ", dtype_name(labels.dtype()),
         " ", shape_str(labels.shape()));
  if (labels.rank() != 1 || labels.shape()[0] != scores.shape()[0])
    fail(op, ": labels ", shape_str(labels.shape()), " do not match scores ",
         shape_str(scores.shape()), " (expected [", scores.shape()[0], "])");
  std::vector<int64_t> ids = labels.to_vector<int64_t>();
  const int64_t C = scores.shape()[1];
  for (size_t i = 0; i < ids.size(); ++i)
    if (ids[i] >= C)
      fail(op, ": label ", ids[i], " at row ", i, " out of range for ", C,
           " classes (scores ", shape_str(scores.shape()), ")");
  return ids;
}

// The [N,C] b8 mask, on the scores' device, of each row's class (no class
// for a row whose id is < 0).
Tensor class_mask(const std::vector<int64_t> &ids, const Tensor &scores) {
  const int64_t N = scores.shape()[0], C = scores.shape()[1];
  std::vector<double> idv(ids.begin(), ids.end()), iota(C);
  for (int64_t j = 0; j < C; ++j)
    iota[j] = static_cast<double>(j);
  const Device dev = scores.device();
  return Tensor::from(idv, {N, 1}).to(dev) ==
         Tensor::from(iota, {1, C}).to(dev);
}

// logsumexp of row i of a strided [N,C] matrix whose rows before `end` are
// read next (prefetched).
template <class T>
double row_lse(const T *x, int64_t i, int64_t C, int64_t s0, int64_t s1,
               int64_t end) {
  const T *r = x + i * s0;
  const ShiftedExpSum<T> e =
      shifted_exp_sum(r, C, s1, i + 1 < end ? r + s0 : nullptr);
  return static_cast<double>(e.m) + std::log(e.s);
}

// The gradient of nll w.r.t. scores for a scalar upstream gradient `dy`:
// (softmax - onehot) * dy / count on counted rows, zero on skipped ones.
// Without an outer tape it is one fused pass; with one it is written with
// differentiable ops so that higher-order gradients flow.
Tensor nll_grad(const Tensor &dy, const Tensor &scores,
                const std::vector<int64_t> &ids, double scale) {
  const int64_t N = scores.shape()[0], C = scores.shape()[1];
  if (recording()) {
    std::vector<double> rowmask(N), onehot(N * C, 0.0);
    for (int64_t i = 0; i < N; ++i) {
      rowmask[i] = ids[i] >= 0 ? 1.0 : 0.0;
      if (ids[i] >= 0)
        onehot[i * C + ids[i]] = 1.0;
    }
    DType t = scores.dtype();
    Tensor rm = Tensor::from(rowmask, {N, 1}).to(t);
    Tensor oh = Tensor::from(onehot, {N, C}).to(t);
    return (softmax(scores, 1) * rm - oh) * (dy * scale);
  }
  Tensor g = Tensor::empty({N, C}, scores.dtype(), scores.device());
  const double k = dy.item<double>() * scale;
  const int64_t s0 = scores.strides()[0], s1 = scores.strides()[1];
  dispatch_float(scores.dtype(), "nll", [&]<class T>() {
    const T *x = scores.data<T>();
    T *o = g.data<T>();
    parallel_for(N, C * 4, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        T *orow = o + i * C;
        if (ids[i] < 0) {
          std::fill(orow, orow + C, T(0));
          continue;
        }
        const double lse = row_lse(x, i, C, s0, s1, e);
        const T *r = x + i * s0;
        for (int64_t j = 0; j < C; ++j)
          orow[j] = static_cast<T>(static_cast<double>(r[j * s1]) - lse);
        vm::exp(orow, orow, C);
        const T kt = static_cast<T>(k), p = orow[ids[i]];
        for (int64_t j = 0; j < C; ++j)
          orow[j] *= kt;
        orow[ids[i]] = kt * (p - T(1));
      }
    });
  });
  return g;
}

// Elementwise loss terms summed in one pass over same-shaped x and p (both
// of x's floating dtype, any strides): sum f(x, p) in double.
template <class F>
double sum_pairs(const Tensor &x, const Tensor &p, const char *op, F f) {
  Tensor terms = Tensor::empty(x.shape(), DType::f64, x.device());
  dispatch_float(x.dtype(), op, [&]<class T>() {
    cpu_map<double, T, T>(
        terms,
        [f](T u, T v) {
          return f(static_cast<double>(u), static_cast<double>(v));
        },
        op, x, p);
  });
  const double *t = terms.data<double>();
  double s = 0;
  for (int64_t i = 0, n = terms.numel(); i < n; ++i)
    s += t[i];
  return s;
}

// Checks a binary loss's inputs; returns the labels in x's dtype (integer or
// b8 labels are converted and carry no gradient).
Tensor check_binary(const Tensor &x, const Tensor &p, const char *op) {
  if (!x.defined() || !p.defined())
    fail(op, ": undefined tensor");
  if (x.device() != p.device())
    fail(op, ": scores on ", device_str(x.device()), " but labels on ",
         device_str(p.device()));
  if (!cuda::on_gpu(x)) {
    check_cpu(x, op);
    check_cpu(p, op);
  }
  if (!is_floating(x.dtype()))
    fail(op, ": scores must have a floating dtype, got ",
         dtype_name(x.dtype()));
  if (x.shape() != p.shape())
    fail(op, ": scores ", shape_str(x.shape()), " and labels ",
         shape_str(p.shape()), " differ in shape");
  if (is_floating(p.dtype())) {
    check_same_dtype(x, p, op);
    return p;
  }
  return p.to(x.dtype());
}

double softplus_d(double z) {
  return std::max(z, 0.0) + std::log1p(std::exp(-std::abs(z)));
}

} // namespace

Tensor nll(const Tensor &scores, const Tensor &labels, NllOptions o) {
  std::vector<int64_t> ids = check_class_inputs(scores, labels, "nll");
  const int64_t N = scores.shape()[0], C = scores.shape()[1];
  int64_t count = 0;
  for (int64_t id : ids)
    count += id >= 0;
  if (C == 0 && count > 0)
    fail("nll: scores ", shape_str(scores.shape()), " have no classes");
  if (cuda::on_gpu(scores)) {
    // Composed of GPU ops, which record themselves: the log-probabilities
    // picked by a one-hot mask (rows with id < 0 pick nothing).
    const double scale = o.average && count > 0 ? 1.0 / count : 1.0;
    if (count == 0) // nothing counted (C may be 0): the loss is 0
      return Tensor::zeros({}, scores.dtype(), scores.device());
    const Tensor zero = Tensor::scalar(0.0);
    // Skipped rows enter as zeros: their scores, finite or not, get a zero
    // gradient, as on the CPU.
    Tensor x = scores;
    if (count < N) {
      std::vector<double> counted(ids.size());
      for (size_t i = 0; i < ids.size(); ++i)
        counted[i] = ids[i] >= 0 ? 1.0 : 0.0;
      Tensor rows = Tensor::from(counted, {N, 1}).to(scores.device()) > 0.5;
      x = where(rows, scores, zero);
    }
    Tensor picked = sum(where(class_mask(ids, scores), logsoftmax(x, 1), zero));
    return picked * -scale;
  }
  const int64_t s0 = scores.strides()[0], s1 = scores.strides()[1];
  double total = 0;
  dispatch_float(scores.dtype(), "nll", [&]<class T>() {
    const T *x = scores.data<T>();
    std::vector<double> per_row(N, 0.0);
    parallel_for(N, C * 2, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i)
        if (ids[i] >= 0)
          per_row[i] = row_lse(x, i, C, s0, s1, e) -
                       static_cast<double>(x[i * s0 + ids[i] * s1]);
    });
    for (double v : per_row)
      total += v;
  });
  // With no counted row the loss is 0 (and so is its gradient).
  const double scale = o.average && count > 0 ? 1.0 / count : 1.0;
  Tensor y = Tensor::scalar(total * scale, scores.dtype());
  if (recording())
    record("nll", {scores, labels}, {y},
           [scores, ids, scale](const Grads &dy, const Needs &n) {
             return Grads{n[0] ? nll_grad(dy[0], scores, ids, scale) : Tensor(),
                          Tensor()};
           });
  return y;
}

double accuracy(const Tensor &scores, const Tensor &labels) {
  std::vector<int64_t> ids = check_class_inputs(scores, labels, "accuracy");
  const int64_t N = scores.shape()[0], C = scores.shape()[1];
  int64_t count = 0, correct = 0;
  for (int64_t id : ids)
    count += id >= 0;
  if (count == 0)
    return 0.0;
  if (cuda::on_gpu(scores)) {
    // The row maxima's first index on the GPU, compared here.
    std::vector<int64_t> best = C == 0 ? std::vector<int64_t>(N, 0)
                                       : argmax(scores, 1).to_vector<int64_t>();
    for (int64_t i = 0; i < N; ++i)
      correct += ids[i] >= 0 && best[i] == ids[i];
    return static_cast<double>(correct) / static_cast<double>(count);
  }
  const int64_t s0 = scores.strides()[0], s1 = scores.strides()[1];
  dispatch_float(scores.dtype(), "accuracy", [&]<class T>() {
    const T *x = scores.data<T>();
    for (int64_t i = 0; i < N; ++i) {
      if (ids[i] < 0)
        continue;
      const T *r = x + i * s0;
      int64_t best = 0; // first wins among ties, as argmax
      for (int64_t j = 1; j < C; ++j)
        if (r[j * s1] > r[best * s1])
          best = j;
      correct += best == ids[i];
    }
  });
  return static_cast<double>(correct) / static_cast<double>(count);
}

Tensor bce(const Tensor &scores, const Tensor &labels01) {
  Tensor p = check_binary(scores, labels01, "bce");
  const int64_t n = scores.numel();
  const double inv = n > 0 ? 1.0 / n : 0.0;
  Tensor y;
  if (cuda::on_gpu(scores)) {
    RecordingPause pause;
    y = sum(softplus(scores) - p * scores) * inv;
  } else {
    // -(p log sigm(x) + (1-p) log(1-sigm(x))) = softplus(x) - p x.
    double s = sum_pairs(scores, p, "bce", [](double x, double q) {
      return softplus_d(x) - q * x;
    });
    y = Tensor::scalar(n > 0 ? s * inv : 0.0, scores.dtype());
  }
  if (recording())
    record("bce", {scores, p}, {y},
           [scores, p, inv](const Grads &dy, const Needs &need) {
             return Grads{need[0] ? bce_back(dy[0], scores, p) : Tensor(),
                          need[1] ? -(scores * (dy[0] * inv)) : Tensor()};
           });
  return y;
}

Tensor logistic(const Tensor &scores, const Tensor &labels_pm1) {
  Tensor p = check_binary(scores, labels_pm1, "logistic");
  const int64_t n = scores.numel();
  const double inv = n > 0 ? 1.0 / n : 0.0;
  Tensor y;
  if (cuda::on_gpu(scores)) {
    RecordingPause pause;
    y = sum(softplus(-(p * scores))) * inv;
  } else {
    double s = sum_pairs(scores, p, "logistic",
                         [](double x, double q) { return softplus_d(-q * x); });
    y = Tensor::scalar(n > 0 ? s * inv : 0.0, scores.dtype());
  }
  if (recording())
    record("logistic", {scores, p}, {y},
           [scores, p, inv](const Grads &dy, const Needs &need) {
             // d/dz softplus(z) = sigm(z), z = -p x.
             return Grads{need[0] ? logistic_back(dy[0], scores, p) : Tensor(),
                          need[1]
                              ? scores * (sigm(-(p * scores)) * (dy[0] * -inv))
                              : Tensor()};
           });
  return y;
}

// Backward kernels: the gradients of the scores that the tape rules above
// compute, as public functions for compiled adjoints.

Tensor nll_back(const Tensor &dy, const Tensor &scores, const Tensor &labels,
                NllOptions o) {
  std::vector<int64_t> ids = check_class_inputs(scores, labels, "nll_back");
  if (!dy.defined() || dy.numel() != 1)
    fail("nll_back: dy must hold one value (the loss's gradient), got ",
         dy.defined() ? shape_str(dy.shape()) : std::string("undefined"));
  int64_t count = 0;
  for (int64_t id : ids)
    count += id >= 0;
  const double scale = o.average && count > 0 ? 1.0 / count : 1.0;
  if (cuda::on_gpu(scores)) {
    // (softmax - onehot) * dy / count on counted rows, zero on the others.
    Tensor onehot = class_mask(ids, scores).to(scores.dtype());
    std::vector<double> counted(ids.size());
    for (size_t i = 0; i < ids.size(); ++i)
      counted[i] = ids[i] >= 0 ? 1.0 : 0.0;
    Tensor rows = Tensor::from(counted, {static_cast<int64_t>(ids.size()), 1})
                      .to(scores.device())
                      .to(scores.dtype());
    return (softmax(scores, 1) - onehot) * rows *
           (dy.reshape({}).to(scores.device()) * scale);
  }
  return nll_grad(dy, scores, ids, scale);
}

Tensor bce_back(const Tensor &dy, const Tensor &scores,
                const Tensor &labels01) {
  Tensor p = check_binary(scores, labels01, "bce_back");
  const int64_t n = scores.numel();
  // d/dx (softplus(x) - p x) / n = (sigm(x) - p) / n.
  return (sigm(scores) - p) * (dy * (n > 0 ? 1.0 / n : 0.0));
}

Tensor logistic_back(const Tensor &dy, const Tensor &scores,
                     const Tensor &labels_pm1) {
  Tensor p = check_binary(scores, labels_pm1, "logistic_back");
  const int64_t n = scores.numel();
  // d/dx softplus(-p x) / n = -p sigm(-p x) / n.
  return p * (sigm(-(p * scores)) * (dy * (n > 0 ? -1.0 / n : 0.0)));
}

} // namespace knet
