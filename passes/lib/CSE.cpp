//===- CSE.cpp - MLIR's CSE without its quadratic case --------------------===//
//
// MLIR's CSE hashes an operation without its regions, so every scf.if on
// the same condition with the same result types lands in one bucket and is
// compared region by region with all the others: quadratic in the number of
// branches on one condition, which a long compiled function (and its
// adjoint, which branches again on each condition) easily has. knet-cse
// gives each operation with regions a distinct attribute for the duration
// of MLIR's CSE, so such operations are never merged (two identical
// branches or loops are rare in user code and cheap to keep) and the rest
// is CSE as usual, linear in the function.
//
//===----------------------------------------------------------------------===//

#include "knet/Passes/Passes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

namespace {

constexpr llvm::StringLiteral kDistinctAttrName = "knet.cse_distinct";

struct CSEPass : PassWrapper<CSEPass, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(CSEPass)

  StringRef getArgument() const final { return "knet-cse"; }
  StringRef getDescription() const final {
    return "Common subexpression elimination that leaves operations with "
           "regions alone (MLIR's CSE, linear in the function)";
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    Builder b(module.getContext());
    int64_t next = 0;
    module.walk([&](Operation *op) {
      if (op->getNumRegions() != 0 && !isa<func::FuncOp, ModuleOp>(op))
        op->setAttr(kDistinctAttrName, b.getI64IntegerAttr(next++));
    });
    OpPassManager cse(ModuleOp::getOperationName());
    cse.addPass(mlir::createCSEPass());
    LogicalResult result = runPipeline(cse, module);
    module.walk([&](Operation *op) { op->removeAttr(kDistinctAttrName); });
    if (failed(result))
      signalPassFailure();
  }
};

} // namespace

std::unique_ptr<Pass> mlir::knet::createCSEPass() {
  return std::make_unique<CSEPass>();
}

void mlir::knet::registerCSEPass() { PassRegistration<CSEPass>(); }
