//===- Autodiff.cpp - reverse-mode differentiation of knet functions ------===//
//
// knet-autodiff makes @f_grad from every @f: the forward code of @f (with
// what its reverse sweep needs saved), then the reverse sweep, which walks
// the ops backwards and asks each op for its adjoint
// (DifferentiableOpInterface::buildAdjoint). Structured control flow is
// reversed structurally:
//
//   scf.if    an scf.if on the same condition, each branch reversed;
//   scf.for   an scf.for over the trip count; loop-carried values carry
//             their adjoints in the reverse loop's iter_args;
//   scf.while the forward loop counts its iterations in an extra iter_arg;
//             the reverse is an scf.for over that count;
//   func.call a call of the callee's @g_grad (which recomputes g).
//
// Forward values defined at the top level of @f are read by the reverse
// sweep directly; values defined inside a loop body or a branch are pushed
// on a knet.stack where they are defined and popped at the start of the
// matching reverse region (constants and the induction variable of an
// scf.for are rebuilt instead). Only what some adjoint reads is saved.
//
// Activity analysis: adjoint code is emitted only for values that depend on
// a differentiable argument (varied) and reach a result (useful).
//
//===----------------------------------------------------------------------===//

#include "knet/IR/KnetDialect.h"
#include "knet/Passes/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Iterators.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/IR/TypeUtilities.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Pass/Pass.h"

#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SetVector.h"

using namespace mlir;
using namespace mlir::knet;

namespace {

//===----------------------------------------------------------------------===//
// Types that carry gradients
//===----------------------------------------------------------------------===//

/// Float scalars, float tensors and lists of float tensors get gradients.
bool isDiffType(Type t) {
  if (isa<FloatType>(t))
    return true;
  if (auto tt = dyn_cast<TensorType>(t))
    return isa<FloatType>(tt.getElementType());
  if (auto lt = dyn_cast<ListType>(t))
    return isDiffType(lt.getElementType()) &&
           isa<TensorType>(lt.getElementType());
  return false;
}

/// The indices of the arguments of `f` that get a gradient.
SmallVector<int64_t> gradArgIndices(FunctionType type) {
  SmallVector<int64_t> indices;
  for (auto [i, t] : llvm::enumerate(type.getInputs()))
    if (isDiffType(t))
      indices.push_back(i);
  return indices;
}

/// The type of @f_grad given @f's.
FunctionType gradFunctionType(FunctionType type) {
  SmallVector<Type> inputs(type.getInputs());
  llvm::append_range(inputs, type.getResults());
  SmallVector<Type> results(type.getResults());
  for (int64_t i : gradArgIndices(type))
    results.push_back(type.getInput(i));
  return FunctionType::get(type.getContext(), inputs, results);
}

std::string gradName(StringRef name) { return (name + "_grad").str(); }

//===----------------------------------------------------------------------===//
// Activity analysis
//===----------------------------------------------------------------------===//

class Activity {
public:
  Activity(func::FuncOp f, ArrayRef<int64_t> gradArgs) {
    for (int64_t i : gradArgs)
      varied.insert(f.getArgument(i));
    propagateVaried(f);
    f.walk([&](func::ReturnOp ret) {
      for (Value v : ret.getOperands())
        markUseful(v);
    });
    propagateUseful(f);
  }

  bool isActive(Value v) const {
    return v && varied.contains(v) && useful.contains(v);
  }
  bool isActiveOp(Operation *op) const {
    return llvm::any_of(op->getResults(), [&](Value r) { return isActive(r); });
  }
  /// Keeps the analysis valid when `from` is replaced by `to`.
  void replace(Value from, Value to) {
    if (varied.erase(from))
      varied.insert(to);
    if (useful.erase(from))
      useful.insert(to);
  }

private:
  llvm::DenseSet<Value> varied, useful;
  bool changed = false;

  void markVaried(Value v) {
    if (isDiffType(v.getType()) && varied.insert(v).second)
      changed = true;
  }
  void markUseful(Value v) {
    if (isDiffType(v.getType()) && useful.insert(v).second)
      changed = true;
  }
  bool isVaried(Value v) const { return varied.contains(v); }

  void propagateVaried(func::FuncOp f) {
    do {
      changed = false;
      f.walk([&](Operation *op) {
        if (auto forOp = dyn_cast<scf::ForOp>(op)) {
          auto yield = cast<scf::YieldOp>(forOp.getBody()->getTerminator());
          for (auto [j, init] : llvm::enumerate(forOp.getInitArgs()))
            if (isVaried(init) || isVaried(yield.getOperand(j))) {
              markVaried(forOp.getRegionIterArgs()[j]);
              markVaried(forOp.getResult(j));
            }
        } else if (auto w = dyn_cast<scf::WhileOp>(op)) {
          for (auto [j, init] : llvm::enumerate(w.getInits()))
            if (isVaried(init) || isVaried(w.getYieldOp().getOperand(j)))
              markVaried(w.getBeforeArguments()[j]);
          for (auto [j, arg] : llvm::enumerate(w.getConditionOp().getArgs()))
            if (isVaried(arg)) {
              markVaried(w.getAfterArguments()[j]);
              markVaried(w.getResult(j));
            }
        } else if (auto ifOp = dyn_cast<scf::IfOp>(op)) {
          for (unsigned j = 0; j < ifOp.getNumResults(); ++j)
            if (isVaried(ifOp.thenYield().getOperand(j)) ||
                (ifOp.elseBlock() && isVaried(ifOp.elseYield().getOperand(j))))
              markVaried(ifOp.getResult(j));
        } else if (llvm::any_of(op->getOperands(),
                                [&](Value v) { return isVaried(v); })) {
          for (Value r : op->getResults())
            markVaried(r);
        }
      });
    } while (changed);
  }

