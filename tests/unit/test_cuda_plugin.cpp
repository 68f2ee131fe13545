// libknet_cuda through its C table (cuda/backend_abi.h), loaded with dlopen
// as the runtime loads it. Everywhere: the plugin loads, its version
// matches, device_count() answers (0 where there is no GPU or driver), and
// calls on a device that does not exist fail with a message. With a GPU:
// memory, kernels (NVRTC), cuBLAS gemm and cuDNN convolution, pooling and
// softmax against direct CPU loops; without one those tests are skipped and
// the program reports itself not run.
#include "cuda/backend_abi.h"
#include "jit/nvrtc.h"

#include <gtest/gtest.h>

#include <dlfcn.h>
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

using knet::cuda_abi::Backend;
using knet::cuda_abi::ConvGeometry;
using knet::cuda_abi::PoolGeometry;

namespace {

constexpr int F32 = 0, F64 = 1, BF16 = 3;

// The plugin's table, loaded once; null with the reason in `why`.
const Backend *plugin(std::string *why = nullptr) {
  static std::string reason;
  static const Backend *table = []() -> const Backend * {
#ifdef KNET_CUDA_PLUGIN_PATH
    void *lib = dlopen(KNET_CUDA_PLUGIN_PATH, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
      const char *e = dlerror();
      reason = std::string("dlopen: ") + (e ? e : "?");
      return nullptr;
    }
    auto get = reinterpret_cast<knet::cuda_abi::GetBackend>(
        dlsym(lib, knet::cuda_abi::kGetBackendSymbol));
    if (!get) {
      reason = std::string("no symbol ") + knet::cuda_abi::kGetBackendSymbol;
      return nullptr;
    }
    return get();
#else
    reason = "libknet_cuda was not built (no CUDA toolkit or cuDNN)";
    return nullptr;
#endif
  }();
  if (why)
    *why = reason;
  return table;
}

#define REQUIRE_PLUGIN()                                                       \
  std::string why;                                                             \
  const Backend *cu = plugin(&why);                                            \
  if (!cu) {                                                                   \
    if (why.find("not built") != std::string::npos)                            \
      GTEST_SKIP() << why;                                                     \
    FAIL() << why;                                                             \
  }

#define REQUIRE_GPU()                                                          \
  REQUIRE_PLUGIN();                                                            \
  if (cu->device_count() == 0)                                                 \
    GTEST_SKIP() << "no CUDA device: " << cu->last_error();

bool file_exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

// ---- the part that runs everywhere ----

TEST(CudaPluginLoad, LoadsAndReportsDevices) {
  REQUIRE_PLUGIN();
  EXPECT_EQ(cu->version, knet::cuda_abi::kVersion);
  const void *fns[] = {(void *)cu->last_error,
                       (void *)cu->device_count,
                       (void *)cu->device_arch,
                       (void *)cu->device_name,
                       (void *)cu->mem_info,
                       (void *)cu->malloc,
                       (void *)cu->free,
                       (void *)cu->memcpy,
                       (void *)cu->memset,
                       (void *)cu->synchronize,
                       (void *)cu->load_function,
                       (void *)cu->launch,
                       (void *)cu->gemm,
                       (void *)cu->conv_forward,
                       (void *)cu->conv_backward_data,
                       (void *)cu->conv_backward_filter,
                       (void *)cu->pool_forward,
                       (void *)cu->pool_backward,
                       (void *)cu->softmax_forward,
                       (void *)cu->softmax_backward};
  for (const void *fn : fns)
    EXPECT_NE(fn, nullptr);
  ASSERT_NE(cu->last_error(), nullptr);
  const int n = cu->device_count();
  EXPECT_GE(n, 0);
  EXPECT_EQ(cu->device_count(), n);
  // Without NVIDIA's device nodes there is no usable GPU.
  if (!file_exists("/dev/nvidiactl") && !file_exists("/dev/dxg")) {
    EXPECT_EQ(n, 0);
    EXPECT_STRNE(cu->last_error(), "");
  }
}

TEST(CudaPluginLoad, CallsOnAMissingDeviceFail) {
  REQUIRE_PLUGIN();
  const int dev = cu->device_count(); // one past the last device
  EXPECT_EQ(cu->malloc(dev, 256), nullptr);
  EXPECT_STRNE(cu->last_error(), "");
  cu->free(dev, nullptr); // a no-op
  int major = -1, minor = -1;
  EXPECT_NE(cu->device_arch(dev, &major, &minor), 0);
  char name[64];
  EXPECT_NE(cu->device_name(dev, name, sizeof name), 0);
  size_t free_bytes = 0, total = 0;
  EXPECT_NE(cu->mem_info(dev, &free_bytes, &total), 0);
  EXPECT_NE(cu->synchronize(dev), 0);
  float host[4] = {};
  EXPECT_NE(cu->memcpy(dev, host + 2, host, 8, 2), 0);
  EXPECT_NE(cu->memset(dev, host, 0, 8), 0);
  const char cubin[] = "not a cubin";
  EXPECT_EQ(cu->load_function(dev, cubin, sizeof cubin, "k"), nullptr);
  EXPECT_STRNE(cu->last_error(), "");
  EXPECT_NE(cu->gemm(dev, F32, 0, 0, 2, 2, 2, 1.0, host, 2, 0, host, 2, 0, 0.0,
                     host, 2, 0, 1, 0),
            0);
  // An unsupported dtype fails before any device work, naming the dtype.
  EXPECT_NE(cu->softmax_forward(0, 4, 0, 1, 2, 1, host, host), 0);
  EXPECT_NE(std::string(cu->last_error()).find("i32"), std::string::npos)
      << cu->last_error();
}

// ---- GPU helpers ----

std::vector<double> random_values(size_t n, uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<double> dist(-1.0, 1.0);
  std::vector<double> v(n);
  for (double &x : v)
    x = dist(gen);
  return v;
}

template <class T> struct Type;
template <> struct Type<float> {
  static constexpr int code = F32;
  static constexpr double tol = 2e-5;
};
template <> struct Type<double> {
  static constexpr int code = F64;
  static constexpr double tol = 1e-12;
};

// A device buffer of T holding `values` (converted), freed at scope exit.
template <class T> struct DeviceBuffer {
  const Backend *cu;
  size_t n;
  void *p = nullptr;
  DeviceBuffer(const Backend *cu, const std::vector<double> &values)
      : cu(cu), n(values.size()) {
    p = cu->malloc(0, std::max<size_t>(n, 1) * sizeof(T));
    EXPECT_NE(p, nullptr) << cu->last_error();
    std::vector<T> host(values.begin(), values.end());
    if (p && n) {
      EXPECT_EQ(cu->memcpy(0, p, host.data(), n * sizeof(T), 0), 0)
          << cu->last_error();
    }
  }
  DeviceBuffer(const DeviceBuffer &) = delete;
  ~DeviceBuffer() { cu->free(0, p); }
  std::vector<double> read() const {
    std::vector<T> host(n);
    if (p && n) {
      EXPECT_EQ(cu->memcpy(0, host.data(), p, n * sizeof(T), 1), 0)
          << cu->last_error();
    }
    return std::vector<double>(host.begin(), host.end());
  }
};

::testing::AssertionResult close(const std::vector<double> &got,
                                 const std::vector<double> &want, double tol) {
  if (got.size() != want.size())
    return ::testing::AssertionFailure()
           << "size " << got.size() << " != " << want.size();
  for (size_t i = 0; i < got.size(); ++i)
    if (!(std::abs(got[i] - want[i]) <= tol * (1 + std::abs(want[i]))))
      return ::testing::AssertionFailure()
             << "element " << i << ": " << got[i] << " != " << want[i];
  return ::testing::AssertionSuccess();
}

// ---- memory and kernels ----

TEST(CudaPlugin, DeviceQueriesAndMemory) {
  REQUIRE_GPU();
  int major = 0, minor = 0;
  ASSERT_EQ(cu->device_arch(0, &major, &minor), 0) << cu->last_error();
  EXPECT_GE(major, 3);
  char name[256] = {};
  ASSERT_EQ(cu->device_name(0, name, sizeof name), 0) << cu->last_error();
  EXPECT_GT(std::strlen(name), 0u);
  char tiny[4];
  ASSERT_EQ(cu->device_name(0, tiny, sizeof tiny), 0);
  EXPECT_EQ(std::strlen(tiny), std::min<size_t>(3, std::strlen(name)));
  size_t free_bytes = 0, total = 0;
  ASSERT_EQ(cu->mem_info(0, &free_bytes, &total), 0) << cu->last_error();
  EXPECT_GT(total, 0u);
  EXPECT_LE(free_bytes, total);

  std::vector<uint8_t> src(1000), back(1000, 0xee);
  for (size_t i = 0; i < src.size(); ++i)
    src[i] = uint8_t(i * 7 + 1);
  void *a = cu->malloc(0, src.size()), *b = cu->malloc(0, src.size());
  ASSERT_NE(a, nullptr) << cu->last_error();
  ASSERT_NE(b, nullptr) << cu->last_error();
  ASSERT_EQ(cu->memcpy(0, a, src.data(), src.size(), 0), 0);
  ASSERT_EQ(cu->memcpy(0, b, a, src.size(), 2), 0);
  ASSERT_EQ(cu->memset(0, static_cast<char *>(b) + 100, 0x5a, 50), 0);
  ASSERT_EQ(cu->synchronize(0), 0);
  ASSERT_EQ(cu->memcpy(0, back.data(), b, back.size(), 1), 0);
  for (size_t i = 0; i < src.size(); ++i)
    ASSERT_EQ(back[i], i >= 100 && i < 150 ? 0x5a : src[i]) << i;
  EXPECT_EQ(cu->memcpy(0, a, src.data(), 0, 0), 0); // nothing to copy
  cu->free(0, a);
  cu->free(0, b);

  // Out of memory: null and a message, not a crash.
  EXPECT_EQ(cu->malloc(0, total * 4), nullptr);
  EXPECT_NE(std::string(cu->last_error()).find("out of memory"),
            std::string::npos)
      << cu->last_error();
  void *again = cu->malloc(0, 64);
  EXPECT_NE(again, nullptr) << cu->last_error();
  cu->free(0, again);
}

TEST(CudaPlugin, LaunchesAJitKernel) {
  REQUIRE_GPU();
  if (!knet::jit::nvrtc_available())
    GTEST_SKIP() << "NVRTC not found";
  int major = 0, minor = 0;
  ASSERT_EQ(cu->device_arch(0, &major, &minor), 0);
  const std::string arch =
      "sm_" + std::to_string(major) + std::to_string(minor);
  const char *source = R"(
struct Args { long long n; float *x; float a; float b; };
extern "C" __global__ void knet_test_axpb(Args p) {
  long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x;
  if (i < p.n) p.x[i] = p.a * p.x[i] + p.b;
}
)";
  knet::jit::NvrtcResult r =
      knet::jit::nvrtc_compile(source, "plugin_test", arch);
  ASSERT_TRUE(r.ok) << r.log;
  void *fn =
      cu->load_function(0, r.cubin.data(), r.cubin.size(), "knet_test_axpb");
  ASSERT_NE(fn, nullptr) << cu->last_error();
  EXPECT_EQ(cu->load_function(0, r.cubin.data(), r.cubin.size(), "missing"),
            nullptr);
  EXPECT_NE(std::string(cu->last_error()).find("cuModuleGetFunction"),
            std::string::npos)
      << cu->last_error();

