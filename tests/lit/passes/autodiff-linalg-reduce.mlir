// Adjoints of linear algebra, reductions, softmax and losses.
// RUN: %knet-opt %s -knet-autodiff -canonicalize -cse | FileCheck %s

// A batched matmul against a matrix: b's gradient is summed over the batch
// dims it was broadcast over.
// CHECK-LABEL: func.func @batched_grad(
// CHECK-SAME: %[[A:[a-z0-9]+]]: tensor<2x?x3x5xf32>, %[[B:[a-z0-9]+]]: tensor<5x7xf32>, %[[D:[a-z0-9]+]]: tensor<2x?x3x7xf32>)
// CHECK: %[[BT:.*]] = knet.transpose %[[B]], -2, -1 {knet.reverse} : tensor<5x7xf32> -> tensor<7x5xf32>
// CHECK: %[[DA:.*]] = knet.matmul %[[D]], %[[BT]] {knet.reverse} : tensor<2x?x3x7xf32>, tensor<7x5xf32> -> tensor<2x?x3x5xf32>
// CHECK: %[[AT:.*]] = knet.transpose %[[A]], -2, -1 {knet.reverse} : tensor<2x?x3x5xf32> -> tensor<2x?x5x3xf32>
// CHECK: %[[DBB:.*]] = knet.matmul %[[AT]], %[[D]] {knet.reverse} : tensor<2x?x5x3xf32>, tensor<2x?x3x7xf32> -> tensor<2x?x5x7xf32>
// CHECK: %[[DB:.*]] = knet.sum_to %[[DBB]] like %[[B]] {knet.reverse} : tensor<2x?x5x7xf32>, tensor<5x7xf32> -> tensor<5x7xf32>
// CHECK: return %{{.*}}, %[[DA]], %[[DB]]
func.func @batched(%a: tensor<2x?x3x5xf32>, %b: tensor<5x7xf32>) -> tensor<2x?x3x7xf32> {
  %0 = knet.matmul %a, %b : tensor<2x?x3x5xf32>, tensor<5x7xf32> -> tensor<2x?x3x7xf32>
  return %0 : tensor<2x?x3x7xf32>
}

// linear: dx = g . w, dw = g^T . x, db = sum_to(g).
// CHECK-LABEL: func.func @linear_grad(
// CHECK-SAME: %[[X:[a-z0-9]+]]: tensor<?x784xf32>, %[[W:[a-z0-9]+]]: tensor<64x784xf32>, %[[B:[a-z0-9]+]]: tensor<64xf32>, %[[G:[a-z0-9]+]]: tensor<?x64xf32>)
// CHECK: %[[DX:.*]] = knet.matmul %[[G]], %[[W]] {knet.reverse}
// CHECK: %[[GT:.*]] = knet.transpose %[[G]], -2, -1 {knet.reverse}
// CHECK: %[[DW:.*]] = knet.matmul %[[GT]], %[[X]] {knet.reverse}
// CHECK: %[[DB:.*]] = knet.sum_to %[[G]] like %[[B]] {knet.reverse}
// CHECK: return %{{.*}}, %[[DX]], %[[DW]], %[[DB]]
func.func @linear(%x: tensor<?x784xf32>, %w: tensor<64x784xf32>, %b: tensor<64xf32>) -> tensor<?x64xf32> {
  %0 = knet.linear %x, %w, %b : tensor<?x784xf32>, tensor<64x784xf32>, tensor<64xf32> -> tensor<?x64xf32>
  return %0 : tensor<?x64xf32>
}

// sum over a dim: dy gets the reduced dim back and is broadcast over x.
// CHECK-LABEL: func.func @sum_grad(
// CHECK-SAME: %[[X:[a-z0-9]+]]: tensor<?x10xf32>, %[[D:[a-z0-9]+]]: tensor<?xf32>)
// CHECK: %[[U:.*]] = knet.unsqueeze %[[D]] dim 1 {knet.reverse} : tensor<?xf32> -> tensor<?x1xf32>
// CHECK: %[[DX:.*]] = knet.broadcast_to %[[U]] like %[[X]] {knet.reverse} : tensor<?x1xf32>, tensor<?x10xf32> -> tensor<?x10xf32>
// CHECK: return %{{.*}}, %[[DX]]
func.func @sum(%x: tensor<?x10xf32>) -> tensor<?xf32> {
  %0 = knet.sum %x dims [-1] : tensor<?x10xf32> -> tensor<?xf32>
  return %0 : tensor<?xf32>
}

