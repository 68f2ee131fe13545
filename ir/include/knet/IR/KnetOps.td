//===- KnetOps.td - the knet ops ---------------------------*- tablegen -*-===//
//
// One definition per op. Families share a class that supplies the operands,
// the assembly format, the verifier and, for elementwise ops, the scalar body
// (ScalarElementwiseOpInterface::buildScalar): adding an op is one `def`.
//
// Scalar bodies are written against ScalarBuilder (ScalarBuilder.h) as `e`,
// with the operands' scalars bound to names (`x`; `a`, `b`; `dy`, `v`).
//
//===----------------------------------------------------------------------===//

#ifndef KNET_IR_KNETOPS_TD
#define KNET_IR_KNETOPS_TD

include "knet/IR/KnetBase.td"
include "knet/IR/KnetInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/ControlFlowInterfaces.td"
include "mlir/IR/OpBase.td"

//===----------------------------------------------------------------------===//
// The op registry
//===----------------------------------------------------------------------===//
//
// Besides what mlir-tblgen reads, every op states here what the rest of knet
// needs to know of it; tools/knet-opgen.py reads these fields (through
// `llvm-tblgen --dump-json`) and writes the frontend's table of runtime
// functions, the C++ emitter's table, the runtime's one-op GPU kernels, the
// per-op adjoint test's cases and the op table of docs/ops.md. The families
// below set them for their members.

// A runtime function the frontend lowers to the op: `fn` is a free function
// of namespace knet ("relu", "operator+", "operator-/1" for unary minus) or
// a method ("Tensor::reshape"); `kind` says how the C++ arguments become
// operands and attributes (the frontend's build<Kind>; RuntimeOps.def).
class Knet_Call<string f, string k> {
  string fn = f;
  string kind = k;
}

// A variant of the op's C++ pattern (`knet.cast.dtype`), chosen by
// EmitCpp.cpp.
class Knet_CppVariant<string v, string p> {
  string variant = v;
  string pattern = p;
}

class Knet_Op<string mnemonic, list<Trait> traits = []>
    : Op<Knet_Dialect, mnemonic, traits> {
  // The runtime functions lowered to this op (none: the frontend makes it of
  // C++ constructs, or only the autodiff pass does).
  list<Knet_Call> runtimeCalls = [];
  // The C++ emitter's expression for the op (CppOpTable.cpp explains the
  // placeholders); "" when EmitCpp.cpp prints the op itself.
  string cppPattern = "";
  list<Knet_CppVariant> cppVariants = [];
  // The runtime has a one-op GPU kernel of it (runtime/jit/op_kernels.mlir).
  bit opKernel = 0;
  // How the per-op adjoint test (tests/opgrad) calls a differentiable op:
  // cases "<args> = <body>", where <args> are `name:shape` (3x4; empty for
  // 0-d) and the body, over those names, is the test function's 0-d result
  // (optionally after statements, `;`-separated); "detached: " marks a case
  // that reads a tensor's value (item), which central differences see
  // through and gradients do not: tape and compiled only. Empty:
  // knet-opgen.py derives the cases from the first runtime call's kind,
  // with `gradArg` (over `$x`) in place of each tensor argument, to keep it
  // in the op's domain.
  list<string> gradTests = [];
  string gradArg = "$x";
  // Set for an op that only the autodiff pass creates (it never appears in a
  // forward function): why no C++ function can contain it.
  string gradTestSkip = "";
}

// A differentiable op: its buildAdjoint (the derivative, beside the op's
// definition) lives in KnetAdjoints.cpp.
defvar Knet_Diff = DeclareOpInterfaceMethods<DifferentiableOpInterface,
                                             ["buildAdjoint"]>;
defvar Knet_ScalarBody = DeclareOpInterfaceMethods<ScalarElementwiseOpInterface>;

//===----------------------------------------------------------------------===//
// Elementwise ops
//===----------------------------------------------------------------------===//

// y = f(x), one element at a time. `body` computes the result from `x`.
class Knet_UnaryOp<string mnemonic, code body, Type T = Knet_FloatTensor,
                   list<Trait> traits = [Knet_Diff]>
    : Knet_Op<mnemonic, traits # [Pure, SameOperandsAndResultType,
                                  Knet_ScalarBody]> {
  let runtimeCalls = [Knet_Call<mnemonic, "Unary">];
  let cppPattern = "knet::" # mnemonic # "($0)";
  let opKernel = 1;
  let summary = "elementwise " # mnemonic;
  let arguments = (ins T:$x);
  let results = (outs T:$y);
  let assemblyFormat = "$x attr-dict `:` type($y)";
  let extraClassDefinition = [{
    ::mlir::Value $cppClass::buildScalar(::mlir::OpBuilder &builder,
                                         ::mlir::ValueRange scalars) {
      ::mlir::knet::ScalarBuilder e(builder, getLoc());
      ::mlir::Value x = scalars[0];
      return }] # body # [{;
    }
  }];
}

// result = f(lhs, rhs), broadcasting. `body` computes it from `a` and `b`.
class Knet_BinaryOp<string mnemonic, code body, Type T = Knet_NumTensor,
                    list<Trait> traits = [Knet_Diff]>
    : Knet_Op<mnemonic, traits # [Pure, Knet_Broadcast, Knet_ScalarBody,
        AllElementTypesMatch<["lhs", "rhs", "result"]>]> {
  let runtimeCalls = [Knet_Call<mnemonic, "Binary">];
  let cppPattern = "knet::" # mnemonic # "($0, $1)";
  let opKernel = 1;
  let summary = "elementwise " # mnemonic # " with broadcasting";
  let arguments = (ins T:$lhs, T:$rhs);
  let results = (outs T:$result);
  let assemblyFormat = [{
    $lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs) `->` type($result)
  }];
  let extraClassDefinition = [{
    ::mlir::Value $cppClass::buildScalar(::mlir::OpBuilder &builder,
                                         ::mlir::ValueRange scalars) {
      ::mlir::knet::ScalarBuilder e(builder, getLoc());
      ::mlir::Value a = scalars[0], b = scalars[1];
      return }] # body # [{;
    }
  }];
}

// i1 result of comparing lhs and rhs, broadcasting; no gradient.
class Knet_CompareOp<string mnemonic, string predicate, string cppOp>
    : Knet_Op<mnemonic, [Pure, Knet_Broadcast, Knet_ScalarBody,
                         AllElementTypesMatch<["lhs", "rhs"]>]> {
  let runtimeCalls = [Knet_Call<"operator" # cppOp, "Compare">];
  let cppPattern = "$0 " # cppOp # " $1";
  let opKernel = 1;
  let summary = "elementwise comparison (" # predicate # "), an i1 tensor";
  let arguments = (ins Knet_NumTensor:$lhs, Knet_NumTensor:$rhs);
  let results = (outs Knet_BoolTensor:$result);
  let assemblyFormat = [{
    $lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs) `->` type($result)
  }];
  let extraClassDefinition = [{
    ::mlir::Value $cppClass::buildScalar(::mlir::OpBuilder &builder,
                                         ::mlir::ValueRange scalars) {
      ::mlir::knet::ScalarBuilder e(builder, getLoc());
      return e.cmp(::mlir::knet::CmpKind::}] # predicate # [{,
                   scalars[0], scalars[1]);
    }
  }];
}

// A backward kernel dx = f(dy, v) where v is the forward op's input or
// output (as the runtime's signature says); `body` uses `dy` and `v`.
class Knet_BackwardEwOp<string mnemonic, code body>
    : Knet_Op<mnemonic, [Pure, Knet_Broadcast, Knet_ScalarBody,
        AllElementTypesMatch<["dy", "v", "dx"]>]> {
  let runtimeCalls = [Knet_Call<mnemonic, "BackEw">];
  let cppPattern = "knet::" # mnemonic # "($0, $1)";
  let opKernel = 1;
  let summary = "backward kernel of " # !subst("_back", "", mnemonic);
  let arguments = (ins Knet_FloatTensor:$dy, Knet_FloatTensor:$v);
  let results = (outs Knet_FloatTensor:$dx);
  let assemblyFormat = [{
    $dy `,` $v attr-dict `:` type($dy) `,` type($v) `->` type($dx)
  }];
  let extraClassDefinition = [{
    ::mlir::Value $cppClass::buildScalar(::mlir::OpBuilder &builder,
                                         ::mlir::ValueRange scalars) {
      ::mlir::knet::ScalarBuilder e(builder, getLoc());
      ::mlir::Value dy = scalars[0], v = scalars[1];
      return }] # body # [{;
    }
  }];
}

def Knet_NegOp : Knet_UnaryOp<"neg", "e.neg(x)", Knet_NumTensor> {
  let runtimeCalls = [Knet_Call<"operator-/1", "Unary">];
  let cppPattern = "-$0";
  let hasFolder = 1;
}
def Knet_AbsOp : Knet_UnaryOp<"abs", "e.abs(x)", Knet_NumTensor>;
// Piecewise constant: its adjoint is zero (no gradient flows, as on the tape).
def Knet_SignOp : Knet_UnaryOp<"sign", "e.sign(x)", Knet_NumTensor>;
def Knet_ExpOp : Knet_UnaryOp<"exp", "e.exp(x)">;
def Knet_LogOp : Knet_UnaryOp<"log", "e.log(x)"> {
  let gradArg = "abs($x) + 0.5";
}
def Knet_Log1pOp : Knet_UnaryOp<"log1p", "e.log1p(x)"> {
  let gradArg = "abs($x)";
}
def Knet_SqrtOp : Knet_UnaryOp<"sqrt", "e.sqrt(x)"> {
  let gradArg = "abs($x) + 0.5";
}
def Knet_RsqrtOp : Knet_UnaryOp<"rsqrt", "e.rsqrt(x)"> {
  let gradArg = "abs($x) + 0.5";
}
def Knet_SinOp : Knet_UnaryOp<"sin", "e.sin(x)">;
def Knet_CosOp : Knet_UnaryOp<"cos", "e.cos(x)">;
def Knet_TanhOp : Knet_UnaryOp<"tanh", "e.tanh(x)">;
def Knet_SigmOp : Knet_UnaryOp<"sigm", "e.sigm(x)">;
def Knet_ReluOp : Knet_UnaryOp<"relu",
    "e.select(e.cmp(CmpKind::gt, x, e.zero(x)), x, e.zero(x))">;
