// LibTorch peer of bench/knet/charlm.cpp: a character-level LSTM language
// model on tiny-shakespeare (embed 256, hidden 256, BPTT 100, batch 128, Adam
// lr 0.003, global norm clip 5), the same cell, initial weights and windows;
// every window starts from the zero state, as in the knet version (see
// there why).
#include "data.h"
#include "torch_bench.h"

struct CharLM {
  torch::Tensor embed, w, b, wy, by;

  void lstm(const torch::Tensor &x, torch::Tensor &h, torch::Tensor &c) const {
    torch::Tensor gates = torch::linear(torch::cat({x, h}, 1), w, b);
    std::vector<torch::Tensor> g = gates.chunk(4, 1);
    torch::Tensor input = torch::sigmoid(g[0]), forget = torch::sigmoid(g[1]),
                  output = torch::sigmoid(g[2]), update = torch::tanh(g[3]);
    c = forget * c + input * update;
    h = output * torch::tanh(c);
  }

  // Mean next-character loss over a [batch, T] window from the state h0, c0.
  torch::Tensor loss(const torch::Tensor &in, const torch::Tensor &out,
                     const torch::Tensor &h0, const torch::Tensor &c0) const {
    const int64_t T = in.size(1);
    torch::Tensor h = h0, c = c0;
    torch::Tensor total = torch::zeros({}, torch::kFloat32);
    for (int64_t t = 0; t < T; ++t) {
      lstm(torch::embedding(embed, in.select(1, t)), h, c);
      total = total + bench::nll(torch::linear(h, wy, by), out.select(1, t),
                                 /*average=*/false);
    }
    return total / static_cast<double>(in.size(0) * T);
  }
};

int main(int argc, char **argv) {
  bench::Args args(argc, argv);
  const int64_t E = args.integer("embed", 256), H = args.integer("hidden", 256);
  const int64_t B = args.integer("batch", 128), T = args.integer("bptt", 100);
  const int64_t steps = args.integer("steps", 20);
  const bool verbose = args.integer("verbose", 0) != 0;
  bench::setup_torch("charlm", args);
  bench::CharBatches cb = bench::char_batches(bench::data_root(args), B, T);
  const int64_t V = cb.vocab;
  bench::Rng rng(1);
  CharLM m{bench::param_of(bench::gaussian({V, E}, 0.1, rng), {V, E}),
           bench::param_of(bench::xavier_uniform({4 * H, E + H}, rng),
                           {4 * H, E + H}),
           bench::param_of(bench::zeros({4 * H}), {4 * H}),
           bench::param_of(bench::xavier_uniform({V, H}, rng), {V, H}),
           bench::param_of(bench::zeros({V}), {V})};
  std::vector<torch::Tensor> params{m.embed, m.w, m.b, m.wy, m.by};
  auto window = [&](size_t k) {
    return std::pair{bench::tensor_of(cb.x[k], {B, T}),
                     bench::tensor_of(cb.y[k], {B, T})};
  };
  torch::optim::Adam opt(params, torch::optim::AdamOptions(0.003).eps(1e-8));

  if (args.str("task", "train") == "ratio") {
    auto [in, out] = window(0);
    torch::Tensor h = torch::zeros({B, H}), c = torch::zeros({B, H});
    bench::report_ratio(
        [&] {
          torch::NoGradGuard no_grad;
          (void)m.loss(in, out, h, c);
        },
        [&] {
          bench::zero_grad(params);
          m.loss(in, out, h, c).backward();
        });
    return 0;
  }
  torch::Tensor h = torch::zeros({B, H}), c = torch::zeros({B, H});
  std::vector<double> losses;
  double t0 = bench::now();
  for (int64_t s = 0; s < steps; ++s) {
    auto [in, out] = window(static_cast<size_t>(s) % cb.x.size());
    bench::zero_grad(params);
    torch::Tensor l = m.loss(in, out, h, c);
    l.backward();
    torch::nn::utils::clip_grad_norm_(params, 5.0);
    opt.step();
    losses.push_back(l.item<double>());
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
