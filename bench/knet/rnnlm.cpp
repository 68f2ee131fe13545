// DyNet table: rnnlm-batch on the Penn Treebank (DyNet's benchmark: an LSTM
// language model over words, minibatches of 64 sentences of similar length,
// embed 256, hidden 128, softmax over the vocabulary, summed loss, Adam).
// Reports words per second over a fixed number of minibatches. Built twice:
// through knet_compile and as it is (the tape).
//   rnnlm [--batches 50] [--embed 256] [--hidden 128] [--batch 64]
//         [--task train|ratio] [--data DIR]
#include "data.h"
#include "knet_bench.h"

using namespace knet;

struct Rnnlm {
  Param embed, w, b, wy, by;
};

void lstm(const Rnnlm &m, const Tensor &x, Tensor &h, Tensor &c) {
  Tensor gates = linear(concat({x, h}, 1), m.w, m.b);
  std::vector<Tensor> g = chunk(gates, 4, 1);
  Tensor input = sigm(g[0]), forget = sigm(g[1]), output = sigm(g[2]);
  Tensor update = tanh(g[3]);
  c = forget * c + input * update;
  h = output * tanh(c);
}

// The summed loss of a minibatch: in, out [batch, T] word ids (out -1 where
// a sentence has ended); h0, c0 the zero state.
KNET_COMPILE Tensor loss(const Rnnlm &m, const Tensor &in, const Tensor &out,
                         const Tensor &h0, const Tensor &c0) {
  const int64_t T = in.size(1);
  Tensor h = h0, c = c0;
  Tensor total = Tensor::scalar(0.0);
  for (int64_t t = 0; t < T; ++t) {
    lstm(m, embedding(m.embed, in.select(1, t)), h, c);
    total = total +
            nll(linear(h, m.wy, m.by), out.select(1, t), {.average = false});
  }
  return total;
}

int main(int argc, char **argv) {
  bench::Args args(argc, argv);
  const int64_t E = args.integer("embed", 256), H = args.integer("hidden", 128);
  const int64_t B = args.integer("batch", 64);
  const int64_t nbatches = args.integer("batches", 50);
  bench::report_knet("rnnlm", is_compiled(loss), args);
  bench::Ptb p = bench::ptb(bench::data_root(args), B);
  const int64_t V = p.vocab;
  bench::Rng rng(1);
  Rnnlm m{bench::param_of(bench::gaussian({V, E}, 0.1, rng), {V, E}),
          bench::param_of(bench::xavier_uniform({4 * H, E + H}, rng),
                          {4 * H, E + H}),
          bench::param_of(bench::zeros({4 * H}), {4 * H}),
          bench::param_of(bench::xavier_uniform({V, H}, rng), {V, H}),
          bench::param_of(bench::zeros({V}), {V})};
  auto run = [&](const bench::LmBatch &b, bool grad) {
    Tensor in = bench::tensor_of(b.in, {b.batch, b.len});
    Tensor out = bench::tensor_of(b.out, {b.batch, b.len});
    Tensor h0 = Tensor::zeros({b.batch, H}), c0 = Tensor::zeros({b.batch, H});
    if (!grad)
      return std::pair{Tape(), loss(m, in, out, h0, c0)};
    Tape t = diff(loss, m, in, out, h0, c0);
    return std::pair{t, t.value()};
  };

  if (args.str("task", "train") == "ratio") {
    const bench::LmBatch &b = p.batches[p.batches.size() / 2];
    bench::report_ratio([&] { (void)run(b, false); },
                        [&] { (void)run(b, true); });
    return 0;
  }
  bench::Rng order(2);
  std::vector<int64_t> perm =
      bench::permutation(static_cast<int64_t>(p.batches.size()), order);
  Adam opt;
  double t0 = bench::now(), total = 0, first_loss = std::nan("");
  int64_t words = 0;
  for (int64_t i = 0; i < nbatches; ++i) {
    const bench::LmBatch &b =
        p.batches[static_cast<size_t>(perm[static_cast<size_t>(i)])];
    auto [t, l] = run(b, true);
    update(t, opt);
    total += l.item<double>();
    if (std::isnan(first_loss))
      first_loss = total / static_cast<double>(b.words);
    words += b.words;
  }
  double secs = bench::now() - t0;
  bench::result("train_s", secs);
  bench::result("first_loss", first_loss);
  bench::result("words", words);
  bench::result("words_per_s", static_cast<double>(words) / secs);
  bench::result("loss", total / static_cast<double>(words)); // per word
  return 0;
}
