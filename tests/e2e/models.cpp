// Models for the end-to-end test: built once through knet_compile (compiled
// adjoints) and once as plain C++ (the tape). Both programs gradcheck every
// model against central differences and print their values and gradients;
// compare.py checks that the two agree.
#include "models.h"

using namespace knet;

KNET_COMPILE Tensor mlp_loss(const Mlp &m, const Tensor &x, const Tensor &y) {
  Tensor h = relu(linear(x, m.w1, m.b1));
  return nll(linear(h, m.w2, m.b2), y);
}

static Tensor layer(const Tensor &x, const Tensor &w) {
  return tanh(matmul(x, w));
}

// A loop over a vector of Params through a helper function.
KNET_COMPILE Tensor deep_loss(const std::vector<Param> &ws, const Tensor &x) {
  Tensor h = x;
  for (size_t i = 0; i < ws.size(); ++i)
    h = layer(h, ws[i]);
  return sum(h * h);
}

// Control flow on scalars: counted loop, branches, continue, break, and an
// early return inside a loop.
KNET_COMPILE Tensor control(const Tensor &w, int n, double s) {
  Tensor acc = w * s;
  for (int i = 0; i < n; ++i) {
    if (i % 2 == 1)
      continue;
    acc = sin(acc) + w;
    if (i > 6)
      break;
  }
  int k = 0;
  while (k < 3) {
    acc = acc * 0.5 + exp(-acc * acc);
    ++k;
  }
  do {
    acc = acc + w * w;
    --k;
  } while (k > 1);
  for (int j = 0; j < 4; ++j)
    if (j == n)
      return sum(acc * acc);
  return s > 0 ? sum(acc) : sum(-acc);
}

// A data-dependent while loop.
KNET_COMPILE Tensor until_small(const Tensor &w) {
  Tensor h = w;
  int steps = 0;
  while (sum(h * h).item<double>() > 0.01 && steps < 20) {
    h = h * 0.5;
    ++steps;
  }
  return sum(h * w);
}

// The examples' models, small: LeNet's layers, softmax regression, linear
// regression, and the char-LSTM's cell (one matrix for all gates, sliced).
KNET_COMPILE Tensor lenet_loss(const LeNetSmall &m, const Tensor &x,
                               const Tensor &y) {
  Tensor h = pool(relu(conv2d(x, m.c1) + m.b1));
  h = pool(relu(conv2d(h, m.c2, {.padding = 1}) + m.b2),
           {.mode = PoolMode::avg});
  return nll(linear(mat(h), m.w, m.b), y);
}

KNET_COMPILE Tensor softmax_loss(const Param &w, const Param &b,
                                 const Tensor &x, const Tensor &y) {
  return nll(linear(mat(x), w, b), y);
}

KNET_COMPILE Tensor linreg_loss(const Param &w, const Param &b, const Tensor &x,
                                const Tensor &y) {
  Tensor d = linear(x, w, b) - y;
  return mean(d * d);
}

KNET_COMPILE Tensor lstm_loss(const Param &w, const Param &b, const Tensor &x,
                              const Tensor &h0, const Tensor &c0) {
  Tensor gates = linear(concat({x, h0}, 1), w, b);
  std::vector<Tensor> g = chunk(gates, 4, 1);
  Tensor c = sigm(g[1]) * c0 + sigm(g[0]) * tanh(g[3]);
  Tensor h = sigm(g[2]) * tanh(c);
  return sum(h * h) + sum(c);
}

// A compiled cell with a struct argument and a struct result, called from a
// recursion that stays on the tape (the hybrid: one node per call).
KNET_COMPILE Pair cell(const Tensor &w, const Pair &l, const Pair &r) {
  Tensor c = tanh(matmul(l.h + r.h, w)) + l.c * r.c;
  return Pair{sigm(c) * l.h, c};
}

Pair fold(const Tensor &w, const std::vector<Pair> &leaves, size_t lo,
          size_t hi) {
  if (hi - lo == 1)
    return leaves[lo];
  size_t mid = (lo + hi) / 2;
  return cell(w, fold(w, leaves, lo, mid), fold(w, leaves, mid, hi));
}

Tensor tree_loss(const Tensor &w, const Tensor &x) {
  std::vector<Pair> leaves;
  for (int64_t i = 0; i < x.size(0); ++i)
    leaves.push_back(Pair{x.slice(0, i, i + 1), sin(x.slice(0, i, i + 1))});
  Pair root = fold(w, leaves, 0, leaves.size());
  return sum(root.h * root.c);
}

