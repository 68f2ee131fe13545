// Round trip of lists and of the value stack of loop adjoints.
// RUN: %knet-opt %s | %knet-opt | FileCheck %s
// RUN: %knet-opt %s -mlir-print-op-generic | %knet-opt | FileCheck %s

// A std::vector<Param> argument indexed in a loop.
// CHECK-LABEL: func.func @layers
// CHECK-SAME: (%{{.*}}: !knet.list<tensor<?x?xf32>>, %{{.*}}: tensor<?x?xf32>)
func.func @layers(%ws: !knet.list<tensor<?x?xf32>>, %x: tensor<?x?xf32>) -> tensor<?x?xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  // CHECK: knet.list_size %{{.*}} : !knet.list<tensor<?x?xf32>>
  %n = knet.list_size %ws : !knet.list<tensor<?x?xf32>>
  // CHECK: knet.stack_new : !knet.stack<tensor<?x?xf32>>
  %s = knet.stack_new : !knet.stack<tensor<?x?xf32>>
  %y = scf.for %i = %c0 to %n step %c1 iter_args(%h = %x) -> (tensor<?x?xf32>) {
    // CHECK: knet.list_get %{{.*}}[%{{.*}}] : !knet.list<tensor<?x?xf32>>
    %w = knet.list_get %ws[%i] : !knet.list<tensor<?x?xf32>>
    // CHECK: knet.stack_push %{{.*}}, %{{.*}} : !knet.stack<tensor<?x?xf32>>
    knet.stack_push %s, %h : !knet.stack<tensor<?x?xf32>>
    %z = knet.matmul %h, %w : tensor<?x?xf32>, tensor<?x?xf32> -> tensor<?x?xf32>
    %r = knet.relu %z : tensor<?x?xf32>
    scf.yield %r : tensor<?x?xf32>
  }
  // CHECK: knet.stack_pop %{{.*}} : !knet.stack<tensor<?x?xf32>>
  %last = knet.stack_pop %s : !knet.stack<tensor<?x?xf32>>
  return %y : tensor<?x?xf32>
}

// A stack of branch conditions and a list built from values.
// CHECK-LABEL: func.func @make
func.func @make(%a: tensor<3xf32>, %c: i1) -> tensor<3xf32> {
  // CHECK-NEXT: knet.list_make %{{.*}}, %{{.*}} : tensor<3xf32>, tensor<3xf32> -> !knet.list<tensor<3xf32>>
  %l = knet.list_make %a, %a : tensor<3xf32>, tensor<3xf32> -> !knet.list<tensor<3xf32>>
  // CHECK-NEXT: knet.list_make -> !knet.list<tensor<3xf32>>
  %e = knet.list_make -> !knet.list<tensor<3xf32>>
  // CHECK-NEXT: knet.stack_new : !knet.stack<i1>
  %s = knet.stack_new : !knet.stack<i1>
  // CHECK-NEXT: knet.stack_push %{{.*}}, %{{.*}} : !knet.stack<i1>
  knet.stack_push %s, %c : !knet.stack<i1>
  %i = arith.constant 1 : index
  %x = knet.list_get %l[%i] : !knet.list<tensor<3xf32>>
  return %x : tensor<3xf32>
}

// Gradient lists: a functional update and a list of zeros.
// CHECK-LABEL: func.func @gradient_list
func.func @gradient_list(%ws: !knet.list<tensor<?x?xf32>>, %g: tensor<?x?xf32>, %i: index) -> !knet.list<tensor<?x?xf32>> {
  // CHECK-NEXT: %[[Z:.*]] = knet.list_zeros_like %{{.*}} : !knet.list<tensor<?x?xf32>>
  %z = knet.list_zeros_like %ws : !knet.list<tensor<?x?xf32>>
  // CHECK-NEXT: knet.list_set %[[Z]][%{{.*}}], %{{.*}} : !knet.list<tensor<?x?xf32>>, tensor<?x?xf32>
  %l = knet.list_set %z[%i], %g : !knet.list<tensor<?x?xf32>>, tensor<?x?xf32>
  return %l : !knet.list<tensor<?x?xf32>>
}
