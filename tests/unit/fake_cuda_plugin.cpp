// A stand-in for libknet_cuda that runs on the host, for tests on machines
// without a GPU: one "device" whose memory is host memory (at most
// $KNET_FAKE_CUDA_BYTES bytes, default 256 MiB), and reference loops for
// gemm, convolution, pooling and softmax written from the ABI's contract
// (runtime/cuda/backend_abi.h). It cannot run JIT-compiled kernels: launch
// fails with a message saying so. test_cuda_fake uses it to check the
// runtime's side of the contract: plugin loading and device selection, the
// caching allocator (out-of-memory release and retry), copies between
// devices, and how matmul, conv2d, pool and softmax map tensors (strides,
// transposes, batches, geometry) onto the library calls.
#include "cuda/backend_abi.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

using namespace knet::cuda_abi;

thread_local std::string g_error;
std::mutex g_mu;
std::unordered_map<void *, size_t> g_blocks;
size_t g_used = 0;

size_t budget() {
  const char *env = std::getenv("KNET_FAKE_CUDA_BYTES");
  return env && *env ? std::strtoull(env, nullptr, 10) : size_t{256} << 20;
}

int fail(const std::string &what) {
  g_error = what;
  return 1;
}

const char *last_error() { return g_error.c_str(); }
int device_count() { return 1; }
int device_arch(int, int *major, int *minor) {
  *major = 8;
  *minor = 0;
  return 0;
}
int device_name(int, char *buf, size_t len) {
  std::snprintf(buf, len, "fake");
  return 0;
}
int mem_info(int, size_t *free_bytes, size_t *total) {
  std::lock_guard<std::mutex> lock(g_mu);
  *total = budget();
  *free_bytes = *total - g_used;
  return 0;
}

void *dev_malloc(int, size_t n) {
  std::lock_guard<std::mutex> lock(g_mu);
  if (g_used + n > budget()) {
    g_error = "out of memory (fake device: " + std::to_string(g_used) + " of " +
              std::to_string(budget()) + " bytes used)";
    return nullptr;
  }
  void *p = std::malloc(std::max<size_t>(n, 1));
  g_blocks[p] = n;
  g_used += n;
  return p;
}

void dev_free(int, void *p) {
  if (!p)
    return;
  std::lock_guard<std::mutex> lock(g_mu);
  auto it = g_blocks.find(p);
  if (it == g_blocks.end())
    return;
  g_used -= it->second;
  g_blocks.erase(it);
  std::free(p);
}

int dev_memcpy(int, void *dst, const void *src, size_t n, int) {
  std::memcpy(dst, src, n);
  return 0;
}
int dev_memset(int, void *p, int byte, size_t n) {
  std::memset(p, byte, n);
  return 0;
}
int synchronize(int) { return 0; }

void *load_function(int, const void *, size_t, const char *) {
  static int handle;
  return &handle;
}
int launch(int, void *, unsigned, unsigned, unsigned, const void *, size_t) {
  return fail("the fake CUDA device cannot run kernels");
}

template <class T> T at(const void *p, int64_t i) {
  return static_cast<const T *>(p)[i];
}

template <class T>
void gemm_t(int ta, int tb, int64_t m, int64_t n, int64_t k, double alpha,
            const void *a, int64_t lda, int64_t sa, const void *b, int64_t ldb,
            int64_t sb, double beta, void *c, int64_t ldc, int64_t sc,
            int64_t batch) {
  for (int64_t q = 0; q < batch; ++q)
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double s = 0;
        for (int64_t l = 0; l < k; ++l) {
          // op(A)[i, l] and op(B)[l, j], row-major with row strides ld.
          const double x = ta ? at<T>(a, q * sa + l * lda + i)
                              : at<T>(a, q * sa + i * lda + l);
          const double y = tb ? at<T>(b, q * sb + j * ldb + l)
                              : at<T>(b, q * sb + l * ldb + j);
          s += x * y;
        }
        T &out = static_cast<T *>(c)[q * sc + i * ldc + j];
        out = static_cast<T>(alpha * s + (beta == 0 ? 0.0 : beta * out));
      }
}

