// Allocator statistics.
#pragma once

#include <knet/device.h>

#include <cstddef>
#include <cstdint>

namespace knet {

struct MemoryStats {
  size_t bytes_in_use = 0;    // held by live tensors (rounded to size class)
  size_t peak_bytes = 0;      // high-water mark of bytes_in_use
  size_t bytes_cached = 0;    // freed blocks kept for reuse
  uint64_t allocations = 0;   // requests served
  uint64_t cache_hits = 0;    // requests served from the cache
  uint64_t system_allocs = 0; // requests that went to the system
};

MemoryStats memory_stats(Device device = Device{});
// Returns cached blocks to the system.
void empty_cache(Device device = Device{});
void reset_peak_memory(Device device = Device{});

} // namespace knet