// A scalar function: nested loops, a branch inside, a helper.
static double bump(double v) { return v * v / (1.0 + v * v); }

KNET_COMPILE double nested(double x, int n) {
  double acc = x;
  for (int i = 0; i < n; ++i)
    for (int j = 0; j <= i; ++j) {
      if ((i + j) % 2 == 0)
        acc = acc + bump(acc) * 0.5;
      else
        acc = std::sin(acc) + x;
    }
  return acc;
}

// Regressions: code knetc once compiled into something else than the tape.

// A non-scalar tensor returned early, taken or not, from a branch and from
// a loop (the gradient used to be zero: the inliner's canonicalization turns
// the return slot's scf.if into an arith.select of tensors, whose adjoint
// was dropped).
KNET_COMPILE Tensor early_return(const Tensor &x, const Tensor &w, int n) {
  Tensor h = x * w;
  if (n == 2)
    return h;
  return h * w;
}

KNET_COMPILE Tensor early_return_loop(const Tensor &x, const Tensor &w, int n) {
  Tensor h = x;
  for (int i = 0; i < 4; ++i) {
    h = h * w;
    if (i == n)
      return h;
  }
  return h + 1.0;
}

// C++ integer semantics: widths, unsigned wrap-around, conversions.
KNET_COMPILE int64_t unsigned_rem(int64_t k) {
  unsigned u = 0u - 1u;
  return u % 1000 + k;
}
KNET_COMPILE int narrow_add(int k) {
  unsigned char c = 255;
  c += k; // wraps in unsigned char
  return c + 3;
}
KNET_COMPILE int64_t truncating_cast(long long k) {
  long long v = 4294967297LL + k;
  return (int)v;
}
KNET_COMPILE int64_t unsigned_div(int k) { return 7u / (unsigned)(k - 3); }
KNET_COMPILE uint64_t wide_unsigned(uint64_t a) { return a * 3u + (a >> 1); }
KNET_COMPILE Tensor unsigned_scale(const Tensor &x, unsigned n) {
  signed char s = -100;
  unsigned short t = n;
  return x * (double)(n - 5u) + (double)(t < (unsigned)s) + (double)(s * 3);
}

// A default-constructed Tensor is undefined, as on the tape.
KNET_COMPILE Tensor undefined_unless(const Tensor &x, int n) {
  Tensor t;
  if (n > 1)
    t = x * 2.0;
  return t;
}

// keepdim over every dim of an unranked operand (min's adjoint).
KNET_COMPILE Tensor keepdim_all(const Tensor &x) {
  return mean(x, {1}, true) + min(x);
}

// Found by the differential tester: a function that returns its argument
// (the tape gave no gradient for it), and a constant f32 cannot hold that
// reaches an f64 tensor (it was rounded to f32 in the IR).
KNET_COMPILE Tensor returns_argument(const Tensor &p, int n) {
  if (n > 0)
    return p;
  return sin(p);
}
KNET_COMPILE Tensor exact_constant(const Tensor &x) { return sum(x * 0.083); }

// Found by the differential tester: a const reference parameter bound to
// the same variable as a non-const one sees the callee's writes through the
// other (the inlined callee read a snapshot).
static void grow(Tensor &acc, const Tensor &x) {
  acc = acc * 2.0;
  acc = acc + x; // x is acc here: 2x + 2x
}
KNET_COMPILE Tensor aliased_refs(Tensor x) {
  grow(x, x);
  return sum(x * x);
}

// Found by the differential tester (seed 9004, f140): an argument returned
// early from a do/while; on the path that does not return it, its gradient
// was the 0-d zero of the return slot, not zeros of its shape.
KNET_COMPILE Tensor early_argument(const Tensor &p, int n, const Tensor &x) {
  int64_t w = 0;
  do {
    ++w;
    if (n > 1)
      return p;
  } while (w < n);
  return x / 1.5;
}

// Found by the differential tester: a C++ float scalar rounds as a float
// (compiled code carried it in a double).
KNET_COMPILE double float_round(double s) {
  float f = (float)s;
  f = f * 3.0f;
  return f;
}

