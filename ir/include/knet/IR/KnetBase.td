//===- KnetBase.td - the knet dialect, types, enums, traits -*- tablegen -*-===//
//
// The knet dialect mirrors the runtime's op set (DESIGN §3) over builtin
// tensor types: ranked with dynamic dims (tensor<?x784xf32>) or unranked
// (tensor<*xf32>), with f32, f64, i64 or i1 elements.
//
//===----------------------------------------------------------------------===//

#ifndef KNET_IR_KNETBASE_TD
#define KNET_IR_KNETBASE_TD

include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"
include "mlir/IR/OpBase.td"

def Knet_Dialect : Dialect {
  let name = "knet";
  let cppNamespace = "::mlir::knet";
  let summary = "Knet-style differentiable tensor ops";
  let description = [{
    One op per runtime op of knet (matmul, relu, conv2d, ...), their backward
    kernels, the helpers that reverse-mode differentiation needs (sum_to,
    broadcast_to, zeros_like), lists, a value stack for loop adjoints and
    knet.fused, a region of scalar arith/math ops over broadcast operands.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect"];
  let useDefaultTypePrinterParser = 1;
  let hasConstantMaterializer = 1;
  let extraClassDeclaration = [{
  private:
    void registerTypes();
    void registerOps();
  }];
}

//===----------------------------------------------------------------------===//
// Types
//===----------------------------------------------------------------------===//

class Knet_Type<string name, string typeMnemonic, list<Trait> traits = []>
    : TypeDef<Knet_Dialect, name, traits> {
  let mnemonic = typeMnemonic;
}

def Knet_ListType : Knet_Type<"List", "list"> {
  let summary = "an immutable list of values (std::vector<Tensor>, "
                "std::vector<Param>)";
  let parameters = (ins "::mlir::Type":$elementType);
  let assemblyFormat = "`<` $elementType `>`";
}

def Knet_StackType : Knet_Type<"Stack", "stack"> {
  let summary = "a LIFO stack of values saved by a loop's forward sweep for "
                "its reverse sweep";
  let parameters = (ins "::mlir::Type":$elementType);
  let assemblyFormat = "`<` $elementType `>`";
}

def Knet_MomentsType : Knet_Type<"Moments", "moments"> {
  let summary = "the running statistics of a batchnorm (knet::Moments&), "
                "updated in place";
}

//===----------------------------------------------------------------------===//
// Type constraints
//===----------------------------------------------------------------------===//

def Knet_Tensor : TensorOf<[F32, F64, I64, I1]>;
def Knet_FloatTensor : TensorOf<[F32, F64]>;
def Knet_NumTensor : TensorOf<[F32, F64, I64]>;
def Knet_BoolTensor : TensorOf<[I1]>;
def Knet_IdTensor : TensorOf<[I64]>;
def Knet_Scalar : AnyTypeOf<[F32, F64, I64, I1, Index]>;
def Knet_ScalarElement : AnyTypeOf<[F32, F64, I64, I1]>;
// Op operands and results hold lists and stacks as plain mlir::Type so that
// the assembly prints them in full (!knet.list<...>), not stripped (<...>).
def Knet_List : Type<Knet_ListType.predicate, "list", "::mlir::Type">;
def Knet_Stack : Type<Knet_StackType.predicate, "stack", "::mlir::Type">;
def Knet_Moments : Type<Knet_MomentsType.predicate, "moments", "::mlir::Type">,
    BuildableType<"::mlir::knet::MomentsType::get($_builder.getContext())">;
def Knet_TensorList : Type<
    And<[Knet_ListType.predicate,
         CPred<"::llvm::isa<::mlir::TensorType>("
               "::llvm::cast<::mlir::knet::ListType>($_self).getElementType())">]>,
    "list of tensors", "::mlir::Type">;

//===----------------------------------------------------------------------===//
// Enums and attribute constraints
//===----------------------------------------------------------------------===//

def Knet_PoolMode : I32EnumAttr<"PoolMode", "pooling mode", [
    I32EnumAttrCase<"max", 0>, I32EnumAttrCase<"avg", 1>]> {
  let cppNamespace = "::mlir::knet";
}

def Knet_ReduceKind : I32EnumAttr<"ReduceKind",
    "the reduction closing a knet.fused region", [
    I32EnumAttrCase<"sum", 0>, I32EnumAttrCase<"mean", 1>,
    I32EnumAttrCase<"max", 2>, I32EnumAttrCase<"min", 3>,
    I32EnumAttrCase<"sum_to", 4>]> {
  let cppNamespace = "::mlir::knet";
}

def Knet_NonNegI64 : ConfinedAttr<I64Attr, [IntNonNegative]>;
def Knet_PosI64 : ConfinedAttr<I64Attr, [IntPositive]>;

//===----------------------------------------------------------------------===//
// Traits
//===----------------------------------------------------------------------===//

// The tensor operands broadcast like NumPy: static sizes of aligned dims are
// equal or 1, and a ranked result has the broadcast rank and sizes.
def Knet_Broadcast : NativeOpTrait<"Broadcast"> {
  let cppNamespace = "::mlir::knet::OpTrait";
}

#endif // KNET_IR_KNETBASE_TD
