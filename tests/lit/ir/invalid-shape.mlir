// Verifier rules of gather, join, split, view, list and stack ops.
// RUN: %knet-opt %s -split-input-file -verify-diagnostics

func.func @embedding_table(%t: tensor<100xf32>, %ids: tensor<?xi64>) {
  // expected-error @below {{'knet.embedding' op table must have rank 2, got 'tensor<100xf32>'}}
  %0 = knet.embedding %t, %ids : tensor<100xf32>, tensor<?xi64> -> tensor<?x16xf32>
  return
}

// -----

func.func @embedding_result(%t: tensor<100x16xf32>, %ids: tensor<?x5xi64>) {
  // expected-error @below {{'knet.embedding' op result has rank 2 but rank 3 is expected (shape [?, 5, 16])}}
  %0 = knet.embedding %t, %ids : tensor<100x16xf32>, tensor<?x5xi64> -> tensor<?x16xf32>
  return
}

// -----

func.func @embedding_back_like(%dy: tensor<?x16xf32>, %ids: tensor<?xi64>, %t: tensor<100x16xf32>) {
  // expected-error @below {{'knet.embedding_back' op result type 'tensor<100x8xf32>' does not have the shape of `like` (the table) ('tensor<100x16xf32>')}}
  %0 = knet.embedding_back %dy, %ids like %t : tensor<?x16xf32>, tensor<?xi64>, tensor<100x16xf32> -> tensor<100x8xf32>
  return
}

// -----

func.func @concat_empty() {
  // expected-error @below {{'knet.concat' op needs at least one operand}}
  %0 = "knet.concat"() <{dim = 0 : i64}> : () -> tensor<?xf32>
  return
}

// -----

func.func @concat_elements(%a: tensor<2xf32>, %b: tensor<2xf64>) {
  // expected-error @below {{'knet.concat' op operand #1 has element type 'f64' but operand #0 has 'f32'}}
  %0 = knet.concat %a, %b dim 0 : tensor<2xf32>, tensor<2xf64> -> tensor<4xf32>
  return
}

// -----

func.func @concat_rank(%a: tensor<2xf32>, %b: tensor<2x2xf32>) {
  // expected-error @below {{'knet.concat' op operand #1 has rank 2 but the operands before it have rank 1}}
  %0 = knet.concat %a, %b dim 0 : tensor<2xf32>, tensor<2x2xf32> -> tensor<4xf32>
  return
}

// -----

func.func @concat_sizes(%a: tensor<2x3xf32>, %b: tensor<2x4xf32>) {
  // expected-error @below {{'knet.concat' op operand #1 has size 4 in dim 1 but the operands before it have 3}}
  %0 = knet.concat %a, %b dim 0 : tensor<2x3xf32>, tensor<2x4xf32> -> tensor<4x3xf32>
  return
}

// -----

func.func @concat_result(%a: tensor<2x3xf32>) {
  // expected-error @below {{'knet.concat' op result has size 5 in dim 0 but 4 is expected (shape [4, 3])}}
  %0 = knet.concat %a, %a dim 0 : tensor<2x3xf32>, tensor<2x3xf32> -> tensor<5x3xf32>
  return
}

// -----

func.func @concat_dim(%a: tensor<2x3xf32>) {
  // expected-error @below {{'knet.concat' op dim 2 is out of range for an operand of rank 2}}
  %0 = knet.concat %a, %a dim 2 : tensor<2x3xf32>, tensor<2x3xf32> -> tensor<2x6xf32>
  return
}

// -----

func.func @stack_result(%a: tensor<2x3xf32>) {
  // expected-error @below {{'knet.stack' op result has rank 2 but rank 3 is expected (shape [2, 2, 3])}}
  %0 = knet.stack %a, %a dim 0 : tensor<2x3xf32>, tensor<2x3xf32> -> tensor<4x3xf32>
  return
}

// -----

