// Loading the CUDA plugin, and the data movement every GPU op builds on.
#include "core/cuda.h"
#include "core/allocator.h"
#include "core/dispatch.h"
#include "core/tensor_impl.h"
#include "jit/specialize.h"

#include <knet/error.h>
#include <knet/ops/elementwise.h>

#include <dlfcn.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>

namespace knet::detail::cuda {
namespace {

struct State {
  const cuda_abi::Backend *backend = nullptr;
  int count = 0;
  std::string reason;
  std::vector<std::string> archs;
};

bool exists(const char *path) {
  struct stat st;
  return ::stat(path, &st) == 0;
}

// The directory libknet_runtime was loaded from.
std::string runtime_dir() {
  Dl_info info;
  if (!dladdr(reinterpret_cast<void *>(&device_count), &info) ||
      !info.dli_fname)
    return ".";
  std::string path = info.dli_fname;
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

void load(State &s) {
  std::string path;
  if (const char *env = std::getenv("KNET_CUDA_PLUGIN"); env && *env) {
    path = env;
  } else {
    if (!exists("/dev/nvidiactl") && !exists("/dev/dxg")) {
      s.reason = "no NVIDIA GPU on this machine (no /dev/nvidiactl)";
      return;
    }
    path = runtime_dir() + "/libknet_cuda.so";
  }
  void *handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char *err = dlerror();
    s.reason = "cannot load the CUDA plugin " + path + ": " +
               (err ? err : "unknown error");
    return;
  }
  auto get = reinterpret_cast<cuda_abi::GetBackend>(
      dlsym(handle, cuda_abi::kGetBackendSymbol));
  const cuda_abi::Backend *b = get ? get() : nullptr;
  if (!b || b->version != cuda_abi::kVersion) {
    s.reason = path + " is not a knet CUDA plugin of this version";
    return;
  }
  const int count = b->device_count();
  if (count <= 0) {
    const char *err = b->last_error();
    s.reason = std::string("no usable CUDA device") +
               (err && *err ? std::string(" (") + err + ")" : "");
    return;
  }
  std::vector<CachingAllocator *> allocators;
  for (int dev = 0; dev < count; ++dev) {
    int major = 0, minor = 0;
    if (b->device_arch(dev, &major, &minor) != 0) {
      s.reason = std::string("cannot query CUDA device ") +
                 std::to_string(dev) + ": " + b->last_error();
      return;
    }
    s.archs.push_back("sm_" + std::to_string(major * 10 + minor));
    // Device memory is cached without bound: out of memory releases it.
    allocators.push_back(
        new CachingAllocator("cuda:" + std::to_string(dev),
                             {[b, dev](size_t n) { return b->malloc(dev, n); },
                              [b, dev](void *p) { b->free(dev, p); },
                              [b] { return std::string(b->last_error()); }},
                             SIZE_MAX));
  }
  register_cuda_allocators(std::move(allocators));
  s.count = count;
  s.backend = b;
}

State &state() {
  // Never destroyed: storages on the GPU may outlive static destruction.
  static State *s = [] {
    auto *st = new State;
    load(*st);
    return st;
  }();
  return *s;
}

} // namespace

const cuda_abi::Backend *backend() { return state().backend; }
int device_count() { return state().count; }
std::string unavailable_reason() { return state().reason; }

const cuda_abi::Backend &require(Device device, const char *op) {
  State &s = state();
  if (!s.backend)
    fail(op, ": ", device_str(device), " is not available: ", s.reason);
  if (device.kind != Device::cuda || device.index < 0 ||
      device.index >= s.count)
    fail(op, ": ", device_str(device), " is not available (", s.count,
         " CUDA device", s.count == 1 ? "" : "s", ")");
  return *s.backend;
}

void check(int rc, const char *op) {
  if (rc != 0)
    fail(op, ": ",
         state().backend ? state().backend->last_error() : "no CUDA backend");
}

void check_retry(Device device, const char *op,
                 const std::function<int()> &call) {
  int rc = call();
  if (rc != 0) {
    const std::string err = require(device, op).last_error();
    if (err.find("out of memory") != std::string::npos ||
        err.find("ALLOC_FAILED") != std::string::npos ||
        err.find("MemoryAllocation") != std::string::npos) {
      allocator_for(device).empty_cache();
      rc = call();
    }
  }
  check(rc, op);
}

const std::string &arch(Device device) {
  require(device, "arch");
  return state().archs[device.index];
}

int64_t grid_for(int64_t n) {
  return std::clamp<int64_t>((n + kBlock - 1) / kBlock, 1, int64_t{1} << 20);
}

void launch(Device device, const KernelSpec &spec, int64_t grid, int block,
            const std::vector<int64_t> &words) {
  const cuda_abi::Backend &b = require(device, spec.name.c_str());
  // Loaded kernels, per device and specialization, for the process's life.
  static std::mutex mu;
  static auto *functions = new std::map<std::string, void *>();
  std::string key =
      std::to_string(device.index) + "\n" + spec.name + "\n" + spec.source;
  for (const std::string &o : spec.options)
    key += "\n" + o;
  void *fn = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = functions->find(key);
    if (it != functions->end())
      fn = it->second;
  }
  if (!fn) {
    if (b.load_source) {
      std::vector<const char *> options;
      for (const std::string &o : spec.options)
        options.push_back(o.c_str());
      fn = b.load_source(device.index, spec.source.c_str(), options.data(),
                         static_cast<int>(options.size()), spec.name.c_str());
    } else {
      auto kernel = compile_kernel(spec);
      fn = b.load_function(device.index, kernel->cubin.data(),
                           kernel->cubin.size(), kernel->name.c_str());
    }
    if (!fn)
      fail(spec.name, ": cannot load the kernel on ", device_str(device), ": ",
           b.last_error());
    std::lock_guard<std::mutex> lock(mu);
    functions->emplace(key, fn);
  }
  check(b.launch(device.index, fn, static_cast<unsigned>(grid),
                 static_cast<unsigned>(block), 0, words.data(),
                 words.size() * sizeof(int64_t)),
        spec.name.c_str());
}

