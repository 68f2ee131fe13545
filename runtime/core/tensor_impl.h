// What a Tensor handle points at (internal).
#pragma once

#include <knet/tensor.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

namespace knet::detail {

struct Storage {
  Storage(size_t nbytes, Device device);
  ~Storage();
  Storage(const Storage &) = delete;
  Storage &operator=(const Storage &) = delete;
  void *data = nullptr;
  size_t nbytes = 0;
  Device device;
  // Bumped by every in-place write.
  std::atomic<uint64_t> version{0};
};

struct ParamImpl;

// Where a value lives on a tape that is recording: the tape's id and the
// value's slot there.
struct TapeRef {
  uint64_t tape_id;
  int64_t slot;
};

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape shape;
  Shape strides; // elements
  int64_t offset = 0;
  DType dtype = DType::f32;
  // A weak scalar (Tensor::is_weak): 0-d, f64, on the CPU.
  bool weak = false;
  // Autograd bookkeeping: the tapes that track this value, and the Param
  // whose value this is (if any).
  std::vector<TapeRef> tracks;
  std::weak_ptr<ParamImpl> param;

  char *data() const {
    return static_cast<char *>(storage->data) +
           offset * static_cast<int64_t>(dtype_size(dtype));
  }
};

int64_t shape_numel(const Shape &shape);
// The element count of a shape whose dims are >= 0, or nullopt when it does
// not fit in int64 (the one overflow check of shape arithmetic).
std::optional<int64_t> checked_numel(const Shape &shape);
// Throws, naming `op`, unless `shape` is a tensor's shape (shape_error).
void check_shape(const Shape &shape, const char *op);
Shape contiguous_strides(const Shape &shape);
// NumPy broadcasting of two shapes; throws naming `op`.
Shape broadcast_shapes(const Shape &a, const Shape &b, const char *op);
// The same, or nullopt when they do not broadcast.
std::optional<Shape> try_broadcast_shapes(const Shape &a, const Shape &b);
// The dims of `from` that sum_to(x, to) folds (x of shape `from`), or
// nullopt when `from` does not reduce to `to`.
std::optional<std::vector<int>> sum_to_dims(const Shape &from, const Shape &to);
// x itself when contiguous, else a contiguous copy that no tape records
// (for kernels that need dense memory; the op records its own inputs).
Tensor dense(const Tensor &x);
// Makes a tensor impl that views `storage`.
Tensor make_view(const Tensor &base, Shape shape, Shape strides,
                 int64_t offset);

} // namespace knet::detail
