// Runs every model of models.cpp: gradcheck against central differences in
// f64 (exit 1 on a mismatch), then prints values and gradients for
// compare.py. Built twice: with knetc (compiled) and without (the tape).
#include "models.h"

#include <cstdint>
#include <cstdio>
#include <iostream>

using namespace knet;

namespace {

int failures = 0;

void print(const char *name, const Tape &t, const std::vector<Param> &ps) {
  std::printf("%s value %.17g\n", name, t.value().item<double>());
  for (size_t i = 0; i < ps.size(); ++i) {
    Tensor g = t.grad(ps[i]);
    // A Param the loss did not reach has no gradient on the tape and zeros
    // from a compiled adjoint that could not know it statically: the same.
    std::vector<double> v =
        g.defined() ? g.to_vector<double>()
                    : std::vector<double>(ps[i].value().numel(), 0.0);
    std::printf("%s grad%zu", name, i);
    for (double e : v)
      std::printf(" %.17g", e);
    std::printf("\n");
  }
}

template <class F, class... A> void check(const char *name, F f, A... args) {
  GradcheckResult r = gradcheck(f, args...);
  std::fprintf(stderr, "%s: gradcheck %s (max rel error %.3g) %s\n", name,
               r.ok ? "ok" : "FAILED", r.max_rel_error, r.worst.c_str());
  failures += !r.ok;
}

// Expected values of the regressions, checked in both builds (compare.py
// also checks that the builds agree).
void expect(const char *what, double got, double want) {
  bool ok = got == want;
  std::fprintf(stderr, "%s: %.17g (want %.17g) %s\n", what, got, want,
               ok ? "ok" : "FAILED");
  failures += !ok;
}

void print_values(const char *name, const std::vector<double> &v) {
  std::printf("%s", name);
  for (double e : v)
    std::printf(" %.17g", e);
  std::printf("\n");
}

void regressions() {
  const DType f64 = DType::f64;
  // Early returns of non-scalar tensors, differentiated through a caller on
  // the tape (the compiled callee is one node) and with gradcheck.
  Param x(Tensor::from<double>({1, 2}, {2}), "x"),
      w(Tensor::from<double>({2, 3}, {2}), "w");
  using Callee = Tensor (*)(const Tensor &, const Tensor &, int);
  const std::pair<const char *, Callee> callees[] = {
      {"early_return", early_return}, {"early_return_loop", early_return_loop}};
  for (auto [name, g] : callees)
    for (int n : {0, 2, 3, 7}) {
      auto loss = [g](const Tensor &a, const Tensor &b, int k) {
        return sum(g(a, b, k) * g(a, b, k));
      };
      std::string id = std::string(name) + "_n" + std::to_string(n);
      check(id.c_str(), loss, x.value(), w.value(), n);
      print(id.c_str(), diff(loss, x.value(), w.value(), n), {x, w});
    }
  // The reproductions, d/dx sum(g(x, w, n)) with x = {1, 2},
  // w = {2, 3}: w*w when g returns h * w (or h after two steps), w*w*w after
  // three steps.
  auto dx = [&](Callee g, int n) {
    return diff([g, n](const Tensor &a,
                       const Tensor &b) { return sum(g(a, b, n)); },
                x.value(), w.value())
        .grad(x)
        .to_vector<double>();
  };
  const struct {
    const char *what;
    Callee g;
    int n;
    double want0, want1;
  } repros[] = {{"early_return n=3 dx", early_return, 3, 4, 9},
                {"early_return_loop n=1 dx", early_return_loop, 1, 4, 9},
                {"early_return_loop n=2 dx", early_return_loop, 2, 8, 27}};
  for (const auto &r : repros) {
    std::vector<double> d = dx(r.g, r.n);
    expect((std::string(r.what) + "[0]").c_str(), d[0], r.want0);
    expect((std::string(r.what) + "[1]").c_str(), d[1], r.want1);
  }

  // C++ integer semantics.
  expect("unsigned_rem", static_cast<double>(unsigned_rem(0)), 295);
  expect("narrow_add(0)", narrow_add(0), 258);
  expect("narrow_add(1)", narrow_add(1), 3);
  expect("truncating_cast", static_cast<double>(truncating_cast(0)), 1);
  expect("unsigned_div", static_cast<double>(unsigned_div(0)), 0);
  expect("unsigned_div(10)", static_cast<double>(unsigned_div(10)), 1);
  const uint64_t big = 0xFFFFFFFFFFFFFFF0ull;
  expect("wide_unsigned == C++", wide_unsigned(big) == big * 3u + (big >> 1),
         1);
  std::printf("ints %lld %d %d %lld %lld %lld %llu\n",
              static_cast<long long>(unsigned_rem(7)), narrow_add(0),
              narrow_add(1), static_cast<long long>(truncating_cast(5)),
              static_cast<long long>(unsigned_div(0)),
              static_cast<long long>(unsigned_div(10)),
              static_cast<unsigned long long>(wide_unsigned(big)));
  Tensor xs = randn({3}, f64);
  for (unsigned n : {3u, 7u, 70000u})
    print_values(("unsigned_scale_" + std::to_string(n)).c_str(),
                 unsigned_scale(xs, n).to_vector<double>());

  // A default-constructed Tensor stays undefined.
  expect("undefined_unless(x, 0) defined", undefined_unless(xs, 0).defined(),
         0);
  expect("undefined_unless(x, 2) defined", undefined_unless(xs, 2).defined(),
         1);

  // d p / d p = 1 when the function returns its argument.
  Param ra(Tensor::from<double>({0.5}, {}), "ra");
  for (int n : {0, 1}) {
    Tape t = diff(returns_argument, ra.value(), n);
    expect(("returns_argument n=" + std::to_string(n) + " grad").c_str(),
           t.grad(ra).item<double>(), n > 0 ? 1.0 : std::cos(0.5));
  }
  // 0.083 is not an f32: the compiled sum must be the f64 one (the tape's
  // own sum order: the elements of one row).
  Tensor ex = Tensor::from<double>({1.0, 3.0}, {2});
  expect("exact_constant", exact_constant(ex).item<double>(),
         1.0 * 0.083 + 3.0 * 0.083);

  // Aliased reference parameters: x becomes 4x, sum(16 x^2), gradient 32x.
  Param al(Tensor::from<double>({0.5, -1.0}, {2}), "al");
  check("aliased_refs", aliased_refs, al.value());
  Tape at = diff(aliased_refs, al.value());
  expect("aliased_refs value", at.value().item<double>(), 16 * (0.25 + 1.0));
  expect("aliased_refs grad", at.grad(al).to_vector<double>()[1], -32.0);

  // An argument returned early, on both paths (n = 0 does not return it).
  Param ea(randn({3, 4}, f64), "ea"), eb(randn({3, 4}, f64), "eb");
  for (int n : {0, 2}) {
    auto loss = [](const Tensor &a, int k, const Tensor &b) {
      return sum(early_argument(a, k, b) * early_argument(a, k, b));
    };
    std::string id = "early_argument_n" + std::to_string(n);
    check(id.c_str(), loss, ea.value(), n, eb.value());
    print(id.c_str(), diff(loss, ea.value(), n, eb.value()), {ea, eb});
  }

  // float scalars round as floats.
  expect("float_round", float_round(0.1),
         static_cast<double>(static_cast<float>(0.1) * 3.0f));

  // keepdim over all dims, value and gradient.
  Param k(randn({3, 4}, f64), "k");
  auto kd = [](const Tensor &a) {
    return sum(keepdim_all(a) * keepdim_all(a));
  };
  check("keepdim_all", kd, k.value());
  print("keepdim_all", diff(kd, k.value()), {k});
}

// A run in one float dtype: the first token names the model and the run's
// dtype, the second what is printed and its dtype, so that compare.py finds
// a dtype the compiled code got wrong as well as a value.
void print_typed(const std::string &name, const Tape &t,
                 const std::vector<Param> &ps) {
  std::printf("%s value:%s %.17g\n", name.c_str(),
              dtype_name(t.value().dtype()), t.value().item<double>());
  for (size_t i = 0; i < ps.size(); ++i) {
    // No gradient on the tape is zeros of the Param from a compiled adjoint
    // (as in print).
    Tensor g = t.grad(ps[i]);
    if (!g.defined())
      g = zeros_like(ps[i].value());
    std::printf("%s grad%zu:%s", name.c_str(), i, dtype_name(g.dtype()));
    for (double e : g.to_vector<double>())
      std::printf(" %.17g", e);
    std::printf("\n");
  }
}

// Issue 14: tensor factories, growing lists and named dtypes in compiled
// code, gradchecked in f64; then the dtype matrix: the example models and
// the mixed-dtype functions run in f32 and in f64.
void constructs() {
  for (DType dt : {DType::f64, DType::f32}) {
    const std::string tag = std::string(":") + dtype_name(dt);
    const bool f64 = dt == DType::f64;
    auto run = [&](const char *name, auto f, std::vector<Param> ps,
                   auto... args) {
      if (f64)
        check(name, f, args...);
      print_typed(name + tag, diff(f, args...), ps);
    };
    LstmLm lm{param({12, 5}, xavier_uniform(), dt), param0({12}, dt),
              param({3, 2}, xavier_uniform(), dt)};
    Tensor xs = randn({4, 2, 2}, dt);
    run("lstm_lm", lstm_lm, {lm.w, lm.b, lm.out}, lm, xs, 3);

    // State carried across windows through Tensor& (diff of a lambda, and
    // of the compiled function itself), then used later on the same tape.
    Tensor sh = Tensor::zeros({2, 3}, dt), sc = Tensor::zeros({2, 3}, dt);
    for (int window = 0; window < 2; ++window) {
      print_typed("lstm_state_w" + std::to_string(window) + tag,
                  diff([&] { return lstm_state(lm, xs, sh, sc); }),
                  {lm.w, lm.b, lm.out});
      print_typed("lstm_state_out" + std::to_string(window) + tag,
                  diff([&] { return sum(sh) + sum(sc); }), {});
    }
    print_typed("lstm_state_root" + tag, diff(lstm_state, lm, xs, sh, sc),
                {lm.w, lm.b, lm.out});
    Tensor th = Tensor::zeros({2, 3}, dt);
    print_typed("lstm_state_twice" + tag, diff(lstm_state_twice, lm, xs, th),
                {lm.w, lm.b, lm.out});
    auto later = [&] {
      Tensor h = Tensor::zeros({2, 3}, dt), c = h;
      Tensor a = lstm_state(lm, xs, h, c);
      return a + sum(h * 3.0) + sum(c);
    };
    run("lstm_state_later", later, {lm.w, lm.b, lm.out});

    ArrayModel am{{param({3, 3}, xavier_uniform(), dt),
                   param({3, 3}, xavier_uniform(), dt),
                   param({3, 3}, xavier_uniform(), dt)},
                  param({6, 2}, xavier_uniform(), dt)};
    Tensor ax = randn({4, 3}, dt);
    run("array_model", array_model, {am.ws[0], am.ws[1], am.ws[2], am.out}, am,
        ax);

    Param tx(randn({2, 2}, dt), "x"), tw(randn({2, 2}, dt), "w");
    run("tuple_loss", tuple_loss, {tx, tw}, tx, tw);

    Param rx(randn({4, 2, 3}, dt), "xs"), rw(randn({3, 3}, dt) * 0.5, "w");
    run("resized_lists", resized_lists, {rx, rw}, rx, rw);

    Param cx3(randn({2, 3}, dt), "x");
    run("constant_data", constant_data, {cx3}, cx3);

    LstmLm bf{param({12, 5}, xavier_uniform(), dt), param0({12}, dt),
              param({3, 4}, xavier_uniform(), dt)},
        bb{param({12, 5}, xavier_uniform(), dt), param0({12}, dt),
           param({3, 4}, xavier_uniform(), dt)};
    Tensor tags = Tensor::from<int64_t>({0, 3, 1, 2, 2, 0, 1, 3}, {8});
    run("bilstm_tagger", bilstm_tagger,
        {bf.w, bf.b, bf.out, bb.w, bb.b, bb.out}, bf, bb, xs, tags);

    BiRnn bi{param({7, 4}, xavier_uniform(), dt),
             param({7, 4}, xavier_uniform(), dt),
             param({8, 2}, xavier_uniform(), dt)};
    Tensor bx = randn({5, 2, 3}, dt);
    run("birnn_attention", birnn_attention, {bi.wf, bi.wb, bi.wt}, bi, bx);

    Param nx(randn({2, 3}, dt), "x");
    run("named_dtypes", named_dtypes, {nx}, nx);
    run("weak_scalars", weak_scalars, {nx}, nx, 1.3);

    Param mx(randn({3, 4}, dt), "x"), mw(randn({3, 4}, dt), "w");
    for (double t : {0.5, 2.0})
      run("mixed_scalar", mixed_scalar, {mx, mw}, mx, mw, t);

    Param lx3(randn({2, 3}, dt), "x"), lw3(randn({3, 3}, dt) * 0.5, "w");
    for (int k : {0, 1, 2, 3, 5})
      for (int n : {1, 4})
        run(("lambda_switch_k" + std::to_string(k) + "_n" + std::to_string(n))
                .c_str(),
            lambda_switch, {lx3, lw3}, lx3, lw3, k, n);

    // The example models (their e2e versions) in this dtype.
    Mlp m{param({16, 20}, xavier_uniform(), dt),
          param({16}, gaussian(0, 0.1), dt),
          param({5, 16}, xavier_uniform(), dt),
          param({5}, gaussian(0, 0.1), dt)};
    Tensor x = randn({8, 20}, dt);
    Tensor y = Tensor::from<int64_t>({0, 1, 2, 3, 4, 0, -1, 2}, {8});
    run("mlp_loss", mlp_loss, {m.w1, m.b1, m.w2, m.b2}, m, x, y);
    LeNetSmall ln{param({3, 1, 3, 3}, xavier_uniform(), dt),
                  param({1, 3, 1, 1}, gaussian(0, 0.1), dt),
                  param({4, 3, 3, 3}, xavier_uniform(), dt),
                  param({1, 4, 1, 1}, gaussian(0, 0.1), dt),
                  param({5, 16}, xavier_uniform(), dt),
                  param({5}, gaussian(0, 0.1), dt)};
    Tensor img = randn({2, 1, 10, 10}, dt);
    Tensor cls = Tensor::from<int64_t>({1, 4}, {2});
    run("lenet_loss", lenet_loss, {ln.c1, ln.b1, ln.c2, ln.b2, ln.w, ln.b}, ln,
        img, cls);
    Param sw = param({5, 12}, xavier_uniform(), dt), sb = param0({5}, dt);
    Tensor sx = randn({3, 2, 6}, dt),
           sy = Tensor::from<int64_t>({0, 3, 4}, {3});
    run("softmax_loss", softmax_loss, {sw, sb}, sw, sb, sx, sy);
    Param lw = param({1, 4}, xavier_uniform(), dt), lb = param0({1}, dt);
    Tensor lx = randn({6, 4}, dt), ly = randn({6, 1}, dt);
    run("linreg_loss", linreg_loss, {lw, lb}, lw, lb, lx, ly);
    Param cw = param({12, 7}, xavier_uniform(), dt), cb = param0({12}, dt);
    Tensor cx = randn({2, 4}, dt), h0 = randn({2, 3}, dt),
           c0 = randn({2, 3}, dt);
    run("lstm_loss", lstm_loss, {cw, cb}, cw, cb, cx, h0, c0);
  }
}

} // namespace

