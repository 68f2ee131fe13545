// The differential tester's driver: runs every case of the generated table
// (difftest_cases.inc, from gen.py) and prints one line per value and per
// gradient for compare.py:
//
//   <function>.<case> <tag> <number>...
//
// Built three times from the same generated sources: as plain C++ (the
// tape; KNET_DIFFTEST_TAPE, which also gradchecks every function against
// central differences and exits 1 on a failure), and through knet_compile
// with and without fusion. Per kind of function:
//
//   loss    value (forward), shape, dvalue and grad<i> from diff(f, ...)
//           (the compiled adjoint when f is compiled), wgrad<i> from
//           diff(sum(f(...) * R)) (f as one node on the tape); loss_detached
//           the same without gradcheck (tests/opgrad: f reads a tensor's
//           value into a number, which detaches it)
//   tensor  shape, value, wgrad<i> as above (or "value undefined")
//   double  value, ngrad<i> (central differences for double argument i);
//           compiled builds also vgvalue and grad<i> from value_and_grad
//   int     value, exactly
//
// Gradients are with respect to the leaves in the order the table creates
// them (an undefined gradient prints as zeros). Inputs are f64 randn from a
// seed derived from the case's name. A case that throws prints its lines so
// far and "<name> error <message>"; one whose numbers are not all finite
// prints "<name> nonfinite" instead of its lines.
//
//   driver [--only f1,f2] [--skip f3]     (function names, without .case)
#include "difftest_models.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

using namespace knet;

