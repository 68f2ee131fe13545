// The safetensors format: an 8-byte little-endian header length N, N bytes
// of JSON header, then the tensors' bytes. A small JSON reader and writer
// live here (the header is the only JSON the runtime reads).
#include <knet/io.h>

#include "core/tensor_impl.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <limits>
#include <set>
#include <sys/stat.h>
#include <unistd.h>

namespace knet {

using detail::fail;

namespace {

static_assert(std::endian::native == std::endian::little,
              "safetensors io assumes a little-endian host");

// The reference implementation's limit; a header is a few KB in practice.
constexpr uint64_t max_header = 100'000'000;
constexpr const char *meta_key = "__metadata__";

// ---------------------------------------------------------------- JSON

struct JsonMember;
struct Json {
  enum Kind { null, boolean, number, string, array, object } kind = null;
  bool b = false;
  std::string text; // string value, or a number's source text
  std::vector<Json> items;
  // In file order. (A struct declared ahead rather than a std::pair, which
  // may not be instantiated with Json incomplete.)
  std::vector<JsonMember> members;
};
struct JsonMember {
  std::string key;
  Json value;
};

class JsonParser {
public:
  JsonParser(std::string_view s, const std::string &path)
      : s_(s), path_(path) {}

  Json parse_document() {
    Json v = value(0);
    skip_ws();
    if (i_ != s_.size())
      error("unexpected text after the JSON value");
    return v;
  }

private:
  [[noreturn]] void error(const std::string &what) const {
    fail("load: ", path_, ": malformed safetensors header (", what, " at byte ",
         i_, " of the header)");
  }
  void skip_ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' ||
                              s_[i_] == '\n' || s_[i_] == '\r'))
      ++i_;
  }
  bool eat(char c) {
    skip_ws();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  void expect(char c) {
    if (!eat(c))
      error(std::string("expected '") + c + "'");
  }
  bool literal(std::string_view word) {
    if (s_.substr(i_, word.size()) == word) {
      i_ += word.size();
      return true;
    }
    return false;
  }

  Json value(int depth) {
    if (depth > 64)
      error("nesting deeper than 64");
    skip_ws();
    if (i_ >= s_.size())
      error("unexpected end");
    Json v;
    char c = s_[i_];
    if (c == '{') {
      ++i_;
      v.kind = Json::object;
      if (eat('}'))
        return v;
      do {
        skip_ws();
        if (i_ >= s_.size() || s_[i_] != '"')
          error("expected a string key");
        std::string key = string();
        expect(':');
        v.members.push_back({std::move(key), value(depth + 1)});
      } while (eat(','));
      expect('}');
    } else if (c == '[') {
      ++i_;
      v.kind = Json::array;
      if (eat(']'))
        return v;
      do
        v.items.push_back(value(depth + 1));
      while (eat(','));
      expect(']');
    } else if (c == '"') {
      v.kind = Json::string;
      v.text = string();
    } else if (literal("true")) {
      v.kind = Json::boolean;
      v.b = true;
    } else if (literal("false")) {
      v.kind = Json::boolean;
    } else if (literal("null")) {
      v.kind = Json::null;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      v.kind = Json::number;
      v.text = number();
    } else {
      error(std::string("unexpected character '") + c + "'");
    }
    return v;
  }

  std::string number() {
    size_t start = i_;
    auto digits = [&] {
      size_t d = i_;
      while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9')
        ++i_;
      return i_ - d;
    };
    if (s_[i_] == '-')
      ++i_;
    if (i_ < s_.size() && s_[i_] == '0')
      ++i_;
    else if (digits() == 0)
      error("bad number");
    if (i_ < s_.size() && s_[i_] == '.') {
      ++i_;
      if (digits() == 0)
        error("bad number");
    }
    if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
      ++i_;
      if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-'))
        ++i_;
      if (digits() == 0)
        error("bad number");
    }
    return std::string(s_.substr(start, i_ - start));
  }

  unsigned hex4() {
    if (i_ + 4 > s_.size())
      error("truncated \\u escape");
    unsigned u = 0;
    for (int k = 0; k < 4; ++k) {
      char h = s_[i_++];
      u <<= 4;
      if (h >= '0' && h <= '9')
        u |= static_cast<unsigned>(h - '0');
      else if (h >= 'a' && h <= 'f')
        u |= static_cast<unsigned>(h - 'a' + 10);
      else if (h >= 'A' && h <= 'F')
        u |= static_cast<unsigned>(h - 'A' + 10);
      else
        error("bad \\u escape");
    }
    return u;
  }

  static void put_utf8(std::string &out, unsigned cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  // At the opening quote.
  std::string string() {
    ++i_;
    std::string out;
    for (;;) {
      if (i_ >= s_.size())
        error("unterminated string");
      char c = s_[i_++];
      if (c == '"')
        return out;
      if (static_cast<unsigned char>(c) < 0x20)
        error("control character in a string");
      if (c != '\\') {
        out += c;
        continue;
      }
      if (i_ >= s_.size())
        error("unterminated string");
      char e = s_[i_++];
      switch (e) {
      case '"':
      case '\\':
      case '/':
        out += e;
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'u': {
        unsigned cp = hex4();
        if (cp >= 0xD800 && cp < 0xDC00) {
          if (!(literal("\\u")))
            error("unpaired surrogate in \\u escape");
          unsigned lo = hex4();
          if (lo < 0xDC00 || lo >= 0xE000)
            error("unpaired surrogate in \\u escape");
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        } else if (cp >= 0xDC00 && cp < 0xE000) {
          error("unpaired surrogate in \\u escape");
        }
        put_utf8(out, cp);
        break;
      }
      default:
        error(std::string("bad escape '\\") + e + "'");
      }
    }
  }

  std::string_view s_;
  const std::string &path_;
  size_t i_ = 0;
};