def Knet_EluOp : Knet_UnaryOp<"elu",
    "e.select(e.cmp(CmpKind::gt, x, e.zero(x)), x, e.expm1(x))">;
def Knet_SeluOp : Knet_UnaryOp<"selu", [{e.mul(e.c(x, kSeluLambda),
    e.select(e.cmp(CmpKind::gt, x, e.zero(x)), x,
             e.mul(e.c(x, kSeluAlpha), e.expm1(x))))}]>;
def Knet_GeluOp : Knet_UnaryOp<"gelu", "e.gelu(x)">;
// std::max(x, 0) as the runtime: x < 0 ? 0 : x.
def Knet_SoftplusOp : Knet_UnaryOp<"softplus", [{e.add(
    e.select(e.cmp(CmpKind::lt, x, e.zero(x)), e.zero(x), x),
    e.log1p(e.exp(e.neg(e.abs(x)))))}]>;
def Knet_SwishOp : Knet_UnaryOp<"swish", "e.mul(x, e.sigm(x))">;
def Knet_HardsigmoidOp : Knet_UnaryOp<"hardsigmoid",
    "e.min(e.max(e.add(e.div(x, e.c(x, 6.0)), e.c(x, 0.5)), e.zero(x)), e.one(x))">;

// min(max(x, lo), hi), with the bounds as attributes.
def Knet_HardtanhOp : Knet_Op<"hardtanh", [Pure, SameOperandsAndResultType,
                                           Knet_ScalarBody, Knet_Diff]> {
  let summary = "elementwise clamp of x to [lo, hi]";
  let arguments = (ins Knet_FloatTensor:$x, F64Attr:$lo, F64Attr:$hi);
  let results = (outs Knet_FloatTensor:$y);
  let assemblyFormat = "$x `lo` $lo `hi` $hi attr-dict `:` type($y)";
  let runtimeCalls = [Knet_Call<"hardtanh", "UnaryAttrs">];
  let cppPattern = "knet::hardtanh($0, ${lo}, ${hi})";
  let gradTests = ["x:3x4 w:3x4 = sum(hardtanh(x, -0.5, 0.75) * w)",
                   "x:4x3 w:3x4 = sum(hardtanh(x.transpose(0, 1)) * w)"];
  let extraClassDefinition = [{
    ::mlir::Value $cppClass::buildScalar(::mlir::OpBuilder &builder,
                                         ::mlir::ValueRange scalars) {
      ::mlir::knet::ScalarBuilder e(builder, getLoc());
      ::mlir::Value x = scalars[0];
      return e.min(e.max(x, e.c(x, getLoAttr().getValueAsDouble())),
                   e.c(x, getHiAttr().getValueAsDouble()));
    }
  }];
}

def Knet_AddOp : Knet_BinaryOp<"add", "e.add(a, b)"> {
  let runtimeCalls = [Knet_Call<"operator+", "Binary">];
  let cppPattern = "$0 + $1";
  let hasFolder = 1;
}
def Knet_SubOp : Knet_BinaryOp<"sub", "e.sub(a, b)"> {
  let runtimeCalls = [Knet_Call<"operator-", "Binary">];
  let cppPattern = "$0 - $1";
  let hasFolder = 1;
}
def Knet_MulOp : Knet_BinaryOp<"mul", "e.mul(a, b)"> {
  let runtimeCalls = [Knet_Call<"operator*", "Binary">];
  let cppPattern = "$0 * $1";
  let hasFolder = 1;
}
def Knet_DivOp : Knet_BinaryOp<"div", "e.div(a, b)"> {
  let gradTests = ["a:3x4 b:3x4 w:3x4 = sum(a / (abs(b) + 0.5) * w)",
                   "a:3x4 b:4 w:3x4 = sum(a / (abs(b) + 0.5) * w)",
                   "a:4x3 w:3x4 = sum(a.transpose(0, 1) / 1.5 * w)",
                   "a:3x4 w:3x4 = sum(2.0 / (abs(a) + 0.5) * w)"];
  let runtimeCalls = [Knet_Call<"operator/", "Binary">];
  let cppPattern = "$0 / $1";
  let hasFolder = 1;
}
def Knet_PowOp : Knet_BinaryOp<"pow", "e.pow(a, b)", Knet_FloatTensor> {
  let gradTests = ["a:3x4 b:3x4 w:3x4 = sum(pow(abs(a) + 0.5, b) * w)",
                   "a:3x4 b:4 w:3x4 = sum(pow(abs(b) + 0.5, a) * w)",
                   "a:4x3 w:3x4 = sum(pow(abs(a.transpose(0, 1)) + 0.5, 2.5) * w)",
                   "a:3x4 w:3x4 = sum(pow(1.5, a) * w)"];
}
def Knet_MaximumOp : Knet_BinaryOp<"maximum", "e.max(a, b)">;
def Knet_MinimumOp : Knet_BinaryOp<"minimum", "e.min(a, b)">;

def Knet_EqOp : Knet_CompareOp<"eq", "eq", "==">;
def Knet_NeOp : Knet_CompareOp<"ne", "ne", "!=">;
def Knet_LtOp : Knet_CompareOp<"lt", "lt", "<">;
def Knet_LeOp : Knet_CompareOp<"le", "le", "<=">;
def Knet_GtOp : Knet_CompareOp<"gt", "gt", ">">;
def Knet_GeOp : Knet_CompareOp<"ge", "ge", ">=">;

def Knet_WhereOp : Knet_Op<"where", [Pure, Knet_Broadcast, Knet_ScalarBody,
    Knet_Diff, AllElementTypesMatch<["a", "b", "result"]>]> {
  let runtimeCalls = [Knet_Call<"where", "Where">];
  let cppPattern = "knet::where($0, $1, $2)";
  let opKernel = 1;
  let gradTests = ["c:3x4 a:3x4 b:3x4 w:3x4 = sum(where(c > 0.0, a, b) * w)",
                   "c:3x1 a:4 b:3x4 w:3x4 = sum(where(c > 0.0, a, b.transpose(0, 1).transpose(0, 1)) * w)"];
  let summary = "elementwise choice: cond ? a : b, broadcasting";
  let arguments = (ins Knet_BoolTensor:$cond, Knet_Tensor:$a, Knet_Tensor:$b);
  let results = (outs Knet_Tensor:$result);
  let assemblyFormat = [{
    $cond `,` $a `,` $b attr-dict `:` type($cond) `,` type($a) `,` type($b)
    `->` type($result)
  }];
  let extraClassDefinition = [{
    ::mlir::Value $cppClass::buildScalar(::mlir::OpBuilder &builder,
                                         ::mlir::ValueRange scalars) {
      ::mlir::knet::ScalarBuilder e(builder, getLoc());
      return e.select(scalars[0], scalars[1], scalars[2]);
    }
  }];
}

def Knet_ReluBackOp : Knet_BackwardEwOp<"relu_back",
    "e.select(e.cmp(CmpKind::gt, v, e.zero(v)), dy, e.zero(dy))">;
def Knet_SigmBackOp : Knet_BackwardEwOp<"sigm_back",
    "e.mul(e.mul(dy, v), e.sub(e.one(v), v))">;
def Knet_TanhBackOp : Knet_BackwardEwOp<"tanh_back",
    "e.mul(dy, e.sub(e.one(v), e.mul(v, v)))">;
def Knet_EluBackOp : Knet_BackwardEwOp<"elu_back",
    "e.select(e.cmp(CmpKind::gt, v, e.zero(v)), dy, e.mul(dy, e.exp(v)))">;
def Knet_SeluBackOp : Knet_BackwardEwOp<"selu_back", [{e.mul(
    e.mul(dy, e.c(v, kSeluLambda)),
    e.select(e.cmp(CmpKind::gt, v, e.zero(v)), e.one(v),
             e.mul(e.c(v, kSeluAlpha), e.exp(v))))}]>;
def Knet_GeluBackOp : Knet_BackwardEwOp<"gelu_back",
    "e.mul(dy, e.geluDerivative(v))">;
def Knet_SoftplusBackOp : Knet_BackwardEwOp<"softplus_back",
    "e.mul(dy, e.sigm(v))">;
def Knet_SwishBackOp : Knet_BackwardEwOp<"swish_back", [{e.mul(dy,
    e.add(e.sigm(v), e.mul(e.mul(v, e.sigm(v)), e.sub(e.one(v), e.sigm(v)))))
  }]>;

def Knet_CastOp : Knet_Op<"cast", [Pure, SameOperandsAndResultShape,
                                   Knet_ScalarBody, Knet_Diff]> {
  let runtimeCalls = [Knet_Call<"Tensor::to", "Cast">,
                      Knet_Call<"Tensor::contiguous", "Identity">,
                      Knet_Call<"Tensor::clone", "Identity">];
  let cppPattern = "$0.to($dtype)";
  let cppVariants = [Knet_CppVariant<"rank", "$0">,
                     Knet_CppVariant<"dtype", "$0.to(${dtype})">];
  let gradTests = ["x:3x4 w:3x4 = sum(x.to(DType::f64) * w)",
                   "x:4x3 w:3x4 = sum(x.transpose(0, 1).to(DType::f64) * w)"];
  let summary = "elementwise conversion of the element type (Tensor::to)";
  let description = [{
    A float element type stands for the float dtype of the run (f32 or
    f64, whatever the arguments hold); integer types are what they say.
    Without `dtype` the cast converts to the result's element type: a cast
    between two float types, or of one type to itself, only changes what
    the IR knows of the rank. With `dtype` (`x.to(DType::f64)`) it converts
    to exactly that run-time dtype: `dtype = "f64"`.
  }];
  let arguments = (ins Knet_Tensor:$x, OptionalAttr<StrAttr>:$dtype);
  let results = (outs Knet_Tensor:$y);
  let builders = [OpBuilder<(ins "::mlir::Type":$y, "::mlir::Value":$x), [{
    build($_builder, $_state, y, x, ::mlir::StringAttr());
  }]>];
  let assemblyFormat = "$x attr-dict `:` type($x) `->` type($y)";
  let hasFolder = 1;
  let hasVerifier = 1;
  let extraClassDefinition = [{
    ::mlir::Value $cppClass::buildScalar(::mlir::OpBuilder &builder,
                                         ::mlir::ValueRange scalars) {
      ::mlir::knet::ScalarBuilder e(builder, getLoc());
      return e.cast(scalars[0], getElementTypeOrSelf(getType()));
    }
  }];
}

