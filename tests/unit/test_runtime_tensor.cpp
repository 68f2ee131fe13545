// Tensor construction, views (no copy), conversions, printing, errors, and
// the caching allocator.
#include "test_util.h"

#include <cstdlib>
#include <sstream>

using namespace knet;
using knet::testing::all_close;

namespace {
Tensor iota(Shape shape) {
  int64_t n = 1;
  for (auto s : shape)
    n *= s;
  std::vector<float> v(n);
  for (int64_t i = 0; i < n; ++i)
    v[i] = static_cast<float>(i);
  return Tensor::from(v, shape);
}
} // namespace

TEST(Tensor, Construction) {
  Tensor z = Tensor::zeros({2, 3});
  EXPECT_EQ(z.shape(), (Shape{2, 3}));
  EXPECT_EQ(z.rank(), 2);
  EXPECT_EQ(z.numel(), 6);
  EXPECT_EQ(z.size(-1), 3);
  EXPECT_EQ(z.dtype(), DType::f32);
  EXPECT_EQ(z.device(), Device{});
  EXPECT_TRUE(z.is_contiguous());
  EXPECT_EQ(z.to_vector<float>(), std::vector<float>(6, 0.f));
  EXPECT_EQ(Tensor::ones({2}, DType::i64).to_vector<int64_t>(),
            (std::vector<int64_t>{1, 1}));
  EXPECT_EQ(Tensor::full({2}, 2.5, DType::f64).to_vector<double>(),
            (std::vector<double>{2.5, 2.5}));
  Tensor s = Tensor::scalar(3.5, DType::f64);
  EXPECT_EQ(s.rank(), 0);
  EXPECT_DOUBLE_EQ(s.item<double>(), 3.5);
  EXPECT_FALSE(Tensor().defined());
  for (DType t :
       {DType::f32, DType::f64, DType::i32, DType::i64, DType::u8, DType::b8})
    EXPECT_EQ(Tensor::zeros({3}, t).dtype(), t);
  EXPECT_EQ(Tensor::zeros({0, 4}).numel(), 0);
}

TEST(Tensor, ViewsShareStorage) {
  Tensor x = iota({2, 3, 4});
  Tensor r = x.reshape({6, 4}), t = x.transpose(0, 2), p = x.permute({2, 0, 1});
  Tensor s = x.slice(2, 1, 4, 2), e = x.select(1, 2), u = x.unsqueeze(0);
  for (const Tensor &v : {r, t, p, s, e, u, u.squeeze(0)})
    EXPECT_TRUE(v.shares_storage(x));
  EXPECT_EQ(t.shape(), (Shape{4, 3, 2}));
  EXPECT_FALSE(t.is_contiguous());
  EXPECT_EQ(s.shape(), (Shape{2, 3, 2}));
  EXPECT_EQ(e.shape(), (Shape{2, 4}));
  // Values of the views.
  EXPECT_FLOAT_EQ(t.contiguous().to_vector<float>()[1 * 6 + 2 * 2 + 1],
                  x.to_vector<float>()[1 * 12 + 2 * 4 + 1]);
  EXPECT_EQ(s.to_vector<float>(),
            (std::vector<float>{1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23}));
  EXPECT_EQ(e.to_vector<float>(),
            (std::vector<float>{8, 9, 10, 11, 20, 21, 22, 23}));
  EXPECT_EQ(x.slice(0, -1, 2).shape(), (Shape{1, 3, 4}));
  // A write through a view is visible in the base.
  Tensor row = x.select(0, 1).select(0, 0);
  fill_(row, -1.0);
  EXPECT_FLOAT_EQ(x.to_vector<float>()[12], -1.f);
  EXPECT_FLOAT_EQ(x.to_vector<float>()[15], -1.f);
  // Copies do not share.
  EXPECT_FALSE(x.clone().shares_storage(x));
  EXPECT_FALSE(t.contiguous().shares_storage(x));
  EXPECT_TRUE(x.contiguous().shares_storage(x));
  // reshape of a non-contiguous tensor copies.
  EXPECT_FALSE(t.reshape({-1}).shares_storage(x));
  EXPECT_EQ(x.reshape({-1, 2}).shape(), (Shape{12, 2}));
}

