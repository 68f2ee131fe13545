// safetensors io: round trips of every dtype, a file built by hand from the
// format's spec, rejection of corrupt files, atomic writes, and models.
#include "test_util.h"

#include <knet/io.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <stdlib.h>

using namespace knet;
namespace fs = std::filesystem;

namespace {

class Safetensors : public ::testing::Test {
protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "knet-io-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string &name) const {
    return (fs::path(dir_) / name).string();
  }
  std::vector<std::string> listing() const {
    std::vector<std::string> names;
    for (const auto &e : fs::directory_iterator(dir_))
      names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }
  std::string dir_;
};

std::string read_bytes(const std::string &p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_bytes(const std::string &p, const std::string &bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Little-endian encodings, written out byte by byte from the spec.
std::string le64(uint64_t v) {
  std::string s;
  for (int k = 0; k < 8; ++k)
    s += static_cast<char>((v >> (8 * k)) & 0xFF);
  return s;
}
std::string le32(uint32_t v) {
  std::string s;
  for (int k = 0; k < 4; ++k)
    s += static_cast<char>((v >> (8 * k)) & 0xFF);
  return s;
}
std::string f32le(float f) { return le32(std::bit_cast<uint32_t>(f)); }
std::string f64le(double d) { return le64(std::bit_cast<uint64_t>(d)); }

// A file: header length, the header text as given, then `data`.
std::string st_file(const std::string &header, const std::string &data) {
  return le64(header.size()) + header + data;
}

// The contiguous bytes of a CPU tensor.
std::string raw(const Tensor &t) {
  Tensor c = t.contiguous();
  return std::string(static_cast<const char *>(c.data_ptr()),
                     static_cast<size_t>(c.numel()) * dtype_size(c.dtype()));
}

// A tensor of `dtype` and `shape` with varied values (incl. special floats).
Tensor sample(DType dtype, const Shape &shape, int seed) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  switch (dtype) {
  case DType::f32: {
    std::vector<float> v(n);
    for (int64_t i = 0; i < n; ++i)
      v[i] = static_cast<float>((i * 37 + seed) % 101) / 7.0f - 5.0f;
    const float special[] = {std::numeric_limits<float>::infinity(), -0.0f,
                             std::numeric_limits<float>::quiet_NaN(),
                             std::numeric_limits<float>::denorm_min()};
    for (int64_t i = 0; i < n && i < 4; ++i)
      v[i] = special[i];
    return Tensor::from(v, shape);
  }
  case DType::f64: {
    std::vector<double> v(n);
    for (int64_t i = 0; i < n; ++i)
      v[i] = std::sin(double(i + seed)) * 1e10;
    if (n > 1)
      v[1] = -std::numeric_limits<double>::infinity();
    return Tensor::from(v, shape);
  }
  case DType::i32: {
    std::vector<int32_t> v(n);
    for (int64_t i = 0; i < n; ++i)
      v[i] = static_cast<int32_t>((i * 2654435761u + seed) & 0x7fffffff) *
             (i % 2 ? -1 : 1);
    return Tensor::from(v, shape);
  }
  case DType::i64: {
    std::vector<int64_t> v(n);
    for (int64_t i = 0; i < n; ++i)
      v[i] = (int64_t(1) << 40) * (i - 3) + seed;
    return Tensor::from(v, shape);
  }
  case DType::u8: {
    std::vector<uint8_t> v(n);
    for (int64_t i = 0; i < n; ++i)
      v[i] = static_cast<uint8_t>(i * 31 + seed);
    return Tensor::from(v, shape);
  }
  case DType::b8: {
    std::unique_ptr<bool[]> v(new bool[n > 0 ? n : 1]);
    for (int64_t i = 0; i < n; ++i)
      v[i] = (i * 7 + seed) % 3 == 0;
    return Tensor::from(std::span<const bool>(v.get(), n), shape);
  }
  default:
    break;
  }
  ADD_FAILURE() << "no sample for dtype";
  return {};
}

// load(path) must throw a knet::Error whose message names the path and
// contains `what`.
::testing::AssertionResult rejects(const std::string &p,
                                   const std::string &what) {
  try {
    load(p);
  } catch (const Error &e) {
    std::string m = e.what();
    if (m.find(p) == std::string::npos)
      return ::testing::AssertionFailure() << "message lacks the path: " << m;
    if (m.find(what) == std::string::npos)
      return ::testing::AssertionFailure()
             << "message lacks \"" << what << "\": " << m;
    return ::testing::AssertionSuccess();
  } catch (const std::exception &e) {
    return ::testing::AssertionFailure()
           << "threw a non-knet exception: " << e.what();
  }
  return ::testing::AssertionFailure() << "load accepted " << p;
}

const DType all_dtypes[] = {DType::f32, DType::f64, DType::i32,
                            DType::i64, DType::u8,  DType::b8};

} // namespace