  const size_t n = 1000;
  std::vector<double> x = random_values(n, 1);
  DeviceBuffer<float> buf(cu, x);
  struct Args {
    long long n;
    void *x;
    float a, b;
  } args{(long long)n, buf.p, 2.0f, 0.5f};
  ASSERT_EQ(cu->launch(0, fn, (n + 255) / 256, 256, 0, &args, sizeof args), 0)
      << cu->last_error();
  EXPECT_EQ(cu->launch(0, fn, 0, 256, 0, &args, sizeof args), 0); // no work
  std::vector<double> want(n);
  for (size_t i = 0; i < n; ++i)
    want[i] = 2.0f * float(x[i]) + 0.5f;
  EXPECT_TRUE(close(buf.read(), want, 1e-6));
}

// ---- gemm ----

struct GemmCase {
  int ta, tb;
  int64_t m, n, k, batch;
  bool broadcast_b; // stride_b = 0
  int64_t pad;      // extra elements per row (ld = cols + pad)
};

// C[b] = alpha op(A[b]) op(B[b]) + beta C[b] on row-major matrices.
template <class T> void check_gemm(const Backend *cu, const GemmCase &g) {
  const int64_t a_rows = g.ta ? g.k : g.m, a_cols = g.ta ? g.m : g.k;
  const int64_t b_rows = g.tb ? g.n : g.k, b_cols = g.tb ? g.k : g.n;
  const int64_t lda = a_cols + g.pad, ldb = b_cols + g.pad, ldc = g.n + g.pad;
  const int64_t sa = a_rows * lda + 3, sb = g.broadcast_b ? 0 : b_rows * ldb,
                sc = g.m * ldc;
  const int64_t nb = g.broadcast_b ? 1 : g.batch;
  std::vector<double> a = random_values(size_t(sa * g.batch), 2),
                      b = random_values(size_t(b_rows * ldb * nb), 3),
                      c = random_values(size_t(sc * g.batch), 4);
  // Round the inputs to T so that the reference sees what the GPU sees.
  for (auto *v : {&a, &b, &c})
    for (double &x : *v)
      x = double(T(x));
  const double alpha = 1.5, beta = -0.5;
  std::vector<double> want = c;
  for (int64_t p = 0; p < g.batch; ++p)
    for (int64_t i = 0; i < g.m; ++i)
      for (int64_t j = 0; j < g.n; ++j) {
        double s = 0;
        for (int64_t l = 0; l < g.k; ++l) {
          double av = g.ta ? a[p * sa + l * lda + i] : a[p * sa + i * lda + l];
          double bv = g.tb ? b[p * sb + j * ldb + l] : b[p * sb + l * ldb + j];
          s += av * bv;
        }
        double &out = want[p * sc + i * ldc + j];
        out = alpha * s + beta * out;
      }
  DeviceBuffer<T> da(cu, a), db(cu, b), dc(cu, c);
  ASSERT_EQ(cu->gemm(0, Type<T>::code, g.ta, g.tb, g.m, g.n, g.k, alpha, da.p,
                     lda, sa, db.p, ldb, sb, beta, dc.p, ldc, sc, g.batch, 0),
            0)
      << cu->last_error();
  EXPECT_TRUE(close(dc.read(), want, Type<T>::tol * double(g.k)))
      << "ta=" << g.ta << " tb=" << g.tb << " m=" << g.m << " n=" << g.n
      << " k=" << g.k << " batch=" << g.batch;
}

