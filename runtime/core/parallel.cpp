// Thread count for the CPU kernels.
#include "core/parallel.h"

#include <omp.h>

#include <cstdlib>
#include <thread>

// OpenBLAS's thread-pool setting, when the BLAS is OpenBLAS (weak: another
// CBLAS links without it).
extern "C" void openblas_set_num_threads(int) __attribute__((weak));

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
// OpenBLAS, which knet calls for small f32 products and for f64 ones, runs
// on the calling thread: knet splits the large ones across its own threads
// (ops/linalg.cpp). Its own pool would wake for products of a few thousand
// multiply-adds and keep a core spinning after each (linreg at two threads
// took 9% longer than at one). It is set first: OpenBLAS's OpenMP builds
// set OpenMP's count in passing.
int apply(int n) {
  if (openblas_set_num_threads)
    openblas_set_num_threads(1);
  omp_set_num_threads(n);
  return n;
}
int g_threads = apply(initial_threads());
} // namespace

int num_threads() { return g_threads; }
void set_num_threads(int n) { g_threads = apply(n > 0 ? n : 1); }
} // namespace knet