TEST_F(Safetensors, RoundTripEveryDtypeAndShape) {
  const std::vector<Shape> shapes = {{}, {0}, {1}, {7}, {3, 0, 2}, {2, 3, 4}};
  NamedTensors ts;
  int seed = 0;
  for (DType d : all_dtypes)
    for (const Shape &s : shapes)
      ts.emplace_back(std::string(dtype_name(d)) + "/" + shape_str(s),
                      sample(d, s, ++seed));
  const std::string p = path("all.safetensors");
  save(p, ts, {{"framework", "knet"}, {"weird \"key\"\n", "é ü \\ /"}});
  std::map<std::string, Tensor> got = load(p);
  ASSERT_EQ(got.size(), ts.size());
  for (const auto &[name, t] : ts) {
    ASSERT_TRUE(got.count(name)) << name;
    const Tensor &g = got.at(name);
    EXPECT_EQ(g.dtype(), t.dtype()) << name;
    EXPECT_EQ(g.shape(), t.shape()) << name;
    EXPECT_EQ(g.device(), Device{}) << name;
    EXPECT_EQ(raw(g), raw(t)) << name; // bit-exact, NaN and -0 included
  }
  Metadata m = load_metadata(p);
  EXPECT_EQ(m.size(), 2u);
  EXPECT_EQ(m["framework"], "knet");
  EXPECT_EQ(m["weird \"key\"\n"], "é ü \\ /");
}

TEST_F(Safetensors, MapOverloadAndNonContiguousViews) {
  Tensor base = sample(DType::f64, {4, 6}, 3);
  Tensor tr = base.transpose(0, 1);                      // [6,4] strided
  Tensor sl = base.slice(1, 1, 6, 2);                    // [4,3] step 2
  Tensor ex = sample(DType::i32, {3}, 1).expand({2, 3}); // stride 0
  ASSERT_FALSE(tr.is_contiguous());
  std::map<std::string, Tensor> in = {{"t", tr}, {"s", sl}, {"e", ex}};
  const std::string p = path("views.safetensors");
  save(p, in);
  auto got = load(p);
  for (const auto &[name, t] : in) {
    EXPECT_EQ(got.at(name).shape(), t.shape());
    // Reference: element by element through the view's own indexing.
    std::vector<double> want;
    for (int64_t i = 0; i < t.size(0); ++i)
      for (int64_t j = 0; j < t.size(1); ++j)
        want.push_back(t.select(0, i).select(0, j).item<double>());
    EXPECT_EQ(got.at(name).to_vector<double>(), want) << name;
  }
}

