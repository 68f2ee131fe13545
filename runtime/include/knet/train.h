// Training: optimizers, gradient clipping, minibatches, a progress bar and
// the minimize loop (Knet's Train20, with its defaults and update formulas).
//
//   Adam opt{.lr = 0.01};
//   auto data = minibatch(x, y, 64, {.shuffle = true});
//   for (int epoch = 0; epoch < 10; ++epoch) {
//     auto bar = progress(data);
//     for (auto [xb, yb] : bar) {
//       Tape t = diff(loss, model, xb, yb);
//       update(t, opt);
//       bar.set("loss", t.value().item<double>());
//     }
//   }
#pragma once

#include <knet/autograd.h>
#include <knet/tensor.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <iterator>
#include <memory>
#include <optional>
#include <ranges>
#include <string>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

namespace knet {

// ---------------------------------------------------------------------------
// Optimizers
// ---------------------------------------------------------------------------

namespace detail {

// The state an optimizer keeps for one Param: its buffers (zeros shaped like
// the value at first use) and its update count t.
struct OptSlot {
  std::weak_ptr<ParamImpl> owner;
  std::vector<Tensor> buffers;
  int64_t t = 0;
};

// Per-Param state, created lazily and keyed by the Param's identity. Holds
// the Params weakly: a dead Param's state is dropped. Copying an optimizer
// copies its state (the buffers are cloned).
class OptState {
public:
  OptState() = default;
  OptState(const OptState &other);
  OptState &operator=(const OptState &other);
  OptState(OptState &&) noexcept = default;
  OptState &operator=(OptState &&) noexcept = default;
  ~OptState() = default;

  // p's state with `nbuf` buffers; created (zeros like p's value) when p is
  // first seen. Throws naming `op` when p's value changed shape or dtype.
  OptSlot &slot(const Param &p, int nbuf, const char *op);
  // p's state, or null when p has none yet.
  const OptSlot *find(const Param &p) const;
  // Number of live Params with state.
  size_t size() const;
  void clear() { slots_.clear(); }

private:
  std::unordered_map<const ParamImpl *, OptSlot> slots_;
};

} // namespace detail

// Each optimizer is an aggregate of hyperparameters (designated initializers
// work: Adam{.lr = 0.01, .gclip = 1}) plus its per-Param state. `gclip` > 0
// scales a Param's gradient g to norm gclip when norm(g) > gclip (0: off).
// update(p, g) changes p's value in place (outside any tape); the formulas
// are Knet's (docs/train.md).

// w -= lr*g
struct SGD {
  double lr = 0.1;
  double gclip = 0;
  void update(Param &p, const Tensor &grad);
};

// v = gamma*v - lr*g; w += v
struct Momentum {
  double lr = 0.05;
  double gamma = 0.95;
  double gclip = 0;
  detail::OptState state{};
  void update(Param &p, const Tensor &grad);
};

// v' = gamma*v - lr*g; w += -gamma*v + (1+gamma)*v'  (Bengio et al. eq. 7)
struct Nesterov {
  double lr = 0.05;
  double gamma = 0.95;
  double gclip = 0;
  detail::OptState state{};
  void update(Param &p, const Tensor &grad);
};

// G += g^2; w -= lr*g/sqrt(G + eps)
struct Adagrad {
  double lr = 0.05;
  double eps = 1e-6;
  double gclip = 0;
  detail::OptState state{};
  void update(Param &p, const Tensor &grad);
};

// G = rho*G + (1-rho)*g^2; w -= lr*g/sqrt(G + eps)
struct Rmsprop {
  double lr = 0.01;
  double rho = 0.9;
  double eps = 1e-6;
  double gclip = 0;
  detail::OptState state{};
  void update(Param &p, const Tensor &grad);
};

// G = rho*G + (1-rho)*g^2; u = g*sqrt(D + eps)/sqrt(G + eps);
// D = rho*D + (1-rho)*u^2; w -= lr*u
struct Adadelta {
  double lr = 1.0;
  double rho = 0.9;
  double eps = 1e-6;
  double gclip = 0;
  detail::OptState state{};
  void update(Param &p, const Tensor &grad);
};

// t += 1; m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2;
// w -= lr * (m/(1-b1^t)) / (sqrt(v/(1-b2^t)) + eps)
struct Adam {
  double lr = 0.001;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double gclip = 0;
  detail::OptState state{};
  void update(Param &p, const Tensor &grad);
};

// Anything with update(Param&, const Tensor&) is an optimizer (the seven
// above, or a user's own).
template <class O>
concept Optimizer = requires(O &o, Param &p, const Tensor &g) {
  o.update(p, g);
};

// One of the built-in optimizers, chosen at run time.
using AnyOptimizer =
    std::variant<SGD, Momentum, Nesterov, Adagrad, Rmsprop, Adadelta, Adam>;

// Updates every Param that got a gradient on `tape`.
template <Optimizer O> void update(const Tape &tape, O &opt) {
  for (Param &p : tape.params()) {
    Tensor g = tape.grad(p);
    if (g.defined())
      opt.update(p, g);
  }
}
void update(const Tape &tape, AnyOptimizer &opt);

// Updates one Param with its gradient (nothing when grad is undefined).
template <Optimizer O> void update(Param &p, const Tensor &grad, O &opt) {
  if (grad.defined())
    opt.update(p, grad);
}

// The global norm sqrt(sum over all of tape's gradients of sum(g^2)); when
// it exceeds max_norm (> 0) every gradient on the tape is scaled in place by
// max_norm/norm, so a later update sees the clipped gradients. Returns the
// norm before clipping; a non-finite norm leaves the gradients unchanged.
double clip_global_norm(const Tape &tape, double max_norm);

// ---------------------------------------------------------------------------
// Minibatches
// ---------------------------------------------------------------------------

struct MinibatchOptions {
  bool shuffle = false; // a fresh permutation (knet's RNG) for every pass
  bool partial = false; // keep the last, smaller batch
  // The dtype of x's batches (Knet's xtype), converted as the rows are
  // gathered; nullopt keeps x's. A floating xtype multiplies by xscale as it
  // converts (1/255 turns u8 pixels into [0,1]).
  std::optional<DType> xtype = std::nullopt;
  double xscale = 1;
};

// Batches of `batch` rows (dim 0) of x and y. Iterating yields
// std::pair<Tensor, Tensor> (second undefined when there is no y). Each
// begin() is one epoch: with shuffle it draws a new permutation from the
// global stream (knet::seed makes it reproducible). Unshuffled batches
// without xtype are contiguous slices of x and y (no copy when they are
// contiguous); other batches are gathered (and converted) in one pass into
// a buffer that the next batch reuses once nothing holds the last one (a
// training loop that drops each batch makes no allocation per batch). A
// Minibatch is for one thread at a time.
class Minibatch {
public:
  using value_type = std::pair<Tensor, Tensor>;

