// The runtime's GPU ops, one function each, named after the op (hand-written
// knet IR). scripts/gen-op-kernels.sh turns each into a one-op kernel
// (knet-opt --knet-fuse=singletons=true) and the kernels into the runtime's
// table runtime/jit/op_kernels.inc (knet-translate --emit-op-kernels);
// tests/lit/codegen/op-kernels.mlir checks the table is up to date. See
// docs/codegen.md, "Fused kernels".
//
// f32 stands for the run-time float dtype (f32 or f64), i1 for b8. Kernel
// inputs are the op's operands in order.

// Unary elementwise ops.

func.func @neg(%x: tensor<*xf32>) -> tensor<*xf32> {
  %0 = knet.neg %x : tensor<*xf32>
  return %0 : tensor<*xf32>
}

func.func @abs(%x: tensor<*xf32>) -> tensor<*xf32> {
  %0 = knet.abs %x : tensor<*xf32>
  return %0 : tensor<*xf32>
}

func.func @sign(%x: tensor<*xf32>) -> tensor<*xf32> {
  %0 = knet.sign %x : tensor<*xf32>
  return %0 : tensor<*xf32>
}

func.func @exp(%x: tensor<*xf32>) -> tensor<*xf32> {
  %0 = knet.exp %x : tensor<*xf32>
  return %0 : tensor<*xf32>
}

func.func @log(%x: tensor<*xf32>) -> tensor<*xf32> {
  %0 = knet.log %x : tensor<*xf32>
  return %0 : tensor<*xf32>
}

func.func @log1p(%x: tensor<*xf32>) -> tensor<*xf32> {
  %0 = knet.log1p %x : tensor<*xf32>
  return %0 : tensor<*xf32>
}

func.func @sqrt(%x: tensor<*xf32>) -> tensor<*xf32> {
  %0 = knet.sqrt %x : tensor<*xf32>
  return %0 : tensor<*xf32>
}

func.func @rsqrt(%x: tensor<*xf32>) -> tensor<*xf32> {
  %0 = knet.rsqrt %x : tensor<*xf32>
  return %0 : tensor<*xf32>
}

func.func @sin(%x: tensor<*xf32>) -> tensor<*xf32> {
  %0 = knet.sin %x : tensor<*xf32>
  return %0 : tensor<*xf32>
}

func.func @cos(%x: tensor<*xf32>) -> tensor<*xf32> {
  %0 = knet.cos %x : tensor<*xf32>
  return %0 : tensor<*xf32>
}

func.func @tanh(%x: tensor<*xf32>) -> tensor<*xf32> {
  %0 = knet.tanh %x : tensor<*xf32>
  return %0 : tensor<*xf32>
}

func.func @sigm(%x: tensor<*xf32>) -> tensor<*xf32> {
  %0 = knet.sigm %x : tensor<*xf32>
  return %0 : tensor<*xf32>
}

func.func @relu(%x: tensor<*xf32>) -> tensor<*xf32> {
  %0 = knet.relu %x : tensor<*xf32>
  return %0 : tensor<*xf32>
}

func.func @elu(%x: tensor<*xf32>) -> tensor<*xf32> {
  %0 = knet.elu %x : tensor<*xf32>
  return %0 : tensor<*xf32>
}

func.func @selu(%x: tensor<*xf32>) -> tensor<*xf32> {
  %0 = knet.selu %x : tensor<*xf32>
  return %0 : tensor<*xf32>
}

func.func @gelu(%x: tensor<*xf32>) -> tensor<*xf32> {
  %0 = knet.gelu %x : tensor<*xf32>
  return %0 : tensor<*xf32>
}

func.func @softplus(%x: tensor<*xf32>) -> tensor<*xf32> {
  %0 = knet.softplus %x : tensor<*xf32>
  return %0 : tensor<*xf32>
}

func.func @swish(%x: tensor<*xf32>) -> tensor<*xf32> {
  %0 = knet.swish %x : tensor<*xf32>
  return %0 : tensor<*xf32>
}

// Binary elementwise ops, broadcasting.

func.func @add(%a: tensor<*xf32>, %b: tensor<*xf32>) -> tensor<*xf32> {
  %0 = knet.add %a, %b : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  return %0 : tensor<*xf32>
}

func.func @sub(%a: tensor<*xf32>, %b: tensor<*xf32>) -> tensor<*xf32> {
  %0 = knet.sub %a, %b : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  return %0 : tensor<*xf32>
}

func.func @mul(%a: tensor<*xf32>, %b: tensor<*xf32>) -> tensor<*xf32> {
  %0 = knet.mul %a, %b : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  return %0 : tensor<*xf32>
}

func.func @div(%a: tensor<*xf32>, %b: tensor<*xf32>) -> tensor<*xf32> {
  %0 = knet.div %a, %b : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  return %0 : tensor<*xf32>
}

func.func @pow(%a: tensor<*xf32>, %b: tensor<*xf32>) -> tensor<*xf32> {
  %0 = knet.pow %a, %b : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  return %0 : tensor<*xf32>
}

func.func @maximum(%a: tensor<*xf32>, %b: tensor<*xf32>) -> tensor<*xf32> {
  %0 = knet.maximum %a, %b : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  return %0 : tensor<*xf32>
}

func.func @minimum(%a: tensor<*xf32>, %b: tensor<*xf32>) -> tensor<*xf32> {
  %0 = knet.minimum %a, %b : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  return %0 : tensor<*xf32>
}

// Comparisons: bool results.