const GemmCase gemm_cases[] = {
    {0, 0, 5, 7, 3, 1, false, 0},    {1, 0, 5, 7, 3, 1, false, 2},
    {0, 1, 5, 7, 3, 1, false, 1},    {1, 1, 4, 6, 9, 1, false, 0},
    {0, 0, 33, 17, 65, 3, false, 3}, {1, 1, 8, 5, 4, 4, false, 1},
    {0, 1, 6, 3, 5, 3, true, 0},     {1, 0, 1, 9, 4, 2, false, 0},
    {0, 0, 7, 1, 4, 2, false, 0},
};

TEST(CudaPlugin, GemmF32) {
  REQUIRE_GPU();
  for (const GemmCase &g : gemm_cases)
    check_gemm<float>(cu, g);
}

TEST(CudaPlugin, GemmF64) {
  REQUIRE_GPU();
  for (const GemmCase &g : gemm_cases)
    check_gemm<double>(cu, g);
}

TEST(CudaPlugin, GemmBf16AccumulatesInF32) {
  REQUIRE_GPU();
  // bf16 is the upper half of an f32; the inputs are exact bf16 values.
  auto to_bf16 = [](double v) {
    float f = float(v);
    uint32_t u;
    std::memcpy(&u, &f, 4);
    return uint16_t(u >> 16);
  };
  auto from_bf16 = [](uint16_t h) {
    uint32_t u = uint32_t(h) << 16;
    float f;
    std::memcpy(&f, &u, 4);
    return double(f);
  };
  const int64_t m = 6, n = 5, k = 40;
  std::vector<double> a = random_values(m * k, 5), b = random_values(k * n, 6);
  std::vector<uint16_t> ha(a.size()), hb(b.size()), hc(m * n, 0);
  for (size_t i = 0; i < a.size(); ++i)
    a[i] = from_bf16(ha[i] = to_bf16(a[i]));
  for (size_t i = 0; i < b.size(); ++i)
    b[i] = from_bf16(hb[i] = to_bf16(b[i]));
  void *da = cu->malloc(0, ha.size() * 2), *db = cu->malloc(0, hb.size() * 2),
       *dc = cu->malloc(0, hc.size() * 2);
  ASSERT_TRUE(da && db && dc) << cu->last_error();
  ASSERT_EQ(cu->memcpy(0, da, ha.data(), ha.size() * 2, 0), 0);
  ASSERT_EQ(cu->memcpy(0, db, hb.data(), hb.size() * 2, 0), 0);
  ASSERT_EQ(cu->gemm(0, BF16, 0, 0, m, n, k, 1.0, da, k, 0, db, n, 0, 0.0, dc,
                     n, 0, 1, 0),
            0)
      << cu->last_error();
  ASSERT_EQ(cu->memcpy(0, hc.data(), dc, hc.size() * 2, 1), 0);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double s = 0;
      for (int64_t l = 0; l < k; ++l)
        s += a[i * k + l] * b[l * n + j];
      EXPECT_NEAR(from_bf16(hc[i * n + j]), s, 1e-2 * (1 + std::abs(s)));
    }
  cu->free(0, da);
  cu->free(0, db);
  cu->free(0, dc);
}

