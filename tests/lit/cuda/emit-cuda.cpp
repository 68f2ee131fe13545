// --emit=cuda prints each fused kernel as CUDA C: a grid-stride loop over
// the broadcast iteration space, or for a reduction one block per result
// with warp shuffles and a block reduction; specialized by defines.
// RUN: %knetc --emit=cuda %s -- -std=c++20 | FileCheck %s
#include <knet/knet.h>
using namespace knet;

// CHECK: // knet_k0: add, relu
// CHECK: typedef KNET_T T;
// CHECK: #if KNET_HALF == 1
// CHECK-NEXT: typedef unsigned short S;
// CHECK-NEXT: #define KNET_LD(v) ((T)knet_h2f(v))
// CHECK: #else
// CHECK-NEXT: typedef T S;
// CHECK: struct knet_k0_args {
// CHECK: long long strides[3][KNET_RANK];
// CHECK: __device__ __forceinline__ void knet_k0_body(T a0, T a1, T &r0) {
// CHECK: extern "C" __global__ void knet_k0(knet_k0_args a) {
// CHECK-NEXT: for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < a.n;
// CHECK-NEXT: i += (long long)blockDim.x * gridDim.x) {
// CHECK: o[0] = KNET_IS_DENSE(0) ? i : 0;
// CHECK: if (!KNET_IS_DENSE(2)) o[2] += x * a.strides[2][d];
// CHECK: knet_k0_body(KNET_LD(static_cast<const S *>(a.ptr[1])[o[1]]), KNET_LD(static_cast<const S *>(a.ptr[2])[o[2]]), r0);
// CHECK: static_cast<S *>(a.ptr[0])[o[0]] = KNET_ST(r0);
KNET_COMPILE Tensor layer(const Tensor &x, const Tensor &b) {
  return relu(x + b);
}

// CHECK: // knet_k{{[0-9]+}}: sub, mul; reduce sum
// CHECK: __shared__ KNET_ACC part[32];
// CHECK: for (long long out = blockIdx.x; out < a.n; out += gridDim.x) {
// CHECK: for (long long j = threadIdx.x; j < a.rn; j += blockDim.x) {
// CHECK: acc += (KNET_ACC)r0;
// CHECK: __shfl_down_sync(0xffffffffu, acc, d);
// CHECK: __syncthreads();
KNET_COMPILE Tensor sse(const Tensor &x, const Tensor &y) {
  Tensor d = x - y;
  return sum(d * d);
}
