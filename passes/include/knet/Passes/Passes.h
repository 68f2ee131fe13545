//===- Passes.h - the knet passes -------------------------------*- C++ -*-===//

#ifndef KNET_PASSES_PASSES_H
#define KNET_PASSES_PASSES_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Value.h"
#include "mlir/Pass/Pass.h"

#include "llvm/ADT/SmallVector.h"

#include <memory>

namespace mlir::knet {

/// Registers the knet passes and pipelines with the global registry, for
/// knet-opt and knetc. Canonicalization needs nothing here: the knet ops'
/// folders and patterns run under the core `canonicalize` pass.
void registerPasses();

/// knet-autodiff: for every `func.func @f` of the module (except @*_grad and
/// functions with the unit attribute `knet.no_grad`) adds
/// `@f_grad(f's arguments..., one cotangent per result...) -> (f's
/// results..., one gradient per differentiable argument...)` with the
/// attribute `knet.grad_args` listing the indices of those arguments
/// (docs/ir.md, "Autodiff").
std::unique_ptr<Pass> createAutodiffPass();
void registerAutodiffPass();

/// knet-fuse: groups elementwise ops (and the reductions that end them) into
/// knet.fused kernels with a fallback region (docs/ir.md, "Fusion").
std::unique_ptr<Pass> createFusionPass();
void registerFusionPass();

std::unique_ptr<Pass> createCSEPass();
void registerCSEPass();

/// knet-fold-batchnorm: an inference-mode batchnorm of a conv2d's result
/// becomes one knet.conv2d_batchnorm, in functions that are not adjoints.
std::unique_ptr<Pass> createFoldBatchnormPass();
void registerFoldBatchnormPass();

/// knet-split-adjoint: each @f_grad also as @f_save(args...) -> (results...,
/// saved...) and @f_resume(args..., saved..., cotangents...) ->
/// (gradients...), the forward sweep and the reverse sweep from the values
/// it saved, for a compiled function called from taped code (docs/ir.md,
/// "Split adjoints"). Functions whose saved values would not all be tensors
/// are left whole.
std::unique_ptr<Pass> createSplitAdjointPass();
void registerSplitAdjointPass();

/// knet-accumulate: acc + sum_to(matmul(a, b), like), with no other use of
/// acc, the product or the sum, becomes one knet.matmul_acc (a GEMM adding
/// into acc's buffer at run time when nothing else holds it).
std::unique_ptr<Pass> createAccumulatePass();
void registerAccumulatePass();

/// The StringAttr of @f_save and @f_resume: the name of f.
inline constexpr llvm::StringLiteral kSaveOfAttrName = "knet.save_of";
inline constexpr llvm::StringLiteral kResumeOfAttrName = "knet.resume_of";

/// The unit attribute that marks the ops of a gradient function's reverse
/// sweep (its top-level ops; their regions are reverse code too).
inline constexpr llvm::StringLiteral kReverseAttrName = "knet.reverse";
/// The DenseI64ArrayAttr of a gradient function: the indices of the
/// arguments that get a gradient, in the order of the gradient results.
inline constexpr llvm::StringLiteral kGradArgsAttrName = "knet.grad_args";
/// The unit attribute that keeps knet-autodiff from differentiating a
/// function.
inline constexpr llvm::StringLiteral kNoGradAttrName = "knet.no_grad";

/// A forward value that the reverse sweep of a gradient function keeps
/// alive: pushed on a knet.stack in a loop or branch (`pushed`), or a
/// top-level forward value the reverse sweep reads directly.
struct SavedValue {
  Value value;
  bool pushed;
  /// Where the value is defined (the user's source line, and the variable
  /// name when the frontend gave a NameLoc).
  Location getLoc() const { return value.getLoc(); }
};

/// The values that the reverse sweep of `grad` (an @f_grad made by
/// knet-autodiff, before or after canonicalize/cse) saves from the forward
/// sweep, in the order of the forward code: what `knetc --explain` lists.
/// Function arguments and constants are not listed (they are kept anyway or
/// rebuilt).
llvm::SmallVector<SavedValue> savedForReverse(func::FuncOp grad);

} // namespace mlir::knet

#endif // KNET_PASSES_PASSES_H
