// minibatch (counts, partial, contents, shuffling), the progress bar's
// rendering and output, and minimize.
#include "test_util.h"

#include <knet/memory.h>
#include <knet/train.h>

#include <algorithm>
#include <numeric>
#include <sstream>
#include <unistd.h>

using namespace knet;

namespace {

// x[i] = [i, 100 + i] (so a row names itself), y[i] = 1000 + i.
Tensor rows_x(int64_t n) {
  std::vector<double> v;
  for (int64_t i = 0; i < n; ++i) {
    v.push_back(static_cast<double>(i));
    v.push_back(static_cast<double>(100 + i));
  }
  return Tensor::from(v, {n, 2});
}
Tensor rows_y(int64_t n) {
  std::vector<int64_t> v;
  for (int64_t i = 0; i < n; ++i)
    v.push_back(1000 + i);
  return Tensor::from(v, {n});
}

// The row ids of every batch of one pass, checking that x and y agree.
std::vector<int64_t> pass_ids(const Minibatch &mb,
                              std::vector<int64_t> *sizes = nullptr) {
  std::vector<int64_t> ids;
  for (auto [xb, yb] : mb) {
    std::vector<double> xv = xb.to_vector<double>();
    EXPECT_EQ(xb.rank(), 2);
    EXPECT_TRUE(xb.is_contiguous());
    if (sizes)
      sizes->push_back(xb.size(0));
    std::vector<int64_t> yv;
    if (yb.defined()) {
      EXPECT_EQ(yb.size(0), xb.size(0));
      yv = yb.to_vector<int64_t>();
    }
    for (int64_t r = 0; r < xb.size(0); ++r) {
      auto id = static_cast<int64_t>(xv[2 * r]);
      EXPECT_EQ(xv[2 * r + 1], 100.0 + static_cast<double>(id));
      if (yb.defined()) {
        EXPECT_EQ(yv[r], 1000 + id);
      }
      ids.push_back(id);
    }
  }
  return ids;
}

std::vector<int64_t> iota_ids(int64_t b, int64_t e) {
  std::vector<int64_t> v;
  for (int64_t i = b; i < e; ++i)
    v.push_back(i);
  return v;
}

} // namespace

TEST(Minibatch, CountsAndContents) {
  auto mb = minibatch(rows_x(10), rows_y(10), 3);
  EXPECT_EQ(mb.length(), 3);
  EXPECT_EQ(mb.size(), 3u);
  std::vector<int64_t> sizes;
  EXPECT_EQ(pass_ids(mb, &sizes), iota_ids(0, 9)); // the last row dropped
  EXPECT_EQ(sizes, (std::vector<int64_t>{3, 3, 3}));

  auto part = minibatch(rows_x(10), rows_y(10), 3, {.partial = true});
  EXPECT_EQ(part.length(), 4);
  sizes.clear();
  EXPECT_EQ(pass_ids(part, &sizes), iota_ids(0, 10));
  EXPECT_EQ(sizes, (std::vector<int64_t>{3, 3, 3, 1}));

  // Exact multiple: partial changes nothing.
  EXPECT_EQ(minibatch(rows_x(9), 3).length(), 3);
  EXPECT_EQ(minibatch(rows_x(9), 3, {.partial = true}).length(), 3);
  // Fewer examples than one batch.
  EXPECT_EQ(minibatch(rows_x(2), 3).length(), 0);
  EXPECT_EQ(pass_ids(minibatch(rows_x(2), 3)).size(), 0u);
  EXPECT_EQ(minibatch(rows_x(2), 3, {.partial = true}).length(), 1);
}

TEST(Minibatch, XOnly) {
  auto mb = minibatch(rows_x(7), 2, {.partial = true});
  int n = 0;
  for (auto [xb, yb] : mb) {
    EXPECT_FALSE(yb.defined());
    ++n;
  }
  EXPECT_EQ(n, 4);
  EXPECT_EQ(pass_ids(mb), iota_ids(0, 7));
}

TEST(Minibatch, NonContiguousInput) {
  // x stored transposed: the batches are still the rows of x, contiguous.
  Tensor xt = rows_x(6).transpose(0, 1).contiguous().transpose(0, 1);
  ASSERT_FALSE(xt.is_contiguous());
  auto mb = minibatch(xt, rows_y(6), 4, {.partial = true});
  EXPECT_EQ(pass_ids(mb), iota_ids(0, 6));
  std::vector<int64_t> shuffled;
  auto sh = minibatch(xt, rows_y(6), 4, {.shuffle = true, .partial = true});
  shuffled = pass_ids(sh);
  std::sort(shuffled.begin(), shuffled.end());
  EXPECT_EQ(shuffled, iota_ids(0, 6));
}