  Minibatch(Tensor x, Tensor y, int64_t batch, MinibatchOptions opts = {});

  class iterator {
  public:
    using value_type = Minibatch::value_type;
    using difference_type = std::ptrdiff_t;
    using iterator_category = std::input_iterator_tag;
    iterator() = default;
    value_type operator*() const { return mb_->batch(i_, perm_.get()); }
    iterator &operator++() {
      ++i_;
      return *this;
    }
    void operator++(int) { ++i_; }
    friend bool operator==(const iterator &a, const iterator &b) {
      return a.i_ == b.i_;
    }

  private:
    friend class Minibatch;
    iterator(const Minibatch *mb, int64_t i,
             std::shared_ptr<const std::vector<int64_t>> perm)
        : mb_(mb), i_(i), perm_(std::move(perm)) {}
    const Minibatch *mb_ = nullptr;
    int64_t i_ = 0;
    std::shared_ptr<const std::vector<int64_t>> perm_;
  };

  iterator begin() const; // starts an epoch (draws the shuffle)
  iterator end() const;
  int64_t length() const; // number of batches
  size_t size() const { return static_cast<size_t>(length()); }
  int64_t examples() const { return n_; } // rows of x
  int64_t batch_size() const { return batch_; }
  // Batch i: rows i*batch .. of the order `perm` gives (which must hold
  // them), or of x and y as they are (null).
  value_type batch(int64_t i, const std::vector<int64_t> *perm) const;

private:
  Tensor x_, y_;
  int64_t batch_ = 1;
  int64_t n_ = 0;
  MinibatchOptions opts_;
  // The gathered batches' storage (batch() reuses it when it is free).
  mutable Tensor xbuf_, ybuf_;
};

Minibatch minibatch(Tensor x, Tensor y, int64_t batch,
                    MinibatchOptions opts = {});
Minibatch minibatch(Tensor x, int64_t batch, MinibatchOptions opts = {});

// ---------------------------------------------------------------------------
// Progress bar
// ---------------------------------------------------------------------------

struct ProgressOptions {
  // Print plain lines even when stderr is not a terminal (by default the bar
  // is silent there).
  bool force = false;
  // Where to print instead of stderr; a stream given here is never treated
  // as a terminal and always gets plain lines.
  std::ostream *out = nullptr;
  // Seconds between redraws; 0: 0.1 on a terminal, 2 for plain lines.
  double interval = 0;
  // Number of items when the range cannot tell (-1: ask the range).
  int64_t total = -1;
};

using ProgressValues = std::vector<std::pair<std::string, double>>;

// One line of the bar:
//   "[ 37/100] ███▋       37% 12.3it/s eta 00:05 loss=0.4123"
// total < 0 means unknown ("[37] 12.3it/s 00:03 loss=0.4123"); when
// n >= total the ETA gives way to the elapsed time. ascii draws the bar
// with '#' (for logs).
std::string render_progress(int64_t n, int64_t total, double seconds,
                            const ProgressValues &values = {},
                            bool ascii = false);

// The bar's state and output, independent of what is iterated.
class ProgressBar {
public:
  explicit ProgressBar(int64_t total = -1, ProgressOptions opts = {});
  ~ProgressBar();
  ProgressBar(const ProgressBar &) = delete;
  ProgressBar &operator=(const ProgressBar &) = delete;

