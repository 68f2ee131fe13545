// A stand-in for libknet_cuda that runs on the host, for tests on machines
// without a GPU: one "device" whose memory is host memory (at most
// $KNET_FAKE_CUDA_BYTES bytes, default 256 MiB), and reference loops for
// gemm, convolution, pooling and softmax written from the ABI's contract
// (runtime/cuda/backend_abi.h).
//
// Kernels come through load_source (the runtime then skips NVRTC): their
// CUDA C, after a shim that maps the CUDA built-ins used by knet's kernels
// to host C++ (threadIdx and friends as thread-locals, __syncthreads as a
// barrier, __shfl_down_sync through an exchange buffer, atomicAdd as a
// plain add (every thread runs on the launching one), f16 through
// _Float16), is compiled by the host C++
// compiler ($CXX, else c++) into a shared object and run by `launch` with
// 32-thread blocks (one warp: the kernels' strides adapt to any block size)
// on a grid of at most 2 blocks, one block at a time, each thread a fiber
// (ucontext) on the launching thread that runs up to its next barrier in
// turn. This runs the very kernels the runtime would launch on a GPU,
// with the argument structs it packs.
//
// test_cuda_fake uses it for the runtime's side of the contract (device
// selection, the caching allocator, copies, how matmul, conv2d, pool and
// softmax map tensors onto the library calls); test_cuda_runtime_fake runs
// the whole GPU suite on it.
// Fibers switch stacks with _longjmp, which _FORTIFY_SOURCE's checked
// longjmp would reject.
#undef _FORTIFY_SOURCE
#include "cuda/backend_abi.h"

#include <dlfcn.h>
#include <setjmp.h>
#include <ucontext.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <limits>
#include <memory>
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
  g_error = "the fake CUDA device loads kernels from source only";
  return nullptr;
}

// What a kernel's CUDA C needs on the host (see the file comment).
constexpr const char *kShim = R"(#include <cmath>
#include <cstdint>
#include <cstring>
using namespace std;
struct knet_dim3 { unsigned x = 0, y = 1, z = 1; };
static thread_local knet_dim3 threadIdx, blockIdx, blockDim, gridDim;
static thread_local void (*knet_yield)();
static double knet_exchange[1024];
#define __global__
#define __device__
#define __forceinline__ inline
#define __shared__ static
#define KNET_HALF_CONVERSIONS
inline float __uint_as_float(unsigned u) { float f; memcpy(&f, &u, 4); return f; }
inline unsigned __float_as_uint(float f) { unsigned u; memcpy(&u, &f, 4); return u; }
inline double __longlong_as_double(long long v) { double d; memcpy(&d, &v, 8); return d; }
inline float knet_h2f(unsigned short h) { _Float16 f; memcpy(&f, &h, 2); return (float)f; }
inline unsigned short knet_f2h(float f) { _Float16 h = (_Float16)f; unsigned short u; memcpy(&u, &h, 2); return u; }
inline float knet_b2f(unsigned short b) { return __uint_as_float(((unsigned)b) << 16); }
inline unsigned short knet_f2b(float f) {
  unsigned u = __float_as_uint(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return (unsigned short)((u >> 16) | 0x40u);
  u += 0x7fffu + ((u >> 16) & 1u);
  return (unsigned short)(u >> 16);
}
// The block's threads are fibers on one OS thread: a barrier yields to the
// launcher, which resumes every fiber up to its next barrier in turn.
inline void __syncthreads() {
  const knet_dim3 me = threadIdx;
  knet_yield();
  threadIdx = me;
}
template <class T> T __shfl_down_sync(unsigned, T v, int d) {
  knet_exchange[threadIdx.x] = (double)v;
  __syncthreads();
  const unsigned lane = threadIdx.x % 32;
  T r = lane + d < 32 ? (T)knet_exchange[threadIdx.x + d] : v;
  __syncthreads();
  return r;
}
template <class T> T atomicAdd(T *p, T v) { T old = *p; *p = old + v; return old; }
)";

using Entry = void (*)(const void *arg, unsigned block, unsigned thread,
                       unsigned block_dim, unsigned grid_dim, void (*yield)());