TEST(Minibatch, ShuffleIsASeededPermutation) {
  const int64_t n = 50;
  auto mb =
      minibatch(rows_x(n), rows_y(n), 8, {.shuffle = true, .partial = true});
  seed(7);
  std::vector<int64_t> e1 = pass_ids(mb);
  std::vector<int64_t> e2 = pass_ids(mb); // a new epoch, a new order
  seed(7);
  std::vector<int64_t> again = pass_ids(mb);
  seed(8);
  std::vector<int64_t> other = pass_ids(mb);

  std::vector<int64_t> sorted = e1;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, iota_ids(0, n));
  sorted = e2;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, iota_ids(0, n));
  EXPECT_NE(e1, iota_ids(0, n));
  EXPECT_EQ(e1, again);
  EXPECT_NE(e1, e2);
  EXPECT_NE(e1, other);

  // Without partial a shuffled pass drops n % batch of the examples, each
  // epoch different ones, and never repeats one.
  auto drop = minibatch(rows_x(n), rows_y(n), 8, {.shuffle = true});
  std::vector<int64_t> d = pass_ids(drop);
  EXPECT_EQ(d.size(), 48u);
  std::sort(d.begin(), d.end());
  EXPECT_EQ(std::unique(d.begin(), d.end()), d.end());
}

TEST(Minibatch, BadArguments) {
  EXPECT_THROW(minibatch(rows_x(4), rows_y(5), 2), Error);
  EXPECT_THROW(minibatch(rows_x(4), 0), Error);
  EXPECT_THROW(minibatch(Tensor::scalar(1.0), 1), Error);
  EXPECT_THROW(minibatch(Tensor(), 1), Error);
}

// ---------------------------------------------------------------------------

TEST(Minibatch, XtypeConvertsAndScalesAsItGathers) {
  // u8 "pixels" 0..29 in 10 rows of 3; y = 1000 + row.
  std::vector<uint8_t> px(30);
  std::iota(px.begin(), px.end(), uint8_t{0});
  Tensor x = Tensor::from(px, {10, 3});
  for (bool shuffle : {false, true}) {
    seed(3);
    auto mb = minibatch(x, rows_y(10), 4,
                        {.shuffle = shuffle,
                         .partial = true,
                         .xtype = DType::f32,
                         .xscale = 1.0 / 255});
    std::vector<int64_t> seen;
    for (auto [xb, yb] : mb) {
      ASSERT_EQ(xb.dtype(), DType::f32);
      EXPECT_TRUE(xb.is_contiguous());
      std::vector<float> xv = xb.to_vector<float>();
      std::vector<int64_t> yv = yb.to_vector<int64_t>();
      for (int64_t r = 0; r < xb.size(0); ++r) {
        const int64_t id = yv[r] - 1000;
        seen.push_back(id);
        for (int64_t j = 0; j < 3; ++j)
          EXPECT_EQ(xv[3 * r + j], static_cast<float>(3 * id + j) *
                                       static_cast<float>(1.0 / 255));
      }
    }
    std::sort(seen.begin(), seen.end());
    EXPECT_EQ(seen, iota_ids(0, 10)) << "shuffle " << shuffle;
  }
  // Integer conversion without a scale.
  auto ints = minibatch(x, 5, {.xtype = DType::i64});
  EXPECT_EQ(
      (*ints.begin()).first.to_vector<int64_t>(),
      (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}));
  EXPECT_THROW(minibatch(x, 5, {.xtype = DType::i32, .xscale = 0.5}), Error);
  EXPECT_THROW(minibatch(x, 5, {.xscale = 0.5}), Error);
  // b8 has no conversion; an order must name examples of x.
  EXPECT_THROW(minibatch(x.to(DType::f32) > 3.0, 5, {.xtype = DType::f32}),
               Error);
  auto plain = minibatch(x, 5);
  const std::vector<int64_t> bad = {0, 1, 2, 3, 10}, neg = {0, -1, 2, 3, 4};
  EXPECT_THROW(plain.batch(0, &bad), Error);
  EXPECT_THROW(plain.batch(0, &neg), Error);
  const std::vector<int64_t> ok = {9, 1, 2, 3, 4};
  EXPECT_EQ(plain.batch(0, &ok).first.to_vector<int64_t>()[0], 27);
}

