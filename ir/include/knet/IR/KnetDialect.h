//===- KnetDialect.h - the knet dialect: types, interfaces, ops -*- C++ -*-===//
//
// The one header to include for the knet IR.
//
//===----------------------------------------------------------------------===//

#ifndef KNET_IR_KNETDIALECT_H
#define KNET_IR_KNETDIALECT_H

#include "knet/IR/ScalarBuilder.h"

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/ControlFlowInterfaces.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "knet/IR/KnetDialect.h.inc"
#include "knet/IR/KnetEnums.h.inc"

#define GET_TYPEDEF_CLASSES
#include "knet/IR/KnetTypes.h.inc"

#include "knet/IR/KnetInterfaces.h.inc"

namespace mlir::knet {

// Shared verifiers of the op families (KnetOps.cpp).

/// Operands broadcast like NumPy and a ranked result has their broadcast
/// shape.
LogicalResult verifyBroadcast(Operation *op);
/// `dims` of an operand of type `input` are in range and distinct, and the
/// result has the reduced shape (`allDimsWhenEmpty`: no dims means all).
LogicalResult verifyReduction(Operation *op, Type input, ArrayRef<int64_t> dims,
                              bool keepdim, Type result, bool allDimsWhenEmpty);
/// `dim` is a valid dim of `type` (negative from the end).
LogicalResult verifyDim(Operation *op, Type type, int64_t dim);
LogicalResult verifyBinaryLoss(Operation *op, Type scores, Type labels,
                               Type loss);
LogicalResult verifyBinaryLossBack(Operation *op, Type dy, Type scores,
                                   Type labels, Type dscores);

/// Attaches DifferentiableOpInterface to the scalar arith and math ops that
/// C++ scalar code lowers to (addf, mulf, exp, ...): their adjoint rules live
/// beside the knet ops' in KnetAdjoints.cpp. knet-opt, knetc and the autodiff
/// pass (through its dependent dialects) call it.
void registerAdjointExternalModels(DialectRegistry &registry);

namespace OpTrait {
/// Verifies knet's broadcasting rule over the tensor operands and result.
template <typename ConcreteType>
class Broadcast : public ::mlir::OpTrait::TraitBase<ConcreteType, Broadcast> {
public:
  static LogicalResult verifyTrait(Operation *op) {
    return verifyBroadcast(op);
  }
};
} // namespace OpTrait

} // namespace mlir::knet

#define GET_OP_CLASSES
#include "knet/IR/KnetOps.h.inc"

#endif // KNET_IR_KNETDIALECT_H
