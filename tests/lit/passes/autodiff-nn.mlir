// Adjoints of convolution, pooling, normalization, dropout, gather and the
// view ops.
// RUN: %knet-opt %s -knet-autodiff -canonicalize -cse | FileCheck %s

// conv2d -> conv2d_back_data / conv2d_back_filter with the same options;
// pool -> pool_back from y and x; batchnorm -> batchnorm_back (no gradient
// for the moments); dropout -> dropout_back from its output.
// CHECK-LABEL: func.func @lenet_grad(
// CHECK-SAME: %[[X:[a-z0-9]+]]: tensor<?x1x28x28xf32>, %[[W:[a-z0-9]+]]: tensor<8x1x5x5xf32>, %[[M:[a-z0-9]+]]: !knet.moments, %[[P:[a-z0-9]+]]: tensor<16xf32>, %[[D:[a-z0-9]+]]: tensor<?x8x13x13xf32>)
// CHECK-SAME: knet.grad_args = array<i64: 0, 1, 3>
// CHECK: %[[C:.*]] = knet.conv2d %[[X]], %[[W]] padding 1
// CHECK: %[[N:.*]] = knet.batchnorm %[[C]], %[[M]], %[[P]]
// CHECK: %[[R:.*]] = knet.dropout %[[N]] p 5.000000e-01
// CHECK: %[[Y:.*]] = knet.pool %[[R]] stride 2
// CHECK: %[[DR:.*]] = knet.pool_back %[[D]], %[[Y]], %[[R]] stride 2 {knet.reverse}
// CHECK: %[[DN:.*]] = knet.dropout_back %[[DR]], %[[R]] p 5.000000e-01 {knet.reverse}
// CHECK: %[[DC:.*]], %[[DP:.*]] = knet.batchnorm_back %[[DN]], %[[C]], %[[M]], %[[P]] {eps = 1.000000e-03 : f64, knet.reverse}
// CHECK: %[[DX:.*]] = knet.conv2d_back_data %[[DC]], %[[W]] like %[[X]] padding 1 {knet.reverse}
// CHECK: %[[DW:.*]] = knet.conv2d_back_filter %[[DC]], %[[X]] like %[[W]] padding 1 {knet.reverse}
// CHECK: return %[[Y]], %[[DX]], %[[DW]], %[[DP]]
func.func @lenet(%x: tensor<?x1x28x28xf32>, %w: tensor<8x1x5x5xf32>, %m: !knet.moments, %p: tensor<16xf32>) -> tensor<?x8x13x13xf32> {
  %0 = knet.conv2d %x, %w padding 1 : tensor<?x1x28x28xf32>, tensor<8x1x5x5xf32> -> tensor<?x8x26x26xf32>
  %1 = knet.batchnorm %0, %m, %p {eps = 1.0e-3 : f64} : tensor<?x8x26x26xf32>, tensor<16xf32> -> tensor<?x8x26x26xf32>
  %2 = knet.dropout %1 p 0.5 : tensor<?x8x26x26xf32>
  %3 = knet.pool %2 window 2 stride 2 : tensor<?x8x26x26xf32> -> tensor<?x8x13x13xf32>
  return %3 : tensor<?x8x13x13xf32>
}

