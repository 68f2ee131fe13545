//===- KnetInterfaces.td - derivative and scalar-body interfaces -*- tablegen -*-===//

#ifndef KNET_IR_KNETINTERFACES_TD
#define KNET_IR_KNETINTERFACES_TD

include "mlir/IR/OpBase.td"

def DifferentiableOpInterface : OpInterface<"DifferentiableOpInterface"> {
  let cppNamespace = "::mlir::knet";
  let description = [{
    An op that states its own derivative (Knet's @primitive): given the
    gradients of its results, buildAdjoint emits, at the builder's insertion
    point, the ops computing the gradients of its operands. It returns one
    Value per operand, null where no gradient flows (integer operands, labels,
    shapes). An empty vector from an op with operands means that the op has
    no adjoint rule yet; the autodiff pass reports it at the op's location.
  }];
  let methods = [
    InterfaceMethod<
      "Builds the operand gradients from the result gradients.",
      "::llvm::SmallVector<::mlir::Value>", "buildAdjoint",
      (ins "::mlir::OpBuilder &":$builder,
           "::mlir::ValueRange":$resultGrads),
      /*methodBody=*/[{}],
      /*defaultImplementation=*/[{ return {}; }]>
  ];
}

def ScalarElementwiseOpInterface : OpInterface<"ScalarElementwiseOpInterface"> {
  let cppNamespace = "::mlir::knet";
  let description = [{
    An elementwise op whose per-element body is a few scalar arith/math ops.
    buildScalar emits that body at the builder's insertion point over one
    scalar per operand (the operand's element type) and returns the scalar
    result (the result's element type). Fusion builds knet.fused regions from
    it; both kernel emitters (C++ loops and CUDA C) print the region.
  }];
  let methods = [
    InterfaceMethod<
      "Builds the scalar body over one element of each operand.",
      "::mlir::Value", "buildScalar",
      (ins "::mlir::OpBuilder &":$builder, "::mlir::ValueRange":$scalars)>
  ];
}

#endif // KNET_IR_KNETINTERFACES_TD