struct Loaded {
  Entry entry;
  bool syncs; // uses __syncthreads or warp shuffles: threads wait
};

std::string g_dir;
std::unordered_map<std::string, Loaded *> g_loaded;

void *load_source(int, const char *source, const char *const *options,
                  int num_options, const char *name) {
  std::lock_guard<std::mutex> lock(g_mu);
  std::string key = std::string(name) + "\n" + source;
  std::string flags;
  for (int i = 0; i < num_options; ++i) {
    key += "\n" + std::string(options[i]);
    flags += " '" + std::string(options[i]) + "'";
  }
  if (auto it = g_loaded.find(key); it != g_loaded.end())
    return it->second;
  if (g_dir.empty()) {
    char tmpl[] = "/tmp/knet-fake-cuda-XXXXXX";
    if (!mkdtemp(tmpl)) {
      g_error = "fake load_source: cannot create a temporary directory";
      return nullptr;
    }
    g_dir = tmpl;
    std::atexit([] { rmdir(g_dir.c_str()); });
  }
  const std::string base = g_dir + "/k" + std::to_string(g_loaded.size());
  {
    std::ofstream f(base + ".cpp");
    const std::string n = name;
    f << kShim << source << "\nextern \"C\" void knet_fake_entry("
      << "const void *arg, unsigned block, unsigned thread, unsigned bdim, "
         "unsigned gdim, void (*yield)()) {\n"
      << "  blockIdx.x = block; threadIdx.x = thread; blockDim.x = bdim;\n"
      << "  gridDim.x = gdim;\n"
      << "  knet_yield = yield;\n"
      << "  " << n << "(*static_cast<const " << n << "_args *>(arg));\n}\n";
  }
  const char *cxx = std::getenv("CXX");
  const std::string cmd = std::string(cxx && *cxx ? cxx : "c++") +
                          " -std=c++20 -O1 -w -shared -fPIC" + flags + " " +
                          base + ".cpp -o " + base + ".so 2> " + base + ".log";
  const bool compiled = std::system(cmd.c_str()) == 0;
  // The files go as soon as the object is mapped (or the compile failed).
  auto cleanup = [&] {
    for (const char *ext : {".cpp", ".so", ".log"})
      std::remove((base + ext).c_str());
  };
  if (!compiled) {
    std::ifstream log(base + ".log");
    g_error = "fake load_source: the host compiler rejected " +
              std::string(name) + ": " +
              std::string(std::istreambuf_iterator<char>(log), {});
    cleanup();
    return nullptr;
  }
  void *so = dlopen((base + ".so").c_str(), RTLD_NOW | RTLD_LOCAL);
  cleanup();
  auto entry =
      so ? reinterpret_cast<Entry>(dlsym(so, "knet_fake_entry")) : nullptr;
  if (!entry) {
    g_error = std::string("fake load_source: cannot load ") + base + ".so";
    return nullptr;
  }
  const std::string text = source;
  auto *loaded =
      new Loaded{entry, text.find("__syncthreads") != std::string::npos ||
                            text.find("__shfl") != std::string::npos};
  g_loaded.emplace(key, loaded);
  return loaded;
}

// One warp per block, at most two blocks, one block at a time. The block's
// 32 threads are fibers on this thread: each runs until its next barrier
// (knet_yield) or its end, in turn, round after round, so that every
// thread reaches a barrier before any passes it. A fiber starts with
// makecontext/setcontext; switches are _setjmp/_longjmp (no signal-mask
// system call, unlike swapcontext).
constexpr unsigned kWarp = 32;
constexpr size_t kFiberStack = size_t{256} << 10;

struct Block {
  ucontext_t start[kWarp];
  jmp_buf fiber[kWarp];
  jmp_buf scheduler;
  bool started[kWarp];
  bool done[kWarp];
  unsigned current;
  Entry entry;
  const void *arg;
  unsigned block, blocks;
};
thread_local Block *g_block;

void yield_to_scheduler() {
  Block &b = *g_block;
  if (!_setjmp(b.fiber[b.current]))
    _longjmp(b.scheduler, 1);
}