  // Usefulness flows from uses to definitions: a reverse walk, parents
  // before the ops they contain, settles straight-line code in one pass
  // (loops iterate).
  void propagateUseful(func::FuncOp f) {
    do {
      changed = false;
      f.walk<WalkOrder::PreOrder, ReverseIterator>([&](Operation *op) {
        if (auto forOp = dyn_cast<scf::ForOp>(op)) {
          auto yield = cast<scf::YieldOp>(forOp.getBody()->getTerminator());
          for (auto [j, init] : llvm::enumerate(forOp.getInitArgs()))
            if (useful.contains(forOp.getResult(j)) ||
                useful.contains(forOp.getRegionIterArgs()[j])) {
              markUseful(yield.getOperand(j));
              markUseful(init);
            }
        } else if (auto w = dyn_cast<scf::WhileOp>(op)) {
          for (auto [j, arg] : llvm::enumerate(w.getConditionOp().getArgs()))
            if (useful.contains(w.getResult(j)) ||
                useful.contains(w.getAfterArguments()[j]))
              markUseful(arg);
          for (auto [j, init] : llvm::enumerate(w.getInits()))
            if (useful.contains(w.getBeforeArguments()[j])) {
              markUseful(init);
              markUseful(w.getYieldOp().getOperand(j));
            }
        } else if (auto ifOp = dyn_cast<scf::IfOp>(op)) {
          for (unsigned j = 0; j < ifOp.getNumResults(); ++j)
            if (useful.contains(ifOp.getResult(j))) {
              markUseful(ifOp.thenYield().getOperand(j));
              if (ifOp.elseBlock())
                markUseful(ifOp.elseYield().getOperand(j));
            }
        } else if (op->hasTrait<mlir::OpTrait::IsTerminator>()) {
          // Handled by the parent.
        } else if (llvm::any_of(op->getResults(),
                                [&](Value r) { return useful.contains(r); })) {
          for (Value v : op->getOperands())
            markUseful(v);
        }
      });
    } while (changed);
  }
};

//===----------------------------------------------------------------------===//
// The gradient of one function
//===----------------------------------------------------------------------===//

/// One instance of a reversed forward region: a loop body, a branch, or the
/// function body. Values of `fwdRegion` that the reverse code reads are
/// popped (or rebuilt) before `anchor`.
struct RevCtx {
  Region *fwdRegion = nullptr;
  Operation *anchor = nullptr;
  RevCtx *parent = nullptr;
  llvm::DenseMap<Value, Value> avail;
  /// An scf.for body: its induction variable is rebuilt from the reverse
  /// loop's counter k as lb + (n - 1 - k) * step.
  Value fwdIv, lb, step, n, k;
};

class GradBuilder {
public:
  GradBuilder(func::FuncOp fwd, func::FuncOp grad, ModuleOp module)
      : fwd(fwd), grad(grad), module(module) {}

  LogicalResult run();

private:
  func::FuncOp fwd, grad;
  ModuleOp module;
  std::unique_ptr<Activity> activity;
  llvm::DenseMap<Value, Value> adj;
  llvm::DenseMap<Value, Value> stacks;
  llvm::DenseMap<Operation *, Value> whileCounts;

  Region &body() { return grad.getBody(); }
  bool isActive(Value v) const { return activity->isActive(v); }

  // Saving forward values for the reverse sweep.
  Value reverseValue(Value v, RevCtx &ctx);
  Value stackFor(Value v);
  Operation *makeAnchor(OpBuilder &b, Location loc);

  // Adjoints.
  Value coerce(OpBuilder &b, Location loc, Value g, Type t);
  void addAdjoint(OpBuilder &b, Location loc, Value v, Value g);
  Value addLists(OpBuilder &b, Location loc, Value acc, Value g);
  Value zeroFor(OpBuilder &b, Location loc, Value fwdValue, RevCtx &ctx,
                Value hint = {});
  Value adjointOrZero(OpBuilder &b, Location loc, Value v, RevCtx &ctx,
                      Value hint = {});
  void forgetRegion(Region &r);
  SmallVector<Value> outerActiveValues(Operation *op);

