// knet-autodiff reports an op without a derivative rule that an active value
// flows through, at the op's location, and fails.
// RUN: %knet-opt %s -knet-autodiff -split-input-file -verify-diagnostics

func.func @backward_kernel_in_forward(%x: tensor<4xf32>, %y: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @below {{no derivative for 'knet.relu_back'}}
  %0 = knet.relu_back %x, %y : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @fused(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @below {{no derivative for 'knet.fused'}}
  %0 = knet.fused(%x) : (tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%a: f32):
    %1 = arith.mulf %a, %a : f32
    knet.yield %1 : f32
  }
  return %0 : tensor<4xf32>
}

// -----

// In a loop body, too.
func.func @in_loop(%x: f64, %n: index) -> f64 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %r = scf.for %i = %c0 to %n step %c1 iter_args(%a = %x) -> (f64) {
    // expected-error @below {{no derivative for 'math.sinh'}}
    %s = math.sinh %a : f64
    scf.yield %s : f64
  }
  return %r : f64
}

// -----

// An op without a rule whose result does not reach a result is fine.
func.func @inactive(%x: tensor<4xf32>, %y: tensor<4xf32>) -> tensor<4xf32> {
  %0 = knet.relu_back %x, %y : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  %1 = knet.exp %x : tensor<4xf32>
  return %1 : tensor<4xf32>
}

// -----

func.func private @external(tensor<4xf32>) -> tensor<4xf32>

func.func @call(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @below {{no derivative for the call of @external (no body to differentiate)}}
  %0 = func.call @external(%x) : (tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}
