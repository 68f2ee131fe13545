// Tensor: construction, conversion, views and printing.
#include "core/allocator.h"
#include "core/autograd.h"
#include "core/cuda.h"
#include "core/dispatch.h"
#include "core/loops.h"
#include "core/tensor_impl.h"

#include <knet/checks.h>
#include <knet/ops/elementwise.h>
#include <knet/ops/reduce.h>

#include <algorithm>
#include <cstring>
#include <numeric>
#include <ostream>

namespace knet {
namespace detail {

Storage::Storage(size_t n, Device d) : nbytes(n), device(d) {
  data = allocator_for(d).allocate(n);
}
Storage::~Storage() { allocator_for(device).deallocate(data, nbytes); }

Tensor make_view(const Tensor &base, Shape shape, Shape strides,
                 int64_t offset) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = base.impl()->storage;
  impl->shape = std::move(shape);
  impl->strides = std::move(strides);
  impl->offset = offset;
  impl->dtype = base.dtype();
  return Tensor(std::move(impl));
}

Tensor dense(const Tensor &x) {
  if (x.is_contiguous())
    return x;
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  if (x.device().kind == Device::cuda) {
    cuda::convert(y, x);
    return y;
  }
  dispatch_all(x.dtype(), "dense", [&]<class T>() {
    cpu_map<T, T>(
        y, [](T v) { return v; }, "dense", x);
  });
  return y;
}

namespace {

void check_defined(const Tensor &t, const char *op) {
  if (!t.defined())
    fail(op, ": undefined tensor");
}

// The gradient of a view: zeros of the base's shape with `g` written into
// the same view of them. Its own gradient is the view of the incoming one.
template <class View>
Tensor view_back(const Tensor &g, const Shape &base_shape, DType dtype,
                 View view) {
  Tensor z = Tensor::zeros(base_shape, dtype, g.device());
  Tensor zv = view(z);
  copy_(zv, g);
  if (recording())
    record("view_back", {g}, {z}, [view](const Grads &dy, const Needs &) {
      return Grads{view(dy[0]).contiguous()};
    });
  return z;
}

// Records a view op whose gradient comes from view_back.
template <class View>
void record_view(const char *op, const Tensor &x, const Tensor &y, View view) {
  if (!recording())
    return;
  Shape shape = x.shape();
  DType dtype = x.dtype();
  record(op, {x}, {y}, [shape, dtype, view](const Grads &dy, const Needs &) {
    return Grads{view_back(dy[0], shape, dtype, view)};
  });
}

} // namespace
} // namespace detail

using namespace detail;

Tensor::Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