// mean = sum / n, n = numel(x) / numel(y): dy / n broadcast back.
// CHECK-LABEL: func.func @mean_grad(
// CHECK-SAME: %[[X:[a-z0-9]+]]: tensor<?x10xf32>, %[[D:[a-z0-9]+]]: tensor<10xf32>)
// CHECK: %[[NX:.*]] = knet.numel %[[X]] {knet.reverse}
// CHECK: %[[N:.*]] = arith.divsi %[[NX]], %{{.*}} {knet.reverse} : i64
// CHECK: %[[NT:.*]] = knet.scalar %[[N]] {knet.reverse} : i64 -> tensor<f32>
// CHECK: %[[Q:.*]] = knet.div %[[D]], %[[NT]] {knet.reverse}
// CHECK: %[[U:.*]] = knet.unsqueeze %[[Q]] dim 0 {knet.reverse} : tensor<10xf32> -> tensor<1x10xf32>
// CHECK: %[[DX:.*]] = knet.broadcast_to %[[U]] like %[[X]] {knet.reverse}
// CHECK: return %{{.*}}, %[[DX]]
func.func @mean(%x: tensor<?x10xf32>) -> tensor<10xf32> {
  %0 = knet.mean %x dims [0] : tensor<?x10xf32> -> tensor<10xf32>
  return %0 : tensor<10xf32>
}

// max: the gradient goes to the elements equal to the maximum, shared among
// ties (mask * dy / count). The mask is where(eq, 1, 0) over fills like x,
// so it has x's run-time dtype.
// CHECK-LABEL: func.func @max_grad(
// CHECK-SAME: %[[X:[a-z0-9]+]]: tensor<?x10xf32>, %[[D:[a-z0-9]+]]: tensor<?xf32>)
// CHECK: %[[Y:.*]] = knet.max %[[X]] dims [1]
// CHECK: %[[YK:.*]] = knet.unsqueeze %[[Y]] dim 1 {knet.reverse}
// CHECK: %[[EQ:.*]] = knet.eq %[[X]], %[[YK]] {knet.reverse} : tensor<?x10xf32>, tensor<?x1xf32> -> tensor<?x10xi1>
// CHECK-DAG: %[[ZERO:.*]] = knet.zeros_like %[[X]] {knet.reverse}
// CHECK-DAG: %[[ONE:.*]] = knet.ones_like %[[X]] {knet.reverse}
// CHECK: %[[MASK:.*]] = knet.where %[[EQ]], %[[ONE]], %[[ZERO]] {knet.reverse} : tensor<?x10xi1>, tensor<?x10xf32>, tensor<?x10xf32> -> tensor<?x10xf32>
// CHECK: %[[COUNT:.*]] = knet.sum %[[MASK]] dims [1] keepdim {knet.reverse} : tensor<?x10xf32> -> tensor<?x1xf32>
// CHECK: %[[DK:.*]] = knet.unsqueeze %[[D]] dim 1 {knet.reverse}
// CHECK: %[[DB:.*]] = knet.broadcast_to %[[DK]] like %[[X]] {knet.reverse}
// CHECK: %[[M:.*]] = knet.mul %[[MASK]], %[[DB]] {knet.reverse}
// CHECK: %[[DX:.*]] = knet.div %[[M]], %[[COUNT]] {knet.reverse}
// CHECK: return %[[Y]], %[[DX]]
func.func @max(%x: tensor<?x10xf32>) -> tensor<?xf32> {
  %0 = knet.max %x dims [1] : tensor<?x10xf32> -> tensor<?xf32>
  return %0 : tensor<?xf32>
}

// logsumexp: dy * exp(x - y), both with the reduced dim kept.
// CHECK-LABEL: func.func @logsumexp_grad(
// CHECK-SAME: %[[X:[a-z0-9]+]]: tensor<?x10xf32>, %[[D:[a-z0-9]+]]: tensor<?xf32>)
// CHECK: %[[Y:.*]] = knet.logsumexp %[[X]] dim 1
// CHECK: %[[YK:.*]] = knet.unsqueeze %[[Y]] dim 1 {knet.reverse}
// CHECK: %[[S:.*]] = knet.sub %[[X]], %[[YK]] {knet.reverse}
// CHECK: %[[E:.*]] = knet.exp %[[S]] {knet.reverse}
// CHECK: %[[DK:.*]] = knet.unsqueeze %[[D]] dim 1 {knet.reverse}
// CHECK: %[[DX:.*]] = knet.mul %[[DK]], %[[E]] {knet.reverse}
// CHECK: return %[[Y]], %[[DX]]
func.func @logsumexp(%x: tensor<?x10xf32>) -> tensor<?xf32> {
  %0 = knet.logsumexp %x dim 1 : tensor<?x10xf32> -> tensor<?xf32>
  return %0 : tensor<?xf32>
}

