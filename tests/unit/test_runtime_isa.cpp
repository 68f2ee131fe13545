// The runtime's per-instruction-set loops (core/isa.h): in every
// instruction set this CPU runs, the blocked bodies of the elementwise ops
// and the dense float rows give the base loops' bits (NaNs aside) when both
// run on the same vector math (no FMA contraction, the same order of sums), and
// the rows agree with their definitions: NaNs skipped by max and min, sums in
// double.
#include "test_util.h"

#include "core/isa.h"
#include "core/rows.h"

#include <knet/vmath.h>

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace knet::detail {
extern const KernelTable kernel_base_table;
} // namespace knet::detail

namespace {

namespace vm = knet::detail::vm;
using knet::detail::kernels;
using knet::detail::KernelTable;

class IsaLoops : public knet::testing::InstructionSets {};

// Values over [-12, 12] with the specials mixed in.
std::vector<float> block_values(int seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-12.0f, 12.0f);
  std::vector<float> x(vm::kBlock);
  for (float &v : x)
    v = u(rng);
  const float specials[] = {0.0f,
                            -0.0f,
                            1.0f,
                            -1.0f,
                            std::numeric_limits<float>::infinity(),
                            -std::numeric_limits<float>::infinity(),
                            std::numeric_limits<float>::quiet_NaN(),
                            std::numeric_limits<float>::denorm_min(),
                            1e-30f,
                            88.7f,
                            -104.0f};
  for (size_t i = 0; i < std::size(specials); ++i)
    x[7 * i + 3] = specials[i];
  return x;
}

// The same bits, or both NaN (a NaN's sign and payload carry nothing).
void expect_same_bits(const std::vector<float> &a, const std::vector<float> &b,
                      const char *op) {
  for (size_t i = 0; i < a.size(); ++i)
    if (!(std::isnan(a[i]) && std::isnan(b[i]))) {
      EXPECT_EQ(std::bit_cast<uint32_t>(a[i]), std::bit_cast<uint32_t>(b[i]))
          << op << " at " << i << ": " << a[i] << " against the base loops' "
          << b[i];
    }
}

TEST_P(IsaLoops, BlockedBodiesGiveTheBaseLoopsBits) {
  const KernelTable &mine = kernels();
  const KernelTable &base = knet::detail::kernel_base_table;
  const std::vector<float> x = block_values(1), x2 = block_values(2);
  // pow's exponents in a range where its results stay finite mostly.
  std::vector<float> e(x2);
  for (float &v : e)
    v = std::isfinite(v) ? v / 4 : v;
  std::vector<float> y(vm::kBlock), r(vm::kBlock);
  int checked = 0;
#define KNET_CHECK_1(op)                                                       \
  mine.op(y.data(), x.data());                                                 \
  base.op(r.data(), x.data());                                                 \
  expect_same_bits(y, r, #op);                                                 \
  ++checked;
#define KNET_CHECK_2(op)                                                       \
  mine.op(y.data(), x.data(), e.data());                                       \
  base.op(r.data(), x.data(), e.data());                                       \
  expect_same_bits(y, r, #op);                                                 \
  ++checked;
#define KNET_CHECK(op, n) KNET_CHECK_##n(op)
  KNET_BLOCKED_BODIES(KNET_CHECK)
#undef KNET_CHECK
#undef KNET_CHECK_2
#undef KNET_CHECK_1
  EXPECT_GE(checked, 19);
}

// max/min skipping NaNs, lowest()/max() when nothing is left, as a plain
// loop states them.
template <bool IsMax> float reference_extremum(const std::vector<float> &x) {
  float m = IsMax ? std::numeric_limits<float>::lowest()
                  : std::numeric_limits<float>::max();
  for (float v : x)
    if (IsMax ? v > m : v < m)
      m = v;
  return m;
}

TEST_P(IsaLoops, RowsMatchTheirDefinitionsAndTheBaseLoops) {
  const KernelTable &mine = kernels();
  const KernelTable &base = knet::detail::kernel_base_table;
  std::mt19937 rng(5);
  std::normal_distribution<float> g(0.0f, 3.0f);
  for (int64_t n : {1, 15, 16, 17, 100, 255, 256, 257, 1000, 4099}) {
    std::vector<float> x(static_cast<size_t>(n));
    for (float &v : x)
      v = g(rng);
    // NaNs are skipped; -inf never beats lowest() but +inf wins.
    if (n > 20) {
      x[3] = std::numeric_limits<float>::quiet_NaN();
      x[n - 2] = -std::numeric_limits<float>::infinity();
    }
    EXPECT_EQ(mine.row_max(x.data(), n), reference_extremum<true>(x)) << n;
    EXPECT_EQ(mine.row_min(x.data(), n), reference_extremum<false>(x)) << n;
    EXPECT_EQ(mine.row_max(x.data(), n), base.row_max(x.data(), n)) << n;
    EXPECT_EQ(mine.row_min(x.data(), n), base.row_min(x.data(), n)) << n;
    if (n > 20) {
      x[3] = 1.0f;
      x[n - 2] = 2.0f;
    }
    double sum = 0;
    for (float v : x)
      sum += v;
    const double s = mine.row_sum(x.data(), n);
    EXPECT_NEAR(s, sum, 1e-12 * n) << n;
    EXPECT_EQ(std::bit_cast<uint64_t>(s),
              std::bit_cast<uint64_t>(base.row_sum(x.data(), n)))
        << n;
    const float m = mine.row_max(x.data(), n);
    double se = 0;
    for (float v : x)
      se += std::exp(static_cast<double>(v - m));
    const double sx = mine.sum_exp_shifted(x.data(), n, m, nullptr);
    EXPECT_NEAR(sx, se, 4e-7 * se) << n;
    // Prefetching the next row changes nothing.
    EXPECT_EQ(sx, mine.sum_exp_shifted(x.data(), n, m, x.data()));
    EXPECT_EQ(
        std::bit_cast<uint64_t>(sx),
        std::bit_cast<uint64_t>(base.sum_exp_shifted(x.data(), n, m, nullptr)))
        << n;
  }
  // Only NaNs: nothing is larger than lowest().
  std::vector<float> nans(40, std::numeric_limits<float>::quiet_NaN());
  EXPECT_EQ(mine.row_max(nans.data(), 40),
            std::numeric_limits<float>::lowest());
  EXPECT_EQ(mine.row_min(nans.data(), 40), std::numeric_limits<float>::max());
}

INSTANTIATE_TEST_SUITE_P(Isas, IsaLoops,
                         ::testing::ValuesIn(vm::supported_isas()),
                         [](const auto &info) { return info.param; });

TEST(IsaLoops, FollowTheVectorMath) {
  const std::string before = vm::isa();
  for (const std::string &isa : vm::supported_isas()) {
    ASSERT_TRUE(vm::set_isa(isa));
    const knet::detail::Isa want = isa == "avx512" ? knet::detail::Isa::avx512
                                   : isa == "avx2" ? knet::detail::Isa::avx2
                                                   : knet::detail::Isa::base;
    EXPECT_EQ(knet::detail::loops_isa(), want) << isa;
  }
  vm::set_isa(before);
}

} // namespace
