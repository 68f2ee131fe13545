// The caching allocator and the allocator registry.
#include "core/allocator.h"
#include "core/cuda.h"

#include <knet/error.h>

#include <atomic>
#include <bit>
#include <cstdlib>

namespace knet::detail {

size_t size_class(size_t nbytes) {
  if (nbytes == 0)
    nbytes = 1;
  if (nbytes <= 512)
    return (nbytes + 63) & ~size_t{63};
  // Four classes per power of two: at most 25% slack.
  size_t p = std::bit_floor(nbytes);
  size_t step = p / 4;
  return (nbytes + step - 1) / step * step;
}

CachingAllocator::CachingAllocator(std::string name, Raw raw, size_t max_cached)
    : name_(std::move(name)), raw_(std::move(raw)), max_cached_(max_cached) {}

void *CachingAllocator::allocate(size_t nbytes) {
  size_t cls = size_class(nbytes);
  std::lock_guard<std::mutex> lock(mu_);
  ++stats_.allocations;
  void *p = nullptr;
  auto it = free_.find(cls);
  if (it != free_.end() && !it->second.empty()) {
    p = it->second.back();
    it->second.pop_back();
    stats_.bytes_cached -= cls;
    ++stats_.cache_hits;
  } else {
    p = raw_.allocate(cls);
    if (!p) {
      // Out of memory: give every cached block back and try once more.
      release_locked();
      p = raw_.allocate(cls);
    }
    if (!p)
      fail("out of memory: cannot allocate ", cls, " bytes on ", name_, " (",
           stats_.bytes_in_use, " bytes in use by tensors)",
           raw_.last_error ? ": " + raw_.last_error() : std::string());
    ++stats_.system_allocs;
  }
  stats_.bytes_in_use += cls;
  if (stats_.bytes_in_use > stats_.peak_bytes)
    stats_.peak_bytes = stats_.bytes_in_use;
  return p;
}

void CachingAllocator::deallocate(void *p, size_t nbytes) {
  if (!p)
    return;
  size_t cls = size_class(nbytes);
  std::lock_guard<std::mutex> lock(mu_);
  stats_.bytes_in_use -= cls;
  if (stats_.bytes_cached + cls > max_cached_) {
    raw_.deallocate(p);
    return;
  }
  free_[cls].push_back(p);
  stats_.bytes_cached += cls;
}

MemoryStats CachingAllocator::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void CachingAllocator::empty_cache() {
  std::lock_guard<std::mutex> lock(mu_);
  release_locked();
}

void CachingAllocator::reset_peak() {
  std::lock_guard<std::mutex> lock(mu_);
  stats_.peak_bytes = stats_.bytes_in_use;
}

void CachingAllocator::release_locked() {
  for (auto &[cls, blocks] : free_)
    for (void *b : blocks)
      raw_.deallocate(b);
  free_.clear();
  stats_.bytes_cached = 0;
}

namespace {

constexpr size_t kCpuAlignment = 64;
// Freed CPU blocks beyond this many cached bytes go back to the system.
constexpr size_t kCpuMaxCachedBytes = size_t{4} << 30;

// Registered once by the CUDA backend; read without a lock afterwards.
std::vector<CachingAllocator *> g_cuda_allocators;
std::atomic<bool> g_cuda_registered{false};

} // namespace

void register_cuda_allocators(std::vector<CachingAllocator *> allocators) {
  if (g_cuda_registered.load())
    fail("register_cuda_allocators: already registered");
  g_cuda_allocators = std::move(allocators);
  g_cuda_registered.store(true, std::memory_order_release);
}

CachingAllocator &allocator_for(Device device) {
  if (device.kind == Device::cpu) {
    // Never destroyed: storages may outlive static destruction order.
    static CachingAllocator *cpu = new CachingAllocator(
        "the CPU",
        {[](size_t n) { return std::aligned_alloc(kCpuAlignment, n); },
         [](void *p) { std::free(p); }},
        kCpuMaxCachedBytes);
    return *cpu;
  }
  // Loads the backend (or throws naming the device).
  cuda::require(device, "allocate");
  if (!g_cuda_registered.load(std::memory_order_acquire) || device.index < 0 ||
      device.index >= static_cast<int>(g_cuda_allocators.size()))
    fail("device ", device_str(device), " is not available");
  return *g_cuda_allocators[device.index];
}

} // namespace knet::detail

namespace knet {
MemoryStats memory_stats(Device device) {
  return detail::allocator_for(device).stats();
}
void empty_cache(Device device) { detail::allocator_for(device).empty_cache(); }
void reset_peak_memory(Device device) {
  detail::allocator_for(device).reset_peak();
}
} // namespace knet
