//===- TestScalarBodies.cpp - wraps elementwise ops in knet.fused ---------===//
//
// knet-test-scalar-bodies replaces every op with a scalar body
// (ScalarElementwiseOpInterface) by a one-op knet.fused kernel built from
// buildScalar, so that lit tests can check each op's per-element body.
//
//===----------------------------------------------------------------------===//

#include "TestPasses.h"

#include "knet/IR/KnetDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/TypeUtilities.h"
#include "mlir/Pass/Pass.h"

using namespace mlir;
using namespace mlir::knet;

namespace {
struct TestScalarBodiesPass
    : public PassWrapper<TestScalarBodiesPass, OperationPass<>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(TestScalarBodiesPass)

  StringRef getArgument() const final { return "knet-test-scalar-bodies"; }
  StringRef getDescription() const final {
    return "Wrap each scalar-elementwise knet op in a knet.fused kernel "
           "built from its buildScalar (a test of the scalar bodies)";
  }
  void getDependentDialects(DialectRegistry &registry) const override {
    registry.insert<arith::ArithDialect, math::MathDialect, KnetDialect>();
  }

  void runOnOperation() override {
    SmallVector<ScalarElementwiseOpInterface> ops;
    getOperation()->walk([&](ScalarElementwiseOpInterface op) {
      if (!op->getParentOfType<FusedOp>())
        ops.push_back(op);
    });
    for (ScalarElementwiseOpInterface op : ops) {
      Location loc = op->getLoc();
      OpBuilder b(op);
      auto fused =
          b.create<FusedOp>(loc, op->getResultTypes(), op->getOperands(),
                            ArrayRef<NamedAttribute>{});
      Block *body = b.createBlock(&fused.getBody());
      SmallVector<Value> scalars;
      for (Value v : op->getOperands())
        scalars.push_back(
            body->addArgument(getElementTypeOrSelf(v.getType()), loc));
      b.setInsertionPointToStart(body);
      Value result = op.buildScalar(b, scalars);
      b.create<YieldOp>(loc, ValueRange{result});
      op->replaceAllUsesWith(fused);
      op->erase();
    }
  }
};
} // namespace

void mlir::knet::test::registerTestPasses() {
  PassRegistration<TestScalarBodiesPass>();
  registerTestSavedValuesPass();
}
