// Random numbers: the Philox4x32-10 counter-based generator (Salmon et al.,
// "Parallel random numbers: as easy as 1, 2, 3", SC'11; Random123), the
// global stream, initializers, the training flag and dropout.
//
// The stream: the 64-bit seed is the key (k0 = low word, k1 = high word); a
// 64-bit global offset counts 128-bit blocks already used. An op that draws
// n values takes the blocks offset .. offset + ceil(n/4) - 1 and advances the
// offset past them: element i of the op uses block offset + i/4 (counter
// words {low, high, 0, 0}) and word i%4 of it (rand, dropout), or for randn
// the Box-Muller pair (i%4)/2 of that block. Each element depends only on
// (seed, offset, i), so a GPU kernel reproduces the stream exactly.
#include "core/cuda.h"
#include "core/elementwise.h"
#include "core/tensor_impl.h"

#include <knet/checks.h>
#include <knet/ops/elementwise.h>
#include <knet/ops/random.h>

#include <array>
#include <atomic>
#include <cmath>
#include <mutex>

namespace knet {

using namespace detail;

namespace detail {

// One Philox4x32 block with 10 rounds (Random123's philox4x32_R(10, ...)).
// Declared here, not in a header: the unit test declares it to check the
// published known-answer vectors.
std::array<uint32_t, 4> philox4x32_10(std::array<uint32_t, 4> ctr,
                                      std::array<uint32_t, 2> key) {
  constexpr uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u;
  constexpr uint32_t W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
  uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
  uint32_t k0 = key[0], k1 = key[1];
  for (int r = 0; r < 10; ++r) {
    if (r > 0) {
      k0 += W0;
      k1 += W1;
    }
    uint64_t p0 = uint64_t{M0} * c0, p1 = uint64_t{M1} * c2;
    uint32_t hi0 = static_cast<uint32_t>(p0 >> 32),
             lo0 = static_cast<uint32_t>(p0);
    uint32_t hi1 = static_cast<uint32_t>(p1 >> 32),
             lo1 = static_cast<uint32_t>(p1);
    c0 = hi1 ^ c1 ^ k0;
    c1 = lo1;
    c2 = hi0 ^ c3 ^ k1;
    c3 = lo0;
  }
  return {c0, c1, c2, c3};
}

} // namespace detail

namespace {

// The default seed, so that a program that never calls seed() is
// reproducible too.
constexpr uint64_t kDefaultSeed = 0x4B6E6574ull; // "Knet"

std::mutex g_rng_mutex;
uint64_t g_seed = kDefaultSeed;
uint64_t g_offset = 0; // blocks used since the last seed()
std::atomic<bool> g_training{false};

struct StreamSlice {
  std::array<uint32_t, 2> key;
  uint64_t offset;
};

// Reserves the blocks for n values.
StreamSlice take_blocks(int64_t n) {
  std::lock_guard<std::mutex> lock(g_rng_mutex);
  StreamSlice s{
      {static_cast<uint32_t>(g_seed), static_cast<uint32_t>(g_seed >> 32)},
      g_offset};
  g_offset += static_cast<uint64_t>((n + 3) / 4);
  return s;
}

std::array<uint32_t, 4> block(const StreamSlice &s, uint64_t b) {
  uint64_t c = s.offset + b;
  return philox4x32_10(
      {static_cast<uint32_t>(c), static_cast<uint32_t>(c >> 32), 0u, 0u},
      s.key);
}

// Uniform in [0, 1): 24 bits for f32, 32 bits for f64.
template <class T> T to_uniform(uint32_t w) {
  if constexpr (std::is_same_v<T, float>)
    return static_cast<float>(w >> 8) * 0x1p-24f;
  else
    return static_cast<double>(w) * 0x1p-32;
}

// Fills p[0..n) with f(block words, i) for each element, in parallel.
template <class T, class F>
void fill_stream(T *p, int64_t n, const StreamSlice &s, F f) {
  const int64_t nblocks = (n + 3) / 4;
  parallel_for(nblocks, 64, [&](int64_t b, int64_t e) {
    for (int64_t k = b; k < e; ++k) {
      std::array<uint32_t, 4> w = block(s, static_cast<uint64_t>(k));
      T v[4];
      f(w, v);
      for (int64_t j = 0; j < 4 && 4 * k + j < n; ++j)
        p[4 * k + j] = v[j];
    }
  });
}

Tensor uniform(const Shape &shape, DType dtype, const char *op) {
  check_shape(shape, op);
  Tensor y = Tensor::empty(shape, dtype, Device{});
  dispatch_float(dtype, op, [&]<class T>() {
    StreamSlice s = take_blocks(y.numel());
    fill_stream<T>(y.data<T>(), y.numel(), s,
                   [](const std::array<uint32_t, 4> &w, T *v) {
                     for (int j = 0; j < 4; ++j)
                       v[j] = to_uniform<T>(w[j]);
                   });
  });
  return y;
}

Tensor normal(const Shape &shape, DType dtype, const char *op) {
  check_shape(shape, op);
  Tensor y = Tensor::empty(shape, dtype, Device{});
  dispatch_float(dtype, op, [&]<class T>() {
    StreamSlice s = take_blocks(y.numel());
    fill_stream<T>(
        y.data<T>(), y.numel(), s, [](const std::array<uint32_t, 4> &w, T *v) {
          constexpr double two_pi = 6.283185307179586476925286766559;
          for (int j = 0; j < 2; ++j) {
            // u1 in (0, 1] so that log(u1) is finite.
            double u1 = (static_cast<double>(w[2 * j]) + 1.0) * 0x1p-32;
            double u2 = static_cast<double>(w[2 * j + 1]) * 0x1p-32;
            double r = std::sqrt(-2.0 * std::log(u1));
            v[2 * j] = static_cast<T>(r * std::cos(two_pi * u2));
            v[2 * j + 1] = static_cast<T>(r * std::sin(two_pi * u2));
          }
        });
  });
  return y;
}

// Glorot's fans: [out, in] for 2-D; [Cout, Cin, k...] for conv weights.
std::pair<double, double> fans(const Shape &shape) {
  const size_t r = shape.size();
  if (r == 0)
    return {1.0, 1.0};
  if (r == 1)
    return {double(shape[0]), double(shape[0])};
  double receptive = 1;
  for (size_t i = 2; i < r; ++i)
    receptive *= double(shape[i]);
  return {double(shape[1]) * receptive, double(shape[0]) * receptive};
}

// y = a*x + b in place on a fresh, untracked tensor.
void affine_inplace(Tensor &y, double a, double b) {
  dispatch_float(y.dtype(), "init", [&]<class T>() {
    T *p = y.data<T>();
    const int64_t n = y.numel();
    for (int64_t i = 0; i < n; ++i)
      p[i] = static_cast<T>(a * static_cast<double>(p[i]) + b);
  });
}

} // namespace

void seed(uint64_t s) {
  std::lock_guard<std::mutex> lock(g_rng_mutex);
  g_seed = s;
  g_offset = 0;
}

RngState rng_state() { return {g_seed, g_offset}; }

void set_rng_state(RngState state) {
  g_seed = state.seed;
  g_offset = state.offset;
}

Tensor rand(Shape shape, DType dtype) { return uniform(shape, dtype, "rand"); }

Tensor randn(Shape shape, DType dtype) { return normal(shape, dtype, "randn"); }

Init xavier_uniform(double gain) {
  return [gain](const Shape &shape, DType dtype) {
    auto [fan_in, fan_out] = fans(shape);
    double bound = gain * std::sqrt(6.0 / (fan_in + fan_out));
    Tensor w = uniform(shape, dtype, "xavier_uniform");
    affine_inplace(w, 2 * bound, -bound);
    return w;
  };
}

Init xavier_normal(double gain) {
  return [gain](const Shape &shape, DType dtype) {
    auto [fan_in, fan_out] = fans(shape);
    double std = gain * std::sqrt(2.0 / (fan_in + fan_out));
    Tensor w = normal(shape, dtype, "xavier_normal");
    affine_inplace(w, std, 0.0);
    return w;
  };
}

Init gaussian(double mean, double std) {
  if (!(std >= 0))
    fail("gaussian: std must be >= 0, got ", std);
  return [mean, std](const Shape &shape, DType dtype) {
    Tensor w = normal(shape, dtype, "gaussian");
    affine_inplace(w, std, mean);
    return w;
  };
}

Init zeros_init() {
  return [](const Shape &shape, DType dtype) {
    check_shape(shape, "zeros_init");
    return Tensor::zeros(shape, dtype, Device{});
  };
}

bool set_training(bool on) { return g_training.exchange(on); }

bool training() { return g_training.load(); }

Tensor dropout(const Tensor &x, double p) {
  if (!x.defined())
    fail("dropout: undefined tensor");
  if (std::string e = dropout_p_error(p); !e.empty())
    fail("dropout: ", e);
  if (!is_floating(x.dtype()))
    fail("dropout: expected a floating dtype (f32 or f64), got ",
         dtype_name(x.dtype()));
  if (!(recording() || training()) || p == 0.0)
    return x;
  // The mask holds 0 or 1/(1-p); y = x * mask, whose tape rule is dy * mask.
  // It is drawn on the CPU (and copied to x's device): one Philox stream
  // for every device.
  const bool half = x.dtype() == DType::f16 || x.dtype() == DType::bf16;
  Tensor mask =
      Tensor::empty(x.shape(), half ? DType::f32 : x.dtype(), Device{});
  dispatch_float(mask.dtype(), "dropout", [&]<class T>() {
    const T keep = static_cast<T>(1.0 / (1.0 - p));
    StreamSlice s = take_blocks(mask.numel());
    fill_stream<T>(mask.data<T>(), mask.numel(), s,
                   [p, keep](const std::array<uint32_t, 4> &w, T *v) {
                     for (int j = 0; j < 4; ++j)
                       v[j] = to_uniform<double>(w[j]) >= p ? keep : T(0);
                   });
  });
  return x * mask.to(x.device()).to(x.dtype());
}

Tensor dropout_back(const Tensor &dy, const Tensor &y, double p) {
  if (!dy.defined() || !y.defined())
    fail("dropout_back: undefined tensor");
  if (std::string e = dropout_p_error(p); !e.empty())
    fail("dropout_back: ", e);
  // y = x * mask with mask 0 or 1/(1-p): where y != 0 the mask was kept.
  return dy * (y != 0.0).to(dy.dtype()) * (1.0 / (1.0 - p));
}

} // namespace knet