TEST_F(Safetensors, WrittenFileFollowsTheSpec) {
  // Read back our own output with the spec alone (no knet::load).
  const std::string p = path("spec.safetensors");
  NamedTensors ts = {
      {"a", Tensor::from<float>({1.5f, -2.0f}, {2})},
      {"b", Tensor::from<int64_t>({7, -1, 1099511627776}, {3, 1})}};
  save(p, ts);
  std::string bytes = read_bytes(p);
  ASSERT_GE(bytes.size(), 8u);
  uint64_t n = 0;
  for (int k = 7; k >= 0; --k)
    n = (n << 8) | static_cast<unsigned char>(bytes[k]);
  EXPECT_EQ(n % 8, 0u) << "header padded to 8 bytes";
  ASSERT_EQ(bytes.size(), 8 + n + 8 + 24);
  std::string header = bytes.substr(8, n);
  EXPECT_EQ(header.front(), '{');
  EXPECT_NE(
      header.find(R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})"),
      std::string::npos)
      << header;
  EXPECT_NE(
      header.find(R"("b":{"dtype":"I64","shape":[3,1],"data_offsets":[8,32]})"),
      std::string::npos)
      << header;
  EXPECT_EQ(header.find_first_not_of(' ', header.rfind('}') + 1),
            std::string::npos)
      << "only spaces pad the header";
  std::string data = bytes.substr(8 + n);
  EXPECT_EQ(data, f32le(1.5f) + f32le(-2.0f) + le64(7) + le64(uint64_t(-1)) +
                      le64(uint64_t(1) << 40));
}

TEST_F(Safetensors, LoadsAFileBuiltByHand) {
  // Tensors stored out of name order, whitespace everywhere, escapes in
  // metadata, keys in unusual order, a scalar and an empty tensor.
  std::string header =
      "  {\n \"__metadata__\" : { \"format\" : \"pt\", \"note\": "
      "\"a \\\"q\\\" \\u00e9 \\ud83d\\ude00\\n\" } ,\n"
      "  \"w\" : {\"dtype\" : \"F32\", \"shape\" : [ 2 , 2 ],"
      " \"data_offsets\" : [ 0 , 16 ] },\n"
      "  \"b\": { \"shape\": [3], \"data_offsets\": [16, 40], \"dtype\": "
      "\"I64\" },\n"
      "  \"s\": {\"data_offsets\":[40,48],\"dtype\":\"F64\",\"shape\":[]},\n"
      "  \"e\": {\"dtype\":\"U8\",\"shape\":[0, 5],\"data_offsets\":[48,48]},\n"
      "  \"m\": {\"dtype\":\"BOOL\",\"shape\":[3],\"data_offsets\":[48,51]},\n"
      "  \"i\": {\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[51,55]}\n"
      "}   ";
  std::string data = f32le(1.5f) + f32le(-2.0f) + f32le(0.25f) + f32le(3.0f) +
                     le64(1) + le64(uint64_t(-5)) + le64(uint64_t(1) << 50) +
                     f64le(-0.125) + std::string("\x01\x00\x01", 3) +
                     le32(uint32_t(-7));
  const std::string p = path("hand.safetensors");
  write_bytes(p, st_file(header, data));
  auto got = load(p);
  ASSERT_EQ(got.size(), 6u);
  EXPECT_EQ(got["w"].dtype(), DType::f32);
  EXPECT_EQ(got["w"].shape(), (Shape{2, 2}));
  EXPECT_EQ(got["w"].to_vector<float>(),
            (std::vector<float>{1.5f, -2.0f, 0.25f, 3.0f}));
  EXPECT_EQ(got["b"].dtype(), DType::i64);
  EXPECT_EQ(got["b"].to_vector<int64_t>(),
            (std::vector<int64_t>{1, -5, int64_t(1) << 50}));
  EXPECT_EQ(got["s"].dtype(), DType::f64);
  EXPECT_EQ(got["s"].rank(), 0);
  EXPECT_EQ(got["s"].item<double>(), -0.125);
  EXPECT_EQ(got["e"].dtype(), DType::u8);
  EXPECT_EQ(got["e"].shape(), (Shape{0, 5}));
  EXPECT_EQ(got["m"].dtype(), DType::b8);
  EXPECT_EQ(got["m"].to_vector<bool>(), (std::vector<bool>{true, false, true}));
  EXPECT_EQ(got["i"].dtype(), DType::i32);
  EXPECT_EQ(got["i"].item<int32_t>(), -7);
  Metadata m = load_metadata(p);
  EXPECT_EQ(m.size(), 2u);
  EXPECT_EQ(m["format"], "pt");
  EXPECT_EQ(m["note"], "a \"q\" \xc3\xa9 \xf0\x9f\x98\x80\n");
}