  // Reversing code.
  void countWhileIterations();
  LogicalResult reverseBlock(Block &block, RevCtx &ctx, OpBuilder &b);
  LogicalResult reverseOp(Operation *op, RevCtx &ctx, OpBuilder &b);
  LogicalResult reverseFor(scf::ForOp op, RevCtx &ctx, OpBuilder &b);
  LogicalResult reverseWhile(scf::WhileOp op, RevCtx &ctx, OpBuilder &b);
  LogicalResult reverseIf(scf::IfOp op, RevCtx &ctx, OpBuilder &b);
  LogicalResult reverseCall(func::CallOp op, RevCtx &ctx, OpBuilder &b);
  LogicalResult noDerivative(Operation *op) {
    op->emitError() << "no derivative for '" << op->getName() << "'";
    return failure();
  }
};

Operation *GradBuilder::makeAnchor(OpBuilder &b, Location loc) {
  return b.create<UnrealizedConversionCastOp>(loc, TypeRange{}, ValueRange{});
}

Value GradBuilder::stackFor(Value v) {
  if (Value s = stacks.lookup(v))
    return s;
  OpBuilder b(grad.getContext());
  b.setInsertionPointToStart(&body().front());
  Value s = b.create<StackNewOp>(v.getLoc(),
                                 StackType::get(v.getContext(), v.getType()));
  if (auto arg = dyn_cast<BlockArgument>(v))
    b.setInsertionPointToStart(arg.getOwner());
  else
    b.setInsertionPointAfter(v.getDefiningOp());
  b.create<StackPushOp>(v.getLoc(), s, v);
  stacks[v] = s;
  return s;
}

/// The value of forward value `v` where the reverse code of `ctx` runs.
Value GradBuilder::reverseValue(Value v, RevCtx &ctx) {
  Region *r = v.getParentRegion();
  if (r == &body())
    return v;
  RevCtx *c = &ctx;
  while (c && c->fwdRegion != r)
    c = c->parent;
  assert(c && "a forward value outside the reversed regions");
  if (Value known = c->avail.lookup(v))
    return known;
  OpBuilder b(c->anchor);
  Value result;
  Operation *def = v.getDefiningOp();
  if (def && def->getNumOperands() == 0 && def->getNumRegions() == 0 &&
      matchPattern(v, m_Constant())) {
    // Constants are rebuilt, not saved.
    result = b.clone(*def)->getResult(cast<OpResult>(v).getResultNumber());
  } else if (v == c->fwdIv) {
    Location loc = v.getLoc();
    Type t = v.getType();
    Value one = b.create<arith::ConstantOp>(loc, b.getIntegerAttr(t, 1));
    Value last = b.create<arith::SubIOp>(loc, c->n, one);
    Value i = b.create<arith::SubIOp>(loc, last, c->k);
    Value offset = b.create<arith::MulIOp>(loc, i, c->step);
    result = b.create<arith::AddIOp>(loc, c->lb, offset);
  } else {
    result = b.create<StackPopOp>(v.getLoc(), v.getType(), stackFor(v));
  }
  c->avail[v] = result;
  return result;
}

/// g with type t (a static refinement or generalization of the same shape).
Value GradBuilder::coerce(OpBuilder &b, Location loc, Value g, Type t) {
  if (g.getType() == t)
    return g;
  if (isa<TensorType>(t) && isa<TensorType>(g.getType()))
    return b.create<CastOp>(loc, t, g);
  if (isa<FloatType>(t) && isa<FloatType>(g.getType())) {
    if (t.getIntOrFloatBitWidth() > g.getType().getIntOrFloatBitWidth())
      return b.create<arith::ExtFOp>(loc, t, g);
    return b.create<arith::TruncFOp>(loc, t, g);
  }
  return g;
}

/// acc + g for lists, elementwise. The adjoint of list_get is a one-hot
/// list (list_set of list_zeros_like): it becomes one update of acc.
Value GradBuilder::addLists(OpBuilder &b, Location loc, Value acc, Value g) {
  auto type = cast<ListType>(acc.getType());
  Type elem = type.getElementType();
  if (auto set = g.getDefiningOp<ListSetOp>()) {
    if (auto zeros = set.getList().getDefiningOp<ListZerosLikeOp>()) {
      Value index = set.getIndex(), value = set.getValue();
      Value old = b.create<ListGetOp>(loc, elem, acc, index);
      Value sum = b.create<AddOp>(loc, elem, old, coerce(b, loc, value, elem));
      Value result = b.create<ListSetOp>(loc, type, acc, index, sum);
      if (set->use_empty())
        set->erase();
      if (zeros->use_empty())
        zeros->erase();
      return result;
    }
  }
  // for k in [0, size): acc[k] += g[k]
  Value zero = b.create<arith::ConstantIndexOp>(loc, 0);
  Value one = b.create<arith::ConstantIndexOp>(loc, 1);
  Value size = b.create<ListSizeOp>(loc, b.getIndexType(), acc);
  auto loop = b.create<scf::ForOp>(loc, zero, size, one, ValueRange{acc});
  OpBuilder lb = OpBuilder::atBlockEnd(loop.getBody());
  Value k = loop.getInductionVar(), cur = loop.getRegionIterArgs()[0];
  Value x = lb.create<ListGetOp>(loc, elem, cur, k);
  Value y = lb.create<ListGetOp>(loc, elem, g, k);
  Value sum = lb.create<AddOp>(loc, elem, x, y);
  Value next = lb.create<ListSetOp>(loc, type, cur, k, sum);
  lb.create<scf::YieldOp>(loc, next);
  return loop.getResult(0);
}

/// Accumulates g into the adjoint of v.
void GradBuilder::addAdjoint(OpBuilder &b, Location loc, Value v, Value g) {
  if (!g || !isActive(v))
    return;
  g = coerce(b, loc, g, v.getType());
  Value &slot = adj[v];
  if (!slot) {
    slot = g;
    return;
  }
  if (isa<ListType>(v.getType()))
    slot = addLists(b, loc, slot, g);
  else if (isa<FloatType>(v.getType()))
    slot = b.create<arith::AddFOp>(loc, slot, g);
  else
    slot = b.create<AddOp>(loc, v.getType(), slot, g);
}

/// A zero gradient for forward value `fwdValue`. `hint` is a value of the
/// same static type whose shape can stand in (so that nothing is saved).
Value GradBuilder::zeroFor(OpBuilder &b, Location loc, Value fwdValue,
                           RevCtx &ctx, Value hint) {
  Type t = fwdValue.getType();
  if (auto ft = dyn_cast<FloatType>(t))
    return b.create<arith::ConstantOp>(loc, b.getFloatAttr(ft, 0.0));
  if (isa<ListType>(t))
    return b.create<ListZerosLikeOp>(loc, t, reverseValue(fwdValue, ctx));
  auto rt = dyn_cast<RankedTensorType>(t);
  if (hint && hint.getType() == t && rt && rt.hasStaticShape())
    return b.create<ZerosLikeOp>(loc, t, hint);
  return b.create<ZerosLikeOp>(loc, t, reverseValue(fwdValue, ctx));
}

Value GradBuilder::adjointOrZero(OpBuilder &b, Location loc, Value v,
                                 RevCtx &ctx, Value hint) {
  if (Value g = adj.lookup(v))
    return g;
  return zeroFor(b, loc, v, ctx, hint);
}

/// Drops the adjoints of the values defined in r (after its reverse).
void GradBuilder::forgetRegion(Region &r) {
  r.walk([&](Operation *op) {
    for (Value v : op->getResults())
      adj.erase(v);
    for (Region &inner : op->getRegions())
      for (Block &block : inner)
        for (Value v : block.getArguments())
          adj.erase(v);
  });
  for (Block &block : r)
    for (Value v : block.getArguments())
      adj.erase(v);
}

/// The active values defined outside `op` that ops inside it use: their
/// adjoints accumulate in the reverse of op (carried through it).
SmallVector<Value> GradBuilder::outerActiveValues(Operation *op) {
  llvm::SetVector<Value> values;
  op->walk([&](Operation *inner) {
    if (inner == op)
      return;
    for (Value v : inner->getOperands()) {
      if (!isActive(v))
        continue;
      if (!op->isAncestor(v.getParentRegion()->getParentOp()))
        values.insert(v);
    }
  });
  return values.takeVector();
}

/// Gives every active scf.while an iteration counter: an extra index
/// iter_arg incremented by the after region, whose final value is the trip
/// count that the reverse loop runs.
void GradBuilder::countWhileIterations() {
  SmallVector<scf::WhileOp> loops;
  grad.walk([&](scf::WhileOp w) {
    if (activity->isActiveOp(w))
      loops.push_back(w);
  });
  for (scf::WhileOp w : loops) {
    Location loc = w.getLoc();
    OpBuilder b(w);
    Value zero = b.create<arith::ConstantIndexOp>(loc, 0);
    SmallVector<Value> inits(w.getInits());
    inits.push_back(zero);
    SmallVector<Type> types(w.getResultTypes());
    types.push_back(b.getIndexType());
    auto nw = b.create<scf::WhileOp>(loc, types, inits);
    nw->setAttrs(w->getAttrs());
    nw.getBefore().takeBody(w.getBefore());
    nw.getAfter().takeBody(w.getAfter());
    Value before = nw.getBefore().front().addArgument(b.getIndexType(), loc);
    nw.getConditionOp().getArgsMutable().append(before);
    Value after = nw.getAfter().front().addArgument(b.getIndexType(), loc);
    scf::YieldOp yield = nw.getYieldOp();
    b.setInsertionPoint(yield);
    Value one = b.create<arith::ConstantIndexOp>(loc, 1);
    Value next = b.create<arith::AddIOp>(loc, after, one);
    yield.getResultsMutable().append(next);
    for (auto [from, to] : llvm::zip(w.getResults(), nw.getResults())) {
      activity->replace(from, to);
      from.replaceAllUsesWith(to);
    }
    whileCounts[nw] = nw.getResults().back();
    w->erase();
  }
}

LogicalResult GradBuilder::reverseBlock(Block &block, RevCtx &ctx,
                                        OpBuilder &b) {
  for (Operation &op :
       llvm::make_early_inc_range(llvm::reverse(block.without_terminator())))
    if (activity->isActiveOp(&op) && mlir::failed(reverseOp(&op, ctx, b)))
      return failure();
  return success();
}

LogicalResult GradBuilder::reverseOp(Operation *op, RevCtx &ctx, OpBuilder &b) {
  if (auto forOp = dyn_cast<scf::ForOp>(op))
    return reverseFor(forOp, ctx, b);
  if (auto w = dyn_cast<scf::WhileOp>(op))
    return reverseWhile(w, ctx, b);
  if (auto ifOp = dyn_cast<scf::IfOp>(op))
    return reverseIf(ifOp, ctx, b);
  if (auto call = dyn_cast<func::CallOp>(op))
    return reverseCall(call, ctx, b);
  auto diff = dyn_cast<DifferentiableOpInterface>(op);
  if (!diff || op->getNumRegions() != 0)
    return noDerivative(op);

  SmallVector<Value> resultGrads;
  bool any = false;
  for (Value r : op->getResults()) {
    resultGrads.push_back(adj.lookup(r));
    any |= bool(resultGrads.back());
  }
  if (!any)
    return success();
  Location loc = op->getLoc();

  // The op is cloned into the reverse code over placeholders of its
  // operands and results, so that its rule reads them as its own; the
  // placeholders the rule used become the saved forward values.
  SmallVector<Value> operandHolders, resultHolders;
  for (Value v : op->getOperands())
    operandHolders.push_back(
        b.create<UnrealizedConversionCastOp>(loc, v.getType(), ValueRange{})
            .getResult(0));
  for (Value v : op->getResults())
    resultHolders.push_back(
        b.create<UnrealizedConversionCastOp>(loc, v.getType(), ValueRange{})
            .getResult(0));
  IRMapping map;
  map.map(op->getOperands(), operandHolders);
  Operation *clone = b.clone(*op, map);
  Block::iterator end = b.getInsertionPoint();

  SmallVector<Value> grads =
      cast<DifferentiableOpInterface>(clone).buildAdjoint(b, resultGrads);
  SmallVector<Value> holders(operandHolders), originals(op->getOperands());
  llvm::append_range(holders, resultHolders);
  llvm::append_range(originals, op->getResults());
  if (grads.size() != op->getNumOperands()) {
    clone->erase();
    for (Value h : holders)
      h.getDefiningOp()->erase();
    return noDerivative(op);
  }
  // Drop the gradients of inactive operands (and the ops only they use).
  llvm::DenseSet<Value> needed;
  for (auto [v, g] : llvm::zip(op->getOperands(), grads))
    if (g && isActive(v))
      needed.insert(g);
  SmallVector<Operation *> created;
  for (Operation *o = clone->getNextNode(); o && Block::iterator(o) != end;
       o = o->getNextNode())
    created.push_back(o);
  for (Operation *o : llvm::reverse(created))
    if (isOpTriviallyDead(o) && llvm::none_of(o->getResults(), [&](Value r) {
          return needed.contains(r);
        }))
      o->erase();
  clone->replaceAllUsesWith(resultHolders);
  clone->erase();
  // Resolve the placeholders that the rule read.
  for (auto [holder, v] : llvm::zip(holders, originals)) {
    if (!holder.use_empty())
      holder.replaceAllUsesWith(reverseValue(v, ctx));
    holder.getDefiningOp()->erase();
  }
  for (auto [v, g] : llvm::zip(op->getOperands(), grads))
    if (g && isActive(v))
      addAdjoint(b, loc, v, g);
  return success();
}

/// Number of iterations of lb, lb + step, ... < ub (step > 0):
/// max((ub - lb + step - 1) / step, 0).
static Value tripCount(OpBuilder &b, Location loc, Value lb, Value ub,
                       Value step) {
  Type t = lb.getType();
  Value one = b.create<arith::ConstantOp>(loc, b.getIntegerAttr(t, 1));
  Value zero = b.create<arith::ConstantOp>(loc, b.getIntegerAttr(t, 0));
  Value diff = b.create<arith::SubIOp>(loc, ub, lb);
  Value round = b.create<arith::SubIOp>(loc, step, one);
  Value n = b.create<arith::DivSIOp>(
      loc, b.create<arith::AddIOp>(loc, diff, round), step);
  return b.create<arith::MaxSIOp>(loc, n, zero);
}

/// The builder positioned at the end of `block`, before its terminator if
/// it has one.
static OpBuilder builderAtEnd(Block *block) {
  if (!block->empty() && block->back().hasTrait<mlir::OpTrait::IsTerminator>())
    return OpBuilder(&block->back());
  return OpBuilder::atBlockEnd(block);
}

LogicalResult GradBuilder::reverseFor(scf::ForOp op, RevCtx &ctx,
                                      OpBuilder &b) {
  Location loc = op.getLoc();
  Block *fwdBody = op.getBody();
  auto yield = cast<scf::YieldOp>(fwdBody->getTerminator());
  Value lb = reverseValue(op.getLowerBound(), ctx);
  Value ub = reverseValue(op.getUpperBound(), ctx);
  Value step = reverseValue(op.getStep(), ctx);
  Value n = tripCount(b, loc, lb, ub, step);

  // Carried: the adjoints of the iter_args (the loop's results at first),
  // then the accumulated adjoints of outer values the body uses.
  SmallVector<unsigned> carried;
  for (unsigned j = 0; j < op.getNumResults(); ++j)
    if (isActive(op.getResult(j)) || isActive(op.getRegionIterArgs()[j]) ||
        isActive(yield.getOperand(j)))
      carried.push_back(j);
  SmallVector<Value> outer = outerActiveValues(op);
  SmallVector<Value> inits;
  for (unsigned j : carried)
    inits.push_back(adjointOrZero(b, loc, op.getResult(j), ctx));
  for (Value v : outer)
    inits.push_back(adjointOrZero(b, loc, v, ctx));

  Type t = lb.getType();
  Value zero = b.create<arith::ConstantOp>(loc, b.getIntegerAttr(t, 0));
  Value one = b.create<arith::ConstantOp>(loc, b.getIntegerAttr(t, 1));
  auto rev = b.create<scf::ForOp>(loc, zero, n, one, inits);
  Block *revBody = rev.getBody();
  OpBuilder bb = builderAtEnd(revBody);
  RevCtx inner;
  inner.fwdRegion = &op.getRegion();
  inner.anchor = makeAnchor(bb, loc);
  inner.parent = &ctx;
  inner.fwdIv = op.getInductionVar();
  inner.lb = lb;
  inner.step = step;
  inner.n = n;
  inner.k = rev.getInductionVar();

  ValueRange args = rev.getRegionIterArgs();
  llvm::DenseMap<Value, Value> saved;
  for (auto [i, v] : llvm::enumerate(outer)) {
    saved[v] = adj.lookup(v);
    adj[v] = args[carried.size() + i];
  }
  for (auto [i, j] : llvm::enumerate(carried))
    addAdjoint(bb, loc, yield.getOperand(j), args[i]);
  if (mlir::failed(reverseBlock(*fwdBody, inner, bb)))
    return failure();
  SmallVector<Value> next;
  for (auto [i, j] : llvm::enumerate(carried))
    next.push_back(
        adjointOrZero(bb, loc, op.getRegionIterArgs()[j], inner, args[i]));
  for (Value v : outer)
    next.push_back(adj.lookup(v));
  if (revBody->mightHaveTerminator())
    revBody->getTerminator()->erase();
  OpBuilder::atBlockEnd(revBody).create<scf::YieldOp>(loc, next);
  inner.anchor->erase();
  forgetRegion(op.getRegion());

  for (auto [i, v] : llvm::enumerate(outer))
    adj[v] = rev.getResult(carried.size() + i);
  for (auto [i, j] : llvm::enumerate(carried))
    addAdjoint(b, loc, op.getInitArgs()[j], rev.getResult(i));
  return success();
}

LogicalResult GradBuilder::reverseWhile(scf::WhileOp op, RevCtx &ctx,
                                        OpBuilder &b) {
  Location loc = op.getLoc();
  Value count = whileCounts.lookup(op);
  assert(count && "an active while without an iteration counter");
  unsigned m = op.getNumResults() - 1; // without the counter
  Block &before = op.getBefore().front(), &after = op.getAfter().front();
  scf::ConditionOp cond = op.getConditionOp();
  scf::YieldOp yield = op.getYieldOp();

  SmallVector<unsigned> carried; // before-argument adjoints
  for (unsigned k = 0; k < m; ++k)
    if (isActive(op.getInits()[k]) || isActive(op.getBeforeArguments()[k]) ||
        isActive(yield.getOperand(k)))
      carried.push_back(k);
  SmallVector<Value> outer = outerActiveValues(op);

  // The last execution of `before` (the one that left the loop): its
  // condition arguments are the results.
  auto reverseBefore = [&](RevCtx &parent, OpBuilder &rb,
                           SmallVector<Value> condGrads,
                           SmallVector<Value> &argGrads) -> LogicalResult {
    RevCtx bctx;
    bctx.fwdRegion = &op.getBefore();
    bctx.anchor = makeAnchor(rb, loc);
    bctx.parent = &parent;
    for (unsigned j = 0; j < m; ++j)
      addAdjoint(rb, loc, cond.getArgs()[j], condGrads[j]);
    if (mlir::failed(reverseBlock(before, bctx, rb)))
      return failure();
    argGrads.clear();
    for (unsigned k : carried)
      argGrads.push_back(
          adjointOrZero(rb, loc, op.getBeforeArguments()[k], bctx));
    bctx.anchor->erase();
    forgetRegion(op.getBefore());
    return success();
  };

  // Both reverses of the condition region must pop the same values: every
  // active condition argument gets a gradient, zero if none came.
  SmallVector<Value> resultGrads;
  for (unsigned j = 0; j < m; ++j)
    resultGrads.push_back(isActive(cond.getArgs()[j])
                              ? adjointOrZero(b, loc, op.getResult(j), ctx)
                              : Value());
  SmallVector<Value> argGrads;
  if (mlir::failed(reverseBefore(ctx, b, resultGrads, argGrads)))
    return failure();

  // Then, count times: the reverse of `after`, then of `before`.
  SmallVector<Value> inits(argGrads);
  for (Value v : outer)
    inits.push_back(adjointOrZero(b, loc, v, ctx));
  Value n = reverseValue(count, ctx);
  Value zero = b.create<arith::ConstantIndexOp>(loc, 0);
  Value one = b.create<arith::ConstantIndexOp>(loc, 1);
  auto rev = b.create<scf::ForOp>(loc, zero, n, one, inits);
  Block *revBody = rev.getBody();
  OpBuilder bb = builderAtEnd(revBody);
  RevCtx loopCtx; // no forward region of its own
  loopCtx.anchor = makeAnchor(bb, loc);
  loopCtx.parent = &ctx;
  ValueRange args = rev.getRegionIterArgs();
  for (auto [i, v] : llvm::enumerate(outer))
    adj[v] = args[carried.size() + i];

  RevCtx actx;
  actx.fwdRegion = &op.getAfter();
  actx.anchor = makeAnchor(bb, loc);
  actx.parent = &loopCtx;
  for (auto [i, k] : llvm::enumerate(carried))
    addAdjoint(bb, loc, yield.getOperand(k), args[i]);
  if (mlir::failed(reverseBlock(after, actx, bb)))
    return failure();
  SmallVector<Value> condGrads;
  for (unsigned j = 0; j < m; ++j)
    condGrads.push_back(
        isActive(cond.getArgs()[j])
            ? adjointOrZero(bb, loc, op.getAfterArguments()[j], actx)
            : Value());
  actx.anchor->erase();
  forgetRegion(op.getAfter());
  SmallVector<Value> next;
  if (mlir::failed(reverseBefore(loopCtx, bb, condGrads, next)))
    return failure();
  for (Value v : outer)
    next.push_back(adj.lookup(v));
  if (revBody->mightHaveTerminator())
    revBody->getTerminator()->erase();
  OpBuilder::atBlockEnd(revBody).create<scf::YieldOp>(loc, next);
  loopCtx.anchor->erase();

  for (auto [i, v] : llvm::enumerate(outer))
    adj[v] = rev.getResult(carried.size() + i);
  for (auto [i, k] : llvm::enumerate(carried))
    addAdjoint(b, loc, op.getInits()[k], rev.getResult(i));
  return success();
}

LogicalResult GradBuilder::reverseIf(scf::IfOp op, RevCtx &ctx, OpBuilder &b) {
  Location loc = op.getLoc();
  SmallVector<Value> outer = outerActiveValues(op);
  if (outer.empty())
    return success();
  SmallVector<Value> resultGrads;
  for (Value r : op.getResults())
    resultGrads.push_back(adj.lookup(r));
  SmallVector<Type> types;
  for (Value v : outer)
    types.push_back(v.getType());
  Value c = reverseValue(op.getCondition(), ctx);
  auto rev = b.create<scf::IfOp>(loc, types, c, /*withElseRegion=*/true);

  llvm::DenseMap<Value, Value> incoming;
  for (Value v : outer)
    incoming[v] = adj.lookup(v);
  for (auto [fwdRegion, revRegion] :
       {std::pair(&op.getThenRegion(), &rev.getThenRegion()),
        std::pair(&op.getElseRegion(), &rev.getElseRegion())}) {
    Block *revBlock = &revRegion->front();
    OpBuilder bb = builderAtEnd(revBlock);
    for (Value v : outer)
      adj[v] = incoming[v];
    RevCtx inner;
    inner.fwdRegion = fwdRegion;
    inner.anchor = makeAnchor(bb, loc);
    inner.parent = &ctx;
    if (!fwdRegion->empty()) {
      Block &fwdBlock = fwdRegion->front();
      auto yield = cast<scf::YieldOp>(fwdBlock.getTerminator());
      for (auto [j, g] : llvm::enumerate(resultGrads))
        addAdjoint(bb, loc, yield.getOperand(j), g);
      if (mlir::failed(reverseBlock(fwdBlock, inner, bb)))
        return failure();
    }
    SmallVector<Value> results;
    for (Value v : outer)
      results.push_back(adjointOrZero(bb, loc, v, ctx));
    if (revBlock->mightHaveTerminator())
      revBlock->getTerminator()->erase();
    OpBuilder::atBlockEnd(revBlock).create<scf::YieldOp>(loc, results);
    inner.anchor->erase();
    forgetRegion(*fwdRegion);
  }
  for (auto [i, v] : llvm::enumerate(outer))
    adj[v] = rev.getResult(i);
  return success();
}

LogicalResult GradBuilder::reverseCall(func::CallOp op, RevCtx &ctx,
                                       OpBuilder &b) {
  auto callee = module.lookupSymbol<func::FuncOp>(op.getCallee());
  if (!callee || callee.isExternal() || callee->hasAttr(kNoGradAttrName) ||
      callee.getName().ends_with("_grad")) {
    op.emitError() << "no derivative for the call of @" << op.getCallee()
                   << " (no body to differentiate)";
    return failure();
  }
  Location loc = op.getLoc();
  FunctionType type = callee.getFunctionType();
  SmallVector<Value> operands;
  for (Value v : op.getOperands())
    operands.push_back(reverseValue(v, ctx));
  for (Value r : op.getResults())
    operands.push_back(isDiffType(r.getType()) ? adjointOrZero(b, loc, r, ctx)
                                               : reverseValue(r, ctx));
  auto call =
      b.create<func::CallOp>(loc, gradName(op.getCallee()),
                             gradFunctionType(type).getResults(), operands);
  for (auto [i, index] : llvm::enumerate(gradArgIndices(type)))
    addAdjoint(b, loc, op.getOperand(index),
               call.getResult(type.getNumResults() + i));
  return success();
}

LogicalResult GradBuilder::run() {
  FunctionType type = fwd.getFunctionType();
  SmallVector<int64_t> gradArgs = gradArgIndices(type);
  Block &entry = body().front();
  if (!body().hasOneBlock())
    return fwd.emitError()
           << "knet-autodiff needs structured control flow (one block)";
  auto ret = cast<func::ReturnOp>(entry.getTerminator());
  SmallVector<Value> cotangents;
  for (Type t : type.getResults())
    cotangents.push_back(entry.addArgument(t, fwd.getLoc()));

  activity = std::make_unique<Activity>(grad, gradArgs);
  countWhileIterations();

  OpBuilder b(ret);
  Operation *start = makeAnchor(b, fwd.getLoc());
  RevCtx top;
  top.fwdRegion = &body();
  top.anchor = start;
  for (auto [v, dy] : llvm::zip(ret.getOperands(), cotangents))
    addAdjoint(b, ret.getLoc(), v, dy);
  if (mlir::failed(reverseBlock(entry, top, b)))
    return failure();
  SmallVector<Value> results(ret.getOperands());
  for (int64_t i : gradArgs)
    results.push_back(adjointOrZero(b, fwd.getLoc(), grad.getArgument(i), top));
  // Mark the reverse sweep (for savedForReverse and readers).
  for (Operation *op = start->getNextNode(); op != ret; op = op->getNextNode())
    op->setAttr(kReverseAttrName, UnitAttr::get(grad.getContext()));
  start->erase();
  b.create<func::ReturnOp>(ret.getLoc(), results);
  ret->erase();
  grad.setFunctionType(gradFunctionType(type));
  grad->setAttr(kGradArgsAttrName,
                DenseI64ArrayAttr::get(grad.getContext(), gradArgs));
  return success();
}

//===----------------------------------------------------------------------===//
// The pass
//===----------------------------------------------------------------------===//

struct AutodiffPass
    : public PassWrapper<AutodiffPass, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(AutodiffPass)