// Issue 21: batchnorm's running statistics are in-out state of compiled
// functions with a non-const model (and a Moments& argument), the training
// flag a run-time bool. Gradcheck in f64 in training mode (batch statistics,
// dropout replayed); then, from fresh statistics, two training steps'
// values, gradients and running statistics, and an inference pass that
// reads them, for compare.py (compiled == tape).
void print_moments(const std::string &name, const Moments &m) {
  print_values((name + " mean").c_str(), m.mean.to_vector<double>());
  print_values((name + " var").c_str(), m.var.to_vector<double>());
}

// Two training steps of a model with batchnorm state, printing values,
// gradients and running statistics: step 0 differentiates the compiled
// function itself (`root`: its adjoint runs forward and reverse sweep in
// one); step 1 calls it (`call`) from a lambda on the tape (one node whose
// backward re-runs the forward: the statistics must still be updated once
// per step).
template <class Root, class Call>
void two_steps(const std::string &name, Root root, Call call,
               const std::vector<Param> &ps,
               const std::vector<std::pair<std::string, const Moments *>> &ms) {
  for (int step = 0; step < 2; ++step) {
    const std::string id = name + "_step" + std::to_string(step);
    print(id.c_str(), step == 0 ? root() : diff([&] { return call() * 1.0; }),
          ps);
    for (const auto &[field, m] : ms)
      print_moments(id + "_" + field, *m);
  }
}

