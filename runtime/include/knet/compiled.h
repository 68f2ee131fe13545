// The interface between knetc's generated code and the runtime.
//
// For each KNET_COMPILE function knetc emits a CompiledFunction over the
// function's flattened arguments: every Tensor, Param and scalar leaf of the
// arguments in declaration order (struct fields in order, vectors element by
// element), scalars as 0-d tensors (double: f64, float: f32, integers: i64).
// The user's function body is rewritten to call run_compiled, and the
// function is registered under its address, so that is_compiled(f) and
// value_and_grad(f, ...) find it.
#pragma once

#include <knet/tensor.h>

#include <vector>

namespace knet::detail {

struct CompiledFunction {
  const char *name;
  // outputs = f(inputs)
  std::vector<Tensor> (*forward)(const std::vector<Tensor> &in);
  // The same, also keeping what the reverse sweep reads in `saved`.
  std::vector<Tensor> (*forward_save)(const std::vector<Tensor> &in,
                                      std::vector<Tensor> &saved);
  // Input gradients (one per input; undefined for non-float inputs or those
  // the outputs do not depend on) from output gradients.
  std::vector<Tensor> (*backward)(const std::vector<Tensor> &saved,
                                  const std::vector<Tensor> &dout);
};

// Registers `f` as the compiled form of the user function at `user_fn`.
void register_compiled(const void *user_fn, const CompiledFunction *f);
const CompiledFunction *find_compiled_function(const void *user_fn);

// Runs a compiled function. When a recording tape tracks one of the inputs,
// the call becomes one tape node whose backward is the compiled reverse
// sweep; otherwise only the forward runs.
std::vector<Tensor> run_compiled(const CompiledFunction &f,
                                 const std::vector<Tensor> &in);

} // namespace knet::detail