TEST(Tensor, Expand) {
  Tensor b = Tensor::from<float>({1, 2, 3}, {3});
  Tensor e = b.expand({2, 3});
  EXPECT_TRUE(e.shares_storage(b));
  EXPECT_EQ(e.to_vector<float>(), (std::vector<float>{1, 2, 3, 1, 2, 3}));
  EXPECT_THROW(b.expand({2, 4}), Error);
}

TEST(Tensor, Conversions) {
  Tensor x = Tensor::from<double>({1.5, -2.7, 3}, {3});
  EXPECT_EQ(x.to(DType::i64).to_vector<int64_t>(),
            (std::vector<int64_t>{1, -2, 3}));
  EXPECT_EQ(x.to(DType::f32).dtype(), DType::f32);
  EXPECT_EQ(x.to(DType::b8).to_vector<bool>(),
            (std::vector<bool>{true, true, true}));
  EXPECT_EQ(x.to_vector<float>(), (std::vector<float>{1.5f, -2.7f, 3.f}));
  Tensor c = x.clone();
  fill_(c, 0.0);
  EXPECT_DOUBLE_EQ(x.to_vector<double>()[0], 1.5); // the clone was written
  EXPECT_EQ(x.to(Device{}).shares_storage(x), true);
}

TEST(Tensor, Printing) {
  std::ostringstream s;
  s << Tensor::from<float>({1, 2, 3, 4}, {2, 2});
  EXPECT_EQ(s.str(), "Tensor f32 [2,2]\n[[1, 2],\n [3, 4]]");
  std::ostringstream l;
  l << iota({20});
  EXPECT_NE(l.str().find("..."), std::string::npos);
  std::ostringstream u;
  u << Tensor();
  EXPECT_EQ(u.str(), "Tensor(undefined)");
}

