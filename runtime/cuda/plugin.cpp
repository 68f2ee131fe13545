// libknet_cuda: the CUDA backend the runtime loads with dlopen
// (cuda/backend_abi.h). This file holds errors, devices, the stream and
// library handles, memory, JIT kernels, and the exported table; gemm.cpp
// wraps cuBLAS, dnn.cpp cuDNN.
//
// The driver API (modules, launches) is reached through cudart's
// cudaGetDriverEntryPointByVersion rather than by linking libcuda: the
// plugin then loads on a machine without a driver, where device_count() is
// 0 (cudart itself loads libcuda.so.1 at its first call).
#include "plugin.h"

#include <cuda.h>
#include <cudaTypedefs.h>

#include <algorithm>
#include <cstring>

namespace knet::cuda_plugin {

namespace {

thread_local std::string last_error_message;

std::string cuda_message(cudaError_t status, const char *call) {
  return std::string(call) + ": " + cudaGetErrorName(status) + " (" +
         cudaGetErrorString(status) + ")";
}

} // namespace

void fail(std::string message) { throw Failure{std::move(message)}; }

void set_last_error(std::string message) {
  last_error_message = std::move(message);
}

void check(cudaError_t status, const char *call) {
  if (status == cudaSuccess)
    return;
  cudaGetLastError(); // clears a non-sticky error
  fail(cuda_message(status, call));
}

void check(cublasStatus_t status, const char *call) {
  if (status == CUBLAS_STATUS_SUCCESS)
    return;
  fail(std::string(call) + ": " + cublasGetStatusName(status) + " (" +
       cublasGetStatusString(status) + ")");
}

void check(cudnnStatus_t status, const char *call) {
  if (status == CUDNN_STATUS_SUCCESS)
    return;
  std::string message = std::string(call) + ": " + cudnnGetErrorString(status);
  char detail[512] = {};
  cudnnGetLastErrorString(detail, sizeof detail);
  if (detail[0])
    message += std::string(" (") + detail + ")";
  fail(std::move(message));
}

const char *dtype_name(int dtype) {
  static const char *const names[] = {"f32", "f64", "f16", "bf16",
                                      "i32", "i64", "u8",  "b8"};
  return dtype >= 0 && dtype < 8 ? names[dtype] : "an unknown dtype";
}

int to_int(int64_t v, const char *op, const char *what) {
  if (v < INT32_MIN || v > INT32_MAX)
    fail(std::string(op) + ": " + what + " " + std::to_string(v) +
         " does not fit a 32-bit int");
  return static_cast<int>(v);
}

// ---- devices, streams, handles ----

DeviceState &use_device(int dev) {
  // Never destroyed: handles outlive static destruction, when the driver
  // may already be unloading.
  static DeviceState *const states = [] {
    auto *s = new DeviceState[kMaxDevices];
    for (int i = 0; i < kMaxDevices; ++i)
      s[i].index = i;
    return s;
  }();
  if (dev < 0 || dev >= kMaxDevices)
    fail("CUDA device " + std::to_string(dev) + " out of range");
  check(cudaSetDevice(dev), "cudaSetDevice");
  return states[dev];
}

namespace {

cudaStream_t stream_locked(DeviceState &d) {
  if (!d.stream)
    check(cudaStreamCreateWithFlags(&d.stream, cudaStreamNonBlocking),
          "cudaStreamCreateWithFlags");
  return d.stream;
}

} // namespace

cudaStream_t stream_of(DeviceState &d) {
  std::lock_guard<std::mutex> lock(d.init_mu);
  return stream_locked(d);
}

cublasHandle_t blas_of(DeviceState &d) {
  std::lock_guard<std::mutex> lock(d.init_mu);
  if (!d.blas) {
    cudaStream_t s = stream_locked(d);
    cublasHandle_t h = nullptr;
    check(cublasCreate(&h), "cublasCreate");
    cublasStatus_t st = cublasSetStream(h, s);
    if (st != CUBLAS_STATUS_SUCCESS) {
      cublasDestroy(h);
      check(st, "cublasSetStream");
    }
    d.blas = h;
  }
  return d.blas;
}

cudnnHandle_t dnn_of(DeviceState &d) {
  std::lock_guard<std::mutex> lock(d.init_mu);
  if (!d.dnn) {
    cudaStream_t s = stream_locked(d);
    cudnnHandle_t h = nullptr;
    check(cudnnCreate(&h), "cudnnCreate");
    cudnnStatus_t st = cudnnSetStream(h, s);
    if (st != CUDNN_STATUS_SUCCESS) {
      cudnnDestroy(h);
      check(st, "cudnnSetStream");
    }
    d.dnn = h;
  }
  return d.dnn;
}

namespace {

// ---- the driver API, through cudart's entry points ----

struct Driver {
  PFN_cuGetErrorName_v6000 get_error_name = nullptr;
  PFN_cuGetErrorString_v6000 get_error_string = nullptr;
  PFN_cuCtxGetCurrent_v4000 ctx_get_current = nullptr;
  PFN_cuModuleLoadData_v2000 module_load_data = nullptr;
  PFN_cuModuleGetFunction_v2000 module_get_function = nullptr;
  PFN_cuModuleUnload_v2000 module_unload = nullptr;
  PFN_cuLaunchKernel_v4000 launch_kernel = nullptr;
};

template <class P> void resolve(P &fn, const char *symbol) {
  void *p = nullptr;
  cudaDriverEntryPointQueryResult found = cudaDriverEntryPointSymbolNotFound;
  // 12000: the ABI of each symbol as of CUDA 12.0, which the _vNNNN
  // pointer types above match.
  check(cudaGetDriverEntryPointByVersion(symbol, &p, 12000, cudaEnableDefault,
                                         &found),
        "cudaGetDriverEntryPointByVersion");
  if (found != cudaDriverEntryPointSuccess || !p)
    fail(std::string("the CUDA driver has no ") + symbol);
  fn = reinterpret_cast<P>(p);
}

const Driver &driver() {
  static std::mutex mu;
  static Driver drv;
  static bool ready = false;
  std::lock_guard<std::mutex> lock(mu);
  if (!ready) {
    Driver d;
    resolve(d.get_error_name, "cuGetErrorName");
    resolve(d.get_error_string, "cuGetErrorString");
    resolve(d.ctx_get_current, "cuCtxGetCurrent");
    resolve(d.module_load_data, "cuModuleLoadData");
    resolve(d.module_get_function, "cuModuleGetFunction");
    resolve(d.module_unload, "cuModuleUnload");
    resolve(d.launch_kernel, "cuLaunchKernel");
    drv = d;
    ready = true;
  }
  return drv;
}

void check_cu(const Driver &drv, CUresult r, const char *call) {
  if (r == CUDA_SUCCESS)
    return;
  const char *name = nullptr, *text = nullptr;
  drv.get_error_name(r, &name);
  drv.get_error_string(r, &text);
  fail(std::string(call) + ": " +
       (name ? name : "CUDA driver error " + std::to_string(int(r))) +
       (text ? std::string(" (") + text + ")" : std::string()));
}

// Makes sure a context is current for driver API calls: cudart binds the
// device's primary context to the thread when it initializes it.
void ensure_context(const Driver &drv) {
  CUcontext ctx = nullptr;
  check_cu(drv, drv.ctx_get_current(&ctx), "cuCtxGetCurrent");
  if (ctx)
    return;
  check(cudaFree(nullptr), "cudaFree");
  check_cu(drv, drv.ctx_get_current(&ctx), "cuCtxGetCurrent");
  if (!ctx)
    fail("no CUDA context is current after cudaSetDevice");
}

// ---- the table's entry points ----

const char *k_last_error() { return last_error_message.c_str(); }

int k_device_count() {
  try {
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
      // No driver, no device, a driver too old: no usable GPU.
      cudaGetLastError();
      set_last_error(cuda_message(e, "cudaGetDeviceCount"));
      return 0;
    }
    return std::clamp(n, 0, kMaxDevices);
  } catch (...) {
    set_last_error("cudaGetDeviceCount: unknown error");
    return 0;
  }
}

int k_device_arch(int dev, int *major, int *minor) {
  return guarded([&] {
    if (!major || !minor)
      fail("device_arch: null output");
    check(cudaDeviceGetAttribute(major, cudaDevAttrComputeCapabilityMajor, dev),
          "cudaDeviceGetAttribute");
    check(cudaDeviceGetAttribute(minor, cudaDevAttrComputeCapabilityMinor, dev),
          "cudaDeviceGetAttribute");
  });
}

int k_device_name(int dev, char *buf, size_t len) {
  return guarded([&] {
    if (!buf || len == 0)
      fail("device_name: empty buffer");
    cudaDeviceProp prop;
    check(cudaGetDeviceProperties(&prop, dev), "cudaGetDeviceProperties");
    size_t n = strnlen(prop.name, sizeof prop.name);
    n = std::min(n, len - 1);
    std::memcpy(buf, prop.name, n);
    buf[n] = '\0';
  });
}

int k_mem_info(int dev, size_t *free_bytes, size_t *total_bytes) {
  return guarded([&] {
    if (!free_bytes || !total_bytes)
      fail("mem_info: null output");
    use_device(dev);
    check(cudaMemGetInfo(free_bytes, total_bytes), "cudaMemGetInfo");
  });
}

void *k_malloc(int dev, size_t nbytes) {
  void *p = nullptr;
  int rc = guarded([&] {
    DeviceState &d = use_device(dev);
    // At least one byte: a null result means out of memory.
    size_t bytes = std::max<size_t>(nbytes, 1);
    cudaError_t e = cudaMalloc(&p, bytes);
    if (e == cudaErrorMemoryAllocation) {
      cudaGetLastError();
      p = nullptr;
      if (release_workspace(d)) {
        e = cudaMalloc(&p, bytes);
        if (e == cudaErrorMemoryAllocation) {
          cudaGetLastError();
          p = nullptr;
        }
      }
    }
    if (e == cudaErrorMemoryAllocation) {
      std::string message = "out of memory: cudaMalloc of " +
                            std::to_string(nbytes) + " bytes on device " +
                            std::to_string(dev);
      size_t free_bytes = 0, total_bytes = 0;
      if (cudaMemGetInfo(&free_bytes, &total_bytes) == cudaSuccess)
        message += " (" + std::to_string(free_bytes) + " of " +
                   std::to_string(total_bytes) + " bytes free)";
      else
        cudaGetLastError();
      fail(std::move(message));
    }
    check(e, "cudaMalloc");
  });
  return rc == 0 ? p : nullptr;
}

void k_free(int dev, void *p) {
  if (!p)
    return;
  guarded([&] {
    use_device(dev);
    check(cudaFree(p), "cudaFree");
  });
}

int k_memcpy(int dev, void *dst, const void *src, size_t nbytes, int kind) {
  return guarded([&] {
    if (nbytes == 0)
      return;
    if (!dst || !src)
      fail("memcpy: null pointer");
    cudaMemcpyKind k;
    switch (kind) {
    case cuda_abi::host_to_device:
      k = cudaMemcpyHostToDevice;
      break;
    case cuda_abi::device_to_host:
      k = cudaMemcpyDeviceToHost;
      break;
    case cuda_abi::device_to_device:
      k = cudaMemcpyDefault; // either device's memory (unified addressing)
      break;
    default:
      fail("memcpy: invalid kind " + std::to_string(kind));
    }
    DeviceState &d = use_device(dev);
    cudaStream_t s = stream_of(d);
    check(cudaMemcpyAsync(dst, src, nbytes, k, s), "cudaMemcpyAsync");
    // The host buffer may be reused or freed as soon as this returns.
    if (kind != cuda_abi::device_to_device)
      check(cudaStreamSynchronize(s), "cudaStreamSynchronize");
  });
}

int k_memset(int dev, void *p, int byte, size_t nbytes) {
  return guarded([&] {
    if (nbytes == 0)
      return;
    if (!p)
      fail("memset: null pointer");
    DeviceState &d = use_device(dev);
    check(cudaMemsetAsync(p, byte, nbytes, stream_of(d)), "cudaMemsetAsync");
  });
}

int k_synchronize(int dev) {
  return guarded([&] {
    DeviceState &d = use_device(dev);
    check(cudaStreamSynchronize(stream_of(d)), "cudaStreamSynchronize");
  });
}

void *k_load_function(int dev, const void *cubin, size_t nbytes,
                      const char *name) {
  void *fn = nullptr;
  guarded([&] {
    if (!cubin || nbytes == 0 || !name)
      fail("load_function: empty cubin or no name");
    const Driver &drv = driver();
    use_device(dev);
    ensure_context(drv);
    CUmodule mod = nullptr;
    check_cu(drv, drv.module_load_data(&mod, cubin), "cuModuleLoadData");
    CUfunction f = nullptr;
    CUresult r = drv.module_get_function(&f, mod, name);
    if (r != CUDA_SUCCESS) {
      drv.module_unload(mod);
      check_cu(drv, r,
               (std::string("cuModuleGetFunction(") + name + ")").c_str());
    }
    // The module stays loaded until the process ends.
    fn = reinterpret_cast<void *>(f);
  });
  return fn;
}

int k_launch(int dev, void *fn, unsigned grid, unsigned block,
             unsigned shared_bytes, const void *arg, size_t arg_bytes) {
  return guarded([&] {
    if (grid == 0)
      return; // no work
    if (!fn || block == 0 || (!arg && arg_bytes > 0))
      fail("launch: null kernel, empty block or null argument");
    const Driver &drv = driver();
    DeviceState &d = use_device(dev);
    cudaStream_t s = stream_of(d);
    ensure_context(drv);
    // One by-value parameter: the driver copies its size (known from the
    // kernel's metadata) from `arg`.
    void *params[] = {const_cast<void *>(arg)};
    check_cu(drv,
             drv.launch_kernel(reinterpret_cast<CUfunction>(fn), grid, 1, 1,
                               block, 1, 1, shared_bytes, s,
                               arg_bytes > 0 ? params : nullptr, nullptr),
             "cuLaunchKernel");
  });
}

const cuda_abi::Backend table = {
    cuda_abi::kVersion,
    k_last_error,
    k_device_count,
    k_device_arch,
    k_device_name,
    k_mem_info,
    k_malloc,
    k_free,
    k_memcpy,
    k_memset,
    k_synchronize,
    k_load_function,
    k_launch,
    gemm,
    conv_forward,
    conv_backward_data,
    conv_backward_filter,
    pool_forward,
    pool_backward,
    softmax_forward,
    softmax_backward,
    nullptr, // load_source: kernels come as NVRTC cubins
};

} // namespace

} // namespace knet::cuda_plugin

extern "C" __attribute__((visibility("default")))
const knet::cuda_abi::Backend *
knet_cuda_backend() {
  return &knet::cuda_plugin::table;
}
