// Helpers shared by the unit tests.
#pragma once

#include <knet/autograd.h>
#include <knet/knet.h>
#include <knet/vmath.h>

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

namespace knet::testing {

// A deterministic f64 tensor with values in [lo, hi).
Tensor rand_f64(const Shape &shape, double lo = -1.0, double hi = 1.0,
                uint64_t seed = 1);
Tensor rand_f32(const Shape &shape, double lo = -1.0, double hi = 1.0,
                uint64_t seed = 1);

// Every element of a and b (any dtypes, same shape) within atol + rtol*|b|.
::testing::AssertionResult all_close(const Tensor &a, const Tensor &b,
                                     double rtol = 1e-6, double atol = 1e-9);

// Checks the tape's gradient of sum(f(inputs) * R), R fixed random weights,
// against central differences (f64, eps 1e-6) for every input. Inputs must
// be f64 (integer inputs are passed through untracked).
::testing::AssertionResult
check_grads(const std::function<Tensor(const std::vector<Tensor> &)> &f,
            const std::vector<Tensor> &inputs, double tol = 1e-6);

// A fixture for tests parametrized by instruction set
// (::testing::ValuesIn(detail::vm::supported_isas())): each test runs with
// the vector math, and so the runtime's loops, in its set, and the set in
// use before is restored after.
class InstructionSets : public ::testing::TestWithParam<std::string> {
protected:
  void SetUp() override {
    before_ = detail::vm::isa();
    ASSERT_TRUE(detail::vm::set_isa(GetParam()));
  }
  void TearDown() override { detail::vm::set_isa(before_); }

private:
  std::string before_;
};

} // namespace knet::testing
