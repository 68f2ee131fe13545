// A tqdm-style progress bar on stderr.
#include <knet/train.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <unistd.h>

namespace knet {

namespace {

// "05:07" or "1:02:03"; "--:--" when unknown.
std::string clock_str(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0)
    return "--:--";
  auto s = static_cast<long long>(seconds + 0.5);
  char buf[48];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", s / 3600, s / 60 % 60,
                  s % 60);
  else
    std::snprintf(buf, sizeof buf, "%02lld:%02lld", s / 60, s % 60);
  return buf;
}

std::string bar_str(double frac, bool ascii) {
  constexpr int cells = 10;
  frac = std::clamp(frac, 0.0, 1.0);
  std::string out;
  if (ascii) {
    auto full = static_cast<int>(frac * cells);
    out.append(full, '#');
    out.append(cells - full, ' ');
    return out;
  }
  static const char *const partial[8] = {
      "", "\u258f", "\u258e", "\u258d", "\u258c", "\u258b", "\u258a", "\u2589"};
  auto eighths = static_cast<int>(frac * cells * 8);
  int full = eighths / 8, rem = eighths % 8;
  for (int i = 0; i < full; ++i)
    out += "\u2588";
  int used = full;
  if (rem > 0) {
    out += partial[rem];
    ++used;
  }
  out.append(cells - used, ' ');
  return out;
}

} // namespace

std::string render_progress(int64_t n, int64_t total, double seconds,
                            const ProgressValues &values, bool ascii) {
  char buf[96];
  std::string out;
  const double rate = seconds > 0 ? static_cast<double>(n) / seconds : 0;
  std::string rate_s;
  if (rate > 0 && rate < 1)
    std::snprintf(buf, sizeof buf, "%.2fs/it", 1 / rate);
  else
    std::snprintf(buf, sizeof buf, "%.1fit/s", rate);
  rate_s = buf;
  if (total >= 0) {
    int width = static_cast<int>(std::to_string(total).size());
    std::snprintf(buf, sizeof buf, "[%*lld/%lld] ", width,
                  static_cast<long long>(n), static_cast<long long>(total));
    out += buf;
    double frac = total > 0 ? static_cast<double>(n) / total : 1.0;
    out += bar_str(frac, ascii);
    std::snprintf(buf, sizeof buf, " %3d%% ",
                  static_cast<int>(std::clamp(frac, 0.0, 1.0) * 100));
    out += buf;
    out += rate_s;
    if (n >= total)
      out += " time " + clock_str(seconds);
    else
      out += " eta " +
             clock_str(rate > 0 ? static_cast<double>(total - n) / rate : -1.0);
  } else {
    std::snprintf(buf, sizeof buf, "[%lld] ", static_cast<long long>(n));
    out += buf;
    out += rate_s + " " + clock_str(seconds);
  }
  for (const auto &[k, v] : values) {
    std::snprintf(buf, sizeof buf, "%.4g", v);
    out += " " + k + "=" + buf;
  }
  return out;
}

ProgressBar::ProgressBar(int64_t total, ProgressOptions opts)
    : total_(total), opts_(opts) {
  if (opts_.out)
    mode_ = 2;
  else if (isatty(STDERR_FILENO))
    mode_ = 1;
  else
    mode_ = opts_.force ? 2 : 0;
  if (opts_.interval <= 0)
    opts_.interval = mode_ == 1 ? 0.1 : 2.0;
}

ProgressBar::~ProgressBar() {
  try {
    finish();
  } catch (...) { // a destructor must not throw (stream errors)
  }
}

void ProgressBar::start() {
  n_ = 0;
  started_ = true;
  finished_ = false;
  t0_ = last_ = std::chrono::steady_clock::now();
  if (mode_ == 1)
    draw(false);
}

void ProgressBar::tick(int64_t k) {
  if (!started_)
    start();
  n_ += k;
  if (mode_ == 0)
    return;
  auto now = std::chrono::steady_clock::now();
  if (std::chrono::duration<double>(now - last_).count() >= opts_.interval) {
    last_ = now;
    draw(false);
  }
}

void ProgressBar::finish() {
  if (!started_ || finished_)
    return;
  finished_ = true;
  if (mode_ != 0)
    draw(true);
}

void ProgressBar::set(const std::string &key, double value) {
  for (auto &kv : values_)
    if (kv.first == key) {
      kv.second = value;
      return;
    }
  values_.emplace_back(key, value);
}

std::string ProgressBar::line() const {
  double secs = started_ ? std::chrono::duration<double>(
                               std::chrono::steady_clock::now() - t0_)
                               .count()
                         : 0.0;
  return render_progress(n_, total_, secs, values_, mode_ != 1);
}

void ProgressBar::draw(bool final) {
  std::ostream &os = opts_.out ? *opts_.out : std::cerr;
  if (mode_ == 1) {
    os << '\r' << line() << "\033[K";
    if (final)
      os << '\n';
  } else {
    os << line() << '\n';
  }
  os.flush();
}

} // namespace knet
