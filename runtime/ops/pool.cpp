// Pooling over NCHW tensors (pool, pool_back, unpool) with their tape rules.
// f32 runs on oneDNN's pooling primitives (forward; average backward), f64
// and max backward on direct loops. Max pooling ignores padding; average
// pooling divides by the whole window area, padding included (Knet's and
// cuDNN's default mode).
#include "core/cuda.h"
#include "core/elementwise.h"

#include <knet/checks.h>
#include <knet/ops/conv.h>
#include <knet/ops/elementwise.h>

#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <limits>

namespace knet {

using namespace detail;

namespace {

struct PoolGeom {
  int64_t N, C, H, W, OH, OW;
  int64_t k, s, p;
};

// Checks the options and the input (a rank-4 floating CPU tensor) and
// derives the output size: 1 + (H + 2p - k) / s, as cuDNN.
Shape out_shape(const PoolGeom &g) { return {g.N, g.C, g.OH, g.OW}; }

PoolGeom geometry(const Tensor &x, const PoolOptions &o, const char *op) {
  if (!x.defined())
    fail(op, ": undefined input");
  if (!cuda::on_gpu(x))
    check_cpu(x, op);
  if (!is_floating(x.dtype()))
    fail(op, ": expected a floating dtype (f32 or f64), got ",
         dtype_name(x.dtype()));
  if (x.rank() != 4)
    fail(op, ": expected an NCHW tensor of rank 4, got ", shape_str(x.shape()));
  if (std::string e = pool_options_error(o); !e.empty())
    fail(op, ": ", e, ", got window=", o.window, " stride=", o.stride,
         " padding=", o.padding, " (input ", shape_str(x.shape()), ")");
  const int64_t s = o.stride == 0 ? o.window : o.stride;
  PoolGeom g{x.size(0), x.size(1), x.size(2), x.size(3), 0,
             0,         o.window,  s,         o.padding};
  // In 128 bits: options near INT64_MAX are errors, not overflows.
  const __int128 ph = __int128(g.H) + 2 * __int128(g.p),
                 pw = __int128(g.W) + 2 * __int128(g.p);
  if (ph < g.k || pw < g.k)
    fail(op, ": window ", g.k, " with padding ", g.p,
         " is larger than the input ", shape_str(x.shape()));
  const __int128 oh = 1 + (ph - g.k) / g.s, ow = 1 + (pw - g.k) / g.s;
  if (oh > INT64_MAX || ow > INT64_MAX)
    fail(op, ": padding ", g.p, " too large for int64 sizes (input ",
         shape_str(x.shape()), ")");
  g.OH = static_cast<int64_t>(oh);
  g.OW = static_cast<int64_t>(ow);
  if (std::string e = shape_error(out_shape(g)); !e.empty())
    fail(op, ": output ", e, " (input ", shape_str(x.shape()), ")");
  return g;
}

// ---- oneDNN (f32) ----

dnnl::engine &cpu_engine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

struct DnnlPool {
  dnnl::memory::desc src, dst;
  dnnl::memory::dims strides, kernel, pad;
  dnnl::algorithm alg;
};

DnnlPool dnnl_pool(const PoolGeom &g, PoolMode mode) {
  using md = dnnl::memory::desc;
  using dt = dnnl::memory::data_type;
  using tag = dnnl::memory::format_tag;
  return {md({g.N, g.C, g.H, g.W}, dt::f32, tag::nchw),
          md({g.N, g.C, g.OH, g.OW}, dt::f32, tag::nchw),
          {g.s, g.s},
          {g.k, g.k},
          {g.p, g.p},
          mode == PoolMode::max ? dnnl::algorithm::pooling_max
                                : dnnl::algorithm::pooling_avg_include_padding};
}

void dnnl_forward(const PoolGeom &g, PoolMode mode, const float *x, float *y) {
  try {
    DnnlPool d = dnnl_pool(g, mode);
    dnnl::pooling_forward::desc desc(dnnl::prop_kind::forward_inference, d.alg,
                                     d.src, d.dst, d.strides, d.kernel, d.pad,
                                     d.pad);
    dnnl::pooling_forward::primitive_desc pd(desc, cpu_engine());
    dnnl::memory src(d.src, cpu_engine(), const_cast<float *>(x));
    dnnl::memory dst(d.dst, cpu_engine(), y);
    dnnl::stream strm(cpu_engine());
    dnnl::pooling_forward(pd).execute(
        strm, {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}});
    strm.wait();
  } catch (const dnnl::error &e) {
    fail("pool: oneDNN failed (", e.what(), ") for input [", g.N, ",", g.C, ",",
         g.H, ",", g.W, "] window=", g.k, " stride=", g.s, " padding=", g.p);
  }
}

// Average pooling backward (no workspace needed).
void dnnl_avg_backward(const PoolGeom &g, const float *dy, float *dx) {
  try {
    DnnlPool d = dnnl_pool(g, PoolMode::avg);
    dnnl::pooling_forward::desc fdesc(dnnl::prop_kind::forward_training, d.alg,
                                      d.src, d.dst, d.strides, d.kernel, d.pad,
                                      d.pad);
    dnnl::pooling_forward::primitive_desc fpd(fdesc, cpu_engine());
    dnnl::pooling_backward::desc bdesc(d.alg, d.src, d.dst, d.strides, d.kernel,
                                       d.pad, d.pad);
    dnnl::pooling_backward::primitive_desc bpd(bdesc, cpu_engine(), fpd);
    dnnl::memory ddst(d.dst, cpu_engine(), const_cast<float *>(dy));
    dnnl::memory dsrc(d.src, cpu_engine(), dx);
    dnnl::stream strm(cpu_engine());
    dnnl::pooling_backward(bpd).execute(
        strm, {{DNNL_ARG_DIFF_DST, ddst}, {DNNL_ARG_DIFF_SRC, dsrc}});
    strm.wait();
  } catch (const dnnl::error &e) {
    fail("pool_back: oneDNN failed (", e.what(), ") for input [", g.N, ",", g.C,
         ",", g.H, ",", g.W, "] window=", g.k, " stride=", g.s,
         " padding=", g.p);
  }
}

// ---- direct loops ----

// Calls f(oh, ow, h0, h1, w0, w1) for each output position of one plane,
// with [h0, h1) x [w0, w1) the window clipped to the input.
template <class F> void for_windows(const PoolGeom &g, F f) {
  for (int64_t oh = 0; oh < g.OH; ++oh) {
    const int64_t hs = oh * g.s - g.p;
    const int64_t h0 = std::max<int64_t>(hs, 0),
                  h1 = std::min<int64_t>(hs + g.k, g.H);
    for (int64_t ow = 0; ow < g.OW; ++ow) {
      const int64_t ws = ow * g.s - g.p;
      const int64_t w0 = std::max<int64_t>(ws, 0),
                    w1 = std::min<int64_t>(ws + g.k, g.W);
      f(oh, ow, h0, h1, w0, w1);
    }
  }
}

// The index (h * W + w) of the first largest element of a clipped window.
template <class T>
int64_t window_argmax(const T *xp, const PoolGeom &g, int64_t h0, int64_t h1,
                      int64_t w0, int64_t w1) {
  int64_t best = h0 * g.W + w0;
  for (int64_t h = h0; h < h1; ++h)
    for (int64_t w = w0; w < w1; ++w)
      if (xp[h * g.W + w] > xp[best])
        best = h * g.W + w;
  return best;
}

template <class T>
void loop_forward(const PoolGeom &g, PoolMode mode, const T *x, T *y) {
  const int64_t in_plane = g.H * g.W, out_plane = g.OH * g.OW;
  const double area = static_cast<double>(g.k * g.k);
  parallel_for(g.N * g.C, out_plane * g.k * g.k, [&](int64_t b, int64_t e) {
    for (int64_t nc = b; nc < e; ++nc) {
      const T *xp = x + nc * in_plane;
      T *yp = y + nc * out_plane;
      for_windows(g, [&](int64_t oh, int64_t ow, int64_t h0, int64_t h1,
                         int64_t w0, int64_t w1) {
        T &out = yp[oh * g.OW + ow];
        if (mode == PoolMode::max) {
          out = xp[window_argmax(xp, g, h0, h1, w0, w1)];
        } else {
          double s = 0;
          for (int64_t h = h0; h < h1; ++h)
            for (int64_t w = w0; w < w1; ++w)
              s += xp[h * g.W + w];
          out = static_cast<T>(s / area);
        }
      });
    }
  });
}

// Max pooling's backward over one plane whose windows tile it (stride =
// window, no padding; K the window, or 0 when only g.k knows it): each input
// element lies in at most one window, so dx is written once, without the
// zero fill and the scatter of the general loop: dy at each window's first
// argmax (window_argmax's order and comparisons), 0 elsewhere and where no
// window reaches. LeNet's first pool_back ([100,20,24,24], 1 thread): 4.0
// -> 2.7 ms.
template <int64_t K, class T>
void tiled_max_backward(const PoolGeom &g, const T *gp, const T *xp, T *dp) {
  const int64_t k = K ? K : g.k, W = g.W;
  for (int64_t oh = 0; oh < g.OH; ++oh) {
    const T *xr = xp + oh * k * W;
    T *dr = dp + oh * k * W;
    for (int64_t ow = 0; ow < g.OW; ++ow) {
      const T *xw = xr + ow * k;
      int64_t best = 0;
      T top = xw[0];
      for (int64_t h = 0; h < k; ++h)
        for (int64_t w = 0; w < k; ++w)
          if (xw[h * W + w] > top) {
            best = h * W + w;
            top = xw[best];
          }
      const T v = gp[oh * g.OW + ow];
      T *dw = dr + ow * k;
      for (int64_t h = 0; h < k; ++h)
        for (int64_t w = 0; w < k; ++w)
          dw[h * W + w] = h * W + w == best ? v : T(0);
    }
    for (int64_t h = 0; h < k; ++h)
      std::fill(dr + h * W + g.OW * k, dr + (h + 1) * W, T(0));
  }
  std::fill(dp + g.OH * k * W, dp + g.H * W, T(0));
}

// dx (zeroed here) += scatter of dy: to each window's first argmax (max), or
// dy * factor spread over each window (avg; factor 1/area for pool_back, 1
// for unpool).
template <class T>
void loop_backward(const PoolGeom &g, PoolMode mode, const T *dy, const T *x,
                   T *dx, double factor) {
  const int64_t in_plane = g.H * g.W, out_plane = g.OH * g.OW;
  const bool tiled = mode == PoolMode::max && g.s == g.k && g.p == 0;
  parallel_for(g.N * g.C, out_plane * g.k * g.k, [&](int64_t b, int64_t e) {
    for (int64_t nc = b; nc < e; ++nc) {
      const T *gp = dy + nc * out_plane;
      T *dp = dx + nc * in_plane;
      if (tiled) {
        const T *xp = x + nc * in_plane;
        if (g.k == 2)
          tiled_max_backward<2>(g, gp, xp, dp);
        else
          tiled_max_backward<0>(g, gp, xp, dp);
        continue;
      }
      std::fill(dp, dp + in_plane, T(0));
      const T *xp = mode == PoolMode::max ? x + nc * in_plane : nullptr;
      for_windows(g, [&](int64_t oh, int64_t ow, int64_t h0, int64_t h1,
                         int64_t w0, int64_t w1) {
        const T v = gp[oh * g.OW + ow];
        if (mode == PoolMode::max) {
          dp[window_argmax(xp, g, h0, h1, w0, w1)] += v;
        } else {
          const T sv = static_cast<T>(v * factor);
          for (int64_t h = h0; h < h1; ++h)
            for (int64_t w = w0; w < w1; ++w)
              dp[h * g.W + w] += sv;
        }
      });
    }
  });
}

// out[n,c,oh,ow] = dx[n,c, first argmax of x's window]: the adjoint of max
// pool_back in dy (a gather).
template <class T>
void loop_gather(const PoolGeom &g, const T *dx, const T *x, T *out) {
  const int64_t in_plane = g.H * g.W, out_plane = g.OH * g.OW;
  parallel_for(g.N * g.C, out_plane * g.k * g.k, [&](int64_t b, int64_t e) {
    for (int64_t nc = b; nc < e; ++nc) {
      const T *xp = x + nc * in_plane;
      const T *dp = dx + nc * in_plane;
      T *op = out + nc * out_plane;
      for_windows(g, [&](int64_t oh, int64_t ow, int64_t h0, int64_t h1,
                         int64_t w0, int64_t w1) {
        op[oh * g.OW + ow] = dp[window_argmax(xp, g, h0, h1, w0, w1)];
      });
    }
  });
}

void check_like(const Tensor &t, const Shape &shape, DType dtype,
                const char *what, const char *op, const Tensor &x) {
  if (!t.defined())
    fail(op, ": undefined ", what);
  if (t.device() != x.device())
    fail(op, ": ", what, " on ", device_str(t.device()), " but the input on ",
         device_str(x.device()));
  if (t.shape() != shape || t.dtype() != dtype)
    fail(op, ": ", what, " has shape ", shape_str(t.shape()), " ",
         dtype_name(t.dtype()), ", expected ", shape_str(shape), " ",
         dtype_name(dtype), " for input ", shape_str(x.shape()));
}

Tensor max_gather(const Tensor &dx, const Tensor &x, const PoolOptions &o);

cuda_abi::PoolGeometry cuda_geometry(const PoolGeom &g, PoolMode mode) {
  return {g.N,
          g.C,
          g.H,
          g.W,
          g.OH,
          g.OW,
          g.k,
          g.k,
          g.p,
          g.p,
          g.s,
          g.s,
          mode == PoolMode::max ? 1 : 0};
}

} // namespace

