// The rules for shapes and constant arguments that hold whatever a tensor
// holds: each returns what is wrong, or "" when the argument is valid. This
// is their one statement: the runtime's ops check them (prefixing the op's
// name) and knetc checks them on constant arguments at the user's line. The
// option rules of convolution, pooling and batchnorm are beside their
// options (knet/ops/conv.h, knet/ops/norm.h).
#pragma once

#include <knet/error.h>

#include <cstdint>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace knet {

// The product of the nonzero dims (the largest contiguous stride), or
// nullopt when it overflows int64.
inline std::optional<int64_t> nonzero_dims_product(const Shape &shape) {
  int64_t n = 1;
  for (int64_t s : shape)
    if (s != 0 && __builtin_mul_overflow(n, s, &n))
      return std::nullopt;
  return n;
}

// A tensor's shape: dims >= 0 whose product fits in int64.
inline std::string shape_error(const Shape &shape) {
  for (int64_t s : shape)
    if (s < 0)
      return "negative dimension in shape " + shape_str(shape);
  if (!nonzero_dims_product(shape))
    return "shape " + shape_str(shape) +
           " has more elements than an int64 "
           "counts";
  return {};
}

// Tensor::from: `count` values for a valid shape (shape_error) fill it.
inline std::string from_count_error(int64_t count, const Shape &shape) {
  int64_t n = 1;
  for (int64_t s : shape)
    n *= s; // (cannot overflow: a valid shape)
  if (count != n)
    return std::to_string(count) + " values for shape " + shape_str(shape) +
           " (" + std::to_string(n) + " elements)";
  return {};
}

// The sizes of reshape: dims >= 0 and at most one -1 (inferred), the
// product of the others fitting in int64. Whether the element counts agree
// depends on the tensor.
inline std::string reshape_error(const Shape &sizes) {
  int inferred = 0;
  Shape known;
  for (int64_t s : sizes) {
    if (s == -1 && inferred++)
      return "more than one -1 in " + shape_str(sizes);
    if (s < -1)
      return "negative dimension in " + shape_str(sizes);
    if (s != -1)
      known.push_back(s);
  }
  if (!nonzero_dims_product(known))
    return shape_str(sizes) + " has more elements than an int64 counts";
  return {};
}

// A permutation of the order.size() dims of a tensor (negative dims count
// from the end).
inline std::string permute_error(const Shape &order) {
  const int64_t r = static_cast<int64_t>(order.size());
  std::vector<bool> seen(order.size());
  for (int64_t d : order) {
    if (d < -r || d >= r)
      return "dimension " + std::to_string(d) + " out of range for rank " +
             std::to_string(r) + " in " + shape_str(order);
    if (seen[d < 0 ? d + r : d])
      return "repeated dimension in " + shape_str(order);
    seen[d < 0 ? d + r : d] = true;
  }
  return {};
}

// The dims a reduction folds: none given twice. With the tensor's rank
// (rank >= 0) each must be in range and negative ones count from the end;
// without it (knetc, rank < 0) only dims written twice are found.
template <class Dims>
std::string reduce_dims_error(const Dims &dims, int64_t rank) {
  for (size_t i = 0; i < dims.size(); ++i) {
    int64_t d = dims[i];
    if (rank >= 0 && (d < -rank || d >= rank))
      return "dimension " + std::to_string(d) + " out of range for rank " +
             std::to_string(rank);
    for (size_t j = 0; j < i; ++j) {
      int64_t e = dims[j];
      if (rank >= 0 ? (d + rank) % rank == (e + rank) % rank : d == e)
        return "dimension " + std::to_string(d) + " given twice";
    }
  }
  return {};
}

// The step of slice.
inline std::string slice_step_error(int64_t step) {
  if (step <= 0)
    return "step must be positive, got " + std::to_string(step);
  return {};
}

// The number of pieces of chunk.
inline std::string chunk_count_error(int64_t n) {
  if (n <= 0)
    return "number of chunks must be positive, got " + std::to_string(n);
  return {};
}

// The drop probability of dropout.
inline std::string dropout_p_error(double p) {
  if (!(p >= 0 && p < 1)) {
    std::ostringstream s;
    s << "p must be in [0, 1), got " << p;
    return s.str();
  }
  return {};
}

} // namespace knet
