// The dynamic tape: recording, the reverse sweep, Param, Tape, gradcheck.
#include "core/autograd.h"

#include <knet/compiled.h>

#include <knet/autograd.h>
#include <knet/ops/elementwise.h>
#include <knet/ops/random.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <sstream>
#include <unordered_map>

namespace knet::detail {

thread_local int t_recording = 0;

namespace {

std::atomic<uint64_t> g_next_tape_id{1};

struct Node {
  const char *op;
  std::vector<int64_t> in; // slots, -1 for untracked inputs
  std::vector<Shape> in_shapes;
  std::vector<DType> in_dtypes;
  std::vector<int64_t> out; // slots
  std::vector<Shape> out_shapes;
  std::vector<DType> out_dtypes;
  Device device;
  std::shared_ptr<BackwardFn> backward;
};

} // namespace

struct TapeImpl {
  uint64_t id = g_next_tape_id++;
  std::vector<Node> nodes;
  int64_t nslots = 0;
  std::vector<std::shared_ptr<ParamImpl>> params;
  std::vector<int64_t> param_slots;
  std::vector<Tensor> param_grads; // after the sweep
  Tensor value;
};

namespace {

// Tapes recording on this thread, innermost last.
thread_local std::vector<TapeImpl *> t_active;

bool is_active(uint64_t id) {
  for (TapeImpl *t : t_active)
    if (t->id == id)
      return true;
  return false;
}

int64_t find_slot(const TensorImpl &impl, uint64_t id) {
  for (const TapeRef &r : impl.tracks)
    if (r.tape_id == id)
      return r.slot;
  return -1;
}

void add_track(TensorImpl &impl, uint64_t id, int64_t slot) {
  // Entries of tapes that stopped recording are dropped here, so a
  // parameter reused across many steps keeps a short list.
  std::erase_if(impl.tracks, [&](const TapeRef &r) {
    return r.tape_id == id || !is_active(r.tape_id);
  });
  impl.tracks.push_back({id, slot});
}

// The slot of `t` on tape T: a recorded value, or a Param seen for the first
// time (which gets a slot now); -1 when T does not track t.
int64_t slot_on(TapeImpl &T, const Tensor &t) {
  if (!t.defined())
    return -1;
  TensorImpl &impl = *t.impl();
  int64_t s = find_slot(impl, T.id);
  if (s >= 0)
    return s;
  std::shared_ptr<ParamImpl> p = impl.param.lock();
  if (!p || p->value.impl() != &impl)
    return -1;
  s = T.nslots++;
  T.params.push_back(p);
  T.param_slots.push_back(s);
  add_track(impl, T.id, s);
  return s;
}

} // namespace

void record(const char *op, const std::vector<Tensor> &inputs,
            const std::vector<Tensor> &outputs, BackwardFn backward) {
  std::shared_ptr<BackwardFn> shared;
  for (TapeImpl *T : t_active) {
    std::vector<int64_t> in(inputs.size());
    bool any = false;
    for (size_t i = 0; i < inputs.size(); ++i) {
      in[i] = slot_on(*T, inputs[i]);
      any |= in[i] >= 0;
    }
    if (!any)
      continue;
    if (!shared)
      shared = std::make_shared<BackwardFn>(std::move(backward));
    Node n;
    n.op = op;
    n.in = std::move(in);
    for (const Tensor &x : inputs) {
      n.in_shapes.push_back(x.defined() ? x.shape() : Shape{});
      n.in_dtypes.push_back(x.defined() ? x.dtype() : DType::f32);
    }
    for (const Tensor &y : outputs) {
      int64_t s = T->nslots++;
      n.out.push_back(s);
      n.out_shapes.push_back(y.shape());
      n.out_dtypes.push_back(y.dtype());
      n.device = y.device();
      add_track(*y.impl(), T->id, s);
    }
    n.backward = shared;
    T->nodes.push_back(std::move(n));
  }
}

bool is_tracked(const Tensor &t) {
  if (!t.defined() || t_active.empty())
    return false;
  for (const TapeRef &r : t.impl()->tracks)
    if (is_active(r.tape_id))
      return true;
  return false;
}

void no_derivative(const char *op, const std::vector<Tensor> &inputs) {
  if (!recording())
    return;
  for (const Tensor &x : inputs)
    if (is_tracked(x))
      fail(op, ": no derivative is defined for this op (a higher-order "
               "gradient through it is not supported)");
}

void check_writable(const Tensor &t, const char *op) {
  if (t_active.empty() || !t.defined())
    return;
  for (TapeImpl *T : t_active)
    for (const auto &p : T->params)
      if (p->value.defined() && p->value.shares_storage(t))
        fail(op, ": cannot overwrite the value of Param '", p->name, "' ",
             shape_str(p->value.shape()), " while a tape records");
  if (is_tracked(t))
    fail(op, ": cannot overwrite a tensor ", shape_str(t.shape()),
         " that the tape recorded (arrays may not be changed in place in "
         "differentiated code)");
}

RecordingPause::RecordingPause() : depth_(t_recording) {
  paused_.swap(t_active);
  t_recording = 0;
}

RecordingPause::~RecordingPause() {
  t_active.swap(paused_);
  t_recording = depth_;
}

TapeScope::TapeScope() : tape_(std::make_shared<TapeImpl>()) {
  t_active.push_back(tape_.get());
  ++t_recording;
}

TapeScope::~TapeScope() {
  if (active_) {
    std::erase(t_active, tape_.get());
    --t_recording;
  }
}

std::shared_ptr<TapeImpl> TapeScope::finish(const Tensor &loss) {
  std::erase(t_active, tape_.get());
  --t_recording;
  active_ = false;
  TapeImpl &T = *tape_;
  if (!loss.defined())
    fail("diff: the function returned an undefined tensor");
  if (loss.numel() != 1)
    fail("diff: the function must return a scalar loss, got shape ",
         shape_str(loss.shape()));
  if (!is_floating(loss.dtype()))
    fail("diff: the loss has dtype ", dtype_name(loss.dtype()),
         ", expected a floating dtype");
  T.value = loss;
  T.param_grads.assign(T.params.size(), Tensor());
  // The loss may be a Param's value itself (f returned its argument): it
  // gets its slot now, and its gradient is one.
  int64_t ls = slot_on(T, loss);
  T.param_grads.assign(T.params.size(), Tensor());
  if (ls < 0) {
    T.nodes.clear();
    return tape_;
  }
  std::vector<Tensor> g(T.nslots);
  g[ls] = ones_like(loss);
  for (size_t k = T.nodes.size(); k-- > 0;) {
    Node &n = T.nodes[k];
    bool any = false;
    for (int64_t o : n.out)
      any |= g[o].defined();
    if (!any) {
      n.backward.reset();
      continue;
    }
    Grads dy(n.out.size());
    for (size_t j = 0; j < n.out.size(); ++j) {
      dy[j] = g[n.out[j]].defined()
                  ? g[n.out[j]]
                  : Tensor::zeros(n.out_shapes[j], n.out_dtypes[j], n.device);
      g[n.out[j]] = Tensor();
    }
    Needs need(n.in.size());
    for (size_t i = 0; i < n.in.size(); ++i)
      need[i] = n.in[i] >= 0;
    Grads dx = (*n.backward)(dy, need);
    n.backward.reset(); // frees what the forward saved for this node
    for (size_t i = 0; i < n.in.size() && i < dx.size(); ++i) {
      if (n.in[i] < 0 || !dx[i].defined())
        continue;
      if (dx[i].shape() != n.in_shapes[i])
        fail("internal error: the gradient of ", n.op, " input ", i,
             " has shape ", shape_str(dx[i].shape()), ", expected ",
             shape_str(n.in_shapes[i]));
      // A gradient has its input's dtype (a 0-d scalar operand that took
      // its partner's dtype gets its gradient back in its own).
      if (dx[i].dtype() != n.in_dtypes[i] && is_floating(n.in_dtypes[i]))
        dx[i] = dx[i].to(n.in_dtypes[i]);
      Tensor &acc = g[n.in[i]];
      acc = acc.defined() ? acc + dx[i] : dx[i];
    }
  }
  // Gradients handed to users are dense (a broadcast gradient may be an
  // expanded view with zero strides), and each owns its storage (add's
  // rule passes one gradient to both operands), so that scaling one in
  // place (clip_global_norm) never changes another.
  std::vector<const Storage *> seen;
  for (size_t i = 0; i < T.params.size(); ++i) {
    Tensor gi = g[T.param_slots[i]];
    if (!gi.defined())
      continue;
    gi = gi.contiguous();
    const Storage *st = gi.impl()->storage.get();
    if (std::find(seen.begin(), seen.end(), st) != seen.end())
      gi = gi.clone();
    seen.push_back(gi.impl()->storage.get());
    T.param_grads[i] = gi;
  }
  T.nodes.clear();
  return tape_;
}

Tape diff_on_tape(const std::function<Tensor()> &f) {
  TapeScope scope;
  Tensor loss = f();
  return Tape(scope.finish(loss));
}

namespace {
std::unordered_map<const void *, const CompiledFunction *> &registry() {
  static auto *r =
      new std::unordered_map<const void *, const CompiledFunction *>();
  return *r;
}
} // namespace

void register_compiled(const void *user_fn, const CompiledFunction *f) {
  registry()[user_fn] = f;
}

const CompiledFunction *find_compiled_function(const void *user_fn) {
  auto it = registry().find(user_fn);
  return it == registry().end() ? nullptr : it->second;
}

const void *find_compiled(const void *fn) { return find_compiled_function(fn); }

std::vector<Tensor> list_zeros_like(const std::vector<Tensor> &list) {
  std::vector<Tensor> out;
  out.reserve(list.size());
  // An element never set (a std::array's default) has no gradient either.
  for (const Tensor &t : list)
    out.push_back(t.defined() ? zeros_like(t) : Tensor());
  return out;
}

std::vector<Tensor> split_list(const Tensor &dy,
                               const std::vector<Tensor> &like, int64_t dim,
                               bool stack) {
  std::vector<Tensor> out;
  out.reserve(like.size());
  int64_t begin = 0;
  for (size_t k = 0; k < like.size(); ++k) {
    if (stack) {
      out.push_back(dy.select(static_cast<int>(dim), static_cast<int64_t>(k)));
      continue;
    }
    const int64_t size = like[k].size(static_cast<int>(dim));
    out.push_back(dy.slice(static_cast<int>(dim), begin, begin + size));
    begin += size;
  }
  return out;
}

std::vector<Tensor> list_pad_like(std::vector<Tensor> list,
                                  const std::vector<Tensor> &like) {
  if (list.size() > like.size())
    list.resize(like.size());
  for (size_t k = list.size(); k < like.size(); ++k)
    list.push_back(like[k].defined() ? zeros_like(like[k]) : Tensor());
  return list;
}

void flatten_into(std::vector<Tensor> &in, const Param &p) {
  in.push_back(p.value());
}

void flatten_into(std::vector<Tensor> &in, const Param &p, const char *field) {
  if (p.impl() && p.impl()->name.empty())
    p.impl()->name = field;
  in.push_back(p.value());
}

Tensor integer_leaf(int64_t v) {
  return Tensor::from<int64_t>(std::vector<int64_t>{v}, Shape{});
}

namespace {
thread_local bool t_compiled_root = false;
std::atomic<int64_t> compiled_runs[4]; // forward, grad, save, resume
enum CompiledEntry { kForward, kGrad, kSave, kResume };
void count(CompiledEntry e) {
  compiled_runs[e].fetch_add(1, std::memory_order_relaxed);
}
thread_local const std::vector<bool> *t_need = nullptr;
} // namespace

bool gradient_needed(size_t i) {
  return !t_need || i >= t_need->size() || (*t_need)[i];
}

NeedScope::NeedScope(const std::vector<bool> &need) : saved_(t_need) {
  t_need = &need;
}
NeedScope::~NeedScope() { t_need = saved_; }

void expect_compiled_root() { t_compiled_root = true; }

CompiledStats compiled_stats() {
  return {compiled_runs[kForward].load(), compiled_runs[kGrad].load(),
          compiled_runs[kSave].load(), compiled_runs[kResume].load()};
}

// The backward of a compiled function's node on the tape: `sweep(dx)` runs
// its reverse sweep for `need`; the gradients of the inputs not needed are
// dropped.
template <class Sweep>
static Grads compiled_backward(const CompiledFunction &f,
                               const std::vector<Tensor> &in, const Grads &dy,
                               const Needs &need, Sweep sweep) {
  // The compiled reverse sweep is not itself recorded: a gradient of this
  // gradient would be silently missing, so refuse it.
  std::vector<Tensor> args = in;
  args.insert(args.end(), dy.begin(), dy.end());
  no_derivative(f.name, args);
  Grads dx;
  {
    NeedScope scope(need);
    sweep(dx);
  }
  dx.resize(in.size());
  for (size_t i = 0; i < dx.size(); ++i)
    if (!need[i])
      dx[i] = Tensor();
  return dx;
}

std::vector<Tensor> run_compiled(const CompiledFunction &f,
                                 const std::vector<Tensor> &in) {
  const bool root = t_compiled_root;
  t_compiled_root = false;
  bool tracked = false;
  if (recording())
    for (const Tensor &x : in)
      tracked |= is_tracked(x) || (x.defined() && !x.impl()->param.expired());
  if (!tracked) {
    count(kForward);
    return f.forward(in);
  }
  if (!f.grad)
    fail(f.name, ": this compiled function has no adjoint (marked "
                 "knet.no_grad) but a tape differentiates through it");
  std::vector<Tensor> out;
  if (root && t_recording == 1) {
    // diff(f, ...) of a compiled f: one pass computes the value and the
    // input gradients for a unit seed; the node scales them by its seed.
    auto din = std::make_shared<std::vector<Tensor>>();
    {
      // Gradients of the inputs the tape tracks (Params among them).
      std::vector<bool> need(in.size());
      for (size_t i = 0; i < in.size(); ++i)
        need[i] = is_tracked(in[i]) ||
                  (in[i].defined() && !in[i].impl()->param.expired());
      RecordingPause pause;
      NeedScope scope(need);
      count(kGrad);
      out = f.grad(in, {Tensor()}, *din);
    }
    // Outputs that carry Tensor& arguments out got zero seeds: once diff's
    // root has returned, nothing on this tape can use them.
    if (out.size() == 1 + f.inout && out[0].numel() == 1) {
      din->resize(in.size());
      record(f.name, in, out, [din](const Grads &dy, const Needs &need) {
        Grads dx(din->size());
        // The seed of a loss is 1: the gradients are din themselves.
        const bool unit = dy[0].numel() == 1 && dy[0].item<double>() == 1.0;
        for (size_t i = 0; i < dx.size(); ++i)
          if (need[i] && (*din)[i].defined())
            dx[i] = unit ? (*din)[i] : (*din)[i] * dy[0];
        return dx;
      });
      return out;
    }
  }
  // The tape would run dropout and batchnorm in training mode: so does the
  // compiled forward.
  if (f.save && f.resume) {
    // The split adjoint: the node keeps what the reverse sweep reads.
    auto saved = std::make_shared<std::vector<Tensor>>();
    {
      RecordingPause pause;
      const bool was_training = set_training(true);
      count(kSave);
      out = f.save(in, *saved);
      set_training(was_training);
    }
    record(f.name, in, out,
           [&f, in, saved](const Grads &dy, const Needs &need) {
             return compiled_backward(f, in, dy, need, [&](Grads &dx) {
               std::vector<Tensor> args = in;
               args.insert(args.end(), saved->begin(), saved->end());
               count(kResume);
               f.resume(args, dy, dx);
             });
           });
    return out;
  }
  // Without one, the backward runs the forward again, replaying the same
  // random numbers.
  const RngState rng = rng_state();
  {
    RecordingPause pause;
    const bool was_training = set_training(true);
    count(kForward);
    out = f.forward(in);
    set_training(was_training);
  }
  record(f.name, in, out, [&f, in, rng](const Grads &dy, const Needs &need) {
    return compiled_backward(f, in, dy, need, [&](Grads &dx) {
      const RngState now = rng_state();
      set_rng_state(rng);
      count(kGrad);
      (void)f.grad(in, dy, dx);
      set_rng_state(now);
    });
  });
  return out;
}

GradcheckResult gradcheck_impl(const std::function<Tensor()> &f, double eps,
                               double tol, int max_per_param) {
  // Every numeric evaluation runs as the analytic one did: in training mode
  // (dropout and batchnorm act as on a tape) and from the same random
  // numbers (dropout draws the same mask).
  const RngState rng = rng_state();
  Tape tape = diff_on_tape(f);
  // Afterwards (also when f throws): the mode and the random stream as the
  // analytic evaluation left them.
  struct Restore {
    bool training;
    RngState rng;
    ~Restore() {
      set_training(training);
      set_rng_state(rng);
    }
  } restore{set_training(true), rng_state()};
  auto eval = [&] {
    set_rng_state(rng);
    return f().item<double>();
  };
  GradcheckResult r;
  if (max_per_param <= 0)
    max_per_param = 64;
  int index = 0;
  for (const Param &p : tape.params()) {
    std::ostringstream named;
    if (p.name().empty())
      named << "#" << index;
    else
      named << "'" << p.name() << "'";
    const std::string label = named.str();
    ++index;
    Tensor &v = const_cast<Param &>(p).value();
    if (!v.is_contiguous())
      fail("gradcheck: Param ", label, " has a non-contiguous value");
    const bool f64 = v.dtype() == DType::f64;
    const double h = eps > 0 ? eps : (f64 ? 1e-6 : 1e-3);
    const double t = tol > 0 ? tol : (f64 ? 1e-6 : 1e-2);
    Tensor analytic = tape.grad(p);
    std::vector<double> ga = analytic.defined()
                                 ? analytic.to_vector<double>()
                                 : std::vector<double>(v.numel(), 0.0);
    const int64_t n = v.numel();
    const int64_t step = std::max<int64_t>(1, n / max_per_param);
    Tensor flat = v.reshape({n});
    for (int64_t i = 0; i < n; i += step) {
      Tensor e = flat.slice(0, i, i + 1);
      double x0 = e.item<double>();
      fill_(e, x0 + h);
      double fp = eval();
      fill_(e, x0 - h);
      double fm = eval();
      fill_(e, x0);
      double num = (fp - fm) / (2 * h);
      double abs_err = std::abs(ga[i] - num);
      double rel_err =
          abs_err / std::max({std::abs(ga[i]), std::abs(num), 1.0});
      if (abs_err > r.max_abs_error)
        r.max_abs_error = abs_err;
      if (rel_err > r.max_rel_error) {
        r.max_rel_error = rel_err;
        std::ostringstream s;
        s << "param " << label << " " << shape_str(v.shape()) << " element "
          << i << ": analytic " << ga[i] << " numeric " << num;
        r.worst = s.str();
      }
      if (rel_err > t)
        r.ok = false;
    }
  }
  return r;
}

} // namespace knet::detail