// deconv2d is conv2d_back_data: its adjoint is conv2d of dy and the filter
// gradient with x in the place of dy; unpool's is avg pooling times the
// window's area.
// CHECK-LABEL: func.func @deconv_grad(
// CHECK-SAME: %[[X:[a-z0-9]+]]: tensor<?x8x13x13xf32>, %[[W:[a-z0-9]+]]: tensor<8x1x5x5xf32>, %[[D:[a-z0-9]+]]: tensor<?x1x30x30xf32>)
// CHECK: %[[AREA:.*]] = knet.constant {knet.reverse} dense<4.000000e+00> : tensor<f32>
// CHECK: %[[U:.*]] = knet.unpool %[[X]]
// CHECK: %[[DU:.*]] = knet.conv2d %[[D]], %[[W]] {knet.reverse} : tensor<?x1x30x30xf32>, tensor<8x1x5x5xf32> -> tensor<?x8x26x26xf32>
// CHECK: %[[DW:.*]] = knet.conv2d_back_filter %[[U]], %[[D]] like %[[W]] {knet.reverse}
// CHECK: %[[AVG:.*]] = knet.pool %[[DU]] mode avg {knet.reverse}
// CHECK: %[[DX:.*]] = knet.mul %[[AVG]], %[[AREA]] {knet.reverse}
// CHECK: return %{{.*}}, %[[DX]], %[[DW]]
func.func @deconv(%x: tensor<?x8x13x13xf32>, %w: tensor<8x1x5x5xf32>) -> tensor<?x1x30x30xf32> {
  %0 = knet.unpool %x : tensor<?x8x13x13xf32> -> tensor<?x8x26x26xf32>
  %1 = knet.deconv2d %0, %w : tensor<?x8x26x26xf32>, tensor<8x1x5x5xf32> -> tensor<?x1x30x30xf32>
  %2 = knet.reshape_like %1 like %1 : tensor<?x1x30x30xf32>, tensor<?x1x30x30xf32> -> tensor<?x1x30x30xf32>
  return %2 : tensor<?x1x30x30xf32>
}

// embedding -> embedding_back (ids get nothing); views -> their inverses:
// mat and reshape reshape back, transpose and permute transpose back, slice
// and select scatter into zeros (slice_back, select_back).
// CHECK-LABEL: func.func @views_grad(
// CHECK-SAME: %[[T:[a-z0-9]+]]: tensor<100x16xf32>, %[[IDS:[a-z0-9]+]]: tensor<?x5xi64>, %[[I:[a-z0-9]+]]: i64, %[[J:[a-z0-9]+]]: i64, %[[D:[a-z0-9]+]]: tensor<?xf32>)
// CHECK-SAME: knet.grad_args = array<i64: 0>
// CHECK: %[[E:.*]] = knet.embedding %[[T]], %[[IDS]]
// CHECK: %[[P:.*]] = knet.permute %[[E]] [2, 0, 1]
// CHECK: %[[M:.*]] = knet.mat %[[P]]
// CHECK: %[[TR:.*]] = knet.transpose %[[M]], 0, 1
// CHECK: %[[S:.*]] = knet.slice %[[TR]] dim 1 from %[[I]] to %[[J]]
// CHECK: %[[SEL:.*]] = knet.select %[[S]] dim 1 index %[[I]]
// CHECK: %[[D1:.*]] = knet.select_back %[[D]] like %[[S]] dim 1 index %[[I]] {knet.reverse}
// CHECK: %[[D2:.*]] = knet.slice_back %[[D1]] like %[[TR]] dim 1 from %[[I]] to %[[J]] {knet.reverse}
// CHECK: %[[D3:.*]] = knet.transpose %[[D2]], 0, 1 {knet.reverse}
// CHECK: %[[D4:.*]] = knet.reshape_like %[[D3]] like %[[P]] {knet.reverse}
// CHECK: %[[D5:.*]] = knet.permute %[[D4]] [1, 2, 0] {knet.reverse}
// CHECK: %[[D6:.*]] = knet.embedding_back %[[D5]], %[[IDS]] like %[[T]] {knet.reverse}
// CHECK: return %[[SEL]], %[[D6]]
func.func @views(%t: tensor<100x16xf32>, %ids: tensor<?x5xi64>, %i: i64, %j: i64) -> tensor<?xf32> {
  %0 = knet.embedding %t, %ids : tensor<100x16xf32>, tensor<?x5xi64> -> tensor<?x5x16xf32>
  %1 = knet.permute %0 [2, 0, 1] : tensor<?x5x16xf32> -> tensor<16x?x5xf32>
  %2 = knet.mat %1 : tensor<16x?x5xf32> -> tensor<16x?xf32>
  %3 = knet.transpose %2, 0, 1 : tensor<16x?xf32> -> tensor<?x16xf32>
  %4 = knet.slice %3 dim 1 from %i to %j : tensor<?x16xf32> -> tensor<?x?xf32>
  %5 = knet.select %4 dim 1 index %i : tensor<?x?xf32> -> tensor<?xf32>
  return %5 : tensor<?xf32>
}