// Issue 14: the C++ people write.
// An LSTM language model whose zero state is made inside the loss, from the
// batch's sizes and dtype.
KNET_COMPILE Tensor lstm_lm(const LstmLm &m, const Tensor &xs, int hidden) {
  int64_t batch = xs.size(1);
  Tensor h = Tensor::zeros({batch, hidden}, xs.dtype());
  Tensor c = Tensor::zeros({batch, static_cast<int64_t>(hidden)}, xs.dtype());
  Tensor loss = Tensor::scalar(0.0, xs.dtype());
  for (int t = 0; t < xs.size(0); ++t) {
    Tensor g = linear(concat({xs.select(0, t), h}, 1), m.w, m.b);
    std::vector<Tensor> gs = chunk(g, 4, 1);
    c = sigm(gs[0]) * c + sigm(gs[1]) * tanh(gs[2]);
    h = sigm(gs[3]) * tanh(c);
    loss = loss + sum(matmul(h, m.out) * Tensor::full({1}, 0.5, xs.dtype()));
  }
  return loss / static_cast<double>(xs.size(0));
}

// A bidirectional RNN tagger that collects its states with push_back, reads
// them by index, back() and range-for, rewrites one by index, and an
// attention decoder over the pushed encoder states (stack of a list built
// at run time).
KNET_COMPILE Tensor birnn_attention(const BiRnn &m, const Tensor &xs) {
  int64_t steps = xs.size(0);
  Tensor h = Tensor::zeros({xs.size(1), m.wf.value().size(1)}, xs.dtype());
  std::vector<Tensor> fw, bw;
  fw.reserve(steps);
  for (int64_t t = 0; t < steps; ++t) {
    h = tanh(matmul(concat({xs.select(0, t), h}, 1), m.wf));
    fw.push_back(h);
  }
  Tensor g = zeros_like(h);
  for (int64_t t = steps - 1; t >= 0; --t) {
    g = tanh(matmul(concat({xs.select(0, t), g}, 1), m.wb));
    bw.emplace_back(g);
  }
  Tensor tags = Tensor::scalar(0.0, xs.dtype());
  for (int64_t t = 0; t < steps; ++t)
    tags = tags + sum(matmul(concat({fw[t], bw[steps - 1 - t]}, 1), m.wt));
  bw[0] = bw[0] * 2.0;
  bw.pop_back();
  for (const Tensor &b : bw)
    tags = tags + mean(b);
  Tensor enc = stack(fw, 0);                             // [T, B, H]
  Tensor q = fw.back();                                  // [B, H]
  Tensor a = softmax(sum(enc * q.unsqueeze(0), {2}), 0); // [T, B]
  Tensor ctx = sum(enc * a.unsqueeze(2), {0});           // [B, H]
  return tags + sum(ctx * ctx) + sum(concat(bw, 1));
}

// Named dtypes: a float32 or float64 run meets explicit f64 tensors and
// scalars and converts back; the values, gradients and their dtypes must be
// the tape's.
KNET_COMPILE Tensor named_dtypes(const Tensor &x) {
  Tensor y = x.to(DType::f64) * 3.0;
  Tensor z = Tensor::zeros({x.size(0), x.size(1)}, DType::f64) + y;
  Tensor s = Tensor::scalar(0.25, DType::f64) * x.to(DType::f64);
  return sum(z.to(x.dtype()) * x) +
         sum(s * Tensor::scalar(2.0, DType::f64)).to(x.dtype());
}

// Weak scalars (docs/ops.md, "Dtype promotion"): Tensor::scalar(v) without
// a dtype, C++ doubles, and ops over them only, take the dtype of the
// tensors they meet, so an f64 run stays f64 (its gradient passes central
// differences in f64; an f32 accumulator would not).
KNET_COMPILE Tensor weak_scalars(const Tensor &x, double t) {
  Tensor loss = Tensor::scalar(0.0);
  Tensor k = Tensor::scalar(0.1) * Tensor::scalar(t);
  for (int i = 0; i < 3; ++i)
    loss = loss + sum(x * k) * 0.3 + exp(Tensor::scalar(0.1 * i)) * t;
  return loss * sum(x * x) / 7.0;
}

// The reproduction: a double knob from a ternary and a helper with
// a keepdim max/exp/sum/log, in an f32 or f64 run.
static Tensor logsumexp_rows(const Tensor &x) {
  Tensor mx = max(x, {1}, true);
  return log(sum(exp(x - mx), {1}, true)) + mx;
}
KNET_COMPILE Tensor mixed_scalar(const Tensor &x, const Tensor &w, double t) {
  double k = t > 1.0 ? 1.0 / t : 1.0;
  Tensor y = x * w * k;
  return sum(logsumexp_rows(y) * k);
}

