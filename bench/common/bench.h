// What every benchmark program shares, knet's and LibTorch's alike: command
// line options, the data directory, a deterministic random stream for the
// initial weights and the batch order (so that both frameworks start from the
// same numbers and see the same batches), timing, and the result lines that
// bench/run.sh reads.
//
// This header depends on the standard library only: the LibTorch programs
// include it too.
#pragma once

#include "../../examples/example_args.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <map>
#include <numeric>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace bench {

// ---------------------------------------------------------------------------
// Command line: `--name value` pairs.
// ---------------------------------------------------------------------------

using Args = example::Args; // the examples' options: one parser

// The folder with the full data sets: --data, else $KNET_DATA_DIR, else
// ../shared/data next to the repository (run.sh always passes --data).
inline std::string data_root(const Args &args) {
  std::string d = args.str("data", "");
  if (d.empty()) {
    const char *env = std::getenv("KNET_DATA_DIR");
    d = env && *env ? env : "../shared/data";
  }
  return d;
}

// The thread count asked for: --threads, else $KNET_NUM_THREADS, else 1.
inline int threads(const Args &args) {
  const char *env = std::getenv("KNET_NUM_THREADS");
  int fallback = env && *env ? std::atoi(env) : 1;
  return static_cast<int>(args.integer("threads", fallback));
}

// ---------------------------------------------------------------------------
// A deterministic random stream (splitmix64), the same in every program.
// ---------------------------------------------------------------------------

class Rng {
public:
  explicit Rng(uint64_t seed) : s_(seed) {}
  uint64_t next() {
    uint64_t z = (s_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  // Standard normal (Box-Muller).
  double normal() {
    double u1 = uniform(), u2 = uniform();
    if (u1 < 1e-300)
      u1 = 1e-300;
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2 * M_PI * u2);
  }
  // Uniform integer in [0, n).
  uint64_t below(uint64_t n) { return next() % n; }

private:
  uint64_t s_;
};

// A permutation of 0..n-1 (Fisher-Yates).
inline std::vector<int64_t> permutation(int64_t n, Rng &rng) {
  std::vector<int64_t> p(static_cast<size_t>(n));
  std::iota(p.begin(), p.end(), 0);
  for (int64_t i = n - 1; i > 0; --i)
    std::swap(p[static_cast<size_t>(i)],
              p[static_cast<size_t>(rng.below(static_cast<uint64_t>(i + 1)))]);
  return p;
}

// ---------------------------------------------------------------------------
// Initial weights: knet's schemes (runtime/ops/random.cpp), drawn from Rng so
// that every implementation starts from the same numbers.
// ---------------------------------------------------------------------------

using Shape = std::vector<int64_t>;

inline int64_t numel(const Shape &s) {
  int64_t n = 1;
  for (int64_t d : s)
    n *= d;
  return n;
}

// Glorot's fans, as knet computes them: [out, in] for 2-D, [Cout, Cin, k...]
// for convolution weights, [n] for vectors.
inline std::pair<double, double> fans(const Shape &shape) {
  if (shape.empty())
    return {1.0, 1.0};
  if (shape.size() == 1)
    return {double(shape[0]), double(shape[0])};
  double receptive = 1;
  for (size_t i = 2; i < shape.size(); ++i)
    receptive *= double(shape[i]);
  return {double(shape[1]) * receptive, double(shape[0]) * receptive};
}

// knet::xavier_uniform(): U(-b, b), b = sqrt(6 / (fan_in + fan_out)).
inline std::vector<float> xavier_uniform(const Shape &shape, Rng &rng) {
  auto [fi, fo] = fans(shape);
  double b = std::sqrt(6.0 / (fi + fo));
  std::vector<float> w(static_cast<size_t>(numel(shape)));
  for (float &v : w)
    v = static_cast<float>((2 * rng.uniform() - 1) * b);
  return w;
}

// knet::gaussian(0, std).
inline std::vector<float> gaussian(const Shape &shape, double std, Rng &rng) {
  std::vector<float> w(static_cast<size_t>(numel(shape)));
  for (float &v : w)
    v = static_cast<float>(std * rng.normal());
  return w;
}

inline std::vector<float> zeros(const Shape &shape) {
  return std::vector<float>(static_cast<size_t>(numel(shape)), 0.0f);
}

// ---------------------------------------------------------------------------
// Timing and results.
// ---------------------------------------------------------------------------

inline double now() {
  return std::chrono::duration<double>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

inline double median(std::vector<double> v) {
  if (v.empty())
    return 0;
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Median seconds of one call of f: a warm-up of 2 calls, then as many calls
// as fit in about `budget` seconds, at least `min_reps`, at most 1000.
inline double time_call(const std::function<void()> &f, double budget = 2.0,
                        int min_reps = 5) {
  f();
  double t0 = now();
  f();
  double first = std::max(now() - t0, 1e-7);
  int reps = std::clamp(static_cast<int>(budget / first), min_reps, 1000);
  std::vector<double> ts;
  for (int i = 0; i < reps; ++i) {
    double t = now();
    f();
    ts.push_back(now() - t);
  }
  return median(ts);
}

// One result line for run.sh: "@key=value".
template <class T> void result(const std::string &key, const T &value) {
  std::ostringstream s;
  s.precision(6);
  s << "@" << key << "=" << value;
  std::cout << s.str() << std::endl;
}

// The value-and-gradient over forward measurement: both medians and their
// ratio. $BENCH_RATIO_BUDGET (seconds per function, default 2) and
// $BENCH_RATIO_MIN_REPS (default 5) bound the repetitions.
inline void report_ratio(const std::function<void()> &forward,
                         const std::function<void()> &value_and_grad) {
  const char *b = std::getenv("BENCH_RATIO_BUDGET");
  const char *r = std::getenv("BENCH_RATIO_MIN_REPS");
  double budget = b && *b ? std::atof(b) : 2.0;
  int min_reps = r && *r ? std::atoi(r) : 5;
  double f = time_call(forward, budget, min_reps);
  double g = time_call(value_and_grad, budget, min_reps);
  result("forward_ms", f * 1e3);
  result("vg_ms", g * 1e3);
  result("vg_over_forward", g / f);
}

} // namespace bench
