// knetc's whole pipeline on any C++ source: Clang parses it (with the
// runtime's headers), the frontend lowers its KNET_COMPILE functions, then
// autodiff, fusion and the C++ emitter run, as `knetc --emit=cpp` does.
// Diagnostics are answers (scripts/fuzz.sh runs it with -close_fd_mask=2:
// they are dropped, the fuzzer's and the sanitizers' reports are not); a
// crash or a sanitizer report is a finding.
// knetc.cpp is compiled in with KNETC_NO_MAIN; its run() is called on a
// thread with a 1 GiB stack, as knetc's main does, and with crash recovery
// off so that crashes reach libFuzzer.
#include "fuzz_util.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Support/thread.h"

#include <optional>

int run(int argc, const char **argv); // knetc.cpp

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string &path = knet::fuzz::as_file(data, size, "-knetc.cpp");
  const char *argv[] = {"knetc", path.c_str(), "--emit=cpp", "-o", "/dev/null"};
  llvm::cl::ResetAllOptionOccurrences();
  llvm::thread worker(std::optional<unsigned>(1u << 30), [&] {
    (void)run(static_cast<int>(std::size(argv)), argv);
  });
  worker.join();
  return 0;
}
