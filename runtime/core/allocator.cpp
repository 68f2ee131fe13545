// The caching CPU allocator and the allocator registry.
#include "core/allocator.h"

#include <knet/error.h>

#include <bit>
#include <cstdlib>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

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

namespace {

constexpr size_t kAlignment = 64;
// Freed blocks beyond this many cached bytes go back to the system.
constexpr size_t kMaxCachedBytes = size_t{4} << 30;

class CpuAllocator final : public Allocator {
public:
  void *allocate(size_t nbytes) override {
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
      p = std::aligned_alloc(kAlignment, cls);
      if (!p) {
        release_locked();
        p = std::aligned_alloc(kAlignment, cls);
      }
      if (!p)
        fail("out of memory: cannot allocate ", cls, " bytes on the CPU (",
             stats_.bytes_in_use, " bytes in use)");
      ++stats_.system_allocs;
    }
    stats_.bytes_in_use += cls;
    if (stats_.bytes_in_use > stats_.peak_bytes)
      stats_.peak_bytes = stats_.bytes_in_use;
    return p;
  }

  void deallocate(void *p, size_t nbytes) override {
    if (!p)
      return;
    size_t cls = size_class(nbytes);
    std::lock_guard<std::mutex> lock(mu_);
    stats_.bytes_in_use -= cls;
    if (stats_.bytes_cached + cls > kMaxCachedBytes) {
      std::free(p);
      return;
    }
    free_[cls].push_back(p);
    stats_.bytes_cached += cls;
  }

  MemoryStats stats() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return stats_;
  }

  void empty_cache() override {
    std::lock_guard<std::mutex> lock(mu_);
    release_locked();
  }

  void reset_peak() override {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.peak_bytes = stats_.bytes_in_use;
  }

private:
  void release_locked() {
    for (auto &[cls, blocks] : free_)
      for (void *b : blocks)
        std::free(b);
    free_.clear();
    stats_.bytes_cached = 0;
  }

  mutable std::mutex mu_;
  std::unordered_map<size_t, std::vector<void *>> free_;
  MemoryStats stats_;
};

// The CUDA plugin's allocator, once registered.
Allocator *g_cuda_allocator = nullptr;

} // namespace

void register_allocator(Device::Kind kind, Allocator *allocator) {
  if (kind != Device::cuda)
    fail("register_allocator: only the CUDA allocator can be replaced");
  g_cuda_allocator = allocator;
}

Allocator &allocator_for(Device device) {
  if (device.kind == Device::cpu) {
    // Never destroyed: storages may outlive static destruction order.
    static CpuAllocator *cpu = new CpuAllocator();
    return *cpu;
  }
  if (!g_cuda_allocator)
    fail("device ", device_str(device),
         " is not available: no CUDA backend is loaded");
  return *g_cuda_allocator;
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
