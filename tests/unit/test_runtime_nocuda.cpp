// A CPU process loads no CUDA library: training a model, saving and loading
// it, and asking which device is the default map none of libcuda, cudart,
// cuBLAS, cuDNN, NVRTC or a knet CUDA plugin (DESIGN §2: the CUDA backend is
// a plugin, NVRTC is loaded with dlopen when a kernel is compiled).
#include "test_util.h"

#include <knet/knet.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

using namespace knet;

namespace {

std::string cuda_libraries_mapped() {
  std::ifstream maps("/proc/self/maps");
  std::string line, found;
  while (std::getline(maps, line))
    for (const char *lib : {"libcuda.", "libcudart", "libcublas", "libcudnn",
                            "libnvrtc", "libknet_cuda", "libnvJitLink"})
      if (line.find(lib) != std::string::npos)
        found += line + "\n";
  return found;
}

TEST(NoCuda, TrainingOnTheCpuLoadsNoCudaLibrary) {
  ASSERT_EQ(cuda_libraries_mapped(), "") << "mapped before the test ran";
  setenv("KNET_DEVICE", "cpu", 1);
  EXPECT_EQ(default_device().kind, Device::cpu);
  seed(3);
  Param w = param({8, 4}), b = param0({4});
  Tensor x = randn({16, 8});
  Tensor y = Tensor::from<int64_t>(
      std::vector<int64_t>{0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3},
      {16});
  Adam opt;
  for (int step = 0; step < 5; ++step) {
    Tape t =
        diff([&] { return nll(relu(matmul(x, w.value()) + b.value()), y); });
    update(t, opt);
  }
  EXPECT_EQ(jit_stats().compiles, 0);
  EXPECT_EQ(cuda_libraries_mapped(), "");
  unsetenv("KNET_DEVICE");
}

TEST(NoCuda, TheDefaultDeviceWithoutAGpuLoadsNothing) {
  if (std::filesystem::exists("/dev/nvidiactl") ||
      std::filesystem::exists("/dev/dxg") || std::getenv("KNET_CUDA_PLUGIN"))
    GTEST_SKIP() << "this machine may have a GPU";
  unsetenv("KNET_DEVICE");
  EXPECT_EQ(default_device().kind, Device::cpu);
  EXPECT_FALSE(cuda_available());
  Tensor x = Tensor::ones({3});
  EXPECT_EQ(x.device().kind, Device::cpu);
  EXPECT_EQ(cuda_libraries_mapped(), "");
}

} // namespace
