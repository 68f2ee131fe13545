// run_fused: the CPU side of knetc's fused kernels (knet/fused.h). The
// checks here decide whether a kernel computes exactly what the ops it
// replaced would; the loop itself is the one strided-broadcast driver.
#include <knet/compiled.h>
#include <knet/fused.h>
#include <knet/ops/elementwise.h>

#include "core/cuda.h"
#include "core/dispatch.h"
#include "core/loops.h"
#include "jit/specialize.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <optional>
#include <string>

namespace knet::detail {
namespace {

std::atomic<int64_t> kernels_run{0}, fallbacks_run{0};

// KNET_FUSED_STATS=1 prints the counts to stderr when the process exits.
const bool report_at_exit = [] {
  const char *env = std::getenv("KNET_FUSED_STATS");
  if (env && *env && std::string(env) != "0")
    std::atexit([] {
      std::fprintf(stderr, "knet: fused kernels: %lld run, %lld fell back\n",
                   static_cast<long long>(kernels_run.load()),
                   static_cast<long long>(fallbacks_run.load()));
      const CompiledStats c = compiled_stats();
      std::fprintf(
          stderr,
          "knet: compiled functions: %lld forward, %lld grad, %lld "
          "save, %lld resume\n",
          static_cast<long long>(c.forward), static_cast<long long>(c.grad),
          static_cast<long long>(c.save), static_cast<long long>(c.resume));
    });
  return true;
}();

// The broadcast shape of the given inputs, or nullopt when they do not
// broadcast.
std::optional<Shape> broadcast_of(const Tensor *const *in, const int64_t *idx,
                                  int64_t n) {
  std::optional<Shape> s = Shape{};
  for (int64_t i = 0; i < n && s; ++i)
    s = try_broadcast_shapes(*s, in[idx[i]]->shape());
  return s;
}

// The iteration space: the broadcast shape of the inputs (without the like
// operand of a sum_to), or nullopt when they do not broadcast.
std::optional<Shape> iteration_shape(const FusedKernel &k,
                                     const Tensor *const *in) {
  const int n = k.num_inputs - (k.reduce == FusedReduce::sum_to ? 1 : 0);
  std::vector<int64_t> all(n);
  for (int i = 0; i < n; ++i)
    all[i] = i;
  return broadcast_of(in, all.data(), n);
}

bool checks_hold(const FusedKernel &k, const Tensor *const *in) {
  for (int at = 0; at < k.checks_size;) {
    const int64_t len = k.checks[at];
    const int64_t *c = k.checks + at + 1;
    const int64_t n = c[0];
    auto a = broadcast_of(in, c + 1, n);
    auto b = broadcast_of(in, c + 1 + n, len - 1 - n);
    if (!a || !b || *a != *b)
      return false;
    at += 1 + static_cast<int>(len);
  }
  return true;
}

// The float dtype the kernel computes in, as the replaced ops would
// (promoted_float_dtype: weak operands adapt, the others agree).
std::optional<DType> kernel_dtype(const FusedKernel &k,
                                  const Tensor *const *in) {
  std::vector<const Tensor *> floats;
  for (int i = 0; i < k.num_inputs; ++i) {
    const Tensor &t = *in[i];
    const bool like = k.reduce == FusedReduce::sum_to && i == k.num_inputs - 1;
    if (k.input_kinds[i] == 'b') {
      if (t.dtype() != DType::b8)
        return std::nullopt;
      continue;
    }
    if (t.dtype() != DType::f32 && t.dtype() != DType::f64)
      return std::nullopt;
    if (!like)
      floats.push_back(&t);
  }
  const std::optional<DType> t = promoted_float_dtype(floats);
  if (!t)
    return std::nullopt;
  // A member computed from weak inputs only is weak, f64, in the replaced
  // ops (promoted_float_dtype of its cone): the kernel must compute in f64
  // to give it. A cone with any other input has the kernel's dtype.
  for (int at = 0; at < k.cones_size;) {
    const int64_t len = k.cones[at];
    const int64_t *c = k.cones + at + 1;
    bool all_weak = true;
    for (int64_t j = 0; j < len; ++j)
      all_weak &= k.input_kinds[c[j]] != 'f' || in[c[j]]->is_weak();
    if (all_weak && *t != DType::f64)
      return std::nullopt;
    at += 1 + static_cast<int>(len);
  }
  return t;
}

// On the GPU, f16/bf16 storage: the dtype shared by the float inputs that
// are not weak (weak ones adapt), all f16 or all bf16; else nullopt.
std::optional<DType> half_dtype(const FusedKernel &k, const Tensor *const *in) {
  std::optional<DType> strong;
  for (int i = 0; i < k.num_inputs; ++i) {
    const Tensor &t = *in[i];
    if (k.reduce == FusedReduce::sum_to && i == k.num_inputs - 1)
      continue;
    if (k.input_kinds[i] == 'b') {
      if (t.dtype() != DType::b8)
        return std::nullopt;
      continue;
    }
    if (t.is_weak())
      continue;
    const bool half = t.dtype() == DType::f16 || t.dtype() == DType::bf16;
    if (!half || (strong && *strong != t.dtype()))
      return std::nullopt;
    strong = t.dtype();
  }
  return strong;
}

// The dims a reduction folds (per dim of `shape`), or nullopt when the
// replaced op would raise an error.
std::optional<std::vector<bool>>
reduced_dims(const FusedKernel &k, const Shape &shape, const Tensor &like) {
  const int r = static_cast<int>(shape.size());
  std::vector<bool> reduced(r, false);
  if (k.reduce == FusedReduce::sum_to) {
    std::optional<std::vector<int>> dims = sum_to_dims(shape, like.shape());
    if (!dims)
      return std::nullopt;
    for (int d : *dims)
      reduced[d] = true;
    return reduced;
  }
  if (!k.dims) {
    reduced.assign(r, true);
    return reduced;
  }
  for (int j = 0; j < k.num_dims; ++j) {
    int64_t d = k.dims[j];
    if (d < -r || d >= r)
      return std::nullopt;
    if (d < 0)
      d += r;
    if (reduced[d])
      return std::nullopt;
    reduced[d] = true;
  }
  return reduced;
}

// Fresh results [first, num_outputs) of `k` over the iteration shape: b8
// where the kernel writes bools, else the kernel's dtype.
std::vector<Tensor> empty_results(const FusedKernel &k, int first,
                                  const Shape &shape, DType dtype, Device dev) {
  std::vector<Tensor> results;
  for (int o = first; o < k.num_outputs; ++o)
    results.push_back(Tensor::empty(
        shape, k.output_kinds[o] == 'b' ? DType::b8 : dtype, dev));
  return results;
}

// A kernel's operands: `lead` when given (a reduction's accumulator or
// result), the elementwise results, then the inputs.
std::vector<const Tensor *>
kernel_operands(const Tensor *lead, const std::vector<Tensor> &results,
                const std::vector<const Tensor *> &ins) {
  std::vector<const Tensor *> ops;
  if (lead)
    ops.push_back(lead);
  for (const Tensor &t : results)
    ops.push_back(&t);
  ops.insert(ops.end(), ins.begin(), ins.end());
  return ops;
}

// Plans the loop over `shape` for `ops` (results first) and calls `row` on
// every innermost row, in parallel when `cost` per element makes it worth it
// (0: on this thread).
void run_rows(const Shape &shape, const std::vector<const Tensor *> &ops,
              FusedRow row, int64_t cost, const char *name) {
  LoopPlan L = plan_loop(shape, ops.data(), static_cast<int>(ops.size()), name);
  int64_t s[kMaxLoopOps];
  row_strides(L, s);
  run_plan(L, cost, [&](char *const *p, int64_t n) { row(p, s, n); });
}

} // namespace

// Launches `k` on the GPU where every operand lives (0-d CPU operands are
// scalars and join it). Same contract as try_fused.
bool launch_fused(const FusedKernel &k, const Tensor *const *in, Tensor *out) {
  const int nin = k.num_inputs, nout = k.num_outputs;
  if (nin + nout > 64) // the dense mask's bits
    return false;
  std::optional<Device> dev;
  for (int i = 0; i < nin; ++i) {
    if (!in[i]->defined())
      return false;
    const Device d = in[i]->device();
    if (d.kind == Device::cpu) {
      if (in[i]->rank() != 0)
        return false;
      continue;
    }
    if (dev && *dev != d)
      return false;
    dev = d;
  }
  if (!dev)
    return false;
  std::optional<DType> dtype = kernel_dtype(k, in);
  int half = 0; // f16/bf16 storage, float arithmetic
  if (!dtype) {
    dtype = half_dtype(k, in);
    if (!dtype)
      return false;
    half = *dtype == DType::f16 ? 1 : 2;
  }
  if (!checks_hold(k, in))
    return false;
  const bool has_like = k.reduce == FusedReduce::sum_to;
  std::optional<Shape> shape = iteration_shape(k, in);
  if (!shape)
    return false;
  // Weak inputs adopt the kernel's dtype, CPU ones the device.
  std::vector<Tensor> converted(nin);
  std::vector<const Tensor *> ins(in, in + nin);
  for (int i = 0; i < nin; ++i) {
    const bool like = has_like && i == nin - 1;
    if (like || (k.input_kinds[i] == 'f' && in[i]->dtype() != *dtype) ||
        in[i]->device() != *dev) {
      converted[i] = like ? Tensor::empty({}, *dtype, *dev)
                          : in[i]->to(*dev).to(
                                k.input_kinds[i] == 'f' ? *dtype : DType::b8);
      ins[i] = &converted[i];
    }
  }
  const bool f64 = *dtype == DType::f64;
  const std::string &arch = cuda::arch(*dev);

  if (k.reduce == FusedReduce::none) {
    std::vector<Tensor> results = empty_results(k, 0, *shape, *dtype, *dev);
    std::vector<const Tensor *> ops = kernel_operands(nullptr, results, ins);
    uint64_t dense = 0;
    for (int o = 0; o < nout; ++o)
      dense |= uint64_t{1} << o;
    for (int i = 0; i < nin; ++i)
      if (ins[i]->shape() == *shape && ins[i]->is_contiguous())
        dense |= uint64_t{1} << (nout + i);
    const int64_t n = shape_numel(*shape);
    if (n > 0) {
      const int rank = static_cast<int>(shape->size());
      cuda::launch(*dev,
                   {k.cuda_source, k.name, arch,
                    jit::fused_kernel_options(f64, rank, rank, dense, half)},
                   cuda::grid_for(n), cuda::kBlock,
                   cuda::elementwise_args(*shape, ops));
    }
    for (int o = 0; o < nout; ++o)
      out[o] = std::move(results[o]);
    return true;
  }

  std::optional<std::vector<bool>> reduced =
      reduced_dims(k, *shape, *in[nin - 1]);
  if (!reduced)
    return false;
  Shape kept, folded, result;
  std::vector<int> kept_dims, folded_dims;
  for (size_t d = 0; d < shape->size(); ++d) {
    if ((*reduced)[d]) {
      folded.push_back((*shape)[d]);
      folded_dims.push_back(static_cast<int>(d));
      if (k.keepdim)
        result.push_back(1);
    } else {
      kept.push_back((*shape)[d]);
      kept_dims.push_back(static_cast<int>(d));
      result.push_back((*shape)[d]);
    }
  }
  if (has_like)
    result = in[nin - 1]->shape();
  const int64_t n = shape_numel(kept), count = shape_numel(folded);
  if (count == 0 &&
      (k.reduce == FusedReduce::max || k.reduce == FusedReduce::min))
    return false; // the replaced op reports the empty tensor
  // Results after the first are elementwise, of the iteration shape.
  std::vector<Tensor> extras = empty_results(k, 1, *shape, *dtype, *dev);
  auto finish = [&] {
    for (int o = 1; o < nout; ++o)
      out[o] = std::move(extras[o - 1]);
  };
  if (count == 0) {
    // The sum of nothing, and the mean of nothing (0 / 0).
    out[0] = Tensor::full(result,
                          k.reduce == FusedReduce::mean
                              ? std::numeric_limits<double>::quiet_NaN()
                              : 0.0,
                          *dtype, *dev);
    finish();
    return true;
  }
  Tensor y = Tensor::empty(result, *dtype, *dev);
  if (n > 0) {
    // n, sizes[rank], strides[ops][rank], rn, rsizes[rrank],
    // strides[ops][rrank], ptr[ops]: each operand's element strides over
    // the kept and the folded dims of the broadcast shape (the result is
    // written densely by result index, its strides are unused).
    const int rank = std::max<int>(kept_dims.size(), 1);
    const int rrank = std::max<int>(folded_dims.size(), 1);
    std::vector<const Tensor *> ops = kernel_operands(&y, extras, ins);
    const int r = static_cast<int>(shape->size());
    auto stride_at = [&](const Tensor &t, int d) -> int64_t {
      const int td = d - (r - t.rank());
      return td >= 0 && t.shape()[td] != 1 ? t.strides()[td] : 0;
    };
    auto dims_words = [&](std::vector<int64_t> &w, const std::vector<int> &dims,
                          int width) {
      for (int j = 0; j < width; ++j)
        w.push_back(j < static_cast<int>(dims.size()) ? (*shape)[dims[j]] : 1);
      w.push_back(0); // the result's strides
      w.resize(w.size() + width - 1, 0);
      for (int i = 1; i < static_cast<int>(ops.size()); ++i)
        for (int j = 0; j < width; ++j)
          w.push_back(j < static_cast<int>(dims.size())
                          ? stride_at(*ops[i], dims[j])
                          : 0);
    };
    std::vector<int64_t> w{n};
    dims_words(w, kept_dims, rank);
    w.push_back(count);
    dims_words(w, folded_dims, rrank);
    for (const Tensor *t : ops)
      w.push_back(reinterpret_cast<intptr_t>(t->impl()->data()));
    cuda::launch(*dev,
                 {k.cuda_source, k.name, arch,
                  jit::fused_kernel_options(f64, rank, rrank, 0, half)},
                 std::min<int64_t>(n, int64_t{1} << 20), cuda::kBlock, w);
  }
  out[0] = y;
  finish();
  return true;
}

// The kernel, or false when the operands do not suit it.
static bool try_fused(const FusedKernel &k, const Tensor *const *in,
                      Tensor *out) {
  const int nin = k.num_inputs, nout = k.num_outputs;
  if (nin + nout > kMaxLoopOps)
    return false;
  for (int i = 0; i < nin; ++i)
    if (!in[i]->defined() || in[i]->device().kind != Device::cpu)
      return false;
  std::optional<DType> dtype = kernel_dtype(k, in);
  if (!dtype || !checks_hold(k, in))
    return false;
  const bool has_like = k.reduce == FusedReduce::sum_to;
  std::optional<Shape> shape = iteration_shape(k, in);
  if (!shape)
    return false;

  // Weak inputs adopt the kernel's dtype.
  std::vector<Tensor> converted(nin);
  std::vector<const Tensor *> ins(in, in + nin);
  for (int i = 0; i < nin; ++i)
    if (k.input_kinds[i] == 'f' && in[i]->dtype() != *dtype) {
      converted[i] = in[i]->to(*dtype);
      ins[i] = &converted[i];
    }
  FusedRow row = *dtype == DType::f32 ? k.row_f32 : k.row_f64;

  if (k.reduce == FusedReduce::none) {
    std::vector<Tensor> results = empty_results(k, 0, *shape, *dtype, Device{});
    run_rows(*shape, kernel_operands(nullptr, results, ins), row,
             4 * (nin + nout), k.name);
    for (int o = 0; o < nout; ++o) {
      propagate_weak(results[o], std::span(in, nin));
      out[o] = std::move(results[o]);
    }
    return true;
  }

  // A reduction: accumulate in f64 over the broadcast iteration space, the
  // accumulator broadcast along the folded dims, on the reduction engine.
  std::optional<std::vector<bool>> reduced =
      reduced_dims(k, *shape, *in[nin - 1]);
  if (!reduced)
    return false;
  Shape keep, result;
  int64_t count = 1;
  for (size_t d = 0; d < shape->size(); ++d) {
    if ((*reduced)[d]) {
      keep.push_back(1);
      count *= (*shape)[d];
      if (k.keepdim)
        result.push_back(1);
    } else {
      keep.push_back((*shape)[d]);
      result.push_back((*shape)[d]);
    }
  }
  if (has_like)
    result = in[nin - 1]->shape();
  if ((k.reduce == FusedReduce::max || k.reduce == FusedReduce::min) &&
      shape_numel(*shape) == 0)
    return false; // the replaced op reports the empty tensor
  // Results after the first are elementwise, of the iteration shape, stored
  // by the same pass.
  std::vector<Tensor> extras = empty_results(k, 1, *shape, *dtype, Device{});
  auto finish = [&] {
    for (int o = 1; o < nout; ++o) {
      propagate_weak(extras[o - 1], std::span(in, nin));
      out[o] = std::move(extras[o - 1]);
    }
  };
  // Nothing folded: a sum (or mean) of one element is that element; run the
  // elementwise loop into the result's dtype.
  if (count == 1 && k.reduce != FusedReduce::max &&
      k.reduce != FusedReduce::min) {
    Tensor y = Tensor::empty(*shape, *dtype, Device{});
    run_rows(*shape, kernel_operands(&y, extras, ins),
             *dtype == DType::f32 ? k.map_f32 : k.map_f64, 4 * (nin + nout),
             k.name);
    out[0] = y.reshape(result);
    finish();
    return true;
  }
  // max/min start where the runtime's do: the lowest/highest finite value.
  const double highest = *dtype == DType::f32
                             ? std::numeric_limits<float>::max()
                             : std::numeric_limits<double>::max();
  double init = 0;
  if (k.reduce == FusedReduce::max)
    init = -highest;
  if (k.reduce == FusedReduce::min)
    init = highest;
  Tensor acc = Tensor::full(keep, init, DType::f64, Device{});
  std::vector<const Tensor *> ops = kernel_operands(&acc, extras, ins);
  ReduceMerge merge =
      k.reduce == FusedReduce::max   ? &merge_accumulators<double, 1>
      : k.reduce == FusedReduce::min ? &merge_accumulators<double, -1>
                                     : &merge_accumulators<double, 0>;
  run_reduction(*shape, ops.data(), static_cast<int>(ops.size()), row, merge,
                4 * (nin + nout), k.name);
  out[0] = acc.to(*dtype).reshape(result);
  finish();
  // The runtime's mean: the sum in the result's dtype, then divided.
  if (k.reduce == FusedReduce::mean)
    out[0] = out[0] / static_cast<double>(count);
  return true;
}

std::shared_ptr<const CompiledKernel>
compile_fused_cuda(const FusedKernel &k, const Tensor *const *in,
                   const std::string &arch) {
  std::optional<DType> dtype = kernel_dtype(k, in);
  if (!dtype)
    fail(k.name, ": the operands' dtypes do not suit the kernel");
  std::optional<Shape> shape = iteration_shape(k, in);
  if (!shape)
    fail(k.name, ": the operands do not broadcast");
  // Results are written densely; an input is dense when it has the
  // iteration shape and is contiguous.
  uint64_t dense = 0;
  if (k.reduce == FusedReduce::none)
    for (int o = 0; o < k.num_outputs; ++o)
      dense |= uint64_t{1} << o;
  for (int i = 0; i < k.num_inputs; ++i)
    if (in[i]->shape() == *shape && in[i]->is_contiguous())
      dense |= uint64_t{1} << (k.num_outputs + i);
  int rank = static_cast<int>(shape->size()), rrank = rank;
  if (k.reduce != FusedReduce::none) {
    // As launch_fused specializes it: the kept and the folded dims.
    std::optional<std::vector<bool>> reduced =
        reduced_dims(k, *shape, *in[k.num_inputs - 1]);
    if (!reduced)
      fail(k.name, ": the operands do not suit the reduction");
    rrank =
        static_cast<int>(std::count(reduced->begin(), reduced->end(), true));
    rank -= rrank;
    dense = 0;
  }
  KernelSpec spec{
      k.cuda_source, k.name, arch,
      jit::fused_kernel_options(*dtype == DType::f64, rank, rrank, dense)};
  return compile_kernel(spec);
}

FusedStats fused_stats() { return {kernels_run.load(), fallbacks_run.load()}; }

static bool any_on_cuda(const FusedKernel &k, const Tensor *const *in) {
  for (int i = 0; i < k.num_inputs; ++i)
    if (in[i]->defined() && in[i]->device().kind == Device::cuda)
      return true;
  return false;
}

bool run_fused(const FusedKernel &k, const Tensor *const *in, Tensor *out) {
  const bool ran =
      any_on_cuda(k, in) ? launch_fused(k, in, out) : try_fused(k, in, out);
  (ran ? kernels_run : fallbacks_run).fetch_add(1, std::memory_order_relaxed);
  return ran;
}

} // namespace knet::detail