std::vector<int64_t> elementwise_args(const Shape &shape,
                                      const std::vector<const Tensor *> &ops) {
  const int r = static_cast<int>(shape.size());
  const int rank = std::max(r, 1);
  std::vector<int64_t> w;
  w.push_back(shape_numel(shape));
  for (int d = 0; d < rank; ++d)
    w.push_back(r == 0 ? 1 : shape[d]);
  for (const Tensor *t : ops) {
    const int tr = t->rank();
    if (tr > r)
      fail("elementwise_args: operand of rank ", tr, " over shape ",
           shape_str(shape));
    for (int d = 0; d < rank; ++d) {
      const int td = d - (r - tr);
      int64_t stride = 0;
      if (r > 0 && td >= 0 && t->shape()[td] != 1)
        stride = t->strides()[td];
      w.push_back(stride);
    }
  }
  for (const Tensor *t : ops)
    w.push_back(reinterpret_cast<intptr_t>(t->impl()->data()));
  return w;
}

namespace {

// The element's storage type in CUDA C, and how it converts to and from
// the intermediate (double for floats, long long between integers).
const char *storage_type(DType t) {
  switch (t) {
  case DType::f32:
    return "float";
  case DType::f64:
    return "double";
  case DType::f16:
  case DType::bf16:
    return "unsigned short";
  case DType::i32:
    return "int";
  case DType::i64:
    return "long long";
  case DType::u8:
  case DType::b8:
    return "unsigned char";
  }
  return "void";
}

std::string load_expr(DType t, const std::string &v) {
  switch (t) {
  case DType::f16:
    return "knet_h2f(" + v + ")";
  case DType::bf16:
    return "knet_b2f(" + v + ")";
  case DType::b8:
    return "(" + v + " != 0)";
  default:
    return v;
  }
}

std::string store_expr(DType t, const std::string &v) {
  switch (t) {
  case DType::f16:
    return "knet_f2h((float)(" + v + "))";
  case DType::bf16:
    return "knet_f2b((float)(" + v + "))";
  case DType::b8:
    return "(unsigned char)((" + v + ") != 0)";
  default:
    return std::string("(") + storage_type(t) + ")(" + v + ")";
  }
}

// One strided loop over `nops` operands (the destination first); `body`
// writes element o[0] of ptr[0].
std::string movement_kernel(const std::string &name, int nops,
                            const std::string &extra_field,
                            const std::string &body) {
  std::string n = std::to_string(nops);
  return std::string(jit::kHalfConversions) + "struct " + name +
         "_args {\n  long long n;\n  long long sizes[KNET_RANK];\n"
         "  long long strides[" +
         n + "][KNET_RANK];\n  void *ptr[" + n + "];\n" + extra_field +
         "};\nextern \"C\" __global__ void " + name + "(" + name +
         "_args a) {\n"
         "  for (long long i = (long long)blockIdx.x * blockDim.x + "
         "threadIdx.x; i < a.n;\n"
         "       i += (long long)blockDim.x * gridDim.x) {\n"
         "    long long o[" +
         n +
         "] = {0};\n    long long r = i;\n"
         "    for (int d = KNET_RANK - 1; d >= 0; --d) {\n"
         "      long long x = r % a.sizes[d];\n      r /= a.sizes[d];\n"
         "      for (int k = 0; k < " +
         n + "; ++k)\n        o[k] += x * a.strides[k][d];\n    }\n" + body +
         "  }\n}\n";
}

std::string rank_option(int rank) {
  return "-DKNET_RANK=" + std::to_string(std::max(rank, 1));
}

} // namespace

