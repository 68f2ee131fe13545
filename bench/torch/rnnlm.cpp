// LibTorch peer of bench/knet/rnnlm.cpp: DyNet's rnnlm-batch on the Penn
// Treebank (LSTM LM, minibatches of 64 sentences of similar length, embed
// 256, hidden 128, summed loss, Adam), the same cell, initial weights and
// batch order. Reports words per second.
#include "data.h"
#include "torch_bench.h"

struct Rnnlm {
  torch::Tensor embed, w, b, wy, by;

  void lstm(const torch::Tensor &x, torch::Tensor &h, torch::Tensor &c) const {
    torch::Tensor gates = torch::linear(torch::cat({x, h}, 1), w, b);
    std::vector<torch::Tensor> g = gates.chunk(4, 1);
    torch::Tensor input = torch::sigmoid(g[0]), forget = torch::sigmoid(g[1]),
                  output = torch::sigmoid(g[2]), update = torch::tanh(g[3]);
    c = forget * c + input * update;
    h = output * torch::tanh(c);
  }

  torch::Tensor loss(const torch::Tensor &in, const torch::Tensor &out,
                     int64_t hidden) const {
    const int64_t B = in.size(0), T = in.size(1);
    torch::Tensor h = torch::zeros({B, hidden}), c = torch::zeros({B, hidden});
    torch::Tensor total = torch::zeros({}, torch::kFloat32);
    for (int64_t t = 0; t < T; ++t) {
      lstm(torch::embedding(embed, in.select(1, t)), h, c);
      total = total + bench::nll(torch::linear(h, wy, by), out.select(1, t),
                                 /*average=*/false);
    }
    return total;
  }
};

int main(int argc, char **argv) {
  bench::Args args(argc, argv);
  const int64_t E = args.integer("embed", 256), H = args.integer("hidden", 128);
  const int64_t B = args.integer("batch", 64);
  const int64_t nbatches = args.integer("batches", 50);
  bench::setup_torch("rnnlm", args);
  bench::Ptb p = bench::ptb(bench::data_root(args), B);
  const int64_t V = p.vocab;
  bench::Rng rng(1);
  Rnnlm m{bench::param_of(bench::gaussian({V, E}, 0.1, rng), {V, E}),
          bench::param_of(bench::xavier_uniform({4 * H, E + H}, rng),
                          {4 * H, E + H}),
          bench::param_of(bench::zeros({4 * H}), {4 * H}),
          bench::param_of(bench::xavier_uniform({V, H}, rng), {V, H}),
          bench::param_of(bench::zeros({V}), {V})};
  std::vector<torch::Tensor> params{m.embed, m.w, m.b, m.wy, m.by};
  torch::optim::Adam opt(params, torch::optim::AdamOptions(0.001).eps(1e-8));
  auto tensors = [&](const bench::LmBatch &b) {
    return std::pair{bench::tensor_of(b.in, {b.batch, b.len}),
                     bench::tensor_of(b.out, {b.batch, b.len})};
  };

  if (args.str("task", "train") == "ratio") {
    const bench::LmBatch &b = p.batches[p.batches.size() / 2];
    bench::report_ratio(
        [&] {
          torch::NoGradGuard no_grad;
          auto [in, out] = tensors(b);
          (void)m.loss(in, out, H);
        },
        [&] {
          bench::zero_grad(params);
          auto [in, out] = tensors(b);
          m.loss(in, out, H).backward();
        });
    return 0;
  }
  bench::Rng order(2);
  std::vector<int64_t> perm =
      bench::permutation(static_cast<int64_t>(p.batches.size()), order);
  double t0 = bench::now(), total = 0, first_loss = std::nan("");
  int64_t words = 0;
  for (int64_t i = 0; i < nbatches; ++i) {
    const bench::LmBatch &b =
        p.batches[static_cast<size_t>(perm[static_cast<size_t>(i)])];
    auto [in, out] = tensors(b);
    bench::zero_grad(params);
    torch::Tensor l = m.loss(in, out, H);
    l.backward();
    opt.step();
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
