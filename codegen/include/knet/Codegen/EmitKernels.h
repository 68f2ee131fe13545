//===- EmitKernels.h - knet.fused regions to C++ and CUDA C -----*- C++ -*-===//
//
// Each knet.fused region becomes two kernels with the same scalar body,
// printed from the region's arith/math ops by one printer:
//
//   - a C++ row function `knet_k<i><T>::row` for the runtime's loop driver
//     (a contiguous fast path the compiler vectorizes and a strided
//     broadcast path), with its `knet::detail::FusedKernel` description.
//     A float body that calls exp, tanh, log, ... runs blocked: its ops as
//     loops over kBlock elements, split at each such call, which runs on
//     the runtime's vector math (knet/vmath.h);
//   - CUDA C source, `extern "C" __global__ void knet_k<i>(...)`: a
//     grid-stride loop, or for a reduction one block per result element
//     with warp shuffles and a block reduction. The runtime's JIT compiles it
//     with NVRTC, specialized by defines on the dtype (KNET_T), the rank
//     (KNET_RANK) and which operands are dense (KNET_DENSE), see
//     runtime/jit/specialize.h.
//
// See docs/codegen.md, "Fused kernels".
//
//===----------------------------------------------------------------------===//

#ifndef KNET_CODEGEN_EMITKERNELS_H
#define KNET_CODEGEN_EMITKERNELS_H

#include "knet/IR/KnetDialect.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LogicalResult.h"

#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/SmallVector.h"

#include <string>

namespace mlir::knet {

struct KernelSource {
  /// knet_k<i> (or KernelOptions::name): the C++ struct template, the
  /// FusedKernel object (<name>_kernel) and the CUDA kernel are named after
  /// it.
  std::string name;
  /// The ops the kernel replaced, e.g. "sigm, mul, add; reduce sum".
  std::string summary;
  /// C++ definitions (the row functions, unless KernelOptions::rowFunctions
  /// is false, and the FusedKernel object).
  std::string cpp;
  /// CUDA C source of the kernel (without specialization defines).
  std::string cuda;
};

struct KernelOptions {
  /// The name of each op's kernel (a C identifier, unique in the module);
  /// when null, knet_k0, knet_k1, ... in walk order.
  llvm::function_ref<std::string(FusedOp)> name = nullptr;
  /// Whether KernelSource::cpp holds the C++ row functions. Without, its
  /// FusedKernel object has null row functions: a kernel that only runs as
  /// CUDA C (the runtime's table of single-op kernels, runtime/jit).
  bool rowFunctions = true;
};

/// The kernels of `module` in walk order, named by `options.name`.
/// Reports a body op without a C++/CUDA spelling at its location.
FailureOr<llvm::SmallVector<KernelSource>>
emitKernels(ModuleOp module, const KernelOptions &options = {});

/// The body of an elementwise `op` (one result, no reduction) as a C++
/// function template `template <class T> inline R name(A0 a0, ...)` over one
/// element per input (T for floats, bool): the runtime's scalar lambdas of
/// single ops (runtime/ops/op_bodies.inc) come from the same bodies as the
/// fused kernels. A float body that calls vector math is followed by its
/// blocked form `template <class T> void name_block(T *y0, const T *x0,
/// ...)` over knet::detail::vm::kBlock elements (knet/vmath.h).
FailureOr<std::string> emitScalarFunction(FusedOp op, llvm::StringRef name);

/// "sigm, mul, add; reduce sum": the ops a knet.fused op replaced (from its
/// fallback region), for --explain and comments.
std::string fusedSummary(FusedOp op);

} // namespace mlir::knet

#endif // KNET_CODEGEN_EMITKERNELS_H
