// The runtime's side of the CUDA plugin contract, on the host: the ctest
// entry points KNET_CUDA_PLUGIN at fake_cuda_plugin.cpp (one "device" whose
// memory is host memory, reference loops for the library calls, no kernel
// launches). Checked here without a GPU: plugin loading and device
// selection, the caching allocator's release-and-retry and its statistics,
// copies between devices, and how matmul, conv2d, pool and softmax hand
// tensors (strides, transposes, batches, geometry) to the library calls,
// against the same ops on the CPU; and that kernels launch (the fake
// compiles their CUDA C for the host). Not run when the fake plugin is not
// in use.
#include "test_util.h"

#include "core/cuda.h"

#include <knet/knet.h>

#include <cstdlib>
#include <string>

using namespace knet;
using knet::testing::all_close;
using knet::testing::rand_f64;

namespace {

const Device kGpu{Device::cuda, 0};
const Device kCpu{};

#define REQUIRE_FAKE()                                                         \
  do {                                                                         \
    const char *p = std::getenv("KNET_CUDA_PLUGIN");                           \
    if (!p || std::string(p).find("fake") == std::string::npos)                \
      GTEST_SKIP() << "KNET_CUDA_PLUGIN does not name the fake plugin";        \
  } while (0)

// On the fake device, f(gpu copies of in) equals f(in) on the CPU.
void same_on_device(const std::function<Tensor(const std::vector<Tensor> &)> &f,
                    const std::vector<Tensor> &in, double tol,
                    const std::string &what) {
  std::vector<Tensor> g;
  for (const Tensor &t : in)
    g.push_back(t.to(kGpu));
  Tensor got = f(g);
  ASSERT_EQ(got.device(), kGpu) << what;
  EXPECT_TRUE(all_close(got.to(kCpu), f(in), tol, tol)) << what;
}

TEST(FakeCuda, LoadsAndIsTheDefaultDevice) {
  REQUIRE_FAKE();
  unsetenv("KNET_DEVICE");
  EXPECT_TRUE(cuda_available());
  EXPECT_EQ(default_device(), kGpu);
  EXPECT_EQ(Tensor::empty({2}).device(), kGpu);
  EXPECT_EQ(detail::cuda::arch(kGpu), "sm_80");
  setenv("KNET_DEVICE", "cuda:1", 1);
  EXPECT_THROW(default_device(), Error);
  setenv("KNET_DEVICE", "cpu", 1);
  EXPECT_EQ(default_device(), kCpu);
  unsetenv("KNET_DEVICE");
  EXPECT_THROW(Tensor::zeros({2}).to(Device{Device::cuda, 3}), Error);
}

TEST(FakeCuda, CopiesBetweenDevices) {
  REQUIRE_FAKE();
  Tensor a = rand_f64({3, 4, 5});
  EXPECT_TRUE(all_close(a.to(kGpu).to(kCpu), a, 0, 0));
  // A strided CPU view is made dense on the host, then copied.
  Tensor v = a.transpose(0, 2).slice(1, 1, 3);
  EXPECT_TRUE(all_close(v.to(kGpu).to(kCpu), v, 0, 0));
  Tensor i = Tensor::from<int64_t>(std::vector<int64_t>{7, -1, 1LL << 40}, {3});
  EXPECT_EQ(i.to(kGpu).to_vector<int64_t>(), i.to_vector<int64_t>());
  EXPECT_EQ(i.to(kGpu).select(0, 0).item<int64_t>(), 7);
  // The tape records the copy: gradients come back to the source device.
  Param p(a);
  Tape t = diff([&] { return sum(p.value().to(kGpu).to(kCpu)); });
  EXPECT_EQ(t.grad(p).device(), kCpu);
}

TEST(FakeCuda, RunsTheRuntimesKernels) {
  REQUIRE_FAKE();
  // An op kernel and a copy kernel, compiled from their CUDA C for the host.
  Tensor a = rand_f64({3, 4});
  Tensor g = a.to(kGpu);
  EXPECT_TRUE(all_close((g + g * 2.0).to(kCpu), a * 3.0, 1e-15, 0));
  EXPECT_TRUE(all_close(g.transpose(0, 1).contiguous().to(kCpu),
                        a.transpose(0, 1), 0, 0));
}

TEST(FakeCuda, AllocatorReleasesItsCacheAndRetries) {
  REQUIRE_FAKE();
  // The fake device holds KNET_FAKE_CUDA_BYTES = 64 MiB.
  empty_cache(kGpu);
  const MemoryStats s0 = memory_stats(kGpu);
  const int64_t mib = int64_t{1} << 18; // f32 elements per MiB
  {
    Tensor a = Tensor::empty({40 * mib}, DType::f32, kGpu);
    EXPECT_GE(memory_stats(kGpu).bytes_in_use, s0.bytes_in_use + (40 << 20));
  }
  EXPECT_GE(memory_stats(kGpu).bytes_cached, size_t{40} << 20);
  {
    // Same size class: served from the cache.
    const uint64_t hits = memory_stats(kGpu).cache_hits;
    Tensor a = Tensor::empty({40 * mib}, DType::f32, kGpu);
    EXPECT_EQ(memory_stats(kGpu).cache_hits, hits + 1);
  }
  {
    // Does not fit next to the cached 40 MiB: the cache is released and
    // the request retried.
    Tensor b = Tensor::empty({50 * mib}, DType::f32, kGpu);
    EXPECT_EQ(memory_stats(kGpu).bytes_cached, 0u);
  }
  try {
    Tensor c = Tensor::empty({100 * mib}, DType::f32, kGpu);
    FAIL() << "expected out of memory";
  } catch (const Error &e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("out of memory"), std::string::npos) << msg;
    EXPECT_NE(msg.find("cuda:0"), std::string::npos) << msg;
    EXPECT_NE(msg.find("fake device"), std::string::npos) << msg;
  }
  empty_cache(kGpu);
  EXPECT_EQ(memory_stats(kGpu).bytes_in_use, s0.bytes_in_use);
  EXPECT_GE(memory_stats(kGpu).peak_bytes, size_t{50} << 20);
}