// ---- convolution ----

struct ConvRef {
  ConvGeometry g;
  int64_t xi(int64_t n, int64_t c, int64_t h, int64_t w) const {
    return ((n * g.c + c) * g.h + h) * g.w + w;
  }
  int64_t yi(int64_t n, int64_t k, int64_t p, int64_t q) const {
    return ((n * g.k + k) * g.p + p) * g.q + q;
  }
  int64_t wi(int64_t k, int64_t c, int64_t r, int64_t s) const {
    return ((k * (g.c / g.groups) + c) * g.r + r) * g.s + s;
  }
  // Calls f(x index, w index, y index) for every product of the sum.
  template <class F> void each(F f) const {
    const int64_t cg = g.c / g.groups, kg = g.k / g.groups;
    for (int64_t n = 0; n < g.n; ++n)
      for (int64_t k = 0; k < g.k; ++k)
        for (int64_t p = 0; p < g.p; ++p)
          for (int64_t q = 0; q < g.q; ++q)
            for (int64_t c = 0; c < cg; ++c)
              for (int64_t r = 0; r < g.r; ++r)
                for (int64_t s = 0; s < g.s; ++s) {
                  int64_t h = p * g.stride_h - g.pad_h + r * g.dil_h;
                  int64_t w = q * g.stride_w - g.pad_w + s * g.dil_w;
                  if (h < 0 || h >= g.h || w < 0 || w >= g.w)
                    continue;
                  f(xi(n, (k / kg) * cg + c, h, w), wi(k, c, r, s),
                    yi(n, k, p, q));
                }
  }
};

