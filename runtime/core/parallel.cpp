// Thread count for the CPU kernels.
#include "core/parallel.h"

#include <omp.h>

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
// oneDNN runs on the same OpenMP runtime: one setting governs both.
int apply(int n) {
  omp_set_num_threads(n);
  return n;
}
int g_threads = apply(initial_threads());
} // namespace

int num_threads() { return g_threads; }
void set_num_threads(int n) { g_threads = apply(n > 0 ? n : 1); }
} // namespace knet
