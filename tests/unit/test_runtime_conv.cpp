// conv2d, conv2d_back_data, conv2d_back_filter and deconv2d: forward against
// naive loops for several option combinations in f32 (oneDNN) and f64
// (direct loops), non-contiguous inputs, errors, and gradients (first and
// second order) against central differences.
#include "test_util.h"

#include <knet/ops/conv.h>

#include <string>
#include <thread>

using namespace knet;
using knet::testing::all_close;
using knet::testing::check_grads;
using knet::testing::rand_f64;

namespace {

// conv2d's output spatial size.
int64_t out_size(int64_t in, int64_t k, const ConvOptions &o) {
  return (in + 2 * o.padding - o.dilation * (k - 1) - 1) / o.stride + 1;
}

// The naive 7-loop cross-correlation, in f64.
Tensor ref_conv(const Tensor &x, const Tensor &w, const ConvOptions &o) {
  const Shape &xs = x.shape(), &ws = w.shape();
  const int64_t N = xs[0], C = xs[1], H = xs[2], W = xs[3];
  const int64_t O = ws[0], KH = ws[2], KW = ws[3], G = o.groups;
  const int64_t cg = C / G, og = O / G;
  const int64_t Ho = out_size(H, KH, o), Wo = out_size(W, KW, o);
  std::vector<double> xv = x.to_vector<double>(), wv = w.to_vector<double>();
  std::vector<double> y(N * O * Ho * Wo, 0.0);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t oc = 0; oc < O; ++oc)
      for (int64_t oh = 0; oh < Ho; ++oh)
        for (int64_t ow = 0; ow < Wo; ++ow)
          for (int64_t ic = 0; ic < cg; ++ic)
            for (int64_t kh = 0; kh < KH; ++kh)
              for (int64_t kw = 0; kw < KW; ++kw) {
                int64_t ih = oh * o.stride - o.padding + kh * o.dilation;
                int64_t iw = ow * o.stride - o.padding + kw * o.dilation;
                if (ih < 0 || ih >= H || iw < 0 || iw >= W)
                  continue;
                int64_t c = (oc / og) * cg + ic;
                y[((n * O + oc) * Ho + oh) * Wo + ow] +=
                    xv[((n * C + c) * H + ih) * W + iw] *
                    wv[((oc * cg + ic) * KH + kh) * KW + kw];
              }
  return Tensor::from(y, {N, O, Ho, Wo});
}

// The adjoints by scattering: for every (n, oc, oh, ow, ic, kh, kw) term of
// the forward sum, dx and dw receive dy times the other factor.
void ref_backs(const Tensor &dy, const Tensor &x, const Tensor &w,
               const ConvOptions &o, Tensor *dx, Tensor *dw) {
  const Shape &xs = x.shape(), &ws = w.shape();
  const int64_t N = xs[0], C = xs[1], H = xs[2], W = xs[3];
  const int64_t O = ws[0], KH = ws[2], KW = ws[3], G = o.groups;
  const int64_t cg = C / G, og = O / G;
  const int64_t Ho = dy.size(2), Wo = dy.size(3);
  std::vector<double> xv = x.to_vector<double>(), wv = w.to_vector<double>(),
                      gv = dy.to_vector<double>();
  std::vector<double> gx(xv.size(), 0.0), gw(wv.size(), 0.0);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t oc = 0; oc < O; ++oc)
      for (int64_t oh = 0; oh < Ho; ++oh)
        for (int64_t ow = 0; ow < Wo; ++ow)
          for (int64_t ic = 0; ic < cg; ++ic)
            for (int64_t kh = 0; kh < KH; ++kh)
              for (int64_t kw = 0; kw < KW; ++kw) {
                int64_t ih = oh * o.stride - o.padding + kh * o.dilation;
                int64_t iw = ow * o.stride - o.padding + kw * o.dilation;
                if (ih < 0 || ih >= H || iw < 0 || iw >= W)
                  continue;
                int64_t c = (oc / og) * cg + ic;
                int64_t xi = ((n * C + c) * H + ih) * W + iw;
                int64_t wi = ((oc * cg + ic) * KH + kh) * KW + kw;
                double g = gv[((n * O + oc) * Ho + oh) * Wo + ow];
                gx[xi] += g * wv[wi];
                gw[wi] += g * xv[xi];
              }
  if (dx)
    *dx = Tensor::from(gx, xs);
  if (dw)
    *dw = Tensor::from(gw, ws);
}

