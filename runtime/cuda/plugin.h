// Internals of libknet_cuda shared by its source files: errors, the
// per-device stream and library handles, and the entry points of the table
// (cuda/backend_abi.h) defined outside plugin.cpp.
//
// Inside the plugin an error is a thrown Failure; every entry point of the
// table catches everything (guarded) and turns it into last_error() and a
// nonzero return, so no exception crosses the C ABI.
#pragma once

#include "cuda/backend_abi.h"

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include <cstdint>
#include <exception>
#include <mutex>
#include <new>
#include <string>

namespace knet::cuda_plugin {

struct Failure {
  std::string message;
};

[[noreturn]] void fail(std::string message);
// Sets the calling thread's last_error().
void set_last_error(std::string message);

// Each throws a Failure "<call>: <error name> (<description>)" unless the
// status is success; a failed CUDA runtime call's error is also cleared.
void check(cudaError_t status, const char *call);
void check(cublasStatus_t status, const char *call);
void check(cudnnStatus_t status, const char *call);

// Runs f, returning 0, or 1 with last_error() set if it throws.
template <class F> int guarded(F &&f) noexcept {
  try {
    f();
    return 0;
  } catch (const Failure &e) {
    set_last_error(e.message);
  } catch (const std::bad_alloc &) {
    set_last_error("out of host memory");
  } catch (const std::exception &e) {
    set_last_error(e.what());
  } catch (...) {
    set_last_error("unknown error");
  }
  return 1;
}

// The dtype codes of the ABI.
enum DType : int { f32 = 0, f64, f16, bf16, i32, i64, u8, b8 };
const char *dtype_name(int dtype);

// Devices the plugin serves (ordinals 0 .. kMaxDevices - 1).
constexpr int kMaxDevices = 64;

// The stream and library handles of one device, created at first use.
struct DeviceState {
  int index = 0;
  std::mutex init_mu; // guards the creation of the three handles
  cudaStream_t stream = nullptr;
  cublasHandle_t blas = nullptr;
  cudnnHandle_t dnn = nullptr;
  std::mutex blas_mu; // serializes cuBLAS calls on the device
};

// Makes `dev` current on the calling thread and returns its state.
DeviceState &use_device(int dev);
// The device's stream and handles (the device must be current).
cudaStream_t stream_of(DeviceState &d);
cublasHandle_t blas_of(DeviceState &d);
cudnnHandle_t dnn_of(DeviceState &d);

// A value checked to fit a C int (cuBLAS and cuDNN sizes).
int to_int(int64_t v, const char *op, const char *what);

// cuDNN: frees the device's convolution workspace (after its stream
// finished); malloc calls it before retrying an allocation that ran out of
// memory. Returns whether anything was freed.
bool release_workspace(DeviceState &d);

// Entry points of the table (cuda/backend_abi.h documents them).
int gemm(int dev, int dtype, int trans_a, int trans_b, int64_t m, int64_t n,
         int64_t k, double alpha, const void *a, int64_t lda, int64_t stride_a,
         const void *b, int64_t ldb, int64_t stride_b, double beta, void *c,
         int64_t ldc, int64_t stride_c, int64_t batch, int allow_tf32);
int conv_forward(int dev, int dtype, const cuda_abi::ConvGeometry *g,
                 const void *x, const void *w, void *y);
int conv_backward_data(int dev, int dtype, const cuda_abi::ConvGeometry *g,
                       const void *dy, const void *w, void *dx);
int conv_backward_filter(int dev, int dtype, const cuda_abi::ConvGeometry *g,
                         const void *dy, const void *x, void *dw);
int pool_forward(int dev, int dtype, const cuda_abi::PoolGeometry *g,
                 const void *x, void *y);
int pool_backward(int dev, int dtype, const cuda_abi::PoolGeometry *g,
                  const void *y, const void *dy, const void *x, void *dx);
int softmax_forward(int dev, int dtype, int log, int64_t outer, int64_t dim,
                    int64_t inner, const void *x, void *y);
int softmax_backward(int dev, int dtype, int log, int64_t outer, int64_t dim,
                     int64_t inner, const void *y, const void *dy, void *dx);

} // namespace knet::cuda_plugin
