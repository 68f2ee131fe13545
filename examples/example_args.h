// Command-line options shared by the examples and the benchmarks
// (bench/common/bench.h): `--name value` pairs. Standard library only.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <map>
#include <string>

namespace example {

class Args {
public:
  Args(int argc, char **argv) {
    for (int i = 1; i < argc; ++i) {
      std::string a = argv[i];
      if (a.rfind("--", 0) != 0 || i + 1 >= argc) {
        std::cerr << argv[0] << ": expected --name value, got '" << a << "'\n";
        std::exit(2);
      }
      values_[a.substr(2)] = argv[++i];
    }
  }
  double num(const std::string &name, double fallback) const {
    auto it = values_.find(name);
    return it == values_.end() ? fallback : std::atof(it->second.c_str());
  }
  int64_t integer(const std::string &name, int64_t fallback) const {
    return static_cast<int64_t>(num(name, static_cast<double>(fallback)));
  }
  std::string str(const std::string &name, const std::string &fallback) const {
    auto it = values_.find(name);
    return it == values_.end() ? fallback : it->second;
  }
  bool has(const std::string &name) const { return values_.count(name) > 0; }

private:
  std::map<std::string, std::string> values_;
};

// Prints a check's outcome; returns the process exit status it implies.
inline int check(bool ok, const std::string &what) {
  std::cout << (ok ? "check passed: " : "check FAILED: ") << what << "\n";
  return ok ? 0 : 1;
}

} // namespace example
