// The JIT kernel cache's file format (internal; runtime/jit/cache.cpp).
#pragma once

#include <string>
#include <vector>

namespace knet::detail {

// Whether the cache file at `path` is valid for kernel `key`: magic, format
// version, key, payload size and checksum all agree (any other file, however
// truncated or corrupt, is invalid and gets recompiled). The payload goes to
// `cubin` only if valid.
bool kernel_cache_file_valid(const std::string &path, const std::string &key,
                             std::vector<char> &cubin);
// The bytes of a valid cache file for `key` holding `cubin`.
std::string kernel_cache_file_bytes(const std::string &key,
                                    const std::vector<char> &cubin);

} // namespace knet::detail