namespace knet {

using namespace detail;

Param::Param(Tensor value, std::string name)
    : impl_(std::make_shared<ParamImpl>()) {
  if (!value.defined())
    fail("Param: undefined value");
  // The Param gets its own handle on the storage, so the tensor it was made
  // from keeps its identity: a value that an outer tape tracks (or another
  // Param's value) stays tracked, and the new Param is an alias of it there.
  Tensor alias =
      make_view(value, value.shape(), value.strides(), value.offset());
  if (recording())
    record("param", {value}, {alias},
           [](const Grads &dy, const Needs &) { return Grads{dy[0]}; });
  impl_->value = std::move(alias);
  impl_->name = std::move(name);
  impl_->tag();
}

const Tensor &Param::value() const {
  if (!impl_)
    fail("Param: undefined parameter");
  impl_->tag();
  return impl_->value;
}

Tensor &Param::value() {
  if (!impl_)
    fail("Param: undefined parameter");
  impl_->tag();
  return impl_->value;
}

const std::string &Param::name() const {
  static const std::string none;
  return impl_ ? impl_->name : none;
}

// Parameters live on the default device; initial values are drawn on the
// CPU (one Philox stream for every device) and copied there.
Param param(Shape shape, Init init, DType dtype, std::string name) {
  // f16/bf16 are stored on GPUs only: drawn in f32, converted there.
  if (dtype == DType::f16 || dtype == DType::bf16)
    return Param(init(shape, DType::f32).to(default_device()).to(dtype),
                 std::move(name));
  return Param(init(shape, dtype).to(default_device()), std::move(name));
}

Param param0(Shape shape, DType dtype, std::string name) {
  return Param(Tensor::zeros(std::move(shape), dtype, default_device()),
               std::move(name));
}

Tensor Tape::value() const { return impl_ ? impl_->value : Tensor(); }

Tensor Tape::grad(const Param &p) const {
  if (!impl_ || !p.defined())
    return Tensor();
  for (size_t i = 0; i < impl_->params.size(); ++i)
    if (impl_->params[i].get() == p.impl())
      return impl_->param_grads[i];
  return Tensor();
}

std::vector<Param> Tape::params() const {
  std::vector<Param> out;
  if (!impl_)
    return out;
  for (size_t i = 0; i < impl_->params.size(); ++i)
    if (impl_->param_grads[i].defined())
      out.emplace_back(impl_->params[i]);
  return out;
}

} // namespace knet
