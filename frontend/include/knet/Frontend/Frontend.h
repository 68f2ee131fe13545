//===- Frontend.h - Clang AST to knet IR ------------------------*- C++ -*-===//
//
// Lowers the KNET_COMPILE functions of a translation unit to the knet IR
// (knet + func + scf + arith + math), and says for each one whether it
// compiles statically or stays on the dynamic tape, and why.
//
// Two kinds of unsupported input, never confused:
//  - wrong in either mode (writing a Param's value, changing a tensor in
//    place, differentiating through an integer): a Clang error with the
//    source location; the translation unit fails;
//  - not statically resolvable (recursion, a call into a body it cannot see,
//    loops over non-tensor data, pointers to user data): the function stays
//    on the tape and its report names the line and the reason.
//
//===----------------------------------------------------------------------===//

#ifndef KNET_FRONTEND_FRONTEND_H
#define KNET_FRONTEND_FRONTEND_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

#include <string>
#include <vector>

namespace clang {
class ASTContext;
class ASTConsumer;
class FunctionDecl;
} // namespace clang

namespace mlir {
class DialectRegistry;
class MLIRContext;
} // namespace mlir

namespace mlir::knet::frontend {

/// What became of one KNET_COMPILE function.
struct FunctionReport {
  enum class Status { Compiled, Tape, Error };
  std::string name;   // qualified C++ name
  std::string symbol; // the func.func's name in the module
  const clang::FunctionDecl *decl = nullptr;
  std::string file;
  unsigned line = 0;
  Status status = Status::Compiled;
  // Where and why it stays on the tape (the first reason).
  std::string reason;
  std::string reasonFile;
  unsigned reasonLine = 0;
  // Further reasons, from later statements of the function's body that do
  // not depend on a statement already found to stay on the tape.
  struct Reason {
    std::string file;
    unsigned line = 0;
    std::string why;
  };
  std::vector<Reason> moreReasons;
};

/// The result for one translation unit.
struct TranslationUnitResult {
  mlir::OwningOpRef<mlir::ModuleOp> module;
  std::vector<FunctionReport> reports;
  bool hadError = false;
};

/// Registers the dialects the frontend emits (knet, func, scf, arith, math).
void registerDialects(mlir::DialectRegistry &registry);

/// Lowers every KNET_COMPILE function defined in the main file of `ast`.
/// Errors are reported through the ASTContext's DiagnosticsEngine.
/// `testInvalidIR` (tests only, knetc --knetc-test-invalid-ir) names a
/// function whose lowered IR is broken on purpose before it is verified.
TranslationUnitResult lowerTranslationUnit(clang::ASTContext &ast,
                                           mlir::MLIRContext &context,
                                           llvm::StringRef testInvalidIR = {});

} // namespace mlir::knet::frontend

#endif // KNET_FRONTEND_FRONTEND_H