void stateful() {
  const DType f64 = DType::f64;
  auto w = [&](Shape s) { return param(std::move(s), xavier_uniform(), f64); };
  auto bn = [&](int64_t c) { return Param(bnparams(c, f64) * 1.3 + 0.1); };
  Tensor x = randn({4, 2, 4, 4}, f64);
  Tensor y = Tensor::from<int64_t>({0, 2, 1, 2}, {4});
  Vgg v{w({3, 2, 3, 3}),
        bn(3),
        w({4, 3, 3, 3}),
        bn(4),
        w({3, 16}),
        param0({3}, f64),
        {},
        {}};
  const std::vector<Param> vps{v.c1, v.bn1, v.c2, v.bn2, v.w, v.b};
  {
    Vgg probe = v;
    check("vgg_loss", vgg_loss, probe, x, y, true);
  }
  two_steps(
      "vgg", [&] { return diff(vgg_loss, v, x, y, true); },
      [&] { return vgg_loss(v, x, y, true); }, vps,
      {{"m1", &v.m1}, {"m2", &v.m2}});
  print_values("vgg_inference value",
               {vgg_loss(v, x, y, false).item<double>(),
                sum(diff(vgg_loss, v, x, y, false).grad(v.c1)).item<double>()});
  print_moments("vgg_inference_m1", v.m1); // unchanged by inference

  Tensor rx = randn({4, 3, 3, 3}, f64);
  ResBlock r{w({3, 3, 3, 3}), bn(3),      w({3, 3, 3, 3}),
             bn(3),           w({3, 27}), param0({3}, f64),
             bn(3),           {},         {}};
  Moments head;
  const std::vector<Param> rps{r.c1, r.bn1, r.c2, r.bn2, r.w, r.b, r.bnh};
  {
    ResBlock probe = r;
    Moments h2;
    check("resnet_loss", resnet_loss, probe, h2, rx, y);
  }
  two_steps(
      "resnet", [&] { return diff(resnet_loss, r, head, rx, y); },
      [&] { return resnet_loss(r, head, rx, y); }, rps,
      {{"m1", &r.m1}, {"m2", &r.m2}, {"head", &head}});
  std::fprintf(stderr, "compiled: vgg %d resnet %d\n", is_compiled(vgg_loss),
               is_compiled(resnet_loss));
}