void json_string(std::string &out, const std::string &s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\r':
      out += "\\r";
      break;
    case '\t':
      out += "\\t";
      break;
    default:
      if (c < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", c);
        out += buf;
      } else {
        out += static_cast<char>(c);
      }
    }
  }
  out += '"';
}

// ------------------------------------------------------------- dtypes

const char *st_dtype(DType t) {
  switch (t) {
  case DType::f32:
    return "F32";
  case DType::f64:
    return "F64";
  case DType::i32:
    return "I32";
  case DType::i64:
    return "I64";
  case DType::u8:
    return "U8";
  case DType::b8:
    return "BOOL";
  case DType::f16:
    return "F16";
  case DType::bf16:
    return "BF16";
  }
  return "?";
}

// ------------------------------------------------------- file helpers

std::string errno_str() { return std::strerror(errno); }

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0)
      ::close(fd);
  }
};

void write_all(int fd, const char *p, size_t n, const std::string &tmp) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, std::min<size_t>(n, size_t(1) << 30));
    if (w < 0) {
      if (errno == EINTR)
        continue;
      fail("save: cannot write ", tmp, ": ", errno_str());
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
}

// Reads exactly n bytes at `offset`; false at the end of the file.
bool read_at(int fd, char *p, size_t n, uint64_t offset) {
  while (n > 0) {
    ssize_t r = ::pread(fd, p, std::min<size_t>(n, size_t(1) << 30),
                        static_cast<off_t>(offset));
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      return false;
    p += r;
    n -= static_cast<size_t>(r);
    offset += static_cast<uint64_t>(r);
  }
  return true;
}

// ------------------------------------------------------------ reading

struct Entry {
  std::string name;
  DType dtype = DType::f32;
  Shape shape;
  uint64_t begin = 0, end = 0;
};

struct Header {
  std::vector<Entry> entries; // in file order
  Metadata metadata;
  uint64_t data_start = 0; // 8 + N
};

