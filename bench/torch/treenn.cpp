// LibTorch peer of bench/knet/treenn.cpp: a Tree-LSTM over SST parses (loss
// over every node, embed/hidden 128, Adam, one sentence per update), the same
// cells, recursion, initial weights and sentence order; LibTorch's autograd
// records the recursion as knet's tape does. Reports sentences per second.
// A sentence's words are looked up with one embedding call (see
// bench/knet/treenn.cpp why).
#include "data.h"
#include "torch_bench.h"

struct State {
  torch::Tensor h, c;
};

struct TreeLSTM {
  torch::Tensor embed, wleaf, bleaf, wnode, bnode, wout, bout;

  State leaf(const torch::Tensor &x) const {
    std::vector<torch::Tensor> g = torch::linear(x, wleaf, bleaf).chunk(3, 1);
    torch::Tensor c = torch::sigmoid(g[0]) * torch::tanh(g[2]);
    return State{torch::sigmoid(g[1]) * torch::tanh(c), c};
  }

  State node(const State &l, const State &r) const {
    std::vector<torch::Tensor> g =
        torch::linear(torch::cat({l.h, r.h}, 1), wnode, bnode).chunk(5, 1);
    torch::Tensor c = torch::sigmoid(g[0]) * torch::tanh(g[4]) +
                      torch::sigmoid(g[1]) * l.c + torch::sigmoid(g[2]) * r.c;
    return State{torch::sigmoid(g[3]) * torch::tanh(c), c};
  }

  State encode(const bench::Tree &t, const torch::Tensor &words, int64_t &next,
               std::vector<torch::Tensor> &hs,
               std::vector<int64_t> &labels) const {
    State s;
    if (t.leaf()) {
      s = leaf(words.slice(0, next, next + 1));
      ++next;
    } else {
      State l = encode(*t.left, words, next, hs, labels);
      State r = encode(*t.right, words, next, hs, labels);
      s = node(l, r);
    }
    hs.push_back(s.h);
    labels.push_back(t.label);
    return s;
  }

  torch::Tensor loss(const bench::Tree &t,
                     torch::Tensor *root_scores = nullptr) const {
    std::vector<int64_t> ids;
    bench::leaf_words(t, ids);
    torch::Tensor words =
        torch::embedding(embed, torch::tensor(ids, torch::kInt64));
    std::vector<torch::Tensor> hs;
    std::vector<int64_t> labels;
    int64_t next = 0;
    encode(t, words, next, hs, labels);
    torch::Tensor scores = torch::linear(torch::cat(hs, 0), wout, bout);
    if (root_scores)
      *root_scores = scores.slice(0, scores.size(0) - 1, scores.size(0));
    return bench::nll(scores, torch::tensor(labels, torch::kInt64));
  }
};

int main(int argc, char **argv) {
  bench::Args args(argc, argv);
  const int64_t d = args.integer("dim", 128);
  const int64_t limit = args.integer("sentences", 500);
  bench::setup_torch("treenn", args);
  bench::Sst sst = bench::sst(bench::data_root(args));
  const int64_t V = sst.vocab;
  bench::Rng rng(1);
  auto xavier = [&](std::vector<int64_t> s) {
    return bench::param_of(bench::xavier_uniform(s, rng), s);
  };
  auto zero = [&](std::vector<int64_t> s) {
    return bench::param_of(bench::zeros(s), s);
  };
  TreeLSTM m{bench::param_of(bench::gaussian({V, d}, 0.1, rng), {V, d}),
             xavier({3 * d, d}),
             zero({3 * d}),
             xavier({5 * d, 2 * d}),
             zero({5 * d}),
             xavier({5, d}),
             zero({5})};
  std::vector<torch::Tensor> params{m.embed, m.wleaf, m.bleaf, m.wnode,
                                    m.bnode, m.wout,  m.bout};
  torch::optim::Adam opt(params, torch::optim::AdamOptions(0.001).eps(1e-8));

  if (args.str("task", "train") == "ratio") {
    // One call = the first 20 training trees.
    bench::report_ratio(
        [&] {
          torch::NoGradGuard no_grad;
          for (size_t i = 0; i < 20; ++i)
            (void)m.loss(*sst.train[i]);
        },
        [&] {
          for (size_t i = 0; i < 20; ++i) {
            bench::zero_grad(params);
            m.loss(*sst.train[i]).backward();
          }
        });
    return 0;
  }
  const size_t n = std::min(sst.train.size(), static_cast<size_t>(limit));
  double t0 = bench::now(), total = 0, first_loss = std::nan("");
  for (size_t i = 0; i < n; ++i) {
    bench::zero_grad(params);
    torch::Tensor l = m.loss(*sst.train[i]);
    l.backward();
    opt.step();
    total += l.item<double>();
    if (std::isnan(first_loss))
      first_loss = total;
  }
  double secs = bench::now() - t0;
  torch::NoGradGuard no_grad;
  int64_t right = 0;
  for (const auto &t : sst.dev) {
    torch::Tensor s;
    (void)m.loss(*t, &s);
    right += s.argmax(1).item<int64_t>() == t->label;
  }
  bench::result("train_s", secs);
  bench::result("first_loss", first_loss);
  bench::result("sentences", n);
  bench::result("sentences_per_s", static_cast<double>(n) / secs);
  bench::result("loss", total / static_cast<double>(n)); // mean over the run
  bench::result("accuracy", static_cast<double>(right) /
                                static_cast<double>(sst.dev.size()));
  return 0;
}
