// 2-D convolution (cross-correlation) over NCHW tensors: conv2d, its two
// backward kernels and deconv2d, each with its tape rule. f32 runs on oneDNN
// primitives (plain nchw / oihw / goihw layouts), created once per shape and
// options and kept in a small thread-safe cache; f64 runs on direct loops.
//
// conv2d is bilinear in (x, w), so every backward op is linear in each of its
// arguments and its derivative is again one of the three ops:
//   y = conv2d(x, w):          dx = back_data(dy, w),  dw = back_filter(dy, x)
//   z = back_data(dy, w):      d(dy) = conv2d(g, w),   dw = back_filter(dy, g)
//   W = back_filter(dy, x):    d(dy) = conv2d(x, G),   dx = back_data(dy, G)
// (from <g, back_data(dy, w)> = <conv2d(g, w), dy> and
//       <G, back_filter(dy, x)> = <conv2d(x, G), dy>), so gradients of any
// order go through conv.
#include "core/autograd.h"
#include "core/cuda.h"
#include "core/dispatch.h"
#include "core/loops.h"
#include "core/parallel.h"

#include <knet/checks.h>
#include <knet/ops/conv.h>

#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <array>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>

namespace knet {

using namespace detail;

namespace {

// ---------------------------------------------------------------------------
// Shapes and validation.

struct Geometry {
  int64_t n, c, h, w;      // input
  int64_t cout, kh, kw;    // weights [cout, c/groups, kh, kw]
  int64_t ho, wo;          // output
  int64_t p, s, d, groups; // options
  int64_t cg() const { return c / groups; }
  int64_t og() const { return cout / groups; }
  Shape x_shape() const { return {n, c, h, w}; }
  Shape w_shape() const { return {cout, c / groups, kh, kw}; }
  Shape y_shape() const { return {n, cout, ho, wo}; }
};

std::string opts_str(const ConvOptions &o) {
  std::ostringstream s;
  s << "{padding=" << o.padding << ", stride=" << o.stride
    << ", dilation=" << o.dilation << ", groups=" << o.groups << "}";
  return s.str();
}

void check_options(const ConvOptions &o, const char *op) {
  if (std::string e = conv_options_error(o); !e.empty())
    fail(op, ": ", e, ", got ", opts_str(o));
}

// The geometry of conv2d(x [x_shape], w [w_shape], o); throws naming `op`.
Geometry geometry(const Shape &xs, const Shape &ws, const ConvOptions &o,
                  const char *op) {
  check_options(o, op);
  if (xs.size() != 4)
    fail(op, ": x must be NCHW (rank 4), got ", shape_str(xs));
  if (ws.size() != 4)
    fail(op, ": w must be [Cout, Cin/groups, kH, kW] (rank 4), got ",
         shape_str(ws));
  for (int64_t v : xs)
    if (v < 0)
      fail(op, ": negative dimension in x shape ", shape_str(xs));
  for (int64_t v : ws)
    if (v < 0)
      fail(op, ": negative dimension in w shape ", shape_str(ws));
  Geometry g{};
  g.n = xs[0];
  g.c = xs[1];
  g.h = xs[2];
  g.w = xs[3];
  g.cout = ws[0];
  g.kh = ws[2];
  g.kw = ws[3];
  g.p = o.padding;
  g.s = o.stride;
  g.d = o.dilation;
  g.groups = o.groups;
  if (g.c % g.groups != 0)
    fail(op, ": input channels ", g.c, " not divisible by groups ", g.groups,
         ": x ", shape_str(xs), " w ", shape_str(ws));
  if (g.cout % g.groups != 0)
    fail(op, ": output channels ", g.cout, " not divisible by groups ",
         g.groups, ": x ", shape_str(xs), " w ", shape_str(ws));
  if (ws[1] != g.c / g.groups)
    fail(op, ": w expects ", ws[1], " input channels per group but x has ", g.c,
         " channels in ", g.groups, " group(s): x ", shape_str(xs), " w ",
         shape_str(ws));
  if (g.kh < 1 || g.kw < 1)
    fail(op, ": empty window in w ", shape_str(ws));
  // The dilated window and the padded input, in int64 (options near
  // INT64_MAX are an error, not an overflow).
  int64_t eh = 0, ew = 0, p2 = 0, ph = 0, pw = 0;
  if (__builtin_mul_overflow(g.d, g.kh - 1, &eh) ||
      __builtin_mul_overflow(g.d, g.kw - 1, &ew) ||
      __builtin_mul_overflow(g.p, 2, &p2) ||
      __builtin_add_overflow(p2, g.h, &ph) ||
      __builtin_add_overflow(p2, g.w, &pw))
    fail(op, ": padding or dilation too large for int64 sizes: x ",
         shape_str(xs), " w ", shape_str(ws), " ", opts_str(o));
  ++eh, ++ew;
  if (eh > ph || ew > pw)
    fail(op, ": window ", g.kh, "x", g.kw, " (dilation ", g.d,
         ") larger than the padded input ", ph, "x", pw, ": x ", shape_str(xs),
         " w ", shape_str(ws), " ", opts_str(o));
  g.ho = (ph - eh) / g.s + 1;
  g.wo = (pw - ew) / g.s + 1;
  if (std::string e = shape_error(g.y_shape()); !e.empty())
    fail(op, ": output ", e, ": x ", shape_str(xs), " w ", shape_str(ws), " ",
         opts_str(o));
  return g;
}

void check_float_pair(const Tensor &a, const char *an, const Tensor &b,
                      const char *bn, const char *op) {
  if (!a.defined() || !b.defined())
    fail(op, ": undefined tensor");
  if (a.device() != b.device())
    fail(op, ": ", an, " on ", device_str(a.device()), " but ", bn, " on ",
         device_str(b.device()));
  if (!cuda::on_gpu(a)) {
    check_cpu(a, op);
    check_cpu(b, op);
  }
  if (a.dtype() != b.dtype())
    fail(op, ": dtype mismatch: ", an, " ", dtype_name(a.dtype()), " ",
         shape_str(a.shape()), " vs ", bn, " ", dtype_name(b.dtype()), " ",
         shape_str(b.shape()));
  const bool half = a.dtype() == DType::f16 || a.dtype() == DType::bf16;
  if (a.dtype() != DType::f32 && a.dtype() != DType::f64 &&
      !(half && cuda::on_gpu(a)))
    fail(op, ": expected f32 or f64, got ", dtype_name(a.dtype()));
}

// ---------------------------------------------------------------------------
// f32: oneDNN primitives, cached per (kind, geometry).

enum class Kind : int64_t { forward, back_data, back_filter };

using Key = std::array<int64_t, 15>;

Key make_key(Kind k, const Geometry &g) {
  return {static_cast<int64_t>(k),
          g.n,
          g.c,
          g.h,
          g.w,
          g.cout,
          g.kh,
          g.kw,
          g.ho,
          g.wo,
          g.p,
          g.s,
          g.d,
          g.groups,
          0};
}

struct Prim {
  dnnl::primitive prim;
  size_t scratch_bytes = 0;
};

dnnl::engine &cpu_engine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

std::shared_ptr<Prim> build_prim(Kind k, const Geometry &g) {
  using dnnl::memory;
  using tag = memory::format_tag;
  const auto f32 = memory::data_type::f32;
  memory::desc src({g.n, g.c, g.h, g.w}, f32, tag::nchw);
  memory::desc dst({g.n, g.cout, g.ho, g.wo}, f32, tag::nchw);
  memory::desc wei =
      g.groups == 1 ? memory::desc({g.cout, g.c, g.kh, g.kw}, f32, tag::oihw)
                    : memory::desc({g.groups, g.og(), g.cg(), g.kh, g.kw}, f32,
                                   tag::goihw);
  // oneDNN's dilation counts the skipped pixels: ours minus one. Its output
  // size rounds down like ours, so the padding stays symmetric.
  memory::dims strides{g.s, g.s}, dil{g.d - 1, g.d - 1}, pad{g.p, g.p};
  const memory::dims &pad_r = pad;
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  auto &eng = cpu_engine();
  const auto alg = dnnl::algorithm::convolution_direct;
  dnnl::convolution_forward::desc fd(dnnl::prop_kind::forward_training, alg,
                                     src, wei, dst, strides, dil, pad, pad_r);
  dnnl::convolution_forward::primitive_desc fpd(fd, attr, eng);
  auto p = std::make_shared<Prim>();
  switch (k) {
  case Kind::forward:
    p->prim = dnnl::convolution_forward(fpd);
    p->scratch_bytes = fpd.scratchpad_desc().get_size();
    break;
  case Kind::back_data: {
    dnnl::convolution_backward_data::desc bd(alg, src, wei, dst, strides, dil,
                                             pad, pad_r);
    dnnl::convolution_backward_data::primitive_desc bpd(bd, attr, eng, fpd);
    p->prim = dnnl::convolution_backward_data(bpd);
    p->scratch_bytes = bpd.scratchpad_desc().get_size();
    break;
  }
  case Kind::back_filter: {
    dnnl::convolution_backward_weights::desc bw(alg, src, wei, dst, strides,
                                                dil, pad, pad_r);
    dnnl::convolution_backward_weights::primitive_desc bpd(bw, attr, eng, fpd);
    p->prim = dnnl::convolution_backward_weights(bpd);
    p->scratch_bytes = bpd.scratchpad_desc().get_size();
    break;
  }
  }
  return p;
}

std::shared_ptr<Prim> cached_prim(Kind k, const Geometry &g) {
  static std::mutex mu;
  static std::map<Key, std::shared_ptr<Prim>> cache;
  constexpr size_t kMaxEntries = 256;
  Key key = make_key(k, g);
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = cache.find(key);
    if (it != cache.end())
      return it->second;
  }
  auto p = build_prim(k, g); // outside the lock: creation may take a while
  std::lock_guard<std::mutex> lock(mu);
  if (cache.size() >= kMaxEntries)
    cache.clear();
  return cache.emplace(key, p).first->second;
}

// Runs the primitive of kind k over src (x), wei (w), dst (y) buffers; which
// of them are read and which written depends on the kind.
void run_dnnl(Kind k, const Geometry &g, float *x, float *w, float *y,
              const char *op) {
  using dnnl::memory;
  using tag = memory::format_tag;
  const auto f32 = memory::data_type::f32;
  try {
    auto p = cached_prim(k, g);
    auto &eng = cpu_engine();
    memory src({{g.n, g.c, g.h, g.w}, f32, tag::nchw}, eng, x);
    memory dst({{g.n, g.cout, g.ho, g.wo}, f32, tag::nchw}, eng, y);
    memory wei(g.groups == 1
                   ? memory::desc({g.cout, g.c, g.kh, g.kw}, f32, tag::oihw)
                   : memory::desc({g.groups, g.og(), g.cg(), g.kh, g.kw}, f32,
                                  tag::goihw),
               eng, w);
    std::vector<char> scratch_buf(std::max<size_t>(p->scratch_bytes, 1));
    memory scratch({{static_cast<memory::dim>(scratch_buf.size())},
                    memory::data_type::u8,
                    tag::x},
                   eng, scratch_buf.data());
    dnnl::stream st(eng);
    switch (k) {
    case Kind::forward:
      p->prim.execute(st, {{DNNL_ARG_SRC, src},
                           {DNNL_ARG_WEIGHTS, wei},
                           {DNNL_ARG_DST, dst},
                           {DNNL_ARG_SCRATCHPAD, scratch}});
      break;
    case Kind::back_data:
      p->prim.execute(st, {{DNNL_ARG_DIFF_SRC, src},
                           {DNNL_ARG_WEIGHTS, wei},
                           {DNNL_ARG_DIFF_DST, dst},
                           {DNNL_ARG_SCRATCHPAD, scratch}});
      break;
    case Kind::back_filter:
      p->prim.execute(st, {{DNNL_ARG_SRC, src},
                           {DNNL_ARG_DIFF_WEIGHTS, wei},
                           {DNNL_ARG_DIFF_DST, dst},
                           {DNNL_ARG_SCRATCHPAD, scratch}});
      break;
    }
    st.wait();
  } catch (const dnnl::error &e) {
    fail(op, ": oneDNN failed (", e.what(), ") for x ", shape_str(g.x_shape()),
         " w ", shape_str(g.w_shape()), " y ", shape_str(g.y_shape()));
  }
}

// ---------------------------------------------------------------------------
// f64 (and any T): direct loops.

template <class T>
void ref_forward(const Geometry &g, const T *x, const T *w, T *y) {
  const int64_t cg = g.cg(), og = g.og();
  parallel_for(g.n * g.cout, g.ho * g.wo * cg * g.kh * g.kw,
               [&](int64_t b, int64_t e) {
                 for (int64_t i = b; i < e; ++i) {
                   const int64_t n = i / g.cout, oc = i % g.cout;
                   const int64_t c0 = (oc / og) * cg;
                   T *yp = y + i * g.ho * g.wo;
                   for (int64_t oh = 0; oh < g.ho; ++oh)
                     for (int64_t ow = 0; ow < g.wo; ++ow) {
                       T acc = 0;
                       for (int64_t ic = 0; ic < cg; ++ic) {
                         const T *xp = x + (n * g.c + c0 + ic) * g.h * g.w;
                         const T *wp = w + (oc * cg + ic) * g.kh * g.kw;
                         for (int64_t kh = 0; kh < g.kh; ++kh) {
                           const int64_t ih = oh * g.s - g.p + kh * g.d;
                           if (ih < 0 || ih >= g.h)
                             continue;
                           for (int64_t kw = 0; kw < g.kw; ++kw) {
                             const int64_t iw = ow * g.s - g.p + kw * g.d;
                             if (iw < 0 || iw >= g.w)
                               continue;
                             acc += xp[ih * g.w + iw] * wp[kh * g.kw + kw];
                           }
                         }
                       }
                       yp[oh * g.wo + ow] = acc;
                     }
                 }
               });
}

template <class T>
void ref_back_data(const Geometry &g, const T *dy, const T *w, T *dx) {
  const int64_t cg = g.cg(), og = g.og();
  parallel_for(
      g.n * g.c, g.h * g.w * og * g.kh * g.kw, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) {
          const int64_t n = i / g.c, c = i % g.c;
          const int64_t grp = c / cg, ic = c % cg;
          T *xp = dx + i * g.h * g.w;
          for (int64_t ih = 0; ih < g.h; ++ih)
            for (int64_t iw = 0; iw < g.w; ++iw) {
              T acc = 0;
              for (int64_t o = 0; o < og; ++o) {
                const int64_t oc = grp * og + o;
                const T *yp = dy + (n * g.cout + oc) * g.ho * g.wo;
                const T *wp = w + (oc * cg + ic) * g.kh * g.kw;
                for (int64_t kh = 0; kh < g.kh; ++kh) {
                  const int64_t th = ih + g.p - kh * g.d;
                  if (th < 0 || th % g.s != 0 || th / g.s >= g.ho)
                    continue;
                  const int64_t oh = th / g.s;
                  for (int64_t kw = 0; kw < g.kw; ++kw) {
                    const int64_t tw = iw + g.p - kw * g.d;
                    if (tw < 0 || tw % g.s != 0 || tw / g.s >= g.wo)
                      continue;
                    acc += yp[oh * g.wo + tw / g.s] * wp[kh * g.kw + kw];
                  }
                }
              }
              xp[ih * g.w + iw] = acc;
            }
        }
      });
}