TEST(Minibatch, GathersIntoAReusedBufferOnceTheBatchIsDropped) {
  auto mb = minibatch(rows_x(100), rows_y(100), 10, {.shuffle = true});
  auto it = mb.begin();
  (void)*it; // the first batch allocates the buffers
  const uint64_t before = memory_stats().allocations;
  std::vector<int64_t> ids;
  for (++it; it != mb.end(); ++it) {
    auto [xb, yb] = *it;
    for (int64_t v : yb.to_vector<int64_t>())
      ids.push_back(v);
  }
  EXPECT_EQ(memory_stats().allocations, before)
      << "a dropped batch's buffer is reused";
  EXPECT_EQ(ids.size(), 90u);
  // A batch that is still held is never overwritten by the next one.
  auto it2 = mb.begin();
  auto [x0, y0] = *it2;
  std::vector<double> x0v = x0.to_vector<double>();
  std::vector<int64_t> y0v = y0.to_vector<int64_t>();
  ++it2;
  auto [x1, y1] = *it2;
  EXPECT_NE(x1.data_ptr(), x0.data_ptr());
  EXPECT_EQ(x0.to_vector<double>(), x0v);
  EXPECT_EQ(y0.to_vector<int64_t>(), y0v);
  EXPECT_NE(y1.to_vector<int64_t>(), y0v);
}

TEST(Progress, RendersALine) {
  const std::string full = "\u2588", five_eighths = "\u258b";
  auto blanks = [](int k) { return std::string(static_cast<size_t>(k), ' '); };
  // 37 of 100 in 3 s: 12.33 it/s, 63 left = 5.1 s; 37% of 10 cells is 3.7
  // cells = 29 eighths: three full blocks and a 5/8 block, then 6 blanks;
  // the percentage is right-aligned in 3 columns.
  EXPECT_EQ(render_progress(37, 100, 3.0, {{"loss", 0.4123}}),
            "[ 37/100] " + full + full + full + five_eighths + blanks(6) +
                "  37% 12.3it/s eta 00:05 loss=0.4123");
  EXPECT_EQ(render_progress(37, 100, 3.0, {{"loss", 0.4123}}, true),
            "[ 37/100] ###" + blanks(7) +
                "  37% 12.3it/s eta 00:05 loss=0.4123");
  // Done: the elapsed time instead of the ETA.
  EXPECT_EQ(render_progress(100, 100, 10.0, {}, true),
            "[100/100] ########## 100% 10.0it/s time 00:10");
  // Slow: seconds per item (5 s / 2 items); 8 left at 2.5 s each.
  EXPECT_EQ(render_progress(2, 10, 5.0, {}, true),
            "[ 2/10] ##" + blanks(8) + "  20% 2.50s/it eta 00:20");
  // Nothing yet: ETA unknown.
  EXPECT_EQ(render_progress(0, 10, 0.0, {}, true),
            "[ 0/10] " + blanks(10) + "   0% 0.0it/s eta --:--");
  // Unknown total (3723/37 = 100.62 s/it); values in the order set; hours.
  EXPECT_EQ(render_progress(37, -1, 3723.0, {{"loss", 1.5}, {"acc", 0.25}}),
            "[37] 100.62s/it 1:02:03 loss=1.5 acc=0.25");
  // More items than announced: the bar stays full.
  EXPECT_EQ(render_progress(12, 10, 1.0, {}, true),
            "[12/10] ########## 100% 12.0it/s time 00:01");
}

TEST(Progress, PlainLinesToAStream) {
  std::ostringstream out;
  std::vector<int> items{1, 2, 3, 4, 5};
  int sum = 0;
  {
    auto bar = progress(items, {.out = &out});
    EXPECT_EQ(bar.bar().total(), 5);
    for (int v : bar) {
      sum += v;
      bar.set("loss", 0.5);
    }
    // Iteration finished: the final line is out already.
    EXPECT_EQ(out.str().substr(0, 6), "[5/5] ");
  }
  EXPECT_EQ(sum, 15);
  // One final line only (the interval for plain lines is 2 s).
  std::string s = out.str();
  EXPECT_EQ(std::count(s.begin(), s.end(), '\n'), 1) << s;
  EXPECT_NE(s.find("########## 100%"), std::string::npos) << s;
  EXPECT_NE(s.find("loss=0.5"), std::string::npos) << s;
}

