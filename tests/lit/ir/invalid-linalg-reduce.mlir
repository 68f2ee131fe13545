// Verifier rules of linear algebra, reductions, softmax and adjoint helpers.
// RUN: %knet-opt %s -split-input-file -verify-diagnostics

func.func @matmul_rank(%a: tensor<4xf32>, %b: tensor<4x2xf32>) {
  // expected-error @below {{'knet.matmul' op operands must have rank 2 or more (reshape a 1-D operand), got 'tensor<4xf32>' and 'tensor<4x2xf32>'}}
  %0 = knet.matmul %a, %b : tensor<4xf32>, tensor<4x2xf32> -> tensor<2xf32>
  return
}

// -----

func.func @matmul_contract(%a: tensor<?x3xf32>, %b: tensor<4x2xf32>) {
  // expected-error @below {{'knet.matmul' op contracted dims differ: 3 in 'tensor<?x3xf32>' and 4 in 'tensor<4x2xf32>'}}
  %0 = knet.matmul %a, %b : tensor<?x3xf32>, tensor<4x2xf32> -> tensor<?x2xf32>
  return
}

// -----

func.func @matmul_batch(%a: tensor<2x3x4xf32>, %b: tensor<5x4x2xf32>) {
  // expected-error @below {{'knet.matmul' op batch dims are not broadcast-compatible: 2 and 5 in dim 0}}
  %0 = knet.matmul %a, %b : tensor<2x3x4xf32>, tensor<5x4x2xf32> -> tensor<2x3x2xf32>
  return
}

// -----

func.func @matmul_result(%a: tensor<?x3xf32>, %b: tensor<3x2xf32>) {
  // expected-error @below {{'knet.matmul' op result has size 3 in dim 1 but 2 is expected (shape [?, 2])}}
  %0 = knet.matmul %a, %b : tensor<?x3xf32>, tensor<3x2xf32> -> tensor<?x3xf32>
  return
}

// -----

func.func @linear_features(%x: tensor<?x3xf32>, %w: tensor<8x4xf32>) {
  // expected-error @below {{'knet.linear' op x has 3 input features but w has 4}}
  %0 = knet.linear %x, %w : tensor<?x3xf32>, tensor<8x4xf32> -> tensor<?x8xf32>
  return
}

// -----

func.func @linear_bias(%x: tensor<?x4xf32>, %w: tensor<8x4xf32>, %b: tensor<7xf32>) {
  // expected-error @below {{'knet.linear' op b has 7 elements but w has 8 output features}}
  %0 = knet.linear %x, %w, %b : tensor<?x4xf32>, tensor<8x4xf32>, tensor<7xf32> -> tensor<?x8xf32>
  return
}

// -----

func.func @linear_rank(%x: tensor<4xf32>, %w: tensor<8x4xf32>) {
  // expected-error @below {{'knet.linear' op x must have rank 2, got 'tensor<4xf32>'}}
  %0 = knet.linear %x, %w : tensor<4xf32>, tensor<8x4xf32> -> tensor<?x8xf32>
  return
}

// -----

func.func @linear_elements(%x: tensor<?x4xf32>, %w: tensor<8x4xf64>) {
  // expected-error @below {{'knet.linear' op x, w, b and the result must have the same element type}}
  %0 = knet.linear %x, %w : tensor<?x4xf32>, tensor<8x4xf64> -> tensor<?x8xf32>
  return
}

// -----

func.func @reduce_dim_range(%x: tensor<?x4xf32>) {
  // expected-error @below {{'knet.sum' op dim 2 is out of range for an operand of rank 2}}
  %0 = knet.sum %x dims [2] : tensor<?x4xf32> -> tensor<?xf32>
  return
}

// -----

func.func @reduce_dim_twice(%x: tensor<?x4xf32>) {
  // expected-error @below {{'knet.mean' op dim -1 is reduced twice}}
  %0 = knet.mean %x dims [1, -1] : tensor<?x4xf32> -> tensor<?xf32>
  return
}

// -----