func.func @chunk_n(%x: tensor<6xf32>) {
  // expected-error @below {{'knet.chunk' op attribute 'n' failed to satisfy constraint: 64-bit signless integer attribute whose value is positive}}
  %0 = knet.chunk %x, 0 dim 0 : tensor<6xf32> -> !knet.list<tensor<?xf32>>
  return
}

// -----

func.func @chunk_list(%x: tensor<6xf32>) {
  // expected-error @below {{'knet.chunk' op the list's tensors must have the element type 'f32'}}
  %0 = knet.chunk %x, 2 dim 0 : tensor<6xf32> -> !knet.list<tensor<?xf64>>
  return
}

// -----

func.func @chunk_not_tensors(%x: tensor<6xf32>) {
  // expected-error @below {{'knet.chunk' op result #0 must be list of tensors, but got '!knet.list<i64>'}}
  %0 = knet.chunk %x, 2 dim 0 : tensor<6xf32> -> !knet.list<i64>
  return
}

// -----

func.func @mat_result(%x: tensor<?x1x28x28xf32>) {
  // expected-error @below {{'knet.mat' op result has size 28 in dim 1 but 784 is expected (shape [?, 784])}}
  %0 = knet.mat %x : tensor<?x1x28x28xf32> -> tensor<?x28xf32>
  return
}

// -----

func.func @mat_scalar(%x: tensor<f32>) {
  // expected-error @below {{'knet.mat' op cannot flatten a 0-d tensor to [N, rest]}}
  %0 = knet.mat %x : tensor<f32> -> tensor<1x1xf32>
  return
}

// -----

func.func @reshape_operands(%x: tensor<12xf32>, %n: i64) {
  // expected-error @below {{'knet.reshape' op has 1 shape operands but the result has rank 2}}
  %0 = knet.reshape %x(%n) : tensor<12xf32> -> tensor<3x4xf32>
  return
}

// -----

func.func @reshape_numel(%x: tensor<12xf32>, %n: i64) {
  // expected-error @below {{'knet.reshape' op cannot reshape 12 elements to 10}}
  %0 = knet.reshape %x(%n, %n) : tensor<12xf32> -> tensor<2x5xf32>
  return
}

// -----

func.func @transpose_dim(%x: tensor<3x4xf32>) {
  // expected-error @below {{'knet.transpose' op dim1 2 is out of range for an operand of rank 2}}
  %0 = knet.transpose %x, 0, 2 : tensor<3x4xf32> -> tensor<4x3xf32>
  return
}

// -----

func.func @transpose_result(%x: tensor<3x4xf32>) {
  // expected-error @below {{'knet.transpose' op result has size 3 in dim 0 but 4 is expected (shape [4, 3])}}
  %0 = knet.transpose %x, 0, 1 : tensor<3x4xf32> -> tensor<3x4xf32>
  return
}

// -----

func.func @permute_perm(%x: tensor<2x3x4xf32>) {
  // expected-error @below {{'knet.permute' op perm [0, 0, 1] is not a permutation of the 3 dims of 'tensor<2x3x4xf32>'}}
  %0 = knet.permute %x [0, 0, 1] : tensor<2x3x4xf32> -> tensor<2x2x3xf32>
  return
}

// -----

func.func @slice_rank(%x: tensor<3x4xf32>, %i: i64) {
  // expected-error @below {{'knet.slice' op result must have rank 2, got 'tensor<?xf32>'}}
  %0 = knet.slice %x dim 1 from %i to %i : tensor<3x4xf32> -> tensor<?xf32>
  return
}

// -----

func.func @slice_step(%x: tensor<3x4xf32>, %i: i64) {
  // expected-error @below {{'knet.slice' op attribute 'step' failed to satisfy constraint: 64-bit signless integer attribute whose value is positive}}
  %0 = knet.slice %x dim 1 from %i to %i step 0 : tensor<3x4xf32> -> tensor<3x?xf32>
  return
}

// -----

