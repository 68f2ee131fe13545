//===- Fusion.cpp - elementwise fusion into knet.fused kernels ------------===//
//
// knet-fuse groups elementwise ops into knet.fused kernels, greedily, in the
// order of each block: an op joins the groups of the operands it consumes
// when the merged group can still be placed where the op is (no op outside
// the group that lies between them reads a member: that is what keeps a
// matmul between two elementwise chains from being fused across). Members
// are the ops with a scalar body (ScalarElementwiseOpInterface) over float
// or bool elements, and broadcast_to; a sum_to whose operand is a member
// joins as the identity, guarded by a run-time shape check. A reduction
// (sum/mean/max/min, or a sum_to that ends a chain) of a member closes a
// kernel of its own over the members its operand depends on, which are
// recomputed there when the chain has other users too. With `singletons`,
// a lone member and a lone reduction become kernels too (the runtime's
// single-op kernels, runtime/jit/op_kernels.mlir).
//
// Each kernel keeps the ops it replaced in its `fallback` region, and states
// the shape equalities its body assumes in `checks`: the runtime runs the
// fallback when they do not hold, so fusion never changes results (only the
// order of a reduction's sums).
//
//===----------------------------------------------------------------------===//

#include "knet/IR/KnetDialect.h"
#include "knet/IR/ScalarBuilder.h"
#include "knet/Passes/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/TypeUtilities.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Pass/Pass.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/EquivalenceClasses.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/SmallBitVector.h"

#include <optional>

using namespace mlir;
using namespace mlir::knet;

namespace {

/// Tensors of float or bool elements: what a kernel computes on (the IR's
/// f32 stands for the run-time float dtype; integer tensors stay with the
/// runtime ops).
bool isKernelTensor(Type t) {
  auto tt = dyn_cast<TensorType>(t);
  if (!tt)
    return false;
  Type e = tt.getElementType();
  return isa<FloatType>(e) || e.isInteger(1);
}

bool allKernelTensors(Operation *op) {
  return op->getNumResults() == 1 &&
         llvm::all_of(op->getOperandTypes(), isKernelTensor) &&
         isKernelTensor(op->getResult(0).getType());
}

/// An op that can be a member of an elementwise kernel. Casts are left out:
/// their target dtype is a run-time value the IR's element type stands for.
bool isMemberOp(Operation *op) {
  if (isa<CastOp>(op) || !allKernelTensors(op))
    return false;
  // A sum_to that ends a chain becomes a float reduction.
  if (isa<SumToOp>(op) &&
      !isa<FloatType>(getElementTypeOrSelf(op->getResult(0).getType())))
    return false;
  return isa<ScalarElementwiseOpInterface, BroadcastToOp, SumToOp>(op);
}

/// A reduction that may close a kernel, with the fused op's reduce kind.
std::optional<ReduceKind> closingKind(Operation *op) {
  if (!isa<SumOp, MeanOp, MaxOp, MinOp, SumToOp>(op) || !allKernelTensors(op) ||
      !isa<FloatType>(getElementTypeOrSelf(op->getOperand(0).getType())))
    return std::nullopt;
  if (isa<SumOp>(op))
    return ReduceKind::sum;
  if (isa<MeanOp>(op))
    return ReduceKind::mean;
  if (isa<MaxOp>(op))
    return ReduceKind::max;
  if (isa<MinOp>(op))
    return ReduceKind::min;
  if (isa<SumToOp>(op))
    return ReduceKind::sum_to;
  return std::nullopt;
}

/// The op of `block` that holds `op` (itself, or an ancestor).
Operation *inBlock(Block *block, Operation *op) {
  return block->findAncestorOpInBlock(*op);
}

struct FusionPass : public PassWrapper<FusionPass, OperationPass<>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(FusionPass)

  FusionPass() = default;
  FusionPass(const FusionPass &other) : PassWrapper(other) {}

  StringRef getArgument() const final { return "knet-fuse"; }
  StringRef getDescription() const final {
    return "Fuse chains of elementwise ops (and the reductions that end "
           "them) into knet.fused kernels";
  }
  void getDependentDialects(DialectRegistry &registry) const override {
    registry.insert<arith::ArithDialect, math::MathDialect, KnetDialect>();
  }