KernelSpec convert_spec(DType dst, DType src, int rank,
                        const std::string &arch) {
  const bool floats = is_floating(src) || is_floating(dst);
  const std::string s = storage_type(src), d = storage_type(dst);
  std::string value = "static_cast<const " + s + " *>(a.ptr[1])[o[1]]";
  std::string store =
      src == dst
          ? value
          : store_expr(dst, std::string(floats ? "(double)" : "(long long)") +
                                load_expr(src, value));
  return {movement_kernel("knet_convert", 2, "",
                          "    static_cast<" + d +
                              " *>(a.ptr[0])[o[0]] = " + store + ";\n"),
          "knet_convert",
          arch,
          {rank_option(rank)}};
}

KernelSpec fill_spec(DType dst, int rank, const std::string &arch) {
  const std::string v =
      is_floating(dst) || dst == DType::b8 ? "a.value" : "(long long)a.value";
  return {movement_kernel("knet_fill", 1, "  double value;\n",
                          "    static_cast<" + std::string(storage_type(dst)) +
                              " *>(a.ptr[0])[o[0]] = " + store_expr(dst, v) +
                              ";\n"),
          "knet_fill",
          arch,
          {rank_option(rank)}};
}

KernelSpec index_rows_spec(DType t, bool scatter, const std::string &arch) {
  const std::string ty = storage_type(t);
  const std::string body =
      scatter ? "    atomicAdd(&static_cast<" + ty +
                    " *>(a.out)[id * a.e + col], static_cast<const " + ty +
                    " *>(a.in)[i]);\n"
              : "    static_cast<" + ty + " *>(a.out)[i] = static_cast<const " +
                    ty + " *>(a.in)[id * a.e + col];\n";
  const std::string name =
      scatter ? "knet_scatter_add_rows" : "knet_gather_rows";
  return {"struct " + name +
              "_args {\n  long long n, e;\n  const long long *ids;\n"
              "  const void *in;\n  void *out;\n};\n"
              "extern \"C\" __global__ void " +
              name + "(" + name +
              "_args a) {\n"
              "  for (long long i = (long long)blockIdx.x * blockDim.x + "
              "threadIdx.x; i < a.n * a.e;\n"
              "       i += (long long)blockDim.x * gridDim.x) {\n"
              "    const long long id = a.ids[i / a.e], col = i % a.e;\n" +
              body + "  }\n}\n",
          name,
          arch,
          {}};
}

void convert(const Tensor &dst, const Tensor &src) {
  const Device dev = dst.device();
  if (src.device() != dev)
    fail("convert: source on ", device_str(src.device()), ", destination on ",
         device_str(dev));
  if (dst.numel() == 0)
    return;
  launch(dev,
         convert_spec(dst.dtype(), src.dtype(), static_cast<int>(dst.rank()),
                      arch(dev)),
         grid_for(dst.numel()), kBlock,
         elementwise_args(dst.shape(), {&dst, &src}));
}

void fill(const Tensor &dst, double value) {
  const Device dev = dst.device();
  if (dst.numel() == 0)
    return;
  std::vector<int64_t> words = elementwise_args(dst.shape(), {&dst});
  int64_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  words.push_back(bits);
  launch(dev, fill_spec(dst.dtype(), static_cast<int>(dst.rank()), arch(dev)),
         grid_for(dst.numel()), kBlock, words);
}