func.func @slice_back_dy(%dy: tensor<3xf32>, %x: tensor<3x4xf32>, %i: i64) {
  // expected-error @below {{'knet.slice_back' op dy must have rank 2, got 'tensor<3xf32>'}}
  %0 = knet.slice_back %dy like %x dim 1 from %i to %i : tensor<3xf32>, tensor<3x4xf32> -> tensor<3x4xf32>
  return
}

// -----

func.func @select_result(%x: tensor<3x4xf32>, %i: i64) {
  // expected-error @below {{'knet.select' op result has size 3 in dim 0 but 4 is expected (shape [4])}}
  %0 = knet.select %x dim 0 index %i : tensor<3x4xf32> -> tensor<3xf32>
  return
}

// -----

func.func @select_back_dy(%dy: tensor<3x4xf32>, %x: tensor<3x4xf32>, %i: i64) {
  // expected-error @below {{'knet.select_back' op dy must have rank 1, got 'tensor<3x4xf32>'}}
  %0 = knet.select_back %dy like %x dim 0 index %i : tensor<3x4xf32>, tensor<3x4xf32> -> tensor<3x4xf32>
  return
}

// -----

func.func @squeeze_size(%x: tensor<3x4xf32>) {
  // expected-error @below {{'knet.squeeze' op dim 1 has size 4; squeeze needs size 1}}
  %0 = knet.squeeze %x dim 1 : tensor<3x4xf32> -> tensor<3xf32>
  return
}

// -----

func.func @unsqueeze_dim(%x: tensor<3x4xf32>) {
  // expected-error @below {{'knet.unsqueeze' op dim 3 is out of range for an operand of rank 3}}
  %0 = knet.unsqueeze %x dim 3 : tensor<3x4xf32> -> tensor<3x4x1xf32>
  return
}

// -----

func.func @list_make_type(%a: tensor<3xf32>, %b: tensor<4xf32>) {
  // expected-error @below {{'knet.list_make' op element #1 has type 'tensor<4xf32>' but the list holds 'tensor<3xf32>'}}
  %0 = knet.list_make %a, %b : tensor<3xf32>, tensor<4xf32> -> !knet.list<tensor<3xf32>>
  return
}

// -----

func.func @list_set_type(%l: !knet.list<tensor<3xf32>>, %b: tensor<4xf32>, %i: index) {
  // expected-error @below {{'knet.list_set' op value has type 'tensor<4xf32>' but the list holds 'tensor<3xf32>'}}
  %0 = knet.list_set %l[%i], %b : !knet.list<tensor<3xf32>>, tensor<4xf32>
  return
}

// -----

func.func @list_zeros_like_type(%l: !knet.list<i64>) {
  // expected-error @below {{'knet.list_zeros_like' op operand #0 must be list of tensors}}
  %0 = knet.list_zeros_like %l : !knet.list<i64>
  return
}

// -----

func.func @list_get_type(%l: !knet.list<tensor<3xf32>>, %i: index) {
  // expected-error @below {{'knet.list_get' op failed to verify that result is the list's element type}}
  %0 = "knet.list_get"(%l, %i) : (!knet.list<tensor<3xf32>>, index) -> tensor<4xf32>
  return
}

// -----

func.func @list_get_not_list(%l: tensor<3xf32>, %i: index) {
  // expected-error @below {{'knet.list_get' op operand #0 must be list, but got 'tensor<3xf32>'}}
  %0 = "knet.list_get"(%l, %i) : (tensor<3xf32>, index) -> tensor<3xf32>
  return
}

// -----

func.func @stack_push_type(%s: !knet.stack<tensor<3xf32>>, %v: tensor<4xf32>) {
  // expected-error @below {{'knet.stack_push' op failed to verify that value is the stack's element type}}
  "knet.stack_push"(%s, %v) : (!knet.stack<tensor<3xf32>>, tensor<4xf32>) -> ()
  return
}

// -----

func.func @stack_pop_type(%s: !knet.stack<i1>) {
  // expected-error @below {{'knet.stack_pop' op failed to verify that result is the stack's element type}}
  %0 = "knet.stack_pop"(%s) : (!knet.stack<i1>) -> i64
  return
}
