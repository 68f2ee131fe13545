// The runtime's table of single-op kernels, runtime/jit/op_kernels.inc, and
// its scalar bodies, runtime/ops/op_bodies.inc, are what
// scripts/gen-op-kernels.sh makes of runtime/jit/op_kernels.mlir (run the
// script when this fails).
// RUN: %knet-opt %knet_src/runtime/jit/op_kernels.mlir --knet-fuse=singletons=true | %knet-translate --emit-op-kernels | diff %knet_src/runtime/jit/op_kernels.inc -
// RUN: %knet-opt %knet_src/runtime/jit/op_kernels.mlir --knet-fuse=singletons=true | %knet-translate --emit-op-bodies | diff %knet_src/runtime/ops/op_bodies.inc -

// The table's reductions are emitted over all dims, for any dims and keepdim:
// the CUDA C of a reduction does not depend on which dims it reduces. The
// functions below (with dims) give the same CUDA C as without their dims.
// RUN: %knet-opt %s --knet-fuse=singletons=true | FileCheck %s
// RUN: %knet-opt %s --knet-fuse=singletons=true | %knet-translate --emit-op-kernels | sed -n '/knet_cuda(/,/)knet_cuda/p' > %t.dims
// RUN: sed -e 's/ dims \[[0-9, ]*\]\( keepdim\)\{0,1\}//' %s | %knet-opt --knet-fuse=singletons=true | %knet-translate --emit-op-kernels | sed -n '/knet_cuda(/,/)knet_cuda/p' > %t.all
// RUN: diff %t.all %t.dims
// RUN: FileCheck %s --check-prefix=CUDA < %t.dims

// CHECK: knet.fused(%{{.*}}) reduce sum dims [0, 2] keepdim
// CHECK: knet.fused(%{{.*}}) reduce mean dims [1]
// CHECK: knet.fused(%{{.*}}) reduce max dims [0] keepdim
// CHECK: knet.fused(%{{.*}}) reduce min dims [2]
// CUDA-COUNT-4: extern "C" __global__ void knet_op_{{sum|mean|max|min}}(
func.func @sum(%x: tensor<*xf32>) -> tensor<*xf32> {
  %0 = knet.sum %x dims [0, 2] keepdim : tensor<*xf32> -> tensor<*xf32>
  return %0 : tensor<*xf32>
}
func.func @mean(%x: tensor<*xf32>) -> tensor<*xf32> {
  %0 = knet.mean %x dims [1] : tensor<*xf32> -> tensor<*xf32>
  return %0 : tensor<*xf32>
}
func.func @max(%x: tensor<*xf32>) -> tensor<*xf32> {
  %0 = knet.max %x dims [0] keepdim : tensor<*xf32> -> tensor<*xf32>
  return %0 : tensor<*xf32>
}
func.func @min(%x: tensor<*xf32>) -> tensor<*xf32> {
  %0 = knet.min %x dims [2] : tensor<*xf32> -> tensor<*xf32>
  return %0 : tensor<*xf32>
}
