// Data sets: MNIST (the bundled subset, checked against an independent
// gunzip), read_table, CharCorpus batching, data_dir.
#include "test_util.h"

#include <knet/data.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <stdlib.h>
#include <vector>

using namespace knet;
namespace fs = std::filesystem;

namespace {

class Data : public ::testing::Test {
protected:
  void SetUp() override {
    std::string tmpl =
        (fs::temp_directory_path() / "knet-data-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    // The tests read the bundled subset even where KNET_DATA_DIR points at
    // the full data sets.
    if (const char *d = std::getenv("KNET_DATA_DIR")) {
      had_data_dir_ = true;
      data_dir_env_ = d;
      unsetenv("KNET_DATA_DIR");
    }
  }
  void TearDown() override {
    fs::remove_all(dir_);
    if (had_data_dir_)
      setenv("KNET_DATA_DIR", data_dir_env_.c_str(), 1);
    else
      unsetenv("KNET_DATA_DIR");
  }
  std::string path(const std::string &name) const {
    return (fs::path(dir_) / name).string();
  }
  std::string dir_;
  bool had_data_dir_ = false;
  std::string data_dir_env_;
};

void write_text(const std::string &p, const std::string &s) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << s;
}

std::string read_text(const std::string &p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The decompressed bytes of a .gz file, by the gzip tool (independent of
// the runtime's zlib code).
std::string gunzip(const std::string &p) {
  std::string cmd = "gzip -dc '" + p + "'";
  FILE *f = popen(cmd.c_str(), "r");
  if (!f)
    return {};
  std::string out;
  char buf[1 << 16];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0)
    out.append(buf, n);
  pclose(f);
  return out;
}

uint32_t be32(const std::string &s, size_t at) {
  auto b = [&](size_t i) { return uint32_t(static_cast<unsigned char>(s[i])); };
  return (b(at) << 24) | (b(at + 1) << 16) | (b(at + 2) << 8) | b(at + 3);
}

std::string be32s(uint32_t v) {
  std::string s;
  for (int k = 3; k >= 0; --k)
    s += static_cast<char>((v >> (8 * k)) & 0xFF);
  return s;
}

// Message of the knet::Error that f throws ("" when none).
template <class F> std::string error_of(F f) {
  try {
    f();
  } catch (const Error &e) {
    return e.what();
  }
  return "";
}

const char *mnist_names[] = {
    "train-images-idx3-ubyte", "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};

} // namespace

TEST_F(Data, MnistBundledSubset) {
  const std::string dir = data_dir("mnist");
  Mnist m = mnist(dir);
  ASSERT_EQ(m.xtrn.shape(), (Shape{6000, 1, 28, 28}));
  ASSERT_EQ(m.ytrn.shape(), (Shape{6000}));
  ASSERT_EQ(m.xtst.shape(), (Shape{1000, 1, 28, 28}));
  ASSERT_EQ(m.ytst.shape(), (Shape{1000}));
  EXPECT_EQ(m.xtrn.dtype(), DType::f32);
  EXPECT_EQ(m.ytrn.dtype(), DType::i64);

  // Independent reference: the raw idx bytes through the gzip tool.
  std::string images = gunzip(dir + "/train-images-idx3-ubyte.gz");
  std::string labels = gunzip(dir + "/train-labels-idx1-ubyte.gz");
  ASSERT_EQ(images.size(), 16u + 6000 * 784) << "gzip -dc failed?";
  ASSERT_EQ(labels.size(), 8u + 6000);
  EXPECT_EQ(be32(images, 0), 2051u);
  EXPECT_EQ(be32(labels, 0), 2049u);
  std::vector<int64_t> y = m.ytrn.to_vector<int64_t>();
  EXPECT_EQ(y[0], static_cast<unsigned char>(labels[8]));
  EXPECT_EQ(y[0], 5); // MNIST's first training digit is a 5
  for (size_t i = 0; i < y.size(); ++i)
    ASSERT_EQ(y[i], static_cast<unsigned char>(labels[8 + i])) << i;
  std::vector<float> x = m.xtrn.to_vector<float>();
  for (size_t i = 0; i < x.size(); ++i)
    ASSERT_FLOAT_EQ(x[i], static_cast<unsigned char>(images[16 + i]) / 255.0f)
        << i;

  // Ranges: labels 0..9 (all present), pixels in [0,1] reaching both ends.
  std::set<int64_t> classes(y.begin(), y.end());
  EXPECT_EQ(classes, (std::set<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  for (int64_t v : m.ytst.to_vector<int64_t>())
    ASSERT_TRUE(v >= 0 && v <= 9);
  auto [lo, hi] = std::minmax_element(x.begin(), x.end());
  EXPECT_EQ(*lo, 0.0f);
  EXPECT_EQ(*hi, 1.0f);
  for (float v : m.xtst.to_vector<float>())
    ASSERT_TRUE(v >= 0.0f && v <= 1.0f);
}

TEST_F(Data, MnistReadsPlainFilesToo) {
  const std::string src = data_dir("mnist");
  std::vector<std::string> raw;
  for (const char *name : mnist_names) {
    raw.push_back(gunzip(src + "/" + name + ".gz"));
    write_text(path(name), raw.back());
  }
  Mnist a = mnist(src), b = mnist(dir_);
  EXPECT_EQ(b.xtrn.to_vector<float>(), a.xtrn.to_vector<float>());
  EXPECT_EQ(b.ytst.to_vector<int64_t>(), a.ytst.to_vector<int64_t>());
  Tensor u = read_idx(path("t10k-labels-idx1-ubyte"));
  EXPECT_EQ(u.dtype(), DType::u8);
  EXPECT_EQ(u.shape(), (Shape{1000}));
  EXPECT_EQ(u.to_vector<uint8_t>()[0], static_cast<unsigned char>(raw[3][8]));
}

TEST_F(Data, MnistRejectsBadFilesNamingThem) {
  const std::string src = data_dir("mnist");
  std::vector<std::string> raw;
  for (const char *name : mnist_names)
    raw.push_back(gunzip(src + "/" + name + ".gz"));
  auto setup = [&] {
    for (size_t i = 0; i < 4; ++i)
      write_text(path(mnist_names[i]), raw[i]);
  };
  auto expect = [&](const char *file, const char *what) {
    std::string m = error_of([&] { mnist(dir_); });
    EXPECT_NE(m.find(path(file)), std::string::npos) << m;
    EXPECT_NE(m.find(what), std::string::npos) << m;
    setup();
  };
  setup();
  // Labels file where images should be (magic 2049, not 2051).
  write_text(path("train-images-idx3-ubyte"), raw[1]);
  expect("train-images-idx3-ubyte", "bad magic number 0x801");
  write_text(path("t10k-labels-idx1-ubyte"), "\x12\x34\x08\x01" + raw[3]);
  expect("t10k-labels-idx1-ubyte", "bad magic number");
  write_text(path("train-images-idx3-ubyte"), raw[0].substr(0, 16 + 784 * 3));
  expect("train-images-idx3-ubyte", "truncated");
  write_text(path("train-images-idx3-ubyte"), raw[0].substr(0, 10));
  expect("train-images-idx3-ubyte", "truncated");
  write_text(path("train-labels-idx1-ubyte"), raw[1] + "xy");
  expect("train-labels-idx1-ubyte", "trailing bytes");
  // 999 labels for 1000 images.
  write_text(path("t10k-labels-idx1-ubyte"),
             raw[3].substr(0, 4) + be32s(999) + raw[3].substr(8, 999));
  expect("t10k-labels-idx1-ubyte", "999 labels");
  std::string bad = raw[1];
  bad[8 + 17] = 10;
  write_text(path("train-labels-idx1-ubyte"), bad);
  expect("train-labels-idx1-ubyte", "label 10 at index 17");
  fs::remove(path("t10k-images-idx3-ubyte"));
  expect("t10k-images-idx3-ubyte", "missing");
  // A gzip stream cut in half.
  fs::remove(path("t10k-labels-idx1-ubyte"));
  std::string gz = read_text(src + "/t10k-labels-idx1-ubyte.gz");
  write_text(path("t10k-labels-idx1-ubyte.gz"), gz.substr(0, gz.size() / 2));
  std::string m = error_of([&] { mnist(dir_); });
  EXPECT_NE(m.find(path("t10k-labels-idx1-ubyte.gz")), std::string::npos) << m;
}

// An idx file gzip'ed by the gzip tool: `header` then `zeros` zero bytes.
void write_gz_idx(const std::string &path, const std::string &header,
                  size_t zeros) {
  std::string cmd = "gzip -1 -c > '" + path + "'";
  FILE *f = popen(cmd.c_str(), "w");
  ASSERT_NE(f, nullptr);
  fwrite(header.data(), 1, header.size(), f);
  std::vector<char> z(1 << 20);
  for (size_t left = zeros; left;) {
    size_t k = std::min(left, z.size());
    fwrite(z.data(), 1, k, f);
    left -= k;
  }
  ASSERT_EQ(pclose(f), 0);
}

TEST_F(Data, IdxReadsOnlyWhatItsHeaderClaims) {
  // A gzip bomb: 1000 labels then 256 MB of zeros (256 KB on disk). The
  // reader stops at the first byte past the labels, naming its offset.
  write_gz_idx(path("bomb.gz"),
               std::string("\x00\x00\x08\x01", 4) + be32s(1000),
               size_t(256) << 20);
  std::string m = error_of([&] { read_idx(path("bomb.gz")); });
  EXPECT_NE(m.find(path("bomb.gz")), std::string::npos) << m;
  EXPECT_NE(m.find("trailing bytes from byte 1008 after the [1000] data"),
            std::string::npos)
      << m;
  // A header claiming 2^40 bytes over 1 MB of data: truncated at the
  // file's real end (memory follows the data, not the claim).
  write_gz_idx(path("claims.gz"),
               std::string("\x00\x00\x08\x02", 4) + be32s(1u << 20) +
                   be32s(1u << 20),
               size_t(1) << 20);
  m = error_of([&] { read_idx(path("claims.gz")); });
  EXPECT_NE(m.find("truncated: dimensions [1048576,1048576] need "
                   "1099511627776 bytes of data after the 12-byte header, "
                   "the file ends at byte 1048588"),
            std::string::npos)
      << m;
  // Too short for its header.
  write_text(path("short"), std::string("\x00\x00\x08\x03", 4) + be32s(7));
  m = error_of([&] { read_idx(path("short")); });
  EXPECT_NE(m.find("truncated idx header: 3 dimensions need 16 bytes, the "
                   "file has 8"),
            std::string::npos)
      << m;
}

TEST_F(Data, ReadTableCsvAndWhitespace) {
  write_text(path("a.csv"), "x,y,z\n1, 2.5 ,-3\n\n# comment\n4e2,+5,0.125\r\n"
                            "-0.5,6,7\n");
  Tensor t = read_table(path("a.csv"), 1);
  EXPECT_EQ(t.dtype(), DType::f64);
  ASSERT_EQ(t.shape(), (Shape{3, 3}));
  EXPECT_EQ(t.to_vector<double>(),
            (std::vector<double>{1, 2.5, -3, 400, 5, 0.125, -0.5, 6, 7}));

  write_text(path("b.txt"), "  1 2\t3 \n\t4    5 6\n");
  Tensor w = read_table(path("b.txt"));
  ASSERT_EQ(w.shape(), (Shape{2, 3}));
  EXPECT_EQ(w.to_vector<double>(), (std::vector<double>{1, 2, 3, 4, 5, 6}));

  write_text(path("ragged.txt"), "1 2 3\n4 5 6\n\n7 8\n");
  std::string m = error_of([&] { read_table(path("ragged.txt")); });
  EXPECT_NE(m.find(path("ragged.txt") + ":4"), std::string::npos) << m;
  EXPECT_NE(m.find("2 fields, expected 3"), std::string::npos) << m;

  m = error_of([&] { read_table(path("a.csv")); }); // header not skipped
  EXPECT_NE(m.find(path("a.csv") + ":1: \"x\" is not a number"),
            std::string::npos)
      << m;
  write_text(path("empty-field.csv"), "1,,3\n");
  m = error_of([&] { read_table(path("empty-field.csv")); });
  EXPECT_NE(m.find("empty field 2"), std::string::npos) << m;
  m = error_of([&] { read_table(path("missing.txt")); });
  EXPECT_NE(m.find(path("missing.txt")), std::string::npos) << m;
}

TEST_F(Data, ReadTableBundledBoston) {
  const std::string p = data_dir("boston") + "/housing.data";
  Tensor t = read_table(p);
  ASSERT_EQ(t.shape(), (Shape{400, 14}));
  // Reference: the first and last lines parsed with strtod.
  std::ifstream in(p);
  std::string first, line, last;
  std::getline(in, first);
  while (std::getline(in, line))
    if (!line.empty())
      last = line;
  auto parse = [](const std::string &s) {
    std::vector<double> v;
    const char *c = s.c_str();
    char *end;
    for (double x = std::strtod(c, &end); end != c;
         c = end, x = std::strtod(c, &end))
      v.push_back(x);
    return v;
  };
  std::vector<double> all = t.to_vector<double>();
  EXPECT_EQ(std::vector<double>(all.begin(), all.begin() + 14), parse(first));
  EXPECT_EQ(std::vector<double>(all.end() - 14, all.end()), parse(last));
}

TEST_F(Data, CharCorpusVocabularyAndCoding) {
  CharCorpus c = CharCorpus::from_string("hello, world\n");
  EXPECT_EQ(c.vocab(), std::string("\n ,dehlorw"));
  EXPECT_EQ(c.vocab_size(), 10u);
  EXPECT_EQ(c.size(), 13);
  Tensor ids = c.encode("lower");
  EXPECT_EQ(ids.dtype(), DType::i64);
  EXPECT_EQ(ids.to_vector<int64_t>(), (std::vector<int64_t>{6, 7, 9, 4, 8}));
  EXPECT_EQ(c.decode(ids), "lower");
  EXPECT_EQ(c.decode(c.encode()), c.text());
  EXPECT_EQ(c.decode(ids.to(DType::i32).reshape({5, 1})), "lower");
  EXPECT_THROW(c.encode("hex"), Error);
  EXPECT_THROW(c.decode(Tensor::from<int64_t>({10}, {1})), Error);
  EXPECT_THROW(c.decode(Tensor::from<float>({1}, {1})), Error);
  EXPECT_THROW(CharCorpus::from_string(""), Error);
  std::string m = error_of([&] { CharCorpus(path("none.txt")); });
  EXPECT_NE(m.find(path("none.txt")), std::string::npos) << m;
}

TEST_F(Data, CharCorpusBatchesAreShiftedParallelStreams) {
  std::string text;
  for (int i = 0; i < 1000; ++i)
    text += static_cast<char>('a' + (i * 7 + i / 13) % 26);
  write_text(path("t.txt"), text);
  CharCorpus c(path("t.txt"));
  EXPECT_EQ(c.text(), text);
  const int64_t B = 4, T = 7;
  auto bs = c.batches(B, T);
  const int64_t L = (1000 - 1) / B; // 249 characters per stream
  ASSERT_EQ(static_cast<int64_t>(bs.size()), L / T);
  std::vector<int64_t> ids = c.encode(text).to_vector<int64_t>();
  for (size_t k = 0; k < bs.size(); ++k) {
    const auto &[x, y] = bs[k];
    ASSERT_EQ(x.shape(), (Shape{B, T}));
    ASSERT_EQ(y.shape(), (Shape{B, T}));
    ASSERT_EQ(x.dtype(), DType::i64);
    std::vector<int64_t> xv = x.to_vector<int64_t>(),
                         yv = y.to_vector<int64_t>();
    for (int64_t b = 0; b < B; ++b)
      for (int64_t t = 0; t < T; ++t) {
        int64_t at = b * L + int64_t(k) * T + t;
        ASSERT_EQ(xv[b * T + t], ids[at]);
        ASSERT_EQ(yv[b * T + t], ids[at + 1]); // target = input shifted
        if (t + 1 < T) {
          ASSERT_EQ(yv[b * T + t], xv[b * T + t + 1]);
        }
      }
    // Each stream continues where the previous batch stopped.
    if (k + 1 < bs.size()) {
      std::vector<int64_t> next = bs[k + 1].first.to_vector<int64_t>();
      for (int64_t b = 0; b < B; ++b)
        ASSERT_EQ(yv[b * T + T - 1], next[b * T]);
    }
  }
  EXPECT_THROW(c.batches(0, 5), Error);
  EXPECT_THROW(c.batches(4, -1), Error);
  EXPECT_THROW(c.batches(100, 10), Error); // 1000 chars < 100*10+1
  EXPECT_EQ(c.batches(999, 1).size(), 1u); // exactly enough
}

TEST_F(Data, CharCorpusBundledShakespeare) {
  CharCorpus c(data_dir("tinyshakespeare") + "/input.txt");
  EXPECT_EQ(c.size(), 100000);
  EXPECT_GT(c.vocab_size(), 50u);
  EXPECT_LE(c.vocab_size(), 65u);
  auto bs = c.batches(32, 100);
  EXPECT_EQ(bs.size(), size_t((100000 - 1) / 32 / 100));
  EXPECT_EQ(c.decode(bs[0].first.select(0, 0)), c.text().substr(0, 100));
}

TEST_F(Data, DataDirLookupOrder) {
  fs::create_directory(path("mnist"));
  setenv("KNET_DATA_DIR", dir_.c_str(), 1);
  EXPECT_EQ(fs::path(data_dir("mnist")), fs::path(dir_) / "mnist");
  std::string m = error_of([] { data_dir("boston"); }); // no fallback
  EXPECT_NE(m.find("KNET_DATA_DIR"), std::string::npos) << m;
  unsetenv("KNET_DATA_DIR");
  std::string d = data_dir("mnist"); // the bundled subset
  EXPECT_TRUE(fs::exists(fs::path(d) / "train-labels-idx1-ubyte.gz")) << d;
  EXPECT_EQ(fs::path(d).parent_path().filename(), "data");
  m = error_of([] { data_dir("no-such-data-set"); });
  EXPECT_NE(m.find("no-such-data-set"), std::string::npos) << m;
}
