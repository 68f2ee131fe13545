// A character-level LSTM language model (Knet tutorial: charlm).
//   charlm [--embed 256] [--hidden 256] [--batch 128] [--bptt 100]
//          [--epochs 1] [--steps N] [--max-loss L]
// One weight matrix for all four gates, sliced; Adam with global norm clip.
#include "example_args.h"

#include <knet/knet.h>

#include <chrono>
#include <iostream>

using namespace knet;

struct CharLM {
  Param embed, w, b, wy, by;
  CharLM(int64_t vocab, int64_t e, int64_t h)
      : embed(param({vocab, e}, gaussian(0, 0.1))), w(param({4 * h, e + h})),
        b(param0({4 * h})), wy(param({vocab, h})), by(param0({vocab})) {}
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

// Mean next-character loss over a [batch, T] window; h and c carry the state
// in and out.
KNET_COMPILE Tensor loss(const CharLM &m, const Tensor &in, const Tensor &out,
                         Tensor &h, Tensor &c) {
  const int64_t T = in.size(1);
  std::vector<Tensor> hs;
  for (int64_t t = 0; t < T; ++t) {
    lstm(m, embedding(m.embed, in.select(1, t)), h, c);
    hs.push_back(h);
  }
  Tensor scores =
      linear(stack(hs, 0).reshape({-1, h.size(1)}), m.wy, m.by); // [T*B, V]
  return nll(scores, out.transpose(0, 1).reshape({-1}));
}

std::string sample(const CharLM &m, const CharCorpus &text, int64_t hidden,
                   int n) {
  Tensor h = Tensor::zeros({1, hidden}), c = Tensor::zeros({1, hidden});
  Tensor id = text.encode("T");
  std::string s = "T";
  for (int i = 0; i < n; ++i) {
    lstm(m, embedding(m.embed, id), h, c);
    Tensor p = softmax(linear(h, m.wy, m.by), 1);
    std::vector<float> pv = p.to_vector<float>();
    float r = rand({1}).item<float>(), acc = 0;
    size_t k = 0;
    while (k + 1 < pv.size() && (acc += pv[k]) < r)
      ++k;
    s += text.byte(static_cast<int64_t>(k));
    id = Tensor::from<int64_t>({static_cast<int64_t>(k)}, {1});
  }
  return s;
}

int main(int argc, char **argv) {
  example::Args args(argc, argv);
  const int64_t E = static_cast<int64_t>(args.num("embed", 256));
  const int64_t H = static_cast<int64_t>(args.num("hidden", 256));
  const int64_t B = static_cast<int64_t>(args.num("batch", 128));
  const int64_t T = static_cast<int64_t>(args.num("bptt", 100));
  const int epochs = static_cast<int>(args.num("epochs", 1));
  const int64_t steps = static_cast<int64_t>(args.num("steps", -1));
  seed(1);
  std::cout << "loss: "
            << (is_compiled(loss) ? "compiled by knetc" : "on the tape")
            << "\n";
  CharCorpus text(data_dir("tinyshakespeare") + "/input.txt");
  auto batches = text.batches(B, T);
  std::cout << "tinyshakespeare: " << text.size() << " chars, vocab "
            << text.vocab_size() << "; LSTM embed " << E << " hidden " << H
            << ", batch " << B << ", bptt " << T << ", " << batches.size()
            << " windows per epoch\n";
  CharLM m(static_cast<int64_t>(text.vocab_size()), E, H);
  Adam opt{.lr = 0.003};
  std::vector<double> losses;
  int64_t step = 0;
  auto t0 = std::chrono::steady_clock::now();
  for (int e = 1; e <= epochs && step != steps; ++e) {
    Tensor h = Tensor::zeros({B, H}), c = Tensor::zeros({B, H});
    auto bar = progress(batches);
    for (auto &[in, out] : bar) {
      Tape t = diff([&] { return loss(m, in, out, h, c); });
      clip_global_norm(t, 5.0);
      update(t, opt);
      losses.push_back(t.value().item<double>());
      bar.set("loss", losses.back());
      if (++step == steps)
        break;
    }
  }
  double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
          .count();
  auto avg = [&](size_t from, size_t to) {
    double s = 0;
    for (size_t i = from; i < to; ++i)
      s += losses[i];
    return s / static_cast<double>(to - from);
  };
  size_t k = std::min<size_t>(5, losses.size());
  double first = avg(0, k), last = avg(losses.size() - k, losses.size());
  std::cout << step << " steps in " << secs << " s; loss " << first << " -> "
            << last << " (mean of first/last " << k << ")\n";
  std::cout << "sample: " << sample(m, text, H, 80) << "\n";
  int status = example::check(last < first, "loss fell");
  if (args.has("max-loss"))
    status |=
        example::check(last <= args.num("max-loss", 0),
                       "loss <= " + std::to_string(args.num("max-loss", 0)));
  return status;
}
