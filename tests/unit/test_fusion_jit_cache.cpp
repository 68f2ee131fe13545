// The JIT kernel cache (knet/jit.h, runtime/jit/): NVRTC loaded lazily,
// memory and disk hits, keys, rejection of bad cache files, compile errors,
// concurrent compiles, and unusable cache directories. Needs NVRTC (no GPU):
// the tests skip where it cannot be loaded.
#include "test_util.h"

#include "jit/nvrtc.h"

#include <knet/jit.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <latch>
#include <optional>
#include <stdlib.h>
#include <string>
#include <thread>
#include <vector>

using namespace knet;
namespace fs = std::filesystem;

namespace {

bool nvrtc_mapped() {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line))
    if (line.find("libnvrtc") != std::string::npos)
      return true;
  return false;
}

// Whether NVRTC was mapped before main(): it must not be (not a link-time
// dependency of the runtime).
const bool g_nvrtc_mapped_at_start = nvrtc_mapped();
// Set once any test may have loaded NVRTC.
bool g_nvrtc_touched = false;

const char *kSource = "extern \"C\" __global__ void k(float *x, int n) {\n"
                      "  int i = blockIdx.x * blockDim.x + threadIdx.x;\n"
                      "  if (i < n) x[i] = KNET_SCALE * x[i];\n"
                      "}\n";

KernelSpec spec(const std::string &scale = "2.0f",
                const std::string &arch = "sm_80") {
  return KernelSpec{kSource, "k", arch, {"-DKNET_SCALE=" + scale}};
}

std::vector<char> read_bytes(const fs::path &p) {
  std::ifstream in(p, std::ios::binary);
  return std::vector<char>(std::istreambuf_iterator<char>(in), {});
}

