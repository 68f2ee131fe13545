// The JIT kernel cache (knet/jit.h): memory, then disk, then NVRTC. The disk
// format and its validation are described in docs/jit.md.
#include "jit/cache.h"
#include "jit/nvrtc.h"

#include <knet/error.h>
#include <knet/jit.h>

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <future>
#include <mutex>
#include <unordered_map>

namespace knet {

namespace {

namespace fs = std::filesystem;

// ---------------------------------------------------------------- hashing

// MurmurHash64A (Austin Appleby, public domain), little-endian reads.
uint64_t murmur64(const char *data, size_t len, uint64_t seed) {
  const uint64_t m = 0xc6a4a7935bd1e995ULL;
  const int r = 47;
  uint64_t h = seed ^ (len * m);
  size_t n = len / 8;
  for (size_t i = 0; i < n; ++i) {
    uint64_t k = 0;
    for (int b = 7; b >= 0; --b)
      k = (k << 8) | static_cast<unsigned char>(data[i * 8 + b]);
    k *= m;
    k ^= k >> r;
    k *= m;
    h ^= k;
    h *= m;
  }
  const char *tail = data + n * 8;
  size_t rest = len & 7;
  if (rest) {
    uint64_t k = 0;
    for (size_t b = rest; b-- > 0;)
      k = (k << 8) | static_cast<unsigned char>(tail[b]);
    h ^= k;
    h *= m;
  }
  h ^= h >> r;
  h *= m;
  h ^= h >> r;
  return h;
}

constexpr uint64_t kKeySeedLo = 0x6b6e65742d6a6974ULL; // "knet-jit"
constexpr uint64_t kKeySeedHi = 0x9e3779b97f4a7c15ULL;
constexpr uint64_t kChecksumSeed = 0x637562696e2d7631ULL; // "cubin-v1"

std::string hex64(uint64_t v) {
  static const char digits[] = "0123456789abcdef";
  std::string s(16, '0');
  for (int i = 15; i >= 0; --i, v >>= 4)
    s[i] = digits[v & 15];
  return s;
}

void put_u32(std::string &s, uint32_t v) {
  for (int i = 0; i < 4; ++i)
    s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void put_u64(std::string &s, uint64_t v) {
  for (int i = 0; i < 8; ++i)
    s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
uint32_t get_u32(const char *p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i)
    v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}
uint64_t get_u64(const char *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i)
    v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

void put_field(std::string &s, const std::string &field) {
  put_u64(s, field.size());
  s += field;
}

// Everything that changes the cubin goes into the key, each field length-
// prefixed so that no two specs serialise alike. The fixed NVRTC options are
// part of it, so changing them in nvrtc.cpp invalidates old entries.
std::string kernel_key(const KernelSpec &spec, const std::string &version) {
  std::string s;
  put_field(s, "knet-jit-key-v1");
  put_field(s, "nvrtc " + version);
  put_field(s, "-default-device --std=c++17");
  put_field(s, spec.arch);
  put_field(s, spec.name);
  put_field(s, spec.source);
  put_u64(s, spec.options.size());
  for (const auto &o : spec.options)
    put_field(s, o);
  return hex64(murmur64(s.data(), s.size(), kKeySeedHi)) +
         hex64(murmur64(s.data(), s.size(), kKeySeedLo));
}

// ---------------------------------------------------------------- the file
//
//   offset      size  field
//   0           8     magic "KNETCUBN"
//   8           4     format version (u32 LE) = 1
//   12          4     key length K (u32 LE)
//   16          K     key (ASCII hex)
//   16+K        8     payload size N (u64 LE)
//   24+K        8     payload checksum (u64 LE, MurmurHash64A)
//   32+K        N     payload: the cubin
// The file is exactly 32+K+N bytes.

constexpr char kMagic[8] = {'K', 'N', 'E', 'T', 'C', 'U', 'B', 'N'};
constexpr uint32_t kFormatVersion = 1;
constexpr uint64_t kMaxFileSize = uint64_t(1) << 30;

std::string encode(const std::string &key, const std::vector<char> &cubin) {
  std::string s(kMagic, sizeof kMagic);
  put_u32(s, kFormatVersion);
  put_u32(s, static_cast<uint32_t>(key.size()));
  s += key;
  put_u64(s, cubin.size());
  put_u64(s, murmur64(cubin.data(), cubin.size(), kChecksumSeed));
  s.append(cubin.data(), cubin.size());
  return s;
}

enum class Load { missing, valid, invalid };

// Reads and validates `path`; the payload goes to `cubin` only if valid.
Load read_cache_file(const std::string &path, const std::string &key,
                     std::vector<char> &cubin) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return errno == ENOENT ? Load::missing : Load::invalid;
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < 0 ||
      static_cast<uint64_t>(st.st_size) > kMaxFileSize) {
    ::close(fd);
    return Load::invalid;
  }
  std::string data(static_cast<size_t>(st.st_size), '\0');
  size_t got = 0;
  while (got < data.size()) {
    ssize_t n = ::read(fd, data.data() + got, data.size() - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  if (got != data.size())
    return Load::invalid;

  const size_t fixed = 32;
  if (data.size() < fixed + key.size() ||
      std::memcmp(data.data(), kMagic, sizeof kMagic) != 0 ||
      get_u32(data.data() + 8) != kFormatVersion ||
      get_u32(data.data() + 12) != key.size() ||
      data.compare(16, key.size(), key) != 0)
    return Load::invalid;
  const char *p = data.data() + 16 + key.size();
  uint64_t size = get_u64(p);
  uint64_t checksum = get_u64(p + 8);
  if (size != data.size() - fixed - key.size())
    return Load::invalid;
  const char *payload = p + 16;
  if (murmur64(payload, size, kChecksumSeed) != checksum)
    return Load::invalid;
  cubin.assign(payload, payload + size);
  return Load::valid;
}

// Writes `path` atomically: a uniquely named temporary file in the same
// directory, renamed over `path`. Best effort: any failure leaves the cache
// as it was (and no temporary file behind).
void write_cache_file(const std::string &dir, const std::string &path,
                      const std::string &key, const std::vector<char> &cubin) {
  static std::atomic<uint64_t> counter{0};
  const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
  const std::string tmp = dir + "/." + key + ".cubin.tmp." +
                          std::to_string(::getpid()) + "." +
                          std::to_string(counter.fetch_add(1)) + "." +
                          hex64(static_cast<uint64_t>(now));
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0)
    return;
  const std::string data = encode(key, cubin);
  size_t put = 0;
  bool ok = true;
  while (put < data.size()) {
    ssize_t n = ::write(fd, data.data() + put, data.size() - put);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      ok = false;
      break;
    }
    put += static_cast<size_t>(n);
  }
  if (::close(fd) != 0)
    ok = false;
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0)
    ::unlink(tmp.c_str());
}

