// read_table (whitespace-separated numbers) on any bytes, with and without
// skipped rows.
#include "fuzz_util.h"

#include <knet/data.h>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string &path = knet::fuzz::as_file(data, size, ".txt");
  knet::fuzz::expect_clean([&] { (void)knet::read_table(path).numel(); });
  knet::fuzz::expect_clean([&] { (void)knet::read_table(path, 1).numel(); });
  return 0;
}
