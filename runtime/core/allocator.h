// The caching allocator behind every Storage (internal).
#pragma once

#include <knet/memory.h>

#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace knet::detail {

// A caching allocator over one device's raw allocation functions: requests
// are rounded to size classes, freed blocks are kept for reuse, and when the
// device is out of memory every cached block is released and the request
// retried. Thread-safe. The CPU and each CUDA device have one.
class CachingAllocator {
public:
  struct Raw {
    std::function<void *(size_t)> allocate; // null when out of memory
    std::function<void(void *)> deallocate;
    // Why the last allocate failed (optional), for the error message.
    std::function<std::string()> last_error = {};
  };
  // `name` names the device in errors; freed blocks beyond `max_cached`
  // bytes go back to the device.
  CachingAllocator(std::string name, Raw raw, size_t max_cached);

  void *allocate(size_t nbytes);
  void deallocate(void *p, size_t nbytes);
  MemoryStats stats() const;
  void empty_cache();
  void reset_peak();

private:
  void release_locked();

  const std::string name_;
  const Raw raw_;
  const size_t max_cached_;
  mutable std::mutex mu_;
  std::unordered_map<size_t, std::vector<void *>> free_;
  MemoryStats stats_;
};

// The allocator of `device`; throws when no backend serves it.
CachingAllocator &allocator_for(Device device);
// Size class of a request: what the allocator really reserves.
size_t size_class(size_t nbytes);
// Where the CUDA backend registers the allocators of its devices (index by
// device ordinal), once, when it is loaded.
void register_cuda_allocators(std::vector<CachingAllocator *> allocators);

} // namespace knet::detail
