//===- EmitCpp.h - knet IR to host C++ --------------------------*- C++ -*-===//
//
// Prints, for every function @f of a module (with its adjoint @f_grad made by
// knet-autodiff), readable C++ that implements the runtime ABI of
// runtime/include/knet/compiled.h:
//
//   static std::vector<knet::Tensor>
//   knet_f_forward(const std::vector<knet::Tensor> &in);
//   static std::vector<knet::Tensor>
//   knet_f_grad(const std::vector<knet::Tensor> &in,
//               const std::vector<knet::Tensor> &dout,
//               std::vector<knet::Tensor> &din);
//   static const knet::detail::CompiledFunction knet_f_compiled{...};
//   const knet::detail::CompiledFunction &knet_compiled_f();
//
// One C++ statement per op, named after the user's variables (NameLoc),
// structured control flow as C++ loops and ifs. Every op maps to its runtime
// call through one table (CppOpTable.cpp); an op without an entry is an error
// at the op's location. See docs/codegen.md.
//
//===----------------------------------------------------------------------===//

#ifndef KNET_CODEGEN_EMITCPP_H
#define KNET_CODEGEN_EMITCPP_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LogicalResult.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/raw_ostream.h"

#include <string>

namespace mlir::knet {

struct EmitOptions {
  /// Print the #include lines the generated code needs.
  bool includes = true;
  /// Print `// file:line` comments where the user's source line changes.
  bool locationComments = true;
  /// Give the accessors (knet_compiled_f) external linkage so that another
  /// translation unit can call them (tests). knetc keeps them static: the
  /// generated code lives in the user's translation unit.
  bool externalAccessors = false;
  /// Print only the forward functions (no @f_grad needed, no
  /// CompiledFunction): for reading and for tests of single ops.
  bool forwardOnly = false;
};

/// Prints the C++ of every function of `module` with a body (functions named
/// `<f>_grad` are printed as the adjoint of `<f>`). Reports unsupported ops
/// and types at their location and returns failure.
/// A C++ identifier made of `name`'s letters, digits and underscores: the
/// emitter names a function's code after it (knet_compiled_<id>), and the
/// source rewriter refers to it by the same rule.
std::string cppIdentifier(llvm::StringRef name);

/// The C++ operator of an arith.cmpf/cmpi ("<", "==", ...), or an empty
/// string for a predicate C++ has no operator for.
std::string cppComparisonOperator(mlir::Operation &op);

/// A double as the shortest C++ literal that reads back the same value
/// ("0.5", "1.0", "1e+20"; infinities and NaN through std::numeric_limits).
std::string cppDoubleLiteral(double v);

mlir::LogicalResult emitCpp(mlir::ModuleOp module, llvm::raw_ostream &os,
                            const EmitOptions &options = {});

/// The C++ call pattern of an op (see CppOpTable.cpp for the placeholders),
/// or an empty string when the table has no entry for `opName`.
llvm::StringRef lookupCppPattern(llvm::StringRef opName);

} // namespace mlir::knet

#endif // KNET_CODEGEN_EMITCPP_H