// The transposed convolution by its definition: every input pixel spreads
// x * w over the output window it maps to.
Tensor ref_deconv(const Tensor &x, const Tensor &w, const ConvOptions &o) {
  const Shape &xs = x.shape(), &ws = w.shape();
  const int64_t N = xs[0], C = xs[1], H = xs[2], W = xs[3];
  const int64_t og = ws[1], KH = ws[2], KW = ws[3], G = o.groups;
  const int64_t cg = C / G, O = og * G;
  const int64_t Ho =
      (H - 1) * o.stride - 2 * o.padding + o.dilation * (KH - 1) + 1;
  const int64_t Wo =
      (W - 1) * o.stride - 2 * o.padding + o.dilation * (KW - 1) + 1;
  std::vector<double> xv = x.to_vector<double>(), wv = w.to_vector<double>();
  std::vector<double> y(N * O * Ho * Wo, 0.0);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t ih = 0; ih < H; ++ih)
        for (int64_t iw = 0; iw < W; ++iw)
          for (int64_t o2 = 0; o2 < og; ++o2)
            for (int64_t kh = 0; kh < KH; ++kh)
              for (int64_t kw = 0; kw < KW; ++kw) {
                int64_t oh = ih * o.stride - o.padding + kh * o.dilation;
                int64_t ow = iw * o.stride - o.padding + kw * o.dilation;
                if (oh < 0 || oh >= Ho || ow < 0 || ow >= Wo)
                  continue;
                int64_t oc = (c / cg) * og + o2;
                y[((n * O + oc) * Ho + oh) * Wo + ow] +=
                    xv[((n * C + c) * H + ih) * W + iw] *
                    wv[((c * og + o2) * KH + kh) * KW + kw];
              }
  return Tensor::from(y, {N, O, Ho, Wo});
}

std::string error_of(const std::function<void()> &f) {
  try {
    f();
  } catch (const Error &e) {
    return e.what();
  }
  return "(no error)";
}

std::string str(const ConvOptions &o) {
  return "padding " + std::to_string(o.padding) + " stride " +
         std::to_string(o.stride) + " dilation " + std::to_string(o.dilation) +
         " groups " + std::to_string(o.groups);
}

// Option combinations the forward and backward tests run over. x is
// [2, 4, 7, 6], w [8, 4/groups, 3, 2] (a non-square window).
const std::vector<ConvOptions> kCombos = {
    {0, 1, 1, 1}, {1, 1, 1, 1}, {1, 2, 1, 1}, {2, 1, 2, 1},
    {0, 1, 1, 2}, {1, 2, 2, 2}, {3, 3, 1, 1}, {0, 1, 1, 4},
};

Shape w_shape_for(const ConvOptions &o) { return {8, 4 / o.groups, 3, 2}; }

// f32 results are checked against the f64 reference of the same rounded
// values: the sums have at most 4*3*2 (or N*Ho*Wo) terms of size ~1.
constexpr double kTol32 = 1e-5;
constexpr double kTol64 = 1e-12;

} // namespace

TEST(Conv2d, ForwardMatchesReference) {
  for (const ConvOptions &o : kCombos)
    for (DType dt : {DType::f64, DType::f32}) {
      Tensor x = rand_f64({2, 4, 7, 6}, -1, 1, 1).to(dt);
      Tensor w = rand_f64(w_shape_for(o), -1, 1, 2).to(dt);
      Tensor y = conv2d(x, w, o);
      EXPECT_EQ(y.dtype(), dt);
      double tol = dt == DType::f32 ? kTol32 : kTol64;
      EXPECT_TRUE(all_close(y, ref_conv(x, w, o), tol, tol))
          << str(o) << " " << dtype_name(dt);
    }
}

