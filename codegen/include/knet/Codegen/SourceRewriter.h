//===- SourceRewriter.h - the *.knet.cpp translation unit -------*- C++ -*-===//
//
// knetc's output translation unit: the user's file with the body of each
// statically compiled KNET_COMPILE function replaced by a dispatch into the
// generated code (knet::detail::run_compiled over the flattened arguments),
// the generated code appended, and each function registered under its
// address so that is_compiled, diff and value_and_grad find it.
//
//===----------------------------------------------------------------------===//

#ifndef KNET_CODEGEN_SOURCEREWRITER_H
#define KNET_CODEGEN_SOURCEREWRITER_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace clang {
class ASTContext;
class FunctionDecl;
} // namespace clang

namespace mlir::knet {

struct CompiledDecl {
  const clang::FunctionDecl *decl;
  std::string id; // cppIdentifier of the symbol: knet_compiled_<id>()
  // Tensor& parameters whose final values follow the results (the
  // frontend's knet.inout result attributes), assigned back in order.
  std::vector<std::string> inout;
};

/// The rewritten main file of `ast`; `generated` is the emitter's output for
/// the same functions.
llvm::Expected<std::string> rewriteSource(clang::ASTContext &ast,
                                          llvm::ArrayRef<CompiledDecl> fns,
                                          llvm::StringRef generated);

} // namespace mlir::knet

#endif // KNET_CODEGEN_SOURCEREWRITER_H
