// The fused kernels' CUDA C (tests/codegen/fused.mlir, compiled into this
// program as in test_fusion_kernels) through the runtime's JIT: compiled at
// first use for the operands' dtype, rank and dense operands, then served
// from the cache. Needs NVRTC, not a GPU (nothing launches); without NVRTC
// the program reports itself not run.
#include "test_util.h"

#include "jit/nvrtc.h"

#include <knet/compiled.h>

#include <cstdlib>
#include <filesystem>
#include <unistd.h>

using namespace knet;
using knet::testing::rand_f32;
using knet::testing::rand_f64;

#if KNET_FUSION_KERNELS

std::vector<const detail::FusedKernel *> knet_fused_kernels();

namespace {

// The same kernels' CUDA C through the JIT: compiled at first use for the
// operands' dtype, rank and dense operands, then served from the cache. No
// GPU needed (nothing launches).
TEST(FusionCudaJit, EveryKernelCompilesThroughTheJit) {
  if (!jit::nvrtc_available())
    GTEST_SKIP() << "NVRTC not found";
  std::filesystem::path dir = std::filesystem::temp_directory_path() /
                              ("knet-fusion-jit-" + std::to_string(getpid()));
  setenv("KNET_CACHE_DIR", dir.c_str(), 1);
  jit_clear_memory_cache();
  jit_reset_stats();
  std::vector<const detail::FusedKernel *> kernels = knet_fused_kernels();
  ASSERT_FALSE(kernels.empty());
  const detail::FusedKernel &chain = *kernels[0];
  EXPECT_STREQ(chain.name, "knet_k0");
  Tensor x = rand_f64({4, 5}), b = rand_f64({5});
  Tensor s = Tensor::scalar(2.0); // a C++ double: weak
  const Tensor *in[] = {&x, &b, &s};
  auto first = detail::compile_fused_cuda(chain, in, "sm_80");
  ASSERT_TRUE(first);
  ASSERT_GE(first->cubin.size(), 4u);
  EXPECT_EQ(std::string(first->cubin.data(), 4), "\x7f"
                                                 "ELF");
  EXPECT_EQ(jit_stats().compiles, 1);
  EXPECT_EQ(detail::compile_fused_cuda(chain, in, "sm_80"), first);
  EXPECT_EQ(jit_stats().memory_hits, 1);
  // A transposed operand, f32 operands: other specializations.
  Tensor xt = rand_f64({5, 4}).transpose(0, 1);
  const Tensor *strided[] = {&xt, &b, &s};
  EXPECT_NE(detail::compile_fused_cuda(chain, strided, "sm_80")->key,
            first->key);
  Tensor x32 = rand_f32({4, 5}), b32 = rand_f32({5});
  const Tensor *f32[] = {&x32, &b32, &s};
  EXPECT_NE(detail::compile_fused_cuda(chain, f32, "sm_90")->key, first->key);
  EXPECT_EQ(jit_stats().compiles, 3);
  // Every kernel of the file compiles, reductions included, and those with
  // elementwise results beside the reduction.
  int reductions = 0, merged = 0;
  for (const detail::FusedKernel *k : kernels) {
    std::vector<Tensor> args;
    for (int i = 0; i < k->num_inputs; ++i)
      args.push_back(k->input_kinds[i] == 'b' ? Tensor::ones({3, 4}, DType::b8)
                                              : rand_f64({3, 4}));
    std::vector<const Tensor *> ptrs;
    for (const Tensor &t : args)
      ptrs.push_back(&t);
    EXPECT_TRUE(detail::compile_fused_cuda(*k, ptrs.data(), "sm_80"))
        << k->name;
    reductions += k->reduce != detail::FusedReduce::none;
    merged += k->reduce != detail::FusedReduce::none && k->num_outputs > 1;
  }
  EXPECT_GT(reductions, 0);
  EXPECT_GT(merged, 0);
  std::filesystem::remove_all(dir);
  unsetenv("KNET_CACHE_DIR");
}

} // namespace

#else
TEST(FusionCudaJit, NeedsTheCompiler) {
  GTEST_SKIP() << "built without knetc (KNET_BUILD_COMPILER=OFF)";
}
#endif