TEST(FakeCuda, MatmulMapsOntoGemm) {
  REQUIRE_FAKE();
  for (DType dt : {DType::f32, DType::f64}) {
    const double tol = dt == DType::f32 ? 1e-5 : 1e-12;
    Tensor a = rand_f64({4, 3, 5, 6}, -1, 1, 2).to(dt);
    Tensor b = rand_f64({6, 7}, -1, 1, 3).to(dt);
    Tensor c = rand_f64({4, 3, 6, 2}, -1, 1, 4).to(dt);
    Tensor m = rand_f64({5, 6}, -1, 1, 5).to(dt);
    Tensor n = rand_f64({7, 6}, -1, 1, 6).to(dt);
    same_on_device([](auto &in) { return matmul(in[0], in[1]); }, {m, b}, tol,
                   "2-D");
    same_on_device(
        [](auto &in) { return matmul(in[0], in[1].transpose(0, 1)); }, {m, n},
        tol, "B transposed");
    same_on_device(
        [](auto &in) { return matmul(in[0].transpose(0, 1), in[1]); }, {b, b},
        tol, "A transposed");
    same_on_device([](auto &in) { return matmul(in[0], in[1]); }, {a, b}, tol,
                   "batched, B broadcast");
    same_on_device([](auto &in) { return matmul(in[0], in[1]); }, {a, c}, tol,
                   "batched");
    same_on_device(
        [](auto &in) {
          return matmul(in[0].slice(1, 0, 2), in[1].slice(1, 1, 3));
        },
        {a, c}, tol, "batches with non-uniform strides");
    same_on_device(
        [](auto &in) {
          return matmul(in[0].transpose(-2, -1), in[1].transpose(-2, -1));
        },
        {c, a}, tol, "batched, both transposed");
    same_on_device([](auto &in) { return linear(in[0], in[1], Tensor()); },
                   {m, n}, tol, "linear without bias");
  }
}

TEST(FakeCuda, ConvPoolSoftmaxMapOntoTheLibrary) {
  REQUIRE_FAKE();
  for (DType dt : {DType::f32, DType::f64}) {
    const double tol = dt == DType::f32 ? 1e-4 : 1e-10;
    Tensor x = rand_f64({2, 4, 9, 8}, -1, 1, 7).to(dt);
    Tensor w = rand_f64({6, 2, 3, 2}, -1, 1, 8).to(dt);
    for (ConvOptions o :
         {ConvOptions{.groups = 2},
          ConvOptions{.padding = 1, .stride = 2, .groups = 2},
          ConvOptions{.padding = 2, .dilation = 2, .groups = 2}}) {
      same_on_device([&](auto &in) { return conv2d(in[0], in[1], o); }, {x, w},
                     tol, "conv2d");
      Tensor y = conv2d(x, w, o);
      Tensor dy = rand_f64(y.shape(), -1, 1, 9).to(dt);
      same_on_device(
          [&](auto &in) {
            return conv2d_back_data(in[0], in[1], x.shape(), o);
          },
          {dy, w}, tol, "conv2d_back_data");
      same_on_device(
          [&](auto &in) {
            return conv2d_back_filter(in[0], in[1], w.shape(), o);
          },
          {dy, x}, tol, "conv2d_back_filter");
    }
    for (PoolOptions o :
         {PoolOptions{.window = 2}, PoolOptions{.window = 3, .stride = 2},
          PoolOptions{
              .window = 3, .stride = 2, .padding = 1, .mode = PoolMode::avg},
          PoolOptions{.window = 2, .mode = PoolMode::avg}}) {
      same_on_device([&](auto &in) { return pool(in[0], o); }, {x}, tol,
                     "pool");
      Tensor y = pool(x, o);
      Tensor dy = rand_f64(y.shape(), -1, 1, 10).to(dt);
      same_on_device(
          [&](auto &in) { return pool_back(in[0], in[1], in[2], o); },
          {dy, y, x}, tol, "pool_back");
    }
    for (int d : {0, 1, 3}) {
      same_on_device([&](auto &in) { return softmax(in[0], d); }, {x}, tol,
                     "softmax");
      same_on_device([&](auto &in) { return logsoftmax(in[0], d); }, {x}, tol,
                     "logsoftmax");
    }
  }
}

} // namespace
