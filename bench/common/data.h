// The benchmark data sets as plain arrays, read the same way for knet and
// LibTorch: Boston housing, MNIST, tiny-shakespeare (char-rnn batches), the
// Penn Treebank (DyNet's rnnlm-batch minibatches) and the Stanford Sentiment
// Treebank (trees). Depends on the standard library and zlib only.
#pragma once

#include "bench.h"

#include <zlib.h>

#include <array>
#include <fstream>
#include <memory>
#include <sstream>
#include <unordered_map>

namespace bench {

[[noreturn]] inline void die(const std::string &msg) {
  std::cerr << "error: " << msg << "\n";
  std::exit(1);
}

inline std::string read_file(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    die("cannot read " + path +
        " (set KNET_DATA_DIR or pass --data to the folder with the full data "
        "sets)");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// ---------------------------------------------------------------------------
// Boston housing: x [506, 13] standardized per column (population std, as
// examples/linreg_housing.cpp does), y [506, 1] in $1000s.
// ---------------------------------------------------------------------------

struct Housing {
  int64_t n = 0;
  std::vector<float> x, y;
};

inline Housing housing(const std::string &root) {
  std::istringstream in(read_file(root + "/boston/housing.data"));
  std::vector<double> v;
  for (double d; in >> d;)
    v.push_back(d);
  if (v.empty() || v.size() % 14)
    die("boston/housing.data: expected rows of 14 numbers");
  Housing h;
  h.n = static_cast<int64_t>(v.size() / 14);
  const size_t n = static_cast<size_t>(h.n);
  h.x.resize(n * 13);
  h.y.resize(n);
  for (size_t j = 0; j < 13; ++j) {
    double mean = 0, var = 0;
    for (size_t i = 0; i < n; ++i)
      mean += v[i * 14 + j];
    mean /= double(n);
    for (size_t i = 0; i < n; ++i)
      var += (v[i * 14 + j] - mean) * (v[i * 14 + j] - mean);
    double sd = std::sqrt(var / double(n));
    for (size_t i = 0; i < n; ++i)
      h.x[i * 13 + j] = static_cast<float>((v[i * 14 + j] - mean) / sd);
  }
  for (size_t i = 0; i < n; ++i)
    h.y[i] = static_cast<float>(v[i * 14 + 13]);
  return h;
}

// ---------------------------------------------------------------------------
// MNIST: images [N, 1, 28, 28] scaled to [0, 1] (as knet::mnist does),
// labels [N] in 0..9.
// ---------------------------------------------------------------------------

inline std::string gunzip(const std::string &path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f)
    die("cannot read " + path +
        " (set KNET_DATA_DIR or pass --data to the folder with the full data "
        "sets)");
  std::string out;
  std::array<char, 1 << 16> buf;
  int k;
  while ((k = gzread(f, buf.data(), static_cast<unsigned>(buf.size()))) > 0)
    out.append(buf.data(), static_cast<size_t>(k));
  gzclose(f);
  if (k < 0)
    die("corrupt gzip file " + path);
  return out;
}

struct MnistSplit {
  int64_t n = 0;
  std::vector<uint8_t> pixels; // the images' bytes, row-major [n, 784]
  std::vector<float> x;        // pixels / 255
  std::vector<int64_t> y;
};
struct Mnist {
  MnistSplit train, test;
};

inline MnistSplit mnist_split(const std::string &images,
                              const std::string &labels) {
  auto be32 = [](const std::string &s, size_t at) {
    const auto *p = reinterpret_cast<const unsigned char *>(s.data() + at);
    return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) |
           (uint32_t(p[2]) << 8) | uint32_t(p[3]);
  };
  std::string xi = gunzip(images), yi = gunzip(labels);
  if (xi.size() < 16 || be32(xi, 0) != 2051 || yi.size() < 8 ||
      be32(yi, 0) != 2049)
    die("bad MNIST idx files " + images + ", " + labels);
  MnistSplit s;
  s.n = be32(xi, 4);
  const size_t n = static_cast<size_t>(s.n), px = 28 * 28;
  if (be32(yi, 4) != s.n || xi.size() != 16 + n * px || yi.size() != 8 + n)
    die("MNIST sizes disagree in " + images);
  s.pixels.assign(xi.begin() + 16, xi.end());
  s.x.resize(n * px);
  for (size_t i = 0; i < n * px; ++i)
    s.x[i] = static_cast<float>(s.pixels[i]) / 255;
  s.y.resize(n);
  for (size_t i = 0; i < n; ++i)
    s.y[i] = static_cast<unsigned char>(yi[8 + i]);
  return s;
}

inline Mnist mnist(const std::string &root) {
  std::string d = root + "/mnist/";
  return {mnist_split(d + "train-images-idx3-ubyte.gz",
                      d + "train-labels-idx1-ubyte.gz"),
          mnist_split(d + "t10k-images-idx3-ubyte.gz",
                      d + "t10k-labels-idx1-ubyte.gz")};
}

