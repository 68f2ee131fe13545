// The interface between knetc's generated code and the runtime.
//
// For each KNET_COMPILE function knetc emits a CompiledFunction over the
// function's flattened arguments: every Tensor, Param and scalar leaf of the
// arguments in declaration order (struct fields in order, vectors element by
// element), scalars as 0-d tensors (double: f64, float: f32, integers and
// bool: i64, exact: an unsigned value travels as its bits).
// The user's function body is rewritten to call run_compiled, and the
// function is registered under its address, so that is_compiled(f) and
// value_and_grad(f, ...) find it.
#pragma once

#include <knet/fused.h>
#include <knet/ops/norm.h>
#include <knet/tensor.h>

#include <array>
#include <cstdint>
#include <type_traits>
#include <vector>

namespace knet {
class Param;
}

namespace knet::detail {

struct CompiledFunction {
  const char *name;
  // outputs = f(inputs)
  std::vector<Tensor> (*forward)(const std::vector<Tensor> &in);
  // The compiled adjoint (null for a function marked not differentiable):
  // runs the forward and the reverse sweep, returns
  // the outputs and sets `din` to one gradient per input (undefined for
  // non-float inputs and those the outputs do not depend on). An undefined
  // dout[i] stands for ones shaped like output i (the seed of a loss).
  std::vector<Tensor> (*grad)(const std::vector<Tensor> &in,
                              const std::vector<Tensor> &dout,
                              std::vector<Tensor> &din);
  // The last `inout` outputs are the final values of the function's
  // Tensor& arguments, which the rewritten body assigns back; their
  // undefined cotangents are zeros (state carried out, not a loss).
  size_t inout = 0;
  // The adjoint split where its forward ends (null when knetc left it
  // whole), for a call from code that stays on the tape: `save` runs the
  // forward, returns the outputs and sets `saved` to the values the reverse
  // sweep reads; `resume` is that reverse sweep over the inputs followed by
  // `saved`, with every dout defined, setting `din` as `grad` does. The
  // tape's node then keeps `saved` instead of running the forward again in
  // its backward.
  std::vector<Tensor> (*save)(const std::vector<Tensor> &in,
                              std::vector<Tensor> &saved) = nullptr;
  void (*resume)(const std::vector<Tensor> &in, const std::vector<Tensor> &dout,
                 std::vector<Tensor> &din) = nullptr;
};

// How often this process ran each entry of its compiled functions
// (run_compiled; KNET_FUSED_STATS=1 prints them at exit).
struct CompiledStats {
  int64_t forward = 0, grad = 0, save = 0, resume = 0;
};
CompiledStats compiled_stats();

// Registers `f` as the compiled form of the user function at `user_fn`.
void register_compiled(const void *user_fn, const CompiledFunction *f);
const CompiledFunction *find_compiled_function(const void *user_fn);

// Marks the next run_compiled call on this thread as the root of a diff.
void expect_compiled_root();

// Whether the caller of the compiled adjoint running on this thread needs
// the gradient of input leaf `i` (true unless a NeedScope says otherwise).
// The generated adjoint skips the work only an unneeded gradient uses (the
// gradient of a data input, typically) and leaves that gradient undefined.
bool gradient_needed(size_t i);
class NeedScope {
public:
  explicit NeedScope(const std::vector<bool> &need);
  ~NeedScope();
  NeedScope(const NeedScope &) = delete;
  NeedScope &operator=(const NeedScope &) = delete;

private:
  const std::vector<bool> *saved_;
};

// Runs a compiled function. Outside a tape only the forward runs. When a
// recording tape tracks one of the inputs the call becomes one tape node
// whose backward is the compiled adjoint: as the root of diff(f, ...) (f
// itself compiled) the adjoint runs at once, forward and reverse sweep in one
// pass; inside a function that stays on the tape the node's backward re-runs
// the compiled forward with its reverse sweep.
std::vector<Tensor> run_compiled(const CompiledFunction &f,
                                 const std::vector<Tensor> &in);

// Appends the leaves of one argument of a compiled function to `in`, as the
// ABI above lays them out. knetc's rewritten bodies call these once per
// argument (struct arguments field by field).
inline void flatten_into(std::vector<Tensor> &in, const Tensor &t) {
  in.push_back(t);
}
void flatten_into(std::vector<Tensor> &in, const Param &p);
// A batchnorm's running statistics: mean, then var (undefined before the
// first training step); the compiled function returns their final values
// after its results and the rewritten body assigns them back.
inline void flatten_into(std::vector<Tensor> &in, const Moments &m) {
  in.push_back(m.mean);
  in.push_back(m.var);
}
// The same for a Param argument or field: an unnamed Param takes its path
// in the call as its name ("w", "m.w1"), which gradcheck reports.
void flatten_into(std::vector<Tensor> &in, const Param &p, const char *field);
// An integer scalar leaf: a 0-d i64 tensor holding v's bits exactly (an
// unsigned value above INT64_MAX wraps to negative and back).
Tensor integer_leaf(int64_t v);
template <class T>
requires std::is_arithmetic_v<T>
void flatten_into(std::vector<Tensor> &in, T v) {
  if constexpr (std::is_floating_point_v<T>)
    in.push_back(Tensor::scalar(static_cast<double>(v))); // weak, exact
  else
    in.push_back(integer_leaf(static_cast<int64_t>(v)));
}
template <class T>
requires std::is_same_v<T, Tensor> || std::is_same_v<T, Param>
void flatten_into(std::vector<Tensor> &in, const std::vector<T> &list) {
  in.push_back(Tensor::scalar(static_cast<double>(list.size()), DType::i64));
  for (const T &x : list)
    flatten_into(in, x);
}
template <class T, size_t N>
requires std::is_same_v<T, Tensor> || std::is_same_v<T, Param>
void flatten_into(std::vector<Tensor> &in, const std::array<T, N> &list) {
  in.push_back(Tensor::scalar(static_cast<double>(N), DType::i64));
  for (const T &x : list)
    flatten_into(in, x);
}

// C++ integer semantics in generated code, which carries every IR integer
// in a signed intN_t: the unsigned view of a value (ops on unsigned types),
// and add/sub/mul that wrap modulo 2^N (unsigned and narrow types; computed
// in an unsigned type at least as wide as `unsigned`, so nothing promotes
// to a signed int that could overflow).
template <class T> auto as_unsigned(std::type_identity_t<T> v) {
  if constexpr (std::is_same_v<T, bool>)
    return v;
  else
    return static_cast<std::make_unsigned_t<T>>(v);
}
template <class T>
using wide_unsigned_t = std::conditional_t<(sizeof(T) < sizeof(unsigned)),
                                           unsigned, std::make_unsigned_t<T>>;
template <class T>
T wrapping_add(std::type_identity_t<T> a, std::type_identity_t<T> b) {
  using U = wide_unsigned_t<T>;
  return static_cast<T>(static_cast<U>(as_unsigned<T>(a)) +
                        static_cast<U>(as_unsigned<T>(b)));
}
template <class T>
T wrapping_sub(std::type_identity_t<T> a, std::type_identity_t<T> b) {
  using U = wide_unsigned_t<T>;
  return static_cast<T>(static_cast<U>(as_unsigned<T>(a)) -
                        static_cast<U>(as_unsigned<T>(b)));
}
template <class T>
T wrapping_mul(std::type_identity_t<T> a, std::type_identity_t<T> b) {
  using U = wide_unsigned_t<T>;
  return static_cast<T>(static_cast<U>(as_unsigned<T>(a)) *
                        static_cast<U>(as_unsigned<T>(b)));
}
// A float converted to the unsigned type of T's width (arith.fptoui), held
// in T.
template <class T> T float_to_unsigned(double v) {
  return static_cast<T>(static_cast<std::make_unsigned_t<T>>(v));
}

// Integer division rounding down / up (arith.floordivsi, arith.ceildivsi).
template <class T> T floordiv(T a, T b) {
  T q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}
template <class T> T ceildiv(T a, T b) {
  T q = a / b;
  return (a % b != 0 && ((a < 0) == (b < 0))) ? q + 1 : q;
}

// acc + sum_to(matmul(a, b), like) (knet.matmul_acc, made by knetc's
// knet-accumulate where acc has no other use): one GEMM adding the product
// into acc's buffer (beta = 1) when nothing else holds that buffer (not
// another Tensor, a view or a tape), it is dense, a, b and acc are f32 or f64
// matrices on one device with the product of acc's (and like's) shape, and
// no tape records; otherwise the three ops, with their results and errors.
Tensor matmul_accumulate(const Tensor &acc, const Tensor &a, const Tensor &b,
                         const Tensor &like);

// List helpers of compiled adjoints (gradient lists).
inline std::vector<Tensor> list_set(std::vector<Tensor> list, int64_t i,
                                    Tensor value) {
  list.at(static_cast<size_t>(i)) = std::move(value);
  return list;
}
std::vector<Tensor> list_zeros_like(const std::vector<Tensor> &list);
// Lists that grow (push_back in compiled code): values, as in the IR.
inline std::vector<Tensor> list_push(std::vector<Tensor> list, Tensor value) {
  list.push_back(std::move(value));
  return list;
}
// dy cut into the pieces that `like` was concatenated (stacked) from.
std::vector<Tensor> split_list(const Tensor &dy,
                               const std::vector<Tensor> &like, int64_t dim,
                               bool stack = false);
inline std::vector<Tensor> list_resize(std::vector<Tensor> list, int64_t size) {
  if (size < 0)
    throw Error("resize of a std::vector<Tensor> to a negative size");
  list.resize(static_cast<size_t>(size));
  return list;
}
// `list` made as long as `like`: its first elements, then zeros like like's
// (undefined where like's are).
std::vector<Tensor> list_pad_like(std::vector<Tensor> list,
                                  const std::vector<Tensor> &like);
inline std::vector<Tensor> list_pop(std::vector<Tensor> list) {
  if (list.empty())
    throw Error("pop_back of an empty std::vector<Tensor>");
  list.pop_back();
  return list;
}

} // namespace knet::detail
