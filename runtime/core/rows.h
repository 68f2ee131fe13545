// Row helpers shared by the reductions and row ops (ops/reduce.cpp) and the
// losses (ops/loss.cpp). Dense float rows run them in the loops' instruction
// set (core/isa.h) through the fold_* functions at the end.
#pragma once

#include "core/isa.h"

#include <knet/vmath.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

namespace knet::detail {
inline namespace KNET_ISA {

// Independent accumulators of the row loops below, kept in a vector of
// kRowLanes elements (GCC's vector extension: the widest registers of the
// instruction set the file is compiled for, split as needed).
constexpr int kRowLanes = vm::kSumLanes;

template <class T> struct Lanes { static constexpr bool vector = false; };
template <> struct Lanes<float> {
  static constexpr bool vector = true;
  typedef float type __attribute__((vector_size(kRowLanes * sizeof(float))));
};
template <> struct Lanes<double> {
  static constexpr bool vector = true;
  typedef double type __attribute__((vector_size(kRowLanes * sizeof(double))));
};

// The largest (IsMax) or smallest of x[j * stride], j < n, skipping NaNs
// (lowest() or max() when none).
template <bool IsMax, class T>
T row_extremum(const T *x, int64_t n, int64_t stride) {
  const T init =
      IsMax ? std::numeric_limits<T>::lowest() : std::numeric_limits<T>::max();
  auto pick = [](T v, T a) { return (IsMax ? v > a : v < a) ? v : a; };
  T m = init;
  int64_t j = 0;
  if (stride == 1 && n >= kRowLanes) {
    if constexpr (Lanes<T>::vector) {
      using V = typename Lanes<T>::type;
      V lane = V{} + init;
      for (; j + kRowLanes <= n; j += kRowLanes) {
        V v;
        std::memcpy(&v, x + j, sizeof v);
        lane = (IsMax ? v > lane : v < lane) ? v : lane;
      }
      for (int l = 0; l < kRowLanes; ++l)
        m = pick(lane[l], m);
    } else {
      T lane[kRowLanes];
      for (T &l : lane)
        l = init;
      for (; j + kRowLanes <= n; j += kRowLanes)
        for (int l = 0; l < kRowLanes; ++l)
          lane[l] = pick(x[j + l], lane[l]);
      for (T l : lane)
        m = pick(l, m);
    }
  }
  for (; j < n; ++j)
    m = pick(x[j * stride], m);
  return m;
}

// A sum in A of values of T given in pieces, each piece but the last a
// multiple of kRowLanes long: kRowLanes partial sums (lane l adds the
// elements j = l mod kRowLanes of the whole sequence), then the last
// piece's tail in order. The lanes are added up once, at the end.
template <class A, class T> class LaneSum {
public:
  LaneSum() = default;
  // The state a store() left: kRowLanes lanes, then the tail.
  explicit LaneSum(const A *state) {
    for (int l = 0; l < kRowLanes; ++l)
      lane_[l] = state[l];
    tail_ = state[kRowLanes];
  }
  void store(A *state) const {
    for (int l = 0; l < kRowLanes; ++l)
      state[l] = lane_[l];
    state[kRowLanes] = tail_;
  }
  void add(const T *x, int64_t n) {
    int64_t j = 0;
    for (; j + kRowLanes <= n; j += kRowLanes) {
      if constexpr (vector) {
        VT v;
        std::memcpy(&v, x + j, sizeof v);
        lane_ += __builtin_convertvector(v, VA);
      } else {
        for (int l = 0; l < kRowLanes; ++l)
          lane_[l] += static_cast<A>(x[j + l]);
      }
    }
    for (; j < n; ++j)
      tail_ += static_cast<A>(x[j]);
  }
  A total() const {
    A s = 0;
    for (int l = 0; l < kRowLanes; ++l)
      s += lane_[l];
    return s + tail_;
  }

private:
  static constexpr bool vector = Lanes<A>::vector && Lanes<T>::vector;
  using VA = typename Lanes<std::conditional_t<vector, A, double>>::type;
  using VT = typename Lanes<std::conditional_t<vector, T, double>>::type;
  std::conditional_t<vector, VA, std::array<A, kRowLanes>> lane_{};
  A tail_ = 0;
};

// sum_j x[j] for j < n in A (LaneSum).
template <class A, class T> A row_sum(const T *x, int64_t n) {
  LaneSum<A, T> s;
  s.add(x, n);
  return s.total();
}

// sum_j exp(x[j * stride] - m) for j < n, each term computed in T on the
// vector math, summed in double as row_sum sums (one LaneSum over the row's
// blocks). With `next` (the row to be read after this one, n elements from
// it), a unit-stride row prefetches it as it goes, so that reading the next
// row from memory overlaps this row's exponentials.
template <class T>
double sum_exp_shifted(const T *x, int64_t n, int64_t stride, T m,
                       const T *next = nullptr) {
  constexpr int64_t K = vm::kBlock;
  alignas(64) T buf[K];
  constexpr int64_t kLine = 64 / sizeof(T);
  LaneSum<double, T> s;
  for (int64_t j0 = 0; j0 < n; j0 += K) {
    const int64_t k = n - j0 < K ? n - j0 : K;
    if (next && stride == 1)
      for (int64_t j = 0; j < k; j += kLine)
        __builtin_prefetch(next + j0 + j);
    if (stride == 1 && k == K) { // a constant trip count: GCC vectorizes it
      for (int64_t j = 0; j < K; ++j)
        buf[j] = x[j0 + j] - m;
    } else {
      for (int64_t j = 0; j < k; ++j)
        buf[j] = x[(j0 + j) * stride] - m;
    }
    vm::exp(buf, buf, k);
    s.add(buf, k);
  }
  return s.total();
}

} // namespace KNET_ISA

// row_extremum, row_sum and sum_exp_shifted; unit-stride float rows run in
// the loops' instruction set (kernels()).
template <bool IsMax, class T>
T fold_extremum(const T *x, int64_t n, int64_t stride) {
  if constexpr (std::is_same_v<T, float>)
    if (stride == 1)
      return IsMax ? kernels().row_max(x, n) : kernels().row_min(x, n);
  return row_extremum<IsMax>(x, n, stride);
}

template <class A, class T> A fold_sum(const T *x, int64_t n) {
  if constexpr (std::is_same_v<T, float> && std::is_same_v<A, double>)
    return kernels().row_sum(x, n);
  else
    return row_sum<A>(x, n);
}

template <class T>
double fold_sum_exp(const T *x, int64_t n, int64_t stride, T m,
                    const T *next = nullptr) {
  if constexpr (std::is_same_v<T, float>)
    if (stride == 1)
      return kernels().sum_exp_shifted(x, n, m, next);
  return sum_exp_shifted(x, n, stride, m, next);
}

// A row's log-sum-exp as a shift and a sum: logsumexp = m + log(s), with m
// the row's max (0 when it is not finite: inf - inf would be NaN) and s the
// sum of exp(x - m). `next` as for sum_exp_shifted.
template <class T> struct ShiftedExpSum {
  T m;
  double s;
};
template <class T>
ShiftedExpSum<T> shifted_exp_sum(const T *x, int64_t n, int64_t stride,
                                 const T *next) {
  T m = fold_extremum<true>(x, n, stride);
  if (!std::isfinite(m))
    m = 0;
  return {m, fold_sum_exp(x, n, stride, m, next)};
}

} // namespace knet::detail