uint64_t as_u64(const Json &v, const std::string &path, const std::string &name,
                const char *what) {
  bool ok = v.kind == Json::number && !v.text.empty();
  for (char c : v.text)
    ok = ok && c >= '0' && c <= '9';
  uint64_t x = 0;
  if (ok) {
    for (char c : v.text) {
      unsigned d = static_cast<unsigned>(c - '0');
      if (x > (std::numeric_limits<uint64_t>::max() - d) / 10) {
        ok = false;
        break;
      }
      x = x * 10 + d;
    }
  }
  if (!ok)
    fail("load: ", path, ": tensor \"", name, "\": ", what,
         " must be non-negative integers, got ",
         v.kind == Json::number ? v.text : std::string("a non-number"));
  return x;
}

DType parse_dtype(const Json &v, const std::string &path,
                  const std::string &name) {
  if (v.kind != Json::string)
    fail("load: ", path, ": tensor \"", name, "\": dtype is not a string");
  const std::string &d = v.text;
  if (d == "F32")
    return DType::f32;
  if (d == "F64")
    return DType::f64;
  if (d == "I32")
    return DType::i32;
  if (d == "I64")
    return DType::i64;
  if (d == "U8")
    return DType::u8;
  if (d == "BOOL")
    return DType::b8;
  static const char *known[] = {
      "F16",     "BF16",    "I8",          "I16",        "U16", "U32",
      "U64",     "F8_E4M3", "F8_E5M2",     "F8_E8M0",    "F4",  "F6_E2M3",
      "F6_E3M2", "C64",     "F8_E4M3FNUZ", "F8_E5M2FNUZ"};
  for (const char *k : known)
    if (d == k)
      fail("load: ", path, ": tensor \"", name, "\": dtype ", d,
           " is not supported by knet on the CPU (supported: F32 F64 I32 "
           "I64 U8 BOOL)");
  fail("load: ", path, ": tensor \"", name, "\": unknown dtype \"", d, "\"");
}