Tensor pool(const Tensor &x, PoolOptions o) {
  PoolGeom g = geometry(x, o, "pool");
  Tensor y = Tensor::empty(out_shape(g), x.dtype(), x.device());
  if (y.numel() > 0 && cuda::on_gpu(x)) {
    const cuda_abi::PoolGeometry cg = cuda_geometry(g, o.mode);
    Tensor xc = dense(x);
    cuda::check(cuda::require(x.device(), "pool")
                    .pool_forward(x.device().index, static_cast<int>(x.dtype()),
                                  &cg, xc.impl()->data(), y.impl()->data()),
                "pool");
  } else if (y.numel() > 0) {
    Tensor xc = dense(x);
    dispatch_float(x.dtype(), "pool", [&]<class T>() {
      if constexpr (std::is_same_v<T, float>)
        dnnl_forward(g, o.mode, xc.data<float>(), y.data<float>());
      else
        loop_forward<T>(g, o.mode, xc.data<T>(), y.data<T>());
    });
  }
  if (recording())
    record("pool", {x}, {y}, [x, y, o](const Grads &dy, const Needs &) {
      return Grads{pool_back(dy[0], y, x, o)};
    });
  return y;
}

Tensor pool_back(const Tensor &dy, const Tensor &y, const Tensor &x,
                 PoolOptions o) {
  PoolGeom g = geometry(x, o, "pool_back");
  const Shape ys = out_shape(g);
  check_like(y, ys, x.dtype(), "y", "pool_back", x);
  check_like(dy, ys, x.dtype(), "dy", "pool_back", x);
  Tensor dx = Tensor::empty(x.shape(), x.dtype(), x.device());
  if (dx.numel() > 0 && cuda::on_gpu(x)) {
    const cuda_abi::PoolGeometry cg = cuda_geometry(g, o.mode);
    Tensor dyc = dense(dy), yc = dense(y), xc = dense(x);
    cuda::check(cuda::require(x.device(), "pool_back")
                    .pool_backward(x.device().index,
                                   static_cast<int>(x.dtype()), &cg,
                                   yc.impl()->data(), dyc.impl()->data(),
                                   xc.impl()->data(), dx.impl()->data()),
                "pool_back");
  } else if (dx.numel() > 0) {
    Tensor dyc = dense(dy);
    Tensor xc = o.mode == PoolMode::max ? dense(x) : x;
    dispatch_float(x.dtype(), "pool_back", [&]<class T>() {
      if constexpr (std::is_same_v<T, float>) {
        if (o.mode == PoolMode::avg) {
          dnnl_avg_backward(g, dyc.data<float>(), dx.data<float>());
          return;
        }
      }
      loop_backward<T>(g, o.mode, dyc.data<T>(),
                       o.mode == PoolMode::max ? xc.data<T>() : nullptr,
                       dx.data<T>(), 1.0 / static_cast<double>(g.k * g.k));
    });
  }
  // Linear in dy; piecewise constant in x and y (max: the argmax positions),
  // independent of them (avg): their gradients are zero.
  if (recording())
    record("pool_back", {dy, y, x}, {dx},
           [x, o](const Grads &gg, const Needs &n) {
             Tensor ddy;
             if (n[0])
               ddy = o.mode == PoolMode::max ? max_gather(gg[0], x, o)
                                             : pool(gg[0], o);
             return Grads{ddy, Tensor(), Tensor()};
           });
  return dx;
}

