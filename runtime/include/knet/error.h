// knet::Error and the helpers that build its messages.
#pragma once

#include <cstdint>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace knet {

using Shape = std::vector<int64_t>;

// Every misuse of the runtime throws this: the message names the op and the
// shapes, dtypes or devices involved.
class Error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

// "[5,12]" (inline: knetc states the shape rules of knet/checks.h with it)
inline std::string shape_str(const Shape &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i)
      s += ",";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

namespace detail {
template <class... A> [[noreturn]] void fail(const A &...parts) {
  std::ostringstream s;
  (s << ... << parts);
  throw Error(s.str());
}
} // namespace detail

} // namespace knet
