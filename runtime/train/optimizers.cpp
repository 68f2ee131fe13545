// Optimizers (Knet's Train20 update rules), per-Param state, gradient
// clipping.
#include "core/autograd.h"
#include "core/cuda.h"
#include "core/dispatch.h"
#include "core/isa.h"
#include "core/parallel.h"
#include "core/tensor_impl.h"
#include "train/update_rules.h"

#include <knet/ops/elementwise.h>
#include <knet/ops/reduce.h>
#include <knet/train.h>
#include <knet/vmath.h>

#include <cmath>
#include <cstring>

namespace knet {

namespace detail {

OptState::OptState(const OptState &other) {
  for (const auto &[key, s] : other.slots_) {
    if (s.owner.expired())
      continue;
    OptSlot c;
    c.owner = s.owner;
    c.t = s.t;
    for (const Tensor &b : s.buffers)
      c.buffers.push_back(b.clone());
    slots_.emplace(key, std::move(c));
  }
}

OptState &OptState::operator=(const OptState &other) {
  if (this != &other) {
    OptState copy(other);
    *this = std::move(copy);
  }
  return *this;
}

// The dtype of optimizer state (and of the GPU update's arithmetic): f32
// for f16/bf16 values, else the value's own.
static DType state_dtype(DType t) {
  return t == DType::f16 || t == DType::bf16 ? DType::f32 : t;
}

OptSlot &OptState::slot(const Param &p, int nbuf, const char *op) {
  const ParamImpl *key = p.impl();
  const Tensor &w = p.value();
  auto it = slots_.find(key);
  if (it != slots_.end() && it->second.owner.lock().get() != key) {
    slots_.erase(it); // a dead Param whose address was reused
    it = slots_.end();
  }
  if (it == slots_.end()) {
    // Drop the state of Params that died since.
    std::erase_if(slots_,
                  [](const auto &kv) { return kv.second.owner.expired(); });
    OptSlot s;
    s.owner = const_cast<ParamImpl *>(key)->weak_from_this();
    for (int i = 0; i < nbuf; ++i)
      s.buffers.push_back(
          Tensor::zeros(w.shape(), state_dtype(w.dtype()), w.device()));
    it = slots_.emplace(key, std::move(s)).first;
  }
  OptSlot &s = it->second;
  if (static_cast<int>(s.buffers.size()) != nbuf)
    fail(op, ": internal error: state has ", s.buffers.size(),
         " buffers, expected ", nbuf);
  for (const Tensor &b : s.buffers)
    if (b.shape() != w.shape() || b.dtype() != state_dtype(w.dtype()) ||
        b.device() != w.device())
      fail(op, ": the value of Param '", p.name(), "' changed from ",
           shape_str(b.shape()), " ", dtype_name(b.dtype()), " on ",
           device_str(b.device()), " to ", shape_str(w.shape()), " ",
           dtype_name(w.dtype()), " on ", device_str(w.device()),
           " since its optimizer state was created (clear the state or use "
           "a fresh optimizer)");
  return s;
}

const OptSlot *OptState::find(const Param &p) const {
  auto it = slots_.find(p.impl());
  if (it == slots_.end() || it->second.owner.lock().get() != p.impl())
    return nullptr;
  return &it->second;
}

size_t OptState::size() const {
  size_t n = 0;
  for (const auto &kv : slots_)
    n += !kv.second.owner.expired();
  return n;
}

namespace {

// Sum of squares of a CPU float tensor, accumulated in double.
double sumsq(const Tensor &t, const char *op) {
  if (cuda::on_gpu(t)) {
    Tensor d = t.to(DType::f64);
    return sum(d * d).item<double>();
  }
  check_cpu(t, op);
  Tensor c = t.contiguous();
  return dispatch_float(c.dtype(), op, [&]<class T>() {
    const T *p = c.data<T>();
    double s = 0;
    for (int64_t i = 0, n = c.numel(); i < n; ++i)
      s += static_cast<double>(p[i]) * static_cast<double>(p[i]);
    return s;
  });
}

// The shared body of every optimizer: checks, gclip, lazy state, and one
// elementwise pass over the value. On the CPU the pass is the rule's loop
// (train/update_rules.h) in the widest instruction set: it updates the
// value and the rule's nbuf state values of each element in double, g
// already clipped. On a GPU, tensors(w, g, s) does the same with tensor
// ops: it returns the new value and replaces s[] by the new state (written
// back in place).
template <class Rule, class TensorKernel>
void apply_update(const char *op, Param &p, const Tensor &grad, double gclip,
                  OptState *state, const Rule &rule, TensorKernel tensors) {
  constexpr int NBUF = Rule::nbuf;
  if (!p.defined())
    fail(op, ": undefined Param");
  if (!grad.defined())
    return;
  Tensor &w = p.value();
  if (grad.shape() != w.shape())
    fail(op, ": the gradient of Param '", p.name(), "' has shape ",
         shape_str(grad.shape()), ", expected ", shape_str(w.shape()));
  if (!is_floating(w.dtype()))
    fail(op, ": Param '", p.name(), "' has dtype ", dtype_name(w.dtype()),
         ", expected a floating dtype");
  if (!is_floating(grad.dtype()))
    fail(op, ": the gradient of Param '", p.name(), "' has dtype ",
         dtype_name(grad.dtype()), ", expected a floating dtype");
  if (!(gclip >= 0))
    fail(op, ": gclip must be >= 0 (0 turns clipping off), got ", gclip);
  check_writable(w, op);
  if (cuda::on_gpu(w) || cuda::on_gpu(grad)) {
    if (grad.device() != w.device())
      fail(op, ": the gradient of Param '", p.name(), "' is on ",
           device_str(grad.device()), ", its value on ",
           device_str(w.device()));
    RecordingPause pause;
    // f16/bf16 Params update in f32, their state kept in f32.
    const DType ct = state_dtype(w.dtype());
    Tensor g = grad.to(ct);
    if (gclip > 0) {
      const double norm = std::sqrt(sumsq(g, op));
      if (norm > gclip)
        g = g * (gclip / norm);
    }
    std::vector<Tensor> s;
    OptSlot *slot = nullptr;
    if constexpr (NBUF > 0) {
      slot = &state->slot(p, NBUF, op);
      ++slot->t;
      s = slot->buffers;
    }
    Tensor nw = tensors(w.to(ct), g, s);
    if constexpr (NBUF > 0)
      for (int k = 0; k < NBUF; ++k)
        copy_(slot->buffers[k], s[k]);
    copy_(w, nw);
    return;
  }
  check_cpu(w, op);
  check_cpu(grad, op);

  Tensor g = grad.to(w.dtype()).contiguous();
  double scale = 1;
  if (gclip > 0) {
    double norm = std::sqrt(sumsq(g, op));
    if (norm > gclip)
      scale = gclip / norm;
  }
  OptSlot *slot = nullptr;
  if constexpr (NBUF > 0) {
    slot = &state->slot(p, NBUF, op);
    ++slot->t;
  }
  // Work on a contiguous copy when the value is a strided view.
  const bool direct = w.is_contiguous();
  Tensor work = direct ? w : w.contiguous();
  const int64_t n = w.numel();
  dispatch_float(w.dtype(), op, [&]<class T>() {
    T *wp = work.data<T>();
    const T *gp = g.data<T>();
    T *bp[NBUF > 0 ? NBUF : 1] = {};
    if constexpr (NBUF > 0)
      for (int k = 0; k < NBUF; ++k)
        bp[k] = slot->buffers[k].template data<T>();
    const UpdateLoop<T, Rule> loop =
        UpdateLoops<Rule>::get(update_table(), static_cast<T *>(nullptr));
    parallel_for(n, Rule::cost, [&](int64_t b, int64_t e) {
      loop(rule, wp, gp, bp, scale, b, e);
    });
  });
  if (direct)
    ++w.impl()->storage->version;
  else
    copy_(w, work);
}

} // namespace

#if defined(__x86_64__)
extern const UpdateTable update_avx512_table, update_avx2_table;
#endif
extern const UpdateTable update_base_table;

const UpdateTable &update_table() {
#if defined(__x86_64__)
  return for_isa(update_avx512_table, update_avx2_table, update_base_table);
#else
  return update_base_table;
#endif
}

} // namespace detail

using detail::apply_update;

void SGD::update(Param &p, const Tensor &grad) {
  const double lr = this->lr;
  apply_update("SGD", p, grad, gclip, nullptr, detail::SgdRule{lr},
               [=](const Tensor &w, const Tensor &g, std::vector<Tensor> &) {
                 return w - g * lr;
               });
}

void Momentum::update(Param &p, const Tensor &grad) {
  const double lr = this->lr, gamma = this->gamma;
  apply_update("Momentum", p, grad, gclip, &state,
               detail::MomentumRule{lr, gamma},
               [=](const Tensor &w, const Tensor &g, std::vector<Tensor> &s) {
                 s[0] = s[0] * gamma - g * lr;
                 return w + s[0];
               });
}

void Nesterov::update(Param &p, const Tensor &grad) {
  const double lr = this->lr, gamma = this->gamma;
  apply_update("Nesterov", p, grad, gclip, &state,
               detail::NesterovRule{lr, gamma},
               [=](const Tensor &w, const Tensor &g, std::vector<Tensor> &s) {
                 Tensor v = s[0] * gamma;
                 s[0] = v - g * lr;
                 return (w - v) + s[0] * (1 + gamma);
               });
}

void Adagrad::update(Param &p, const Tensor &grad) {
  const double lr = this->lr, eps = this->eps;
  apply_update("Adagrad", p, grad, gclip, &state, detail::AdagradRule{lr, eps},
               [=](const Tensor &w, const Tensor &g, std::vector<Tensor> &s) {
                 s[0] = s[0] + g * g;
                 return w - g * lr / sqrt(s[0] + eps);
               });
}

void Rmsprop::update(Param &p, const Tensor &grad) {
  const double lr = this->lr, rho = this->rho, eps = this->eps;
  apply_update("Rmsprop", p, grad, gclip, &state,
               detail::RmspropRule{lr, rho, eps},
               [=](const Tensor &w, const Tensor &g, std::vector<Tensor> &s) {
                 s[0] = s[0] * rho + g * g * (1 - rho);
                 return w - g * lr / sqrt(s[0] + eps);
               });
}

void Adadelta::update(Param &p, const Tensor &grad) {
  const double lr = this->lr, rho = this->rho, eps = this->eps;
  apply_update("Adadelta", p, grad, gclip, &state,
               detail::AdadeltaRule{lr, rho, eps},
               [=](const Tensor &w, const Tensor &g, std::vector<Tensor> &s) {
                 s[0] = s[0] * rho + g * g * (1 - rho);
                 Tensor u = g * sqrt(s[1] + eps) / sqrt(s[0] + eps);
                 s[1] = s[1] * rho + u * u * (1 - rho);
                 return w - u * lr;
               });
}

void Adam::update(Param &p, const Tensor &grad) {
  const double lr = this->lr, b1 = beta1, b2 = beta2, eps = this->eps;
  // The bias corrections depend on this Param's step count, known once its
  // state exists: peek at it (apply_update increments t before the pass).
  const detail::OptSlot *s0 = state.find(p);
  const double t = static_cast<double>((s0 ? s0->t : 0) + 1);
  const double c1 = 1 - std::pow(b1, t), c2 = 1 - std::pow(b2, t);
  apply_update(
      "Adam", p, grad, gclip, &state, detail::AdamRule{lr, b1, b2, eps, c1, c2},
      [=](const Tensor &w, const Tensor &g, std::vector<Tensor> &s) {
        s[0] = s[0] * b1 + g * (1 - b1);
        s[1] = s[1] * b2 + g * g * (1 - b2);
        return w - s[0] * (lr / c1) / (sqrt(s[1]) * (1 / std::sqrt(c2)) + eps);
      });
}

void update(const Tape &tape, AnyOptimizer &opt) {
  std::visit([&](auto &o) { update(tape, o); }, opt);
}

double clip_global_norm(const Tape &tape, double max_norm) {
  if (!(max_norm > 0))
    detail::fail("clip_global_norm: max_norm must be > 0, got ", max_norm);
  std::vector<Tensor> grads;
  double ss = 0;
  for (const Param &p : tape.params()) {
    Tensor g = tape.grad(p);
    if (!g.defined())
      continue;
    ss += detail::sumsq(g, "clip_global_norm");
    grads.push_back(g);
  }
  const double norm = std::sqrt(ss);
  if (std::isfinite(norm) && norm > max_norm) {
    const double s = max_norm / norm;
    for (Tensor &g : grads)
      mul_(g, s); // the tape's own gradient storage
  }
  return norm;
}

} // namespace knet