// Lambdas (captures by reference and by value, an init capture, a generic
// one, one called where it is made) and a switch with fallthrough, a
// default, a continue of the loop around and a return.
KNET_COMPILE Tensor lambda_switch(const Tensor &x, const Tensor &w, int k,
                                  int n) {
  double scale = 0.5;
  auto layer = [&](const Tensor &h) { return tanh(matmul(h, w) * scale); };
  auto halve = [scale](const Tensor &h) { return h * scale; };
  scale = 2.0; // layer sees 2.0, halve still 0.5
  Tensor total = Tensor::scalar(0.0, x.dtype());
  auto add = [&](const Tensor &t) { total = total + sum(t); };
  Tensor h = x;
  for (int i = 0; i < n; ++i) {
    switch ((k + i) % 4) {
    case 0:
      h = layer(h);
      break;
    case 1:
      h = sin(h);
      [[fallthrough]];
    case 2: {
      h = h * halve(h) + 0.1;
      if (i == 1)
        continue;
      add(h);
      break;
    }
    default:
      add(halve(h));
    }
    h = h * 1.1;
  }
  switch (k) {
  case 5:
    return total + sum(h);
  default:
    break;
  }
  auto cube = [c = n + 1](auto t) {
    return t * t * t * static_cast<double>(c);
  };
  return total + sum(cube(h)) + [&] { return sum(x * w.select(0, 0)); }();
}

// Truncated BPTT as charlm writes it: the state comes in and goes out
// through Tensor& parameters (extra results written back by the rewritten
// body), here also through a compiled call.
static void lstm_step(const LstmLm &m, const Tensor &x, Tensor &h, Tensor &c) {
  std::vector<Tensor> g = chunk(linear(concat({x, h}, 1), m.w, m.b), 4, 1);
  c = sigm(g[1]) * c + sigm(g[0]) * tanh(g[3]);
  h = sigm(g[2]) * tanh(c);
}
KNET_COMPILE Tensor lstm_state(const LstmLm &m, const Tensor &xs, Tensor &h,
                               Tensor &c) {
  Tensor loss = Tensor::scalar(0.0, xs.dtype());
  for (int64_t t = 0; t < xs.size(0); ++t) {
    lstm_step(m, xs.select(0, t), h, c);
    loss = loss + sum(matmul(h, m.out));
  }
  return loss;
}
KNET_COMPILE Tensor lstm_state_twice(const LstmLm &m, const Tensor &xs,
                                     Tensor &h) {
  Tensor c = zeros_like(h);
  Tensor a = lstm_state(m, xs, h, c);
  Tensor b = lstm_state(m, xs, h, c); // (sequenced: c changes)
  return a + b + sum(c);
}

// std::array<Param, 3> in the model struct (a list in the IR and the ABI,
// like std::vector) and std::array<Tensor, N> locals: braced, default
// (undefined elements, set by index later).
KNET_COMPILE Tensor array_model(const ArrayModel &m, const Tensor &x) {
  Tensor h = x;
  for (const auto &w : m.ws)
    h = tanh(matmul(h, w));
  std::array<Tensor, 2> parts{h, h * 2.0};
  std::array<Tensor, 3> acc;
  for (size_t i = 0; i < m.ws.size(); ++i)
    acc[i] = sum(matmul(h, m.ws[i]));
  parts[1] = parts[1] + acc[2];
  return sum(matmul(concat({parts[0], parts[1]}, 1), m.out)) + acc[0] +
         acc.front() * acc.back();
}

// std::pair and std::tuple values and results, std::make_pair/make_tuple,
// std::get, .first/.second and structured bindings.
static std::pair<Tensor, Tensor> pair_cell(const Tensor &x, const Tensor &w,
                                           const Tensor &h) {
  Tensor n = tanh(matmul(x, w) + h);
  return {n, n * 2.0};
}
static std::tuple<Tensor, double, Tensor> triple(const Tensor &x) {
  return std::make_tuple(x * 3.0, 0.5, sin(x));
}
KNET_COMPILE std::pair<Tensor, Tensor> two_losses(const Tensor &x,
                                                  const Tensor &w) {
  auto [h, g] = pair_cell(x, w, x);
  std::pair<Tensor, Tensor> p = pair_cell(x, w, h);
  auto t = triple(p.first);
  Tensor a = std::get<0>(t) * std::get<1>(t);
  auto [u, k, v] = triple(g);
  return std::make_pair(sum(a + p.second + u * k), sum(v * std::get<2>(t)));
}
KNET_COMPILE Tensor tuple_loss(const Tensor &x, const Tensor &w) {
  auto [l1, l2] = two_losses(x, w);
  return l1 + l2 * 0.5;
}

