// What the emitter refuses, at the op's location.
// RUN: %knet-translate --emit-cpp %s -split-input-file -verify-diagnostics

// expected-error @+1 {{@nograd has no @nograd_grad (run knet-autodiff first)}}
func.func @nograd(%x: tensor<?xf32>) -> tensor<?xf32> {
  return %x : tensor<?xf32>
}

// -----

func.func @callee(%x: tensor<?xf32>) -> tensor<?xf32> {
  return %x : tensor<?xf32>
}
func.func @callee_grad(%x: tensor<?xf32>, %d: tensor<?xf32>) -> (tensor<?xf32>, tensor<?xf32>) {
  return %x, %d : tensor<?xf32>, tensor<?xf32>
}
func.func @caller(%x: tensor<?xf32>) -> tensor<?xf32> {
  // expected-error @+1 {{calls are not supported; inline the callee first}}
  %y = call @callee(%x) : (tensor<?xf32>) -> tensor<?xf32>
  return %y : tensor<?xf32>
}
func.func @caller_grad(%x: tensor<?xf32>, %d: tensor<?xf32>) -> (tensor<?xf32>, tensor<?xf32>) {
  return %x, %d : tensor<?xf32>, tensor<?xf32>
}

// -----

// An op the pattern table lacks is an error, never skipped.
func.func @unknown(%x: f64) -> f64 {
  // expected-error @+1 {{no C++ pattern for 'math.sinh'}}
  %y = math.sinh %x : f64
  return %y : f64
}
func.func @unknown_grad(%x: f64, %d: f64) -> (f64, f64) {
  return %x, %d : f64, f64
}

// -----

// The grad's signature must match f's by the contract.
func.func @bad(%x: tensor<?xf32>) -> tensor<?xf32> {
  return %x : tensor<?xf32>
}
// expected-error @+1 {{@bad_grad should take 1 arguments and 1 cotangents and return 1 results and 1 gradients}}
func.func @bad_grad(%x: tensor<?xf32>) -> tensor<?xf32> {
  return %x : tensor<?xf32>
}
