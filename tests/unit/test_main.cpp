// The main of every unit test program. A program in which a test was skipped
// (GTEST_SKIP: no NVRTC, no GPU, no compiler) and none failed exits 77, which
// ctest reports as "Not Run" (SKIP_RETURN_CODE): skipped work is never
// reported as passed, and a failure is never hidden behind a skip.
#include <gtest/gtest.h>

int main(int argc, char **argv) {
  ::testing::InitGoogleTest(&argc, argv);
  int rc = RUN_ALL_TESTS();
  const ::testing::UnitTest &unit = *::testing::UnitTest::GetInstance();
  if (rc == 0 && unit.skipped_test_count() > 0)
    return 77;
  return rc;
}