ConvGeometry conv_geometry(int64_t n, int64_t c, int64_t h, int64_t w,
                           int64_t k, int64_t r, int64_t s, int64_t pad_h,
                           int64_t pad_w, int64_t stride_h, int64_t stride_w,
                           int64_t dil_h, int64_t dil_w, int64_t groups) {
  ConvGeometry g{};
  g.n = n, g.c = c, g.h = h, g.w = w, g.k = k, g.r = r, g.s = s;
  g.pad_h = pad_h, g.pad_w = pad_w, g.stride_h = stride_h,
  g.stride_w = stride_w;
  g.dil_h = dil_h, g.dil_w = dil_w, g.groups = groups;
  g.p = (h + 2 * pad_h - dil_h * (r - 1) - 1) / stride_h + 1;
  g.q = (w + 2 * pad_w - dil_w * (s - 1) - 1) / stride_w + 1;
  return g;
}

template <class T> void check_conv(const Backend *cu, const ConvGeometry &g) {
  ConvRef ref{g};
  const size_t nx = g.n * g.c * g.h * g.w, ny = g.n * g.k * g.p * g.q,
               nw = g.k * (g.c / g.groups) * g.r * g.s;
  std::vector<double> x = random_values(nx, 7), w = random_values(nw, 8),
                      dy = random_values(ny, 9);
  for (auto *v : {&x, &w, &dy})
    for (double &e : *v)
      e = double(T(e));
  std::vector<double> y(ny, 0), dx(nx, 0), dw(nw, 0);
  ref.each([&](int64_t xi, int64_t wi, int64_t yi) {
    y[yi] += x[xi] * w[wi];
    dx[xi] += dy[yi] * w[wi];
    dw[wi] += dy[yi] * x[xi];
  });
  const int code = Type<T>::code;
  const double tol = Type<T>::tol * 50;
  DeviceBuffer<T> dxs(cu, x), dws(cu, w), ddy(cu, dy);
  DeviceBuffer<T> out_y(cu, std::vector<double>(ny, 7.0)),
      out_dx(cu, std::vector<double>(nx, 7.0)),
      out_dw(cu, std::vector<double>(nw, 7.0));
  for (int round = 0; round < 2; ++round) { // the second uses the cache
    ASSERT_EQ(cu->conv_forward(0, code, &g, dxs.p, dws.p, out_y.p), 0)
        << cu->last_error();
    EXPECT_TRUE(close(out_y.read(), y, tol)) << "forward";
    ASSERT_EQ(cu->conv_backward_data(0, code, &g, ddy.p, dws.p, out_dx.p), 0)
        << cu->last_error();
    EXPECT_TRUE(close(out_dx.read(), dx, tol)) << "backward data";
    ASSERT_EQ(cu->conv_backward_filter(0, code, &g, ddy.p, dxs.p, out_dw.p), 0)
        << cu->last_error();
    EXPECT_TRUE(close(out_dw.read(), dw, tol)) << "backward filter";
  }
}