Header read_header(int fd, const std::string &path, uint64_t file_size) {
  if (file_size < 8)
    fail("load: ", path, ": truncated: the file has ", file_size,
         " bytes, fewer than the 8-byte header length");
  unsigned char lenbuf[8];
  if (!read_at(fd, reinterpret_cast<char *>(lenbuf), 8, 0))
    fail("load: ", path, ": cannot read the header length: ", errno_str());
  uint64_t n = 0;
  for (int k = 7; k >= 0; --k)
    n = (n << 8) | lenbuf[k];
  if (n > file_size - 8)
    fail("load: ", path, ": header length ", n, " exceeds the file size (",
         file_size, " bytes, ", file_size - 8, " after the length)");
  if (n > max_header)
    fail("load: ", path, ": header length ", n, " exceeds the limit of ",
         max_header, " bytes");
  std::string text(n, '\0');
  if (!read_at(fd, text.data(), n, 8))
    fail("load: ", path, ": cannot read the header: ", errno_str());

  Json doc = JsonParser(text, path).parse_document();
  if (doc.kind != Json::object)
    fail("load: ", path, ": malformed safetensors header (not a JSON object)");

  Header h;
  h.data_start = 8 + n;
  const uint64_t buffer = file_size - h.data_start;
  std::set<std::string> seen;
  bool have_meta = false;
  for (const auto &[name, v] : doc.members) {
    if (name == meta_key) {
      if (have_meta)
        fail("load: ", path, ": duplicate \"", meta_key, "\"");
      have_meta = true;
      if (v.kind != Json::object)
        fail("load: ", path, ": \"", meta_key, "\" is not an object");
      for (const auto &[k, mv] : v.members) {
        if (mv.kind != Json::string)
          fail("load: ", path, ": \"", meta_key, "\" entry \"", k,
               "\" is not a string");
        if (!h.metadata.emplace(k, mv.text).second)
          fail("load: ", path, ": duplicate \"", meta_key, "\" key \"", k,
               "\"");
      }
      continue;
    }
    if (!seen.insert(name).second)
      fail("load: ", path, ": duplicate tensor name \"", name, "\"");
    if (v.kind != Json::object)
      fail("load: ", path, ": tensor \"", name, "\": entry is not an object");
    const Json *dtype = nullptr, *shape = nullptr, *offsets = nullptr;
    for (const auto &[k, f] : v.members) {
      const Json **slot = k == "dtype"          ? &dtype
                          : k == "shape"        ? &shape
                          : k == "data_offsets" ? &offsets
                                                : nullptr;
      if (!slot)
        fail("load: ", path, ": tensor \"", name, "\": unexpected key \"", k,
             "\"");
      if (*slot)
        fail("load: ", path, ": tensor \"", name, "\": duplicate key \"", k,
             "\"");
      *slot = &f;
    }
    if (!dtype || !shape || !offsets)
      fail("load: ", path, ": tensor \"", name, "\": missing ",
           !dtype   ? "dtype"
           : !shape ? "shape"
                    : "data_offsets");
    Entry e;
    e.name = name;
    e.dtype = parse_dtype(*dtype, path, name);
    if (shape->kind != Json::array)
      fail("load: ", path, ": tensor \"", name, "\": shape is not an array");
    // numel * itemsize, checked for overflow.
    unsigned __int128 nbytes = dtype_size(e.dtype);
    for (const Json &d : shape->items) {
      uint64_t x = as_u64(d, path, name, "shape entries");
      if (x > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        fail("load: ", path, ": tensor \"", name, "\": dimension ", x,
             " too large");
      e.shape.push_back(static_cast<int64_t>(x));
      nbytes *= x;
      if (nbytes > (static_cast<unsigned __int128>(1) << 64))
        nbytes = static_cast<unsigned __int128>(1) << 64; // saturate
    }
    if (offsets->kind != Json::array || offsets->items.size() != 2)
      fail("load: ", path, ": tensor \"", name,
           "\": data_offsets is not an array [begin, end]");
    e.begin = as_u64(offsets->items[0], path, name, "data_offsets");
    e.end = as_u64(offsets->items[1], path, name, "data_offsets");
    if (e.end < e.begin)
      fail("load: ", path, ": tensor \"", name, "\": data_offsets [", e.begin,
           ",", e.end, "] end before begin");
    if (static_cast<unsigned __int128>(e.end - e.begin) != nbytes)
      fail("load: ", path, ": tensor \"", name, "\": data_offsets [", e.begin,
           ",", e.end, "] hold ", e.end - e.begin, " bytes, but ",
           st_dtype(e.dtype), " ", shape_str(e.shape), " needs ",
           nbytes >= (static_cast<unsigned __int128>(1) << 64)
               ? std::string("more than 2^64")
               : std::to_string(static_cast<uint64_t>(nbytes)));
    if (e.end > buffer)
      fail("load: ", path, ": tensor \"", name, "\": data_offsets [", e.begin,
           ",", e.end, "] reach beyond the data buffer (", buffer,
           " bytes): the file is truncated or the offsets are wrong");
    h.entries.push_back(std::move(e));
  }

  // The buffer must be covered exactly: no overlaps, no holes (as the
  // format's reference implementation demands).
  std::vector<const Entry *> order;
  for (const Entry &e : h.entries)
    order.push_back(&e);
  std::stable_sort(
      order.begin(), order.end(), [](const Entry *a, const Entry *b) {
        return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
      });
  uint64_t at = 0;
  const Entry *prev = nullptr;
  for (const Entry *e : order) {
    if (e->begin < at)
      fail("load: ", path, ": tensors \"", prev->name, "\" [", prev->begin, ",",
           prev->end, "] and \"", e->name, "\" [", e->begin, ",", e->end,
           "] overlap");
    if (e->begin > at)
      fail("load: ", path, ": hole in the data buffer: bytes [", at, ",",
           e->begin, ") belong to no tensor");
    at = e->end;
    prev = e;
  }
  if (at != buffer)
    fail("load: ", path, ": ", buffer - at,
         " trailing bytes after the last tensor (the data buffer has ", buffer,
         " bytes, the tensors cover ", at, ")");
  return h;
}

struct OpenFile {
  Fd fd;
  uint64_t size = 0;
};

void open_for_read(OpenFile &f, const std::string &path) {
  f.fd.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (f.fd.fd < 0)
    fail("load: cannot open ", path, ": ", errno_str());
  struct stat st;
  if (::fstat(f.fd.fd, &st) != 0)
    fail("load: cannot stat ", path, ": ", errno_str());
  if (!S_ISREG(st.st_mode))
    fail("load: ", path, " is not a regular file");
  f.size = static_cast<uint64_t>(st.st_size);
}

void check_names(const NamedTensors &tensors, const std::string &path) {
  std::set<std::string> seen;
  for (const auto &[name, t] : tensors) {
    if (name.empty())
      fail("save: ", path, ": empty tensor name");
    if (name == meta_key)
      fail("save: ", path, ": the name \"", meta_key, "\" is reserved");
    if (!seen.insert(name).second)
      fail("save: ", path, ": duplicate tensor name \"", name, "\"");
    if (!t.defined())
      fail("save: ", path, ": tensor \"", name, "\" is undefined");
    if (t.dtype() == DType::f16 || t.dtype() == DType::bf16)
      fail("save: ", path, ": tensor \"", name, "\" has dtype ",
           dtype_name(t.dtype()), ", which knet cannot save (convert to f32)");
  }
}

} // namespace

