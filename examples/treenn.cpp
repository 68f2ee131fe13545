// A Tree-LSTM sentiment classifier over constituency trees (Tai et al.;
// the DyNet benchmark's treenn).
//   treenn [--epochs 1] [--sentences N] [--dim 128] [--synthetic 1]
//          [--min-acc A]
// Trees come from the Stanford Sentiment Treebank in $KNET_DATA_DIR/sst
// (SST may not be redistributed, so none is bundled); without it, or with
// --synthetic 1, from a small synthetic treebank made here. The recursion
// over a tree stays on the tape (knetc --explain says why); the leaf and
// node cells are KNET_COMPILE functions, each call one tape node whose
// backward is the compiled adjoint.
#include "example_args.h"

#include <knet/knet.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <random>

using namespace knet;

struct Tree {
  int64_t label = 0;
  std::string word;                  // leaves
  std::unique_ptr<Tree> left, right; // binary internal nodes
};

// "(3 (2 It) (4 (2 's) (3 good)))"
std::unique_ptr<Tree> parse(const std::string &s, size_t &i) {
  auto skip = [&] {
    while (i < s.size() && s[i] == ' ')
      ++i;
  };
  skip();
  if (i >= s.size() || s[i] != '(')
    throw Error("treenn: expected '(' at offset " + std::to_string(i));
  ++i;
  auto t = std::make_unique<Tree>();
  size_t j = i;
  while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j])))
    ++j;
  if (j == i)
    throw Error("treenn: expected a label at offset " + std::to_string(i));
  t->label = std::stoll(s.substr(i, j - i));
  i = j;
  skip();
  if (i < s.size() && s[i] == '(') {
    t->left = parse(s, i);
    t->right = parse(s, i);
  } else {
    size_t k = s.find(')', i);
    if (k == std::string::npos)
      throw Error("treenn: unterminated leaf at offset " + std::to_string(i));
    t->word = s.substr(i, k - i);
    i = k;
  }
  skip();
  if (i >= s.size() || s[i] != ')')
    throw Error("treenn: expected ')' at offset " + std::to_string(i));
  ++i;
  return t;
}

std::vector<std::unique_ptr<Tree>> read_trees(const std::string &path) {
  std::ifstream in(path);
  if (!in)
    throw Error("treenn: cannot read " + path);
  std::vector<std::unique_ptr<Tree>> trees;
  for (std::string line; std::getline(in, line);) {
    if (line.empty())
      continue;
    size_t i = 0;
    trees.push_back(parse(line, i));
  }
  return trees;
}

// Random binary trees over words of known polarity; a node's label is the
// sign of its words' polarity sum, as 5 SST-like classes.
std::vector<std::unique_ptr<Tree>> synthetic_trees(int n, uint64_t seed) {
  static const std::vector<std::pair<std::string, int>> words = {
      {"good", 2},  {"great", 3}, {"fine", 1}, {"bad", -2}, {"awful", -3},
      {"dull", -1}, {"the", 0},   {"film", 0}, {"plot", 0}, {"is", 0}};
  std::mt19937_64 g(seed);
  std::function<std::pair<std::unique_ptr<Tree>, int>(int)> make =
      [&](int len) {
        auto t = std::make_unique<Tree>();
        int score;
        if (len == 1) {
          const auto &w = words[g() % words.size()];
          t->word = w.first;
          score = w.second;
        } else {
          int k = 1 + static_cast<int>(g() % static_cast<uint64_t>(len - 1));
          auto [l, a] = make(k);
          auto [r, b] = make(len - k);
          t->left = std::move(l);
          t->right = std::move(r);
          score = a + b;
        }
        t->label = score <= -3  ? 0
                   : score < 0  ? 1
                   : score == 0 ? 2
                   : score < 3  ? 3
                                : 4;
        return std::pair{std::move(t), score};
      };
  std::vector<std::unique_ptr<Tree>> trees;
  for (int i = 0; i < n; ++i)
    trees.push_back(make(2 + static_cast<int>(g() % 7)).first);
  return trees;
}

struct State {
  Tensor h, c;
};

struct TreeLSTM {
  Param embed, wleaf, bleaf, wnode, bnode, wout, bout;
  TreeLSTM(int64_t vocab, int64_t d)
      : embed(param({vocab, d}, gaussian(0, 0.1))), wleaf(param({3 * d, d})),
        bleaf(param0({3 * d})), wnode(param({5 * d, 2 * d})),
        bnode(param0({5 * d})), wout(param({5, d})), bout(param0({5})) {}
};

// A leaf: input, output and update gates from the word vector.
KNET_COMPILE State leaf(const TreeLSTM &m, const Tensor &x) {
  std::vector<Tensor> g = chunk(linear(x, m.wleaf, m.bleaf), 3, 1);
  Tensor c = sigm(g[0]) * tanh(g[2]);
  return State{sigm(g[1]) * tanh(c), c};
}