// concat -> slices of dy at the running offsets; stack -> selects; chunk ->
// concat of the list of piece gradients.
// CHECK-LABEL: func.func @join_grad(
// CHECK-SAME: %[[A:[a-z0-9]+]]: tensor<3x4xf32>, %[[B:[a-z0-9]+]]: tensor<3x?xf32>, %[[D:[a-z0-9]+]]: tensor<2x3x8xf32>)
// CHECK-DAG: %[[C0:.*]] = arith.constant {knet.reverse} 0 : i64
// CHECK-DAG: %[[C1:.*]] = arith.constant {knet.reverse} 1 : i64
// CHECK-DAG: %[[C4:.*]] = arith.constant 4 : i64
// CHECK-DAG: %[[C8:.*]] = arith.constant 8 : i64
// CHECK: %[[CAT:.*]] = knet.concat %[[A]], %[[B]] dim 1
// CHECK: %[[L:.*]] = knet.chunk %[[CAT]], 2 dim 1
// CHECK: %[[S0:.*]] = knet.select %[[D]] dim 0 index %[[C0]] {knet.reverse}
// CHECK: %[[S1:.*]] = knet.select %[[D]] dim 0 index %[[C1]] {knet.reverse}
// CHECK: %[[H0:.*]] = knet.slice %[[S1]] dim 1 from %[[C0]] to %[[C4]] {knet.reverse}
// CHECK: %[[H1:.*]] = knet.slice %[[S1]] dim 1 from %[[C4]] to %[[C8]] {knet.reverse}
// CHECK: %[[H:.*]] = knet.add %[[H0]], %[[H1]] {knet.reverse}
// CHECK: %[[DPIECE:.*]] = knet.reshape_like %[[H]] like
// The gradient list (list_zeros_like, list_set) folds away: the untouched
// piece is zeros_like of the forward piece.
// CHECK: %[[PIECE0:.*]] = knet.list_get %[[L]][%{{.*}}] {knet.reverse}
// CHECK: %[[P0:.*]] = knet.zeros_like %[[PIECE0]] {knet.reverse}
// CHECK: %[[DC:.*]] = knet.concat %[[P0]], %[[DPIECE]] dim 1 {knet.reverse}
// CHECK: %[[DCAT:.*]] = knet.add %[[S0]], %[[DC]] {knet.reverse}
// CHECK: %[[DA:.*]] = knet.slice %[[DCAT]] dim 1 from %[[C0]] to %[[C4]] {knet.reverse}
// CHECK: %[[NB:.*]] = knet.size %[[B]], 1 {knet.reverse}
// CHECK: %[[END:.*]] = arith.addi %[[NB]], %[[C4]] {knet.reverse} : i64
// CHECK: %[[DB:.*]] = knet.slice %[[DCAT]] dim 1 from %[[C4]] to %[[END]] {knet.reverse}
// CHECK: return %{{.*}}, %[[DA]], %[[DB]]
func.func @join(%a: tensor<3x4xf32>, %b: tensor<3x?xf32>) -> tensor<2x3x8xf32> {
  %0 = knet.concat %a, %b dim 1 : tensor<3x4xf32>, tensor<3x?xf32> -> tensor<3x8xf32>
  %1 = knet.chunk %0, 2 dim 1 : tensor<3x8xf32> -> !knet.list<tensor<3x?xf32>>
  %c1 = arith.constant 1 : index
  %2 = knet.list_get %1[%c1] : !knet.list<tensor<3x?xf32>>
  %3 = knet.reshape_like %2 like %a : tensor<3x?xf32>, tensor<3x4xf32> -> tensor<3x4xf32>
  %4 = knet.concat %3, %3 dim 1 : tensor<3x4xf32>, tensor<3x4xf32> -> tensor<3x8xf32>
  %5 = knet.stack %0, %4 dim 0 : tensor<3x8xf32>, tensor<3x8xf32> -> tensor<2x3x8xf32>
  return %5 : tensor<2x3x8xf32>
}