  void start();             // resets the count and the clock
  void tick(int64_t k = 1); // k more items done; redraws when due
  void finish();            // final line (once per start)
  void set(const std::string &key, double value); // shown as key=value
  int64_t count() const { return n_; }
  int64_t total() const { return total_; }
  void set_total(int64_t total) { total_ = total; }
  bool enabled() const { return mode_ != 0; }
  std::string line() const; // the current rendering

private:
  void draw(bool final);
  int64_t total_;
  ProgressOptions opts_;
  int mode_ = 0; // 0 silent, 1 terminal, 2 plain lines
  int64_t n_ = 0;
  bool started_ = false, finished_ = false;
  std::chrono::steady_clock::time_point t0_, last_;
  ProgressValues values_;
};

namespace detail {
template <class R> int64_t range_length(R &r) {
  if constexpr (requires { r.length(); })
    return static_cast<int64_t>(r.length());
  else if constexpr (std::ranges::sized_range<R>)
    return static_cast<int64_t>(std::ranges::size(r));
  else
    return -1;
}
} // namespace detail

// Wraps a range: iterating it iterates the range and draws the bar. Holds
// the range by reference when given an lvalue, else by value.
template <class R> class Progress {
  using Range = std::remove_reference_t<R>;
  using It = decltype(std::ranges::begin(std::declval<Range &>()));
  using Se = decltype(std::ranges::end(std::declval<Range &>()));

public:
  Progress(R &&range, ProgressOptions opts)
      : range_(std::forward<R>(range)),
        bar_(std::make_unique<ProgressBar>(opts.total, opts)) {
    if (opts.total < 0)
      bar_->set_total(detail::range_length(range_));
  }

  class sentinel {
  public:
    Se s;
  };
  class iterator {
  public:
    using value_type = std::iter_value_t<It>;
    using difference_type = std::ptrdiff_t;
    decltype(auto) operator*() const { return *it; }
    iterator &operator++() {
      ++it;
      bar->tick();
      return *this;
    }
    void operator++(int) { ++*this; }
    // Reaching the end draws the final line.
    friend bool operator==(const iterator &a, const sentinel &b) {
      bool done = a.it == b.s;
      if (done)
        a.bar->finish();
      return done;
    }
    It it;
    ProgressBar *bar;
  };

  iterator begin() {
    bar_->start();
    return iterator{std::ranges::begin(range_), bar_.get()};
  }
  sentinel end() { return sentinel{std::ranges::end(range_)}; }

  void set(const std::string &key, double value) { bar_->set(key, value); }
  ProgressBar &bar() { return *bar_; }

private:
  R range_;
  std::unique_ptr<ProgressBar> bar_;
};

template <class R> Progress<R> progress(R &&range, ProgressOptions opts = {}) {
  return Progress<R>(std::forward<R>(range), opts);
}

// ---------------------------------------------------------------------------
// minimize
// ---------------------------------------------------------------------------

namespace detail {
template <class F, class B> Tape diff_batch(F &f, B &&b) {
  using D = std::remove_cvref_t<B>;
  if constexpr (std::is_same_v<D, Tensor>) {
    return diff(f, b);
  } else if constexpr (std::is_same_v<D, std::pair<Tensor, Tensor>>) {
    constexpr bool one = std::is_invocable_v<F &, Tensor &>;
    constexpr bool two = std::is_invocable_v<F &, Tensor &, Tensor &>;
    static_assert(one || two, "minimize: the loss must take (x, y) or (x)");
    if constexpr (one && two) {
      if (!b.second.defined())
        return diff(f, b.first);
      return diff(f, b.first, b.second);
    } else if constexpr (two) {
      return diff(f, b.first, b.second);
    } else {
      if (b.second.defined())
        fail("minimize: the loss takes one argument (x) but the data has "
             "(x, y) pairs");
      return diff(f, b.first);
    }
  } else {
    return std::apply(
        [&](auto &&...a) { return diff(f, std::forward<decltype(a)>(a)...); },
        std::forward<B>(b));
  }
}
} // namespace detail

// For each batch in data: tape = diff(loss, batch...) (a pair (x, y) calls
// loss(x, y), or loss(x) when y is undefined; a tuple is spread; a Tensor is
// passed alone), then update(tape, opt). Returns the losses. When data is a
// Progress, its bar shows the latest loss. opt is an lvalue so its state
// survives across calls (epochs).
template <class F, class Data, class O>
std::vector<double> minimize(F &&loss, Data &&data, O &opt) {
  std::vector<double> losses;
  for (auto &&b : data) {
    Tape t = detail::diff_batch(loss, std::forward<decltype(b)>(b));
    double l = t.value().template item<double>();
    losses.push_back(l);
    update(t, opt);
    if constexpr (requires { data.set(std::string("loss"), l); })
      data.set("loss", l);
  }
  return losses;
}

} // namespace knet