Tensor Tensor::empty(Shape shape, DType dtype, Device device) {
  check_shape(shape, "empty");
  if (dtype == DType::f16 || dtype == DType::bf16)
    if (device.kind == Device::cpu)
      fail("empty: dtype ", dtype_name(dtype),
           " is stored on CUDA devices only");
  auto impl = std::make_shared<TensorImpl>();
  int64_t n = shape_numel(shape), bytes = 0;
  if (__builtin_mul_overflow(n, static_cast<int64_t>(dtype_size(dtype)),
                             &bytes))
    fail("empty: ", shape_str(shape), " of ", dtype_name(dtype),
         " would take more bytes than an int64 counts");
  try {
    impl->storage =
        std::make_shared<Storage>(static_cast<size_t>(bytes), device);
  } catch (const Error &e) { // out of memory: say for which tensor
    fail("empty: a ", dtype_name(dtype), " tensor ", shape_str(shape), " on ",
         device_str(device), ": ", e.what());
  }
  impl->strides = contiguous_strides(shape);
  impl->shape = std::move(shape);
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

Tensor Tensor::zeros(Shape shape, DType dtype, Device device) {
  Tensor t = empty(std::move(shape), dtype, device);
  if (device.kind == Device::cpu)
    std::memset(t.data_ptr(), 0, t.impl()->storage->nbytes);
  else
    fill_(t, 0.0);
  return t;
}

Tensor Tensor::ones(Shape shape, DType dtype, Device device) {
  return full(std::move(shape), 1.0, dtype, device);
}

Tensor Tensor::full(Shape shape, double value, DType dtype, Device device) {
  Tensor t = empty(std::move(shape), dtype, device);
  fill_(t, value);
  return t;
}

template <class T> Tensor Tensor::from(std::span<const T> data, Shape shape) {
  check_shape(shape, "Tensor::from");
  if (std::string e =
          from_count_error(static_cast<int64_t>(data.size()), shape);
      !e.empty())
    fail("Tensor::from: ", e);
  Tensor t = empty(std::move(shape), dtype_of<T>, Device{});
  if (!data.empty())
    std::memcpy(t.data_ptr(), data.data(), data.size() * sizeof(T));
  return t;
}

Tensor Tensor::scalar(double value) {
  Tensor t = full({}, value, DType::f64, Device{});
  t.impl_->weak = true;
  return t;
}

Tensor Tensor::scalar(double value, DType dtype) {
  return full({}, value, dtype, Device{});
}

bool Tensor::is_weak() const { return impl_ && impl_->weak; }

const Shape &Tensor::shape() const {
  check_defined(*this, "shape");
  return impl_->shape;
}
const Shape &Tensor::strides() const {
  check_defined(*this, "strides");
  return impl_->strides;
}
int64_t Tensor::offset() const { return impl_->offset; }
int64_t Tensor::size(int dim) const {
  return shape()[normalize_dim(dim, rank(), "size")];
}
int Tensor::rank() const { return static_cast<int>(shape().size()); }
int64_t Tensor::numel() const { return shape_numel(shape()); }
DType Tensor::dtype() const {
  check_defined(*this, "dtype");
  return impl_->dtype;
}
Device Tensor::device() const {
  check_defined(*this, "device");
  return impl_->storage->device;
}

bool Tensor::is_contiguous() const {
  int64_t expect = 1;
  for (size_t i = impl_->shape.size(); i-- > 0;) {
    if (impl_->shape[i] == 1)
      continue;
    if (impl_->strides[i] != expect)
      return false;
    expect *= impl_->shape[i];
  }
  return true;
}

void *Tensor::data_ptr() const {
  check_defined(*this, "data_ptr");
  return impl_->data();
}

template <class T> T *Tensor::data() const {
  check_defined(*this, "data");
  if (dtype() != dtype_of<T>)
    fail("data: tensor has dtype ", dtype_name(dtype()), ", requested ",
         dtype_name(dtype_of<T>));
  if (device().kind != Device::cpu)
    fail("data: tensor is on ", device_str(device()),
         "; copy it to the CPU first");
  return reinterpret_cast<T *>(impl_->data());
}

bool Tensor::shares_storage(const Tensor &other) const {
  return defined() && other.defined() && impl_->storage == other.impl_->storage;
}

Tensor Tensor::to(Device device) const {
  check_defined(*this, "to");
  if (device == this->device())
    return *this;
  if (device.kind == Device::cuda)
    cuda::require(device, "to");
  Tensor out = empty(shape(), dtype(), device);
  cuda::copy(out, *this);
  if (recording()) {
    Device from = this->device();
    record("to_device", {*this}, {out}, [from](const Grads &dy, const Needs &) {
      return Grads{dy[0].to(from)};
    });
  }
  return out;
}

Tensor Tensor::to(DType dtype) const {
  check_defined(*this, "to");
  if (dtype == this->dtype())
    // A cast names a dtype: a weak scalar cast to its own is not weak.
    return is_weak() ? make_view(*this, shape(), strides(), offset()) : *this;
  Tensor out = empty(shape(), dtype, device());
  if (device().kind == Device::cuda)
    cuda::convert(out, *this);
  else
    dispatch_all(dtype, "to", [&]<class U>() {
      dispatch_all(this->dtype(), "to", [&]<class T>() {
        cpu_map<U, T>(
            out, [](T v) { return static_cast<U>(v); }, "to", *this);
      });
    });
  if (recording() && is_floating(dtype) && is_floating(this->dtype())) {
    DType from = this->dtype();
    record("to", {*this}, {out}, [from](const Grads &dy, const Needs &) {
      return Grads{dy[0].to(from)};
    });
  }
  return out;
}

Tensor Tensor::contiguous() const {
  check_defined(*this, "contiguous");
  if (is_contiguous())
    return *this;
  return clone();
}

Tensor Tensor::clone() const {
  check_defined(*this, "clone");
  Tensor out = empty(shape(), dtype(), device());
  if (device().kind == Device::cuda)
    cuda::convert(out, *this);
  else
    dispatch_all(dtype(), "clone", [&]<class T>() {
      cpu_map<T, T>(
          out, [](T v) { return v; }, "clone", *this);
    });
  if (recording())
    record("clone", {*this}, {out},
           [](const Grads &dy, const Needs &) { return Grads{dy[0]}; });
  return out;
}

template <class T> T Tensor::item() const {
  check_defined(*this, "item");
  if (numel() != 1)
    fail("item: tensor of shape ", shape_str(shape()), " has ", numel(),
         " elements, expected 1");
  Tensor c = to(dtype_of<T>).to(Device{});
  return *reinterpret_cast<const T *>(c.impl()->data());
}

template <class T> std::vector<T> Tensor::to_vector() const {
  check_defined(*this, "to_vector");
  Tensor c = to(dtype_of<T>).to(Device{}).contiguous();
  const T *p = reinterpret_cast<const T *>(c.impl()->data());
  return std::vector<T>(p, p + c.numel());
}

// to_vector<bool> cannot hand out a pointer range into std::vector<bool>
// storage, but constructing from a range of bools is fine.

Tensor Tensor::reshape(Shape new_shape) const {
  check_defined(*this, "reshape");
  if (std::string e = reshape_error(new_shape); !e.empty())
    fail("reshape: cannot reshape ", shape_str(shape()), ": ", e);
  int64_t n = numel(), known = 1;
  int infer = -1;
  for (size_t i = 0; i < new_shape.size(); ++i) {
    if (new_shape[i] == -1)
      infer = static_cast<int>(i);
    else
      known *= new_shape[i]; // (cannot overflow: reshape_error)
  }
  if (infer >= 0) {
    if (known == 0 || n % known != 0)
      fail("reshape: cannot reshape ", shape_str(shape()), " to ",
           shape_str(new_shape));
    new_shape[infer] = n / known;
  }
  if (shape_numel(new_shape) != n)
    fail("reshape: cannot reshape ", shape_str(shape()), " (", n,
         " elements) to ", shape_str(new_shape));
  Tensor base = contiguous();
  Tensor y =
      make_view(base, new_shape, contiguous_strides(new_shape), base.offset());
  if (recording()) {
    Shape old = shape();
    record("reshape", {*this}, {y}, [old](const Grads &dy, const Needs &) {
      return Grads{dy[0].reshape(old)};
    });
  }
  return y;
}

Tensor Tensor::permute(Shape order) const {
  check_defined(*this, "permute");
  const int r = rank();
  if (static_cast<int>(order.size()) != r)
    fail("permute: order ", shape_str(order), " for a tensor of rank ", r);
  if (std::string e = permute_error(order); !e.empty())
    fail("permute: ", e);
  Shape shape(r), strides(r), inverse(r);
  for (int i = 0; i < r; ++i) {
    int d = normalize_dim(static_cast<int>(order[i]), r, "permute");
    shape[i] = impl_->shape[d];
    strides[i] = impl_->strides[d];
    inverse[d] = i;
  }
  Tensor y = make_view(*this, shape, strides, offset());
  if (recording())
    record("permute", {*this}, {y}, [inverse](const Grads &dy, const Needs &) {
      return Grads{dy[0].permute(inverse)};
    });
  return y;
}

Tensor Tensor::transpose(int a, int b) const {
  check_defined(*this, "transpose");
  const int r = rank();
  a = normalize_dim(a, r, "transpose");
  b = normalize_dim(b, r, "transpose");
  Shape order(r);
  std::iota(order.begin(), order.end(), 0);
  std::swap(order[a], order[b]);
  return permute(order);
}

Tensor Tensor::slice(int dim, int64_t begin, int64_t end, int64_t step) const {
  check_defined(*this, "slice");
  const int d = normalize_dim(dim, rank(), "slice");
  const int64_t n = impl_->shape[d];
  if (std::string e = slice_step_error(step); !e.empty())
    fail("slice: ", e);
  if (begin < 0)
    begin += n;
  if (end < 0)
    end += n;
  begin = std::clamp<int64_t>(begin, 0, n);
  end = std::clamp<int64_t>(end, begin, n);
  Shape shape = impl_->shape, strides = impl_->strides;
  shape[d] = (end - begin + step - 1) / step;
  strides[d] *= step;
  Tensor y =
      make_view(*this, shape, strides, offset() + begin * impl_->strides[d]);
  record_view("slice", *this, y, [d, begin, end, step](const Tensor &t) {
    return t.slice(d, begin, end, step);
  });
  return y;
}

Tensor Tensor::select(int dim, int64_t i) const {
  check_defined(*this, "select");
  const int d = normalize_dim(dim, rank(), "select");
  const int64_t n = impl_->shape[d];
  if (i < -n || i >= n)
    fail("select: index ", i, " out of range for dimension ", d, " of size ", n,
         " in ", shape_str(shape()));
  if (i < 0)
    i += n;
  Shape shape = impl_->shape, strides = impl_->strides;
  int64_t off = offset() + i * strides[d];
  shape.erase(shape.begin() + d);
  strides.erase(strides.begin() + d);
  Tensor y = make_view(*this, shape, strides, off);
  record_view("select", *this, y,
              [d, i](const Tensor &t) { return t.select(d, i); });
  return y;
}

Tensor Tensor::squeeze(int dim) const {
  check_defined(*this, "squeeze");
  const int d = normalize_dim(dim, rank(), "squeeze");
  if (impl_->shape[d] != 1)
    fail("squeeze: dimension ", d, " of ", shape_str(shape()), " has size ",
         impl_->shape[d], ", not 1");
  Shape shape = impl_->shape;
  shape.erase(shape.begin() + d);
  return reshape(shape);
}

Tensor Tensor::unsqueeze(int dim) const {
  check_defined(*this, "unsqueeze");
  const int d = normalize_dim(dim, rank() + 1, "unsqueeze");
  Shape shape = impl_->shape;
  shape.insert(shape.begin() + d, 1);
  return reshape(shape);
}

Tensor Tensor::expand(Shape target) const {
  check_defined(*this, "expand");
  check_shape(target, "expand");
  const int r = rank(), n = static_cast<int>(target.size());
  if (n < r)
    fail("expand: cannot expand ", shape_str(shape()), " to ",
         shape_str(target));
  Shape strides(n, 0);
  for (int i = 0; i < n; ++i) {
    int s = i - (n - r);
    if (s < 0)
      continue;
    if (impl_->shape[s] == target[i])
      strides[i] = impl_->strides[s];
    else if (impl_->shape[s] != 1)
      fail("expand: cannot expand ", shape_str(shape()), " to ",
           shape_str(target));
  }
  Tensor y = make_view(*this, target, strides, offset());
  if (recording()) {
    Shape old = shape();
    record("expand", {*this}, {y}, [old](const Grads &dy, const Needs &) {
      return Grads{sum_to(dy[0], old)};
    });
  }
  return y;
}

namespace {
template <class T>
void print_rec(std::ostream &os, const Tensor &t, int dim, int64_t offset,
               int indent) {
  const T *base = reinterpret_cast<const T *>(t.impl()->storage->data);
  const int64_t n = t.shape()[dim], st = t.strides()[dim];
  const bool last = dim == t.rank() - 1;
  const int64_t edge = 3;
  os << "[";
  for (int64_t i = 0; i < n; ++i) {
    if (n > 2 * edge + 1 && i == edge) {
      os << (last ? "..., " : "...,\n" + std::string(indent + 1, ' '));
      i = n - edge - 1;
      continue;
    }
    if (last) {
      T v = base[offset + i * st];
      if constexpr (std::is_same_v<T, uint8_t>)
        os << static_cast<int>(v);
      else
        os << v;
    } else {
      print_rec<T>(os, t, dim + 1, offset + i * st, indent + 1);
    }
    if (i + 1 < n)
      os << (last ? ", " : ",\n" + std::string(indent + 1, ' '));
  }
  os << "]";
}
} // namespace

std::ostream &operator<<(std::ostream &os, const Tensor &t) {
  if (!t.defined())
    return os << "Tensor(undefined)";
  // f16/bf16 are stored on GPUs only: printed through f32.
  const bool half = t.dtype() == DType::f16 || t.dtype() == DType::bf16;
  Tensor c = (half ? t.to(DType::f32) : t).to(Device{});
  os << "Tensor " << dtype_name(t.dtype()) << " " << shape_str(t.shape());
  if (t.device().kind != Device::cpu)
    os << " " << device_str(t.device());
  os << "\n";
  if (t.rank() == 0) {
    dispatch_all(t.dtype(), "print", [&]<class T>() { os << +c.item<T>(); });
    return os;
  }
  dispatch_all(t.dtype(), "print",
               [&]<class T>() { print_rec<T>(os, c, 0, c.offset(), 0); });
  return os;
}

#define KNET_INSTANTIATE(T)                                                    \
  template Tensor Tensor::from<T>(std::span<const T>, Shape);                  \
  template T Tensor::item<T>() const;                                          \
  template T *Tensor::data<T>() const;
KNET_INSTANTIATE(float)
KNET_INSTANTIATE(double)
KNET_INSTANTIATE(int32_t)
KNET_INSTANTIATE(int64_t)
KNET_INSTANTIATE(uint8_t)
KNET_INSTANTIATE(bool)
#undef KNET_INSTANTIATE
template std::vector<float> Tensor::to_vector<float>() const;
template std::vector<double> Tensor::to_vector<double>() const;
template std::vector<int32_t> Tensor::to_vector<int32_t>() const;
template std::vector<int64_t> Tensor::to_vector<int64_t>() const;
template std::vector<uint8_t> Tensor::to_vector<uint8_t>() const;
template std::vector<bool> Tensor::to_vector<bool>() const;

} // namespace knet
