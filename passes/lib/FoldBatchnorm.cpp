//===- FoldBatchnorm.cpp - inference batchnorm folded into its conv2d -----===//
//
// knet-fold-batchnorm: in the functions that are not adjoints (@f itself,
// which the compiled ABI runs when no gradient is taken), an inference-mode
// knet.batchnorm (training = false) of a knet.conv2d's result becomes one
// knet.conv2d_batchnorm: the convolution with weights scaled per output
// channel plus a per-channel shift (runtime: conv2d_batchnorm), which saves
// a pass over the activations. A convolution whose uses are all in the
// branches of one scf.if (a run-time training flag) is first cloned into
// each branch that uses it, so the training branch keeps its own.
//
//===----------------------------------------------------------------------===//

#include "knet/IR/KnetDialect.h"
#include "knet/Passes/Passes.h"

#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"

using namespace mlir;
using namespace mlir::knet;

namespace {

/// Clones `conv` into each region of `branch` that uses it (at the start of
/// its block) and erases it. False when some use lies outside `branch`.
bool sinkInto(Conv2dOp conv, scf::IfOp branch) {
  if (conv->getBlock() != branch->getBlock() ||
      !llvm::all_of(conv->getUsers(),
                    [&](Operation *u) { return branch->isProperAncestor(u); }))
    return false;
  for (Region *region : {&branch.getThenRegion(), &branch.getElseRegion()}) {
    if (region->empty())
      continue;
    auto inRegion = [&](OpOperand &use) {
      return region->isAncestor(use.getOwner()->getParentRegion());
    };
    if (llvm::none_of(conv->getUses(), inRegion))
      continue;
    OpBuilder b = OpBuilder::atBlockBegin(&region->front());
    Operation *copy = b.clone(*conv);
    conv.getResult().replaceUsesWithIf(copy->getResult(0), inRegion);
  }
  conv->erase();
  return true;
}

struct FoldBatchnormPass
    : PassWrapper<FoldBatchnormPass, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(FoldBatchnormPass)

  StringRef getArgument() const final { return "knet-fold-batchnorm"; }
  StringRef getDescription() const final {
    return "Folds inference-mode batchnorms into the conv2d before them (in "
           "functions that are not adjoints)";
  }

  void runOnOperation() override {
    for (auto f : getOperation().getOps<func::FuncOp>()) {
      if (f->hasAttr(kGradArgsAttrName))
        continue;
      SmallVector<BatchnormOp> inference;
      f.walk([&](BatchnormOp bn) {
        if (auto t = bn.getTrainingAttr(); t && !t.getValue())
          inference.push_back(bn);
      });
      for (BatchnormOp bn : inference) {
        auto conv = bn.getX().getDefiningOp<Conv2dOp>();
        if (conv && !conv->hasOneUse()) {
          auto branch = bn->getParentOfType<scf::IfOp>();
          if (!branch || !sinkInto(conv, branch))
            continue;
          conv = bn.getX().getDefiningOp<Conv2dOp>();
        }
        if (!conv || !conv->hasOneUse())
          continue;
        OperationState st(bn.getLoc(), Conv2dBatchnormOp::getOperationName());
        st.addOperands(
            {conv.getX(), conv.getW(), bn.getMoments(), bn.getParams()});
        st.addTypes(bn.getResult().getType());
        st.addAttributes(conv->getAttrs());
        if (Attribute eps = bn->getAttr("eps"))
          st.addAttribute("eps", eps);
        OpBuilder b(bn);
        Operation *folded = b.create(st);
        bn.getResult().replaceAllUsesWith(folded->getResult(0));
        bn->erase();
        conv->erase();
      }
    }
  }
};

} // namespace

std::unique_ptr<Pass> mlir::knet::createFoldBatchnormPass() {
  return std::make_unique<FoldBatchnormPass>();
}

void mlir::knet::registerFoldBatchnormPass() {
  PassRegistration<FoldBatchnormPass>();
}