void fiber_main(unsigned t) {
  Block &b = *g_block;
  b.entry(b.arg, b.block, t, kWarp, b.blocks, yield_to_scheduler);
  b.done[t] = true;
  _longjmp(b.scheduler, 1); // never returns
}

void run_block(Block &block, char *stacks) {
  for (unsigned t = 0; t < kWarp; ++t) {
    block.started[t] = block.done[t] = false;
    getcontext(&block.start[t]);
    block.start[t].uc_stack.ss_sp = stacks + t * kFiberStack;
    block.start[t].uc_stack.ss_size = kFiberStack;
    block.start[t].uc_link = nullptr;
    makecontext(&block.start[t], reinterpret_cast<void (*)()>(fiber_main), 1,
                t);
  }
  for (bool alive = true; alive;) {
    alive = false;
    for (unsigned t = 0; t < kWarp; ++t) {
      if (block.done[t])
        continue;
      block.current = t;
      if (!_setjmp(block.scheduler)) {
        if (!block.started[t]) {
          block.started[t] = true;
          setcontext(&block.start[t]);
        }
        _longjmp(block.fiber[t], 1);
      }
      alive |= !block.done[t];
    }
  }
}

int launch(int, void *fn, unsigned grid, unsigned, unsigned, const void *arg,
           size_t) {
  const unsigned blocks = std::min(std::max(grid, 1u), 2u);
  const auto *loaded = static_cast<const Loaded *>(fn);
  if (!loaded->syncs) {
    // No thread waits for another: one after the other.
    for (unsigned b = 0; b < blocks; ++b)
      for (unsigned t = 0; t < kWarp; ++t)
        loaded->entry(arg, b, t, kWarp, blocks, nullptr);
    return 0;
  }
  static thread_local std::vector<char> stacks(kWarp * kFiberStack);
  auto block = std::make_unique<Block>();
  block->entry = loaded->entry;
  block->arg = arg;
  block->blocks = blocks;
  Block *saved = g_block;
  g_block = block.get();
  for (unsigned b = 0; b < blocks; ++b) {
    block->block = b;
    run_block(*block, stacks.data());
  }
  g_block = saved;
  return 0;
}

// f16 and bf16 storage (arithmetic in double here).
struct Half {
  uint16_t bits;
  operator double() const {
    _Float16 f;
    std::memcpy(&f, &bits, 2);
    return static_cast<double>(f);
  }
  Half &operator=(double v) {
    _Float16 f = static_cast<_Float16>(static_cast<float>(v));
    std::memcpy(&bits, &f, 2);
    return *this;
  }
};
struct BFloat {
  uint16_t bits;
  operator double() const {
    uint32_t u = static_cast<uint32_t>(bits) << 16;
    float f;
    std::memcpy(&f, &u, 4);
    return f;
  }
  BFloat &operator=(double v) {
    float f = static_cast<float>(v);
    uint32_t u;
    std::memcpy(&u, &f, 4);
    u += 0x7fffu + ((u >> 16) & 1u); // round to nearest even (no NaN here)
    bits = static_cast<uint16_t>(u >> 16);
    return *this;
  }
};

template <class T> double at(const void *p, int64_t i) {
  return static_cast<double>(static_cast<const T *>(p)[i]);
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
        const double old = beta == 0 ? 0.0 : static_cast<double>(out);
        out = alpha * s + beta * old;
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
  else if (dtype == 2)
    gemm_t<Half>(ta, tb, m, n, k, alpha, a, lda, sa, b, ldb, sb, beta, c, ldc,
                 sc, batch);
  else if (dtype == 3)
    gemm_t<BFloat>(ta, tb, m, n, k, alpha, a, lda, sa, b, ldb, sb, beta, c, ldc,
                   sc, batch);
  else
    return fail("fake gemm: unsupported dtype");
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
    softmax_backward, load_source,
};

} // namespace

extern "C" __attribute__((visibility("default"))) const Backend *
knet_cuda_backend() {
  return &kBackend;
}