void save(const std::string &path, const NamedTensors &tensors,
          const Metadata &metadata) {
  check_names(tensors, path);
  // Host-side contiguous copies (no copy when already so).
  std::vector<Tensor> host;
  host.reserve(tensors.size());
  for (const auto &nt : tensors)
    host.push_back(nt.second.to(Device{}).contiguous());

  std::string header = "{";
  bool first = true;
  if (!metadata.empty()) {
    json_string(header, meta_key);
    header += ":{";
    for (const auto &[k, v] : metadata) {
      if (!first)
        header += ',';
      first = false;
      json_string(header, k);
      header += ':';
      json_string(header, v);
    }
    header += '}';
    first = false;
  }
  uint64_t offset = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor &t = host[i];
    uint64_t nbytes = static_cast<uint64_t>(t.numel()) * dtype_size(t.dtype());
    if (!first)
      header += ',';
    first = false;
    json_string(header, tensors[i].first);
    header += ":{\"dtype\":\"";
    header += st_dtype(t.dtype());
    header += "\",\"shape\":[";
    for (int d = 0; d < t.rank(); ++d) {
      if (d)
        header += ',';
      header += std::to_string(t.shape()[d]);
    }
    header += "],\"data_offsets\":[" + std::to_string(offset) + "," +
              std::to_string(offset + nbytes) + "]}";
    offset += nbytes;
  }
  header += '}';
  // Pad with spaces so the data starts 8-byte aligned (as the reference
  // writer does).
  while (header.size() % 8)
    header += ' ';

  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  Fd f;
  f.fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (f.fd < 0)
    fail("save: cannot create ", tmp, ": ", errno_str());
  try {
    unsigned char len[8];
    uint64_t n = header.size();
    for (int k = 0; k < 8; ++k)
      len[k] = static_cast<unsigned char>(n >> (8 * k));
    write_all(f.fd, reinterpret_cast<const char *>(len), 8, tmp);
    write_all(f.fd, header.data(), header.size(), tmp);
    for (const Tensor &t : host) {
      size_t nbytes = static_cast<size_t>(t.numel()) * dtype_size(t.dtype());
      if (nbytes)
        write_all(f.fd, static_cast<const char *>(t.data_ptr()), nbytes, tmp);
    }
    if (::fsync(f.fd) != 0)
      fail("save: cannot sync ", tmp, ": ", errno_str());
    int fd = f.fd;
    f.fd = -1;
    if (::close(fd) != 0)
      fail("save: cannot close ", tmp, ": ", errno_str());
    if (std::rename(tmp.c_str(), path.c_str()) != 0)
      fail("save: cannot rename ", tmp, " to ", path, ": ", errno_str());
  } catch (...) {
    if (f.fd >= 0) {
      ::close(f.fd);
      f.fd = -1;
    }
    ::unlink(tmp.c_str());
    throw;
  }
  // Make the rename itself durable (best effort).
  std::string dir = ".";
  if (auto slash = path.find_last_of('/'); slash != std::string::npos)
    dir = slash == 0 ? "/" : path.substr(0, slash);
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
}

