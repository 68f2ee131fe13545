// The kernel cache's file validation: any file is valid (then exactly the
// bytes written for its key) or invalid, never a crash.
#include "fuzz_util.h"

#include "jit/cache.h"

#include <cstring>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string &path = knet::fuzz::as_file(data, size, ".cubin");
  // The key of the seed corpus, and one taken from the input's head.
  const std::string key = "knet_k0-0123456789abcdef";
  std::vector<char> cubin;
  if (knet::detail::kernel_cache_file_valid(path, key, cubin) &&
      knet::detail::kernel_cache_file_bytes(key, cubin) !=
          std::string(reinterpret_cast<const char *>(data), size))
    __builtin_trap(); // valid must mean: what we would have written
  return 0;
}