// An internal node: one forget gate per child.
KNET_COMPILE State node(const TreeLSTM &m, const State &l, const State &r) {
  std::vector<Tensor> g =
      chunk(linear(concat({l.h, r.h}, 1), m.wnode, m.bnode), 5, 1);
  Tensor c = sigm(g[0]) * tanh(g[4]) + sigm(g[1]) * l.c + sigm(g[2]) * r.c;
  return State{sigm(g[3]) * tanh(c), c};
}

// The recursion stays on the tape. Collects every node's state and label.
KNET_COMPILE State encode(const TreeLSTM &m, const Tree &t,
                          const std::map<std::string, int64_t> &vocab,
                          std::vector<Tensor> &hs,
                          std::vector<int64_t> &labels) {
  State s;
  if (!t.left) {
    auto it = vocab.find(t.word);
    int64_t id = it == vocab.end() ? 0 : it->second;
    s = leaf(m, embedding(m.embed, Tensor::from<int64_t>({id}, {1})));
  } else {
    State l = encode(m, *t.left, vocab, hs, labels);
    State r = encode(m, *t.right, vocab, hs, labels);
    s = node(m, l, r);
  }
  hs.push_back(s.h);
  labels.push_back(t.label);
  return s;
}

// Mean loss over all nodes; also the root's scores.
Tensor loss(const TreeLSTM &m, const Tree &t,
            const std::map<std::string, int64_t> &vocab,
            Tensor *root_scores = nullptr) {
  std::vector<Tensor> hs;
  std::vector<int64_t> labels;
  encode(m, t, vocab, hs, labels);
  Tensor scores = linear(concat(hs, 0), m.wout, m.bout);
  if (root_scores)
    *root_scores = scores.slice(0, scores.size(0) - 1, scores.size(0));
  return nll(scores,
             Tensor::from(labels, {static_cast<int64_t>(labels.size())}));
}

void collect_words(const Tree &t, std::map<std::string, int64_t> &vocab) {
  if (!t.left)
    vocab.emplace(t.word, static_cast<int64_t>(vocab.size()));
  else {
    collect_words(*t.left, vocab);
    collect_words(*t.right, vocab);
  }
}

int main(int argc, char **argv) {
  example::Args args(argc, argv);
  const int epochs = static_cast<int>(args.num("epochs", 1));
  const int64_t limit = static_cast<int64_t>(args.num("sentences", -1));
  const int64_t d = static_cast<int64_t>(args.num("dim", 128));
  seed(1);
  std::vector<std::unique_ptr<Tree>> train, test;
  const char *dir = std::getenv("KNET_DATA_DIR");
  if (args.num("synthetic", 0) == 0 && dir && *dir) {
    train = read_trees(std::string(dir) + "/sst/train.txt");
    test = read_trees(std::string(dir) + "/sst/dev.txt");
    std::cout << "SST: ";
  } else {
    train = synthetic_trees(400, 1);
    test = synthetic_trees(100, 2);
    std::cout << "synthetic treebank: ";
  }
  std::map<std::string, int64_t> vocab{{"<unk>", 0}};
  for (const auto &t : train)
    collect_words(*t, vocab);
  std::cout << train.size() << " train, " << test.size()
            << " test trees, vocab " << vocab.size() << "; Tree-LSTM dim " << d
            << ", Adam\n";
  std::cout << "cells: leaf "
            << (is_compiled(leaf) ? "compiled" : "on the tape") << ", node "
            << (is_compiled(node) ? "compiled" : "on the tape") << "\n";
  TreeLSTM m(static_cast<int64_t>(vocab.size()), d);
  Adam opt;
  auto evaluate = [&] {
    int64_t right = 0;
    for (const auto &t : test) {
      Tensor s;
      (void)loss(m, *t, vocab, &s);
      right += argmax(s, 1).item<int64_t>() == t->label;
    }
    return static_cast<double>(right) / static_cast<double>(test.size());
  };
  double before = evaluate(), first = -1, last = 0, sum = 0;
  int64_t n = 0, window = 0;
  auto t0 = std::chrono::steady_clock::now();
  for (int e = 1; e <= epochs && n != limit; ++e) {
    auto bar = progress(train);
    for (const auto &t : bar) {
      Tape tape = diff([&] { return loss(m, *t, vocab); });
      update(tape, opt);
      sum += tape.value().item<double>();
      if (++window == 50) {
        last = sum / 50;
        if (first < 0)
          first = last;
        sum = 0;
        window = 0;
      }
      bar.set("loss", tape.value().item<double>());
      if (++n == limit)
        break;
    }
  }
  double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
          .count();
  double acc = evaluate();
  std::cout << n << " sentences in " << secs << " s ("
            << static_cast<double>(n) / secs
            << " sentences/s); mean loss of the first/last 50: " << first
            << " -> " << last << "; root accuracy " << before << " -> " << acc
            << "\n";
  int status = example::check(last < first, "loss fell");
  if (args.has("min-acc"))
    status |=
        example::check(acc >= args.num("min-acc", 0),
                       "accuracy >= " + std::to_string(args.num("min-acc", 0)));
  return status;
}