namespace {

#ifdef KNET_DIFFTEST_TAPE
constexpr bool tape_build = true;
#else
constexpr bool tape_build = false;
#endif

struct Case {
  std::string name;
  bool compiled = false;
  std::vector<Param> leaves;
  std::vector<std::string> lines;
  bool finite = true;
};

Case *current = nullptr;
std::set<std::string> only, skip;
int cases = 0, errors = 0, nonfinite = 0, gradcheck_failures = 0;

// A non-owning reference to a callable: instantiates much less per case
// than std::function (a few hundred cases are compiled at once).
template <class Sig> class Ref;
template <class R, class... A> class Ref<R(A...)> {
public:
  template <class F>
  Ref(F &&f) // NOLINT: implicit, like std::function
      : obj_(const_cast<void *>(static_cast<const void *>(&f))),
        call_([](void *o, A... a) -> R {
          return (*static_cast<std::remove_reference_t<F> *>(o))(a...);
        }) {}
  R operator()(A... a) const { return call_(obj_, a...); }

private:
  void *obj_;
  R (*call_)(void *, A...);
};

// Leaves of the table's arguments (gen.py writes T(3, 4), TV(2, 4), ...).
Param leaf(Shape shape) {
  Param p(randn(std::move(shape), DType::f64),
          "leaf" + std::to_string(current->leaves.size()));
  current->leaves.push_back(p);
  return p;
}
template <class... D> Tensor T(D... d) {
  return leaf({static_cast<int64_t>(d)...}).value();
}
template <class... D> Param P(D... d) {
  return leaf({static_cast<int64_t>(d)...});
}
template <class... D> std::vector<Tensor> TV(int n, D... d) {
  std::vector<Tensor> v;
  for (int i = 0; i < n; ++i)
    v.push_back(T(d...));
  return v;
}
template <class... D> std::vector<Param> PV(int n, D... d) {
  std::vector<Param> v;
  for (int i = 0; i < n; ++i)
    v.push_back(P(d...));
  return v;
}

void text_line(const std::string &tag, const std::string &text) {
  current->lines.push_back(current->name + " " + tag +
                           (text.empty() ? "" : " " + text));
}

void line(const std::string &tag, const std::vector<double> &v) {
  std::string s = current->name + " " + tag;
  char buf[40];
  for (double e : v) {
    std::snprintf(buf, sizeof buf, " %.17g", e);
    s += buf;
    current->finite = current->finite && std::isfinite(e);
  }
  current->lines.push_back(s);
}

std::vector<double> values(const Tensor &t) { return t.to_vector<double>(); }

void shape_line(const Tensor &y) {
  std::string s = dtype_name(y.dtype());
  for (int64_t d : y.shape())
    s += " " + std::to_string(d);
  text_line("shape", s);
}

void grads(const std::string &tag, const Tape &t) {
  for (size_t i = 0; i < current->leaves.size(); ++i) {
    const Param &p = current->leaves[i];
    Tensor g = t.grad(p);
    if (!g.defined())
      g = Tensor::zeros(p.value().shape(), DType::f64);
    line(tag + std::to_string(i), values(g));
  }
}

void check(Ref<Tensor()> f) {
  if constexpr (tape_build) {
    GradcheckResult r = gradcheck([&] { return f(); });
    if (!r.ok) {
      std::fprintf(stderr, "%s: gradcheck FAILED (max rel error %.3g) %s\n",
                   current->name.c_str(), r.max_rel_error, r.worst.c_str());
      ++gradcheck_failures;
      text_line("gradcheck", "FAILED");
    }
  }
}

// The runners are not templates (and the macro below instantiates as
// little as it can per case): g++ takes a minute for a few hundred cases
// otherwise.

// A 0-d Tensor result: the forward, diff(f, ...) and the wrapper.
// detached: the function reads a tensor's value into a C++ number (item),
// which detaches it, so central differences see a dependence that no
// gradient has: no gradcheck.
void run_loss(Ref<Tensor()> call, Ref<Tape()> direct, bool detached = false) {
  Tensor y = call();
  shape_line(y);
  line("value", values(y));
  Tape t = direct();
  line("dvalue", values(t.value()));
  grads("grad", t);
  Tensor r = randn(y.shape(), DType::f64);
  Tape w = diff([&] { return sum(call() * r); });
  grads("wgrad", w);
  if (!detached)
    check(call);
}

// A Tensor result: the forward and the wrapper sum(f(...) * R).
void run_tensor(Ref<Tensor()> call) {
  Tensor y = call();
  if (!y.defined()) {
    text_line("value", "undefined");
    return;
  }
  shape_line(y);
  line("value", values(y));
  Tensor r = randn(y.shape(), DType::f64);
  auto wrapped = [&] { return sum(call() * r); };
  Tape w = diff(wrapped);
  grads("wgrad", w);
  check(wrapped);
}

// A double result of scalar arguments: `call(i, h)` calls f with double
// argument i moved by h (i < 0: none), `grads` the compiled adjoint's
// {value, d/d(each double argument)}, `doubles` their positions.
void run_double(Ref<double(int, double)> call, const std::vector<int> &doubles,
                Ref<std::vector<double>()> grads) {
  line("value", {call(-1, 0)});
  const double h = 1e-6;
  for (int i : doubles)
    line("ngrad" + std::to_string(i), {(call(i, h) - call(i, -h)) / (2 * h)});
  if (!tape_build && current->compiled) {
    std::vector<double> g = grads();
    line("vgvalue", {g.at(0)});
    for (size_t k = 0; k < doubles.size(); ++k)
      line("grad" + std::to_string(doubles[k]), {g.at(k + 1)});
  }
}

template <class R> void run_int(R v) {
  if constexpr (std::is_signed_v<R>)
    text_line("value", std::to_string(static_cast<long long>(v)));
  else
    text_line("value", std::to_string(static_cast<unsigned long long>(v)));
}

uint64_t name_seed(const std::string &s) {
  uint64_t h = 1469598103934665603ull; // FNV-1a
  for (unsigned char c : s)
    h = (h ^ c) * 1099511628211ull;
  return h;
}

// The random stream a call of the case's function starts from.
void reseed() { seed(name_seed(current->name) + 1); }

std::string one_line(std::string s) {
  for (char &c : s)
    if (c == '\n' || c == '\r')
      c = ' ';
  return s;
}

void run_case(const char *fn, int index, bool compiled, Ref<void()> body) {
  if ((!only.empty() && !only.count(fn)) || skip.count(fn))
    return;
  Case c{std::string(fn) + "." + std::to_string(index), compiled};
  current = &c;
  std::fprintf(stderr, "# %s\n", c.name.c_str());
  ++cases;
  seed(name_seed(c.name));
  text_line("compiled", compiled ? "1" : "0");
  try {
    body();
  } catch (const std::exception &e) {
    text_line("error", one_line(e.what()));
    ++errors;
  }
  if (!c.finite) {
    c.lines.resize(1);
    text_line("nonfinite", "");
    ++nonfinite;
  }
  for (const std::string &l : c.lines)
    std::printf("%s\n", l.c_str());
  std::fflush(stdout);
  current = nullptr;
}

std::set<std::string> split(const char *s) {
  std::set<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ','))
    if (!item.empty())
      out.insert(item);
  return out;
}

} // namespace

