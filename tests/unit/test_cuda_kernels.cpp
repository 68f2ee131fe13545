// The runtime's own GPU kernels (runtime/core/cuda.cpp: the strided copy
// and cast between every pair of dtypes, fills, embedding's row gather and
// scatter) compile with NVRTC for sm_80 and sm_90. Needs NVRTC, not a GPU
// (nothing launches); without NVRTC the program reports itself not run.
#include "test_util.h"

#include "core/cuda.h"
#include "jit/nvrtc.h"

#include <knet/jit.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <unistd.h>

using namespace knet;

namespace {

TEST(CudaKernels, EveryDataMovementKernelCompiles) {
  if (!jit::nvrtc_available())
    GTEST_SKIP() << "NVRTC not found";
  std::filesystem::path dir = std::filesystem::temp_directory_path() /
                              ("knet-cuda-kernels-" + std::to_string(getpid()));
  setenv("KNET_CACHE_DIR", dir.c_str(), 1);
  jit_clear_memory_cache();
  const DType all[] = {DType::f32, DType::f64, DType::f16, DType::bf16,
                       DType::i32, DType::i64, DType::u8,  DType::b8};
  std::vector<std::pair<KernelSpec, std::string>> specs;
  for (DType d : all) {
    for (DType s : all)
      specs.push_back(
          {detail::cuda::convert_spec(d, s, 3, "sm_80"),
           std::string("convert ") + dtype_name(s) + " to " + dtype_name(d)});
    specs.push_back({detail::cuda::fill_spec(d, 1, "sm_90"),
                     std::string("fill ") + dtype_name(d)});
  }
  for (DType t : {DType::f32, DType::f64})
    for (bool scatter : {false, true})
      specs.push_back(
          {detail::cuda::index_rows_spec(t, scatter, "sm_80"),
           std::string(scatter ? "scatter " : "gather ") + dtype_name(t)});
  for (const auto &[spec, what] : specs) {
    try {
      auto k = compile_kernel(spec);
      EXPECT_FALSE(k->cubin.empty()) << what;
      EXPECT_EQ(k->name, spec.name) << what;
    } catch (const Error &e) {
      ADD_FAILURE() << what << ": " << e.what();
    }
  }
  std::filesystem::remove_all(dir);
}

} // namespace
