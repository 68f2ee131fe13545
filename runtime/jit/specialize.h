// The NVRTC options that specialize the CUDA source of a fused kernel
// (knetc's codegen/EmitKernels): one place for the runtime's JIT and for
// `knetc --check-cuda`. Header-only, standard library only.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace knet::jit {

// f64: double elements (else float); rank: dims of the (kept) iteration
// space; reduced_rank: dims folded by a reduction; dense_mask: bit k set when
// operand k (results first, then inputs) is dense over the iteration space,
// so that its offset is the element index (no strides, no broadcast).
// Accumulators are double.
inline std::vector<std::string> fused_kernel_options(bool f64, int rank,
                                                     int reduced_rank,
                                                     uint64_t dense_mask) {
  return {f64 ? "-DKNET_T=double" : "-DKNET_T=float", "-DKNET_ACC=double",
          "-DKNET_RANK=" + std::to_string(std::max(rank, 1)),
          "-DKNET_RRANK=" + std::to_string(std::max(reduced_rank, 1)),
          "-DKNET_DENSE=" + std::to_string(dense_mask) + "ull"};
}

} // namespace knet::jit
