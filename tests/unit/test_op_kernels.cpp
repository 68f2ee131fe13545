// The runtime's table of single-op kernels, runtime/jit/op_kernels.inc
// (generated from runtime/jit/op_kernels.mlir by scripts/gen-op-kernels.sh;
// tests/lit/codegen/op-kernels.mlir checks it is up to date): its entries
// are well formed, and every kernel's CUDA C compiles through the JIT for
// sm_80 in the specializations the runtime uses (f32 and f64, rank 1 and 3,
// every operand dense or none). Needs NVRTC, not a GPU (nothing launches);
// without NVRTC the program reports itself not run.
#include "test_util.h"

#include "jit/nvrtc.h"
#include "jit/op_kernels.inc"
#include "jit/specialize.h"

#include <knet/jit.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace knet;
using detail::FusedKernel;
using detail::FusedReduce;
namespace op_kernels = detail::op_kernels;

namespace {

TEST(OpKernels, TableIsWellFormed) {
  std::set<std::string> ops;
  for (const op_kernels::Entry &e : op_kernels::entries) {
    SCOPED_TRACE(e.op);
    EXPECT_TRUE(ops.insert(e.op).second) << "duplicate op";
    const FusedKernel &k = *e.kernel;
    EXPECT_EQ(std::string(k.name), std::string("knet_op_") + e.op);
    EXPECT_EQ(static_cast<int>(std::strlen(k.input_kinds)), k.num_inputs);
    EXPECT_EQ(static_cast<int>(std::strlen(k.output_kinds)), k.num_outputs);
    EXPECT_EQ(k.num_outputs, 1);
    // Reductions are over all dims here: the runtime picks the dims.
    EXPECT_EQ(k.dims, nullptr);
    EXPECT_EQ(k.num_dims, 0);
    EXPECT_FALSE(k.keepdim);
    // CUDA C only.
    EXPECT_EQ(k.row_f32, nullptr);
    EXPECT_EQ(k.row_f64, nullptr);
    EXPECT_EQ(k.map_f32, nullptr);
    EXPECT_EQ(k.map_f64, nullptr);
    ASSERT_NE(k.cuda_source, nullptr);
    EXPECT_NE(std::strstr(k.cuda_source, ("extern \"C\" __global__ void " +
                                          std::string(k.name) + "(")
                                             .c_str()),
              nullptr);
  }
  // The table holds, in order, the ops of runtime/jit/op_kernels.mlir: those
  // with a one-op kernel (`opKernel`) in the op registry, KnetOps.td.
  const char *src = std::getenv("KNET_SOURCE_DIR");
  ASSERT_NE(src, nullptr) << "KNET_SOURCE_DIR is not set";
  std::ifstream in(std::string(src) + "/runtime/jit/op_kernels.mlir");
  ASSERT_TRUE(in) << "cannot read runtime/jit/op_kernels.mlir";
  std::vector<std::string> registry;
  const std::regex func(R"(^func\.func @(\w+)\()");
  for (std::string line; std::getline(in, line);)
    if (std::smatch m; std::regex_search(line, m, func))
      registry.push_back(m[1]);
  std::vector<std::string> table;
  for (const op_kernels::Entry &e : op_kernels::entries)
    table.push_back(e.op);
  EXPECT_EQ(table, registry);
  EXPECT_GE(table.size(), 40u);
  auto find = [](const char *op) -> const FusedKernel & {
    for (const op_kernels::Entry &e : op_kernels::entries)
      if (std::strcmp(e.op, op) == 0)
        return *e.kernel;
    ADD_FAILURE() << "no " << op;
    return *op_kernels::entries[0].kernel;
  };
  EXPECT_STREQ(find("lt").output_kinds, "b");
  EXPECT_STREQ(find("where").input_kinds, "bff");
  EXPECT_EQ(find("sum").reduce, FusedReduce::sum);
  EXPECT_EQ(find("mean").reduce, FusedReduce::mean);
  EXPECT_EQ(find("max").reduce, FusedReduce::max);
  EXPECT_EQ(find("min").reduce, FusedReduce::min);
  EXPECT_EQ(find("sum_to").reduce, FusedReduce::sum_to);
  EXPECT_EQ(find("sum_to").num_inputs, 2);
  EXPECT_EQ(find("add").reduce, FusedReduce::none);
}

TEST(OpKernels, EveryKernelCompilesWithNvrtc) {
  if (!jit::nvrtc_available())
    GTEST_SKIP() << "NVRTC not found";
  std::filesystem::path dir = std::filesystem::temp_directory_path() /
                              ("knet-op-kernels-" + std::to_string(getpid()));
  setenv("KNET_CACHE_DIR", dir.c_str(), 1);
  jit_clear_memory_cache();
  jit_reset_stats();
  // Every specialization, compiled on as many threads as there are cores
  // (compile_kernel is thread-safe).
  std::vector<KernelSpec> specs;
  std::vector<std::string> what;
  for (const op_kernels::Entry &e : op_kernels::entries) {
    const FusedKernel &k = *e.kernel;
    const uint64_t all = (uint64_t{1} << (k.num_inputs + k.num_outputs)) - 1;
    for (bool f64 : {false, true})
      for (int rank : {1, 3})
        for (uint64_t dense : {all, uint64_t{0}}) {
          specs.push_back({k.cuda_source, k.name, "sm_80",
                           jit::fused_kernel_options(f64, rank, rank, dense)});
          what.push_back(std::string(e.op) + " (" + (f64 ? "f64" : "f32") +
                         ", rank " + std::to_string(rank) + ", dense " +
                         std::to_string(dense) + ")");
        }
    // f16 and bf16 storage (float arithmetic), dense and strided.
    for (int half : {1, 2}) {
      const uint64_t dense = half == 1 ? all : 0;
      specs.push_back({k.cuda_source, k.name, "sm_80",
                       jit::fused_kernel_options(false, 2, 2, dense, half)});
      what.push_back(std::string(e.op) + (half == 1 ? " (f16" : " (bf16") +
                     ", rank 2, dense " + std::to_string(dense) + ")");
    }
  }
  EXPECT_EQ(specs.size(), std::size(op_kernels::entries) * 10);
  std::vector<std::string> errors(specs.size());
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i; (i = next++) < specs.size();) {
      try {
        std::shared_ptr<const CompiledKernel> c = compile_kernel(specs[i]);
        if (!c || c->cubin.size() < 4 ||
            std::string(c->cubin.data(), 4) != "\x7f"
                                               "ELF")
          errors[i] = "no ELF cubin";
      } catch (const std::exception &err) {
        errors[i] = err.what();
      }
    }
  };
  std::vector<std::thread> threads;
  for (unsigned t = 1; t < std::max(1u, std::thread::hardware_concurrency());
       ++t)
    threads.emplace_back(work);
  work();
  for (std::thread &t : threads)
    t.join();
  for (size_t i = 0; i < specs.size(); ++i)
    EXPECT_EQ(errors[i], "") << what[i];
  EXPECT_EQ(jit_stats().compiles, static_cast<int64_t>(specs.size()));
  std::filesystem::remove_all(dir);
  unsetenv("KNET_CACHE_DIR");
}

} // namespace
