//===- Accumulate.cpp - gradient accumulations into the GEMM
//---------------===//
//
// knet-accumulate: `acc + sum_to(matmul(a, b), like)` becomes one
// knet.matmul_acc where the matmul and the sum_to have no other use and
// `acc` has none either: the accumulation of a weight's gradient over a
// loop's iterations (the adjoint of an RNN's time loop adds one product per
// step into a loop-carried gradient). The runtime then adds the product
// into acc's buffer inside the GEMM (beta = 1) when nothing else holds that
// buffer, instead of writing the product and adding it in a second pass
// into a third tensor. An `acc` that is an argument of the function is left
// alone: its buffer is the caller's.
//
//===----------------------------------------------------------------------===//

#include "knet/IR/KnetDialect.h"
#include "knet/Passes/Passes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/TypeUtilities.h"

using namespace mlir;
using namespace mlir::knet;

namespace {

/// The matmul_acc operands of `add` read as acc + sum_to(matmul(a, b)),
/// with acc the operand `accIndex`, or false.
bool matchAccumulation(AddOp add, unsigned accIndex, func::FuncOp f,
                       MatmulOp &product, SumToOp &sum) {
  Value acc = add->getOperand(accIndex);
  Value other = add->getOperand(1 - accIndex);
  sum = other.getDefiningOp<SumToOp>();
  if (!sum || !other.hasOneUse() || !acc.hasOneUse() || acc == other)
    return false;
  product = sum.getX().getDefiningOp<MatmulOp>();
  if (!product || !product->hasOneUse())
    return false;
  // All in the add's block: an acc defined outside a loop whose body adds
  // into it is read again by every iteration, and a product made outside
  // would be made again in each.
  Block *block = add->getBlock();
  if (acc.getParentBlock() != block || sum->getBlock() != block ||
      product->getBlock() != block)
    return false;
  // The caller's buffer, not the function's.
  if (auto arg = dyn_cast<BlockArgument>(acc))
    if (arg.getOwner() == &f.getBody().front())
      return false;
  // One float element type, as knet.matmul_acc states.
  Type t = getElementTypeOrSelf(acc.getType());
  return isa<FloatType>(t) && getElementTypeOrSelf(product.getA()) == t &&
         getElementTypeOrSelf(product.getB()) == t &&
         isa<FloatType>(getElementTypeOrSelf(sum.getLike()));
}

struct AccumulatePass : PassWrapper<AccumulatePass, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(AccumulatePass)

  StringRef getArgument() const final { return "knet-accumulate"; }
  StringRef getDescription() const final {
    return "Adds a matrix product accumulated into a value with no other use "
           "inside the GEMM (knet.matmul_acc)";
  }

  void runOnOperation() override {
    for (auto f : getOperation().getOps<func::FuncOp>()) {
      SmallVector<AddOp> adds;
      f.walk([&](AddOp add) { adds.push_back(add); });
      for (AddOp add : adds) {
        MatmulOp product;
        SumToOp sum;
        unsigned accIndex = 0;
        if (!matchAccumulation(add, 0, f, product, sum)) {
          accIndex = 1;
          if (!matchAccumulation(add, 1, f, product, sum))
            continue;
        }
        OpBuilder b(add);
        auto acc = b.create<MatmulAccOp>(
            add.getLoc(), add.getResult().getType(), add->getOperand(accIndex),
            product.getA(), product.getB(), sum.getLike());
        // The reverse sweep's mark (knet-split-adjoint reads it).
        if (Attribute mark = add->getAttr(kReverseAttrName))
          acc->setAttr(kReverseAttrName, mark);
        add.getResult().replaceAllUsesWith(acc.getResult());
        add->erase();
        sum->erase();
        product->erase();
      }
    }
  }
};

} // namespace

std::unique_ptr<Pass> mlir::knet::createAccumulatePass() {
  return std::make_unique<AccumulatePass>();
}

void mlir::knet::registerAccumulatePass() {
  PassRegistration<AccumulatePass>();
}
