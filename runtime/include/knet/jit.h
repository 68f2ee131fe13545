// The JIT kernel cache: CUDA C source compiled to cubin by NVRTC at first
// use, kept in memory and on disk. See docs/jit.md.
//
// NVRTC is loaded (dlopen) only by the first compile_kernel call: a process
// that never compiles a kernel never maps any CUDA library.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace knet {

// One specialisation of a kernel.
struct KernelSpec {
  // CUDA C source.
  std::string source;
  // The kernel's function name: an extern "C" __global__ function of source.
  std::string name;
  // A real GPU architecture: "sm_80", "sm_90", ...
  std::string arch;
  // Extra NVRTC options, typically the specialisation's defines
  // ("-DKNET_T=float", "-DKNET_RANK=2").
  std::vector<std::string> options;
};

struct CompiledKernel {
  // 32 hex digits: a 128-bit hash of source, name, arch, options and the
  // NVRTC version. Also the cache file's name, "<key>.cubin".
  std::string key;
  // The ELF cubin for the spec's arch.
  std::vector<char> cubin;
  // The kernel's function name (KernelSpec::name).
  std::string name;
};

// The compiled kernel for `spec`: from the memory cache, else from the disk
// cache (validated), else compiled by NVRTC and written to the disk cache.
// Thread-safe: concurrent calls for the same spec compile it once (the others
// wait for it), different specs compile concurrently. Throws knet::Error if
// the source does not compile (the message names the kernel and the arch and
// holds NVRTC's log) or if NVRTC cannot be loaded. A disk cache that cannot
// be created or written is skipped, never an error.
std::shared_ptr<const CompiledKernel> compile_kernel(const KernelSpec &spec);

struct JitStats {
  int64_t compiles = 0;     // NVRTC compilations (failed ones included)
  int64_t memory_hits = 0;  // served from memory (or waited for a compile)
  int64_t disk_hits = 0;    // loaded from a valid cache file
  int64_t disk_rejects = 0; // cache files found invalid (then recompiled)
};

// Counters since the start of the process (or the last jit_reset_stats).
JitStats jit_stats();
void jit_reset_stats();
// Drops the in-memory cache (the disk cache and the stats are kept).
void jit_clear_memory_cache();

// The disk cache directory in use: $KNET_CACHE_DIR if set and non-empty, else
// $HOME/.cache/knet/kernels. Read from the environment on every call.
std::string jit_cache_dir();

} // namespace knet
