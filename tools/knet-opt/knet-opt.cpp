//===- knet-opt.cpp - runs passes over knet IR ----------------------------===//
//
// Parses knet IR (with func, scf, arith and math), runs the passes named on
// the command line and prints the result: the driver of the IR lit tests.
//
//===----------------------------------------------------------------------===//

#include "TestPasses.h"
#include "knet/IR/KnetDialect.h"
#include "knet/Passes/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/Extensions/InlinerExtension.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  registry.insert<mlir::knet::KnetDialect, mlir::func::FuncDialect,
                  mlir::scf::SCFDialect, mlir::arith::ArithDialect,
                  mlir::math::MathDialect>();
  mlir::func::registerInlinerExtension(registry);
  mlir::knet::registerAdjointExternalModels(registry);

  // canonicalize, cse, inline, symbol-dce, ... and the project's passes.
  mlir::registerTransformsPasses();
  mlir::knet::registerPasses();
  mlir::knet::test::registerTestPasses();

  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "knet IR driver\n", registry));
}
