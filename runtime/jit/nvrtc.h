// NVRTC (CUDA's run-time compiler), loaded with dlopen at first use.
//
// Nothing here links against CUDA: a process that never calls these functions
// never maps any CUDA library, and the project builds where no CUDA toolkit is
// installed. The library is searched for in this order:
//   $KNET_NVRTC_LIBRARY (a file name or path), libnvrtc.so.13, libnvrtc.so
//   (through the dynamic loader's search path), then libnvrtc.so.13 and
//   libnvrtc.so in $CUDA_HOME/lib64 and /usr/local/cuda/lib64.
// The first attempt's outcome is kept for the life of the process.
//
// Built as the static library knet_nvrtc, shared by libknet_runtime (the
// kernel cache, knet/jit.h) and knetc (--check-cuda). See docs/jit.md.
#pragma once

#include <string>
#include <vector>

namespace knet::jit {

// Whether NVRTC can be loaded (loads it on the first call). Never throws.
bool nvrtc_available();

// NVRTC's version, "major.minor" (e.g. "13.0"). Throws knet::Error if NVRTC
// cannot be loaded.
std::string nvrtc_version();

// The path or file name NVRTC was loaded from ("" if it could not be).
std::string nvrtc_library();

struct NvrtcResult {
  bool ok = false;
  // NVRTC's program log (errors and warnings); on failure it also names the
  // failing NVRTC call and its error.
  std::string log;
  // The compiled ELF cubin; empty unless ok.
  std::vector<char> cubin;
};

// Compiles CUDA C `source` to a cubin for the real architecture `arch`
// ("sm_80", "sm_90", ...) with the options
//   --gpu-architecture=<arch> -default-device --std=c++17 <options...>
// `name` names the program in NVRTC's messages (as "<name>.cu"). A source
// that does not compile gives ok == false and NVRTC's log; this throws
// knet::Error only when NVRTC itself cannot be loaded, naming the paths tried.
// Safe to call from several threads at once.
NvrtcResult nvrtc_compile(const std::string &source, const std::string &name,
                          const std::string &arch,
                          const std::vector<std::string> &options = {});

} // namespace knet::jit