template <class T>
void ref_back_filter(const Geometry &g, const T *dy, const T *x, T *dw) {
  const int64_t cg = g.cg(), og = g.og();
  parallel_for(g.cout * cg, g.n * g.ho * g.wo * g.kh * g.kw,
               [&](int64_t b, int64_t e) {
                 for (int64_t i = b; i < e; ++i) {
                   const int64_t oc = i / cg, ic = i % cg;
                   const int64_t c = (oc / og) * cg + ic;
                   T *wp = dw + i * g.kh * g.kw;
                   for (int64_t kh = 0; kh < g.kh; ++kh)
                     for (int64_t kw = 0; kw < g.kw; ++kw) {
                       T acc = 0;
                       for (int64_t n = 0; n < g.n; ++n) {
                         const T *yp = dy + (n * g.cout + oc) * g.ho * g.wo;
                         const T *xp = x + (n * g.c + c) * g.h * g.w;
                         for (int64_t oh = 0; oh < g.ho; ++oh) {
                           const int64_t ih = oh * g.s - g.p + kh * g.d;
                           if (ih < 0 || ih >= g.h)
                             continue;
                           for (int64_t ow = 0; ow < g.wo; ++ow) {
                             const int64_t iw = ow * g.s - g.p + kw * g.d;
                             if (iw < 0 || iw >= g.w)
                               continue;
                             acc += yp[oh * g.wo + ow] * xp[ih * g.w + iw];
                           }
                         }
                       }
                       wp[kh * g.kw + kw] = acc;
                     }
                 }
               });
}

