// cuDNN (legacy API): convolution, pooling and softmax on dense NCHW
// tensors.
//
// A cuDNN handle is not safe for concurrent use, so each device's cuDNN
// work runs under that device's DnnState mutex, which also guards the
// workspace and the cache of convolution algorithms. Legacy descriptors
// hold at most 2^31 - 1 elements, so larger batches run in chunks of the
// batch dimension (filter gradients accumulate with beta = 1).
#include "plugin.h"

#include <algorithm>
#include <array>
#include <climits>
#include <map>
#include <vector>

namespace knet::cuda_plugin {

namespace {

using cuda_abi::ConvGeometry;
using cuda_abi::PoolGeometry;

// ---- descriptors ----

cudnnDataType_t dnn_type(int dtype, const char *op) {
  switch (dtype) {
  case f32:
    return CUDNN_DATA_FLOAT;
  case f64:
    return CUDNN_DATA_DOUBLE;
  case f16:
    return CUDNN_DATA_HALF;
  case bf16:
    return CUDNN_DATA_BFLOAT16;
  default:
    fail(std::string(op) + ": unsupported dtype " + dtype_name(dtype));
  }
}

size_t dtype_size(int dtype) { return dtype == f64 ? 8 : dtype == f32 ? 4 : 2; }

struct TensorDesc {
  cudnnTensorDescriptor_t d = nullptr;
  TensorDesc() {
    check(cudnnCreateTensorDescriptor(&d), "cudnnCreateTensorDescriptor");
  }
  ~TensorDesc() { cudnnDestroyTensorDescriptor(d); }
  TensorDesc(const TensorDesc &) = delete;
  TensorDesc &operator=(const TensorDesc &) = delete;
  void set(cudnnDataType_t t, int64_t n, int64_t c, int64_t h, int64_t w,
           const char *op) {
    check(cudnnSetTensor4dDescriptor(
              d, CUDNN_TENSOR_NCHW, t, to_int(n, op, "size"),
              to_int(c, op, "size"), to_int(h, op, "size"),
              to_int(w, op, "size")),
          "cudnnSetTensor4dDescriptor");
  }
};

struct FilterDesc {
  cudnnFilterDescriptor_t d = nullptr;
  FilterDesc() {
    check(cudnnCreateFilterDescriptor(&d), "cudnnCreateFilterDescriptor");
  }
  ~FilterDesc() { cudnnDestroyFilterDescriptor(d); }
  FilterDesc(const FilterDesc &) = delete;
  FilterDesc &operator=(const FilterDesc &) = delete;
};

struct ConvDesc {
  cudnnConvolutionDescriptor_t d = nullptr;
  ConvDesc() {
    check(cudnnCreateConvolutionDescriptor(&d),
          "cudnnCreateConvolutionDescriptor");
  }
  ~ConvDesc() { cudnnDestroyConvolutionDescriptor(d); }
  ConvDesc(const ConvDesc &) = delete;
  ConvDesc &operator=(const ConvDesc &) = delete;
};

struct PoolDesc {
  cudnnPoolingDescriptor_t d = nullptr;
  PoolDesc() {
    check(cudnnCreatePoolingDescriptor(&d), "cudnnCreatePoolingDescriptor");
  }
  ~PoolDesc() { cudnnDestroyPoolingDescriptor(d); }
  PoolDesc(const PoolDesc &) = delete;
  PoolDesc &operator=(const PoolDesc &) = delete;
};

// The scaling factors 1 and 0 (or 1 and 1): host floats, doubles for f64.
struct Scale {
  float f1 = 1, f0 = 0, fb;
  double d1 = 1, d0 = 0, db;
  bool dbl;
  Scale(int dtype, double beta = 0) : fb(float(beta)), db(beta) {
    dbl = dtype == f64;
  }
  const void *one() const { return dbl ? (const void *)&d1 : &f1; }
  const void *beta() const { return dbl ? (const void *)&db : &fb; }
};

// Batch items per chunk so that no tensor of a chunk exceeds INT_MAX
// elements; `item` is the largest per-item element count.
int64_t chunk_items(int64_t n, int64_t item, const char *op) {
  if (item > INT_MAX)
    fail(std::string(op) + ": one batch item of " + std::to_string(item) +
         " elements is more than cuDNN's 2^31 - 1");
  return std::max<int64_t>(1, std::min<int64_t>(n, INT_MAX / item));
}

const char *offset(const void *p, int64_t elements, int dtype) {
  return static_cast<const char *>(p) + elements * int64_t(dtype_size(dtype));
}
char *offset(void *p, int64_t elements, int dtype) {
  return static_cast<char *>(p) + elements * int64_t(dtype_size(dtype));
}

// ---- per-device state: workspace and algorithm cache ----

enum class Dir : int64_t { forward, backward_data, backward_filter };

struct Algo {
  int algo;
  cudnnMathType_t math;
};

// dev, dtype, direction, batch, c, h, w, k, r, s, pads, strides,
// dilations, groups.
using AlgoKey = std::array<int64_t, 17>;

struct DnnState {
  std::mutex mu;
  void *workspace = nullptr;
  size_t workspace_bytes = 0;
  std::map<AlgoKey, Algo> algos;
};

DnnState &dnn_state(int dev) {
  static DnnState *const states = new DnnState[kMaxDevices];
  return states[dev]; // dev was checked by use_device
}

// Grows the device's workspace to `bytes`; false when out of memory.
bool ensure_workspace(DnnState &st, cudaStream_t s, size_t bytes) {
  if (bytes <= st.workspace_bytes)
    return true;
  // cuDNN sometimes asks for absurd sizes; treat them as out of memory.
  if (bytes >= (size_t(1) << 40))
    return false;
  if (st.workspace) {
    check(cudaStreamSynchronize(s), "cudaStreamSynchronize");
    check(cudaFree(st.workspace), "cudaFree");
    st.workspace = nullptr;
    st.workspace_bytes = 0;
  }
  void *p = nullptr;
  cudaError_t e = cudaMalloc(&p, bytes);
  if (e == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    return false;
  }
  check(e, "cudaMalloc (cuDNN workspace)");
  st.workspace = p;
  st.workspace_bytes = bytes;
  return true;
}

// ---- convolution ----

struct ConvCall {
  Dir dir;
  int dtype;
  cudnnMathType_t base_math; // what the heuristics may consider
  cudnnHandle_t h;
  TensorDesc x, y; // x: input (or dx), y: output (or dy)
  FilterDesc w;
  ConvDesc conv;
  const char *op;
};

const char *conv_call_name(Dir dir) {
  switch (dir) {
  case Dir::forward:
    return "cudnnConvolutionForward";
  case Dir::backward_data:
    return "cudnnConvolutionBackwardData";
  default:
    return "cudnnConvolutionBackwardFilter";
  }
}

// The heuristics' ranked algorithms (best first) that can run.
std::vector<Algo> candidates(const ConvCall &c) {
  std::vector<Algo> out;
  int count = 0, returned = 0;
  check(cudnnSetConvolutionMathType(c.conv.d, c.base_math),
        "cudnnSetConvolutionMathType");
  auto keep = [&](auto &perf) {
    for (int i = 0; i < returned; ++i)
      if (perf[i].status == CUDNN_STATUS_SUCCESS)
        out.push_back({int(perf[i].algo), perf[i].mathType});
  };
  switch (c.dir) {
  case Dir::forward: {
    check(cudnnGetConvolutionForwardAlgorithmMaxCount(c.h, &count),
          "cudnnGetConvolutionForwardAlgorithmMaxCount");
    std::vector<cudnnConvolutionFwdAlgoPerf_t> perf(std::max(count, 1));
    check(cudnnGetConvolutionForwardAlgorithm_v7(c.h, c.x.d, c.w.d, c.conv.d,
                                                 c.y.d, int(perf.size()),
                                                 &returned, perf.data()),
          "cudnnGetConvolutionForwardAlgorithm_v7");
    keep(perf);
    break;
  }
  case Dir::backward_data: {
    check(cudnnGetConvolutionBackwardDataAlgorithmMaxCount(c.h, &count),
          "cudnnGetConvolutionBackwardDataAlgorithmMaxCount");
    std::vector<cudnnConvolutionBwdDataAlgoPerf_t> perf(std::max(count, 1));
    check(cudnnGetConvolutionBackwardDataAlgorithm_v7(
              c.h, c.w.d, c.y.d, c.conv.d, c.x.d, int(perf.size()), &returned,
              perf.data()),
          "cudnnGetConvolutionBackwardDataAlgorithm_v7");
    keep(perf);
    break;
  }
  case Dir::backward_filter: {
    check(cudnnGetConvolutionBackwardFilterAlgorithmMaxCount(c.h, &count),
          "cudnnGetConvolutionBackwardFilterAlgorithmMaxCount");
    std::vector<cudnnConvolutionBwdFilterAlgoPerf_t> perf(std::max(count, 1));
    check(cudnnGetConvolutionBackwardFilterAlgorithm_v7(
              c.h, c.x.d, c.y.d, c.conv.d, c.w.d, int(perf.size()), &returned,
              perf.data()),
          "cudnnGetConvolutionBackwardFilterAlgorithm_v7");
    keep(perf);
    break;
  }
  }
  return out;
}

// The math type an algorithm runs with: plain FMA for f32 (no TF32, so that
// f32 convolutions match the CPU's), else what the heuristics chose.
cudnnMathType_t math_for(const ConvCall &c, const Algo &a) {
  return c.dtype == f32 ? CUDNN_FMA_MATH : a.math;
}

cudnnStatus_t workspace_size(const ConvCall &c, int algo, size_t *bytes) {
  switch (c.dir) {
  case Dir::forward:
    return cudnnGetConvolutionForwardWorkspaceSize(
        c.h, c.x.d, c.w.d, c.conv.d, c.y.d, cudnnConvolutionFwdAlgo_t(algo),
        bytes);
  case Dir::backward_data:
    return cudnnGetConvolutionBackwardDataWorkspaceSize(
        c.h, c.w.d, c.y.d, c.conv.d, c.x.d, cudnnConvolutionBwdDataAlgo_t(algo),
        bytes);
  default:
    return cudnnGetConvolutionBackwardFilterWorkspaceSize(
        c.h, c.x.d, c.y.d, c.conv.d, c.w.d,
        cudnnConvolutionBwdFilterAlgo_t(algo), bytes);
  }
}

// Runs one direction: forward y = conv(in0 = x, in1 = w); backward_data
// dx = (in0 = dy, in1 = w); backward_filter dw = (in0 = dy, in1 = x).
cudnnStatus_t execute(const ConvCall &c, int algo, const DnnState &st,
                      const Scale &scale, const void *in0, const void *in1,
                      void *out) {
  switch (c.dir) {
  case Dir::forward:
    return cudnnConvolutionForward(c.h, scale.one(), c.x.d, in0, c.w.d, in1,
                                   c.conv.d, cudnnConvolutionFwdAlgo_t(algo),
                                   st.workspace, st.workspace_bytes,
                                   scale.beta(), c.y.d, out);
  case Dir::backward_data:
    return cudnnConvolutionBackwardData(
        c.h, scale.one(), c.w.d, in1, c.y.d, in0, c.conv.d,
        cudnnConvolutionBwdDataAlgo_t(algo), st.workspace, st.workspace_bytes,
        scale.beta(), c.x.d, out);
  default:
    return cudnnConvolutionBackwardFilter(
        c.h, scale.one(), c.x.d, in1, c.y.d, in0, c.conv.d,
        cudnnConvolutionBwdFilterAlgo_t(algo), st.workspace, st.workspace_bytes,
        scale.beta(), c.w.d, out);
  }
}

// Tries `a`: sets its math type, grows the workspace, runs. Returns the
// status; CUDNN_STATUS_ALLOC_FAILED when the workspace does not fit.
cudnnStatus_t try_algo(ConvCall &c, const Algo &a, DnnState &st, cudaStream_t s,
                       const Scale &scale, const void *in0, const void *in1,
                       void *out) {
  check(cudnnSetConvolutionMathType(c.conv.d, math_for(c, a)),
        "cudnnSetConvolutionMathType");
  size_t bytes = 0;
  cudnnStatus_t status = workspace_size(c, a.algo, &bytes);
  if (status != CUDNN_STATUS_SUCCESS)
    return status;
  if (!ensure_workspace(st, s, bytes))
    return CUDNN_STATUS_ALLOC_FAILED;
  return execute(c, a.algo, st, scale, in0, in1, out);
}

// One chunk: the cached algorithm for this geometry, else the heuristics'
// candidates in order until one runs (and is cached).
void run_conv(ConvCall &c, const AlgoKey &key, DnnState &st, cudaStream_t s,
              const Scale &scale, const void *in0, const void *in1, void *out) {
  auto it = st.algos.find(key);
  if (it != st.algos.end()) {
    if (try_algo(c, it->second, st, s, scale, in0, in1, out) ==
        CUDNN_STATUS_SUCCESS)
      return;
    st.algos.erase(it);
  }
  const std::vector<Algo> algos = candidates(c);
  if (algos.empty())
    fail(std::string(c.op) + ": cuDNN's heuristics offer no algorithm");
  cudnnStatus_t last = CUDNN_STATUS_SUCCESS;
  for (const Algo &a : algos) {
    last = try_algo(c, a, st, s, scale, in0, in1, out);
    if (last == CUDNN_STATUS_SUCCESS) {
      st.algos[key] = a;
      return;
    }
  }
  if (last == CUDNN_STATUS_ALLOC_FAILED)
    fail(std::string("out of memory: ") + c.op +
         ": no cuDNN algorithm's workspace fits on the device");
  check(last, conv_call_name(c.dir));
}

void check_conv_geometry(const ConvGeometry *g, const char *op) {
  if (!g)
    fail(std::string(op) + ": null geometry");
  const int64_t sizes[] = {g->n, g->c, g->h, g->w,     g->k,    g->r,
                           g->s, g->p, g->q, g->pad_h, g->pad_w};
  for (int64_t v : sizes)
    if (v < 0)
      fail(std::string(op) + ": negative size in the geometry");
  if (g->stride_h < 1 || g->stride_w < 1 || g->dil_h < 1 || g->dil_w < 1 ||
      g->groups < 1 || g->c % g->groups != 0 || g->k % g->groups != 0)
    fail(std::string(op) + ": invalid strides, dilations or groups " +
         std::to_string(g->groups) + " for c=" + std::to_string(g->c) +
         " k=" + std::to_string(g->k));
}

void conv(int dev, int dtype, const ConvGeometry *g, Dir dir, const void *in0,
          const void *in1, void *out, const char *op) {
  check_conv_geometry(g, op);
  const cudnnDataType_t type = dnn_type(dtype, op);
  const int64_t cg = g->c / g->groups;
  const int64_t x_item = g->c * g->h * g->w, y_item = g->k * g->p * g->q;
  const int64_t w_size = g->k * cg * g->r * g->s;
  const int64_t x_size = g->n * x_item, y_size = g->n * y_item;
  // The result's and the operands' element counts.
  int64_t result = 0, operands = 0;
  switch (dir) {
  case Dir::forward:
    result = y_size;
    operands = std::min(x_size, w_size);
    break;
  case Dir::backward_data:
    result = x_size;
    operands = std::min(y_size, w_size);
    break;
  case Dir::backward_filter:
    result = w_size;
    operands = std::min(y_size, x_size);
    break;
  }
  DeviceState &d = use_device(dev);
  if (result == 0)
    return;
  cudaStream_t s = stream_of(d);
  if (operands == 0) { // an empty sum
    check(cudaMemsetAsync(out, 0, size_t(result) * dtype_size(dtype), s),
          "cudaMemsetAsync");
    return;
  }
  if (!in0 || !in1 || !out)
    fail(std::string(op) + ": null pointer");
  if (w_size > INT_MAX)
    fail(std::string(op) + ": filter of " + std::to_string(w_size) +
         " elements is more than cuDNN's 2^31 - 1");

  cudnnHandle_t h = dnn_of(d);
  DnnState &st = dnn_state(dev);
  std::lock_guard<std::mutex> lock(st.mu);
  // No TF32 for f32 (FMA only); tensor cores for f16 and bf16.
  const cudnnMathType_t math = dtype == f32   ? CUDNN_FMA_MATH
                               : dtype == f64 ? CUDNN_DEFAULT_MATH
                                              : CUDNN_TENSOR_OP_MATH;
  ConvCall c{dir, dtype, math, h, {}, {}, {}, {}, op};
  check(cudnnSetFilter4dDescriptor(
            c.w.d, type, CUDNN_TENSOR_NCHW, to_int(g->k, op, "k"),
            to_int(cg, op, "c"), to_int(g->r, op, "r"), to_int(g->s, op, "s")),
        "cudnnSetFilter4dDescriptor");
  check(cudnnSetConvolution2dDescriptor(
            c.conv.d, to_int(g->pad_h, op, "padding"),
            to_int(g->pad_w, op, "padding"), to_int(g->stride_h, op, "stride"),
            to_int(g->stride_w, op, "stride"), to_int(g->dil_h, op, "dilation"),
            to_int(g->dil_w, op, "dilation"), CUDNN_CROSS_CORRELATION,
            dtype == f64 ? CUDNN_DATA_DOUBLE : CUDNN_DATA_FLOAT),
        "cudnnSetConvolution2dDescriptor");
  check(
      cudnnSetConvolutionGroupCount(c.conv.d, to_int(g->groups, op, "groups")),
      "cudnnSetConvolutionGroupCount");

  const int64_t chunk = chunk_items(g->n, std::max(x_item, y_item), op);
  int64_t set_for = -1; // the batch size the x and y descriptors describe
  for (int64_t start = 0; start < g->n; start += chunk) {
    const int64_t nb = std::min(chunk, g->n - start);
    if (nb != set_for) {
      c.x.set(type, nb, g->c, g->h, g->w, op);
      c.y.set(type, nb, g->k, g->p, g->q, op);
      int on = 0, oc = 0, oh = 0, ow = 0;
      check(cudnnGetConvolution2dForwardOutputDim(c.conv.d, c.x.d, c.w.d, &on,
                                                  &oc, &oh, &ow),
            "cudnnGetConvolution2dForwardOutputDim");
      if (oc != g->k || oh != g->p || ow != g->q)
        fail(std::string(op) + ": output [" + std::to_string(g->k) + ", " +
             std::to_string(g->p) + ", " + std::to_string(g->q) +
             "] does not match cuDNN's [" + std::to_string(oc) + ", " +
             std::to_string(oh) + ", " + std::to_string(ow) + "]");
      set_for = nb;
    }
    const AlgoKey key{dev,      dtype,    int64_t(dir), nb,          g->c,
                      g->h,     g->w,     g->k,         g->r,        g->s,
                      g->pad_h, g->pad_w, g->stride_h,  g->stride_w, g->dil_h,
                      g->dil_w, g->groups};
    // Filter gradients of later chunks add to the first chunk's.
    const Scale scale(dtype, dir == Dir::backward_filter && start > 0 ? 1 : 0);
    const int64_t x_off = start * x_item, y_off = start * y_item;
    switch (dir) {
    case Dir::forward:
      run_conv(c, key, st, s, scale, offset(in0, x_off, dtype), in1,
               offset(out, y_off, dtype));
      break;
    case Dir::backward_data:
      run_conv(c, key, st, s, scale, offset(in0, y_off, dtype), in1,
               offset(out, x_off, dtype));
      break;
    case Dir::backward_filter:
      run_conv(c, key, st, s, scale, offset(in0, y_off, dtype),
               offset(in1, x_off, dtype), out);
      break;
    }
  }
}

// ---- pooling ----

void pool(int dev, int dtype, const PoolGeometry *g, const void *y,
          const void *dy, const void *x, void *out, bool backward,
          const char *op) {
  if (!g)
    fail(std::string(op) + ": null geometry");
  if (g->n < 0 || g->c < 0 || g->h < 0 || g->w < 0 || g->p < 0 || g->q < 0 ||
      g->win_h < 1 || g->win_w < 1 || g->pad_h < 0 || g->pad_w < 0 ||
      g->stride_h < 1 || g->stride_w < 1)
    fail(std::string(op) + ": invalid geometry");
  const cudnnDataType_t type = dnn_type(dtype, op);
  const int64_t x_item = g->c * g->h * g->w, y_item = g->c * g->p * g->q;
  DeviceState &d = use_device(dev);
  if ((backward ? x_item : y_item) == 0 || g->n == 0)
    return;
  cudaStream_t s = stream_of(d);
  if (backward && y_item == 0) { // no window reaches dx
    check(cudaMemsetAsync(out, 0, size_t(g->n * x_item) * dtype_size(dtype), s),
          "cudaMemsetAsync");
    return;
  }
  if (!x || !out || (backward && (!y || !dy)))
    fail(std::string(op) + ": null pointer");

  cudnnHandle_t h = dnn_of(d);
  DnnState &st = dnn_state(dev);
  std::lock_guard<std::mutex> lock(st.mu);
  PoolDesc pd;
  check(cudnnSetPooling2dDescriptor(
            pd.d,
            g->max ? CUDNN_POOLING_MAX_DETERMINISTIC
                   : CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING,
            CUDNN_NOT_PROPAGATE_NAN, to_int(g->win_h, op, "window"),
            to_int(g->win_w, op, "window"), to_int(g->pad_h, op, "padding"),
            to_int(g->pad_w, op, "padding"), to_int(g->stride_h, op, "stride"),
            to_int(g->stride_w, op, "stride")),
        "cudnnSetPooling2dDescriptor");
  TensorDesc xd, yd;
  const Scale scale(dtype);
  const int64_t chunk = chunk_items(g->n, std::max(x_item, y_item), op);
  int64_t set_for = -1;
  for (int64_t start = 0; start < g->n; start += chunk) {
    const int64_t nb = std::min(chunk, g->n - start);
    if (nb != set_for) {
      xd.set(type, nb, g->c, g->h, g->w, op);
      yd.set(type, nb, g->c, g->p, g->q, op);
      int on = 0, oc = 0, oh = 0, ow = 0;
      check(cudnnGetPooling2dForwardOutputDim(pd.d, xd.d, &on, &oc, &oh, &ow),
            "cudnnGetPooling2dForwardOutputDim");
      if (oh != g->p || ow != g->q)
        fail(std::string(op) + ": output " + std::to_string(g->p) + "x" +
             std::to_string(g->q) + " does not match cuDNN's " +
             std::to_string(oh) + "x" + std::to_string(ow));
      set_for = nb;
    }
    const int64_t x_off = start * x_item, y_off = start * y_item;
    if (!backward)
      check(cudnnPoolingForward(h, pd.d, scale.one(), xd.d,
                                offset(x, x_off, dtype), scale.beta(), yd.d,
                                offset(out, y_off, dtype)),
            "cudnnPoolingForward");
    else
      check(cudnnPoolingBackward(
                h, pd.d, scale.one(), yd.d, offset(y, y_off, dtype), yd.d,
                offset(dy, y_off, dtype), xd.d, offset(x, x_off, dtype),
                scale.beta(), xd.d, offset(out, x_off, dtype)),
            "cudnnPoolingBackward");
  }
}

// ---- softmax ----

// Softmax over the middle dim of [outer, dim, inner]: cuDNN's channel
// mode on the NCHW tensor [outer, dim, inner, 1].
void softmax(int dev, int dtype, int log, int64_t outer, int64_t dim,
             int64_t inner, const void *y, const void *dy, const void *x,
             void *out, bool backward, const char *op) {
  if (outer < 0 || dim < 0 || inner < 0)
    fail(std::string(op) + ": negative size");
  const cudnnDataType_t type = dnn_type(dtype, op);
  DeviceState &d = use_device(dev);
  if (outer == 0 || dim == 0 || inner == 0)
    return;
  if (!out || (backward ? (!y || !dy) : !x))
    fail(std::string(op) + ": null pointer");
  cudnnHandle_t h = dnn_of(d);
  DnnState &st = dnn_state(dev);
  std::lock_guard<std::mutex> lock(st.mu);
  const cudnnSoftmaxAlgorithm_t algo =
      log ? CUDNN_SOFTMAX_LOG : CUDNN_SOFTMAX_ACCURATE;
  TensorDesc desc;
  const Scale scale(dtype);
  const int64_t item = dim * inner;
  const int64_t chunk = chunk_items(outer, item, op);
  int64_t set_for = -1;
  for (int64_t start = 0; start < outer; start += chunk) {
    const int64_t nb = std::min(chunk, outer - start);
    if (nb != set_for) {
      desc.set(type, nb, dim, inner, 1, op);
      set_for = nb;
    }
    const int64_t off = start * item;
    if (!backward)
      check(cudnnSoftmaxForward(h, algo, CUDNN_SOFTMAX_MODE_CHANNEL,
                                scale.one(), desc.d, offset(x, off, dtype),
                                scale.beta(), desc.d, offset(out, off, dtype)),
            "cudnnSoftmaxForward");
    else
      check(cudnnSoftmaxBackward(h, algo, CUDNN_SOFTMAX_MODE_CHANNEL,
                                 scale.one(), desc.d, offset(y, off, dtype),
                                 desc.d, offset(dy, off, dtype), scale.beta(),
                                 desc.d, offset(out, off, dtype)),
            "cudnnSoftmaxBackward");
  }
}

} // namespace

bool release_workspace(DeviceState &d) {
  DnnState &st = dnn_state(d.index);
  cudaStream_t s = stream_of(d);
  std::lock_guard<std::mutex> lock(st.mu);
  if (!st.workspace)
    return false;
  check(cudaStreamSynchronize(s), "cudaStreamSynchronize");
  check(cudaFree(st.workspace), "cudaFree");
  st.workspace = nullptr;
  st.workspace_bytes = 0;
  return true;
}

int conv_forward(int dev, int dtype, const ConvGeometry *g, const void *x,
                 const void *w, void *y) {
  return guarded(
      [&] { conv(dev, dtype, g, Dir::forward, x, w, y, "conv_forward"); });
}

int conv_backward_data(int dev, int dtype, const ConvGeometry *g,
                       const void *dy, const void *w, void *dx) {
  return guarded([&] {
    conv(dev, dtype, g, Dir::backward_data, dy, w, dx, "conv_backward_data");
  });
}

int conv_backward_filter(int dev, int dtype, const ConvGeometry *g,
                         const void *dy, const void *x, void *dw) {
  return guarded([&] {
    conv(dev, dtype, g, Dir::backward_filter, dy, x, dw,
         "conv_backward_filter");
  });
}

int pool_forward(int dev, int dtype, const PoolGeometry *g, const void *x,
                 void *y) {
  return guarded([&] {
    pool(dev, dtype, g, nullptr, nullptr, x, y, false, "pool_forward");
  });
}

int pool_backward(int dev, int dtype, const PoolGeometry *g, const void *y,
                  const void *dy, const void *x, void *dx) {
  return guarded(
      [&] { pool(dev, dtype, g, y, dy, x, dx, true, "pool_backward"); });
}

int softmax_forward(int dev, int dtype, int log, int64_t outer, int64_t dim,
                    int64_t inner, const void *x, void *y) {
  return guarded([&] {
    softmax(dev, dtype, log, outer, dim, inner, nullptr, nullptr, x, y, false,
            "softmax_forward");
  });
}

int softmax_backward(int dev, int dtype, int log, int64_t outer, int64_t dim,
                     int64_t inner, const void *y, const void *dy, void *dx) {
  return guarded([&] {
    softmax(dev, dtype, log, outer, dim, inner, y, dy, nullptr, dx, true,
            "softmax_backward");
  });
}

} // namespace knet::cuda_plugin
