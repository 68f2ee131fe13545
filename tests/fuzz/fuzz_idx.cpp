// The MNIST idx reader (plain or gzip'ed) on any bytes.
#include "fuzz_util.h"

#include <knet/data.h>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string &path = knet::fuzz::as_file(data, size, "-idx");
  knet::fuzz::expect_clean([&] { (void)knet::read_idx(path).numel(); });
  return 0;
}
