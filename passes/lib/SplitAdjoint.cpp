//===- SplitAdjoint.cpp - an adjoint split at its forward's end -----------===//
//
// knet-split-adjoint: for a compiled function called from code that stays on
// the tape, the runtime records one node whose backward runs the reverse
// sweep. With @f_grad alone that node must run the forward again. This pass
// splits @f_grad where its forward sweep ends:
//
//   @f_save(args...) -> (results..., saved...)
//   @f_resume(args..., saved..., cotangents...) -> (gradients...)
//
// @f_save runs the forward sweep and returns, after f's results, the
// forward values that the reverse sweep reads (its residuals); @f_resume is
// the reverse sweep over them. A top-level op of @f_grad belongs to the
// reverse sweep when it reads a cotangent or a value of the reverse sweep,
// or when knet-autodiff marked it (knet.reverse) and what it reads can be
// saved; every other op is forward.
// Constants, and pure scalar ops (and knet.scalar) over arguments and
// constants, are recomputed by @f_resume rather than saved.
//
// A function is left whole (the runtime then reruns its forward) when a
// residual is not a tensor (a knet.stack of a loop, a list, a scalar
// computed from tensors), when an op computes both a result and part of the
// reverse sweep (a branch canonicalize merged with its adjoint), or when it
// carries batchnorm state (moments, knet.inout results).
//
//===----------------------------------------------------------------------===//

#include "knet/IR/KnetDialect.h"
#include "knet/Passes/Passes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "llvm/ADT/SetVector.h"

using namespace mlir;
using namespace mlir::knet;