TEST_F(Safetensors, RejectsMissingAndTruncatedFiles) {
  EXPECT_TRUE(rejects(path("nope.safetensors"), "No such file"));
  const std::string good = path("good.safetensors");
  save(good, NamedTensors{{"x", sample(DType::f32, {3, 4}, 1)},
                          {"y", sample(DType::i64, {5}, 2)}});
  std::string bytes = read_bytes(good);
  uint64_t n = 0;
  for (int k = 7; k >= 0; --k)
    n = (n << 8) | static_cast<unsigned char>(bytes[k]);
  ASSERT_EQ(bytes.size(), 8 + n + 48 + 40);
  const size_t cuts[] = {0,
                         3,
                         7,
                         8,
                         9,
                         8 + n / 2,
                         8 + n - 1,
                         8 + n,
                         8 + n + 1,
                         8 + n + 48,
                         bytes.size() - 1};
  for (size_t cut : cuts) {
    const std::string p = path("cut" + std::to_string(cut));
    write_bytes(p, bytes.substr(0, cut));
    const char *what = cut < 8       ? "truncated"
                       : cut < 8 + n ? "exceeds the file size"
                                     : "beyond the data buffer";
    EXPECT_TRUE(rejects(p, what)) << "cut at " << cut;
  }
  // One byte too many is just as wrong.
  write_bytes(path("long"), bytes + "x");
  EXPECT_TRUE(rejects(path("long"), "trailing bytes"));
}

