// Every verifier rule of the elementwise ops and constants rejects bad IR
// with a precise message.
// RUN: %knet-opt %s -split-input-file -verify-diagnostics

func.func @not_broadcastable(%a: tensor<?x3xf32>, %b: tensor<4xf32>) {
  // expected-error @below {{'knet.add' op operands are not broadcast-compatible: operand #0 has size 3 and operand #1 has size 4 in dim 1 of the broadcast shape}}
  %0 = knet.add %a, %b : tensor<?x3xf32>, tensor<4xf32> -> tensor<?x3xf32>
  return
}

// -----

func.func @result_rank(%a: tensor<?x4xf32>, %b: tensor<4xf32>) {
  // expected-error @below {{'knet.mul' op result rank 1 does not match the rank 2 of the broadcast shape [?, 4] of the operands}}
  %0 = knet.mul %a, %b : tensor<?x4xf32>, tensor<4xf32> -> tensor<4xf32>
  return
}

// -----

func.func @result_size(%a: tensor<2x1xf32>, %b: tensor<3xf32>) {
  // expected-error @below {{'knet.sub' op result has size 4 in dim 1 but the operands broadcast to 3 (shape [2, 3])}}
  %0 = knet.sub %a, %b : tensor<2x1xf32>, tensor<3xf32> -> tensor<2x4xf32>
  return
}

// -----

func.func @mixed_elements(%a: tensor<4xf32>, %b: tensor<4xf64>) {
  // expected-error @below {{'knet.add' op failed to verify that all of {lhs, rhs, result} have same element type}}
  %0 = knet.add %a, %b : tensor<4xf32>, tensor<4xf64> -> tensor<4xf32>
  return
}

// -----

func.func @float_only(%a: tensor<4xi64>) {
  // expected-error @below {{'knet.exp' op operand #0 must be tensor of 32-bit float or 64-bit float values, but got 'tensor<4xi64>'}}
  %0 = knet.exp %a : tensor<4xi64>
  return
}

// -----

func.func @element_type(%a: tensor<4xf16>) {
  // expected-error @below {{'knet.neg' op operand #0 must be tensor of 32-bit float or 64-bit float or 64-bit signless integer values, but got 'tensor<4xf16>'}}
  %0 = knet.neg %a : tensor<4xf16>
  return
}

// -----

func.func @unary_same_type(%a: tensor<4xf32>) {
  // expected-error @below {{'knet.relu' op requires the same type for all operands and results}}
  %0 = "knet.relu"(%a) : (tensor<4xf32>) -> tensor<5xf32>
  return
}

// -----

func.func @compare_result(%a: tensor<4xf32>) {
  // expected-error @below {{'knet.lt' op result #0 must be tensor of 1-bit signless integer values, but got 'tensor<4xf32>'}}
  %0 = knet.lt %a, %a : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  return
}

// -----

func.func @where_cond(%c: tensor<4xf32>, %a: tensor<4xf32>) {
  // expected-error @below {{'knet.where' op operand #0 must be tensor of 1-bit signless integer values, but got 'tensor<4xf32>'}}
  %0 = knet.where %c, %a, %a : tensor<4xf32>, tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  return
}

// -----

func.func @backward_broadcast(%dy: tensor<3xf32>, %y: tensor<4xf32>) {
  // expected-error @below {{'knet.relu_back' op operands are not broadcast-compatible: operand #0 has size 3 and operand #1 has size 4 in dim 0 of the broadcast shape}}
  %0 = knet.relu_back %dy, %y : tensor<3xf32>, tensor<4xf32> -> tensor<4xf32>
  return
}

// -----

func.func @cast_shape(%a: tensor<4xi64>) {
  // expected-error @below {{'knet.cast' op requires the same shape for all operands and results}}
  %0 = knet.cast %a : tensor<4xi64> -> tensor<5xf32>
  return
}

// -----

func.func @constant_type() {
  // expected-error @below {{'knet.constant' op failed to verify that all of {value, result} have same type}}
  %0 = "knet.constant"() <{value = dense<1.0> : tensor<2xf32>}> : () -> tensor<3xf32>
  return
}

// -----

func.func @scalar_rank(%f: f32) {
  // expected-error @below {{'knet.scalar' op result must have rank 0, got 'tensor<1xf32>'}}
  %0 = knet.scalar %f : f32 -> tensor<1xf32>
  return
}

// -----

func.func @item_elements(%x: tensor<2xf32>) {
  // expected-error @below {{'knet.item' op operand has 2 elements; item needs exactly one}}
  %0 = knet.item %x : tensor<2xf32> -> f32
  return
}

// -----

func.func @size_dim(%x: tensor<?x4xf32>) {
  // expected-error @below {{'knet.size' op dim 2 is out of range for an operand of rank 2}}
  %0 = knet.size %x, 2 : tensor<?x4xf32>
  return
}

// -----

func.func @dropout_p(%x: tensor<4xf32>) {
  // expected-error @below {{'knet.dropout' op p must be in [0, 1), got 1.000000e+00}}
  %0 = knet.dropout %x p 1.0 : tensor<4xf32>
  return
}

// -----

func.func @dropout_back_p(%x: tensor<4xf32>) {
  // expected-error @below {{'knet.dropout_back' op p must be in [0, 1), got -5.000000e-01}}
  %0 = knet.dropout_back %x, %x p -0.5 : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  return
}