void write_bytes(const fs::path &p, const std::vector<char> &bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

bool is_elf(const std::vector<char> &b) {
  return b.size() > 4 && std::memcmp(b.data(),
                                     "\x7f"
                                     "ELF",
                                     4) == 0;
}

// Runs first (file order): nothing has touched NVRTC yet.
TEST(JitNvrtc, NotLoadedUntilFirstUse) {
  EXPECT_FALSE(g_nvrtc_mapped_at_start)
      << "libnvrtc was mapped before main(): it must be dlopen'ed lazily";
  if (!g_nvrtc_touched) {
    // The cache's bookkeeping does not load it either.
    (void)jit_stats();
    (void)jit_cache_dir();
    jit_clear_memory_cache();
    EXPECT_FALSE(nvrtc_mapped());
  }
  g_nvrtc_touched = true;
  if (!jit::nvrtc_available())
    GTEST_SKIP() << "NVRTC cannot be loaded here";
  EXPECT_TRUE(nvrtc_mapped());
  EXPECT_FALSE(jit::nvrtc_library().empty());
}

TEST(JitNvrtc, VersionAndDirectCompile) {
  g_nvrtc_touched = true;
  if (!jit::nvrtc_available())
    GTEST_SKIP() << "NVRTC cannot be loaded here";
  const std::string v = jit::nvrtc_version();
  auto dot = v.find('.');
  ASSERT_NE(dot, std::string::npos) << v;
  EXPECT_GT(std::atoi(v.c_str()), 0) << v;

  auto r = jit::nvrtc_compile(kSource, "k", "sm_80", {"-DKNET_SCALE=2.0f"});
  ASSERT_TRUE(r.ok) << r.log;
  EXPECT_TRUE(is_elf(r.cubin));

  // A virtual architecture yields no cubin: a clear failure, not a crash.
  auto virt =
      jit::nvrtc_compile(kSource, "k", "compute_80", {"-DKNET_SCALE=2.0f"});
  EXPECT_FALSE(virt.ok);
  EXPECT_TRUE(virt.cubin.empty());
  EXPECT_FALSE(virt.log.empty());
}

class JitCache : public ::testing::Test {
protected:
  void SetUp() override {
    g_nvrtc_touched = true;
    if (!jit::nvrtc_available())
      GTEST_SKIP() << "NVRTC cannot be loaded here";
    std::string tmpl = (fs::temp_directory_path() / "knet-jit-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    ASSERT_EQ(setenv("KNET_CACHE_DIR", dir_.c_str(), 1), 0);
    jit_clear_memory_cache();
    jit_reset_stats();
  }
  void TearDown() override {
    unsetenv("KNET_CACHE_DIR");
    if (!dir_.empty())
      fs::remove_all(dir_);
  }
  fs::path file(const std::string &key) const {
    return fs::path(dir_) / (key + ".cubin");
  }
  size_t files_in_dir() const {
    size_t n = 0;
    for ([[maybe_unused]] const auto &e : fs::directory_iterator(dir_))
      ++n;
    return n;
  }
  // Breaks the cache file of spec() with `mutate`, then checks that it is
  // rejected, recompiled and rewritten valid.
  void expect_rejected(const std::function<void(const fs::path &)> &mutate,
                       size_t other_files = 0) {
    auto first = compile_kernel(spec());
    const fs::path p = file(first->key);
    ASSERT_TRUE(fs::exists(p));
    mutate(p);
    jit_clear_memory_cache();
    jit_reset_stats();

    auto again = compile_kernel(spec());
    EXPECT_EQ(jit_stats().disk_rejects, 1);
    EXPECT_EQ(jit_stats().disk_hits, 0);
    EXPECT_EQ(jit_stats().compiles, 1);
    EXPECT_TRUE(is_elf(again->cubin));
    EXPECT_EQ(again->cubin, first->cubin);

    // Rewritten valid: the next load is a disk hit.
    jit_clear_memory_cache();
    auto third = compile_kernel(spec());
    EXPECT_EQ(jit_stats().disk_hits, 1);
    EXPECT_EQ(jit_stats().disk_rejects, 1);
    EXPECT_EQ(jit_stats().compiles, 1);
    EXPECT_EQ(third->cubin, first->cubin);
    EXPECT_EQ(files_in_dir(), 1 + other_files);
  }
  std::string dir_;
};

TEST_F(JitCache, FirstCallCompilesAndWritesFile) {
  auto k = compile_kernel(spec());
  ASSERT_TRUE(k);
  EXPECT_EQ(jit_stats().compiles, 1);
  EXPECT_EQ(jit_stats().memory_hits, 0);
  EXPECT_EQ(jit_stats().disk_hits, 0);
  EXPECT_EQ(k->name, "k");
  EXPECT_EQ(k->key.size(), 32u);
  EXPECT_EQ(k->key.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_TRUE(is_elf(k->cubin));
  EXPECT_EQ(jit_cache_dir(), dir_);
  EXPECT_TRUE(fs::is_regular_file(file(k->key)));
  EXPECT_EQ(files_in_dir(), 1u) << "no temporary file left behind";
}

TEST_F(JitCache, FileFormat) {
  auto k = compile_kernel(spec());
  auto bytes = read_bytes(file(k->key));
  const size_t K = k->key.size();
  ASSERT_EQ(bytes.size(), 32 + K + k->cubin.size());
  EXPECT_EQ(std::string(bytes.data(), 8), "KNETCUBN");
  EXPECT_EQ(bytes[8], 1); // format version, little-endian
  EXPECT_EQ(static_cast<unsigned char>(bytes[12]), K);
  EXPECT_EQ(std::string(bytes.data() + 16, K), k->key);
  uint64_t size = 0;
  std::memcpy(&size, bytes.data() + 16 + K, 8);
  EXPECT_EQ(size, k->cubin.size());
  EXPECT_TRUE(std::equal(k->cubin.begin(), k->cubin.end(),
                         bytes.begin() + static_cast<long>(32 + K)));
}

TEST_F(JitCache, SecondCallIsMemoryHit) {
  auto a = compile_kernel(spec());
  auto b = compile_kernel(spec());
  EXPECT_EQ(a.get(), b.get());
  EXPECT_EQ(jit_stats().compiles, 1);
  EXPECT_EQ(jit_stats().memory_hits, 1);
  EXPECT_EQ(jit_stats().disk_hits, 0);
}

TEST_F(JitCache, DiskHitAfterClearingMemory) {
  auto a = compile_kernel(spec());
  jit_clear_memory_cache();
  auto b = compile_kernel(spec());
  EXPECT_NE(a.get(), b.get());
  EXPECT_EQ(a->key, b->key);
  EXPECT_EQ(a->cubin, b->cubin);
  EXPECT_EQ(jit_stats().compiles, 1);
  EXPECT_EQ(jit_stats().disk_hits, 1);
  EXPECT_EQ(jit_stats().memory_hits, 0);
  // Clearing memory keeps the stats.
  jit_clear_memory_cache();
  EXPECT_EQ(jit_stats().disk_hits, 1);
}

TEST_F(JitCache, DifferentSpecsHaveDifferentKeys) {
  auto a = compile_kernel(spec("2.0f"));
  auto b = compile_kernel(spec("3.0f"));
  auto c = compile_kernel(spec("2.0f", "sm_90"));
  EXPECT_NE(a->key, b->key);
  EXPECT_NE(a->key, c->key);
  EXPECT_NE(b->key, c->key);
  EXPECT_NE(a->cubin, b->cubin);
  EXPECT_EQ(jit_stats().compiles, 3);
  EXPECT_EQ(files_in_dir(), 3u);
}

TEST_F(JitCache, GarbageFileIsRejected) {
  expect_rejected([](const fs::path &p) {
    auto size = fs::file_size(p);
    std::vector<char> junk(size);
    for (size_t i = 0; i < junk.size(); ++i)
      junk[i] = static_cast<char>(i * 131 + 7);
    write_bytes(p, junk);
  });
}

TEST_F(JitCache, TruncatedFileIsRejected) {
  expect_rejected(
      [](const fs::path &p) { fs::resize_file(p, fs::file_size(p) / 2); });
}

TEST_F(JitCache, FlippedPayloadByteIsRejected) {
  expect_rejected([](const fs::path &p) {
    auto bytes = read_bytes(p);
    bytes[bytes.size() - 10] ^= 0x40;
    write_bytes(p, bytes);
  });
}

TEST_F(JitCache, FileOfAnotherKeyIsRejected) {
  auto other = compile_kernel(spec("5.0f"));
  const auto other_file = file(other->key);
  expect_rejected(
      [&](const fs::path &p) {
        fs::copy_file(other_file, p, fs::copy_options::overwrite_existing);
      },
      /*other_files=*/1);
}

TEST_F(JitCache, EmptyFileIsRejected) {
  expect_rejected([](const fs::path &p) { fs::resize_file(p, 0); });
}

TEST_F(JitCache, CompileErrorThrowsWithLog) {
  KernelSpec bad{"extern \"C\" __global__ void k_bad(float *x) { x[0] = 1.0f "
                 "}\n",
                 "k_bad",
                 "sm_80",
                 {}};
  auto direct = jit::nvrtc_compile(bad.source, bad.name, bad.arch);
  ASSERT_FALSE(direct.ok);
  ASSERT_FALSE(direct.log.empty());
  for (int attempt = 1; attempt <= 2; ++attempt) {
    try {
      compile_kernel(bad);
      FAIL() << "expected knet::Error";
    } catch (const Error &e) {
      std::string what = e.what();
      EXPECT_NE(what.find("k_bad"), std::string::npos) << what;
      EXPECT_NE(what.find("sm_80"), std::string::npos) << what;
      EXPECT_NE(what.find("error"), std::string::npos) << what;
      EXPECT_NE(what.find(direct.log), std::string::npos) << what;
    }
    // A failure is not cached: the second attempt compiles again.
    EXPECT_EQ(jit_stats().compiles, attempt);
  }
  EXPECT_EQ(files_in_dir(), 0u);
}

TEST_F(JitCache, ConcurrentSameKernelCompilesOnce) {
  constexpr int n = 4;
  std::vector<std::shared_ptr<const CompiledKernel>> got(n);
  std::latch start(n);
  std::vector<std::thread> threads;
  for (int t = 0; t < n; ++t)
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      got[t] = compile_kernel(spec("7.0f"));
    });
  for (auto &t : threads)
    t.join();
  EXPECT_EQ(jit_stats().compiles, 1);
  EXPECT_EQ(jit_stats().memory_hits, n - 1);
  for (int t = 0; t < n; ++t) {
    ASSERT_TRUE(got[t]);
    EXPECT_EQ(got[t].get(), got[0].get());
  }
  EXPECT_EQ(files_in_dir(), 1u);
}

TEST_F(JitCache, ConcurrentDifferentKernels) {
  constexpr int n = 3;
  std::vector<std::shared_ptr<const CompiledKernel>> got(n);
  std::latch start(n);
  std::vector<std::thread> threads;
  for (int t = 0; t < n; ++t)
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      got[t] = compile_kernel(spec(std::to_string(t + 2) + ".0f"));
    });
  for (auto &t : threads)
    t.join();
  EXPECT_EQ(jit_stats().compiles, n);
  EXPECT_NE(got[0]->key, got[1]->key);
  EXPECT_NE(got[1]->key, got[2]->key);
  EXPECT_EQ(files_in_dir(), static_cast<size_t>(n));
}