// Tensor::from of constant data (f64, f32 and i64 labels), in either run.
KNET_COMPILE Tensor constant_data(const Tensor &x) {
  Tensor w = Tensor::from<double>({0.1, 0.2, 0.3, 0.4, 0.5, 0.6}, {2, 3});
  Tensor f = Tensor::from<float>({1.5f, -2.0f, 3.0f}, {3});
  Tensor ids = Tensor::from<int64_t>({0, 2}, {2});
  return sum(x * w.to(x.dtype()) * f.to(x.dtype())) + nll(x, ids);
}

// A BiLSTM tagger: forward and backward LSTM states collected with
// push_back, tags from each position's pair of states.
KNET_COMPILE Tensor bilstm_tagger(const LstmLm &fw, const LstmLm &bw,
                                  const Tensor &xs, const Tensor &tags) {
  const int64_t steps = xs.size(0), hidden = fw.out.value().size(0);
  Tensor h = Tensor::zeros({xs.size(1), hidden}, xs.dtype()), c = h;
  std::vector<Tensor> fs, bs;
  for (int64_t t = 0; t < steps; ++t) {
    lstm_step(fw, xs.select(0, t), h, c);
    fs.push_back(h);
  }
  h = zeros_like(h);
  c = zeros_like(c);
  for (int64_t t = steps - 1; t >= 0; --t) {
    lstm_step(bw, xs.select(0, t), h, c);
    bs.push_back(h);
  }
  std::vector<Tensor> scores;
  for (int64_t t = 0; t < steps; ++t)
    scores.push_back(matmul(fs[t], fw.out) + matmul(bs[steps - 1 - t], bw.out));
  return nll(concat(scores, 0), tags);
}

// std::vector<Tensor> hs(n) filled by index, resize to grow and to shrink.
KNET_COMPILE Tensor resized_lists(const Tensor &xs, const Tensor &w) {
  const int64_t steps = xs.size(0);
  std::vector<Tensor> hs(steps);
  Tensor h = zeros_like(xs.select(0, 0));
  for (int64_t t = 0; t < steps; ++t) {
    h = tanh(matmul(xs.select(0, t), w) + h);
    hs[t] = h;
  }
  std::vector<Tensor> ys;
  ys.resize(2);
  ys[1] = hs[0] * 2.0;
  ys[0] = hs.back();
  hs.resize(steps - 1);
  return sum(stack(hs, 0)) + sum(concat(ys, 1));
}

// Issue 21: models with state. Batchnorm's running statistics are in-out
// state of the compiled function (the natural non-const model), the
// training flag a run-time bool.
KNET_COMPILE Tensor vgg_loss(Vgg &m, const Tensor &x, const Tensor &y,
                             bool train) {
  Tensor h = relu(batchnorm(conv2d(x, m.c1, {.padding = 1}), m.m1, m.bn1,
                            {.training = train}));
  h = pool(h);
  h = relu(batchnorm(conv2d(h, m.c2, {.padding = 1}), m.m2, m.bn2,
                     {.training = train}));
  if (train)
    h = dropout(h, 0.25);
  return nll(linear(mat(h), m.w, m.b), y);
}

// A ResNet-style block: conv-bn-relu-conv-bn plus the input, then relu; the
// running statistics through a Moments& argument too.
KNET_COMPILE Tensor resnet_loss(ResBlock &m, Moments &head, const Tensor &x,
                                const Tensor &y) {
  Tensor h = relu(batchnorm(conv2d(x, m.c1, {.padding = 1}), m.m1, m.bn1));
  h = batchnorm(conv2d(h, m.c2, {.padding = 1}), m.m2, m.bn2);
  h = relu(h + x);
  Tensor s = batchnorm(linear(mat(h), m.w, m.b), head, m.bnh);
  return nll(s, y);
}
