// knet::Tensor: a ref-counted n-d array or view over shared storage.
#pragma once

#include <knet/device.h>
#include <knet/dtype.h>
#include <knet/error.h>

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <span>
#include <vector>

namespace knet {

namespace detail {
struct TensorImpl;
}

class Tensor {
public:
  Tensor() = default; // undefined
  explicit Tensor(std::shared_ptr<detail::TensorImpl> impl);

  static Tensor empty(Shape shape, DType dtype = DType::f32,
                      Device device = default_device());
  static Tensor zeros(Shape shape, DType dtype = DType::f32,
                      Device device = default_device());
  static Tensor ones(Shape shape, DType dtype = DType::f32,
                     Device device = default_device());
  static Tensor full(Shape shape, double value, DType dtype = DType::f32,
                     Device device = default_device());
  // Copies `data` (numel must match the shape) into a new CPU tensor.
  template <class T> static Tensor from(std::span<const T> data, Shape shape);
  template <class T>
  static Tensor from(const std::vector<T> &data, Shape shape) {
    return from(std::span<const T>(data.data(), data.size()), std::move(shape));
  }
  // A 0-d CPU tensor. Without a dtype it is *weak*, like a C++ number
  // (docs/ops.md, "Dtype promotion"): it holds `value` exactly in f64 and
  // takes the float dtype of any tensor it meets. With a dtype it is that
  // dtype, as any tensor.
  static Tensor scalar(double value);
  static Tensor scalar(double value, DType dtype);

  const Shape &shape() const;
  const Shape &strides() const; // in elements
  int64_t offset() const;       // in elements
  int64_t size(int dim) const;  // negative dims count from the end
  int rank() const;
  int64_t numel() const;
  DType dtype() const;
  Device device() const;
  bool defined() const { return impl_ != nullptr; }
  bool is_contiguous() const;
  // Whether this is a weak scalar (Tensor::scalar(v) without a dtype, or
  // the result of an op whose float operands are all weak).
  bool is_weak() const;

  Tensor to(Device device) const;
  Tensor to(DType dtype) const;
  Tensor contiguous() const;
  Tensor clone() const;

  template <class T> T item() const;
  template <class T> std::vector<T> to_vector() const;

  // Views (no copy). reshape copies only when the tensor is not contiguous;
  // one dimension may be -1.
  Tensor reshape(Shape shape) const;
  Tensor transpose(int a, int b) const;
  Tensor permute(Shape order) const;
  Tensor slice(int dim, int64_t begin, int64_t end, int64_t step = 1) const;
  Tensor select(int dim, int64_t i) const;
  Tensor squeeze(int dim) const;
  Tensor unsqueeze(int dim) const;
  // Broadcast view to `shape` (stride 0 along expanded dims).
  Tensor expand(Shape shape) const;

  // Raw access to the first element; the CPU only.
  void *data_ptr() const;
  template <class T> T *data() const;

  // Whether two tensors share one storage.
  bool shares_storage(const Tensor &other) const;

  detail::TensorImpl *impl() const { return impl_.get(); }
  const std::shared_ptr<detail::TensorImpl> &impl_ptr() const { return impl_; }

private:
  std::shared_ptr<detail::TensorImpl> impl_;
};

std::ostream &operator<<(std::ostream &os, const Tensor &t);

// Normalizes a possibly negative dimension index; throws naming `op`.
int normalize_dim(int dim, int rank, const char *op);

} // namespace knet
