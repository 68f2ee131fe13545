// Data sets: MNIST idx files, numeric tables, character corpora, data_dir.
#include <knet/checks.h>
#include <knet/data.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <zlib.h>

namespace knet {

using detail::fail;
namespace fs = std::filesystem;

// ------------------------------------------------------------ data_dir

std::string data_dir(const std::string &name) {
  std::error_code ec;
  if (const char *d = std::getenv("KNET_DATA_DIR"); d && *d) {
    fs::path p = fs::path(d) / name;
    if (!fs::is_directory(p, ec))
      fail("data_dir: KNET_DATA_DIR is set, but ", p.string(),
           " is not a directory");
    return p.string();
  }
  std::vector<fs::path> tried;
  auto found = [&](const fs::path &root) {
    fs::path p = root / "examples" / "data" / name;
    tried.push_back(p);
    return fs::is_directory(p, ec);
  };
  if (const char *s = std::getenv("KNET_SOURCE_DIR"); s && *s)
    if (found(s))
      return tried.back().string();
#ifdef KNET_SOURCE_DIR
  if (found(KNET_SOURCE_DIR))
    return tried.back().string();
#endif
  fs::path cwd = fs::current_path(ec);
  if (!ec)
    for (fs::path p = cwd;; p = p.parent_path()) {
      if (found(p))
        return tried.back().string();
      if (p == p.parent_path())
        break;
    }
  std::ostringstream s;
  for (size_t i = 0; i < tried.size(); ++i)
    s << (i ? ", " : "") << tried[i].string();
  fail("data_dir: no data set \"", name,
       "\": KNET_DATA_DIR is not set and none of these exists: ", s.str());
}

// ---------------------------------------------------------------- idx

namespace {

// A file read in order, gunzip'ed when it is gzip'ed (zlib reads plain
// files through the same calls). Only what is asked for is decompressed, so
// a file that claims or inflates to more than its reader needs costs no
// more than that.
class GzStream {
public:
  GzStream(const std::string &path, const char *op) : path_(path), op_(op) {
    std::error_code ec;
    if (!fs::is_regular_file(path, ec))
      fail(op, ": cannot open ", path, ": no such file");
    g_ = gzopen(path.c_str(), "rb");
    if (!g_)
      fail(op, ": cannot open ", path, ": ", std::strerror(errno));
  }
  GzStream(const GzStream &) = delete;
  GzStream &operator=(const GzStream &) = delete;
  ~GzStream() {
    if (g_)
      gzclose(g_);
  }