// Only x's shape matters: the adjoint is zero.
class Knet_FillLikeOp<string mnemonic, string value>
    : Knet_Op<mnemonic, [Pure, SameOperandsAndResultType, Knet_ScalarBody,
                         Knet_Diff]> {
  let runtimeCalls = [Knet_Call<mnemonic, "Unary">];
  let cppPattern = "knet::" # mnemonic # "($0)";
  let summary = "a tensor of " # value # "s with the shape and type of x";
  let arguments = (ins Knet_Tensor:$x);
  let results = (outs Knet_Tensor:$y);
  let assemblyFormat = "$x attr-dict `:` type($y)";
  let extraClassDefinition = [{
    ::mlir::Value $cppClass::buildScalar(::mlir::OpBuilder &builder,
                                         ::mlir::ValueRange scalars) {
      ::mlir::knet::ScalarBuilder e(builder, getLoc());
      return e.c(scalars[0], }] # value # [{);
    }
  }];
}
def Knet_ZerosLikeOp : Knet_FillLikeOp<"zeros_like", "0.0">;
def Knet_OnesLikeOp : Knet_FillLikeOp<"ones_like", "1.0">;

def Knet_CastLikeOp : Knet_Op<"cast_like", [Pure, Knet_Diff]> {
  let cppPattern = "$0.to($1.dtype())";
  let gradTests = ["x:3x4 y:3x4 w:3x4 = sum(x.to(y.dtype()) * w)"];
  let summary = "x converted to the run-time dtype of `like`: the adjoint of "
                "a cast to an explicit dtype";
  let arguments = (ins Knet_Tensor:$x, Knet_Tensor:$like);
  let results = (outs Knet_Tensor:$y);
  let assemblyFormat = [{
    $x `like` $like attr-dict `:` type($x) `,` type($like) `->` type($y)
  }];
}

