// Row helpers shared by the reductions and row ops (ops/reduce.cpp) and the
// losses (ops/loss.cpp).
#pragma once

#include <knet/vmath.h>

#include <cstdint>
#include <limits>

namespace knet::detail {

// Independent accumulators of the row loops below: the compiler keeps them
// in vector registers.
constexpr int kRowLanes = 16;

// The largest (IsMax) or smallest of x[j * stride], j < n, skipping NaNs
// (lowest() or max() when none).
template <bool IsMax, class T>
T row_extremum(const T *x, int64_t n, int64_t stride) {
  const T init =
      IsMax ? std::numeric_limits<T>::lowest() : std::numeric_limits<T>::max();
  auto pick = [](T v, T a) { return (IsMax ? v > a : v < a) ? v : a; };
  T lane[kRowLanes];
  for (T &l : lane)
    l = init;
  int64_t j = 0;
  if (stride == 1)
    for (; j + kRowLanes <= n; j += kRowLanes)
      for (int l = 0; l < kRowLanes; ++l)
        lane[l] = pick(x[j + l], lane[l]);
  T m = init;
  for (T l : lane)
    m = pick(l, m);
  for (; j < n; ++j)
    m = pick(x[j * stride], m);
  return m;
}

// sum_j x[j] for j < n in A: kRowLanes partial sums, then the tail in order.
template <class A, class T> A row_sum(const T *x, int64_t n) {
  A lane[kRowLanes] = {};
  int64_t j = 0;
  for (; j + kRowLanes <= n; j += kRowLanes)
    for (int l = 0; l < kRowLanes; ++l)
      lane[l] += static_cast<A>(x[j + l]);
  A s = 0;
  for (A l : lane)
    s += l;
  for (; j < n; ++j)
    s += static_cast<A>(x[j]);
  return s;
}

// sum_j exp(x[j * stride] - m) for j < n, each term computed in T on the
// vector math, summed in double block by block (row_sum).
template <class T>
double sum_exp_shifted(const T *x, int64_t n, int64_t stride, T m) {
  alignas(64) T buf[vm::kBlock];
  double s = 0;
  for (int64_t j0 = 0; j0 < n; j0 += vm::kBlock) {
    const int64_t k = n - j0 < vm::kBlock ? n - j0 : vm::kBlock;
    for (int64_t j = 0; j < k; ++j)
      buf[j] = x[(j0 + j) * stride] - m;
    vm::exp(buf, buf, k);
    s += row_sum<double>(buf, k);
  }
  return s;
}

} // namespace knet::detail
