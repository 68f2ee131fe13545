// Batch normalization with its tape rule, and bnparams.
//
// Training mode normalizes with the batch statistics (a direct kernel that
// also saves the per-channel mean and 1/std for the backward) and updates
// the running moments; inference mode is an affine map with the running
// moments, written with differentiable ops (the moments are constants).
#include "core/cuda.h"
#include "core/elementwise.h"

#include <knet/ops/elementwise.h>
#include <knet/ops/norm.h>
#include <knet/ops/random.h>
#include <knet/ops/reduce.h>
#include <knet/ops/shape.h>

#include <cmath>
#include <vector>

namespace knet {

using namespace detail;

namespace {

// x viewed as [N, C, S] (S = H*W, or 1 for [N, C]).
struct BnGeom {
  int64_t N, C, S;
  int64_t count() const { return N * S; } // values per channel
};

// The dims statistics run over, and the shape that broadcasts a [C] vector.
Dims stat_dims(int rank) { return rank == 2 ? Dims{0} : Dims{0, 2, 3}; }
Shape bcast_shape(int rank, int64_t C) {
  return rank == 2 ? Shape{1, C} : Shape{1, C, 1, 1};
}

// Training forward: y = scale * (x - mean) * invstd + shift per channel;
// fills mean, invstd and the biased variance ([C] each).
template <class T>
void bn_train_forward(const BnGeom &g, const T *x, const T *scale,
                      const T *shift, double eps, T *y, T *mean, T *invstd,
                      std::vector<double> &var) {
  const int64_t C = g.C, S = g.S;
  parallel_for(C, g.count() * 3, [&](int64_t b, int64_t e) {
    for (int64_t c = b; c < e; ++c) {
      double s = 0;
      for (int64_t n = 0; n < g.N; ++n) {
        const T *p = x + (n * C + c) * S;
        for (int64_t i = 0; i < S; ++i)
          s += p[i];
      }
      const double m = s / static_cast<double>(g.count());
      double ss = 0;
      for (int64_t n = 0; n < g.N; ++n) {
        const T *p = x + (n * C + c) * S;
        for (int64_t i = 0; i < S; ++i) {
          const double d = p[i] - m;
          ss += d * d;
        }
      }
      const double v = ss / static_cast<double>(g.count());
      const double is = 1.0 / std::sqrt(v + eps);
      mean[c] = static_cast<T>(m);
      invstd[c] = static_cast<T>(is);
      var[c] = v;
      const double a = scale[c] * is, bb = shift[c] - m * a;
      for (int64_t n = 0; n < g.N; ++n) {
        const T *p = x + (n * C + c) * S;
        T *q = y + (n * C + c) * S;
        for (int64_t i = 0; i < S; ++i)
          q[i] = static_cast<T>(p[i] * a + bb);
      }
    }
  });
}

// Training backward: with xhat = (x - mean) * invstd and M values per
// channel, dshift = sum dy, dscale = sum dy*xhat,
// dx = scale * invstd * (dy - dshift/M - xhat * dscale/M).
template <class T>
void bn_train_backward(const BnGeom &g, const T *dy, const T *x, const T *mean,
                       const T *invstd, const T *scale, T *dx, T *dscale,
                       T *dshift) {
  const int64_t C = g.C, S = g.S;
  const double M = static_cast<double>(g.count());
  parallel_for(C, g.count() * 3, [&](int64_t b, int64_t e) {
    for (int64_t c = b; c < e; ++c) {
      const double m = mean[c], is = invstd[c];
      double sdy = 0, sdyx = 0;
      for (int64_t n = 0; n < g.N; ++n) {
        const T *gp = dy + (n * C + c) * S;
        const T *xp = x + (n * C + c) * S;
        for (int64_t i = 0; i < S; ++i) {
          sdy += gp[i];
          sdyx += gp[i] * ((xp[i] - m) * is);
        }
      }
      if (dshift)
        dshift[c] = static_cast<T>(sdy);
      if (dscale)
        dscale[c] = static_cast<T>(sdyx);
      if (!dx)
        continue;
      const double k = scale[c] * is, mdy = sdy / M, mdyx = sdyx / M;
      for (int64_t n = 0; n < g.N; ++n) {
        const T *gp = dy + (n * C + c) * S;
        const T *xp = x + (n * C + c) * S;
        T *dp = dx + (n * C + c) * S;
        for (int64_t i = 0; i < S; ++i)
          dp[i] = static_cast<T>(k * (gp[i] - mdy - (xp[i] - m) * is * mdyx));
      }
    }
  });
}

// The same gradients written with differentiable ops, for the reverse sweep
// under an outer tape (higher-order gradients through x and scale).
Grads bn_train_backward_ops(const Tensor &dy, const Tensor &x,
                            const Tensor &scale, double eps, const Needs &n) {
  const int r = x.rank();
  const int64_t C = x.size(1);
  const Dims dims = stat_dims(r);
  Tensor mu = mean(x, dims, true);
  Tensor xc = x - mu;
  Tensor inv = rsqrt(mean(xc * xc, dims, true) + eps);
  Tensor xhat = xc * inv;
  Grads out(3);
  if (n[0]) {
    Tensor gs = dy * scale.reshape(bcast_shape(r, C));
    out[0] =
        inv * (gs - mean(gs, dims, true) - xhat * mean(gs * xhat, dims, true));
  }
  if (n[1])
    out[1] = sum(dy * xhat, dims);
  if (n[2])
    out[2] = sum(dy, dims);
  return out;
}

// Batch-statistics normalization of x with [C] scale and shift; `var_out`
// (on the CPU) or `var_gpu` (on a GPU) receives the biased batch variance
// for the moments update.
Tensor bn_train(const Tensor &x, const Tensor &scale, const Tensor &shift,
                double eps, const BnGeom &g, Tensor &batch_mean,
                std::vector<double> &var_out, Tensor &var_gpu) {
  if (cuda::on_gpu(x)) {
    // Composed of GPU ops; the tape rule is the ops' backward, as under an
    // outer tape on the CPU.
    const int r = x.rank();
    const Shape bs = bcast_shape(r, g.C);
    Tensor y, var;
    {
      RecordingPause pause;
      Tensor mu = mean(x, stat_dims(r), true);
      Tensor d = x - mu;
      var = mean(d * d, stat_dims(r), true);
      y = d * rsqrt(var + eps) * scale.reshape(bs) + shift.reshape(bs);
      batch_mean = mu.reshape({g.C});
    }
    var_gpu = var.reshape({g.C});
    if (recording())
      record("batchnorm", {x, scale, shift}, {y},
             [x, scale, eps](const Grads &dy, const Needs &n) {
               return bn_train_backward_ops(dy[0], x, scale, eps, n);
             });
    return y;
  }
  Tensor xc = dense(x), sc = dense(scale), sh = dense(shift);
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  Tensor mu = Tensor::empty({g.C}, x.dtype(), x.device());
  Tensor invstd = Tensor::empty({g.C}, x.dtype(), x.device());
  var_out.assign(g.C, 0.0);
  dispatch_float(x.dtype(), "batchnorm", [&]<class T>() {
    bn_train_forward<T>(g, xc.data<T>(), sc.data<T>(), sh.data<T>(), eps,
                        y.data<T>(), mu.data<T>(), invstd.data<T>(), var_out);
  });
  batch_mean = mu;
  if (recording())
    record("batchnorm", {x, scale, shift}, {y},
           [x, scale, xc, sc, mu, invstd, eps, g](const Grads &dy,
                                                  const Needs &n) {
             // Under an outer tape: differentiable ops on the original
             // (possibly tracked) inputs.
             if (recording())
               return bn_train_backward_ops(dy[0], x, scale, eps, n);
             Tensor dyc = dense(dy[0]);
             Tensor dx, dscale, dshift;
             if (n[0])
               dx = Tensor::empty(xc.shape(), xc.dtype(), xc.device());
             if (n[1])
               dscale = Tensor::empty({g.C}, xc.dtype(), xc.device());
             if (n[2])
               dshift = Tensor::empty({g.C}, xc.dtype(), xc.device());
             dispatch_float(xc.dtype(), "batchnorm", [&]<class T>() {
               bn_train_backward<T>(g, dyc.data<T>(), xc.data<T>(),
                                    mu.data<T>(), invstd.data<T>(),
                                    sc.data<T>(), n[0] ? dx.data<T>() : nullptr,
                                    n[1] ? dscale.data<T>() : nullptr,
                                    n[2] ? dshift.data<T>() : nullptr);
             });
             return Grads{dx, dscale, dshift};
           });
  return y;
}

} // namespace

namespace {
// Checks batchnorm's operands for x with C channels at dimension 1 (x may be
// undefined where only its dtype and device are checked: `like`), and
// creates the moments on first use.
void check_batchnorm(const char *op, const Tensor &x, int64_t C,
                     Moments &moments, const Tensor &params,
                     const BatchnormOptions &o) {
  if (!x.defined() || !params.defined())
    fail(op, ": undefined input");
  if (x.device() != params.device())
    fail(op, ": x on ", device_str(x.device()), " but params on ",
         device_str(params.device()));
  if (!cuda::on_gpu(x)) {
    check_cpu(x, op);
    check_cpu(params, op);
  }
  if (!is_floating(x.dtype()))
    fail(op, ": expected a floating dtype (f32 or f64), got ",
         dtype_name(x.dtype()));
  if (params.shape() != Shape{2 * C} || params.dtype() != x.dtype())
    fail(op, ": params must be [2C] = ", shape_str({2 * C}), " ",
         dtype_name(x.dtype()), " (scale then shift) for x ",
         shape_str(x.shape()), ", got ", shape_str(params.shape()), " ",
         dtype_name(params.dtype()));
  if (std::string e = batchnorm_options_error(o); !e.empty())
    fail(op, ": ", e);
  if (!moments.mean.defined() && !moments.var.defined()) {
    moments.mean = Tensor::zeros({C}, x.dtype(), x.device());
    moments.var = Tensor::ones({C}, x.dtype(), x.device());
  }
  for (const Tensor *m : {&moments.mean, &moments.var})
    if (!m->defined() || m->shape() != Shape{C} || m->dtype() != x.dtype() ||
        m->device() != x.device())
      fail(op, ": moments must be [", C, "] ", dtype_name(x.dtype()), " on ",
           device_str(x.device()), " for x ", shape_str(x.shape()),
           ", got mean ",
           moments.mean.defined() ? shape_str(moments.mean.shape())
                                  : std::string("undefined"),
           " var ",
           moments.var.defined() ? shape_str(moments.var.shape())
                                 : std::string("undefined"));
}

// Inference mode: y = x * a + b per channel, from the running moments.
std::pair<Tensor, Tensor> inference_affine(const Moments &moments,
                                           const Tensor &params, int64_t C,
                                           double eps) {
  Tensor scale = params.slice(0, 0, C), shift = params.slice(0, C, 2 * C);
  Tensor a = scale * rsqrt(moments.var + eps);
  return {a, shift - moments.mean * a};
}
} // namespace

Tensor batchnorm(const Tensor &x, Moments &moments, const Tensor &params,
                 BatchnormOptions o) {
  const char *op = "batchnorm";
  if (x.defined() && x.rank() != 2 && x.rank() != 4)
    fail(op, ": expected x of shape [N,C] or [N,C,H,W], got ",
         shape_str(x.shape()));
  const int64_t C = x.defined() ? x.size(1) : 0;
  check_batchnorm(op, x, C, moments, params, o);
  const bool train = o.training.value_or(recording() || training());
  const int r = x.rank();
  // Views of params (recorded: gradients flow back into params).
  Tensor scale = params.slice(0, 0, C), shift = params.slice(0, C, 2 * C);

  if (!train) {
    auto [a, b] = inference_affine(moments, params, C, o.eps);
    const Shape bs = bcast_shape(r, C);
    return x * a.reshape(bs) + b.reshape(bs);
  }

  const BnGeom g{x.size(0), C, r == 4 ? x.size(2) * x.size(3) : 1};
  if (g.count() < 2)
    fail(op, ": training mode needs more than one value per channel, got x ",
         shape_str(x.shape()));
  Tensor batch_mean;
  std::vector<double> batch_var;
  Tensor batch_var_gpu;
  Tensor y =
      bn_train(x, scale, shift, o.eps, g, batch_mean, batch_var, batch_var_gpu);

  // running = (1 - momentum) * running + momentum * batch, with the unbiased
  // batch variance (as PyTorch). New tensors: never written in place.
  const double mo = o.momentum;
  const double unbias =
      static_cast<double>(g.count()) / static_cast<double>(g.count() - 1);
  if (cuda::on_gpu(x)) {
    RecordingPause pause;
    moments.mean = moments.mean * (1 - mo) + batch_mean * mo;
    moments.var = moments.var * (1 - mo) + batch_var_gpu * (mo * unbias);
    return y;
  }
  Tensor rm = dense(moments.mean), rv = dense(moments.var);
  Tensor nm = Tensor::empty({C}, x.dtype(), x.device());
  Tensor nv = Tensor::empty({C}, x.dtype(), x.device());
  dispatch_float(x.dtype(), op, [&]<class T>() {
    const T *pm = rm.data<T>(), *pv = rv.data<T>(), *bm = batch_mean.data<T>();
    T *qm = nm.data<T>(), *qv = nv.data<T>();
    for (int64_t c = 0; c < C; ++c) {
      qm[c] = static_cast<T>((1 - mo) * pm[c] + mo * bm[c]);
      qv[c] = static_cast<T>((1 - mo) * pv[c] + mo * batch_var[c] * unbias);
    }
  });
  moments.mean = nm;
  moments.var = nv;
  return y;
}

Tensor conv2d_batchnorm(const Tensor &x, const Tensor &w, Moments &moments,
                        const Tensor &params, double eps, ConvOptions co) {
  const char *op = "conv2d_batchnorm";
  if (!w.defined() || w.rank() != 4)
    fail(op, ": expected w of shape [Cout, Cin/groups, kH, kW], got ",
         w.defined() ? shape_str(w.shape()) : std::string("undefined"));
  const int64_t C = w.size(0);
  check_batchnorm(op, w, C, moments, params, {.training = false, .eps = eps});
  auto [a, b] = inference_affine(moments, params, C, eps);
  return conv2d(x, w * a.reshape({C, 1, 1, 1}), co) + b.reshape({1, C, 1, 1});
}

Tensor bnparams(int64_t channels, DType dtype) {
  if (channels < 0)
    fail("bnparams: negative channel count ", channels);
  if (!is_floating(dtype))
    fail("bnparams: expected a floating dtype (f32 or f64), got ",
         dtype_name(dtype));
  // f16/bf16 are stored on GPUs only: made in f32, converted there.
  const bool half = dtype == DType::f16 || dtype == DType::bf16;
  Tensor p = Tensor::zeros({2 * channels}, half ? DType::f32 : dtype, Device{});
  dispatch_float(p.dtype(), "bnparams", [&]<class T>() {
    T *d = p.data<T>();
    for (int64_t c = 0; c < channels; ++c)
      d[c] = T(1);
  });
  return p.to(default_device()).to(dtype);
}

std::pair<Tensor, Tensor> batchnorm_back(const Tensor &dy, const Tensor &x,
                                         const Moments &moments,
                                         const Tensor &params,
                                         BatchnormOptions o) {
  const char *op = "batchnorm_back";
  if (!dy.defined() || !x.defined() || !params.defined())
    fail(op, ": undefined input");
  if (x.rank() != 2 && x.rank() != 4)
    fail(op, ": expected x of shape [N,C] or [N,C,H,W], got ",
         shape_str(x.shape()));
  if (dy.shape() != x.shape())
    fail(op, ": dy ", shape_str(dy.shape()), " does not match x ",
         shape_str(x.shape()));
  const int64_t C = x.size(1);
  if (params.shape() != Shape{2 * C})
    fail(op, ": params must be [2C] = ", shape_str({2 * C}), " for x ",
         shape_str(x.shape()), ", got ", shape_str(params.shape()));
  if (!(o.eps > 0))
    fail(op, ": eps must be > 0, got ", o.eps);
  const int r = x.rank();
  const Dims dims = stat_dims(r);
  const Shape bs = bcast_shape(r, C);
  Tensor scale = params.slice(0, 0, C);
  Tensor dx, dscale, dshift;
  if (o.training.value_or(recording() || training())) {
    // The batch statistics depend on x (the tape rule of batchnorm).
    Grads g =
        bn_train_backward_ops(dy, x, scale, o.eps, Needs{true, true, true});
    dx = g[0];
    dscale = g[1];
    dshift = g[2];
  } else {
    // An affine map with the running moments, which are constants.
    if (!moments.mean.defined() || !moments.var.defined() ||
        moments.mean.shape() != Shape{C} || moments.var.shape() != Shape{C})
      fail(op, ": moments must be [", C, "] for x ", shape_str(x.shape()));
    Tensor inv = rsqrt(moments.var + o.eps);
    dx = dy * (scale * inv).reshape(bs);
    dscale = sum(dy * ((x - moments.mean.reshape(bs)) * inv.reshape(bs)), dims);
    dshift = sum(dy, dims);
  }
  return {dx, concat({dscale, dshift}, 0)};
}

} // namespace knet