int main() {
  seed(11);
  const DType f64 = DType::f64;
  std::fprintf(stderr, "compiled: mlp_loss %d deep_loss %d control %d\n",
               is_compiled(mlp_loss), is_compiled(deep_loss),
               is_compiled(control));
  std::fprintf(
      stderr, "compiled: lenet %d softmax %d linreg %d lstm %d cell %d\n",
      is_compiled(lenet_loss), is_compiled(softmax_loss),
      is_compiled(linreg_loss), is_compiled(lstm_loss), is_compiled(cell));
  std::fprintf(stderr,
               "compiled: early_return %d %d ints %d %d %d %d %d %d "
               "undefined %d keepdim %d argument %d constant %d aliased %d "
               "early_argument %d float %d\n",
               is_compiled(early_return), is_compiled(early_return_loop),
               is_compiled(unsigned_rem), is_compiled(narrow_add),
               is_compiled(truncating_cast), is_compiled(unsigned_div),
               is_compiled(wide_unsigned), is_compiled(unsigned_scale),
               is_compiled(undefined_unless), is_compiled(keepdim_all),
               is_compiled(returns_argument), is_compiled(exact_constant),
               is_compiled(aliased_refs), is_compiled(early_argument),
               is_compiled(float_round));
  std::fprintf(
      stderr,
      "compiled: lstm_lm %d birnn_attention %d named_dtypes %d "
      "weak_scalars %d mixed_scalar %d lambda_switch %d lstm_state %d %d "
      "array_model %d tuple %d %d constant_data %d "
      "bilstm_tagger %d resized_lists %d\n",
      is_compiled(lstm_lm), is_compiled(birnn_attention),
      is_compiled(named_dtypes), is_compiled(weak_scalars),
      is_compiled(mixed_scalar), is_compiled(lambda_switch),
      is_compiled(lstm_state), is_compiled(lstm_state_twice),
      is_compiled(array_model), is_compiled(two_losses),
      is_compiled(tuple_loss), is_compiled(constant_data),
      is_compiled(bilstm_tagger), is_compiled(resized_lists));

  Mlp m{param({16, 20}, xavier_uniform(), f64),
        param({16}, gaussian(0, 0.1), f64),
        param({5, 16}, xavier_uniform(), f64),
        param({5}, gaussian(0, 0.1), f64)};
  Tensor x = randn({8, 20}, f64);
  Tensor y = Tensor::from<int64_t>({0, 1, 2, 3, 4, 0, -1, 2}, {8});
  check("mlp_loss", mlp_loss, m, x, y);
  print("mlp_loss", diff(mlp_loss, m, x, y), {m.w1, m.b1, m.w2, m.b2});
  // A compiled call names the unnamed Params of a model struct after their
  // fields (what gradcheck reports); the tape build leaves them unnamed.
  expect("mlp_loss names m.w2",
         m.w2.name() == (is_compiled(mlp_loss) ? "m.w2" : "") ? 1 : 0, 1);

  std::vector<Param> ws;
  for (int i = 0; i < 3; ++i)
    ws.push_back(param({6, 6}, xavier_uniform(), f64));
  Tensor x6 = randn({4, 6}, f64);
  check("deep_loss", deep_loss, ws, x6);
  print("deep_loss", diff(deep_loss, ws, x6), ws);

  Param w(randn({5}, f64) * 0.5, "w");
  for (int n : {0, 1, 3, 9})
    for (double s : {0.7, -1.3}) {
      std::string name =
          "control_n" + std::to_string(n) + (s > 0 ? "_pos" : "_neg");
      check(name.c_str(), control, w.value(), n, s);
      print(name.c_str(), diff(control, w.value(), n, s), {w});
    }

  Param u(randn({4}, f64), "u");
  check("until_small", until_small, u.value());
  print("until_small", diff(until_small, u.value()), {u});

  LeNetSmall ln{param({3, 1, 3, 3}, xavier_uniform(), f64),
                param({1, 3, 1, 1}, gaussian(0, 0.1), f64),
                param({4, 3, 3, 3}, xavier_uniform(), f64),
                param({1, 4, 1, 1}, gaussian(0, 0.1), f64),
                param({5, 16}, xavier_uniform(), f64),
                param({5}, gaussian(0, 0.1), f64)};
  Tensor img = randn({2, 1, 10, 10}, f64);
  Tensor cls = Tensor::from<int64_t>({1, 4}, {2});
  check("lenet_loss", lenet_loss, ln, img, cls);
  print("lenet_loss", diff(lenet_loss, ln, img, cls),
        {ln.c1, ln.b1, ln.c2, ln.b2, ln.w, ln.b});

  Param sw = param({5, 12}, xavier_uniform(), f64), sb = param0({5}, f64);
  Tensor sx = randn({3, 2, 6}, f64), sy = Tensor::from<int64_t>({0, 3, 4}, {3});
  check("softmax_loss", softmax_loss, sw, sb, sx, sy);
  print("softmax_loss", diff(softmax_loss, sw, sb, sx, sy), {sw, sb});

  Param lw = param({1, 4}, xavier_uniform(), f64), lb = param0({1}, f64);
  Tensor lx = randn({6, 4}, f64), ly = randn({6, 1}, f64);
  check("linreg_loss", linreg_loss, lw, lb, lx, ly);
  print("linreg_loss", diff(linreg_loss, lw, lb, lx, ly), {lw, lb});

  Param cw = param({12, 7}, xavier_uniform(), f64), cb = param0({12}, f64);
  Tensor cx = randn({2, 4}, f64), h0 = randn({2, 3}, f64),
         c0 = randn({2, 3}, f64);
  check("lstm_loss", lstm_loss, cw, cb, cx, h0, c0);
  print("lstm_loss", diff(lstm_loss, cw, cb, cx, h0, c0), {cw, cb});

  Param tw = param({3, 3}, xavier_uniform(), f64),
        tx(randn({5, 3}, f64) * 0.5, "x");
  check("tree_loss", tree_loss, tw.value(), tx.value());
  {
    // The compiled cell is one node per call whose backward starts from
    // what its forward saved (knet-split-adjoint): 4 calls, 4 backwards,
    // no forward run again. compare.py holds "hybrid_" lines to 1e-10.
    const detail::CompiledStats before = detail::compiled_stats();
    Tape t = diff(tree_loss, tw.value(), tx.value());
    const detail::CompiledStats after = detail::compiled_stats();
    if (is_compiled(cell)) {
      expect("tree_loss: cell forwards that saved",
             static_cast<double>(after.save - before.save), 4);
      expect("tree_loss: cell backwards from the saved values",
             static_cast<double>(after.resume - before.resume), 4);
      expect("tree_loss: cell forwards run again",
             static_cast<double>(after.forward - before.forward + after.grad -
                                 before.grad),
             0);
    }
    print("hybrid_tree_loss", t, {tw, tx});
  }

  // Gradients with respect to scalar arguments need the compiled adjoint.
  if (is_compiled(nested)) {
    for (int n : {0, 1, 4}) {
      const double x0 = 0.3, h = 1e-6;
      auto [v, dx, dn] = value_and_grad(nested, x0, n);
      // The value of a double function is a double.
      static_assert(std::is_same_v<decltype(v), double>);
      double num = (nested(x0 + h, n) - nested(x0 - h, n)) / (2 * h);
      bool ok = std::abs(v - nested(x0, n)) < 1e-12 &&
                std::abs(dx - num) <= 1e-6 * std::max(1.0, std::abs(num));
      std::fprintf(stderr,
                   "nested n=%d d/dx: compiled %.10g numeric %.10g %s\n", n, dx,
                   num, ok ? "ok" : "FAILED");
      failures += !ok;
      (void)dn;
    }
  }
  if (is_compiled(control)) {
    auto [v, dw, dn, ds] = value_and_grad(control, w.value(), 3, 0.7);
    const double h = 1e-6;
    double num = (control(w.value(), 3, 0.7 + h).item<double>() -
                  control(w.value(), 3, 0.7 - h).item<double>()) /
                 (2 * h);
    bool ok = std::abs(ds - num) <= 1e-6 * std::max(1.0, std::abs(num));
    std::fprintf(stderr, "control d/ds: compiled %.10g numeric %.10g %s\n", ds,
                 num, ok ? "ok" : "FAILED");
    failures += !ok;
    (void)v;
    (void)dw;
    (void)dn;
  }
  regressions();
  constructs();
  stateful();
  detail::FusedStats fused = detail::fused_stats();
  std::fprintf(stderr, "fused kernels: %lld run, %lld fell back\n",
               static_cast<long long>(fused.kernels),
               static_cast<long long>(fused.fallbacks));
  return failures == 0 ? 0 : 1;
}
