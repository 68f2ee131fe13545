// Helpers of the libFuzzer targets (make fuzz, scripts/fuzz.sh).
#pragma once

#include <knet/error.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <unistd.h>

namespace knet::fuzz {

// The input as a file: the loaders take paths. One file per process,
// rewritten for every input, removed at exit.
inline const std::string &as_file(const uint8_t *data, size_t size,
                                  const char *suffix = "") {
  static const std::string path =
      "/tmp/knet-fuzz-" + std::to_string(::getpid()) + suffix;
  static struct Remove {
    ~Remove() { std::remove(path.c_str()); }
  } remove;
  std::FILE *f = std::fopen(path.c_str(), "wb");
  if (!f)
    __builtin_trap();
  if (size && std::fwrite(data, 1, size, f) != size)
    __builtin_trap();
  std::fclose(f);
  return path;
}

// Runs `f`: a knet::Error is the expected answer to a bad input; anything
// else (another exception, a crash, a sanitizer report) is a finding.
template <class F> void expect_clean(F f) {
  try {
    f();
  } catch (const knet::Error &) {
  }
}

} // namespace knet::fuzz
