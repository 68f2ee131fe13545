// The interface between libknet_runtime and the CUDA plugin libknet_cuda.
//
// The runtime loads the plugin with dlopen only when a GPU may be present
// (runtime/core/cuda_backend.cpp) and calls it through this table of plain C
// function pointers: raw device pointers, sizes and dtype codes, no knet
// types, so that the plugin does not depend on the runtime's C++ ABI. Every
// tensor-level decision (shapes, broadcasting, which kernel, caching of
// memory) stays in the runtime; the plugin wraps cudart, the driver API,
// cuBLAS and cuDNN.
//
// Conventions:
//   - `dev` is the CUDA device ordinal; every call makes it current.
//   - Functions returning int return 0 on success, else nonzero; the reason
//     is then in last_error() (thread-local, a readable message that names
//     the CUDA/cuBLAS/cuDNN call and its error string).
//   - All work is queued on the device's one stream (created at first use);
//     copies to the host synchronize that stream.
//   - Dtype codes are knet::DType's enumerators in order: 0 f32, 1 f64,
//     2 f16, 3 bf16, 4 i32, 5 i64, 6 u8, 7 b8.
//   - Tensors given to cuDNN are dense NCHW (the runtime makes them so).
#pragma once

#include <cstddef>
#include <cstdint>

namespace knet::cuda_abi {

constexpr int kVersion = 2;

enum Copy : int {
  host_to_device = 0,
  device_to_host = 1,
  device_to_device = 2
};

struct ConvGeometry {
  int64_t n, c, h, w;   // input x, NCHW
  int64_t k, r, s;      // filters: [k, c / groups, r, s]
  int64_t p, q;         // output y: [n, k, p, q]
  int64_t pad_h, pad_w; // zero padding
  int64_t stride_h, stride_w;
  int64_t dil_h, dil_w;
  int64_t groups;
};

struct PoolGeometry {
  int64_t n, c, h, w; // input
  int64_t p, q;       // output
  int64_t win_h, win_w, pad_h, pad_w, stride_h, stride_w;
  int max; // 1: max, 0: average including padding
};

struct Backend {
  int version; // kVersion

  const char *(*last_error)();

  // Devices. device_count is 0 (not an error) when there is no usable GPU
  // or driver. arch writes the compute capability (8, 0 for sm_80).
  int (*device_count)();
  int (*device_arch)(int dev, int *major, int *minor);
  int (*device_name)(int dev, char *buf, size_t len);
  // Bytes free and total on the device.
  int (*mem_info)(int dev, size_t *free_bytes, size_t *total_bytes);

  // Raw memory (the runtime's caching allocator sits on top). malloc returns
  // null on out-of-memory (last_error says so); free of null is a no-op.
  void *(*malloc)(int dev, size_t nbytes);
  void (*free)(int dev, void *p);
  // Copies nbytes; `kind` is a Copy. device_to_host waits for the copy.
  int (*memcpy)(int dev, void *dst, const void *src, size_t nbytes, int kind);
  int (*memset)(int dev, void *p, int byte, size_t nbytes);
  // Waits for the device's stream.
  int (*synchronize)(int dev);

  // Kernels compiled by the runtime's JIT (NVRTC cubins). load_function
  // loads `cubin` as a module on `dev` and returns the kernel `name` (a
  // CUfunction, cached by the caller; modules live until the process ends).
  void *(*load_function)(int dev, const void *cubin, size_t nbytes,
                         const char *name);
  // Launches `fn` with one by-value kernel parameter: the `arg_bytes` bytes
  // at `arg` (the kernel's argument struct).
  int (*launch)(int dev, void *fn, unsigned grid, unsigned block,
                unsigned shared_bytes, const void *arg, size_t arg_bytes);

  // cuBLAS, row-major: C[b] = alpha * op(A[b]) * op(B[b]) + beta * C[b] for
  // b < batch, op(X) = X^T when trans_x; A[b] at A + b * stride_a elements
  // (stride 0 broadcasts one matrix). m, n, k as in the math: op(A) is m x k,
  // op(B) k x n, C m x n; lda, ldb, ldc are row strides (elements). dtype f32,
  // f64, f16 or bf16 (f16/bf16 accumulate in f32). allow_tf32 lets f32 use
  // TF32 tensor cores.
  int (*gemm)(int dev, int dtype, int trans_a, int trans_b, int64_t m,
              int64_t n, int64_t k, double alpha, const void *a, int64_t lda,
              int64_t stride_a, const void *b, int64_t ldb, int64_t stride_b,
              double beta, void *c, int64_t ldc, int64_t stride_c,
              int64_t batch, int allow_tf32);

  // cuDNN convolution (cross-correlation), dtype f32/f64/f16/bf16. The
  // algorithm of each direction is searched once per geometry and dtype and
  // cached; the workspace is the plugin's own.
  int (*conv_forward)(int dev, int dtype, const ConvGeometry *g, const void *x,
                      const void *w, void *y);
  int (*conv_backward_data)(int dev, int dtype, const ConvGeometry *g,
                            const void *dy, const void *w, void *dx);
  int (*conv_backward_filter)(int dev, int dtype, const ConvGeometry *g,
                              const void *dy, const void *x, void *dw);

  // cuDNN pooling.
  int (*pool_forward)(int dev, int dtype, const PoolGeometry *g, const void *x,
                      void *y);
  int (*pool_backward)(int dev, int dtype, const PoolGeometry *g, const void *y,
                       const void *dy, const void *x, void *dx);

  // cuDNN softmax over the middle dim of a dense [outer, dim, inner] tensor;
  // log selects log-softmax.
  int (*softmax_forward)(int dev, int dtype, int log, int64_t outer,
                         int64_t dim, int64_t inner, const void *x, void *y);
  int (*softmax_backward)(int dev, int dtype, int log, int64_t outer,
                          int64_t dim, int64_t inner, const void *y,
                          const void *dy, void *dx);

  // Optional (null in libknet_cuda): loads a kernel from its CUDA C source
  // and NVRTC options instead of a cubin; the runtime then skips NVRTC. The
  // host stand-in plugin of the tests (tests/unit/fake_cuda_plugin.cpp)
  // compiles the source for the CPU this way.
  void *(*load_source)(int dev, const char *source, const char *const *options,
                       int num_options, const char *name);
};

// The plugin's one exported symbol.
using GetBackend = const Backend *(*)();
constexpr const char *kGetBackendSymbol = "knet_cuda_backend";

} // namespace knet::cuda_abi