  StringRef getArgument() const final { return "knet-autodiff"; }
  StringRef getDescription() const final {
    return "Reverse-mode differentiation: @f_grad (values and gradients) for "
           "every function @f";
  }
  void getDependentDialects(DialectRegistry &registry) const override {
    registry.insert<KnetDialect, arith::ArithDialect, math::MathDialect,
                    scf::SCFDialect, func::FuncDialect>();
    registerAdjointExternalModels(registry);
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<func::FuncOp> funcs;
    for (auto f : module.getOps<func::FuncOp>())
      if (!f.isExternal() && !f.getName().ends_with("_grad") &&
          !f->hasAttr(kNoGradAttrName) &&
          !module.lookupSymbol(gradName(f.getName())))
        funcs.push_back(f);
    bool ok = true;
    for (func::FuncOp f : funcs) {
      auto grad = cast<func::FuncOp>(f->clone());
      grad.setName(gradName(f.getName()));
      grad.removeArgAttrsAttr();
      grad.removeResAttrsAttr();
      OpBuilder b(f);
      b.setInsertionPointAfter(f);
      b.insert(grad);
      GradBuilder builder(f, grad, module);
      if (mlir::failed(builder.run())) {
        grad->erase();
        ok = false;
      }
    }
    if (!ok)
      signalPassFailure();
  }
};

} // namespace