def Knet_FullOp : Knet_Op<"full", [Pure]> {
  let runtimeCalls = [Knet_Call<"Tensor::zeros", "Full">,
                      Knet_Call<"Tensor::ones", "Full">,
                      Knet_Call<"Tensor::full", "Full">,
                      Knet_Call<"Tensor::empty", "Full">];
  let cppPattern = "knet::Tensor::full({$rest}, $0, ${dtype})";
  let summary = "a new tensor of one value (Tensor::zeros, ones, full, empty)";
  let description = [{
    `%t = knet.full %v(%b, %h) {dtype = "f64"} : tensor<*xf32>`: the shape
    is one i64 per dim, `dtype` the run-time dtype the C++ code names (f32
    when it names none, as the runtime's default). Its result depends on no
    differentiable value: the tape records no node for it either.
  }];
  let arguments = (ins F64:$value, Variadic<I64>:$shape, StrAttr:$dtype);
  let results = (outs Knet_Tensor:$y);
  let assemblyFormat = "$value `(` $shape `)` attr-dict `:` type($y)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Constants and scalars
//===----------------------------------------------------------------------===//

def Knet_ConstantOp : Knet_Op<"constant", [ConstantLike, Pure,
    AllTypesMatch<["value", "result"]>]> {
  let runtimeCalls = [Knet_Call<"Tensor::from", "From">];
  let cppPattern = "$constant";
  let summary = "a constant tensor";
  let description = [{
    `%c = knet.constant dense<1.0> : tensor<f32>`. Scalars that C++ code
    mixes with tensors (`x * 2.0`) become 0-d constants.
  }];
  let arguments = (ins ElementsAttr:$value);
  let results = (outs Knet_Tensor:$result);
  let assemblyFormat = "attr-dict $value";
  let hasFolder = 1;
  let hasVerifier = 1;
}

def Knet_UndefinedOp : Knet_Op<"undefined", [Pure]> {
  let cppPattern = "knet::Tensor()";
  let summary = "an undefined tensor (a default-constructed knet::Tensor)";
  let description = [{
    `%t = knet.undefined : tensor<*xf32>` is what `Tensor t;` and `Tensor()`
    hold: no shape, no storage. Any op reading it fails at run time, as on
    the tape; returning it returns an undefined Tensor.
  }];
  let results = (outs Knet_Tensor:$result);
  let assemblyFormat = "attr-dict `:` type($result)";
}

def Knet_ScalarOp : Knet_Op<"scalar", [Pure, Knet_Diff]> {
  let runtimeCalls = [Knet_Call<"Tensor::scalar", "Scalar">];
  let cppPattern = "knet::Tensor::scalar($0$sdtype)";
  let cppVariants = [
      Knet_CppVariant<"dtype", "knet::Tensor::scalar($0, ${dtype})">];
  let gradTests = ["detached: x: w:3x4 = sum(w * Tensor::scalar(x.item<double>() * 2.0))",
                   "x:3x4 w:3x4 = sum(w * x * Tensor::scalar(0.5))"];
  let summary = "a 0-d tensor holding a scalar SSA value (Tensor::scalar)";
  let description = [{
    Without `dtype`, a C++ scalar meeting a tensor: a float one is a weak
    scalar (`Tensor::scalar(v)`, exact in f64) that takes the dtype of the
    tensor it meets at run time. With `dtype`, `Tensor::scalar(v,
    DType::f32)` as written.
  }];
  let arguments = (ins Knet_Scalar:$value, OptionalAttr<StrAttr>:$dtype);
  let results = (outs Knet_Tensor:$result);
  let builders = [OpBuilder<(ins "::mlir::Type":$result,
                                 "::mlir::Value":$value), [{
    build($_builder, $_state, result, value, ::mlir::StringAttr());
  }]>];
  let assemblyFormat = "$value attr-dict `:` type($value) `->` type($result)";
  let hasVerifier = 1;
}

def Knet_ItemOp : Knet_Op<"item", [Pure, Knet_Diff]> {
  let runtimeCalls = [Knet_Call<"Tensor::item", "Item">];
  let cppPattern = "$0.item<$ctype>()";
  let gradTests = ["detached: x: w:3x4 = sum(w) * std::sin(x.item<double>())",
                   "detached: x:3x4 = sum(x).item<double>() * sum(x)"];
  let summary = "the single element of a tensor as a scalar (Tensor::item)";
  let arguments = (ins Knet_Tensor:$x);
  let results = (outs Knet_Scalar:$value);
  let assemblyFormat = "$x attr-dict `:` type($x) `->` type($value)";
  let hasVerifier = 1;
}

def Knet_SizeOp : Knet_Op<"size", [Pure]> {
  let runtimeCalls = [Knet_Call<"Tensor::size", "Size">];
  let cppPattern = "$0.size(${dim})";
  let summary = "the size of one dimension (Tensor::size), as i64";
  let arguments = (ins Knet_Tensor:$x, I64Attr:$dim);
  let results = (outs I64:$size);
  let assemblyFormat = "$x `,` $dim attr-dict `:` type($x)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Knet_NumelOp : Knet_Op<"numel", [Pure]> {
  let runtimeCalls = [Knet_Call<"Tensor::numel", "Numel">];
  let cppPattern = "$0.numel()";
  let summary = "the number of elements (Tensor::numel), as i64";
  let arguments = (ins Knet_Tensor:$x);
  let results = (outs I64:$numel);
  let assemblyFormat = "$x attr-dict `:` type($x)";
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Linear algebra
//===----------------------------------------------------------------------===//

def Knet_MatmulOp : Knet_Op<"matmul", [Pure, Knet_Diff,
    AllElementTypesMatch<["a", "b", "result"]>]> {
  let runtimeCalls = [Knet_Call<"matmul", "Matmul">];
  let cppPattern = "knet::matmul($0, $1)";
  let gradTests = ["a:3x4 b:4x2 w:3x2 = sum(matmul(a, b) * w)",
                   "a:2x3x4 b:4x2 w:2x3x2 = sum(matmul(a, b) * w)",
                   "a:4x3 b:2x4 w:3x2 = sum(matmul(a.transpose(0, 1), b.transpose(0, 1)) * w)"];
  let summary = "matrix product, batched over broadcast leading dims";
  let arguments = (ins Knet_FloatTensor:$a, Knet_FloatTensor:$b);
  let results = (outs Knet_FloatTensor:$result);
  let assemblyFormat = [{
    $a `,` $b attr-dict `:` type($a) `,` type($b) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Knet_MatmulAccOp : Knet_Op<"matmul_acc", [Pure,
    AllElementTypesMatch<["acc", "a", "b", "result"]>]> {
  let cppPattern = "knet::detail::matmul_accumulate($0, $1, $2, $3)";
  let summary = "acc + sum_to(matmul(a, b), like), the product added into "
                "acc's own buffer when nothing else holds it (made by "
                "knet-accumulate from a gradient accumulation)";
  let description = [{
    `%r = knet.matmul_acc %acc, %a, %b like %like` is
    `knet.add %acc, (knet.sum_to (knet.matmul %a, %b) like %like)`. knetc's
    knet-accumulate makes it where `%acc` has no other use, so that the
    runtime may run one GEMM with beta = 1 into `%acc`'s buffer when, at run
    time, nothing else holds that buffer and the shapes need no broadcast or
    reduction (`knet::detail::matmul_accumulate`); otherwise it computes the
    three ops. Pure as a value: the buffer it may write belongs to `%acc`,
    which nothing else reads. The in-place GEMM adds `%acc` inside the
    product's sums, so its result may differ from the three ops' in the last
    bits. Not differentiable: only made after autodiff.
  }];
  let arguments = (ins Knet_FloatTensor:$acc, Knet_FloatTensor:$a,
                       Knet_FloatTensor:$b, Knet_FloatTensor:$like);
  let results = (outs Knet_FloatTensor:$result);
  let assemblyFormat = [{
    $acc `,` $a `,` $b `like` $like attr-dict `:` type($acc) `,` type($a) `,`
    type($b) `,` type($like) `->` type($result)
  }];
}

def Knet_LinearOp : Knet_Op<"linear", [Pure, Knet_Diff]> {
  let runtimeCalls = [Knet_Call<"linear", "Linear">];
  let cppPattern = "knet::linear($args)";
  let gradTests = ["x:3x4 w:2x4 b:2 r:3x2 = sum(linear(x, w, b) * r)",
                   "x:4x3 w:2x4 r:3x2 = sum(linear(x.transpose(0, 1), w) * r)"];
  let summary = "x . w^T + b: x [N, in], w [out, in], b [out] (optional)";
  let arguments = (ins Knet_FloatTensor:$x, Knet_FloatTensor:$w,
                       Optional<Knet_FloatTensor>:$b);
  let results = (outs Knet_FloatTensor:$result);
  let assemblyFormat = [{
    $x `,` $w (`,` $b^)? attr-dict `:` type($x) `,` type($w) (`,` type($b)^)?
    `->` type($result)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Reductions and softmax
//===----------------------------------------------------------------------===//

// Reduces over `dims` (negative from the end; absent: every dim), keeping
// reduced dims as size 1 with `keepdim`.
class Knet_ReduceOp<string mnemonic, list<Trait> traits = [Knet_Diff]>
    : Knet_Op<mnemonic, traits # [Pure, AllElementTypesMatch<["x", "y"]>]> {
  let runtimeCalls = [Knet_Call<mnemonic, "Reduce">];
  let cppPattern = "knet::" # mnemonic # "($0$dims)";
  let opKernel = 1;
  let summary = mnemonic # " over dims (all when absent)";
  let arguments = (ins Knet_NumTensor:$x, OptionalAttr<DenseI64ArrayAttr>:$dims,
                       UnitAttr:$keepdim);
  let results = (outs Knet_NumTensor:$y);
  let assemblyFormat = [{
    $x (`dims` $dims^)? (`keepdim` $keepdim^)? attr-dict `:` type($x) `->`
    type($y)
  }];
  let hasVerifier = 1;
  let extraClassDefinition = [{
    ::mlir::LogicalResult $cppClass::verify() {
      return ::mlir::knet::verifyReduction(*this, getX().getType(),
          getDims().value_or(::llvm::ArrayRef<int64_t>{}), getKeepdim(),
          getType(), /*allDimsWhenEmpty=*/true);
    }
  }];
}
def Knet_SumOp : Knet_ReduceOp<"sum">;
def Knet_MeanOp : Knet_ReduceOp<"mean">;
def Knet_MaxOp : Knet_ReduceOp<"max">;
def Knet_MinOp : Knet_ReduceOp<"min">;

// Reduces one dim.
class Knet_DimReduceOp<string mnemonic, Type R, list<Trait> traits = []>
    : Knet_Op<mnemonic, traits # [Pure]> {
  let runtimeCalls = [Knet_Call<mnemonic, "DimReduce">];
  let cppPattern = "knet::" # mnemonic # "($0, ${dim}$?keepdim)";
  let arguments = (ins Knet_FloatTensor:$x, I64Attr:$dim, UnitAttr:$keepdim);
  let results = (outs R:$y);
  let assemblyFormat = [{
    $x `dim` $dim (`keepdim` $keepdim^)? attr-dict `:` type($x) `->` type($y)
  }];
  let hasVerifier = 1;
  let extraClassDefinition = [{
    ::mlir::LogicalResult $cppClass::verify() {
      return ::mlir::knet::verifyReduction(*this, getX().getType(),
          {getDimAttr().getInt()}, getKeepdim(), getType(), /*allDimsWhenEmpty=*/false);
    }
  }];
}
def Knet_ArgmaxOp : Knet_DimReduceOp<"argmax", Knet_IdTensor> {
  let cppPattern = "knet::argmax($0, ${dim}$?keepdim)";
  let summary = "index of the largest element along dim (i64, no gradient)";
}
def Knet_LogsumexpOp : Knet_DimReduceOp<"logsumexp", Knet_FloatTensor,
    [Knet_Diff, AllElementTypesMatch<["x", "y"]>]> {
  let summary = "log(sum(exp(x), dim)), computed stably";
}

class Knet_SoftmaxOp<string mnemonic>
    : Knet_Op<mnemonic, [Pure, Knet_Diff, SameOperandsAndResultType]> {
  let runtimeCalls = [Knet_Call<mnemonic, "Softmax">];
  let cppPattern = "knet::" # mnemonic # "($0, ${dim})";
  let summary = mnemonic # " along dim";
  let arguments = (ins Knet_FloatTensor:$x, I64Attr:$dim);
  let results = (outs Knet_FloatTensor:$y);
  let assemblyFormat = "$x `dim` $dim attr-dict `:` type($y)";
  let hasVerifier = 1;
  let extraClassDefinition = [{
    ::mlir::LogicalResult $cppClass::verify() {
      return ::mlir::knet::verifyDim(*this, getX().getType(), getDimAttr().getInt());
    }
  }];
}
def Knet_SoftmaxOp : Knet_SoftmaxOp<"softmax">;
def Knet_LogsoftmaxOp : Knet_SoftmaxOp<"logsoftmax"> {
  let runtimeCalls = [Knet_Call<"logsoftmax", "Softmax">,
                      Knet_Call<"logp", "Softmax">];
}

class Knet_SoftmaxBackOp<string mnemonic>
    : Knet_Op<mnemonic, [Pure, SameOperandsAndResultType]> {
  let runtimeCalls = [Knet_Call<mnemonic, "SoftmaxBack">];
  let cppPattern = "knet::" # mnemonic # "($0, $1, ${dim})";
  let summary = "backward kernel of " # !subst("_back", "", mnemonic) #
                " from its output y";
  let arguments = (ins Knet_FloatTensor:$dy, Knet_FloatTensor:$y, I64Attr:$dim);
  let results = (outs Knet_FloatTensor:$dx);
  let assemblyFormat = "$dy `,` $y `dim` $dim attr-dict `:` type($dx)";
  let hasVerifier = 1;
  let extraClassDefinition = [{
    ::mlir::LogicalResult $cppClass::verify() {
      return ::mlir::knet::verifyDim(*this, getY().getType(), getDimAttr().getInt());
    }
  }];
}
def Knet_SoftmaxBackOp : Knet_SoftmaxBackOp<"softmax_back">;
def Knet_LogsoftmaxBackOp : Knet_SoftmaxBackOp<"logsoftmax_back">;

//===----------------------------------------------------------------------===//
// Adjoint helpers: x is reshaped, summed or broadcast to the shape of `like`
//===----------------------------------------------------------------------===//

class Knet_LikeOp<string mnemonic, string what, list<Trait> traits = []>
    : Knet_Op<mnemonic, traits # [Pure, Knet_Diff,
        AllElementTypesMatch<["x", "like", "y"]>]> {
  let summary = what;
  let arguments = (ins Knet_Tensor:$x, Knet_Tensor:$like);
  let results = (outs Knet_Tensor:$y);
  let assemblyFormat = [{
    $x `like` $like attr-dict `:` type($x) `,` type($like) `->` type($y)
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
}
def Knet_SumToOp : Knet_LikeOp<"sum_to",
    "sums a broadcast gradient back to the shape of `like` (the operand that "
    "was broadcast): the adjoint of broadcasting"> {
  let runtimeCalls = [Knet_Call<"sum_to", "Like">];
  let cppPattern = "knet::sum_to($0, $1.shape())";
  let opKernel = 1;
  let gradTests = ["x:3x4 y:4 w:4 = sum(sum_to(x, y.shape()) * w)",
                   "x:4x3 y:3x1 w:3x1 = sum(sum_to(x.transpose(0, 1), y.shape()) * w)"];
}
def Knet_BroadcastToOp : Knet_LikeOp<"broadcast_to",
    "broadcasts x to the shape of `like`: the adjoint of sum_to"> {
  let runtimeCalls = [Knet_Call<"Tensor::expand", "Like">];
  let cppPattern = "$0.expand($1.shape())";
  let opKernel = 1;
  let gradTests = ["x:4 y:3x4 w:3x4 = sum(x.expand(y.shape()) * w)",
                   "x:3x1 y:3x4 w:3x4 = sum(x.expand(y.shape()) * w)"];
}
def Knet_ReshapeLikeOp : Knet_LikeOp<"reshape_like",
    "reshapes x to the shape of `like`: the adjoint of reshape and mat"> {
  // The frontend's Reshape kind makes it of `x.reshape(y.shape())`.
  let cppPattern = "$0.reshape($1.shape())";
  let gradTests = ["x:3x4 y:2x6 w:2x6 = sum(x.reshape(y.shape()) * w)",
                   "x:4x3 y:12 w:12 = sum(x.transpose(0, 1).reshape(y.shape()) * w)"];
}

//===----------------------------------------------------------------------===//
// Losses
//===----------------------------------------------------------------------===//

def Knet_NllOp : Knet_Op<"nll", [Pure, Knet_Diff,
    AllElementTypesMatch<["scores", "loss"]>]> {
  let runtimeCalls = [Knet_Call<"nll", "Nll">];
  let cppPattern = "knet::nll($0, $1$opts(average=true))";
  let gradTests = ["x:3x5 = nll(x, Tensor::from<int64_t>({1, 0, 4}, {3}))",
                   "x:5x3 = nll(x.transpose(0, 1), Tensor::from<int64_t>({2, 3, 3}, {3}), {.average = false})"];
  let summary = "negative log likelihood of the labelled class after "
                "logsoftmax of the scores [N, C]; labels < 0 are skipped";
  let arguments = (ins Knet_FloatTensor:$scores, Knet_IdTensor:$labels,
                       DefaultValuedAttr<BoolAttr, "true">:$average);
  let results = (outs Knet_FloatTensor:$loss);
  let assemblyFormat = [{
    $scores `,` $labels attr-dict `:` type($scores) `,` type($labels) `->`
    type($loss)
  }];
  let hasVerifier = 1;
}

def Knet_NllBackOp : Knet_Op<"nll_back", [Pure,
    AllElementTypesMatch<["dy", "scores", "dscores"]>]> {
  let cppPattern = "knet::nll_back($0, $1, $2$opts(average=true))";
  let summary = "backward kernel of nll: the gradient of the scores";
  let arguments = (ins Knet_FloatTensor:$dy, Knet_FloatTensor:$scores,
                       Knet_IdTensor:$labels,
                       DefaultValuedAttr<BoolAttr, "true">:$average);
  let results = (outs Knet_FloatTensor:$dscores);
  let assemblyFormat = [{
    $dy `,` $scores `,` $labels attr-dict `:` type($dy) `,` type($scores) `,`
    type($labels) `->` type($dscores)
  }];
  let hasVerifier = 1;
}

// Piecewise constant in the scores: its adjoint is zero (no gradient).
def Knet_AccuracyOp : Knet_Op<"accuracy", [Pure, Knet_Diff]> {
  let runtimeCalls = [Knet_Call<"accuracy", "Accuracy">];
  let cppPattern = "knet::accuracy($0, $1)";
  let gradTests = [
      "x:3x5 w:3x5 = sum(x * w) * (1.0 + accuracy(x, Tensor::from<int64_t>({1, 0, 4}, {3})))"];
  let summary = "fraction of rows whose argmax is the label (no gradient)";
  let arguments = (ins Knet_FloatTensor:$scores, Knet_IdTensor:$labels);
  let results = (outs F64:$accuracy);
  let assemblyFormat = [{
    $scores `,` $labels attr-dict `:` type($scores) `,` type($labels)
  }];
  let hasVerifier = 1;
}

class Knet_BinaryLossOp<string mnemonic, string what>
    : Knet_Op<mnemonic, [Pure, Knet_Diff,
        AllElementTypesMatch<["scores", "labels", "loss"]>]> {
  let runtimeCalls = [Knet_Call<mnemonic, "BinaryLoss">];
  let cppPattern = "knet::" # mnemonic # "($0, $1)";
  let gradTests = ["x:3x4 y:3x4 = " # mnemonic # "(x, sigm(y))"];
  let summary = what;
  let arguments = (ins Knet_FloatTensor:$scores, Knet_FloatTensor:$labels);
  let results = (outs Knet_FloatTensor:$loss);
  let assemblyFormat = [{
    $scores `,` $labels attr-dict `:` type($scores) `,` type($labels) `->`
    type($loss)
  }];
  let hasVerifier = 1;
  let extraClassDefinition = [{
    ::mlir::LogicalResult $cppClass::verify() {
      return ::mlir::knet::verifyBinaryLoss(*this, getScores().getType(),
                                           getLabels().getType(), getType());
    }
  }];
}
def Knet_BceOp : Knet_BinaryLossOp<"bce",
    "binary cross-entropy of raw scores against 0/1 labels, averaged">;
def Knet_LogisticOp : Knet_BinaryLossOp<"logistic",
    "logistic loss of raw scores against -1/+1 labels, averaged">;

class Knet_BinaryLossBackOp<string mnemonic>
    : Knet_Op<mnemonic, [Pure,
        AllElementTypesMatch<["dy", "scores", "labels", "dscores"]>]> {
  let cppPattern = "knet::" # mnemonic # "($0, $1, $2)";
  let summary = "backward kernel of " # !subst("_back", "", mnemonic);
  let arguments = (ins Knet_FloatTensor:$dy, Knet_FloatTensor:$scores,
                       Knet_FloatTensor:$labels);
  let results = (outs Knet_FloatTensor:$dscores);
  let assemblyFormat = [{
    $dy `,` $scores `,` $labels attr-dict `:` type($dy) `,` type($scores) `,`
    type($labels) `->` type($dscores)
  }];
  let hasVerifier = 1;
  let extraClassDefinition = [{
    ::mlir::LogicalResult $cppClass::verify() {
      return ::mlir::knet::verifyBinaryLossBack(*this, getDy().getType(),
          getScores().getType(), getLabels().getType(), getType());
    }
  }];
}
def Knet_BceBackOp : Knet_BinaryLossBackOp<"bce_back">;
def Knet_LogisticBackOp : Knet_BinaryLossBackOp<"logistic_back">;

//===----------------------------------------------------------------------===//
// Convolution and pooling (NCHW; weights [Cout, Cin/groups, kH, kW])
//===----------------------------------------------------------------------===//

defvar Knet_ConvFormatOptions = [{
  (`padding` $padding^)? (`stride` $stride^)? (`dilation` $dilation^)?
  (`groups` $groups^)?
}];
defvar Knet_ConvOptionArgs = (ins
    DefaultValuedAttr<Knet_NonNegI64, "0">:$padding,
    DefaultValuedAttr<Knet_PosI64, "1">:$stride,
    DefaultValuedAttr<Knet_PosI64, "1">:$dilation,
    DefaultValuedAttr<Knet_PosI64, "1">:$groups);

class Knet_ConvOp<string mnemonic, dag operands, string operandFormat,
                  list<Trait> traits = []>
    : Knet_Op<mnemonic, traits # [Pure]> {
  let cppPattern =
      "knet::" # mnemonic # "($0, $1$opts(padding=0,stride=1,dilation=1,groups=1))";
  let arguments = !con(operands, Knet_ConvOptionArgs);
  let results = (outs Knet_FloatTensor:$result);
  let assemblyFormat = !strconcat(operandFormat, " ", Knet_ConvFormatOptions,
      " attr-dict `:` type(operands) `->` type($result)");
  let hasVerifier = 1;
}

def Knet_Conv2dOp : Knet_ConvOp<"conv2d",
    (ins Knet_FloatTensor:$x, Knet_FloatTensor:$w), "$x `,` $w",
    [Knet_Diff, AllElementTypesMatch<["x", "w", "result"]>]> {
  let runtimeCalls = [Knet_Call<"conv2d", "Conv">];
  let gradTests = ["x:2x3x5x5 w:4x3x3x3 = sum(sin(conv2d(x, w)))",
                   "x:2x4x5x5 w:4x2x3x3 = sum(sin(conv2d(x, w, {.padding = 1, .stride = 2, .groups = 2})))"];
  let summary = "2-D cross-correlation of x [N, C, H, W] with w";
}
def Knet_Deconv2dOp : Knet_ConvOp<"deconv2d",
    (ins Knet_FloatTensor:$x, Knet_FloatTensor:$w), "$x `,` $w",
    [Knet_Diff, AllElementTypesMatch<["x", "w", "result"]>]> {
  let runtimeCalls = [Knet_Call<"deconv2d", "Conv">];
  let gradTests = ["x:2x4x3x3 w:4x3x3x3 = sum(sin(deconv2d(x, w)))",
                   "x:2x4x3x3 w:4x3x3x3 = sum(sin(deconv2d(x, w, {.padding = 1, .stride = 2})))"];
  let summary = "transposed convolution: the adjoint of conv2d with the same "
                "options; w is [Cin, Cout/groups, kH, kW]";
}
def Knet_Conv2dBackDataOp : Knet_ConvOp<"conv2d_back_data",
    (ins Knet_FloatTensor:$dy, Knet_FloatTensor:$w, Knet_FloatTensor:$like),
    "$dy `,` $w `like` $like",
    [AllElementTypesMatch<["dy", "w", "like", "result"]>]> {
  let cppPattern =
      "knet::conv2d_back_data($0, $1, $2.shape()$opts(padding=0,stride=1,dilation=1,groups=1))";
  let summary = "gradient of conv2d with respect to x, of x's (like's) shape";
}
def Knet_Conv2dBackFilterOp : Knet_ConvOp<"conv2d_back_filter",
    (ins Knet_FloatTensor:$dy, Knet_FloatTensor:$x, Knet_FloatTensor:$like),
    "$dy `,` $x `like` $like",
    [AllElementTypesMatch<["dy", "x", "like", "result"]>]> {
  let cppPattern =
      "knet::conv2d_back_filter($0, $1, $2.shape()$opts(padding=0,stride=1,dilation=1,groups=1))";
  let summary = "gradient of conv2d with respect to w, of w's (like's) shape";
}

defvar Knet_PoolOptionArgs = (ins
    DefaultValuedAttr<Knet_PosI64, "2">:$window,
    DefaultValuedAttr<Knet_NonNegI64, "0">:$stride,
    DefaultValuedAttr<Knet_NonNegI64, "0">:$padding,
    DefaultValuedAttr<Knet_PoolMode, "::mlir::knet::PoolMode::max">:$mode);
defvar Knet_PoolFormatOptions = [{
  (`window` $window^)? (`stride` $stride^)? (`padding` $padding^)?
  (`mode` $mode^)?
}];

class Knet_PoolOp<string mnemonic, dag operands, string operandFormat,
                  list<Trait> traits = []>
    : Knet_Op<mnemonic, traits # [Pure]> {
  let runtimeCalls = [Knet_Call<"pool", "Pool">];
  let gradTests = ["x:2x3x4x4 = sum(sin(pool(x)))",
                   "x:2x3x5x5 = sum(sin(pool(x, {.window = 3, .stride = 2, .padding = 1, .mode = PoolMode::avg})))"];
  let cppPattern =
      "knet::" # mnemonic # "($0$opts(window=2,stride=0,padding=0,mode=max))";
  let arguments = !con(operands, Knet_PoolOptionArgs);
  let results = (outs Knet_FloatTensor:$result);
  let assemblyFormat = !strconcat(operandFormat, " ", Knet_PoolFormatOptions,
      " attr-dict `:` type(operands) `->` type($result)");
  let hasVerifier = 1;
}
def Knet_PoolOp : Knet_PoolOp<"pool", (ins Knet_FloatTensor:$x), "$x",
    [Knet_Diff, AllElementTypesMatch<["x", "result"]>]> {
  let summary = "max or average pooling over window x window blocks "
                "(stride 0: the window)";
}
def Knet_PoolBackOp : Knet_PoolOp<"pool_back",
    (ins Knet_FloatTensor:$dy, Knet_FloatTensor:$y, Knet_FloatTensor:$x),
    "$dy `,` $y `,` $x",
    [AllElementTypesMatch<["dy", "y", "x", "result"]>]> {
  let runtimeCalls = [Knet_Call<"pool_back", "PoolBack">];
  let cppPattern =
      "knet::pool_back($0, $1, $2$opts(window=2,stride=0,padding=0,mode=max))";
  let summary = "backward kernel of pool: the gradient of x";
}
def Knet_UnpoolOp : Knet_PoolOp<"unpool", (ins Knet_FloatTensor:$x), "$x",
    [Knet_Diff, AllElementTypesMatch<["x", "result"]>]> {
  let runtimeCalls = [Knet_Call<"unpool", "Pool">];
  let gradTests = ["x:2x3x2x2 = sum(sin(unpool(x)))"];
  let summary = "each element repeated over a window x window block";
}

//===----------------------------------------------------------------------===//
// Normalization and dropout
//===----------------------------------------------------------------------===//

def Knet_BatchnormOp : Knet_Op<"batchnorm", [Knet_Diff,
    AllElementTypesMatch<["x", "params", "y"]>,
    MemoryEffects<[MemRead, MemWrite]>]> {
  let runtimeCalls = [Knet_Call<"batchnorm", "Batchnorm">];
  let cppPattern =
      "knet::batchnorm($0, $1, $2$opts(training,eps=1e-5,momentum=0.1))";
  let gradTestSkip =
      "difftest's cases take tensors only, not Moments: tested by the e2e "
      "models vgg_loss and resnet_loss (compiled == tape == central "
      "differences, running statistics included)";
  let summary = "batch normalization of x [N, C] or [N, C, H, W]; params is "
                "[2C] (scale, then shift); updates the moments in training";
  let arguments = (ins Knet_FloatTensor:$x, Knet_Moments:$moments,
                       Knet_FloatTensor:$params,
                       OptionalAttr<BoolAttr>:$training,
                       DefaultValuedAttr<F64Attr, "1e-5">:$eps,
                       DefaultValuedAttr<F64Attr, "0.1">:$momentum);
  let results = (outs Knet_FloatTensor:$y);
  let assemblyFormat = [{
    $x `,` $moments `,` $params attr-dict `:` type($x) `,` type($params) `->`
    type($y)
  }];
  let hasVerifier = 1;
}

def Knet_BatchnormBackOp : Knet_Op<"batchnorm_back", [
    AllElementTypesMatch<["dy", "x", "params", "dx", "dparams"]>,
    MemoryEffects<[MemRead]>]> {
  let cppPattern =
      "knet::batchnorm_back($0, $1, $2, $3$opts(training,eps=1e-5))";
  let summary = "backward kernel of batchnorm: gradients of x and params";
  let arguments = (ins Knet_FloatTensor:$dy, Knet_FloatTensor:$x,
                       Knet_Moments:$moments, Knet_FloatTensor:$params,
                       OptionalAttr<BoolAttr>:$training,
                       DefaultValuedAttr<F64Attr, "1e-5">:$eps);
  let results = (outs Knet_FloatTensor:$dx, Knet_FloatTensor:$dparams);
  let assemblyFormat = [{
    $dy `,` $x `,` $moments `,` $params attr-dict `:` type($dy) `,` type($x)
    `,` type($params) `->` type($dx) `,` type($dparams)
  }];
  let hasVerifier = 1;
}

def Knet_Conv2dBatchnormOp : Knet_Op<"conv2d_batchnorm", [
    AllElementTypesMatch<["x", "w", "params", "result"]>,
    MemoryEffects<[MemRead, MemWrite]>]> {
  let cppPattern = "knet::conv2d_batchnorm($0, $1, $2, $3, ${eps}"
                   "$opts(padding=0,stride=1,dilation=1,groups=1))";
  let summary = "an inference-mode batchnorm folded into the conv2d before "
                "it (knet-fold-batchnorm): conv2d(x, w * a) + b";
  let arguments = !con((ins Knet_FloatTensor:$x, Knet_FloatTensor:$w,
                            Knet_Moments:$moments, Knet_FloatTensor:$params,
                            DefaultValuedAttr<F64Attr, "1e-5">:$eps),
                       Knet_ConvOptionArgs);
  let results = (outs Knet_FloatTensor:$result);
  let assemblyFormat = [{
    $x `,` $w `,` $moments `,` $params attr-dict `:` type($x) `,` type($w)
    `,` type($params) `->` type($result)
  }];
}

def Knet_DropoutOp : Knet_Op<"dropout", [Knet_Diff, SameOperandsAndResultType,
    MemoryEffects<[MemRead, MemWrite]>]> {
  let runtimeCalls = [Knet_Call<"dropout", "Dropout">];
  let cppPattern = "knet::dropout($0, ${p})";
  let gradTests = ["x:3x4 w:3x4 = sum(dropout(x, 0.5) * w)"];
  let summary = "zeroes each element with probability p and scales the rest "
                "by 1/(1-p) while training (reads and advances the RNG)";
  let arguments = (ins Knet_FloatTensor:$x, F64Attr:$p);
  let results = (outs Knet_FloatTensor:$y);
  let assemblyFormat = "$x `p` $p attr-dict `:` type($y)";
  let hasVerifier = 1;
}

def Knet_DropoutBackOp : Knet_Op<"dropout_back", [Pure, Knet_Broadcast,
    Knet_ScalarBody, AllElementTypesMatch<["dy", "y", "dx"]>]> {
  let cppPattern = "knet::dropout_back($0, $1, ${p})";
  let summary = "backward kernel of dropout from its output: "
                "y != 0 ? dy / (1 - p) : 0";
  let arguments = (ins Knet_FloatTensor:$dy, Knet_FloatTensor:$y, F64Attr:$p);
  let results = (outs Knet_FloatTensor:$dx);
  let assemblyFormat = [{
    $dy `,` $y `p` $p attr-dict `:` type($dy) `,` type($y) `->` type($dx)
  }];
  let hasVerifier = 1;
  let extraClassDefinition = [{
    ::mlir::Value $cppClass::buildScalar(::mlir::OpBuilder &builder,
                                         ::mlir::ValueRange scalars) {
      ::mlir::knet::ScalarBuilder e(builder, getLoc());
      ::mlir::Value dy = scalars[0], y = scalars[1];
      double scale = getP().convertToDouble() < 1.0
                         ? 1.0 / (1.0 - getP().convertToDouble()) : 0.0;
      // The runtime's (dy * (y != 0)) * scale, for inf and -0 alike.
      ::mlir::Value mask =
          e.select(e.cmp(CmpKind::ne, y, e.zero(y)), e.one(dy), e.zero(dy));
      return e.mul(e.mul(dy, mask), e.c(dy, scale));
    }
  }];
}

//===----------------------------------------------------------------------===//
// Gather, join, split and views
//===----------------------------------------------------------------------===//

def Knet_EmbeddingOp : Knet_Op<"embedding", [Pure, Knet_Diff,
    AllElementTypesMatch<["table", "result"]>]> {
  let runtimeCalls = [Knet_Call<"embedding", "Embedding">];
  let cppPattern = "knet::embedding($0, $1)";
  let gradTests = [
      "t:5x3 w:4x3 = sum(embedding(t, Tensor::from<int64_t>({1, 4, 1, 0}, {4})) * w)"];
  let summary =
      "rows of table [V, E] for i64 ids of any shape: ids.shape + [E]";
  let arguments = (ins Knet_FloatTensor:$table, Knet_IdTensor:$ids);
  let results = (outs Knet_FloatTensor:$result);
  let assemblyFormat = [{
    $table `,` $ids attr-dict `:` type($table) `,` type($ids) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Knet_EmbeddingBackOp : Knet_Op<"embedding_back", [Pure,
    AllElementTypesMatch<["dy", "like", "dtable"]>]> {
  let cppPattern = "knet::embedding_back($0, $1, $2.size(0))";
  let summary = "backward kernel of embedding: dy scatter-added into rows of "
                "a zero tensor of like's (the table's) shape";
  let arguments = (ins Knet_FloatTensor:$dy, Knet_IdTensor:$ids,
                       Knet_FloatTensor:$like);
  let results = (outs Knet_FloatTensor:$dtable);
  let assemblyFormat = [{
    $dy `,` $ids `like` $like attr-dict `:` type($dy) `,` type($ids) `,`
    type($like) `->` type($dtable)
  }];
  let hasVerifier = 1;
}

class Knet_JoinOp<string mnemonic, string what>
    : Knet_Op<mnemonic, [Pure, Knet_Diff]> {
  let runtimeCalls = [Knet_Call<mnemonic, "Join">];
  let cppPattern = "knet::" # mnemonic # "({$args}, ${dim})";
  let gradTests = [
      "a:3x2 b:3x2 w:3x2 = sum(sin(" # mnemonic # "({a, b.transpose(0, 1).transpose(0, 1), a * b}, 1)))"];
  let summary = what;
  let arguments = (ins Variadic<Knet_Tensor>:$xs, I64Attr:$dim);
  let results = (outs Knet_Tensor:$result);
  let assemblyFormat = [{
    $xs `dim` $dim attr-dict `:` type($xs) `->` type($result)
  }];
  let hasVerifier = 1;
}
def Knet_ConcatOp : Knet_JoinOp<"concat", "joins tensors along dim">;
def Knet_StackOp : Knet_JoinOp<"stack", "stacks tensors along a new dim">;

// The same of a list built at run time (push_back in a loop).
class Knet_JoinListOp<string mnemonic, string what>
    : Knet_Op<mnemonic, [Pure, Knet_Diff]> {
  let cppPattern = "knet::" # !subst("_list", "", mnemonic) # "($0, ${dim})";
  let gradTests = [
      "x:3x2 = sum(sin(" # !subst("_list", "", mnemonic) # "(rows(x), 0)))"];
  let summary = what # " (a list built at run time)";
  let arguments = (ins Knet_TensorList:$xs, I64Attr:$dim);
  let results = (outs Knet_Tensor:$result);
  let assemblyFormat =
      "$xs `dim` $dim attr-dict `:` type($xs) `->` type($result)";
}
def Knet_ConcatListOp : Knet_JoinListOp<"concat_list", "joins tensors along dim">;
def Knet_StackListOp : Knet_JoinListOp<"stack_list",
    "stacks tensors along a new dim">;

def Knet_SplitListOp : Knet_Op<"split_list", [Pure, Knet_Diff,
    AllTypesMatch<["like", "pieces"]>]> {
  let cppPattern = "knet::detail::split_list($0, $1, ${dim}$?stack)";
  let gradTestSkip = "an adjoint helper: only the autodiff pass creates it";
  let summary = "dy cut into the pieces that `like` was joined from along dim "
                "(selects with `stack`): the adjoint of concat_list/stack_list";
  let arguments = (ins Knet_Tensor:$dy, Knet_TensorList:$like, I64Attr:$dim,
                       UnitAttr:$stack);
  let results = (outs Knet_TensorList:$pieces);
  let assemblyFormat = [{
    $dy `like` $like `dim` $dim attr-dict `:` type($dy) `,` type($like)
  }];
}

def Knet_ChunkOp : Knet_Op<"chunk", [Pure, Knet_Diff]> {
  let runtimeCalls = [Knet_Call<"chunk", "Chunk">];
  let cppPattern = "knet::chunk($0, ${n}, ${dim})";
  let gradTests = ["x:3x4 w:3x2 = sum(chunk(x, 2, 1)[1] * w)"];
  let summary = "n nearly equal pieces of x along dim, as a list";
  let arguments = (ins Knet_Tensor:$x, Knet_PosI64:$n, I64Attr:$dim);
  let results = (outs Knet_TensorList:$pieces);
  let assemblyFormat = [{
    $x `,` $n `dim` $dim attr-dict `:` type($x) `->` type($pieces)
  }];
  let hasVerifier = 1;
}

def Knet_MatOp : Knet_Op<"mat", [Pure, Knet_Diff,
    AllElementTypesMatch<["x", "y"]>]> {
  let runtimeCalls = [Knet_Call<"mat", "Unary">];
  let cppPattern = "knet::mat($0)";
  let gradTests = ["x:2x3x4 w:2x12 = sum(mat(x) * w)"];
  let summary = "flattens x to [N, rest]";
  let arguments = (ins Knet_Tensor:$x);
  let results = (outs Knet_Tensor:$y);
  let assemblyFormat = "$x attr-dict `:` type($x) `->` type($y)";
  let hasVerifier = 1;
}

def Knet_ReshapeOp : Knet_Op<"reshape", [Pure, Knet_Diff,
    AllElementTypesMatch<["x", "y"]>]> {
  let runtimeCalls = [Knet_Call<"Tensor::reshape", "Reshape">];
  let cppPattern = "$0.reshape({$rest})";
  let gradTests = ["x:3x4 w:2x6 = sum(x.reshape({2, 6}) * w)",
                   "x:4x3 w:12 = sum(x.transpose(0, 1).reshape({12}) * w)"];
  let summary = "x with a new shape, one i64 per dim (-1: inferred)";
  let arguments = (ins Knet_Tensor:$x, Variadic<I64>:$shape);
  let results = (outs Knet_Tensor:$y);
  let assemblyFormat = "$x `(` $shape `)` attr-dict `:` type($x) `->` type($y)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Knet_TransposeOp : Knet_Op<"transpose", [Pure, Knet_Diff,
    AllElementTypesMatch<["x", "y"]>]> {
  let runtimeCalls = [Knet_Call<"Tensor::transpose", "Transpose">];
  let cppPattern = "$0.transpose(${dim0}, ${dim1})";
  let gradTests = ["x:2x3x4 w:4x3x2 = sum(x.transpose(0, 2) * w)"];
  let summary = "swaps two dims";
  let arguments = (ins Knet_Tensor:$x, I64Attr:$dim0, I64Attr:$dim1);
  let results = (outs Knet_Tensor:$y);
  let assemblyFormat = [{
    $x `,` $dim0 `,` $dim1 attr-dict `:` type($x) `->` type($y)
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Knet_PermuteOp : Knet_Op<"permute", [Pure, Knet_Diff,
    AllElementTypesMatch<["x", "y"]>]> {
  let runtimeCalls = [Knet_Call<"Tensor::permute", "Permute">];
  let cppPattern = "$0.permute(${perm})";
  let gradTests = ["x:2x3x4 w:3x4x2 = sum(x.permute({1, 2, 0}) * w)"];
  let summary = "reorders dims: result dim i is x's dim perm[i]";
  let arguments = (ins Knet_Tensor:$x, DenseI64ArrayAttr:$perm);
  let results = (outs Knet_Tensor:$y);
  let assemblyFormat = "$x $perm attr-dict `:` type($x) `->` type($y)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Knet_SliceOp : Knet_Op<"slice", [Pure, Knet_Diff,
    AllElementTypesMatch<["x", "y"]>]> {
  let runtimeCalls = [Knet_Call<"Tensor::slice", "Slice">];
  let cppPattern = "$0.slice(${dim}, $1, $2$opt(step=1))";
  let gradTests = ["x:3x5 w:3x2 = sum(x.slice(1, 1, 3) * w)",
                   "x:5x3 w:2x3 = sum(x.slice(0, 0, 4, 2) * w)"];
  let summary = "elements begin, begin+step, ... < end along dim";
  let arguments = (ins Knet_Tensor:$x, I64:$begin, I64:$end, I64Attr:$dim,
                       DefaultValuedAttr<Knet_PosI64, "1">:$step);
  let results = (outs Knet_Tensor:$y);
  let assemblyFormat = [{
    $x `dim` $dim `from` $begin `to` $end (`step` $step^)? attr-dict `:`
    type($x) `->` type($y)
  }];
  let hasVerifier = 1;
}

def Knet_SliceBackOp : Knet_Op<"slice_back", [Pure,
    AllElementTypesMatch<["dy", "like", "dx"]>]> {
  let cppPattern =
      "knet::slice_back($0, $1.shape(), ${dim}, $2, $3$opt(step=1))";
  let summary = "adjoint of slice: dy placed into zeros of like's shape";
  let arguments = (ins Knet_Tensor:$dy, Knet_Tensor:$like, I64:$begin,
                       I64:$end, I64Attr:$dim,
                       DefaultValuedAttr<Knet_PosI64, "1">:$step);
  let results = (outs Knet_Tensor:$dx);
  let assemblyFormat = [{
    $dy `like` $like `dim` $dim `from` $begin `to` $end (`step` $step^)?
    attr-dict `:` type($dy) `,` type($like) `->` type($dx)
  }];
  let hasVerifier = 1;
}

def Knet_SelectOp : Knet_Op<"select", [Pure, Knet_Diff,
    AllElementTypesMatch<["x", "y"]>]> {
  let runtimeCalls = [Knet_Call<"Tensor::select", "Select">];
  let cppPattern = "$0.select(${dim}, $1)";
  let gradTests = ["x:3x4 w:3 = sum(x.select(1, 2) * w)"];
  let summary = "the index-th slice along dim, without that dim";
  let arguments = (ins Knet_Tensor:$x, I64:$index, I64Attr:$dim);
  let results = (outs Knet_Tensor:$y);
  let assemblyFormat = [{
    $x `dim` $dim `index` $index attr-dict `:` type($x) `->` type($y)
  }];
  let hasVerifier = 1;
}

def Knet_SelectBackOp : Knet_Op<"select_back", [Pure,
    AllElementTypesMatch<["dy", "like", "dx"]>]> {
  let cppPattern = "knet::select_back($0, $1.shape(), ${dim}, $2)";
  let summary = "adjoint of select: dy placed into zeros of like's shape";
  let arguments = (ins Knet_Tensor:$dy, Knet_Tensor:$like, I64:$index,
                       I64Attr:$dim);
  let results = (outs Knet_Tensor:$dx);
  let assemblyFormat = [{
    $dy `like` $like `dim` $dim `index` $index attr-dict `:` type($dy) `,`
    type($like) `->` type($dx)
  }];
  let hasVerifier = 1;
}

class Knet_DimOp<string mnemonic, string what>
    : Knet_Op<mnemonic, [Pure, Knet_Diff, AllElementTypesMatch<["x", "y"]>]> {
  let runtimeCalls = [Knet_Call<"Tensor::" # mnemonic, "DimOp">];
  let cppPattern = "$0." # mnemonic # "(${dim})";
  let summary = what;
  let arguments = (ins Knet_Tensor:$x, I64Attr:$dim);
  let results = (outs Knet_Tensor:$y);
  let assemblyFormat = "$x `dim` $dim attr-dict `:` type($x) `->` type($y)";
  let hasVerifier = 1;
}
def Knet_SqueezeOp : Knet_DimOp<"squeeze", "removes a dim of size 1"> {
  let gradTests = ["x:3x1x4 w:3x4 = sum(x.squeeze(1) * w)"];
}
def Knet_UnsqueezeOp : Knet_DimOp<"unsqueeze", "inserts a dim of size 1"> {
  let gradTests = ["x:3x4 w:3x1x4 = sum(x.unsqueeze(1) * w)"];
}

//===----------------------------------------------------------------------===//
// Lists
//===----------------------------------------------------------------------===//

def Knet_ListMakeOp : Knet_Op<"list_make", [Pure, Knet_Diff]> {
  let cppPattern = "{$args}";
  let gradTests = [
      "a:3 b:3 = sum(std::vector<Tensor>{a, b}[0] * std::vector<Tensor>{a, b}[1])"];
  let summary = "a list of the given values";
  let arguments = (ins Variadic<AnyType>:$elements);
  let results = (outs Knet_List:$list);
  let assemblyFormat = [{
    ($elements^ `:` type($elements))? attr-dict `->` type($list)
  }];
  let hasVerifier = 1;
}

def Knet_ListGetOp : Knet_Op<"list_get", [Pure, Knet_Diff,
    TypesMatchWith<"result is the list's element type", "list", "result",
        "::llvm::cast<::mlir::knet::ListType>($_self).getElementType()">]> {
  let cppPattern = "$0[$1]";
  let gradTests = ["x:3x2 w:2 = sum(rows(x)[1] * w)"];
  let summary = "element `index` of a list (vector indexing)";
  let arguments = (ins Knet_List:$list, Index:$index);
  let results = (outs AnyType:$result);
  let assemblyFormat = "$list `[` $index `]` attr-dict `:` type($list)";
  let hasFolder = 1;
  let hasCanonicalizeMethod = 1;
}

def Knet_ListSizeOp : Knet_Op<"list_size", [Pure]> {
  let cppPattern = "static_cast<int64_t>($0.size())";
  let summary = "the number of elements of a list (vector::size)";
  let arguments = (ins Knet_List:$list);
  let results = (outs Index:$size);
  let assemblyFormat = "$list attr-dict `:` type($list)";
  let hasFolder = 1;
}

def Knet_ListSetOp : Knet_Op<"list_set", [Pure, Knet_Diff,
    AllTypesMatch<["list", "result"]>]> {
  let cppPattern = "knet::detail::list_set($0, $1, $2)";
  let gradTests = [
      "x:3x2 w:2 = sum(set_row(rows(x), x.select(0, 2) * 2.0)[0] * w)"];
  let summary = "a copy of the list with element `index` replaced by value";
  let description = [{
    Lists are values: `%l2 = knet.list_set %l[%i], %v` leaves `%l` unchanged.
    The reverse sweep accumulates the gradient of a list argument with it
    (the adjoint of `knet.list_get`).
  }];
  let arguments = (ins Knet_List:$list, Index:$index, AnyType:$value);
  let results = (outs Knet_List:$result);
  let assemblyFormat = [{
    $list `[` $index `]` `,` $value attr-dict `:` type($list) `,` type($value)
  }];
  let hasVerifier = 1;
}

def Knet_ListPushOp : Knet_Op<"list_push", [Pure, Knet_Diff,
    AllTypesMatch<["list", "result"]>,
    TypesMatchWith<"value is the list's element type", "list", "value",
        "::llvm::cast<::mlir::knet::ListType>($_self).getElementType()">]> {
  let cppPattern = "knet::detail::list_push($0, $1)";
  let gradTests = ["x:3x2 = sum(sin(stack(rows(x), 0)))"];
  let summary = "a copy of the list with value appended (vector::push_back)";
  let description = [{
    `%l2 = knet.list_push %l, %v` leaves `%l` unchanged: a variable that
    grows in a loop is a loop-carried list.
  }];
  let arguments = (ins Knet_List:$list, AnyType:$value);
  let results = (outs Knet_List:$result);
  let assemblyFormat = "$list `,` $value attr-dict `:` type($list)";
}

def Knet_ListPopOp : Knet_Op<"list_pop", [Pure, Knet_Diff,
    AllTypesMatch<["list", "result"]>]> {
  let cppPattern = "knet::detail::list_pop($0)";
  let gradTests = ["x:3x2 = sum(sin(stack(popped(rows(x)), 0)))"];
  let summary = "a copy of the list without its last element "
                "(vector::pop_back; the adjoint of list_push)";
  let arguments = (ins Knet_List:$list);
  let results = (outs Knet_List:$result);
  let assemblyFormat = "$list attr-dict `:` type($list)";
}

def Knet_ListResizeOp : Knet_Op<"list_resize", [Pure, Knet_Diff,
    AllTypesMatch<["list", "result"]>]> {
  let cppPattern = "knet::detail::list_resize($0, $1)";
  let gradTests = ["x:3x2 w:2 = sum(resized(x)[1] * w)"];
  let summary = "a copy of the list with `size` elements: its first ones, "
                "then undefined tensors (vector::resize, std::vector(n))";
  let arguments = (ins Knet_TensorList:$list, Index:$size);
  let results = (outs Knet_TensorList:$result);
  let assemblyFormat = "$list `,` $size attr-dict `:` type($list)";
}

def Knet_ListPadLikeOp : Knet_Op<"list_pad_like", [Pure,
    AllTypesMatch<["list", "like", "result"]>]> {
  let cppPattern = "knet::detail::list_pad_like($0, $1)";
  let summary = "list made as long as `like`: its first elements, then "
                "zeros like like's (undefined where like's are): the adjoint "
                "of list_resize";
  let arguments = (ins Knet_TensorList:$list, Knet_TensorList:$like);
  let results = (outs Knet_TensorList:$result);
  let assemblyFormat = "$list `like` $like attr-dict `:` type($list)";
}

def Knet_ListZerosLikeOp : Knet_Op<"list_zeros_like", [Pure, Knet_Diff,
    AllTypesMatch<["list", "result"]>]> {
  let cppPattern = "knet::detail::list_zeros_like($0)";
  let gradTestSkip = "an adjoint helper: only the autodiff pass creates it";
  let summary = "a list as long as the operand, each element the zeros_like "
                "of the operand's element: a zero list gradient";
  let arguments = (ins Knet_TensorList:$list);
  let results = (outs Knet_TensorList:$result);
  let assemblyFormat = "$list attr-dict `:` type($list)";
}

//===----------------------------------------------------------------------===//
// The value stack of loop adjoints
//===----------------------------------------------------------------------===//

def Knet_StackNewOp : Knet_Op<"stack_new", [MemoryEffects<[MemAlloc]>]> {
  let summary = "a new, empty stack";
  let results = (outs Knet_Stack:$stack);
  let assemblyFormat = "attr-dict `:` type($stack)";
}

def Knet_StackPushOp : Knet_Op<"stack_push", [
    MemoryEffects<[MemRead, MemWrite]>,
    TypesMatchWith<"value is the stack's element type", "stack", "value",
        "::llvm::cast<::mlir::knet::StackType>($_self).getElementType()">]> {
  let cppPattern = "$0.push_back($1)";
  let summary = "pushes a value (forward sweep of a loop)";
  let arguments = (ins Knet_Stack:$stack, AnyType:$value);
  let assemblyFormat = "$stack `,` $value attr-dict `:` type($stack)";
}

def Knet_StackPopOp : Knet_Op<"stack_pop", [
    MemoryEffects<[MemRead, MemWrite]>,
    TypesMatchWith<"result is the stack's element type", "stack", "value",
        "::llvm::cast<::mlir::knet::StackType>($_self).getElementType()">]> {
  let summary = "pops the last pushed value (reverse sweep of a loop)";
  let arguments = (ins Knet_Stack:$stack);
  let results = (outs AnyType:$value);
  let assemblyFormat = "$stack attr-dict `:` type($stack)";
  // A pop right after a push of the same stack (nothing else touching the
  // stack in between, in the same block) is the pushed value; the pair goes
  // (and the stack, when nothing else uses it).
  let hasCanonicalizeMethod = 1;
}

//===----------------------------------------------------------------------===//
// Fused elementwise kernels
//===----------------------------------------------------------------------===//

def Knet_FusedOp : Knet_Op<"fused", [Pure, IsolatedFromAbove]> {
  let summary = "a kernel: scalar arith/math ops over broadcast operands, "
                "optionally closed by a reduction";
  let description = [{
    The body has one block whose arguments are one element of each input
    (their element types); it holds only arith and math ops and ends in
    knet.yield with one scalar per result. The inputs broadcast like the
    elementwise ops; with `reduce`, the first yielded value is reduced over
    `dims` (all when absent) of the broadcast shape, and any further result
    is elementwise, of the broadcast shape (a value of the chain that has
    users of its own besides the reduction: one pass computes both).
    `reduce sum_to` sums to the shape of the last input, which the body does
    not read (knet.sum_to).

    The optional `fallback` region, made by knet-fuse, holds the tensor ops
    the kernel replaced (its arguments are the inputs; it ends in knet.yield
    of the results). The kernel runs when the run-time operands satisfy it:
    float inputs share one dtype (0-d ones adapt), i1 inputs are bool, and
    each entry of `checks`, `[n, a1..an, b1..bm]`, holds: inputs a broadcast
    to the same shape as inputs b. Each entry of `cones` lists the float
    inputs some member is computed from: when they are all 0-d they must
    give the kernel's dtype (a chain of 0-d f64 scalars stays f64 in the
    replaced ops). Otherwise the fallback runs, so fusion never changes what
    is computed, nor the errors raised.
  }];
  let arguments = (ins Variadic<Knet_Tensor>:$inputs,
                       OptionalAttr<Knet_ReduceKind>:$reduce,
                       OptionalAttr<DenseI64ArrayAttr>:$dims,
                       UnitAttr:$keepdim,
                       OptionalAttr<TypedArrayAttrBase<DenseI64ArrayAttr,
                           "shape checks">>:$checks,
                       OptionalAttr<TypedArrayAttrBase<DenseI64ArrayAttr,
                           "dtype cones">>:$cones);
  let results = (outs Variadic<Knet_Tensor>:$results);
  let regions = (region SizedRegion<1>:$body, AnyRegion:$fallback);
  let assemblyFormat = [{
    `(` $inputs `)` (`reduce` $reduce^)? (`dims` $dims^)? (`keepdim` $keepdim^)?
    (`checks` $checks^)? (`cones` $cones^)? attr-dict `:`
    functional-type($inputs, $results) $body
    (`fallback` $fallback^)?
  }];
  let hasVerifier = 1;
  let hasRegionVerifier = 1;
  let extraClassDeclaration = [{
    /// The fallback region, when present, mirrors the op's signature.
    LogicalResult verifyFallback();
  }];
}

def Knet_YieldOp : Knet_Op<"yield", [Pure, Terminator, ReturnLike,
    HasParent<"FusedOp">]> {
  let summary = "the results of a knet.fused body (scalars) or fallback "
                "(tensors)";
  let arguments = (ins Variadic<AnyType>:$values);
  let assemblyFormat = "attr-dict ($values^ `:` type($values))?";
}

#endif // KNET_IR_KNETOPS_TD
