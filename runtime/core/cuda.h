// The runtime's side of the CUDA backend (internal): loading the plugin
// libknet_cuda, and the device work every op builds on (copies, casts,
// fills, kernel launches). See docs/cuda.md.
//
// The plugin is loaded (dlopen) at the first call that needs a GPU, and
// only when one may be present: $KNET_CUDA_PLUGIN names it explicitly, else
// it is looked for next to libknet_runtime when /dev/nvidiactl (or WSL's
// /dev/dxg) exists. A process that never asks for a CUDA device, or runs
// where there is none, maps no CUDA library.
#pragma once

#include "cuda/backend_abi.h"

#include <knet/jit.h>
#include <knet/tensor.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace knet::detail::cuda {

// The loaded backend, loading it at the first call; null when there is no
// usable one (no GPU, no driver, no plugin). Never throws.
const cuda_abi::Backend *backend();
// Usable CUDA devices (0 without a backend).
int device_count();
// Why backend() is null, for error messages ("" when it is not).
std::string unavailable_reason();

// The backend for `device`; throws knet::Error naming `op` and the reason
// when there is no such usable device.
const cuda_abi::Backend &require(Device device, const char *op);
// Throws knet::Error "<op>: <the backend's last error>" unless rc == 0.
void check(int rc, const char *op);
// Runs a backend call (returning its status) on `device`; when it fails
// for lack of memory (a library's workspace), the runtime's cached blocks
// are released and the call retried once. Throws as check does.
void check_retry(Device device, const char *op,
                 const std::function<int()> &call);
// The device's real architecture for NVRTC, e.g. "sm_90".
const std::string &arch(Device device);

// Launches the kernel of `spec` (compiled by the JIT cache at first use,
// loaded once per device) on `device` with `grid` x `block` threads and one
// by-value argument struct (the `words` 8-byte words).
void launch(Device device, const KernelSpec &spec, int64_t grid, int block,
            const std::vector<int64_t> &words);

// Copies `src` into `dst`: same shape, same dtype, dense or strided, any
// pair of devices (one of them a GPU).
void copy(const Tensor &dst, const Tensor &src);
// dst = src converted to dst's dtype and broadcast to dst's shape, on
// dst's device (src must be there too); dst may be a strided view.
void convert(const Tensor &dst, const Tensor &src);
// Every element of `dst` (on a GPU) set to `value`.
void fill(const Tensor &dst, double value);

// Whether `t` is a tensor on a GPU.
inline bool on_gpu(const Tensor &t) {
  return t.defined() && t.device().kind == Device::cuda;
}

// The runtime's elementwise op `op` (the name its CPU kernel reports:
// "add", "relu_back", ...) on the GPU, with the kernel the op table holds
// for it (runtime/jit/op_kernels.inc: codegen's fused-kernel emitter over
// one op) run by run_fused. 0-d CPU operands are scalars and join the GPU.
// Throws naming the op, the device and the operands when the op has no
// kernel or the kernel does not take these operands.
Tensor run_op(const char *op, std::initializer_list<Tensor> inputs);
// sum, mean, max or min of x over `dims` (empty: all) on the GPU.
Tensor run_reduce(const char *op, const Tensor &x, const std::vector<int> &dims,
                  bool keepdim);
// sum_to(x, shape) on the GPU.
Tensor run_sum_to(const Tensor &x, const Shape &shape);

} // namespace knet::detail::cuda

namespace knet::detail {
struct FusedKernel;
// run_fused's GPU half (core/fused.cpp): `k` launched on the GPU its
// operands are on, or false (out left alone) when they do not suit it.
bool launch_fused(const FusedKernel &k, const Tensor *const *in, Tensor *out);
} // namespace knet::detail

namespace knet::detail::cuda {

// Rows by index, for embedding: out[i, :] = table[ids[i], :], and its
// adjoint out[ids[i], :] += src[i, :] (atomic adds: rows that repeat sum in
// no fixed order). Dense f32/f64 operands on one GPU, i64 ids in range.
void gather_rows(const Tensor &out, const Tensor &table, const Tensor &ids);
void scatter_add_rows(const Tensor &out, const Tensor &src, const Tensor &ids);

// The CUDA C of the runtime's own data-movement kernels, as used above
// (exposed so that tests compile every variant with NVRTC, without a GPU):
// convert (a strided copy and cast over `rank` dims), fill, and the row
// gather/scatter of embedding.
KernelSpec convert_spec(DType dst, DType src, int rank,
                        const std::string &arch);
KernelSpec fill_spec(DType dst, int rank, const std::string &arch);
KernelSpec index_rows_spec(DType t, bool scatter, const std::string &arch);

// The argument struct of an elementwise kernel over `shape` (runtime/jit,
// codegen's fused kernels): n, sizes[rank], strides[ops][rank] (elements,
// 0 where an operand broadcasts), then the operands' element pointers.
// `rank` is at least 1; the operands must broadcast to `shape`.
std::vector<int64_t> elementwise_args(const Shape &shape,
                                      const std::vector<const Tensor *> &ops);

// Threads per block of the runtime's launches (a multiple of 32, as the
// reduction kernels need), and the grid that covers n work items.
constexpr int kBlock = 256;
int64_t grid_for(int64_t n);

} // namespace knet::detail::cuda
