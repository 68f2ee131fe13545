//===- Passes.cpp - registration of the knet passes -----------------------===//

#include "knet/Passes/Passes.h"

void mlir::knet::registerPasses() {
  registerAutodiffPass();
  registerFusionPass();
  registerCSEPass();
  registerFoldBatchnormPass();
  registerAccumulatePass();
  registerSplitAdjointPass();
}