int gemm(int, int dtype, int ta, int tb, int64_t m, int64_t n, int64_t k,
         double alpha, const void *a, int64_t lda, int64_t sa, const void *b,
         int64_t ldb, int64_t sb, double beta, void *c, int64_t ldc, int64_t sc,
         int64_t batch, int) {
  if (dtype == 0)
    gemm_t<float>(ta, tb, m, n, k, alpha, a, lda, sa, b, ldb, sb, beta, c, ldc,
                  sc, batch);
  else if (dtype == 1)
    gemm_t<double>(ta, tb, m, n, k, alpha, a, lda, sa, b, ldb, sb, beta, c, ldc,
                   sc, batch);
  else
    return fail("fake gemm: f32 and f64 only");
  return 0;
}

// Cross-correlation: y[n,k,p,q] = sum x[n, g*cg + c, p*s - pad + r*dil, ...]
// * w[k, c, r, s] over the group of k. `dir` 0 forward, 1 backward data,
// 2 backward filter.
template <class T>
void conv_t(const ConvGeometry &g, int dir, const void *a, const void *b,
            void *out) {
  const int64_t cg = g.c / g.groups, kg = g.k / g.groups;
  auto xi = [&](int64_t n, int64_t c, int64_t h, int64_t w) {
    return ((n * g.c + c) * g.h + h) * g.w + w;
  };
  auto wi = [&](int64_t k, int64_t c, int64_t r, int64_t s) {
    return ((k * cg + c) * g.r + r) * g.s + s;
  };
  auto yi = [&](int64_t n, int64_t k, int64_t p, int64_t q) {
    return ((n * g.k + k) * g.p + p) * g.q + q;
  };
  const int64_t xn = g.n * g.c * g.h * g.w, wn = g.k * cg * g.r * g.s,
                yn = g.n * g.k * g.p * g.q;
  std::vector<double> acc(dir == 0 ? yn : dir == 1 ? xn : wn, 0.0);
  for (int64_t n = 0; n < g.n; ++n)
    for (int64_t k = 0; k < g.k; ++k)
      for (int64_t p = 0; p < g.p; ++p)
        for (int64_t q = 0; q < g.q; ++q)
          for (int64_t c = 0; c < cg; ++c)
            for (int64_t r = 0; r < g.r; ++r)
              for (int64_t s = 0; s < g.s; ++s) {
                const int64_t h = p * g.stride_h - g.pad_h + r * g.dil_h;
                const int64_t w = q * g.stride_w - g.pad_w + s * g.dil_w;
                if (h < 0 || h >= g.h || w < 0 || w >= g.w)
                  continue;
                const int64_t ch = (k / kg) * cg + c;
                if (dir == 0)
                  acc[yi(n, k, p, q)] +=
                      at<T>(a, xi(n, ch, h, w)) * at<T>(b, wi(k, c, r, s));
                else if (dir == 1)
                  acc[xi(n, ch, h, w)] +=
                      at<T>(a, yi(n, k, p, q)) * at<T>(b, wi(k, c, r, s));
                else
                  acc[wi(k, c, r, s)] +=
                      at<T>(a, yi(n, k, p, q)) * at<T>(b, xi(n, ch, h, w));
              }
  for (size_t i = 0; i < acc.size(); ++i)
    static_cast<T *>(out)[i] = static_cast<T>(acc[i]);
}

template <int Dir>
int conv(int, int dtype, const ConvGeometry *g, const void *a, const void *b,
         void *out) {
  if (dtype == 0)
    conv_t<float>(*g, Dir, a, b, out);
  else if (dtype == 1)
    conv_t<double>(*g, Dir, a, b, out);
  else
    return fail("fake conv: f32 and f64 only");
  return 0;
}

