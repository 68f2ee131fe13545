// knet::load and load_metadata on any bytes: a knet::Error or a valid map.
#include "fuzz_util.h"

#include <knet/io.h>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string &path = knet::fuzz::as_file(data, size, ".safetensors");
  knet::fuzz::expect_clean([&] {
    for (auto &[name, t] : knet::load(path))
      (void)t.numel();
  });
  knet::fuzz::expect_clean([&] { (void)knet::load_metadata(path); });
  return 0;
}