bool ensure_dir(const std::string &dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  return fs::is_directory(dir, ec);
}

// ---------------------------------------------------------------- the cache

using KernelPtr = std::shared_ptr<const CompiledKernel>;

// One key's entry: ready, or being loaded/compiled by the thread that made
// it (the others wait on the future).
struct Slot {
  std::promise<KernelPtr> promise;
  std::shared_future<KernelPtr> future = promise.get_future().share();
};

struct Cache {
  std::mutex mutex; // guards slots
  std::unordered_map<std::string, std::shared_ptr<Slot>> slots;
  std::atomic<int64_t> compiles{0}, memory_hits{0}, disk_hits{0},
      disk_rejects{0};
};

// Never destroyed: kernels may be requested from other static destructors.
Cache &cache() {
  static Cache *c = new Cache;
  return *c;
}

std::string join(const std::vector<std::string> &v) {
  std::string s;
  for (const auto &x : v)
    s += (s.empty() ? "" : " ") + x;
  return s.empty() ? "none" : s;
}

KernelPtr load_or_compile(const KernelSpec &spec, const std::string &key,
                          const std::string &version) {
  Cache &c = cache();
  const std::string dir = jit_cache_dir();
  const bool disk = !dir.empty() && ensure_dir(dir);
  const std::string path = dir + "/" + key + ".cubin";
  if (disk) {
    std::vector<char> cubin;
    switch (read_cache_file(path, key, cubin)) {
    case Load::valid:
      c.disk_hits.fetch_add(1, std::memory_order_relaxed);
      return std::make_shared<const CompiledKernel>(
          CompiledKernel{key, std::move(cubin), spec.name});
    case Load::invalid: {
      c.disk_rejects.fetch_add(1, std::memory_order_relaxed);
      std::error_code ec;
      fs::remove(path, ec);
      break;
    }
    case Load::missing:
      break;
    }
  }

  c.compiles.fetch_add(1, std::memory_order_relaxed);
  jit::NvrtcResult r =
      jit::nvrtc_compile(spec.source, spec.name, spec.arch, spec.options);
  if (!r.ok)
    detail::fail("jit: kernel '", spec.name, "' failed to compile for ",
                 spec.arch, " (NVRTC ", version,
                 ", options: ", join(spec.options), "):\n", r.log);
  if (disk)
    write_cache_file(dir, path, key, r.cubin);
  return std::make_shared<const CompiledKernel>(
      CompiledKernel{key, std::move(r.cubin), spec.name});
}

} // namespace

