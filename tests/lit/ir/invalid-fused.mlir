// knet.fused region well-formedness and shapes.
// RUN: %knet-opt %s -split-input-file -verify-diagnostics

func.func @dims_without_reduce(%x: tensor<4xf32>) {
  // expected-error @below {{'knet.fused' op 'dims' and 'keepdim' need a 'reduce'}}
  %0 = knet.fused(%x) dims [0] : (tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%a: f32):
    knet.yield %a : f32
  }
  return
}

// -----

func.func @not_broadcastable(%x: tensor<4xf32>, %y: tensor<3xf32>) {
  // expected-error @below {{'knet.fused' op operands are not broadcast-compatible: operand #0 has size 4 and operand #1 has size 3 in dim 0 of the broadcast shape}}
  %0 = knet.fused(%x, %y) : (tensor<4xf32>, tensor<3xf32>) -> tensor<4xf32> {
  ^bb0(%a: f32, %b: f32):
    knet.yield %a : f32
  }
  return
}

// -----

func.func @result_shape(%x: tensor<?x4xf32>) {
  // expected-error @below {{'knet.fused' op result has size 5 in dim 1 but the operands broadcast to 4 (shape [?, 4])}}
  %0 = knet.fused(%x) : (tensor<?x4xf32>) -> tensor<?x5xf32> {
  ^bb0(%a: f32):
    knet.yield %a : f32
  }
  return
}

// -----

func.func @reduced_shape(%x: tensor<?x4xf32>) {
  // expected-error @below {{'knet.fused' op result has rank 2 but rank 1 is expected (shape [?])}}
  %0 = knet.fused(%x) reduce sum dims [1] : (tensor<?x4xf32>) -> tensor<?x1xf32> {
  ^bb0(%a: f32):
    knet.yield %a : f32
  }
  return
}

// -----

func.func @arg_count(%x: tensor<4xf32>) {
  // expected-error @below {{'knet.fused' op the body has 2 arguments but the op has 1 inputs}}
  %0 = knet.fused(%x) : (tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%a: f32, %b: f32):
    knet.yield %a : f32
  }
  return
}

// -----

func.func @arg_type(%x: tensor<4xf32>) {
  // expected-error @below {{'knet.fused' op body argument #0 has type 'f64' but input #0 has element type 'f32'}}
  %0 = knet.fused(%x) : (tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%a: f64):
    %t = arith.truncf %a : f64 to f32
    knet.yield %t : f32
  }
  return
}

// -----

func.func private @g() -> f32

func.func @foreign_op(%x: tensor<4xf32>) {
  %0 = knet.fused(%x) : (tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%a: f32):
    // expected-error @below {{'func.call' op is not allowed in a knet.fused body: only arith and math ops compute on scalars there}}
    %c = func.call @g() : () -> f32
    knet.yield %c : f32
  }
  return
}

// -----

func.func @yield_count(%x: tensor<4xf32>) {
  // expected-error @below {{'knet.fused' op the body yields 2 values but the op has 1 results}}
  %0 = knet.fused(%x) : (tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%a: f32):
    knet.yield %a, %a : f32, f32
  }
  return
}

// -----

func.func @yield_type(%x: tensor<4xf32>) {
  // expected-error @below {{'knet.fused' op yielded value #0 has type 'i1' but result #0 has element type 'f32'}}
  %0 = knet.fused(%x) : (tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%a: f32):
    %c = arith.cmpf ogt, %a, %a : f32
    knet.yield %c : i1
  }
  return
}

// -----

func.func @isolated(%x: tensor<4xf32>, %s: f32) {
  // expected-note @below {{required by region isolation constraints}}
  %0 = knet.fused(%x) : (tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%a: f32):
    // expected-error @below {{using value defined outside the region}}
    %m = arith.mulf %a, %s : f32
    knet.yield %m : f32
  }
  return
}

// -----

func.func @yield_outside(%a: f32) {
  // expected-error @below {{'knet.yield' op expects parent op 'knet.fused'}}
  knet.yield %a : f32
}