func.func @reduce_rank(%x: tensor<?x4xf32>) {
  // expected-error @below {{'knet.max' op result has rank 2 but rank 1 is expected (shape [?])}}
  %0 = knet.max %x dims [1] : tensor<?x4xf32> -> tensor<?x1xf32>
  return
}

// -----

func.func @reduce_keepdim(%x: tensor<3x4xf32>) {
  // expected-error @below {{'knet.min' op result has size 4 in dim 1 but 1 is expected (shape [3, 1])}}
  %0 = knet.min %x dims [1] keepdim : tensor<3x4xf32> -> tensor<3x4xf32>
  return
}

// -----

func.func @reduce_all(%x: tensor<3x4xf32>) {
  // expected-error @below {{'knet.sum' op result has rank 1 but rank 0 is expected (shape [])}}
  %0 = knet.sum %x : tensor<3x4xf32> -> tensor<1xf32>
  return
}

// -----

func.func @argmax_type(%x: tensor<3x4xf32>) {
  // expected-error @below {{'knet.argmax' op result #0 must be tensor of 64-bit signless integer values, but got 'tensor<3xf32>'}}
  %0 = knet.argmax %x dim 1 : tensor<3x4xf32> -> tensor<3xf32>
  return
}

// -----

func.func @logsumexp_dim(%x: tensor<3x4xf32>) {
  // expected-error @below {{'knet.logsumexp' op dim -3 is out of range for an operand of rank 2}}
  %0 = knet.logsumexp %x dim -3 : tensor<3x4xf32> -> tensor<3xf32>
  return
}

// -----

func.func @softmax_dim(%x: tensor<3x4xf32>) {
  // expected-error @below {{'knet.softmax' op dim 2 is out of range for an operand of rank 2}}
  %0 = knet.softmax %x dim 2 : tensor<3x4xf32>
  return
}

// -----

func.func @softmax_back_dim(%x: tensor<3x4xf32>) {
  // expected-error @below {{'knet.logsoftmax_back' op dim 5 is out of range for an operand of rank 2}}
  %0 = knet.logsoftmax_back %x, %x dim 5 : tensor<3x4xf32>
  return
}

// -----

func.func @sum_to_rank(%x: tensor<4xf32>, %l: tensor<3x4xf32>) {
  // expected-error @below {{'knet.sum_to' op cannot sum 'tensor<4xf32>' to the larger rank of 'tensor<3x4xf32>'}}
  %0 = knet.sum_to %x like %l : tensor<4xf32>, tensor<3x4xf32> -> tensor<3x4xf32>
  return
}

// -----

func.func @sum_to_shape(%x: tensor<3x4xf32>, %l: tensor<5xf32>) {
  // expected-error @below {{'knet.sum_to' op 'tensor<5xf32>' does not broadcast to 'tensor<3x4xf32>' (dim 0)}}
  %0 = knet.sum_to %x like %l : tensor<3x4xf32>, tensor<5xf32> -> tensor<5xf32>
  return
}

// -----

func.func @sum_to_result(%x: tensor<3x4xf32>, %l: tensor<4xf32>) {
  // expected-error @below {{'knet.sum_to' op result type 'tensor<3x4xf32>' does not have the shape of `like` ('tensor<4xf32>')}}
  %0 = knet.sum_to %x like %l : tensor<3x4xf32>, tensor<4xf32> -> tensor<3x4xf32>
  return
}

// -----

func.func @broadcast_to_rank(%x: tensor<3x4xf32>, %l: tensor<4xf32>) {
  // expected-error @below {{'knet.broadcast_to' op cannot broadcast 'tensor<3x4xf32>' to the smaller rank of 'tensor<4xf32>'}}
  %0 = knet.broadcast_to %x like %l : tensor<3x4xf32>, tensor<4xf32> -> tensor<4xf32>
  return
}

// -----

func.func @reshape_like_numel(%x: tensor<3x4xf32>, %l: tensor<5xf32>) {
  // expected-error @below {{'knet.reshape_like' op cannot reshape 12 elements to 5}}
  %0 = knet.reshape_like %x like %l : tensor<3x4xf32>, tensor<5xf32> -> tensor<5xf32>
  return
}
