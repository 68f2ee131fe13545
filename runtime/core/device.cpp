// Devices, dtypes and shape helpers.
#include "core/cuda.h"
#include "core/dispatch.h"
#include "core/tensor_impl.h"

#include <knet/checks.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <optional>
#include <string>

namespace knet {

const char *dtype_name(DType t) {
  switch (t) {
  case DType::f32:
    return "f32";
  case DType::f64:
    return "f64";
  case DType::f16:
    return "f16";
  case DType::bf16:
    return "bf16";
  case DType::i32:
    return "i32";
  case DType::i64:
    return "i64";
  case DType::u8:
    return "u8";
  case DType::b8:
    return "b8";
  }
  return "?";
}

size_t dtype_size(DType t) {
  switch (t) {
  case DType::f64:
  case DType::i64:
    return 8;
  case DType::f32:
  case DType::i32:
    return 4;
  case DType::f16:
  case DType::bf16:
    return 2;
  case DType::u8:
  case DType::b8:
    return 1;
  }
  return 1;
}

std::string device_str(Device d) {
  if (d.kind == Device::cpu)
    return "cpu";
  return "cuda:" + std::to_string(d.index);
}

namespace {
std::atomic<bool> g_allow_tf32{[] {
  const char *env = std::getenv("KNET_ALLOW_TF32");
  return env && *env && std::string(env) != "0";
}()};
} // namespace

void set_allow_tf32(bool allow) { g_allow_tf32.store(allow); }
bool allow_tf32() { return g_allow_tf32.load(); }

bool cuda_available() { return detail::cuda::device_count() > 0; }

Device default_device() {
  const char *env = std::getenv("KNET_DEVICE");
  if (!env || !*env)
    return cuda_available() ? Device{Device::cuda, 0} : Device{};
  std::string s(env);
  if (s == "cpu")
    return Device{};
  if (s.rfind("cuda", 0) == 0) {
    int index = 0;
    if (s.size() > 4) {
      if (s[4] != ':' || s.size() == 5)
        detail::fail("KNET_DEVICE=", s, ": expected cpu, cuda or cuda:N");
      try {
        index = std::stoi(s.substr(5));
      } catch (...) {
        detail::fail("KNET_DEVICE=", s, ": expected cpu, cuda or cuda:N");
      }
    }
    if (!cuda_available())
      detail::fail("KNET_DEVICE=", s, ": no usable CUDA device (",
                   detail::cuda::unavailable_reason(), ")");
    if (index < 0 || index >= detail::cuda::device_count())
      detail::fail("KNET_DEVICE=", s, ": there are ",
                   detail::cuda::device_count(), " CUDA devices");
    return Device{Device::cuda, index};
  }
  detail::fail("KNET_DEVICE=", s, ": expected cpu, cuda or cuda:N");
}

int normalize_dim(int dim, int rank, const char *op) {
  int d = dim < 0 ? dim + rank : dim;
  if (d < 0 || d >= rank)
    detail::fail(op, ": dimension ", dim, " out of range for rank ", rank);
  return d;
}

namespace detail {

std::optional<int64_t> checked_numel(const Shape &shape) {
  // The product of the nonzero dims must fit too: it is the largest
  // contiguous stride ([0, 2^32, 2^32] has no elements but strides that
  // overflow).
  std::optional<int64_t> n = nonzero_dims_product(shape);
  if (n && std::find(shape.begin(), shape.end(), 0) != shape.end())
    return 0;
  return n;
}

void check_shape(const Shape &shape, const char *op) {
  if (std::string e = shape_error(shape); !e.empty())
    fail(op, ": ", e);
}

int64_t shape_numel(const Shape &shape) {
  int64_t n = 1;
  for (int64_t s : shape)
    n *= s;
  return n;
}

Shape contiguous_strides(const Shape &shape) {
  Shape st(shape.size());
  int64_t s = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    st[i] = s;
    s *= shape[i];
  }
  return st;
}

std::optional<Shape> try_broadcast_shapes(const Shape &a, const Shape &b) {
  size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t x = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t y = i < n - b.size() ? 1 : b[i - (n - b.size())];
    if (x != y && x != 1 && y != 1)
      return std::nullopt;
    out[i] = x == 1 ? y : x;
  }
  return out;
}

std::optional<std::vector<int>> sum_to_dims(const Shape &from,
                                            const Shape &to) {
  const int r = static_cast<int>(from.size()), n = static_cast<int>(to.size());
  if (n > r)
    return std::nullopt;
  std::vector<int> dims;
  for (int i = 0; i < r; ++i) {
    const int s = i - (r - n);
    if (s < 0 || (to[s] == 1 && from[i] != 1))
      dims.push_back(i);
    else if (to[s] != from[i])
      return std::nullopt;
  }
  return dims;
}

Shape broadcast_shapes(const Shape &a, const Shape &b, const char *op) {
  std::optional<Shape> out = try_broadcast_shapes(a, b);
  if (!out)
    fail(op, ": shapes ", shape_str(a), " and ", shape_str(b),
         " cannot broadcast");
  return *out;
}

void check_cpu(const Tensor &t, const char *op) {
  if (!t.defined())
    fail(op, ": undefined tensor");
  if (t.device().kind != Device::cpu)
    fail(op, ": tensor on ", device_str(t.device()),
         " but this kernel runs on the CPU");
}

void unify_scalar_dtype(Tensor &a, Tensor &b) {
  if (!a.defined() || !b.defined() || a.dtype() == b.dtype() ||
      !is_floating(a.dtype()) || !is_floating(b.dtype()))
    return;
  if (a.is_weak() && !b.is_weak())
    a = a.to(b.dtype());
  else if (b.is_weak() && !a.is_weak())
    b = b.to(a.dtype());
}

void propagate_weak(Tensor &y, std::span<const Tensor *const> in) {
  if (!is_floating(y.dtype()) || y.rank() != 0 ||
      y.device().kind != Device::cpu)
    return;
  bool any = false;
  for (const Tensor *t : in) {
    if (!t->defined() || !is_floating(t->dtype()))
      continue;
    if (!t->is_weak())
      return;
    any = true;
  }
  if (any)
    y.impl()->weak = true;
}

std::optional<DType> promoted_float_dtype(std::span<const Tensor *const> in) {
  std::optional<DType> strong;
  for (const Tensor *t : in) {
    if (t->is_weak())
      continue;
    if (strong && *strong != t->dtype())
      return std::nullopt;
    strong = t->dtype();
  }
  return strong.value_or(DType::f64);
}

void check_same_dtype(const Tensor &a, const Tensor &b, const char *op) {
  if (a.dtype() != b.dtype())
    fail(op, ": dtype mismatch: ", dtype_name(a.dtype()), " ",
         shape_str(a.shape()), " vs ", dtype_name(b.dtype()), " ",
         shape_str(b.shape()));
}

} // namespace detail
} // namespace knet
