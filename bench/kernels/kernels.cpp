// CPU kernel bandwidth: GB/s of knet's exp, tanh, sigm, logsumexp rows and
// one Adam step over 10M f32 values, against a STREAM-style triad
// (a = b + s*c) that this program measures in the same run. Each kernel's
// bytes are what it must read and write once (exp: 4 read + 4 written per
// value; Adam: p, g, m, v read, p, m, v written); the table gives each as a
// fraction of the triad's bandwidth (issue target: >= 60%).
//
//   knet_kernels [--n 10000000] [--reps 20] [--cols 1000]
//
// Threads: KNET_NUM_THREADS (bench/run.sh --threads); knet sets OpenMP's
// count from it, which the triad uses too.
#include <knet/knet.h>
#include <knet/vmath.h>

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "bench.h"

using namespace knet;

namespace {

// The best of `reps` timings of f, in seconds (after one warm-up call).
double best_time(int reps, const std::function<void()> &f) {
  f();
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    f();
    auto t1 = std::chrono::steady_clock::now();
    best = std::min(best, std::chrono::duration<double>(t1 - t0).count());
  }
  return best;
}

} // namespace

int main(int argc, char **argv) {
  bench::Args args(argc, argv);
  const int64_t n = args.integer("n", 10'000'000);
  const int reps = static_cast<int>(args.integer("reps", 20));
  const int64_t cols = args.integer("cols", 1000);
  if (n <= 0 || reps <= 0 || cols <= 0 || n % cols != 0) {
    std::fprintf(stderr, "knet_kernels: --n and --cols must be positive, "
                         "--n a multiple of --cols\n");
    return 2;
  }
  Tensor x = rand({n}, DType::f32) * 8.0 - 4.0;
  Tensor b = rand({n}, DType::f32), c = rand({n}, DType::f32);
  Tensor a = Tensor::empty({n}, DType::f32);
  const double gb = 1e-9 * static_cast<double>(n) * sizeof(float);

  struct Row {
    std::string name;
    double bytes; // GB moved per call
    double seconds;
  };
  std::vector<Row> rows;
  // The triad: a = b + s*c over plain arrays, in parallel like knet's
  // kernels (the same OpenMP runtime and thread count).
  {
    float *pa = a.data<float>();
    const float *pb = b.data<float>(), *pc = c.data<float>();
    const float s = 3.0f;
    const int threads = omp_get_max_threads();
    double t = best_time(reps, [&] {
#pragma omp parallel for num_threads(threads) schedule(static)
      for (int64_t i = 0; i < n; ++i)
        pa[i] = pb[i] + s * pc[i];
    });
    rows.push_back({"triad a = b + s*c", 3 * gb, t});
  }
  // Results are kept alive across calls so that each call writes a fresh
  // tensor from the allocator's cache, as a training step does.
  Tensor y;
  rows.push_back({"exp", 2 * gb, best_time(reps, [&] { y = exp(x); })});
  rows.push_back({"tanh", 2 * gb, best_time(reps, [&] { y = tanh(x); })});
  rows.push_back({"sigm", 2 * gb, best_time(reps, [&] { y = sigm(x); })});
  Tensor xr = x.reshape({n / cols, cols});
  rows.push_back({"logsumexp rows [" + std::to_string(n / cols) + "," +
                      std::to_string(cols) + "]",
                  gb, best_time(reps, [&] { y = logsumexp(xr, 1); })});
  {
    Param p(rand({n}, DType::f32));
    Tensor g = rand({n}, DType::f32) * 0.01;
    Adam opt;
    rows.push_back(
        {"Adam step", 7 * gb, best_time(reps, [&] { opt.update(p, g); })});
  }

  const double triad = rows[0].bytes / rows[0].seconds;
  std::printf("# knet CPU kernels: %lld f32 values, %d threads, vector math "
              "%s, best of %d\n\n",
              static_cast<long long>(n), omp_get_max_threads(),
              detail::vm::isa(), reps);
  std::printf("| kernel | ms | GB/s | of triad |\n|---|---:|---:|---:|\n");
  for (const Row &r : rows) {
    double bw = r.bytes / r.seconds;
    std::printf("| %s | %.2f | %.1f | %.0f%% |\n", r.name.c_str(),
                1e3 * r.seconds, bw, 100 * bw / triad);
  }
  return 0;
}