// ---------------------------------------------------------------------------
// The kernels (no recording): a dense output of the kind's result shape.

Tensor run_kernel(Kind k, const Geometry &g, const Tensor &a, const Tensor &b,
                  const char *op) {
  const Shape out_shape = k == Kind::forward     ? g.y_shape()
                          : k == Kind::back_data ? g.x_shape()
                                                 : g.w_shape();
  const DType dt = a.dtype();
  if (shape_numel(out_shape) == 0)
    return Tensor::zeros(out_shape, dt, a.device());
  if (a.numel() == 0 || b.numel() == 0)
    return Tensor::zeros(out_shape, dt, a.device());
  Tensor out = Tensor::empty(out_shape, dt, a.device());
  Tensor ad = dense(a), bd = dense(b);
  if (cuda::on_gpu(out)) {
    const Device dev = out.device();
    const cuda_abi::Backend &be = cuda::require(dev, op);
    const cuda_abi::ConvGeometry cg{g.n,  g.c,  g.h,  g.w,     g.cout, g.kh,
                                    g.kw, g.ho, g.wo, g.p,     g.p,    g.s,
                                    g.s,  g.d,  g.d,  g.groups};
    void *pa = ad.impl()->data(), *pb = bd.impl()->data(),
         *po = out.impl()->data();
    const int code = static_cast<int>(dt);
    cuda::check_retry(dev, op, [&] {
      switch (k) {
      case Kind::forward: // a = x, b = w
        return be.conv_forward(dev.index, code, &cg, pa, pb, po);
      case Kind::back_data: // a = dy, b = w
        return be.conv_backward_data(dev.index, code, &cg, pa, pb, po);
      case Kind::back_filter: // a = dy, b = x
        return be.conv_backward_filter(dev.index, code, &cg, pa, pb, po);
      }
      return -1;
    });
    return out;
  }
  if (dt == DType::f32) {
    float *pa = ad.data<float>(), *pb = bd.data<float>(),
          *po = out.data<float>();
    switch (k) {
    case Kind::forward: // a = x, b = w
      run_dnnl(k, g, pa, pb, po, op);
      break;
    case Kind::back_data: // a = dy, b = w
      run_dnnl(k, g, po, pb, pa, op);
      break;
    case Kind::back_filter: // a = dy, b = x
      run_dnnl(k, g, pb, po, pa, op);
      break;
    }
  } else {
    const double *pa = ad.data<double>(), *pb = bd.data<double>();
    double *po = out.data<double>();
    switch (k) {
    case Kind::forward:
      ref_forward(g, pa, pb, po);
      break;
    case Kind::back_data:
      ref_back_data(g, pa, pb, po);
      break;
    case Kind::back_filter:
      ref_back_filter(g, pa, pb, po);
      break;
    }
  }
  return out;
}