std::map<std::string, Tensor> load(const std::string &path) {
  OpenFile f;
  open_for_read(f, path);
  Header h = read_header(f.fd.fd, path, f.size);
  std::map<std::string, Tensor> out;
  for (const Entry &e : h.entries) {
    Tensor t = Tensor::empty(e.shape, e.dtype, Device{});
    size_t nbytes = static_cast<size_t>(e.end - e.begin);
    if (nbytes && !read_at(f.fd.fd, static_cast<char *>(t.data_ptr()), nbytes,
                           h.data_start + e.begin))
      fail("load: ", path, ": cannot read tensor \"", e.name,
           "\" (truncated while reading?): ", errno_str());
    if (e.dtype == DType::b8) {
      const auto *p = static_cast<const unsigned char *>(t.data_ptr());
      for (size_t k = 0; k < nbytes; ++k)
        if (p[k] > 1)
          fail("load: ", path, ": BOOL tensor \"", e.name, "\" holds byte ",
               int(p[k]), " at element ", k, " (expected 0 or 1)");
    }
    out.emplace(e.name, std::move(t));
  }
  return out;
}

Metadata load_metadata(const std::string &path) {
  OpenFile f;
  open_for_read(f, path);
  return read_header(f.fd.fd, path, f.size).metadata;
}

namespace {
std::string param_name(const Param &p, size_t i) {
  return p.name().empty() ? "param" + std::to_string(i) : p.name();
}
} // namespace

void save(const std::string &path, const std::vector<Param> &params,
          const Metadata &metadata) {
  NamedTensors tensors;
  for (size_t i = 0; i < params.size(); ++i) {
    if (!params[i].defined())
      fail("save: ", path, ": param ", i, " is undefined");
    tensors.emplace_back(param_name(params[i], i), params[i].value());
  }
  save(path, tensors, metadata);
}

void load_into(const std::string &path, std::vector<Param> &params) {
  std::map<std::string, Tensor> stored = load(path);
  std::set<std::string> names;
  std::vector<Tensor> values(params.size());
  for (size_t i = 0; i < params.size(); ++i) {
    if (!params[i].defined())
      fail("load_into: ", path, ": param ", i, " is undefined");
    std::string name = param_name(params[i], i);
    if (!names.insert(name).second)
      fail("load_into: ", path, ": two params are named \"", name, "\"");
    auto it = stored.find(name);
    if (it == stored.end())
      fail("load_into: ", path, ": no tensor \"", name, "\" in the file");
    const Tensor &want = params[i].value();
    const Tensor &got = it->second;
    if (got.shape() != want.shape() || got.dtype() != want.dtype())
      fail("load_into: ", path, ": tensor \"", name, "\" is ",
           dtype_name(got.dtype()), " ", shape_str(got.shape()),
           " in the file, but the param is ", dtype_name(want.dtype()), " ",
           shape_str(want.shape()));
    values[i] = got.to(want.device());
  }
  for (const auto &[name, t] : stored)
    if (!names.count(name))
      fail("load_into: ", path, ": the file holds tensor \"", name,
           "\", which matches no param");
  for (size_t i = 0; i < params.size(); ++i) {
    params[i].value() = values[i];
    (void)params[i].value(); // re-tags the new value as this Param's
  }
}

} // namespace knet