std::shared_ptr<const CompiledKernel> compile_kernel(const KernelSpec &spec) {
  if (spec.name.empty())
    detail::fail("jit: compile_kernel: the kernel name is empty");
  if (spec.arch.empty())
    detail::fail("jit: compile_kernel: kernel '", spec.name,
                 "' has no arch (expected e.g. \"sm_80\")");
  // Loads NVRTC on the first call; throws if it cannot.
  const std::string version = jit::nvrtc_version();
  const std::string key = kernel_key(spec, version);

  Cache &c = cache();
  std::shared_ptr<Slot> slot;
  bool owner = false;
  {
    std::lock_guard<std::mutex> lock(c.mutex);
    auto it = c.slots.find(key);
    if (it != c.slots.end()) {
      slot = it->second;
    } else {
      slot = std::make_shared<Slot>();
      c.slots.emplace(key, slot);
      owner = true;
    }
  }
  if (!owner) {
    KernelPtr k = slot->future.get(); // rethrows the owner's error
    c.memory_hits.fetch_add(1, std::memory_order_relaxed);
    return k;
  }
  try {
    KernelPtr k = load_or_compile(spec, key, version);
    slot->promise.set_value(k);
    return k;
  } catch (...) {
    slot->promise.set_exception(std::current_exception());
    // Forget the failure so that a later call tries again.
    std::lock_guard<std::mutex> lock(c.mutex);
    auto it = c.slots.find(key);
    if (it != c.slots.end() && it->second == slot)
      c.slots.erase(it);
    throw;
  }
}

JitStats jit_stats() {
  const Cache &c = cache();
  JitStats s;
  s.compiles = c.compiles.load(std::memory_order_relaxed);
  s.memory_hits = c.memory_hits.load(std::memory_order_relaxed);
  s.disk_hits = c.disk_hits.load(std::memory_order_relaxed);
  s.disk_rejects = c.disk_rejects.load(std::memory_order_relaxed);
  return s;
}

void jit_reset_stats() {
  Cache &c = cache();
  c.compiles = 0;
  c.memory_hits = 0;
  c.disk_hits = 0;
  c.disk_rejects = 0;
}

void jit_clear_memory_cache() {
  Cache &c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  // Compiles in flight finish for their callers; later calls start afresh.
  c.slots.clear();
}

std::string jit_cache_dir() {
  if (const char *env = std::getenv("KNET_CACHE_DIR"); env && *env)
    return env;
  std::string home;
  if (const char *env = std::getenv("HOME"); env && *env) {
    home = env;
  } else {
    struct passwd pw, *found = nullptr;
    char buf[4096];
    if (::getpwuid_r(::getuid(), &pw, buf, sizeof buf, &found) == 0 && found &&
        found->pw_dir && *found->pw_dir)
      home = found->pw_dir;
  }
  if (home.empty())
    return ""; // no disk cache
  return home + "/.cache/knet/kernels";
}

} // namespace knet

namespace knet::detail {

bool kernel_cache_file_valid(const std::string &path, const std::string &key,
                             std::vector<char> &cubin) {
  return read_cache_file(path, key, cubin) == Load::valid;
}

std::string kernel_cache_file_bytes(const std::string &key,
                                    const std::vector<char> &cubin) {
  return encode(key, cubin);
}

} // namespace knet::detail