TEST(Conv2d, BackwardKernelsMatchReference) {
  for (const ConvOptions &o : kCombos)
    for (DType dt : {DType::f64, DType::f32}) {
      Tensor x = rand_f64({2, 4, 7, 6}, -1, 1, 3).to(dt);
      Tensor w = rand_f64(w_shape_for(o), -1, 1, 4).to(dt);
      Shape ys{2, 8, out_size(7, 3, o), out_size(6, 2, o)};
      Tensor dy = rand_f64(ys, -1, 1, 5).to(dt);
      Tensor dx, dw;
      ref_backs(dy, x, w, o, &dx, &dw);
      double tol = dt == DType::f32 ? kTol32 : kTol64;
      EXPECT_TRUE(
          all_close(conv2d_back_data(dy, w, x.shape(), o), dx, tol, tol))
          << str(o) << " " << dtype_name(dt);
      EXPECT_TRUE(
          all_close(conv2d_back_filter(dy, x, w.shape(), o), dw, tol, tol))
          << str(o) << " " << dtype_name(dt);
    }
}

TEST(Conv2d, DeconvMatchesReference) {
  // deconv2d weights are [Cin, Cout/groups, kH, kW]: x [2, 4, 4, 3].
  const std::vector<ConvOptions> combos = {
      {0, 1, 1, 1}, {1, 2, 1, 1}, {1, 2, 2, 2}, {0, 3, 1, 4}, {2, 2, 1, 1}};
  for (const ConvOptions &o : combos)
    for (DType dt : {DType::f64, DType::f32}) {
      Tensor x = rand_f64({2, 4, 4, 3}, -1, 1, 6).to(dt);
      Tensor w = rand_f64({4, 3, 3, 2}, -1, 1, 7).to(dt);
      Tensor y = deconv2d(x, w, o);
      double tol = dt == DType::f32 ? kTol32 : kTol64;
      EXPECT_TRUE(all_close(y, ref_deconv(x, w, o), tol, tol))
          << str(o) << " " << dtype_name(dt);
      // And it is the adjoint of conv2d: conv2d of its output has x's shape.
      EXPECT_EQ(conv2d(y, w, o).shape(), x.shape()) << str(o);
    }
}

TEST(Conv2d, NonContiguousInputs) {
  for (DType dt : {DType::f64, DType::f32}) {
    ConvOptions o{1, 2, 1, 2};
    // x as a permuted view: [2,4,7,6] made from a [2,7,6,4] tensor.
    Tensor xb = rand_f64({2, 7, 6, 4}, -1, 1, 8).to(dt);
    Tensor x = xb.permute({0, 3, 1, 2});
    ASSERT_FALSE(x.is_contiguous());
    // w as a slice of a larger tensor.
    Tensor wb = rand_f64({6, 2, 3, 4}, -1, 1, 9).to(dt);
    Tensor w = wb.slice(3, 1, 4, 2); // [6,2,3,2]
    Tensor y = conv2d(x, w, o);
    double tol = dt == DType::f32 ? kTol32 : kTol64;
    EXPECT_TRUE(
        all_close(y, ref_conv(x.contiguous(), w.contiguous(), o), tol, tol));
    Tensor dy = rand_f64(y.shape(), -1, 1, 10)
                    .to(dt)
                    .transpose(2, 3)
                    .contiguous()
                    .transpose(2, 3); // same shape, strided
    ASSERT_FALSE(dy.is_contiguous());
    Tensor dx, dw;
    ref_backs(dy.contiguous(), x.contiguous(), w.contiguous(), o, &dx, &dw);
    EXPECT_TRUE(all_close(conv2d_back_data(dy, w, x.shape(), o), dx, tol, tol));
    EXPECT_TRUE(
        all_close(conv2d_back_filter(dy, x, w.shape(), o), dw, tol, tol));
  }
}

TEST(Conv2d, RepeatedAndConcurrentCallsAgree) {
  // The oneDNN primitive cache: same shapes from several threads at once.
  Tensor x = rand_f64({2, 4, 9, 9}, -1, 1, 11).to(DType::f32);
  Tensor w = rand_f64({8, 2, 3, 3}, -1, 1, 12).to(DType::f32);
  ConvOptions o{1, 1, 1, 2};
  Tensor ref = ref_conv(x, w, o);
  std::vector<Tensor> out(4);
  std::vector<std::thread> ts;
  for (int i = 0; i < 4; ++i)
    ts.emplace_back([&, i] { out[i] = conv2d(x, w, o); });
  for (auto &t : ts)
    t.join();
  for (const Tensor &y : out)
    EXPECT_TRUE(all_close(y, ref, kTol32, kTol32));
  EXPECT_TRUE(all_close(conv2d(x, w, o), ref, kTol32, kTol32));
}