func.func @eq(%a: tensor<*xf32>, %b: tensor<*xf32>) -> tensor<*xi1> {
  %0 = knet.eq %a, %b : tensor<*xf32>, tensor<*xf32> -> tensor<*xi1>
  return %0 : tensor<*xi1>
}

func.func @ne(%a: tensor<*xf32>, %b: tensor<*xf32>) -> tensor<*xi1> {
  %0 = knet.ne %a, %b : tensor<*xf32>, tensor<*xf32> -> tensor<*xi1>
  return %0 : tensor<*xi1>
}

func.func @lt(%a: tensor<*xf32>, %b: tensor<*xf32>) -> tensor<*xi1> {
  %0 = knet.lt %a, %b : tensor<*xf32>, tensor<*xf32> -> tensor<*xi1>
  return %0 : tensor<*xi1>
}

func.func @le(%a: tensor<*xf32>, %b: tensor<*xf32>) -> tensor<*xi1> {
  %0 = knet.le %a, %b : tensor<*xf32>, tensor<*xf32> -> tensor<*xi1>
  return %0 : tensor<*xi1>
}

func.func @gt(%a: tensor<*xf32>, %b: tensor<*xf32>) -> tensor<*xi1> {
  %0 = knet.gt %a, %b : tensor<*xf32>, tensor<*xf32> -> tensor<*xi1>
  return %0 : tensor<*xi1>
}

func.func @ge(%a: tensor<*xf32>, %b: tensor<*xf32>) -> tensor<*xi1> {
  %0 = knet.ge %a, %b : tensor<*xf32>, tensor<*xf32> -> tensor<*xi1>
  return %0 : tensor<*xi1>
}

// cond ? a : b, with a bool condition.

func.func @where(%c: tensor<*xi1>, %a: tensor<*xf32>, %b: tensor<*xf32>) -> tensor<*xf32> {
  %0 = knet.where %c, %a, %b : tensor<*xi1>, tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  return %0 : tensor<*xf32>
}

// Backward kernels dx(dy, v): v is the forward output y (relu, sigm, tanh)
// or input x (the others), as in runtime/include/knet/ops/elementwise.h.

func.func @relu_back(%dy: tensor<*xf32>, %y: tensor<*xf32>) -> tensor<*xf32> {
  %0 = knet.relu_back %dy, %y : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  return %0 : tensor<*xf32>
}

func.func @sigm_back(%dy: tensor<*xf32>, %y: tensor<*xf32>) -> tensor<*xf32> {
  %0 = knet.sigm_back %dy, %y : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  return %0 : tensor<*xf32>
}

func.func @tanh_back(%dy: tensor<*xf32>, %y: tensor<*xf32>) -> tensor<*xf32> {
  %0 = knet.tanh_back %dy, %y : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  return %0 : tensor<*xf32>
}

func.func @elu_back(%dy: tensor<*xf32>, %x: tensor<*xf32>) -> tensor<*xf32> {
  %0 = knet.elu_back %dy, %x : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  return %0 : tensor<*xf32>
}

func.func @selu_back(%dy: tensor<*xf32>, %x: tensor<*xf32>) -> tensor<*xf32> {
  %0 = knet.selu_back %dy, %x : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  return %0 : tensor<*xf32>
}

func.func @gelu_back(%dy: tensor<*xf32>, %x: tensor<*xf32>) -> tensor<*xf32> {
  %0 = knet.gelu_back %dy, %x : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  return %0 : tensor<*xf32>
}

func.func @softplus_back(%dy: tensor<*xf32>, %x: tensor<*xf32>) -> tensor<*xf32> {
  %0 = knet.softplus_back %dy, %x : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  return %0 : tensor<*xf32>
}

func.func @swish_back(%dy: tensor<*xf32>, %x: tensor<*xf32>) -> tensor<*xf32> {
  %0 = knet.swish_back %dy, %x : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  return %0 : tensor<*xf32>
}

// Reductions, over all dims here: the CUDA C of a reduction does not depend
// on which dims it reduces (the runtime passes them as KNET_RRANK and
// arguments), so one kernel serves every dims and keepdim.

func.func @sum(%x: tensor<*xf32>) -> tensor<*xf32> {
  %0 = knet.sum %x : tensor<*xf32> -> tensor<*xf32>
  return %0 : tensor<*xf32>
}

func.func @mean(%x: tensor<*xf32>) -> tensor<*xf32> {
  %0 = knet.mean %x : tensor<*xf32> -> tensor<*xf32>
  return %0 : tensor<*xf32>
}

func.func @max(%x: tensor<*xf32>) -> tensor<*xf32> {
  %0 = knet.max %x : tensor<*xf32> -> tensor<*xf32>
  return %0 : tensor<*xf32>
}

func.func @min(%x: tensor<*xf32>) -> tensor<*xf32> {
  %0 = knet.min %x : tensor<*xf32> -> tensor<*xf32>
  return %0 : tensor<*xf32>
}

// x summed to the shape of like (the last input, read for its shape only).

func.func @sum_to(%x: tensor<*xf32>, %like: tensor<*xf32>) -> tensor<*xf32> {
  %0 = knet.sum_to %x like %like : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  return %0 : tensor<*xf32>
}

// x broadcast to the shape of like (a copy when like is x; like is read
// for its shape only).

func.func @broadcast_to(%x: tensor<*xf32>, %like: tensor<*xf32>) -> tensor<*xf32> {
  %0 = knet.broadcast_to %x like %like : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  return %0 : tensor<*xf32>
}
