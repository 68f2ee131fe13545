// Thread count for the CPU kernels.
#include "core/parallel.h"

#include <cstdlib>
#include <thread>

namespace knet {
namespace {
int initial_threads() {
  if (const char *env = std::getenv("KNET_NUM_THREADS")) {
    int n = std::atoi(env);
    if (n > 0)
      return n;
  }
  unsigned hw = std::thread::hardware_concurrency();
  return hw ? static_cast<int>(hw) : 1;
}
int g_threads = initial_threads();
} // namespace

int num_threads() { return g_threads; }
void set_num_threads(int n) { g_threads = n > 0 ? n : 1; }
} // namespace knet
