// knet-opt's parser and passes on any text: parse (diagnostics swallowed),
// verify, then canonicalize, knet-autodiff, knet-cse, knet-fold-batchnorm
// and knet-fuse on what verifies. A failure is an answer; a crash is not.
#include "knet/IR/KnetDialect.h"
#include "knet/Passes/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"

#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static mlir::DialectRegistry *registry = [] {
    auto *r = new mlir::DialectRegistry;
    r->insert<mlir::knet::KnetDialect, mlir::func::FuncDialect,
              mlir::arith::ArithDialect, mlir::math::MathDialect,
              mlir::scf::SCFDialect>();
    mlir::knet::registerAdjointExternalModels(*r);
    return r;
  }();
  mlir::MLIRContext ctx(*registry);
  ctx.allowUnregisteredDialects(false);
  ctx.loadAllAvailableDialects();
  mlir::ScopedDiagnosticHandler quiet(
      &ctx, [](mlir::Diagnostic &) { return mlir::success(); });
  std::string text(reinterpret_cast<const char *>(data), size);
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceString<mlir::ModuleOp>(text, &ctx);
  if (!module || mlir::failed(mlir::verify(*module)))
    return 0;
  mlir::PassManager pm(&ctx);
  pm.addPass(mlir::createCanonicalizerPass());
  pm.addPass(mlir::knet::createAutodiffPass());
  pm.addPass(mlir::createCanonicalizerPass());
  pm.addPass(mlir::knet::createCSEPass());
  pm.addPass(mlir::knet::createFoldBatchnormPass());
  pm.addPass(mlir::knet::createFusionPass());
  (void)pm.run(*module);
  return 0;
}