template <class T>
void pool_t(const PoolGeometry &g, const void *x, const void *dy, void *out,
            bool back) {
  if (back)
    std::fill_n(static_cast<T *>(out), g.n * g.c * g.h * g.w, T(0));
  for (int64_t nc = 0; nc < g.n * g.c; ++nc)
    for (int64_t p = 0; p < g.p; ++p)
      for (int64_t q = 0; q < g.q; ++q) {
        double best = -std::numeric_limits<double>::infinity(), sum = 0;
        int64_t arg = -1;
        for (int64_t r = 0; r < g.win_h; ++r)
          for (int64_t s = 0; s < g.win_w; ++s) {
            const int64_t h = p * g.stride_h - g.pad_h + r;
            const int64_t w = q * g.stride_w - g.pad_w + s;
            if (h < 0 || h >= g.h || w < 0 || w >= g.w)
              continue;
            const int64_t i = (nc * g.h + h) * g.w + w;
            const double v = at<T>(x, i);
            sum += v;
            if (v > best) {
              best = v;
              arg = i;
            }
          }
        const int64_t o = (nc * g.p + p) * g.q + q;
        const double area = static_cast<double>(g.win_h * g.win_w);
        if (!back) {
          static_cast<T *>(out)[o] = static_cast<T>(g.max ? best : sum / area);
          continue;
        }
        const double d = at<T>(dy, o);
        if (g.max) {
          if (arg >= 0)
            static_cast<T *>(out)[arg] += static_cast<T>(d);
          continue;
        }
        for (int64_t r = 0; r < g.win_h; ++r)
          for (int64_t s = 0; s < g.win_w; ++s) {
            const int64_t h = p * g.stride_h - g.pad_h + r;
            const int64_t w = q * g.stride_w - g.pad_w + s;
            if (h >= 0 && h < g.h && w >= 0 && w < g.w)
              static_cast<T *>(out)[(nc * g.h + h) * g.w + w] +=
                  static_cast<T>(d / area);
          }
      }
}

int pool_forward(int, int dtype, const PoolGeometry *g, const void *x,
                 void *y) {
  if (dtype == 0)
    pool_t<float>(*g, x, nullptr, y, false);
  else if (dtype == 1)
    pool_t<double>(*g, x, nullptr, y, false);
  else
    return fail("fake pool: f32 and f64 only");
  return 0;
}

int pool_backward(int, int dtype, const PoolGeometry *g, const void *,
                  const void *dy, const void *x, void *dx) {
  if (dtype == 0)
    pool_t<float>(*g, x, dy, dx, true);
  else if (dtype == 1)
    pool_t<double>(*g, x, dy, dx, true);
  else
    return fail("fake pool: f32 and f64 only");
  return 0;
}

template <class T>
void softmax_t(int log, int64_t outer, int64_t dim, int64_t inner,
               const void *x, void *y) {
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      auto idx = [&](int64_t d) { return (o * dim + d) * inner + i; };
      double m = -std::numeric_limits<double>::infinity(), s = 0;
      for (int64_t d = 0; d < dim; ++d)
        m = std::max(m, static_cast<double>(at<T>(x, idx(d))));
      for (int64_t d = 0; d < dim; ++d)
        s += std::exp(at<T>(x, idx(d)) - m);
      for (int64_t d = 0; d < dim; ++d) {
        const double v = at<T>(x, idx(d)) - m;
        static_cast<T *>(y)[idx(d)] =
            static_cast<T>(log ? v - std::log(s) : std::exp(v) / s);
      }
    }
}

int softmax_forward(int, int dtype, int log, int64_t outer, int64_t dim,
                    int64_t inner, const void *x, void *y) {
  if (dtype == 0)
    softmax_t<float>(log, outer, dim, inner, x, y);
  else if (dtype == 1)
    softmax_t<double>(log, outer, dim, inner, x, y);
  else
    return fail("fake softmax: f32 and f64 only");
  return 0;
}

int softmax_backward(int, int, int, int64_t, int64_t, int64_t, const void *,
                     const void *, void *) {
  return fail("fake softmax_backward: not implemented");
}

const Backend kBackend = {
    kVersion,         last_error,   device_count,  device_arch,
    device_name,      mem_info,     dev_malloc,    dev_free,
    dev_memcpy,       dev_memset,   synchronize,   load_function,
    launch,           gemm,         conv<0>,       conv<1>,
    conv<2>,          pool_forward, pool_backward, softmax_forward,
    softmax_backward,
};

} // namespace

extern "C" __attribute__((visibility("default"))) const Backend *
knet_cuda_backend() {
  return &kBackend;
}
