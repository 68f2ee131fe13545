// Knet table: a character-level LSTM language model on tiny-shakespeare
// (embed 256, hidden 256, BPTT 100, batch 128, Adam lr 0.003 with global
// norm clip 5, a fixed number of steps). Built twice: through knet_compile
// and as it is (the tape).
//   charlm [--steps 20] [--embed 256] [--hidden 256] [--batch 128]
//          [--bptt 100] [--task train|ratio] [--data DIR]
// Unlike examples/charlm.cpp the loss sums per-step losses instead of
// collecting the hidden states with push_back, which keeps the whole loss
// (the time loop included) inside what knetc compiles statically; and every
// window starts from the zero state (in the LibTorch peer too): the
// compiled ABI returns results only, so a KNET_COMPILE function with a
// non-const Tensor& parameter stays on the tape, and carrying the state over
// from window to window through such parameters would leave the compiled
// build on the tape.
#include "data.h"
#include "knet_bench.h"

using namespace knet;

struct CharLM {
  Param embed, w, b, wy, by;
};

// One LSTM step: all gates from one matrix product, then sliced.
void lstm(const CharLM &m, const Tensor &x, Tensor &h, Tensor &c) {
  Tensor gates = linear(concat({x, h}, 1), m.w, m.b);
  std::vector<Tensor> g = chunk(gates, 4, 1);
  Tensor input = sigm(g[0]), forget = sigm(g[1]), output = sigm(g[2]);
  Tensor update = tanh(g[3]);
  c = forget * c + input * update;
  h = output * tanh(c);
}

// Mean next-character loss over a [batch, T] window from the state h0, c0.
KNET_COMPILE Tensor loss(const CharLM &m, const Tensor &in, const Tensor &out,
                         const Tensor &h0, const Tensor &c0) {
  const int64_t T = in.size(1);
  Tensor h = h0, c = c0;
  Tensor total = Tensor::scalar(0.0);
  for (int64_t t = 0; t < T; ++t) {
    lstm(m, embedding(m.embed, in.select(1, t)), h, c);
    total = total +
            nll(linear(h, m.wy, m.by), out.select(1, t), {.average = false});
  }
  return total / static_cast<double>(in.size(0) * T);
}

int main(int argc, char **argv) {
  bench::Args args(argc, argv);
  const int64_t E = args.integer("embed", 256), H = args.integer("hidden", 256);
  const int64_t B = args.integer("batch", 128), T = args.integer("bptt", 100);
  const int64_t steps = args.integer("steps", 20);
  const bool verbose = args.integer("verbose", 0) != 0;
  bench::report_knet("charlm", is_compiled(loss), args);
  bench::CharBatches cb = bench::char_batches(bench::data_root(args), B, T);
  const int64_t V = cb.vocab;
  bench::Rng rng(1);
  CharLM m{bench::param_of(bench::gaussian({V, E}, 0.1, rng), {V, E}),
           bench::param_of(bench::xavier_uniform({4 * H, E + H}, rng),
                           {4 * H, E + H}),
           bench::param_of(bench::zeros({4 * H}), {4 * H}),
           bench::param_of(bench::xavier_uniform({V, H}, rng), {V, H}),
           bench::param_of(bench::zeros({V}), {V})};
  auto window = [&](size_t k) {
    return std::pair{bench::tensor_of(cb.x[k], {B, T}),
                     bench::tensor_of(cb.y[k], {B, T})};
  };

  if (args.str("task", "train") == "ratio") {
    auto [in, out] = window(0);
    Tensor h = Tensor::zeros({B, H}), c = Tensor::zeros({B, H});
    bench::report_ratio([&] { (void)loss(m, in, out, h, c); },
                        [&] { (void)diff(loss, m, in, out, h, c); });
    return 0;
  }
  Adam opt{.lr = 0.003};
  Tensor h = Tensor::zeros({B, H}), c = Tensor::zeros({B, H});
  std::vector<double> losses;
  double t0 = bench::now();
  for (int64_t s = 0; s < steps; ++s) {
    auto [in, out] = window(static_cast<size_t>(s) % cb.x.size());
    Tape t = diff(loss, m, in, out, h, c);
    clip_global_norm(t, 5.0);
    update(t, opt);
    losses.push_back(t.value().item<double>());
    if (verbose)
      std::cerr << "step " << s << " loss " << losses.back() << "\n";
  }
  double secs = bench::now() - t0;
  size_t k = std::min<size_t>(5, losses.size());
  double last = 0;
  for (size_t i = losses.size() - k; i < losses.size(); ++i)
    last += losses[i] / static_cast<double>(k);
  bench::result("train_s", secs);
  bench::result("steps", steps);
  bench::result("first_loss", losses.front());
  bench::result("loss", last); // mean of the last 5 steps
  return 0;
}