// The table's cases (difftest_cases.inc): the argument variables are made in
// order, then the runner of the function's kind runs.
#define KNET_UNPAREN(...) __VA_ARGS__
#define KNET_DIFFTEST(kind, fn, index, decls, args, ...)                       \
  run_case(#fn, index, is_compiled(fn), [&] {                                  \
    KNET_UNPAREN decls KNET_DIFFTEST_##kind(fn, args, __VA_ARGS__);            \
  });
// Every call of the function starts from the same random stream (reseed),
// so that one using dropout draws the same mask each time: in the forward,
// in diff and in each evaluation of gradcheck.
#define KNET_DIFFTEST_LOSS(fn, args, detached)                                 \
  run_loss([&] { return reseed(), fn args; },                                  \
           [&] { return reseed(), diff(fn, KNET_UNPAREN args); }, detached)
#define KNET_DIFFTEST_loss(fn, args, ...) KNET_DIFFTEST_LOSS(fn, args, false)
#define KNET_DIFFTEST_loss_detached(fn, args, ...)                             \
  KNET_DIFFTEST_LOSS(fn, args, true)
#define KNET_DIFFTEST_tensor(fn, args, ...)                                    \
  run_tensor([&] { return reseed(), fn args; })
#define KNET_DIFFTEST_int(fn, args, ...) run_int(fn args)
// In a double case's moved arguments: what double argument i is moved by.
#define M(i) ((i) == moved_arg ? moved_by : 0.0)
#define KNET_DIFFTEST_double(fn, args, moved, positions, picks)                \
  run_double([&](int moved_arg, double moved_by) { return fn moved; },         \
             std::vector<int> positions,                                       \
             [&] {                                                             \
               auto r = value_and_grad(fn, KNET_UNPAREN args);                 \
               return std::vector<double>{std::get<0>(r), KNET_UNPAREN picks}; \
             })

int main(int argc, char **argv) {
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--only")
      only = split(argv[i + 1]);
    else if (a == "--skip")
      skip = split(argv[i + 1]);
    else {
      std::fprintf(stderr, "usage: %s [--only f,...] [--skip f,...]\n",
                   argv[0]);
      return 2;
    }
  }
#include "difftest_cases.inc"
  detail::FusedStats fused = detail::fused_stats();
  std::fprintf(stderr, "fused kernels: %lld run, %lld fell back\n",
               static_cast<long long>(fused.kernels),
               static_cast<long long>(fused.fallbacks));
  std::fprintf(stderr,
               "difftest driver (%s): %d cases, %d errors, %d not finite, "
               "%d gradcheck failures\n",
               tape_build ? "tape" : "compiled", cases, errors, nonfinite,
               gradcheck_failures);
  return gradcheck_failures == 0 ? 0 : 1;
}