// softmax and logsoftmax: their backward kernels from the forward result.
// CHECK-LABEL: func.func @softmax_grad(
// CHECK-SAME: %[[X:[a-z0-9]+]]: tensor<?x10xf32>, %[[D:[a-z0-9]+]]: tensor<?x10xf32>)
// CHECK: %[[S:.*]] = knet.softmax %[[X]] dim 1
// CHECK: %[[L:.*]] = knet.logsoftmax %[[S]] dim -1
// CHECK: %[[DS:.*]] = knet.logsoftmax_back %[[D]], %[[L]] dim -1 {knet.reverse}
// CHECK: %[[DX:.*]] = knet.softmax_back %[[DS]], %[[S]] dim 1 {knet.reverse}
// CHECK: return %[[L]], %[[DX]]
func.func @softmax(%x: tensor<?x10xf32>) -> tensor<?x10xf32> {
  %0 = knet.softmax %x dim 1 : tensor<?x10xf32>
  %1 = knet.logsoftmax %0 dim -1 : tensor<?x10xf32>
  return %1 : tensor<?x10xf32>
}

// Losses: nll_back with the op's options; bce's scores through bce_back and
// its (float) labels by the runtime's formula -(scores * dy / n); accuracy
// has no gradient.
// CHECK-LABEL: func.func @losses_grad(
// CHECK-SAME: %[[S:[a-z0-9]+]]: tensor<?x10xf32>, %[[L:[a-z0-9]+]]: tensor<?xi64>, %[[P:[a-z0-9]+]]: tensor<?x1xf32>, %[[Q:[a-z0-9]+]]: tensor<?x1xf32>, %[[D0:[a-z0-9]+]]: tensor<f32>, %[[D1:[a-z0-9]+]]: tensor<f32>, %[[D2:[a-z0-9]+]]: f64)
// CHECK-SAME: knet.grad_args = array<i64: 0, 2, 3>
// CHECK: %[[DP:.*]] = knet.bce_back %[[D1]], %[[P]], %[[Q]] {knet.reverse}
// CHECK: %[[N:.*]] = knet.numel %[[P]] {knet.reverse}
// CHECK: %[[NF:.*]] = arith.sitofp %[[N]] {knet.reverse} : i64 to f64
// CHECK: %[[INV:.*]] = arith.divf %{{.*}}, %[[NF]] {knet.reverse} : f64
// CHECK: %[[INVT:.*]] = knet.scalar %[[INV]] {knet.reverse} : f64 -> tensor<f32>
// CHECK: %[[K:.*]] = knet.mul %[[D1]], %[[INVT]] {knet.reverse}
// CHECK: %[[SK:.*]] = knet.mul %[[P]], %[[K]] {knet.reverse}
// CHECK: %[[DQ:.*]] = knet.neg %[[SK]] {knet.reverse}
// CHECK: %[[DS:.*]] = knet.nll_back %[[D0]], %[[S]], %[[L]] {average = false, knet.reverse}
// CHECK: return %{{.*}}, %{{.*}}, %{{.*}}, %[[DS]], %[[DP]], %[[DQ]]
func.func @losses(%s: tensor<?x10xf32>, %l: tensor<?xi64>, %p: tensor<?x1xf32>, %q: tensor<?x1xf32>) -> (tensor<f32>, tensor<f32>, f64) {
  %0 = knet.nll %s, %l {average = false} : tensor<?x10xf32>, tensor<?xi64> -> tensor<f32>
  %1 = knet.bce %p, %q : tensor<?x1xf32>, tensor<?x1xf32> -> tensor<f32>
  %2 = knet.accuracy %s, %l : tensor<?x10xf32>, tensor<?xi64>
  return %0, %1, %2 : tensor<f32>, tensor<f32>, f64
}