TEST(Conv2d, Gradients) {
  for (const ConvOptions &o :
       {ConvOptions{0, 1, 1, 1}, ConvOptions{1, 2, 1, 1},
        ConvOptions{1, 1, 2, 2}, ConvOptions{2, 2, 1, 2}}) {
    Tensor x = rand_f64({2, 4, 5, 4}, -1, 1, 13);
    Tensor w = rand_f64({4, 4 / o.groups, 3, 2}, -1, 1, 14);
    EXPECT_TRUE(check_grads(
        [o](const std::vector<Tensor> &in) { return conv2d(in[0], in[1], o); },
        {x, w}))
        << str(o);
    Tensor y = conv2d(x, w, o);
    Tensor dy = rand_f64(y.shape(), -1, 1, 15);
    // The backward kernels are linear in each argument; their own rules.
    EXPECT_TRUE(check_grads(
        [o, x](const std::vector<Tensor> &in) {
          return conv2d_back_data(in[0], in[1], x.shape(), o);
        },
        {dy, w}))
        << str(o);
    EXPECT_TRUE(check_grads(
        [o, w](const std::vector<Tensor> &in) {
          return conv2d_back_filter(in[0], in[1], w.shape(), o);
        },
        {dy, x}))
        << str(o);
  }
}

TEST(Conv2d, DeconvGradients) {
  for (const ConvOptions &o :
       {ConvOptions{0, 1, 1, 1}, ConvOptions{1, 2, 1, 2}}) {
    Tensor x = rand_f64({2, 4, 3, 3}, -1, 1, 16);
    Tensor w = rand_f64({4, 3, 3, 2}, -1, 1, 17);
    EXPECT_TRUE(check_grads(
        [o](const std::vector<Tensor> &in) {
          return deconv2d(in[0], in[1], o);
        },
        {x, w}))
        << str(o);
  }
}

TEST(Conv2d, SecondDerivatives) {
  // The gradient of L = sum(tanh(conv2d(x, w))) w.r.t. x and w, taken on an
  // inner tape, differentiated again by check_grads: this runs the tape
  // rules of conv2d_back_data and conv2d_back_filter.
  for (const ConvOptions &o :
       {ConvOptions{1, 1, 1, 1}, ConvOptions{1, 2, 2, 2}}) {
    auto inner = [o](const Tensor &p, const Tensor &q) {
      return sum(tanh(conv2d(p, q, o)));
    };
    Tensor x = rand_f64({1, 4, 5, 5}, -1, 1, 18);
    Tensor w = rand_f64({2, 4 / o.groups, 3, 3}, -1, 1, 19);
    EXPECT_TRUE(check_grads(
        [inner](const std::vector<Tensor> &in) {
          auto [v, dx, dw] = value_and_grad(inner, in[0] * 1.0, in[1] * 1.0);
          return dx;
        },
        {x, w}))
        << str(o);
    EXPECT_TRUE(check_grads(
        [inner](const std::vector<Tensor> &in) {
          auto [v, dx, dw] = value_and_grad(inner, in[0] * 1.0, in[1] * 1.0);
          return dw;
        },
        {x, w}))
        << str(o);
  }
}