  Option<unsigned> maxInputs{*this, "max-inputs",
                             llvm::cl::desc("Most tensor inputs per kernel"),
                             llvm::cl::init(16)};
  Option<unsigned> maxOutputs{*this, "max-outputs",
                              llvm::cl::desc("Most results per kernel"),
                              llvm::cl::init(12)};
  Option<bool> singletons{
      *this, "singletons",
      llvm::cl::desc("A lone member op, and a lone reduction of a value no "
                     "member computes, become kernels too (the runtime's "
                     "table of single-op kernels)"),
      llvm::cl::init(false)};

  void runOnOperation() override;
  void fuseBlock(Block &block);
};

/// A kernel about to be built: its member ops in block order, and for a
/// reduction kernel the reduction that closes it.
struct Kernel {
  SmallVector<Operation *> members;
  Operation *reduction = nullptr;
};

/// What a kernel's fallback region holds instead of the ops it replaces:
/// `ops` (kernels built over the same inputs), yielding `yields`.
struct Fallback {
  ArrayRef<Operation *> ops;
  ArrayRef<Value> yields;
};

/// Builds one knet.fused op from `kernel` before `anchor`; `outputs` are the
/// member results it returns (for a reduction kernel: the reduction's, then
/// members' elementwise results).
FusedOp buildKernel(const Kernel &kernel, ArrayRef<Value> outputs,
                    Operation *anchor,
                    std::optional<Fallback> instead = std::nullopt) {
  llvm::SetVector<Operation *> members(kernel.members.begin(),
                                       kernel.members.end());
  // Inputs: every operand not computed by a member, in first-use order; the
  // like of a closing sum_to goes last (its shape only is read).
  llvm::SetVector<Value> inputs;
  for (Operation *op : members)
    for (Value v : op->getOperands())
      if (!members.contains(v.getDefiningOp()))
        inputs.insert(v);
  Value like;
  if (auto sumTo = dyn_cast_or_null<SumToOp>(kernel.reduction)) {
    like = sumTo.getLike();
    if (!members.contains(sumTo.getX().getDefiningOp()))
      inputs.insert(sumTo.getX());
  } else if (kernel.reduction) {
    Value x = kernel.reduction->getOperand(0);
    if (!members.contains(x.getDefiningOp()))
      inputs.insert(x);
  }
  SmallVector<Value> inputList(inputs.begin(), inputs.end());
  if (like) {
    inputList.push_back(like);
  }
  auto indexOf = [&](Value v) {
    return static_cast<int64_t>(llvm::find(inputList, v) - inputList.begin());
  };

  // Which inputs each value depends on (its cone), for the shape checks.
  DenseMap<Value, llvm::SmallBitVector> cone;
  auto coneOf = [&](Value v) {
    auto it = cone.find(v);
    if (it != cone.end())
      return it->second;
    llvm::SmallBitVector bits(inputList.size());
    bits.set(indexOf(v));
    return bits;
  };
  SmallVector<Attribute> checks;
  OpBuilder b(anchor);
  auto addCheck = [&](const llvm::SmallBitVector &lhs,
                      const llvm::SmallBitVector &rhs) {
    if (lhs == rhs)
      return;
    SmallVector<int64_t> c{static_cast<int64_t>(lhs.count())};
    for (int i : lhs.set_bits())
      c.push_back(i);
    for (int i : rhs.set_bits())
      c.push_back(i);
    checks.push_back(b.getDenseI64ArrayAttr(c));
  };
  // Float inputs each member's value (not its shape) comes from: a member
  // whose inputs are all weak scalars computes in f64 (dtype cones; the
  // runtime checks them, docs/ops.md "Dtype promotion").
  llvm::SmallBitVector floatInputs(inputList.size());
  for (auto [i, v] : llvm::enumerate(inputList))
    if (isa<FloatType>(getElementTypeOrSelf(v.getType())))
      floatInputs.set(i);
  DenseMap<Value, llvm::SmallBitVector> valueCone;
  auto valueConeOf = [&](Value v) {
    auto it = valueCone.find(v);
    if (it != valueCone.end())
      return it->second;
    llvm::SmallBitVector bits(inputList.size());
    bits.set(indexOf(v));
    return bits;
  };
  SmallVector<llvm::SmallBitVector> dtypeCones;
  for (Operation *op : members) {
    llvm::SmallBitVector bits(inputList.size()), values(inputList.size());
    for (Value v : op->getOperands()) {
      bits |= coneOf(v);
      values |= valueConeOf(v);
    }
    if (auto sumTo = dyn_cast<SumToOp>(op)) {
      // The identity when x already has like's shape, which is checked.
      addCheck(coneOf(sumTo.getX()), coneOf(sumTo.getLike()));
      bits = coneOf(sumTo.getX());
      values = valueConeOf(sumTo.getX());
    } else if (auto bcast = dyn_cast<BroadcastToOp>(op)) {
      // x must broadcast to like's shape (else the op's error is raised).
      addCheck(coneOf(bcast.getX()) | coneOf(bcast.getLike()),
               coneOf(bcast.getLike()));
      values = valueConeOf(bcast.getX());
    }
    cone[op->getResult(0)] = bits;
    valueCone[op->getResult(0)] = values;
    llvm::SmallBitVector floats = values & floatInputs;
    if (floats.any() && !llvm::is_contained(dtypeCones, floats))
      dtypeCones.push_back(floats);
  }
  {
    // Elementwise results have the iteration shape: every input's but the
    // like's.
    llvm::SmallBitVector all(inputList.size());
    all.set();
    if (like)
      all.reset(inputList.size() - 1);
    for (Value out : outputs.drop_front(kernel.reduction ? 1 : 0))
      addCheck(coneOf(out), all);
    // With elementwise results beside it, a reduction must fold the
    // iteration shape itself, not a value broadcast over it (a sum of
    // sum(x, keepdim) * w beside an x-shaped result).
    if (kernel.reduction && outputs.size() > 1)
      addCheck(coneOf(kernel.reduction->getOperand(0)), all);
  }

  SmallVector<Location> locs;
  for (Operation *op : members)
    locs.push_back(op->getLoc());
  if (kernel.reduction)
    locs.push_back(kernel.reduction->getLoc());
  Location loc = b.getFusedLoc(locs);

  SmallVector<Type> resultTypes;
  for (Value out : outputs)
    resultTypes.push_back(out.getType());
  auto fused = b.create<FusedOp>(loc, resultTypes, inputList,
                                 ArrayRef<NamedAttribute>{});
  if (Operation *r = kernel.reduction) {
    fused.setReduceAttr(ReduceKindAttr::get(b.getContext(), *closingKind(r)));
    if (auto dims = r->getAttrOfType<DenseI64ArrayAttr>("dims"))
      fused.setDimsAttr(dims);
    if (r->hasAttr("keepdim"))
      fused.setKeepdim(true);
  }
  if (!checks.empty())
    fused.setChecksAttr(b.getArrayAttr(checks));
  {
    // A cone with every float input (but a sum_to's like) agrees with the
    // kernel's own dtype rule: no need to list it.
    llvm::SmallBitVector all = floatInputs;
    if (like)
      all.reset(inputList.size() - 1);
    SmallVector<Attribute> cones;
    for (const llvm::SmallBitVector &c : dtypeCones) {
      if (c == all)
        continue;
      SmallVector<int64_t> indices;
      for (int i : c.set_bits())
        indices.push_back(i);
      cones.push_back(b.getDenseI64ArrayAttr(indices));
    }
    if (!cones.empty())
      fused.setConesAttr(b.getArrayAttr(cones));
  }

  // The scalar body, from each member's buildScalar.
  {
    Block *body = b.createBlock(&fused.getBody());
    IRMapping scalars;
    for (Value v : inputList)
      scalars.map(
          v, body->addArgument(getElementTypeOrSelf(v.getType()), v.getLoc()));
    b.setInsertionPointToStart(body);
    for (Operation *op : members) {
      Value s;
      if (auto scalar = dyn_cast<ScalarElementwiseOpInterface>(op)) {
        SmallVector<Value> operands;
        for (Value v : op->getOperands())
          operands.push_back(scalars.lookup(v));
        s = scalar.buildScalar(b, operands);
      } else {
        s = scalars.lookup(op->getOperand(0)); // broadcast_to, sum_to
      }
      scalars.map(op->getResult(0), s);
    }
    SmallVector<Value> yields;
    if (kernel.reduction)
      yields.push_back(scalars.lookup(kernel.reduction->getOperand(0)));
    for (Value out : outputs.drop_front(kernel.reduction ? 1 : 0))
      yields.push_back(scalars.lookup(out));
    b.create<YieldOp>(loc, yields);
    orderScalarBody(*body);
  }

  // The fallback: the ops the kernel replaces.
  {
    Block *fallback = b.createBlock(&fused.getFallback());
    IRMapping map;
    for (Value v : inputList)
      map.map(v, fallback->addArgument(v.getType(), v.getLoc()));
    b.setInsertionPointToStart(fallback);
    SmallVector<Value> yields;
    if (instead) {
      for (Operation *op : instead->ops)
        b.clone(*op, map);
      for (Value v : instead->yields)
        yields.push_back(map.lookup(v));
    } else {
      for (Operation *op : members)
        b.clone(*op, map);
      if (kernel.reduction)
        yields.push_back(b.clone(*kernel.reduction, map)->getResult(0));
      for (Value out : outputs.drop_front(kernel.reduction ? 1 : 0))
        yields.push_back(map.lookup(out));
    }
    b.create<YieldOp>(loc, yields);
  }
  // Static types can contradict what the kernel computes (a ranked result
  // narrower than the inputs' broadcast shape): then there is no kernel.
  ScopedDiagnosticHandler quiet(fused->getContext(),
                                [](Diagnostic &) { return success(); });
  if (failed(verify(fused))) {
    fused->erase();
    return nullptr;
  }
  return fused;
}