TEST_F(Safetensors, RejectsBadHeaders) {
  struct Case {
    const char *name, *header, *what;
    std::string data;
  };
  const std::string d8(8, '\0');
  const std::vector<Case> cases = {
      {"garbage", "\x01\x02garbage!", "malformed", d8},
      {"notobject", "[1,2]", "not a JSON object", d8},
      {"unterminated", R"({"x":{"dtype":"U8","shape":[8],"data_offsets":[0,8])",
       "malformed", d8},
      {"trailingcomma",
       R"({"x":{"dtype":"U8","shape":[8],"data_offsets":[0,8]},})", "malformed",
       d8},
      {"extratext",
       R"({"x":{"dtype":"U8","shape":[8],"data_offsets":[0,8]}} x)",
       "malformed", d8},
      {"badescape",
       R"({"x\q":{"dtype":"U8","shape":[8],"data_offsets":[0,8]}})",
       "malformed", d8},
      {"unknowndtype",
       R"({"x":{"dtype":"Q7","shape":[8],"data_offsets":[0,8]}})",
       "unknown dtype \"Q7\"", d8},
      {"f16", R"({"x":{"dtype":"F16","shape":[4],"data_offsets":[0,8]}})",
       "F16 is not supported", d8},
      {"sizemismatch",
       R"({"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", "needs 12",
       d8},
      {"endbeforebegin",
       R"({"x":{"dtype":"U8","shape":[0],"data_offsets":[8,0]}})",
       "end before begin", d8},
      {"outofbounds",
       R"({"x":{"dtype":"U8","shape":[8],"data_offsets":[4,12]}})",
       "beyond the data buffer", d8},
      {"hugeoffsets",
       R"({"x":{"dtype":"U8","shape":[8],"data_offsets":[18446744073709551610,18446744073709551618]}})",
       "non-negative integers", d8},
      {"overflowshape",
       R"({"x":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,8]}})",
       "more than 2^64", d8},
      {"overlap",
       R"({"x":{"dtype":"U8","shape":[6],"data_offsets":[0,6]},"y":{"dtype":"U8","shape":[4],"data_offsets":[4,8]}})",
       "overlap", d8},
      {"hole",
       R"({"x":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"y":{"dtype":"U8","shape":[4],"data_offsets":[4,8]}})",
       "hole", d8},
      {"uncovered", R"({"x":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}})",
       "trailing bytes", d8},
      {"duplicate",
       R"({"x":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"x":{"dtype":"U8","shape":[4],"data_offsets":[4,8]}})",
       "duplicate tensor name \"x\"", d8},
      {"negativedim",
       R"({"x":{"dtype":"U8","shape":[-8],"data_offsets":[0,8]}})",
       "non-negative integers", d8},
      {"fractional",
       R"({"x":{"dtype":"U8","shape":[8.0],"data_offsets":[0,8]}})",
       "non-negative integers", d8},
      {"missingkey", R"({"x":{"dtype":"U8","shape":[8]}})",
       "missing data_offsets", d8},
      {"extrakey",
       R"({"x":{"dtype":"U8","shape":[8],"data_offsets":[0,8],"z":1}})",
       "unexpected key \"z\"", d8},
      {"threeoffsets",
       R"({"x":{"dtype":"U8","shape":[8],"data_offsets":[0,4,8]}})",
       "data_offsets is not an array", d8},
      {"metanotstring",
       R"({"__metadata__":{"a":1},"x":{"dtype":"U8","shape":[8],"data_offsets":[0,8]}})",
       "is not a string", d8},
      {"boolbyte", R"({"x":{"dtype":"BOOL","shape":[8],"data_offsets":[0,8]}})",
       "holds byte 2", std::string("\x01\x00\x02\x00\x00\x00\x00\x00", 8)},
      {"deep", "", "nesting deeper", d8},
  };
  for (const Case &c : cases) {
    std::string header = c.header;
    if (std::string(c.name) == "deep")
      header = "{\"x\":" + std::string(200, '[') + std::string(200, ']') + "}";
    const std::string p = path(c.name);
    write_bytes(p, st_file(header, c.data));
    EXPECT_TRUE(rejects(p, c.what)) << c.name;
  }
  // A header length that lies: larger than the file, or so large that
  // adding 8 wraps around.
  std::string body = R"({"x":{"dtype":"U8","shape":[8],"data_offsets":[0,8]}})";
  write_bytes(path("lie1"), le64(body.size() + 100) + body + d8);
  EXPECT_TRUE(rejects(path("lie1"), "exceeds the file size"));
  write_bytes(path("lie2"), le64(~uint64_t(0)) + body + d8);
  EXPECT_TRUE(rejects(path("lie2"), "exceeds the file size"));
  // Shorter than the JSON: the header is cut mid-way.
  write_bytes(path("lie3"), le64(body.size() - 5) + body + d8);
  EXPECT_TRUE(rejects(path("lie3"), "malformed"));
  // The sanity of the control: the same body with the true length loads.
  write_bytes(path("ok"), le64(body.size()) + body + d8);
  EXPECT_EQ(load(path("ok")).at("x").numel(), 8);
}