// The row indices of each minibatch of `batch` rows for `epochs` epochs: a
// fresh permutation from `rng` per epoch, the last partial batch dropped
// (knet's minibatch(..., {.shuffle = true})).
inline std::vector<std::vector<int64_t>> epoch_batches(int64_t n, int64_t batch,
                                                       int epochs, Rng &rng) {
  std::vector<std::vector<int64_t>> out;
  for (int e = 0; e < epochs; ++e) {
    std::vector<int64_t> p = permutation(n, rng);
    for (int64_t b = 0; b + batch <= n; b += batch)
      out.emplace_back(p.begin() + b, p.begin() + b + batch);
  }
  return out;
}

// Gathers rows `idx` of a row-major [N, row] array.
template <class T>
std::vector<T> gather(const std::vector<T> &data, int64_t row,
                      const std::vector<int64_t> &idx) {
  std::vector<T> out(idx.size() * static_cast<size_t>(row));
  for (size_t i = 0; i < idx.size(); ++i)
    std::copy_n(data.begin() + idx[i] * row, row,
                out.begin() + static_cast<int64_t>(i) * row);
  return out;
}

// ---------------------------------------------------------------------------
// tiny-shakespeare: the vocabulary is the sorted distinct bytes; batches as
// knet::CharCorpus::batches(batch, seqlen) makes them: `batch` parallel
// streams of L = (n-1)/batch characters, window k of stream b is
// text[b*L + k*seqlen ...], the targets one character later.
// ---------------------------------------------------------------------------

struct CharBatches {
  int64_t vocab = 0, batch = 0, seqlen = 0, chars = 0;
  // x[k], y[k]: [batch, seqlen] row-major ids.
  std::vector<std::vector<int64_t>> x, y;
};

inline CharBatches char_batches(const std::string &root, int64_t batch,
                                int64_t seqlen) {
  std::string text = read_file(root + "/tinyshakespeare/input.txt");
  std::array<int64_t, 256> id;
  id.fill(-1);
  for (unsigned char c : text)
    id[c] = 0;
  CharBatches cb;
  for (int c = 0; c < 256; ++c)
    if (id[static_cast<size_t>(c)] == 0)
      id[static_cast<size_t>(c)] = cb.vocab++;
  cb.batch = batch;
  cb.seqlen = seqlen;
  cb.chars = static_cast<int64_t>(text.size());
  const int64_t L = (cb.chars - 1) / batch, windows = L / seqlen;
  auto at = [&](int64_t i) {
    return id[static_cast<unsigned char>(text[static_cast<size_t>(i)])];
  };
  for (int64_t k = 0; k < windows; ++k) {
    std::vector<int64_t> x(static_cast<size_t>(batch * seqlen)), y(x.size());
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t t = 0; t < seqlen; ++t) {
        int64_t i = b * L + k * seqlen + t;
        x[static_cast<size_t>(b * seqlen + t)] = at(i);
        y[static_cast<size_t>(b * seqlen + t)] = at(i + 1);
      }
    cb.x.push_back(std::move(x));
    cb.y.push_back(std::move(y));
  }
  return cb;
}

// ---------------------------------------------------------------------------
// Penn Treebank, as DyNet's rnnlm-batch benchmark reads it: every sentence
// ends in "<s>" (id 0, also the start symbol); the vocabulary is the
// training words in order of appearance. Sentences are sorted by length,
// longest first (a stable sort), and cut into minibatches of `batch`
// consecutive sentences; a batch's input is [<s>, w0, ..., w_{T-2}] and its
// target [w0, ..., w_{T-1}] per sentence, T the longest length in the
// batch; shorter sentences are padded with <s> in the input and -1 (no loss)
// in the target.
// ---------------------------------------------------------------------------

struct LmBatch {
  int64_t batch = 0, len = 0, words = 0; // words: targets that count
  std::vector<int64_t> in, out;          // [batch, len] row-major
};
struct Ptb {
  int64_t vocab = 0, sentences = 0;
  std::vector<LmBatch> batches; // in sorted order
};