TEST(Progress, IntervalAndEarlyBreak) {
  std::ostringstream out;
  {
    auto bar =
        progress(minibatch(rows_x(10), 2), {.out = &out, .interval = 1e-9});
    int k = 0;
    for (auto [xb, yb] : bar)
      if (++k == 3)
        break;
    EXPECT_EQ(bar.bar().count(), 2); // the third was not finished
  }                                  // the destructor draws the final line
  std::string s = out.str();
  // Lines after items 1 and 2, then the final one.
  EXPECT_EQ(std::count(s.begin(), s.end(), '\n'), 3) << s;
  EXPECT_EQ(s.substr(0, 6), "[1/5] ") << s;
  const size_t last = s.rfind('\n', s.size() - 2) + 1;
  EXPECT_EQ(s.substr(last, 6), "[2/5] ") << s;
  EXPECT_NE(s.find(" eta ", last), std::string::npos) << s;
}

TEST(Progress, QuietWhenNotATerminal) {
  ProgressBar bar(10);
  if (!isatty(STDERR_FILENO)) {
    EXPECT_FALSE(bar.enabled());
  }
  ProgressBar forced(10, {.force = true});
  EXPECT_TRUE(forced.enabled());
}

TEST(Progress, UnknownLength) {
  std::ostringstream out;
  struct Counter { // a range without size()
    int n;
    struct it {
      int i;
      int operator*() const { return i; }
      it &operator++() {
        ++i;
        return *this;
      }
      void operator++(int) { ++i; }
      using value_type = int;
      using difference_type = std::ptrdiff_t;
      bool operator==(const it &o) const { return i == o.i; }
    };
    it begin() const { return {0}; }
    it end() const { return {n}; }
  };
  int seen = 0;
  for (int v : progress(Counter{4}, {.out = &out}))
    seen += v;
  EXPECT_EQ(seen, 6);
  EXPECT_EQ(out.str().substr(0, 4), "[4] ") << out.str();
}

// ---------------------------------------------------------------------------

TEST(Minimize, RunsOverBatchesAndReportsLosses) {
  // loss(x, y) = sum((w - x)^2) + sum(y) * 0: one SGD step per batch.
  Param w(Tensor::from<double>({0.0, 0.0}, {2}), "w");
  auto loss = [&](const Tensor &x, const Tensor &y) {
    Tensor d = w.value() - x;
    return sum(d * d) + sum(y) * 0.0;
  };
  Tensor x = Tensor::from<double>({1, 2, 1, 2, 1, 2}, {3, 2});
  Tensor y = Tensor::from<double>({0, 0, 0}, {3});
  SGD opt{.lr = 0.25};
  std::ostringstream out;
  std::vector<double> losses =
      minimize(loss, progress(minibatch(x, y, 1), {.out = &out}), opt);
  // w_k+1 = w_k - 0.25 * 2 (w_k - [1, 2]) = (w_k + [1, 2]) / 2
  // losses: |w_k - [1,2]|^2 = 5, 5/4, 5/16
  ASSERT_EQ(losses.size(), 3u);
  EXPECT_NEAR(losses[0], 5.0, 1e-12);
  EXPECT_NEAR(losses[1], 1.25, 1e-12);
  EXPECT_NEAR(losses[2], 0.3125, 1e-12);
  std::vector<double> wv = w.value().to_vector<double>();
  EXPECT_NEAR(wv[0], 0.875, 1e-12);
  EXPECT_NEAR(wv[1], 1.75, 1e-12);
  EXPECT_NE(out.str().find("loss=0.3125"), std::string::npos) << out.str();

  // x-only data calls loss(x).
  Param v(Tensor::from<double>({3.0}, {1}), "v");
  auto loss1 = [&](const Tensor &xb) { return sum(v.value() * xb); };
  SGD s1{.lr = 1};
  auto l1 = minimize(loss1, minibatch(Tensor::ones({2, 1}, DType::f64), 1), s1);
  EXPECT_EQ(l1, (std::vector<double>{3.0, 2.0}));
  EXPECT_NEAR(v.value().item<double>(), 1.0, 1e-15);
}
