// Parallel loops over the machine's cores (KNET_NUM_THREADS).
#pragma once

#include <cstdint>

namespace knet {
// Number of threads the CPU kernels use: KNET_NUM_THREADS or the cores.
int num_threads();
void set_num_threads(int n);
} // namespace knet

namespace knet::detail {

// Below this many elements work stays on the calling thread.
constexpr int64_t kParallelGrain = 32768;

// Calls f(begin, end) over [0, n) split in chunks across threads when
// n * cost_per_item is large enough; f must be safe to run concurrently.
template <class F> void parallel_for(int64_t n, int64_t cost_per_item, F &&f) {
  int threads = num_threads();
  if (threads <= 1 || n < 2 || n * cost_per_item < kParallelGrain) {
    f(int64_t{0}, n);
    return;
  }
  int64_t chunks = threads;
  if (chunks > n)
    chunks = n;
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t c = 0; c < chunks; ++c) {
    int64_t b = n * c / chunks, e = n * (c + 1) / chunks;
    f(b, e);
  }
}

} // namespace knet::detail