void check_dy(const Tensor &dy, const Geometry &g, const char *what,
              const char *op) {
  if (dy.shape() != g.y_shape())
    fail(op, ": dy has shape ", shape_str(dy.shape()), " but conv2d of x ",
         shape_str(g.x_shape()), " with w ", shape_str(g.w_shape()), " gives ",
         shape_str(g.y_shape()), what);
}

} // namespace

Tensor conv2d(const Tensor &x, const Tensor &w, ConvOptions o) {
  const char *op = "conv2d";
  check_float_pair(x, "x", w, "w", op);
  Geometry g = geometry(x.shape(), w.shape(), o, op);
  Tensor y = run_kernel(Kind::forward, g, x, w, op);
  if (recording())
    record(op, {x, w}, {y}, [x, w, o](const Grads &dy, const Needs &n) {
      return Grads{n[0] ? conv2d_back_data(dy[0], w, x.shape(), o) : Tensor(),
                   n[1] ? conv2d_back_filter(dy[0], x, w.shape(), o)
                        : Tensor()};
    });
  return y;
}

Tensor conv2d_back_data(const Tensor &dy, const Tensor &w, const Shape &x_shape,
                        ConvOptions o) {
  const char *op = "conv2d_back_data";
  check_float_pair(dy, "dy", w, "w", op);
  Geometry g = geometry(x_shape, w.shape(), o, op);
  check_dy(dy, g, "", op);
  Tensor dx = run_kernel(Kind::back_data, g, dy, w, op);
  if (recording())
    record(op, {dy, w}, {dx}, [dy, w, o](const Grads &gg, const Needs &n) {
      return Grads{n[0] ? conv2d(gg[0], w, o) : Tensor(),
                   n[1] ? conv2d_back_filter(dy, gg[0], w.shape(), o)
                        : Tensor()};
    });
  return dx;
}