TEST(Conv2d, Errors) {
  Tensor x = rand_f64({2, 4, 5, 5}), w = rand_f64({6, 4, 3, 3});
  auto has = [](const std::string &e, const std::string &s) {
    return e.find(s) != std::string::npos;
  };
  std::string e;
  e = error_of([&] { conv2d(x, rand_f64({6, 2, 3, 3}), {.groups = 3}); });
  EXPECT_TRUE(has(e, "conv2d: input channels 4 not divisible by groups 3"))
      << e;
  e = error_of([&] { conv2d(x, rand_f64({5, 2, 3, 3}), {.groups = 2}); });
  EXPECT_TRUE(has(e, "conv2d: output channels 5 not divisible by groups 2"))
      << e;
  e = error_of([&] { conv2d(x, rand_f64({6, 3, 3, 3})); });
  EXPECT_TRUE(has(e, "conv2d: w expects 3 input channels per group")) << e;
  e = error_of([&] { conv2d(x, rand_f64({6, 4, 7, 3})); });
  EXPECT_TRUE(has(e, "larger than the padded input")) << e;
  e = error_of([&] { conv2d(x, w, {.dilation = 3}); });
  EXPECT_TRUE(has(e, "larger than the padded input")) << e;
  e = error_of([&] { conv2d(x, w, {.stride = 0}); });
  EXPECT_TRUE(has(e, "conv2d: stride must be >= 1")) << e;
  e = error_of([&] { conv2d(x, w, {.dilation = 0}); });
  EXPECT_TRUE(has(e, "conv2d: dilation must be >= 1")) << e;
  e = error_of([&] { conv2d(x, w, {.padding = -1}); });
  EXPECT_TRUE(has(e, "conv2d: padding must be >= 0")) << e;
  e = error_of([&] { conv2d(x, w, {.groups = 0}); });
  EXPECT_TRUE(has(e, "conv2d: groups must be >= 1")) << e;
  e = error_of([&] { conv2d(x.to(DType::f32), w); });
  EXPECT_TRUE(has(e, "conv2d: dtype mismatch")) << e;
  e = error_of([&] { conv2d(rand_f64({4, 5, 5}), w); });
  EXPECT_TRUE(has(e, "conv2d: x must be NCHW (rank 4), got [4,5,5]")) << e;
  e = error_of([&] {
    conv2d(Tensor::zeros({1, 4, 5, 5}, DType::i64),
           Tensor::zeros({1, 4, 3, 3}, DType::i64));
  });
  EXPECT_TRUE(has(e, "conv2d: expected f32 or f64")) << e;
  e = error_of([&] { conv2d_back_data(rand_f64({2, 6, 4, 4}), w, x.shape()); });
  EXPECT_TRUE(has(e, "conv2d_back_data: dy has shape [2,6,4,4] but conv2d of "
                     "x [2,4,5,5] with w [6,4,3,3] gives [2,6,3,3]"))
      << e;
  e = error_of([&] {
    conv2d_back_filter(rand_f64({2, 6, 4, 4}), x, w.shape());
  });
  EXPECT_TRUE(has(e, "conv2d_back_filter: dy has shape [2,6,4,4]")) << e;
  e = error_of([&] { deconv2d(rand_f64({2, 3, 4, 4}), w); });
  EXPECT_TRUE(has(e, "deconv2d: w expects 6 input channels but x has 3")) << e;
  e = error_of([&] { deconv2d(rand_f64({2, 6, 1, 1}), w, {.padding = 2}); });
  EXPECT_TRUE(has(e, "deconv2d: empty output")) << e;
  // Options whose sizes leave int64 are errors naming the op and shapes
  // (they overflowed, or reached the allocator as "out of memory").
  const int64_t big = int64_t(1) << 62;
  e = error_of([&] { conv2d(x, w, {.padding = big}); });
  EXPECT_TRUE(has(e, "conv2d: padding or dilation too large for int64 sizes: "
                     "x [2,4,5,5] w [6,4,3,3]"))
      << e;
  e = error_of([&] { conv2d(x, w, {.dilation = big}); });
  EXPECT_TRUE(has(e, "conv2d: padding or dilation too large")) << e;
  e = error_of([&] { conv2d(x, w, {.padding = int64_t(1) << 31}); });
  EXPECT_TRUE(has(e, "conv2d: output shape [2,6,4294967299,4294967299] has "
                     "more elements than an int64 counts"))
      << e;
  e = error_of([&] { deconv2d(rand_f64({2, 6, 4, 4}), w, {.stride = big}); });
  EXPECT_TRUE(has(e, "deconv2d: output too large for int64 sizes")) << e;
  e = error_of([&] { pool(x, {.window = 2, .stride = 1, .padding = 1}); });
  EXPECT_EQ(e, "(no error)");
  e = error_of(
      [&] { pool(x, {.window = big, .stride = 1, .padding = big - 1}); });
  EXPECT_TRUE(has(e, "pool: output shape")) << e;
  e = error_of([&] { unpool(x, {.window = 2, .stride = big}); });
  EXPECT_TRUE(has(
      e, "unpool: input [2,4,5,5] with window=2 stride=" + std::to_string(big) +
             " gives an output too large for int64 sizes"))
      << e;
  e = error_of([&] { unpool(x, {.window = 0}); });
  EXPECT_TRUE(has(e, "unpool: window must be >= 1")) << e;
}
