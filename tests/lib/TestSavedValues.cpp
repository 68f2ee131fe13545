//===- TestSavedValues.cpp - prints what reverse sweeps save --------------===//
//
// knet-test-saved-values emits a remark at each value that the reverse sweep
// of a gradient function (knet.grad_args) saves from its forward sweep, as
// savedForReverse lists them: the lit test of the API behind
// `knetc --explain`.
//
//===----------------------------------------------------------------------===//

#include "TestPasses.h"

#include "knet/Passes/Passes.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

using namespace mlir;
using namespace mlir::knet;

namespace {
struct TestSavedValuesPass
    : public PassWrapper<TestSavedValuesPass, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(TestSavedValuesPass)

  StringRef getArgument() const final { return "knet-test-saved-values"; }
  StringRef getDescription() const final {
    return "Remark at each forward value that a gradient function's reverse "
           "sweep saves (savedForReverse)";
  }

  void runOnOperation() override {
    for (auto f : getOperation().getOps<func::FuncOp>()) {
      if (!f->hasAttr(kGradArgsAttrName))
        continue;
      for (const SavedValue &s : savedForReverse(f))
        emitRemark(s.getLoc())
            << "saved for the reverse sweep of @" << f.getName()
            << (s.pushed ? ": pushed on a stack" : ": read after the forward");
    }
  }
};
} // namespace

void mlir::knet::test::registerTestSavedValuesPass() {
  PassRegistration<TestSavedValuesPass>();
}