TEST(Tensor, ErrorsNameShapes) {
  auto msg = [](auto f) {
    try {
      f();
    } catch (const Error &e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  Tensor x = iota({2, 3});
  EXPECT_EQ(msg([&] {
              x.reshape({4, 2});
            }),
            "reshape: cannot reshape [2,3] (6 elements) to [4,2]");
  EXPECT_EQ(msg([&] { x.select(1, 3); }),
            "select: index 3 out of range for dimension 1 of size 3 in [2,3]");
  EXPECT_EQ(msg([&] { x.transpose(0, 2); }),
            "transpose: dimension 2 out of range for rank 2");
  EXPECT_EQ(msg([&] { x.squeeze(0); }),
            "squeeze: dimension 0 of [2,3] has size 2, not 1");
  EXPECT_EQ(msg([&] {
              (void)Tensor::from<float>({1, 2}, {3});
            }),
            "Tensor::from: 2 values for shape [3] (3 elements)");
  EXPECT_EQ(msg([&] { (void)x.item<float>(); }),
            "item: tensor of shape [2,3] has 6 elements, expected 1");
  EXPECT_EQ(msg([&] { (void)x.data<double>(); }),
            "data: tensor has dtype f32, requested f64");
  EXPECT_NE(msg([&] {
              (void)x.to(Device{Device::cuda, 0});
            }).find("cuda:0"),
            std::string::npos);
  EXPECT_EQ(msg([&] { (void)Tensor().shape(); }), "shape: undefined tensor");
  EXPECT_EQ(msg([&] {
              (void)Tensor::empty({2, -1});
            }),
            "empty: negative dimension in shape [2,-1]");
}

TEST(Device, DefaultFromEnvironment) {
  ::setenv("KNET_DEVICE", "cpu", 1);
  EXPECT_EQ(default_device(), Device{});
  ::setenv("KNET_DEVICE", "cuda", 1);
  if (!cuda_available()) {
    EXPECT_THROW(default_device(), Error);
  }
  ::setenv("KNET_DEVICE", "tpu", 1);
  EXPECT_THROW(default_device(), Error);
  ::unsetenv("KNET_DEVICE");
  EXPECT_EQ(default_device().kind,
            cuda_available() ? Device::cuda : Device::cpu);
}

TEST(Allocator, ReusesFreedBlocks) {
  empty_cache();
  MemoryStats s0 = memory_stats();
  void *first = nullptr;
  {
    Tensor a = Tensor::empty({1000});
    first = a.data_ptr();
  }
  MemoryStats s1 = memory_stats();
  EXPECT_EQ(s1.bytes_in_use, s0.bytes_in_use);
  EXPECT_GE(s1.bytes_cached, 4000u);
  {
    // Same size class: the block comes back from the cache.
    Tensor b = Tensor::empty({990});
    EXPECT_EQ(b.data_ptr(), first);
    MemoryStats s2 = memory_stats();
    EXPECT_EQ(s2.cache_hits, s1.cache_hits + 1);
    EXPECT_EQ(s2.system_allocs, s1.system_allocs);
    EXPECT_GE(s2.peak_bytes, s2.bytes_in_use);
  }
  empty_cache();
  EXPECT_EQ(memory_stats().bytes_cached, 0u);
}

TEST(Allocator, PeakTracksHighWater) {
  reset_peak_memory();
  size_t base = memory_stats().bytes_in_use;
  {
    Tensor big = Tensor::empty({1 << 20});
    EXPECT_GE(memory_stats().peak_bytes, base + (4u << 20));
  }
  EXPECT_GE(memory_stats().peak_bytes, base + (4u << 20));
  reset_peak_memory();
  EXPECT_EQ(memory_stats().peak_bytes, memory_stats().bytes_in_use);
}

// Shape arithmetic that overflows int64 is an error naming the op and the
// shape, never a tensor with a wrong numel or a crash.
TEST(Tensor, ShapeArithmeticOverflowIsAnError) {
  const int64_t big = int64_t(1) << 62;
  auto message = [](auto f) -> std::string {
    try {
      f();
    } catch (const Error &e) {
      return e.what();
    }
    return "(no error)";
  };
  EXPECT_NE(message([&] {
              (void)Tensor::zeros({big, 4});
            }).find("more elements than an int64 counts"),
            std::string::npos);
  EXPECT_EQ(message([&] {
              (void)Tensor::empty({big, 4});
            }),
            "empty: shape [4611686018427387904,4] has more elements than an "
            "int64 counts");
  EXPECT_EQ(
      message([&] { (void)Tensor::empty({int64_t(1) << 61}, DType::f64); }),
      "empty: [2305843009213693952] of f64 would take more bytes than "
      "an int64 counts");
  Tensor x = Tensor::zeros({4});
  EXPECT_EQ(
      message([&] {
        (void)x.reshape({4, 4294967297, 4294967295, 4294967297, 4294967295});
      }),
      "reshape: cannot reshape [4]: "
      "[4,4294967297,4294967295,4294967297,4294967295] has more elements "
      "than an int64 counts");
  EXPECT_EQ(message([&] {
              (void)Tensor::zeros({1, 1}).expand({big, 4});
            }),
            "expand: shape [4611686018427387904,4] has more elements than an "
            "int64 counts");
  EXPECT_EQ(message([&] {
              (void)Tensor::zeros({2, 3}).permute({4294967297, 0});
            }),
            "permute: dimension 4294967297 out of range for rank 2 in "
            "[4294967297,0]");
  // No elements, but strides that would overflow (found by fuzz_idx: an
  // idx header with dims 0, 4282459655, 4279271168).
  EXPECT_EQ(message([&] {
              (void)Tensor::empty({0, 4282459655, 4279271168}, DType::u8);
            }),
            "empty: shape [0,4282459655,4279271168] has more elements than "
            "an int64 counts");
  EXPECT_EQ(Tensor::empty({0, 1 << 20, 1 << 20}).numel(), 0);
}