namespace {

// One thread per element of the [n, e] side: row i of the indexed side is
// ids[i]. `scatter` adds src into out's rows, else copies table rows out.
void index_rows(const Tensor &dense_side, const Tensor &indexed,
                const Tensor &ids, bool scatter, const char *op) {
  const Device dev = dense_side.device();
  if (indexed.device() != dev || ids.device() != dev)
    fail(op, ": operands on different devices");
  if (dense_side.dtype() != indexed.dtype() ||
      (dense_side.dtype() != DType::f32 && dense_side.dtype() != DType::f64))
    fail(op, ": expected f32 or f64 on ", device_str(dev), ", got ",
         dtype_name(dense_side.dtype()));
  if (!dense_side.is_contiguous() || !indexed.is_contiguous() ||
      !ids.is_contiguous() || ids.dtype() != DType::i64)
    fail(op, ": internal error: operands must be dense, ids i64");
  const int64_t n = ids.numel(),
                e = dense_side.numel() / std::max<int64_t>(n, 1);
  if (n == 0 || e == 0)
    return;
  const Tensor &in = scatter ? dense_side : indexed;
  const Tensor &out = scatter ? indexed : dense_side;
  launch(dev, index_rows_spec(dense_side.dtype(), scatter, arch(dev)),
         grid_for(n * e), kBlock,
         {n, e, reinterpret_cast<intptr_t>(ids.impl()->data()),
          reinterpret_cast<intptr_t>(in.impl()->data()),
          reinterpret_cast<intptr_t>(out.impl()->data())});
}

} // namespace

void gather_rows(const Tensor &out, const Tensor &table, const Tensor &ids) {
  index_rows(out, table, ids, false, "embedding");
}

void scatter_add_rows(const Tensor &out, const Tensor &src, const Tensor &ids) {
  index_rows(src, out, ids, true, "embedding_back");
}

void copy(const Tensor &dst, const Tensor &src) {
  if (dst.shape() != src.shape() || dst.dtype() != src.dtype())
    fail("copy: ", dtype_name(src.dtype()), " ", shape_str(src.shape()),
         " into ", dtype_name(dst.dtype()), " ", shape_str(dst.shape()));
  const Device from = src.device(), to = dst.device();
  if (from == to) {
    if (from.kind == Device::cpu)
      fail("copy: both tensors on the CPU");
    convert(dst, src);
    return;
  }
  const size_t nbytes =
      static_cast<size_t>(src.numel()) * dtype_size(src.dtype());
  if (nbytes == 0)
    return;
  if (from.kind == Device::cuda && to.kind == Device::cuda) {
    // Between GPUs: the source's stream finishes, then one peer copy
    // (unified addressing) on the destination's stream.
    const cuda_abi::Backend &b = require(to, "to");
    require(from, "to");
    Tensor s = dense(src);
    Tensor d =
        dst.is_contiguous() ? dst : Tensor::empty(dst.shape(), dst.dtype(), to);
    check(b.synchronize(from.index), "to");
    check(b.memcpy(to.index, d.impl()->data(), s.impl()->data(), nbytes,
                   cuda_abi::device_to_device),
          "to");
    if (!d.shares_storage(dst))
      convert(dst, d);
    return;
  }
  if (to.kind == Device::cuda) {
    const cuda_abi::Backend &b = require(to, "to");
    Tensor h = dense(src);
    Tensor d =
        dst.is_contiguous() ? dst : Tensor::empty(dst.shape(), dst.dtype(), to);
    check(b.memcpy(to.index, d.impl()->data(), h.impl()->data(), nbytes,
                   cuda_abi::host_to_device),
          "to");
    if (!d.shares_storage(dst))
      convert(dst, d);
    return;
  }
  const cuda_abi::Backend &b = require(from, "to");
  Tensor d =
      src.is_contiguous() ? src : Tensor::empty(src.shape(), src.dtype(), from);
  if (!d.shares_storage(src))
    convert(d, src);
  Tensor h = dst.is_contiguous()
                 ? dst
                 : Tensor::empty(dst.shape(), dst.dtype(), Device{});
  check(b.memcpy(from.index, h.impl()->data(), d.impl()->data(), nbytes,
                 cuda_abi::device_to_host),
        "to");
  if (!h.shares_storage(dst))
    copy_(const_cast<Tensor &>(dst), h);
}

} // namespace knet::detail::cuda
