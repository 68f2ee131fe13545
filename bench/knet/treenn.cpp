// DyNet table: treenn on the Stanford Sentiment Treebank (a Tree-LSTM over
// each sentence's binary parse, as examples/treenn.cpp: loss over every
// node, embed/hidden 128, Adam, one sentence per update). Reports sentences
// per second over a fixed number of training sentences. Built twice: through
// knet_compile (the leaf and node cells compiled, the recursion over the tree
// on the tape with each cell one node) and as it is (all on the tape).
//
// Unlike examples/treenn.cpp, a sentence's words are looked up with one
// embedding call and each leaf takes its row: the gradient of an embedding
// is a dense [vocab, dim] tensor in knet and LibTorch alike, and one per
// leaf made zero-filling and summing those (9 MB each) the whole cost.
// (DyNet's lookup parameters have sparse gradients.)
//   treenn [--sentences 500] [--dim 128] [--task train|ratio] [--data DIR]
#include "data.h"
#include "knet_bench.h"

using namespace knet;

struct State {
  Tensor h, c;
};

struct Cell {
  Param w, b;
};

// The cells take only their own weights. When this was written, knetc's
// compiled adjoint returned a zero tensor for every argument the result does
// not depend on, so a cell taking the whole model materialized a zero
// gradient of the embedding table at every tree node. It now leaves such a
// gradient undefined; the narrow signatures stay so that runs compare.
struct TreeLSTM {
  Param embed;
  Cell leaf, node, out;
};

// A leaf: input, output and update gates from the word vector.
KNET_COMPILE State leaf(const Cell &m, const Tensor &x) {
  std::vector<Tensor> g = chunk(linear(x, m.w, m.b), 3, 1);
  Tensor c = sigm(g[0]) * tanh(g[2]);
  return State{sigm(g[1]) * tanh(c), c};
}

// An internal node: one forget gate per child.
KNET_COMPILE State node(const Cell &m, const State &l, const State &r) {
  std::vector<Tensor> g = chunk(linear(concat({l.h, r.h}, 1), m.w, m.b), 5, 1);
  Tensor c = sigm(g[0]) * tanh(g[4]) + sigm(g[1]) * l.c + sigm(g[2]) * r.c;
  return State{sigm(g[3]) * tanh(c), c};
}

// The recursion (on the tape in both builds). `words` holds the embeddings
// of the sentence's words, left to right; `next` counts the leaves seen.
// Collects every node's hidden state and label, children before parents.
State encode(const TreeLSTM &m, const bench::Tree &t, const Tensor &words,
             int64_t &next, std::vector<Tensor> &hs,
             std::vector<int64_t> &labels) {
  State s;
  if (t.leaf()) {
    s = leaf(m.leaf, words.slice(0, next, next + 1));
    ++next;
  } else {
    State l = encode(m, *t.left, words, next, hs, labels);
    State r = encode(m, *t.right, words, next, hs, labels);
    s = node(m.node, l, r);
  }
  hs.push_back(s.h);
  labels.push_back(t.label);
  return s;
}

// Mean loss over all nodes; also the root's scores.
Tensor loss(const TreeLSTM &m, const bench::Tree &t,
            Tensor *root_scores = nullptr) {
  std::vector<int64_t> ids;
  bench::leaf_words(t, ids);
  Tensor words =
      embedding(m.embed, Tensor::from(ids, {static_cast<int64_t>(ids.size())}));
  std::vector<Tensor> hs;
  std::vector<int64_t> labels;
  int64_t next = 0;
  encode(m, t, words, next, hs, labels);
  Tensor scores = linear(concat(hs, 0), m.out.w, m.out.b);
  if (root_scores)
    *root_scores = scores.slice(0, scores.size(0) - 1, scores.size(0));
  return nll(scores,
             Tensor::from(labels, {static_cast<int64_t>(labels.size())}));
}

int main(int argc, char **argv) {
  bench::Args args(argc, argv);
  const int64_t d = args.integer("dim", 128);
  const int64_t limit = args.integer("sentences", 500);
  bench::report_knet("treenn", is_compiled(leaf) && is_compiled(node), args);
  bench::Sst sst = bench::sst(bench::data_root(args));
  const int64_t V = sst.vocab;
  bench::Rng rng(1);
  auto xavier = [&](bench::Shape s) {
    return bench::param_of(bench::xavier_uniform(s, rng), s);
  };
  auto zero = [&](bench::Shape s) {
    return bench::param_of(bench::zeros(s), s);
  };
  TreeLSTM m{bench::param_of(bench::gaussian({V, d}, 0.1, rng), {V, d}),
             {xavier({3 * d, d}), zero({3 * d})},
             {xavier({5 * d, 2 * d}), zero({5 * d})},
             {xavier({5, d}), zero({5})}};

  if (args.str("task", "train") == "ratio") {
    // One call = the first 20 training trees.
    bench::report_ratio(
        [&] {
          for (size_t i = 0; i < 20; ++i)
            (void)loss(m, *sst.train[i]);
        },
        [&] {
          for (size_t i = 0; i < 20; ++i) {
            const bench::Tree &t = *sst.train[i];
            (void)diff([&] { return loss(m, t); });
          }
        });
    return 0;
  }
  Adam opt;
  const size_t n = std::min(sst.train.size(), static_cast<size_t>(limit));
  double t0 = bench::now(), total = 0, first_loss = std::nan("");
  for (size_t i = 0; i < n; ++i) {
    const bench::Tree &t = *sst.train[i];
    Tape tape = diff([&] { return loss(m, t); });
    update(tape, opt);
    total += tape.value().item<double>();
    if (std::isnan(first_loss))
      first_loss = total;
  }
  double secs = bench::now() - t0;
  int64_t right = 0;
  for (const auto &t : sst.dev) {
    Tensor s;
    (void)loss(m, *t, &s);
    right += argmax(s, 1).item<int64_t>() == t->label;
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
