// The tape's recording interface, used by every op's tape rule (internal).
//
// An op records itself after computing its outputs:
//
//   if (detail::recording())
//     detail::record("relu", {x}, {y}, [y](const Grads &dy, const Needs &) {
//       return Grads{relu_back(dy[0], y)};
//     });
//
// The backward closure captures only what it needs, receives one gradient per
// output (zeros where an output did not reach the loss) and which inputs need
// a gradient, and returns one gradient per input (undefined where not needed
// or where the input is not differentiable). Gradients must have the input's
// shape. Backward closures are written with differentiable ops, so the sweep
// itself records on any outer tape (higher-order gradients).
#pragma once

#include "core/tensor_impl.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace knet::detail {

using Grads = std::vector<Tensor>;
using Needs = std::vector<bool>;
using BackwardFn = std::function<Grads(const Grads &dy, const Needs &need)>;

// Number of tapes recording on this thread.
extern thread_local int t_recording;
inline bool recording() { return t_recording > 0; }

// Records `op` on every recording tape that tracks one of `inputs`, and marks
// `outputs` as tracked there. A no-op when no input is tracked.
void record(const char *op, const std::vector<Tensor> &inputs,
            const std::vector<Tensor> &outputs, BackwardFn backward);

// Whether any recording tape tracks `t` (a recorded value or a Param).
bool is_tracked(const Tensor &t);

// Throws if a tape would need the derivative of `op`, which has none
// (for example a third derivative): never a silently missing gradient.
void no_derivative(const char *op, const std::vector<Tensor> &inputs);

// Throws when `t` may not be written in place: a tape is recording and `t`
// is tracked by it (Knet forbids overwriting arrays in differentiated code).
void check_writable(const Tensor &t, const char *op);

} // namespace knet::detail

namespace knet::detail {

// What a Param handle points at. Its value's TensorImpl points back here
// (weakly), which is how an op recognizes a parameter among its inputs.
struct ParamImpl : std::enable_shared_from_this<ParamImpl> {
  Tensor value;
  std::string name;
  void tag() const {
    if (value.defined())
      value.impl()->param =
          std::const_pointer_cast<ParamImpl>(shared_from_this());
  }
};

struct TapeImpl;

// Stops every tape on this thread from recording while it lives (RAII).
class RecordingPause {
public:
  RecordingPause();
  ~RecordingPause();
  RecordingPause(const RecordingPause &) = delete;
  RecordingPause &operator=(const RecordingPause &) = delete;

private:
  std::vector<TapeImpl *> paused_;
  int depth_;
};

// Starts recording a new tape on this thread (RAII).
class TapeScope {
public:
  TapeScope();
  ~TapeScope();
  TapeScope(const TapeScope &) = delete;
  TapeScope &operator=(const TapeScope &) = delete;
  // Stops recording and runs the reverse sweep from the scalar `loss`.
  std::shared_ptr<TapeImpl> finish(const Tensor &loss);

private:
  std::shared_ptr<TapeImpl> tape_;
  bool active_ = true;
};

} // namespace knet::detail
