// Fused kernels: the interface between knetc's generated kernels and the
// runtime's loop driver.
//
// knetc turns each knet.fused region into a row function, a loop over one
// innermost row of the broadcast iteration space with one scalar body, and a
// FusedKernel describing it. run_fused checks that the run-time operands are
// what the kernel assumes (see docs/codegen.md, "Fused kernels"), plans the
// loop with the one strided-broadcast driver and calls the row function per
// row; when they are not, it returns false and the generated code runs the
// ops the kernel replaced instead.
#pragma once

#include <knet/jit.h>
#include <knet/tensor.h>
#include <knet/vmath.h>

#include <cstdint>
#include <memory>
#include <string>

namespace knet::detail {

// Called once per row: ptrs[k] points at the row's first element of operand
// k (the results first, then the inputs), strides[k] is the byte stride
// along the row, n the row's length. A reduction's result operands are f64
// accumulators.
using FusedRow = void (*)(char *const *ptrs, const int64_t *strides, int64_t n);

enum class FusedReduce { none, sum, mean, max, min, sum_to };

struct FusedKernel {
  const char *name;         // knet_k<id>, also the CUDA kernel's name
  int num_inputs;           // tensors read, the like of sum_to last
  int num_outputs;          // tensors written
  const char *input_kinds;  // per input: 'f' float (any float dtype), 'b' bool
  const char *output_kinds; // per output: 'f' or 'b'
  FusedReduce reduce;
  const int64_t *dims; // reduced dims (null: all)
  int num_dims;
  bool keepdim;
  // Shape checks, back to back: [len, n, a1..an, b1..bm] means inputs a
  // broadcast to the shape inputs b broadcast to (len counts what follows).
  const int64_t *checks;
  int checks_size;
  // Dtype cones, back to back: [len, i1..ilen] lists the float inputs some
  // member is computed from; when all of them are weak scalars they must
  // give the kernel's dtype (weak operands alone stay f64 in the replaced
  // ops; docs/ops.md, "Dtype promotion").
  const int64_t *cones;
  int cones_size;
  FusedRow row_f32;
  FusedRow row_f64;
  // The same body as an elementwise loop writing T (for a reduction that
  // folds nothing, e.g. a sum_to onto its own shape; else the row itself).
  FusedRow map_f32;
  FusedRow map_f64;
  const char *cuda_source; // the same body as CUDA C (runtime/jit)
};

// Runs `k` over inputs in[0..num_inputs) into out[0..num_outputs) and
// returns true, or returns false (leaving `out` alone) when the operands are
// not what the kernel assumes: not all on the CPU, float inputs of
// different dtypes (weak scalars adapt) or of integer dtype, a dtype cone of
// weak inputs that would compute in another dtype, bool inputs that are not b8,
// a shape check that fails, shapes that do not broadcast, or an empty
// max/min.
bool run_fused(const FusedKernel &k, const Tensor *const *in, Tensor *out);

// The kernel's CUDA C, specialized for the operands `in` would give it
// (their float dtype, the rank of the iteration space, which operands are
// dense over it: the broadcast pattern and contiguity; sizes and strides are
// kernel arguments), compiled by the JIT for `arch` (e.g. "sm_80"): with
// NVRTC at first use, then from the memory or disk cache (knet/jit.h).
// Needs no GPU. Throws knet::Error when the operands do not suit the kernel.
std::shared_ptr<const CompiledKernel>
compile_fused_cuda(const FusedKernel &k, const Tensor *const *in,
                   const std::string &arch);

// How often run_fused ran a kernel and how often it declined (the generated
// code then ran the replaced ops), since the process started.
struct FusedStats {
  int64_t kernels = 0;
  int64_t fallbacks = 0;
};
FusedStats fused_stats();

} // namespace knet::detail