namespace {

Tensor max_gather(const Tensor &dx, const Tensor &x, const PoolOptions &o) {
  PoolGeom g = geometry(x, o, "pool_back");
  Tensor out = Tensor::empty(out_shape(g), x.dtype(), x.device());
  if (cuda::on_gpu(x))
    fail("pool_back: the gradient of max pooling's gradient is not supported "
         "on ",
         device_str(x.device()));
  if (out.numel() > 0) {
    Tensor dxc = dense(dx), xc = dense(x);
    dispatch_float(x.dtype(), "pool_back", [&]<class T>() {
      loop_gather<T>(g, dxc.data<T>(), xc.data<T>(), out.data<T>());
    });
  }
  // Linear in dx; its adjoint is max pool_back again (y is only checked for
  // its shape there, so the incoming gradient stands in for it).
  if (recording())
    record("pool_back_max_gather", {dx, x}, {out},
           [x, o](const Grads &gg, const Needs &n) {
             return Grads{n[0] ? pool_back(gg[0], gg[0], x, o) : Tensor(),
                          Tensor()};
           });
  return out;
}

} // namespace

Tensor unpool(const Tensor &x, PoolOptions o) {
  const char *op = "unpool";
  if (!x.defined())
    fail(op, ": undefined input");
  if (x.rank() != 4)
    fail(op, ": expected an NCHW tensor of rank 4, got ", shape_str(x.shape()));
  const int64_t s = o.stride == 0 ? o.window : o.stride;
  if (std::string e = pool_options_error(o); !e.empty())
    fail(op, ": ", e, ", got window=", o.window, " stride=", o.stride,
         " padding=", o.padding, " (input ", shape_str(x.shape()), ")");
  if (cuda::on_gpu(x))
    fail(op, ": not supported on ", device_str(x.device()));
  // The output is the input of the average pooling whose output is x.
  const __int128 h = __int128(x.size(2) - 1) * s + o.window - 2 * o.padding,
                 w = __int128(x.size(3) - 1) * s + o.window - 2 * o.padding;
  if (h > INT64_MAX || w > INT64_MAX)
    fail(op, ": input ", shape_str(x.shape()), " with window=", o.window,
         " stride=", s, " gives an output too large for int64 sizes");
  const int64_t H = static_cast<int64_t>(h), W = static_cast<int64_t>(w);
  if (x.size(2) < 1 || x.size(3) < 1 || H < 1 || W < 1)
    fail(op, ": input ", shape_str(x.shape()), " with window=", o.window,
         " stride=", s, " padding=", o.padding, " gives an empty output");
  PoolOptions po = o;
  po.mode = PoolMode::avg;
  Tensor y = Tensor::empty({x.size(0), x.size(1), H, W}, x.dtype(), x.device());
  PoolGeom g = geometry(y, po, op);
  if (g.OH != x.size(2) || g.OW != x.size(3))
    fail(op, ": internal error: shape mismatch for input ",
         shape_str(x.shape()));
  if (y.numel() > 0) {
    Tensor xc = dense(x);
    dispatch_float(x.dtype(), op, [&]<class T>() {
      loop_backward<T>(g, PoolMode::avg, xc.data<T>(), nullptr, y.data<T>(),
                       1.0);
    });
  }
  // The adjoint: the sum over each block, i.e. average pooling times the area.
  if (recording())
    record("unpool", {x}, {y}, [po, g](const Grads &dy, const Needs &) {
      return Grads{pool(dy[0], po) * static_cast<double>(g.k * g.k)};
    });
  return y;
}

} // namespace knet
