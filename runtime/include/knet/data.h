// Data sets: MNIST (idx files), numeric tables, character corpora, and where
// the data lives. See docs/io.md.
#pragma once

#include <knet/tensor.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace knet {

// Where data set `name` lives, in this order:
//  1. $KNET_DATA_DIR/<name> when KNET_DATA_DIR is set (an error if that
//     folder does not exist: an explicit choice never falls back silently);
//  2. $KNET_SOURCE_DIR/examples/data/<name> when KNET_SOURCE_DIR is set
//     (ctest sets it) and the folder exists;
//  3. <source tree the runtime was built from>/examples/data/<name> if it
//     exists;
//  4. examples/data/<name> in the working directory or one of its parents.
// Throws knet::Error listing the places tried when none exists.
std::string data_dir(const std::string &name);

struct Mnist {
  Tensor xtrn, ytrn, xtst, ytst;
};

// Reads LeCun's idx files from `dir`: train-images-idx3-ubyte,
// train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte,
// each plain or gzip'ed (the plain file is preferred, else "<name>.gz").
// Images: f32 [N,1,rows,cols] scaled to [0,1] (rows = cols = 28 for MNIST);
// labels: i64 [N] in 0..9. Throws naming the file on a missing file, a bad
// magic number, truncated or trailing data, a count that differs between
// images and labels, or a label outside 0..9.
Mnist mnist(const std::string &dir);

// Reads one idx file of unsigned bytes (plain or gzip'ed, the exact path):
// a u8 tensor with the file's dimensions.
Tensor read_idx(const std::string &path);

// Reads a table of numbers: one row per line, fields separated by commas
// (when the line holds one) or else by spaces/tabs. Empty lines and lines
// starting with '#' are skipped, as are the first `skip_rows` non-empty lines
// (a header). Returns f64 [rows, cols]. Throws naming the file and line on a
// field that is not a number or a row whose length differs from the first.
Tensor read_table(const std::string &path, int64_t skip_rows = 0);

// A character-level corpus (char-rnn): the vocabulary is the sorted distinct
// bytes of the text; ids are positions in it.
class CharCorpus {
public:
  // Reads the text file at `path` (throws naming it when unreadable or
  // empty).
  explicit CharCorpus(const std::string &path);
  // From text in memory (must not be empty).
  static CharCorpus from_string(std::string text);

  const std::string &text() const { return text_; }
  int64_t size() const { return static_cast<int64_t>(text_.size()); }
  size_t vocab_size() const { return vocab_.size(); }
  // The vocabulary as a string: the distinct bytes in increasing order.
  const std::string &vocab() const { return vocab_; }
  // The id of byte c; throws when c is not in the vocabulary.
  int64_t id(char c) const;
  char byte(int64_t id) const; // throws when id is out of range

  // i64 [s.size()]; throws naming the first byte not in the vocabulary.
  Tensor encode(std::string_view s) const;
  // The whole text, i64 [size()].
  Tensor encode() const { return encode(text_); }
  // Any integer tensor of ids (any shape, read in row-major order).
  std::string decode(const Tensor &ids) const;

  // Truncated-BPTT batches: the text is cut into `batch` parallel streams
  // of L = (size()-1)/batch characters (stream b starts at b*L), and each
  // stream into floor(L/seqlen) windows. Batch k is (x, y), both i64
  // [batch, seqlen], with x[b,t] = text[b*L + k*seqlen + t] and y[b,t] the
  // character after it, so the hidden state of stream b carries over from
  // batch k to batch k+1. The tail that does not fill a window is dropped.
  // Throws when batch or seqlen is not positive or the text is too short
  // for one batch.
  std::vector<std::pair<Tensor, Tensor>> batches(int64_t batch,
                                                 int64_t seqlen) const;

private:
  CharCorpus() = default;
  void build();
  std::string text_;
  std::string vocab_;
  std::array<int16_t, 256> ids_{}; // -1: not in the vocabulary
};

} // namespace knet
