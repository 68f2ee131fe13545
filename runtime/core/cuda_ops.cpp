// The runtime's elementwise ops and reductions on the GPU: the kernels of
// the generated op table (runtime/jit/op_kernels.inc, codegen's fused-kernel
// emitter over one op each), launched like a compiled model's fused kernels.
#include "core/cuda.h"
#include "core/tensor_impl.h"

#include "jit/op_kernels.inc"

#include <knet/fused.h>

#include <cstring>
#include <string>

namespace knet::detail {
namespace cuda {
namespace {

const FusedKernel *find_kernel(const char *op) {
  for (const auto &e : op_kernels::entries)
    if (std::strcmp(e.op, op) == 0)
      return e.kernel;
  return nullptr;
}

Device gpu_of(const std::vector<const Tensor *> &in) {
  for (const Tensor *t : in)
    if (on_gpu(*t))
      return t->device();
  return Device{};
}

std::string describe(const std::vector<const Tensor *> &in) {
  std::string s;
  for (const Tensor *t : in) {
    if (!s.empty())
      s += ", ";
    if (!t->defined()) {
      s += "undefined";
      continue;
    }
    s += std::string(dtype_name(t->dtype())) + " " + shape_str(t->shape()) +
         " on " + device_str(t->device());
  }
  return s;
}

Tensor run(const char *op, const FusedKernel &k,
           const std::vector<const Tensor *> &in) {
  const Device dev = gpu_of(in);
  require(dev, op);
  if (k.num_inputs != static_cast<int>(in.size()) || k.num_outputs != 1)
    fail(op, ": the GPU kernel takes ", k.num_inputs, " operands, given ",
         in.size());
  Tensor out;
  if (!launch_fused(k, in.data(), &out))
    fail(op, ": cannot run on ", device_str(dev), " with ", describe(in),
         " (the GPU kernels take float tensors of one dtype, f32, f64, f16 "
         "or bf16, or b8 conditions, on one device, that broadcast; weak "
         "scalars adapt and 0-d CPU tensors are scalars)");
  return out;
}

const FusedKernel &kernel_of(const char *op,
                             const std::vector<const Tensor *> &in) {
  const FusedKernel *k = find_kernel(op);
  if (!k)
    fail(op, ": not supported on ", device_str(gpu_of(in)),
         " (no GPU kernel for this op)");
  return *k;
}

} // namespace

Tensor run_op(const char *op, std::initializer_list<Tensor> inputs) {
  std::vector<const Tensor *> in;
  for (const Tensor &t : inputs)
    in.push_back(&t);
  return run(op, kernel_of(op, in), in);
}

Tensor run_reduce(const char *op, const Tensor &x, const std::vector<int> &dims,
                  bool keepdim) {
  std::vector<const Tensor *> in{&x};
  FusedKernel k = kernel_of(op, in);
  const int r = x.rank();
  std::vector<int64_t> d;
  std::vector<bool> seen(r, false);
  for (int dim : dims) {
    const int n = normalize_dim(dim, r, op);
    if (seen[n])
      fail(op, ": dimension ", dim, " given twice");
    seen[n] = true;
    d.push_back(n);
  }
  if ((std::strcmp(op, "max") == 0 || std::strcmp(op, "min") == 0) &&
      x.numel() == 0)
    fail(op, ": empty tensor ", shape_str(x.shape()));
  k.dims = d.empty() ? nullptr : d.data();
  k.num_dims = static_cast<int>(d.size());
  k.keepdim = keepdim;
  return run(op, k, in);
}

Tensor run_sum_to(const Tensor &x, const Shape &shape) {
  // The like operand is read for its shape only.
  Tensor like = Tensor::empty({}, x.dtype(), x.device()).expand(shape);
  std::vector<const Tensor *> in{&x, &like};
  return run("sum_to", kernel_of("sum_to", in), in);
}

} // namespace cuda
} // namespace knet::detail