TEST(CudaPlugin, ConvF64) {
  REQUIRE_GPU();
  check_conv<double>(cu,
                     conv_geometry(2, 3, 6, 5, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1));
  // Padding, strides, dilation and groups, each different per axis.
  check_conv<double>(cu,
                     conv_geometry(2, 4, 7, 6, 6, 3, 2, 1, 0, 2, 1, 1, 2, 2));
}

TEST(CudaPlugin, ConvF32) {
  REQUIRE_GPU();
  check_conv<float>(cu,
                    conv_geometry(2, 3, 6, 5, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1));
  check_conv<float>(cu,
                    conv_geometry(2, 4, 7, 6, 6, 3, 2, 1, 0, 2, 1, 1, 2, 2));
  check_conv<float>(
      cu, conv_geometry(3, 16, 12, 12, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1));
}

TEST(CudaPlugin, ConvMismatchedOutputFails) {
  REQUIRE_GPU();
  ConvGeometry g = conv_geometry(1, 2, 5, 5, 2, 3, 3, 0, 0, 1, 1, 1, 1, 1);
  g.p += 1;
  DeviceBuffer<float> a(cu, std::vector<double>(64, 1.0));
  EXPECT_NE(cu->conv_forward(0, F32, &g, a.p, a.p, a.p), 0);
  EXPECT_NE(std::string(cu->last_error()).find("does not match"),
            std::string::npos)
      << cu->last_error();
}

// ---- pooling ----

