//===- knet-translate.cpp - translates knet IR to C++ ---------------------===//
//
// MlirTranslateMain with one translation, --emit-cpp: parses knet IR (with
// func, scf, arith and math), verifies it and prints the host C++ of every
// @f with its @f_grad (codegen/EmitCpp).
//
//===----------------------------------------------------------------------===//

#include "knet/Codegen/EmitCpp.h"
#include "knet/IR/KnetDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-translate/MlirTranslateMain.h"
#include "mlir/Tools/mlir-translate/Translation.h"

#include "llvm/Support/CommandLine.h"

namespace {

llvm::cl::opt<bool>
    noLocations("knet-no-locations",
                llvm::cl::desc("emit-cpp: no `// file:line` comments"));
llvm::cl::opt<bool> noIncludes("knet-no-includes",
                               llvm::cl::desc("emit-cpp: no #include lines"));
llvm::cl::opt<bool> externalAccessors(
    "knet-external-accessors",
    llvm::cl::desc("emit-cpp: accessors knet_compiled_<f>() with external "
                   "linkage (for tests that link against them)"));
llvm::cl::opt<bool> forwardOnly(
    "knet-forward-only",
    llvm::cl::desc("emit-cpp: only the forward functions (no @f_grad needed)"));

void registerEmitCpp() {
  mlir::TranslateFromMLIRRegistration registration(
      "emit-cpp", "knet IR to host C++ over the knet runtime",
      [](mlir::Operation *op, llvm::raw_ostream &os) -> mlir::LogicalResult {
        auto module = llvm::dyn_cast<mlir::ModuleOp>(op);
        if (!module)
          return op->emitError("expected a builtin.module");
        mlir::knet::EmitOptions options;
        options.locationComments = !noLocations;
        options.includes = !noIncludes;
        options.externalAccessors = externalAccessors;
        options.forwardOnly = forwardOnly;
        return mlir::knet::emitCpp(module, os, options);
      },
      [](mlir::DialectRegistry &registry) {
        registry.insert<mlir::knet::KnetDialect, mlir::func::FuncDialect,
                        mlir::scf::SCFDialect, mlir::arith::ArithDialect,
                        mlir::math::MathDialect>();
      });
}

} // namespace

int main(int argc, char **argv) {
  registerEmitCpp();
  return mlir::failed(
      mlir::mlirTranslateMain(argc, argv, "knet IR translation driver\n"));
}