void FusionPass::fuseBlock(Block &block) {
  // Greedy grouping in block order. Groups are classes of member ops.
  llvm::EquivalenceClasses<Operation *> groups;
  DenseMap<Operation *, unsigned> order;
  unsigned position = 0;
  for (Operation &op : block)
    order[&op] = position++;

  // Chain-ending sum_tos leave their groups (below): they stay in the
  // classes, marked, so that no class is rebuilt (linear in the block).
  llvm::SmallPtrSet<Operation *, 16> removed;
  auto inGroup = [&](Operation *op) {
    return op && groups.findValue(op) != groups.end() && !removed.contains(op);
  };
  auto membersOf = [&](Operation *op) {
    SmallVector<Operation *> ms;
    for (auto m = groups.findLeader(op); m != groups.member_end(); ++m)
      if (!removed.contains(*m))
        ms.push_back(*m);
    return ms;
  };
  // Whether `op` can join the union of `members`: no outside op placed
  // before `op` reads a member, and the caps hold.
  auto canJoin = [&](ArrayRef<Operation *> members, Operation *op) {
    llvm::SmallPtrSet<Operation *, 16> set(members.begin(), members.end());
    set.insert(op);
    llvm::SmallPtrSet<Value, 16> inputs;
    unsigned outputs = 0;
    for (Operation *m : set) {
      bool escapes = false;
      for (Operation *user : m->getResult(0).getUsers()) {
        Operation *u = inBlock(&block, user);
        if (!u || set.contains(u))
          continue;
        escapes = true;
        if (order.lookup(u) < order.lookup(op))
          return false;
      }
      outputs += escapes;
      for (Value v : m->getOperands())
        if (!set.contains(v.getDefiningOp()))
          inputs.insert(v);
    }
    return inputs.size() <= maxInputs && outputs <= maxOutputs;
  };

  for (Operation &opRef : block) {
    Operation *op = &opRef;
    if (!isMemberOp(op))
      continue;
    // A sum_to joins only as the identity inside a chain.
    if (auto sumTo = dyn_cast<SumToOp>(op)) {
      Operation *def = sumTo.getX().getDefiningOp();
      if (!def || !inGroup(def) || def->getBlock() != &block)
        continue;
    }
    groups.insert(op);
    SmallVector<Operation *> leaders;
    for (Value v : op->getOperands()) {
      Operation *def = v.getDefiningOp();
      if (!def || def->getBlock() != &block || !inGroup(def))
        continue;
      Operation *leader = groups.getLeaderValue(def);
      if (!llvm::is_contained(leaders, leader))
        leaders.push_back(leader);
    }
    SmallVector<Operation *> all;
    for (Operation *leader : leaders)
      llvm::append_range(all, membersOf(leader));
    if (!leaders.empty() && canJoin(all, op)) {
      for (Operation *leader : leaders)
        groups.unionSets(leader, op);
      continue;
    }
    // Else join the latest group it can, or start one.
    for (Operation *leader : llvm::reverse(leaders))
      if (canJoin(membersOf(leader), op)) {
        groups.unionSets(leader, op);
        break;
      }
  }

  // Siblings: groups that read a common input and neither feeds the other
  // (the gate gradients of an LSTM cell) merge when the union can still be
  // placed at its last member.
  auto canMerge = [&](ArrayRef<Operation *> members) {
    Operation *last =
        *llvm::max_element(members, [&](Operation *a, Operation *b) {
          return order.lookup(a) < order.lookup(b);
        });
    return canJoin(members, last);
  };
  // A group of two or more members: where it starts, its inputs, and the
  // first op outside it that reads a member. A group that starts after that
  // op can never merge with it (canJoin would find the op placed before the
  // union's last member), which bounds the candidates to a window and keeps
  // this linear in the block for long straight-line code.
  struct Sibling {
    Operation *leader;
    SmallVector<Operation *> members;
    unsigned first = 0, escape = 0;
    llvm::SmallPtrSet<Value, 16> inputs;
    bool merged = false;
  };
  auto describe = [&](Sibling &g) {
    llvm::SmallPtrSet<Operation *, 16> set(g.members.begin(), g.members.end());
    g.first = ~0u;
    g.escape = ~0u;
    g.inputs.clear();
    for (Operation *m : g.members) {
      g.first = std::min(g.first, order.lookup(m));
      for (Value v : m->getOperands())
        if (!set.contains(v.getDefiningOp()))
          g.inputs.insert(v);
      for (Operation *user : m->getResult(0).getUsers())
        if (Operation *u = inBlock(&block, user); u && !set.contains(u))
          g.escape = std::min(g.escape, order.lookup(u));
    }
  };
  auto siblingPass = [&] {
    std::vector<Sibling> gs;
    for (auto it = groups.begin(); it != groups.end(); ++it) {
      if (!it->isLeader())
        continue;
      Sibling g;
      g.leader = it->getData();
      g.members = membersOf(g.leader);
      if (g.members.size() < 2)
        continue;
      describe(g);
      gs.push_back(std::move(g));
    }
    llvm::sort(gs, [](const Sibling &a, const Sibling &b) {
      return a.first < b.first;
    });
    DenseMap<Value, SmallVector<unsigned>> readers;
    for (auto [k, g] : llvm::enumerate(gs))
      for (Value v : g.inputs)
        readers[v].push_back(k);
    bool any = false;
    for (unsigned i = 0; i < gs.size(); ++i) {
      Sibling &a = gs[i];
      if (a.merged)
        continue;
      for (bool grew = true; grew;) {
        grew = false;
        SmallVector<unsigned> candidates;
        for (Value v : a.inputs)
          for (unsigned k : readers[v]) {
            if (k <= i || gs[k].merged)
              continue;
            if (gs[k].first > a.escape)
              break;
            candidates.push_back(k);
          }
        llvm::sort(candidates);
        candidates.erase(llvm::unique(candidates), candidates.end());
        for (unsigned k : candidates) {
          SmallVector<Operation *> both(a.members);
          llvm::append_range(both, gs[k].members);
          if (!canMerge(both))
            continue;
          groups.unionSets(a.leader, gs[k].leader);
          a.members = std::move(both);
          describe(a);
          gs[k].merged = true;
          any = grew = true;
          break;
        }
      }
    }
    return any;
  };
  while (siblingPass()) {
  }

  auto sortByOrder = [&](SmallVector<Operation *> &ops) {
    llvm::sort(ops, [&](Operation *a, Operation *b) {
      return order.lookup(a) < order.lookup(b);
    });
  };
  auto groupOf = [&](Operation *op) -> SmallVector<Operation *> {
    if (!op || groups.findValue(op) == groups.end())
      return {};
    SmallVector<Operation *> ms = membersOf(op);
    sortByOrder(ms);
    return ms;
  };

  // The members of `group` (in block order) that `needed` (members) are
  // computed from, `needed` included.
  auto closeOver = [](ArrayRef<Operation *> group,
                      llvm::SmallPtrSet<Operation *, 16> needed) {
    llvm::SmallPtrSet<Operation *, 16> set(group.begin(), group.end());
    for (Operation *m : llvm::reverse(group))
      if (needed.contains(m))
        for (Value v : m->getOperands())
          if (Operation *d = v.getDefiningOp(); d && set.contains(d))
            needed.insert(d);
    return needed;
  };

  // A sum_to with no user in its group ends the chain: it becomes a
  // reduction instead of an identity. Not when its like is computed in the
  // group: the reduction would read it before the group's kernel made it.
  for (Operation &op : block)
    if (auto sumTo = dyn_cast<SumToOp>(&op); sumTo && inGroup(&op)) {
      bool usedInGroup = llvm::any_of(sumTo->getUsers(), [&](Operation *u) {
        return inGroup(u) && groups.isEquivalent(u, &op);
      });
      Operation *like = sumTo.getLike().getDefiningOp();
      bool likeInGroup = inGroup(like) && groups.isEquivalent(like, &op);
      if (!usedInGroup && !likeInGroup)
        removed.insert(&op);
    }

  // Reduction kernels: a reduction of a member's result recomputes the
  // members that result depends on.
  SmallVector<std::pair<Kernel, Operation *>> reductions;
  for (Operation &op : block) {
    if (!closingKind(&op))
      continue;
    if (isa<SumToOp>(&op) && inGroup(&op))
      continue; // an identity inside a chain
    Operation *def = op.getOperand(0).getDefiningOp();
    if (!def || def->getBlock() != &block || !inGroup(def)) {
      if (singletons) // a kernel of no members
        reductions.push_back({Kernel{{}, &op}, &op});
      continue;
    }
    SmallVector<Operation *> group = groupOf(def);
    llvm::SmallPtrSet<Operation *, 16> needed = closeOver(group, {def});
    Kernel k;
    for (Operation *m : group)
      if (needed.contains(m))
        k.members.push_back(m);
    k.reduction = &op;
    reductions.push_back({k, &op});
  }
  // One pass for a chain's reduction and its other uses: the first
  // reduction of a group that also has elementwise outputs (members read
  // outside it but by reductions) returns them too, from one kernel placed
  // before the last member either needs (relu_back's result and the bias
  // gradient summed from it; an LSTM cell's gate gradients and the c
  // gradient's sum_to). Its like must be defined by then. Its fallback is
  // the two kernels it merges, for operands on which the reduction would
  // fold a value broadcast over the elementwise results' shape.
  llvm::SmallPtrSet<Operation *, 16> reductionOps;
  for (auto &entry : reductions)
    reductionOps.insert(entry.second);
  llvm::SmallPtrSet<Operation *, 16> mergedLeaders, merged;
  for (auto &[kernel, reduction] : reductions) {
    if (kernel.members.empty())
      continue;
    Operation *leader = groups.getLeaderValue(kernel.members.front());
    if (mergedLeaders.contains(leader))
      continue;
    SmallVector<Operation *> group = groupOf(leader);
    llvm::SmallPtrSet<Operation *, 16> set(group.begin(), group.end());
    auto outside = [&](Operation *user) {
      Operation *a = inBlock(&block, user);
      return !a || (!set.contains(a) && !reductionOps.contains(a));
    };
    SmallVector<Value> outputs{reduction->getResult(0)};
    llvm::SmallPtrSet<Operation *, 16> roots;
    for (Operation *m : group)
      if (llvm::any_of(m->getUsers(), outside)) {
        outputs.push_back(m->getResult(0));
        roots.insert(m);
      }
    if (outputs.size() == 1 || outputs.size() > maxOutputs)
      continue;
    llvm::SmallPtrSet<Operation *, 16> neededE = closeOver(group, roots);
    llvm::SmallPtrSet<Operation *, 16> neededM = neededE;
    neededM.insert(kernel.members.begin(), kernel.members.end());
    Kernel ek, mk;
    mk.reduction = reduction;
    for (Operation *m : group) {
      if (neededE.contains(m))
        ek.members.push_back(m);
      if (neededM.contains(m))
        mk.members.push_back(m);
    }
    Operation *anchor = mk.members.back();
    llvm::SmallPtrSet<Value, 16> inputs;
    for (Operation *m : mk.members)
      for (Value v : m->getOperands())
        if (!neededM.contains(v.getDefiningOp()))
          inputs.insert(v);
    if (auto sumTo = dyn_cast<SumToOp>(reduction)) {
      inputs.insert(sumTo.getLike());
      // The like must stay defined before the anchor: not a member of a
      // group (whose kernel may be placed later), not a kernel this pass
      // made (not in `order`).
      Operation *likeDef = sumTo.getLike().getDefiningOp();
      Operation *likeHere = likeDef ? inBlock(&block, likeDef) : nullptr;
      if (likeHere && (isa<FusedOp>(likeHere) ||
                       groups.findValue(likeHere) != groups.end() ||
                       !likeHere->isBeforeInBlock(anchor)))
        continue;
    }
    if (inputs.size() > maxInputs)
      continue;
    // The two kernels the merged one replaces: its fallback.
    SmallVector<Value> elementwise(ArrayRef<Value>(outputs).drop_front());
    FusedOp rk = buildKernel(kernel, {reduction->getResult(0)}, reduction);
    FusedOp ekOp =
        rk ? buildKernel(ek, elementwise, ek.members.back()) : FusedOp();
    FusedOp fused;
    if (ekOp) {
      SmallVector<Operation *> parts{ekOp, rk};
      SmallVector<Value> yields{rk.getResult(0)};
      llvm::append_range(yields, ekOp.getResults());
      fused = buildKernel(mk, outputs, anchor, Fallback{parts, yields});
    }
    for (FusedOp part : {rk, ekOp})
      if (part)
        part->erase();
    if (!fused)
      continue;
    reduction->getResult(0).replaceAllUsesWith(fused.getResult(0));
    for (unsigned i = 1; i < outputs.size(); ++i)
      outputs[i].replaceUsesWithIf(fused.getResult(i), [&](OpOperand &use) {
        return outside(use.getOwner());
      });
    mergedLeaders.insert(leader);
    merged.insert(reduction);
  }
  for (auto &[kernel, reduction] : reductions) {
    if (merged.contains(reduction)) {
      reduction->erase();
      continue;
    }
    FusedOp fused = buildKernel(kernel, {reduction->getResult(0)}, reduction);
    if (!fused)
      continue;
    reduction->getResult(0).replaceAllUsesWith(fused.getResult(0));
    reduction->erase();
  }

  // Elementwise kernels: the groups of two or more members that still have
  // users outside.
  SmallVector<Operation *> leaders;
  for (auto it = groups.begin(); it != groups.end(); ++it)
    if (it->isLeader())
      leaders.push_back(it->getData());
  for (Operation *leader : leaders) {
    Kernel k;
    k.members = groupOf(leader);
    llvm::SmallPtrSet<Operation *, 16> set(k.members.begin(), k.members.end());
    SmallVector<Value> outputs;
    for (Operation *m : k.members)
      if (llvm::any_of(m->getUsers(), [&](Operation *u) {
            Operation *a = inBlock(&block, u);
            return !a || !set.contains(a);
          }))
        outputs.push_back(m->getResult(0));
    // Members only the reductions needed are left out (they recompute them).
    llvm::SmallPtrSet<Operation *, 16> roots;
    for (Value out : outputs)
      roots.insert(out.getDefiningOp());
    llvm::SmallPtrSet<Operation *, 16> needed = closeOver(k.members, roots);
    llvm::erase_if(k.members,
                   [&](Operation *m) { return !needed.contains(m); });
    if (k.members.size() >= (singletons ? 1u : 2u) && !outputs.empty()) {
      if (FusedOp fused = buildKernel(k, outputs, k.members.back()))
        for (auto [out, result] : llvm::zip(outputs, fused.getResults()))
          out.replaceAllUsesWith(result);
    }
    // Members whose every use is gone (fused, or recomputed by reductions).
    SmallVector<Operation *> all = groupOf(leader);
    for (Operation *m : llvm::reverse(all))
      if (m->use_empty())
        m->erase();
  }
}

void FusionPass::runOnOperation() {
  SmallVector<Block *> blocks;
  getOperation()->walk<WalkOrder::PreOrder>([&](Operation *op) {
    if (isa<FusedOp>(op))
      return WalkResult::skip();
    for (Region &region : op->getRegions())
      for (Block &block : region)
        blocks.push_back(&block);
    return WalkResult::advance();
  });
  for (Block *block : blocks)
    fuseBlock(*block);
}

} // namespace

std::unique_ptr<Pass> mlir::knet::createFusionPass() {
  return std::make_unique<FusionPass>();
}

void mlir::knet::registerFusionPass() { PassRegistration<FusionPass>(); }