std::unique_ptr<Pass> mlir::knet::createAutodiffPass() {
  return std::make_unique<AutodiffPass>();
}

void mlir::knet::registerAutodiffPass() { PassRegistration<AutodiffPass>(); }

//===----------------------------------------------------------------------===//
// What the reverse sweep saves (knetc --explain)
//===----------------------------------------------------------------------===//

SmallVector<SavedValue> mlir::knet::savedForReverse(func::FuncOp grad) {
  SmallVector<SavedValue> saved;
  llvm::DenseSet<Value> seen;
  Region &body = grad.getBody();
  auto isReverse = [](Operation *op) { return op->hasAttr(kReverseAttrName); };
  // Pushed values.
  grad.walk([&](StackPushOp push) {
    if (seen.insert(push.getValue()).second)
      saved.push_back({push.getValue(), /*pushed=*/true});
  });
  // Top-level forward values read by the reverse sweep.
  llvm::DenseSet<Value> read;
  for (Operation &op : body.front())
    if (isReverse(&op))
      op.walk([&](Operation *inner) {
        for (Value v : inner->getOperands())
          if (v.getParentRegion() == &body)
            read.insert(v);
      });
  for (Operation &op : body.front()) {
    if (isReverse(&op) || isa<StackNewOp>(op) ||
        matchPattern(&op, m_Constant()))
      continue;
    for (Value v : op.getResults())
      if (read.contains(v) && seen.insert(v).second)
        saved.push_back({v, /*pushed=*/false});
  }
  return saved;
}