template <class T> void check_pool(const Backend *cu, int max) {
  PoolGeometry g{};
  g.n = 2, g.c = 3, g.h = 5, g.w = 6;
  g.win_h = 3, g.win_w = 2, g.pad_h = 1, g.pad_w = 0, g.stride_h = 2,
  g.stride_w = 2, g.max = max;
  g.p = (g.h + 2 * g.pad_h - g.win_h) / g.stride_h + 1;
  g.q = (g.w + 2 * g.pad_w - g.win_w) / g.stride_w + 1;
  const size_t nx = g.n * g.c * g.h * g.w, ny = g.n * g.c * g.p * g.q;
  std::vector<double> x = random_values(nx, 10), dy = random_values(ny, 11);
  for (auto *v : {&x, &dy})
    for (double &e : *v)
      e = double(T(e));
  std::vector<double> y(ny), dx(nx, 0);
  for (int64_t nc = 0; nc < g.n * g.c; ++nc)
    for (int64_t p = 0; p < g.p; ++p)
      for (int64_t q = 0; q < g.q; ++q) {
        double best = -std::numeric_limits<double>::infinity(), sum = 0;
        int64_t arg = -1;
        for (int64_t r = 0; r < g.win_h; ++r)
          for (int64_t s = 0; s < g.win_w; ++s) {
            int64_t h = p * g.stride_h - g.pad_h + r,
                    w = q * g.stride_w - g.pad_w + s;
            if (h < 0 || h >= g.h || w < 0 || w >= g.w)
              continue;
            int64_t i = (nc * g.h + h) * g.w + w;
            sum += x[i];
            if (x[i] > best)
              best = x[i], arg = i;
          }
        const int64_t yi = (nc * g.p + p) * g.q + q;
        const double area = double(g.win_h * g.win_w);
        y[yi] = max ? best : sum / area;
        if (max) {
          dx[arg] += dy[yi];
          continue;
        }
        for (int64_t r = 0; r < g.win_h; ++r)
          for (int64_t s = 0; s < g.win_w; ++s) {
            int64_t h = p * g.stride_h - g.pad_h + r,
                    w = q * g.stride_w - g.pad_w + s;
            if (h >= 0 && h < g.h && w >= 0 && w < g.w)
              dx[(nc * g.h + h) * g.w + w] += dy[yi] / area;
          }
      }
  const int code = Type<T>::code;
  DeviceBuffer<T> dxs(cu, x), ddy(cu, dy), out_y(cu, std::vector<double>(ny)),
      out_dx(cu, std::vector<double>(nx, 7.0));
  ASSERT_EQ(cu->pool_forward(0, code, &g, dxs.p, out_y.p), 0)
      << cu->last_error();
  EXPECT_TRUE(close(out_y.read(), y, Type<T>::tol * 10)) << "max=" << max;
  ASSERT_EQ(cu->pool_backward(0, code, &g, out_y.p, ddy.p, dxs.p, out_dx.p), 0)
      << cu->last_error();
  EXPECT_TRUE(close(out_dx.read(), dx, Type<T>::tol * 10)) << "max=" << max;
}

TEST(CudaPlugin, PoolMaxAndAverage) {
  REQUIRE_GPU();
  check_pool<float>(cu, 1);
  check_pool<float>(cu, 0);
  check_pool<double>(cu, 1);
  check_pool<double>(cu, 0);
}

// ---- softmax ----

template <class T> void check_softmax(const Backend *cu, int log) {
  const int64_t outer = 3, dim = 5, inner = 4;
  const size_t n = outer * dim * inner;
  std::vector<double> x = random_values(n, 12), dy = random_values(n, 13);
  for (auto *v : {&x, &dy})
    for (double &e : *v)
      e = double(T(e) * T(3));
  std::vector<double> y(n), dx(n);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      auto at = [&](int64_t d) { return (o * dim + d) * inner + i; };
      double mx = -1e300, z = 0;
      for (int64_t d = 0; d < dim; ++d)
        mx = std::max(mx, x[at(d)]);
      for (int64_t d = 0; d < dim; ++d)
        z += std::exp(x[at(d)] - mx);
      double dot = 0, sum_dy = 0;
      for (int64_t d = 0; d < dim; ++d) {
        double sm = std::exp(x[at(d)] - mx) / z;
        y[at(d)] = log ? x[at(d)] - mx - std::log(z) : sm;
        dot += dy[at(d)] * sm;
        sum_dy += dy[at(d)];
      }
      for (int64_t d = 0; d < dim; ++d) {
        double sm = std::exp(x[at(d)] - mx) / z;
        dx[at(d)] = log ? dy[at(d)] - sm * sum_dy : sm * (dy[at(d)] - dot);
      }
    }
  const int code = Type<T>::code;
  DeviceBuffer<T> dxs(cu, x), ddy(cu, dy), out_y(cu, std::vector<double>(n)),
      out_dx(cu, std::vector<double>(n));
  ASSERT_EQ(
      cu->softmax_forward(0, code, log, outer, dim, inner, dxs.p, out_y.p), 0)
      << cu->last_error();
  EXPECT_TRUE(close(out_y.read(), y, Type<T>::tol * 10)) << "log=" << log;
  ASSERT_EQ(cu->softmax_backward(0, code, log, outer, dim, inner, out_y.p,
                                 ddy.p, out_dx.p),
            0)
      << cu->last_error();
  EXPECT_TRUE(close(out_dx.read(), dx, Type<T>::tol * 10)) << "log=" << log;
}

TEST(CudaPlugin, SoftmaxAndLogSoftmax) {
  REQUIRE_GPU();
  check_softmax<float>(cu, 0);
  check_softmax<float>(cu, 1);
  check_softmax<double>(cu, 0);
  check_softmax<double>(cu, 1);
}

} // namespace
