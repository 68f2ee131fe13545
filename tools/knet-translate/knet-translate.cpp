//===- knet-translate.cpp - translates knet IR to C++ ---------------------===//
//
// MlirTranslateMain with three translations over knet IR (with func, scf,
// arith and math), parsed and verified:
//   --emit-cpp         the host C++ of every @f with its @f_grad
//                      (codegen/EmitCpp);
//   --emit-op-kernels  the runtime's table of single-op kernels,
//                      runtime/jit/op_kernels.inc, from the fused
//                      runtime/jit/op_kernels.mlir (codegen/EmitKernels);
//   --emit-op-bodies   the scalar bodies of its elementwise ops as C++
//                      function templates, runtime/ops/op_bodies.inc: the
//                      runtime's CPU lambdas of those ops.
//
//===----------------------------------------------------------------------===//

#include "knet/Codegen/EmitCpp.h"
#include "knet/Codegen/EmitKernels.h"
#include "knet/IR/KnetDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-translate/MlirTranslateMain.h"
#include "mlir/Tools/mlir-translate/Translation.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringExtras.h"
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

void registerDialects(mlir::DialectRegistry &registry) {
  registry.insert<mlir::knet::KnetDialect, mlir::func::FuncDialect,
                  mlir::scf::SCFDialect, mlir::arith::ArithDialect,
                  mlir::math::MathDialect>();
}

/// Registers a translation of a builtin.module to text.
void registerModuleTranslation(
    llvm::StringRef name, llvm::StringRef description,
    mlir::LogicalResult (*translate)(mlir::ModuleOp, llvm::raw_ostream &)) {
  mlir::TranslateFromMLIRRegistration registration(
      name, description,
      [translate](mlir::Operation *op,
                  llvm::raw_ostream &os) -> mlir::LogicalResult {
        auto module = llvm::dyn_cast<mlir::ModuleOp>(op);
        if (!module)
          return op->emitError("expected a builtin.module");
        return translate(module, os);
      },
      registerDialects);
}

mlir::LogicalResult emitCpp(mlir::ModuleOp module, llvm::raw_ostream &os) {
  mlir::knet::EmitOptions options;
  options.locationComments = !noLocations;
  options.includes = !noIncludes;
  options.externalAccessors = externalAccessors;
  options.forwardOnly = forwardOnly;
  return mlir::knet::emitCpp(module, os, options);
}

/// The ops of runtime/jit/op_kernels.mlir after knet-fuse=singletons=true:
/// each function of `module` holds one knet.fused op (one op) and is named
/// after that op.
mlir::FailureOr<llvm::SmallVector<std::pair<std::string, mlir::knet::FusedOp>>>
singleOps(mlir::ModuleOp module) {
  llvm::SmallVector<std::pair<std::string, mlir::knet::FusedOp>> ops;
  for (auto f : module.getOps<mlir::func::FuncOp>()) {
    llvm::StringRef op = f.getSymName();
    if (op.empty() || llvm::isDigit(op.front()) ||
        !llvm::all_of(op, [](char c) { return llvm::isAlnum(c) || c == '_'; }))
      return f.emitError("a function of the op table is named after its op, "
                         "a C identifier");
    llvm::SmallVector<mlir::knet::FusedOp> fused;
    f.walk([&](mlir::knet::FusedOp k) { fused.push_back(k); });
    if (fused.size() != 1)
      return f.emitError("expected one knet.fused op, found ")
             << fused.size() << " (run knet-opt --knet-fuse=singletons=true)";
    ops.emplace_back(op.str(), fused.front());
  }
  return ops;
}