  // Reads up to n bytes into p; fewer only at the end of the data.
  size_t read(unsigned char *p, size_t n) {
    size_t got = 0;
    while (got < n) {
      unsigned ask = static_cast<unsigned>(std::min<size_t>(n - got, 1 << 30));
      int r = gzread(g_, p + got, ask);
      if (r < 0) {
        int code = 0;
        fail(op_, ": ", path_, ": cannot decompress at byte ", offset_ + got,
             ": ", gzerror(g_, &code));
      }
      got += static_cast<size_t>(r);
      if (r == 0)
        break;
    }
    offset_ += got;
    return got;
  }
  // The byte offset of the next read (in the decompressed data).
  uint64_t offset() const { return offset_; }
  // A gzip stream cut short reads as a plain end of data; zlib reports it
  // on close.
  void close() {
    int r = gzclose(g_);
    g_ = nullptr;
    if (r != Z_OK)
      fail(op_, ": ", path_, ": truncated or corrupt gzip stream (after ",
           offset_, " bytes)");
  }

private:
  std::string path_;
  const char *op_;
  gzFile g_ = nullptr;
  uint64_t offset_ = 0;
};

uint32_t be32(const unsigned char *p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) |
         (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

// Reads an idx file of unsigned bytes; `want_ndim` 0 accepts any. The data
// is read in pieces as it arrives, so memory follows the file's real size,
// not what its header claims.
Tensor read_idx_file(const std::string &path, const char *op, int want_ndim) {
  GzStream in(path, op);
  unsigned char head[4 + 4 * 255];
  if (size_t got = in.read(head, 4); got < 4)
    fail(op, ": ", path, ": truncated: ", got,
         " bytes, too short for an idx header");
  uint32_t magic = be32(head);
  int ndim = static_cast<int>(magic & 0xFF);
  std::ostringstream hex;
  hex << "0x" << std::hex << magic;
  if ((magic >> 8) != 0x08 || ndim == 0)
    fail(op, ": ", path, ": bad magic number ", hex.str(),
         " (not an idx file of unsigned bytes)");
  if (want_ndim && ndim != want_ndim)
    fail(op, ": ", path, ": bad magic number ", hex.str(), " (expected ",
         0x800 + want_ndim, ", an idx", want_ndim, " file)");
  const size_t header = 4 + 4 * static_cast<size_t>(ndim);
  if (in.read(head + 4, header - 4) < header - 4)
    fail(op, ": ", path, ": truncated idx header: ", ndim, " dimensions need ",
         header, " bytes, the file has ", in.offset());
  Shape shape;
  for (int d = 0; d < ndim; ++d)
    shape.push_back(be32(head + 4 + 4 * d));
  std::optional<int64_t> count = nonzero_dims_product(shape);
  if (!count || *count > (int64_t(1) << 62))
    fail(op, ": ", path, ": dimensions ", shape_str(shape), " too large");
  const size_t n =
      std::find(shape.begin(), shape.end(), 0) != shape.end() ? 0 : *count;
  std::vector<unsigned char> data;
  constexpr size_t piece = size_t(1) << 24;
  while (data.size() < n) {
    size_t at = data.size(), want = std::min(piece, n - at);
    data.resize(at + want);
    size_t got = in.read(data.data() + at, want);
    if (got < want)
      fail(op, ": ", path, ": truncated: dimensions ", shape_str(shape),
           " need ", n, " bytes of data after the ", header,
           "-byte header, the file ends at byte ", in.offset());
  }
  unsigned char extra;
  if (in.read(&extra, 1))
    fail(op, ": ", path, ": trailing bytes from byte ", in.offset() - 1,
         " after the ", shape_str(shape), " data (", header, " + ", n,
         " bytes expected)");
  in.close();
  Tensor t = Tensor::empty(shape, DType::u8, Device{});
  if (n)
    std::memcpy(t.data_ptr(), data.data(), n);
  return t;
}

std::string mnist_file(const std::string &dir, const std::string &name) {
  std::error_code ec;
  fs::path p = fs::path(dir) / name;
  if (fs::is_regular_file(p, ec))
    return p.string();
  fs::path gz = fs::path(dir) / (name + ".gz");
  if (fs::is_regular_file(gz, ec))
    return gz.string();
  fail("mnist: missing ", p.string(), " (and ", gz.filename().string(), ")");
}

} // namespace

Tensor read_idx(const std::string &path) {
  return read_idx_file(path, "read_idx", 0);
}

Mnist mnist(const std::string &dir) {
  auto images = [&](const char *name) {
    std::string path = mnist_file(dir, name);
    Tensor u = read_idx_file(path, "mnist", 3);
    const Shape &s = u.shape();
    Tensor x = Tensor::empty({s[0], 1, s[1], s[2]}, DType::f32, Device{});
    const uint8_t *p = u.data<uint8_t>();
    float *q = x.data<float>();
    for (int64_t i = 0, n = u.numel(); i < n; ++i)
      q[i] = static_cast<float>(p[i]) / 255.0f;
    return std::make_pair(x, path);
  };
  auto labels = [&](const char *name, int64_t count,
                    const std::string &image_path) {
    std::string path = mnist_file(dir, name);
    Tensor u = read_idx_file(path, "mnist", 1);
    if (u.size(0) != count)
      fail("mnist: ", path, " has ", u.size(0), " labels, but ", image_path,
           " has ", count, " images");
    Tensor y = Tensor::empty({count}, DType::i64, Device{});
    const uint8_t *p = u.data<uint8_t>();
    int64_t *q = y.data<int64_t>();
    for (int64_t i = 0; i < count; ++i) {
      if (p[i] > 9)
        fail("mnist: ", path, ": label ", int(p[i]), " at index ", i,
             " is outside 0..9");
      q[i] = p[i];
    }
    return y;
  };
  Mnist m;
  auto [xtrn, trn_path] = images("train-images-idx3-ubyte");
  m.xtrn = xtrn;
  m.ytrn = labels("train-labels-idx1-ubyte", xtrn.size(0), trn_path);
  auto [xtst, tst_path] = images("t10k-images-idx3-ubyte");
  m.xtst = xtst;
  m.ytst = labels("t10k-labels-idx1-ubyte", xtst.size(0), tst_path);
  return m;
}

// -------------------------------------------------------------- tables

Tensor read_table(const std::string &path, int64_t skip_rows) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    fail("read_table: cannot open ", path, ": ", std::strerror(errno));
  if (skip_rows < 0)
    fail("read_table: ", path, ": skip_rows ", skip_rows, " is negative");
  std::vector<double> values;
  int64_t cols = -1, rows = 0, first_line = 0, lineno = 0;
  std::string line;
  std::vector<std::string_view> fields;
  while (std::getline(in, line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    auto is_space = [](char c) {
      return c == ' ' || c == '\t' || c == '\v' || c == '\f';
    };
    size_t b = 0;
    while (b < line.size() && is_space(line[b]))
      ++b;
    if (b == line.size() || line[b] == '#')
      continue;
    if (skip_rows > 0) {
      --skip_rows;
      continue;
    }
    fields.clear();
    std::string_view v(line);
    if (v.find(',') != std::string_view::npos) {
      size_t start = 0;
      for (;;) {
        size_t comma = v.find(',', start);
        std::string_view f = v.substr(
            start, comma == std::string_view::npos ? v.npos : comma - start);
        while (!f.empty() && is_space(f.front()))
          f.remove_prefix(1);
        while (!f.empty() && is_space(f.back()))
          f.remove_suffix(1);
        if (f.empty())
          fail("read_table: ", path, ":", lineno, ": empty field ",
               fields.size() + 1);
        fields.push_back(f);
        if (comma == std::string_view::npos)
          break;
        start = comma + 1;
      }
    } else {
      size_t i = b;
      while (i < v.size()) {
        size_t j = i;
        while (j < v.size() && !is_space(v[j]))
          ++j;
        fields.push_back(v.substr(i, j - i));
        while (j < v.size() && is_space(v[j]))
          ++j;
        i = j;
      }
    }
    if (cols < 0) {
      cols = static_cast<int64_t>(fields.size());
      first_line = lineno;
    } else if (static_cast<int64_t>(fields.size()) != cols) {
      fail("read_table: ", path, ":", lineno, ": row has ", fields.size(),
           " fields, expected ", cols, " (as on line ", first_line, ")");
    }
    for (std::string_view f : fields) {
      std::string_view num = f;
      if (num.size() > 1 && num.front() == '+')
        num.remove_prefix(1);
      double x = 0;
      auto [end, err] = std::from_chars(num.data(), num.data() + num.size(), x);
      if (err != std::errc() || end != num.data() + num.size())
        fail("read_table: ", path, ":", lineno, ": \"", f,
             "\" is not a number");
      values.push_back(x);
    }
    ++rows;
  }
  if (in.bad())
    fail("read_table: ", path, ": read error");
  if (cols < 0)
    cols = 0;
  return Tensor::from(values, {rows, cols});
}

// ---------------------------------------------------------- CharCorpus

CharCorpus::CharCorpus(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    fail("CharCorpus: cannot open ", path, ": ", std::strerror(errno));
  std::ostringstream s;
  s << in.rdbuf();
  if (in.bad())
    fail("CharCorpus: ", path, ": read error");
  text_ = std::move(s).str();
  if (text_.empty())
    fail("CharCorpus: ", path, " is empty");
  build();
}

CharCorpus CharCorpus::from_string(std::string text) {
  if (text.empty())
    fail("CharCorpus: empty text");
  CharCorpus c;
  c.text_ = std::move(text);
  c.build();
  return c;
}

void CharCorpus::build() {
  bool present[256] = {};
  for (char c : text_)
    present[static_cast<unsigned char>(c)] = true;
  ids_.fill(-1);
  vocab_.clear();
  for (int b = 0; b < 256; ++b)
    if (present[b]) {
      ids_[b] = static_cast<int16_t>(vocab_.size());
      vocab_ += static_cast<char>(b);
    }
}

int64_t CharCorpus::id(char c) const {
  int16_t i = ids_[static_cast<unsigned char>(c)];
  if (i < 0)
    fail("CharCorpus: byte ", int(static_cast<unsigned char>(c)),
         " is not in the vocabulary");
  return i;
}

char CharCorpus::byte(int64_t id) const {
  if (id < 0 || id >= static_cast<int64_t>(vocab_.size()))
    fail("CharCorpus: id ", id, " is outside the vocabulary [0,", vocab_.size(),
         ")");
  return vocab_[static_cast<size_t>(id)];
}

Tensor CharCorpus::encode(std::string_view s) const {
  std::vector<int64_t> ids(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    int16_t k = ids_[static_cast<unsigned char>(s[i])];
    if (k < 0)
      fail("CharCorpus::encode: byte ", int(static_cast<unsigned char>(s[i])),
           " at position ", i, " is not in the vocabulary");
    ids[i] = k;
  }
  return Tensor::from(ids, {static_cast<int64_t>(s.size())});
}

std::string CharCorpus::decode(const Tensor &ids) const {
  if (!ids.defined())
    fail("CharCorpus::decode: undefined tensor");
  DType d = ids.dtype();
  if (d != DType::i64 && d != DType::i32 && d != DType::u8)
    fail("CharCorpus::decode: ids must be an integer tensor, got ",
         dtype_name(d), " ", shape_str(ids.shape()));
  std::string out;
  for (int64_t i : ids.to_vector<int64_t>())
    out += byte(i);
  return out;
}

std::vector<std::pair<Tensor, Tensor>>
CharCorpus::batches(int64_t batch, int64_t seqlen) const {
  if (batch <= 0 || seqlen <= 0)
    fail("CharCorpus::batches: batch ", batch, " and seqlen ", seqlen,
         " must be positive");
  const int64_t n = size();
  const int64_t L = (n - 1) / batch; // stream length (inputs)
  const int64_t nb = L / seqlen;
  if (nb == 0)
    fail("CharCorpus::batches: the text has ", n,
         " characters, fewer than batch*seqlen+1 = ", batch * seqlen + 1);
  std::vector<int64_t> ids(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    ids[i] = ids_[static_cast<unsigned char>(text_[i])];
  std::vector<std::pair<Tensor, Tensor>> out;
  out.reserve(static_cast<size_t>(nb));
  std::vector<int64_t> x(batch * seqlen), y(batch * seqlen);
  for (int64_t k = 0; k < nb; ++k) {
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t t = 0; t < seqlen; ++t) {
        int64_t at = b * L + k * seqlen + t;
        x[b * seqlen + t] = ids[at];
        y[b * seqlen + t] = ids[at + 1];
      }
    out.emplace_back(Tensor::from(x, {batch, seqlen}),
                     Tensor::from(y, {batch, seqlen}));
  }
  return out;
}

} // namespace knet