inline Ptb ptb(const std::string &root, int64_t batch) {
  std::istringstream in(read_file(root + "/ptb/ptb.train.txt"));
  std::unordered_map<std::string, int64_t> w2i{{"<s>", 0}, {"<unk>", 1}};
  std::vector<std::vector<int64_t>> sents;
  for (std::string line; std::getline(in, line);) {
    std::istringstream ws(line);
    std::vector<int64_t> s;
    for (std::string w; ws >> w;)
      s.push_back(
          w2i.emplace(w, static_cast<int64_t>(w2i.size())).first->second);
    s.push_back(0);
    sents.push_back(std::move(s));
  }
  // Longest first, ties in file order (a stable sort; std::stable_sort's
  // temporary buffer draws a deprecation warning from Clang 19).
  std::vector<size_t> order(sents.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return sents[a].size() != sents[b].size()
               ? sents[a].size() > sents[b].size()
               : a < b;
  });
  {
    std::vector<std::vector<int64_t>> sorted;
    for (size_t i : order)
      sorted.push_back(std::move(sents[i]));
    sents = std::move(sorted);
  }
  Ptb p;
  p.vocab = static_cast<int64_t>(w2i.size());
  p.sentences = static_cast<int64_t>(sents.size());
  for (size_t s0 = 0; s0 < sents.size(); s0 += static_cast<size_t>(batch)) {
    size_t s1 = std::min(sents.size(), s0 + static_cast<size_t>(batch));
    LmBatch b;
    b.batch = static_cast<int64_t>(s1 - s0);
    b.len = static_cast<int64_t>(sents[s0].size());
    b.in.assign(static_cast<size_t>(b.batch * b.len), 0);
    b.out.assign(b.in.size(), -1);
    for (size_t i = s0; i < s1; ++i) {
      const auto &s = sents[i];
      size_t row = (i - s0) * static_cast<size_t>(b.len);
      for (size_t t = 0; t < s.size(); ++t) {
        b.out[row + t] = s[t];
        if (t + 1 < static_cast<size_t>(b.len))
          b.in[row + t + 1] = s[t];
      }
      b.words += static_cast<int64_t>(s.size());
    }
    p.batches.push_back(std::move(b));
  }
  return p;
}

// ---------------------------------------------------------------------------
// Stanford Sentiment Treebank: binary constituency trees, a label 0..4 on
// every node; the vocabulary is "<unk>" (0) and the training words in order
// of first appearance (as examples/treenn.cpp builds it).
// ---------------------------------------------------------------------------

struct Tree {
  int64_t label = 0;
  int64_t word = -1; // leaves: the word id
  std::string text;  // leaves: the word
  std::unique_ptr<Tree> left, right;
  bool leaf() const { return !left; }
};

inline std::unique_ptr<Tree> parse_tree(const std::string &s, size_t &i) {
  auto skip = [&] {
    while (i < s.size() && s[i] == ' ')
      ++i;
  };
  skip();
  if (i >= s.size() || s[i] != '(')
    die("SST: expected '(' at offset " + std::to_string(i));
  ++i;
  auto t = std::make_unique<Tree>();
  size_t j = i;
  while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j])))
    ++j;
  if (j == i)
    die("SST: expected a label at offset " + std::to_string(i));
  t->label = std::stoll(s.substr(i, j - i));
  i = j;
  skip();
  if (i < s.size() && s[i] == '(') {
    t->left = parse_tree(s, i);
    t->right = parse_tree(s, i);
  } else {
    size_t k = s.find(')', i);
    if (k == std::string::npos)
      die("SST: unterminated leaf at offset " + std::to_string(i));
    t->text = s.substr(i, k - i);
    i = k;
  }
  skip();
  if (i >= s.size() || s[i] != ')')
    die("SST: expected ')' at offset " + std::to_string(i));
  ++i;
  return t;
}

inline std::vector<std::unique_ptr<Tree>> read_trees(const std::string &path) {
  std::istringstream in(read_file(path));
  std::vector<std::unique_ptr<Tree>> trees;
  for (std::string line; std::getline(in, line);) {
    if (line.empty())
      continue;
    size_t i = 0;
    trees.push_back(parse_tree(line, i));
  }
  return trees;
}

inline void number_words(Tree &t,
                         std::unordered_map<std::string, int64_t> &vocab,
                         bool grow) {
  if (t.leaf()) {
    auto it = vocab.find(t.text);
    if (it == vocab.end() && grow)
      it = vocab.emplace(t.text, static_cast<int64_t>(vocab.size())).first;
    t.word = it == vocab.end() ? 0 : it->second;
  } else {
    number_words(*t.left, vocab, grow);
    number_words(*t.right, vocab, grow);
  }
}

// The word ids of t's leaves, left to right.
inline void leaf_words(const Tree &t, std::vector<int64_t> &ids) {
  if (t.leaf()) {
    ids.push_back(t.word);
  } else {
    leaf_words(*t.left, ids);
    leaf_words(*t.right, ids);
  }
}

inline int64_t count_nodes(const Tree &t) {
  return t.leaf() ? 1 : 1 + count_nodes(*t.left) + count_nodes(*t.right);
}

struct Sst {
  int64_t vocab = 0;
  std::vector<std::unique_ptr<Tree>> train, dev;
};

// Training trees in the order of a fixed permutation (seed 7).
inline Sst sst(const std::string &root) {
  Sst s;
  auto train = read_trees(root + "/sst/train.txt");
  s.dev = read_trees(root + "/sst/dev.txt");
  std::unordered_map<std::string, int64_t> vocab{{"<unk>", 0}};
  for (auto &t : train)
    number_words(*t, vocab, true);
  for (auto &t : s.dev)
    number_words(*t, vocab, false);
  s.vocab = static_cast<int64_t>(vocab.size());
  Rng rng(7);
  for (int64_t i : permutation(static_cast<int64_t>(train.size()), rng))
    s.train.push_back(std::move(train[static_cast<size_t>(i)]));
  return s;
}

} // namespace bench
