//===- Passes.cpp - registration of the knet passes -----------------------===//

#include "knet/Passes/Passes.h"

void mlir::knet::registerPasses() {
  // The passes of DESIGN §6 register here as they land (Passes.td).
  registerAutodiffPass();
  registerFusionPass();
  registerCSEPass();
  registerTestPasses();
}