namespace {

/// The top-level ops of `f`'s body in order (the terminator excluded).
SmallVector<Operation *> topLevelOps(func::FuncOp f) {
  SmallVector<Operation *> ops;
  for (Operation &op : f.getBody().front().without_terminator())
    ops.push_back(&op);
  return ops;
}

/// Erases the ops of `ops` (in order) that nothing uses, last first.
void eraseUnused(ArrayRef<Operation *> ops) {
  for (Operation *op : llvm::reverse(ops))
    if (op->use_empty())
      op->erase();
}

struct Split {
  /// Per top-level op of @f_grad: whether it belongs to the reverse sweep.
  SmallVector<bool> reverse;
  /// Forward values the reverse sweep reads from @f_save.
  llvm::SetVector<Value> saved;
};

/// Whether forward value `v` can be recomputed by @f_resume instead of
/// saved: a constant, or a pure region-free scalar op (or knet.scalar) over
/// arguments and such values.
bool recomputable(Value v) {
  if (isa<BlockArgument>(v))
    return true;
  Operation *def = v.getDefiningOp();
  if (matchPattern(def, m_Constant()))
    return true;
  if ((isa<TensorType>(v.getType()) && !isa<ScalarOp>(def)) ||
      def->getNumRegions() || !isMemoryEffectFree(def))
    return false;
  return llvm::all_of(def->getOperands(), recomputable);
}

/// Plans the split of `grad` (of a function with `numArgs` arguments and
/// `numResults` results), or nullopt when it is left whole.
std::optional<Split> planSplit(func::FuncOp grad, unsigned numArgs,
                               unsigned numResults) {
  Block &entry = grad.getBody().front();
  auto ret = cast<func::ReturnOp>(entry.getTerminator());
  llvm::DenseSet<Value> reverseValues;
  for (unsigned i = 0; i < numResults; ++i)
    reverseValues.insert(entry.getArgument(numArgs + i));
  Split s;
  SmallVector<Operation *> ops = topLevelOps(grad);
  // Whether every value `op` reads from the forward sweep can reach
  // @f_resume: saved (a tensor) or recomputed.
  auto readsSaveable = [&](Operation *op) {
    bool ok = true;
    op->walk([&](Operation *inner) {
      for (Value v : inner->getOperands())
        ok &= reverseValues.contains(v) || v.getParentBlock() != &entry ||
              isa<TensorType>(v.getType()) || recomputable(v);
    });
    return ok;
  };
  for (Operation *op : ops) {
    bool reverse = false;
    op->walk([&](Operation *inner) {
      for (Value v : inner->getOperands())
        reverse |= reverseValues.contains(v);
    });
    // An op knet-autodiff placed in the reverse sweep that reads no
    // cotangent (zeros_like(x), an element of a forward list) stays there
    // unless it reads what cannot be saved (the list): then @f_save computes
    // it.
    if (!reverse && op->hasAttr(kReverseAttrName))
      reverse = readsSaveable(op);
    s.reverse.push_back(reverse);
    if (reverse)
      reverseValues.insert(op->getResults().begin(), op->getResults().end());
  }
  // A forward value the reverse sweep reads.
  auto need = [&](Value v) {
    if (reverseValues.contains(v) || v.getParentBlock() != &entry ||
        recomputable(v))
      return true;
    if (!isa<TensorType>(v.getType()))
      return false;
    s.saved.insert(v);
    return true;
  };
  for (auto [op, reverse] : llvm::zip(ops, s.reverse)) {
    if (!reverse)
      continue;
    bool ok = true;
    op->walk([&](Operation *inner) {
      for (Value v : inner->getOperands())
        ok &= need(v);
    });
    if (!ok)
      return std::nullopt;
  }
  // A result computed by the reverse sweep (canonicalize merged a branch of
  // the forward with its adjoint) leaves the function whole.
  for (Value v : ret.getOperands().take_front(numResults))
    if (reverseValues.contains(v))
      return std::nullopt;
  return s;
}

void splitAdjoint(ModuleOp module, func::FuncOp f, func::FuncOp grad) {
  const unsigned numArgs = f.getNumArguments();
  const unsigned numResults = f.getNumResults();
  if (grad.getNumArguments() != numArgs + numResults ||
      !grad.getBody().hasOneBlock())
    return;
  if (llvm::any_of(f.getArgumentTypes(),
                   [](Type t) { return isa<MomentsType>(t); }))
    return;
  for (unsigned i = 0; i < numResults; ++i)
    if (f.getResultAttr(i, "knet.inout"))
      return;
  if (grad.walk([](BatchnormOp) { return WalkResult::interrupt(); })
          .wasInterrupted())
    return;
  std::optional<Split> plan = planSplit(grad, numArgs, numResults);
  if (!plan)
    return;
  // A saved value's op, by position, in a clone of `grad`.
  DenseMap<Operation *, unsigned> position;
  for (auto [k, op] : llvm::enumerate(topLevelOps(grad)))
    position[op] = k;
  auto inClone = [&](ArrayRef<Operation *> ops, Value v) {
    return ops[position.lookup(v.getDefiningOp())]->getResult(
        cast<OpResult>(v).getResultNumber());
  };
  OpBuilder b(module.getContext());
  b.setInsertionPointAfter(grad);
  MLIRContext *ctx = module.getContext();
  auto fname = StringAttr::get(ctx, f.getSymName());

  // @f_save: the forward ops, returning the results and the saved values.
  auto save = cast<func::FuncOp>(b.clone(*grad));
  save.setName((f.getSymName() + "_save").str());
  save->removeAttr(kGradArgsAttrName);
  save->setAttr(kSaveOfAttrName, fname);
  {
    Block &entry = save.getBody().front();
    SmallVector<Operation *> ops = topLevelOps(save);
    Operation *ret = entry.getTerminator();
    SmallVector<Value> results(ret->getOperands().take_front(numResults));
    for (Value v : plan->saved)
      results.push_back(inClone(ops, v));
    OpBuilder rb(ret);
    rb.create<func::ReturnOp>(ret->getLoc(), results);
    ret->erase();
    for (size_t k = ops.size(); k-- > 0;)
      if (plan->reverse[k])
        ops[k]->erase();
    SmallVector<Operation *> left = topLevelOps(save);
    eraseUnused(left);
    entry.eraseArguments(numArgs, numResults);
    save.setFunctionType(FunctionType::get(ctx, f.getArgumentTypes(),
                                           ValueRange(results).getTypes()));
  }

  // @f_resume: the reverse sweep, the saved values as arguments after f's.
  b.setInsertionPointAfter(save);
  auto resume = cast<func::FuncOp>(b.clone(*grad));
  resume.setName((f.getSymName() + "_resume").str());
  resume->setAttr(kResumeOfAttrName, fname);
  {
    Block &entry = resume.getBody().front();
    SmallVector<Operation *> ops = topLevelOps(resume);
    for (auto [i, v] : llvm::enumerate(plan->saved)) {
      BlockArgument arg =
          entry.insertArgument(numArgs + i, v.getType(), v.getLoc());
      inClone(ops, v).replaceAllUsesWith(arg);
    }
    // It returns the gradients only: f's results are the forward's.
    Operation *ret = entry.getTerminator();
    SmallVector<Value> gradients(ret->getOperands().drop_front(numResults));
    OpBuilder rb(ret);
    rb.create<func::ReturnOp>(ret->getLoc(), gradients);
    ret->erase();
    // The forward ops left are the recomputed ones and their operands.
    SmallVector<Operation *> forward;
    for (auto [k, op] : llvm::enumerate(ops))
      if (!plan->reverse[k])
        forward.push_back(op);
    eraseUnused(forward);
    resume.setFunctionType(FunctionType::get(ctx, entry.getArgumentTypes(),
                                             ValueRange(gradients).getTypes()));
  }
}

struct SplitAdjointPass
    : PassWrapper<SplitAdjointPass, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(SplitAdjointPass)

  StringRef getArgument() const final { return "knet-split-adjoint"; }
  StringRef getDescription() const final {
    return "Splits each @f_grad into @f_save (the forward, returning what the "
           "reverse sweep reads) and @f_resume (the reverse sweep from it)";
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<std::pair<func::FuncOp, func::FuncOp>> pairs;
    for (auto grad : module.getOps<func::FuncOp>()) {
      StringRef name = grad.getSymName();
      if (grad.isExternal() || !grad->hasAttr(kGradArgsAttrName) ||
          !name.ends_with("_grad"))
        continue;
      StringRef primal = name.drop_back(5);
      auto f = module.lookupSymbol<func::FuncOp>(primal);
      if (!f || module.lookupSymbol((primal + "_save").str()) ||
          module.lookupSymbol((primal + "_resume").str()))
        continue;
      pairs.push_back({f, grad});
    }
    for (auto [f, grad] : pairs)
      splitAdjoint(module, f, grad);
  }
};

} // namespace

std::unique_ptr<Pass> mlir::knet::createSplitAdjointPass() {
  return std::make_unique<SplitAdjointPass>();
}

void mlir::knet::registerSplitAdjointPass() {
  PassRegistration<SplitAdjointPass>();
}
