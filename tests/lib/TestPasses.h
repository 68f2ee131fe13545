//===- TestPasses.h - passes for lit tests only -----------------*- C++ -*-===//
//
// Passes that exist for lit tests only (knet-test-*), registered by knet-opt
// beside the real ones (as MLIR keeps its test passes in test/lib).
//
//===----------------------------------------------------------------------===//

#ifndef KNET_TESTS_LIB_TESTPASSES_H
#define KNET_TESTS_LIB_TESTPASSES_H

namespace mlir::knet::test {

/// Registers every test pass.
void registerTestPasses();
/// knet-test-saved-values (TestSavedValues.cpp).
void registerTestSavedValuesPass();

} // namespace mlir::knet::test

#endif // KNET_TESTS_LIB_TESTPASSES_H
