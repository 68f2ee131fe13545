// CharCorpus from a file and from a string, with its batches.
#include "fuzz_util.h"

#include <knet/data.h>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string &path = knet::fuzz::as_file(data, size, ".txt");
  knet::fuzz::expect_clean([&] { (void)knet::CharCorpus(path); });
  knet::fuzz::expect_clean([&] {
    knet::CharCorpus c = knet::CharCorpus::from_string(
        std::string(reinterpret_cast<const char *>(data), size));
    (void)c;
  });
  return 0;
}