TEST_F(JitCache, UnwritableCacheDirStillCompiles) {
  ASSERT_EQ(setenv("KNET_CACHE_DIR", "/proc/knet-nope", 1), 0);
  EXPECT_EQ(jit_cache_dir(), "/proc/knet-nope");
  auto k = compile_kernel(spec());
  EXPECT_TRUE(is_elf(k->cubin));
  EXPECT_EQ(jit_stats().compiles, 1);
  EXPECT_FALSE(fs::exists("/proc/knet-nope"));

  // A cache "directory" that is a file.
  const std::string not_dir = dir_ + "/a-file";
  write_bytes(not_dir, {'x'});
  ASSERT_EQ(setenv("KNET_CACHE_DIR", not_dir.c_str(), 1), 0);
  jit_clear_memory_cache();
  auto k2 = compile_kernel(spec());
  EXPECT_EQ(k2->cubin, k->cubin);
  EXPECT_EQ(jit_stats().compiles, 2);
}

TEST_F(JitCache, DefaultDirIsUnderHome) {
  const char *old = std::getenv("HOME");
  std::optional<std::string> old_home;
  if (old)
    old_home = old;
  ASSERT_EQ(unsetenv("KNET_CACHE_DIR"), 0);
  ASSERT_EQ(setenv("HOME", dir_.c_str(), 1), 0);
  const std::string expected = dir_ + "/.cache/knet/kernels";
  EXPECT_EQ(jit_cache_dir(), expected);
  auto k = compile_kernel(spec());
  EXPECT_TRUE(fs::is_regular_file(fs::path(expected) / (k->key + ".cubin")));
  if (old_home)
    setenv("HOME", old_home->c_str(), 1);
  else
    unsetenv("HOME");
}

TEST_F(JitCache, InvalidSpecThrows) {
  EXPECT_THROW(compile_kernel(KernelSpec{kSource, "", "sm_80", {}}), Error);
  EXPECT_THROW(compile_kernel(KernelSpec{kSource, "k", "", {}}), Error);
  EXPECT_EQ(jit_stats().compiles, 0);
}

} // namespace