Tensor conv2d_back_filter(const Tensor &dy, const Tensor &x,
                          const Shape &w_shape, ConvOptions o) {
  const char *op = "conv2d_back_filter";
  check_float_pair(dy, "dy", x, "x", op);
  Geometry g = geometry(x.shape(), w_shape, o, op);
  check_dy(dy, g, "", op);
  Tensor dw = run_kernel(Kind::back_filter, g, dy, x, op);
  if (recording())
    record(op, {dy, x}, {dw}, [dy, x, o](const Grads &gg, const Needs &n) {
      return Grads{n[0] ? conv2d(x, gg[0], o) : Tensor(),
                   n[1] ? conv2d_back_data(dy, gg[0], x.shape(), o) : Tensor()};
    });
  return dw;
}

Tensor deconv2d(const Tensor &x, const Tensor &w, ConvOptions o) {
  const char *op = "deconv2d";
  check_float_pair(x, "x", w, "w", op);
  check_options(o, op);
  if (x.rank() != 4)
    fail(op, ": x must be NCHW (rank 4), got ", shape_str(x.shape()));
  if (w.rank() != 4)
    fail(op, ": w must be [Cin, Cout/groups, kH, kW] (rank 4), got ",
         shape_str(w.shape()));
  const Shape &xs = x.shape(), &ws = w.shape();
  if (ws[0] != xs[1])
    fail(op, ": w expects ", ws[0], " input channels but x has ", xs[1], ": x ",
         shape_str(xs), " w ", shape_str(ws));
  if (xs[1] % o.groups != 0)
    fail(op, ": input channels ", xs[1], " not divisible by groups ", o.groups,
         ": x ", shape_str(xs), " w ", shape_str(ws));
  Shape ys{xs[0], ws[1] * o.groups, 0, 0};
  for (int i = 0; i < 2; ++i) {
    // In 128 bits: options near INT64_MAX are errors, not overflows.
    __int128 s = __int128(xs[2 + i] - 1) * o.stride - 2 * __int128(o.padding) +
                 __int128(o.dilation) * (ws[2 + i] - 1) + 1;
    if (s > INT64_MAX || __int128(ws[1]) * o.groups > INT64_MAX)
      fail(op, ": output too large for int64 sizes: x ", shape_str(xs), " w ",
           shape_str(ws), " ", opts_str(o));
    ys[2 + i] = static_cast<int64_t>(s);
  }
  if (ys[2] < 1 || ys[3] < 1 || xs[2] < 1 || xs[3] < 1)
    fail(op, ": empty output: x ", shape_str(xs), " w ", shape_str(ws), " ",
         opts_str(o), " gives spatial size ", ys[2], "x", ys[3]);
  // y = the adjoint of conv2d(y, w): w [Cin, Cout/groups, ...] is conv2d's
  // [Cout', Cin'/groups, ...] weight.
  Geometry g = geometry(ys, ws, o, op);
  if (g.ho != xs[2] || g.wo != xs[3])
    fail(op, ": internal size mismatch for x ", shape_str(xs), " w ",
         shape_str(ws), " ", opts_str(o));
  return conv2d_back_data(x, w, ys, o);
}

} // namespace knet