/// The table of single-op kernels: the kernel of each function's knet.fused
/// op is knet_op_<function> in the table, under the function's name.
mlir::LogicalResult emitOpKernels(mlir::ModuleOp module,
                                  llvm::raw_ostream &os) {
  auto single = singleOps(module);
  if (mlir::failed(single))
    return mlir::failure();
  llvm::DenseMap<mlir::Operation *, std::string> names;
  llvm::SmallVector<std::string> ops;
  for (auto &[op, fused] : *single) {
    names[fused] = "knet_op_" + op;
    ops.push_back(op);
  }
  mlir::knet::KernelOptions options;
  auto name = [&](mlir::knet::FusedOp op) { return names.lookup(op); };
  options.name = name;
  options.rowFunctions = false;
  mlir::FailureOr<llvm::SmallVector<mlir::knet::KernelSource>> kernels =
      mlir::knet::emitKernels(module, options);
  if (mlir::failed(kernels))
    return mlir::failure();
  os << R"(// Generated by knet-translate --emit-op-kernels from
// runtime/jit/op_kernels.mlir; do not edit. Regenerate with
// scripts/gen-op-kernels.sh (knet-opt --knet-fuse=singletons=true, then
// knet-translate --emit-op-kernels); tests/lit/codegen/op-kernels.mlir checks
// that this file is up to date.
//
// The runtime's GPU kernels of single ops, made by the same emitter as the
// fused kernels of compiled models (codegen/EmitKernels, docs/codegen.md,
// "Fused kernels"): per op, a FusedKernel whose CUDA C the runtime compiles
// with NVRTC, specialized by runtime/jit/specialize.h. Inputs are the op's
// operands in order (sum_to: x, then like, read for its shape only); float
// operands may be f32 or f64 (KNET_T), bool ones are b8. Row functions are
// null: these kernels only run as CUDA C.
//
// Reductions (sum, mean, max, min) are emitted over all dims (dims null,
// keepdim false): their CUDA source does not depend on which dims are
// reduced, only on KNET_RANK, KNET_RRANK and the arguments (sizes, strides,
// rn, rsizes, rstrides), so the runtime uses them for any dims and keepdim.
#pragma once

#include <knet/fused.h>

namespace knet::detail::op_kernels {

)";
  for (const mlir::knet::KernelSource &k : *kernels)
    os << k.cpp;
  os << "struct Entry {\n"
     << "  const char *op; // the knet op: \"add\", \"relu_back\", "
        "\"sum\", ...\n"
     << "  const FusedKernel *kernel;\n"
     << "};\n\n"
     << "// In the order of runtime/jit/op_kernels.mlir.\n"
     << "constexpr Entry entries[] = {\n";
  for (const std::string &op : ops)
    os << "    {\"" << op << "\", &knet_op_" << op << "_kernel},\n";
  os << "};\n\n} // namespace knet::detail::op_kernels\n";
  return mlir::success();
}

/// The scalar body of each elementwise op of the table (reductions have
/// none) as `knet::detail::body::<op>`.
mlir::LogicalResult emitOpBodies(mlir::ModuleOp module, llvm::raw_ostream &os) {
  auto single = singleOps(module);
  if (mlir::failed(single))
    return mlir::failure();
  os << R"(// Generated by knet-translate --emit-op-bodies from
// runtime/jit/op_kernels.mlir; do not edit. Regenerate with
// scripts/gen-op-kernels.sh; tests/lit/codegen/op-kernels.mlir checks that
// this file is up to date.
//
// The per-element body of each elementwise op of the knet dialect, as the
// op's buildScalar states it in ir/include/knet/IR/KnetOps.td, printed by the
// fused-kernel emitter: the runtime's CPU kernels of these ops call them, so
// an op's scalar formula is written once for the tape, the compiled code and
// the fused kernels. T is the float type (float or double); bool for b8.
// A body that calls vector math also has a blocked form, <op>_block, over
// knet::detail::vm::kBlock elements of arrays (knet/vmath.h), listed in
// KNET_BLOCKED_BODIES. The bodies live in the inline namespace KNET_ISA,
// the instruction set of the file that includes them (core/isa.h).
#pragma once

#include <knet/vmath.h>

#include <cmath>
#include <cstdint>

#ifndef KNET_ISA
#define KNET_ISA base
#endif

namespace knet::detail::body {
inline namespace KNET_ISA {

)";
  std::string blocked;
  for (auto &[op, fused] : *single) {
    if (fused.getReduce())
      continue;
    mlir::FailureOr<std::string> fn = mlir::knet::emitScalarFunction(fused, op);
    if (mlir::failed(fn))
      return mlir::failure();
    os << *fn << "\n";
    if (llvm::StringRef(*fn).contains("_block("))
      blocked += " \\\n  X(" + op + ", " +
                 std::to_string(fused.getInputs().size()) + ")";
  }
  os << "} // namespace KNET_ISA\n"
     << "} // namespace knet::detail::body\n\n"
     << "// The ops with a blocked form, X(op, number of inputs) each.\n"
     << "#define KNET_BLOCKED_BODIES(X)" << blocked << "\n";
  return mlir::success();
}

} // namespace

int main(int argc, char **argv) {
  registerModuleTranslation(
      "emit-cpp", "knet IR to host C++ over the knet runtime", emitCpp);
  registerModuleTranslation(
      "emit-op-kernels",
      "fused single-op knet IR to the runtime's op kernel table (C++)",
      emitOpKernels);
  registerModuleTranslation(
      "emit-op-bodies",
      "fused single-op knet IR to the runtime's scalar bodies (C++)",
      emitOpBodies);
  return mlir::failed(
      mlir::mlirTranslateMain(argc, argv, "knet IR translation driver\n"));
}