TEST_F(Safetensors, AtomicWriteLeavesNoTempFile) {
  const std::string p = path("model.safetensors");
  save(p, NamedTensors{{"a", sample(DType::f32, {10}, 1)}});
  EXPECT_EQ(listing(), std::vector<std::string>{"model.safetensors"});
  // Overwrite: the new content replaces the old, still no leftovers.
  save(p, {{"b", sample(DType::i32, {3}, 2)}}); // a braced list works
  EXPECT_EQ(listing(), std::vector<std::string>{"model.safetensors"});
  auto got = load(p);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(got.count("b"));
  // A save that fails before writing leaves the old file as it was.
  std::string before = read_bytes(p);
  EXPECT_THROW(save(p, NamedTensors{{"x", sample(DType::f32, {2}, 1)},
                                    {"x", sample(DType::f32, {2}, 2)}}),
               Error);
  EXPECT_THROW(save(p, NamedTensors{{"", sample(DType::f32, {2}, 1)}}), Error);
  EXPECT_THROW(
      save(p, NamedTensors{{"__metadata__", sample(DType::u8, {2}, 1)}}),
      Error);
  EXPECT_THROW(save(p, NamedTensors{{"u", Tensor()}}), Error);
  EXPECT_EQ(read_bytes(p), before);
  EXPECT_EQ(listing(), std::vector<std::string>{"model.safetensors"});
  // A folder that does not exist: an error naming the temp path.
  try {
    save(path("no/such/dir/m.safetensors"),
         NamedTensors{{"a", sample(DType::f32, {1}, 1)}});
    ADD_FAILURE() << "save into a missing folder succeeded";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("no/such/dir/m.safetensors.tmp."),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(listing(), std::vector<std::string>{"model.safetensors"});
}

namespace {
struct Mlp {
  Param w1{sample(DType::f32, {4, 3}, 1), "w1"};
  Param b1{sample(DType::f32, {4}, 2), "b1"};
  Param w2{sample(DType::f64, {2, 4}, 3)}; // unnamed: "param2"
  std::vector<Param> params() const { return {w1, b1, w2}; }
};
} // namespace

TEST_F(Safetensors, ModelsSaveAndLoadByName) {
  Mlp a, b;
  b.w1.value() = Tensor::zeros({4, 3});
  b.b1.value() = Tensor::zeros({4});
  b.w2.value() = Tensor::zeros({2, 4}, DType::f64);
  const std::string p = path("mlp.safetensors");
  save(p, a);
  auto stored = load(p);
  EXPECT_EQ(stored.size(), 3u);
  EXPECT_TRUE(stored.count("w1") && stored.count("b1") &&
              stored.count("param2"));
  load_into(p, b);
  EXPECT_EQ(raw(b.w1.value()), raw(a.w1.value()));
  EXPECT_EQ(raw(b.b1.value()), raw(a.b1.value()));
  EXPECT_EQ(raw(b.w2.value()), raw(a.w2.value()));
  EXPECT_FALSE(b.w1.value().shares_storage(a.w1.value()));

  // The loaded values are the Params' own: gradients reach them.
  Tape t = diff([&] { return sum(b.w1.value() * 2.0f); });
  ASSERT_TRUE(t.grad(b.w1).defined());

  // Mismatches: nothing changes.
  std::vector<Param> wrong_shape = {Param(Tensor::zeros({3, 4}), "w1"),
                                    Param(Tensor::zeros({4}), "b1"),
                                    Param(Tensor::zeros({2, 4}, DType::f64))};
  try {
    load_into(p, wrong_shape);
    ADD_FAILURE() << "accepted a wrong shape";
  } catch (const Error &e) {
    std::string m = e.what();
    EXPECT_NE(m.find(p), std::string::npos) << m;
    EXPECT_NE(m.find("[4,3]"), std::string::npos) << m;
  }
  EXPECT_EQ(wrong_shape[1].value().to_vector<float>(),
            std::vector<float>(4, 0.0f));
  std::vector<Param> wrong_dtype = {Param(Tensor::zeros({4, 3}), "w1"),
                                    Param(Tensor::zeros({4}), "b1"),
                                    Param(Tensor::zeros({2, 4}))};
  EXPECT_THROW(load_into(p, wrong_dtype), Error);
  std::vector<Param> missing = {Param(Tensor::zeros({4, 3}), "w1"),
                                Param(Tensor::zeros({4}), "bias"),
                                Param(Tensor::zeros({2, 4}, DType::f64))};
  EXPECT_THROW(load_into(p, missing), Error);
  std::vector<Param> fewer = {Param(Tensor::zeros({4, 3}), "w1")};
  EXPECT_THROW(load_into(p, fewer), Error); // the file holds more
  std::vector<Param> twins = {Param(Tensor::zeros({4}), "b1"),
                              Param(Tensor::zeros({4}), "b1")};
  EXPECT_THROW(save(p + "2", twins), Error);
}
