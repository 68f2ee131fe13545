// The caching allocator behind every Storage (internal).
#pragma once

#include <knet/memory.h>

#include <cstddef>

namespace knet::detail {

// A device allocator: size classes, reuse before allocating, release-all-and-
// retry when the system is out of memory. Thread-safe.
class Allocator {
public:
  virtual ~Allocator() = default;
  virtual void *allocate(size_t nbytes) = 0;
  virtual void deallocate(void *p, size_t nbytes) = 0;
  virtual MemoryStats stats() const = 0;
  virtual void empty_cache() = 0;
  virtual void reset_peak() = 0;
};

// The allocator of `device`; throws when no backend serves it.
Allocator &allocator_for(Device device);
// Size class of a request: what the allocator really reserves.
size_t size_class(size_t nbytes);
// Where a backend (the CUDA plugin) registers its allocator.
void register_allocator(Device::Kind kind, Allocator *allocator);

} // namespace knet::detail
