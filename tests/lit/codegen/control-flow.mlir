// scf.for, scf.while and scf.if become C++ for, while and if; iter_args and
// results are local variables; scalar arith is C++ arithmetic.
// RUN: %knet-translate --emit-cpp --knet-forward-only --knet-no-includes %s | FileCheck %s

// CHECK-LABEL: knet_repeat_forward(
// CHECK:        const knet::Tensor &x = in[0];
// CHECK-NEXT:   int64_t n = in[1].item<int64_t>();
// CHECK-NEXT:   // loop.cpp:4
// CHECK-NEXT:   knet::Tensor h = x;
// CHECK-NEXT:   for (int64_t i = 0; i < n; ++i) {
// CHECK-NEXT:     // loop.cpp:5
// CHECK-NEXT:     knet::Tensor h_1 = knet::tanh(h);
// CHECK-NEXT:     h = h_1;
// CHECK-NEXT:   }
// CHECK-NEXT:   return {h};
func.func @repeat(%x: tensor<?xf32> loc("x"("loop.cpp":3:20)),
                  %n: i64 loc("n"("loop.cpp":3:30))) -> tensor<?xf32> {
  %c0 = arith.constant 0 : i64
  %c1 = arith.constant 1 : i64
  %h = scf.for %i = %c0 to %n step %c1 iter_args(%hi = %x) -> (tensor<?xf32>) : i64 {
    %t = knet.tanh %hi : tensor<?xf32> loc("h"("loop.cpp":5:7))
    scf.yield %t : tensor<?xf32>
  } loc("h"("loop.cpp":4:3))
  return %h : tensor<?xf32>
}

// Swapping two loop variables goes through temporaries; a step other than 1
// is `i += step`.
// CHECK-LABEL: knet_swap_forward(
// CHECK:        // swap.cpp:2
// CHECK-NEXT:   knet::Tensor [[A:v[0-9]+]] = x;
// CHECK-NEXT:   knet::Tensor [[B:v[0-9]+]] = y;
// CHECK-NEXT:   for (int64_t i = 0; i < 10; i += 3) {
// CHECK-NEXT:     knet::Tensor next_[[A]] = [[B]];
// CHECK-NEXT:     knet::Tensor next_[[B]] = [[A]];
// CHECK-NEXT:     [[A]] = next_[[A]];
// CHECK-NEXT:     [[B]] = next_[[B]];
// CHECK-NEXT:   }
// CHECK-NEXT:   knet::Tensor {{v[0-9]+}} = [[A]] - [[B]];
func.func @swap(%x: tensor<3xf64> loc("x"("swap.cpp":1:1)), %y: tensor<3xf64> loc("y"("swap.cpp":1:1))) -> tensor<3xf64> {
  %c0 = arith.constant 0 : index
  %c3 = arith.constant 3 : index
  %c10 = arith.constant 10 : index
  %r:2 = scf.for %k = %c0 to %c10 step %c3 iter_args(%a = %x, %b = %y) -> (tensor<3xf64>, tensor<3xf64>) {
    scf.yield %b, %a : tensor<3xf64>, tensor<3xf64>
  } loc("swap.cpp":2:1)
  %d = knet.sub %r#0, %r#1 : tensor<3xf64>, tensor<3xf64> -> tensor<3xf64>
  return %d : tensor<3xf64>
}

// A while loop: the before region computes the condition, scf.condition
// passes values to the after region (and out of the loop).
// CHECK-LABEL: knet_halve_forward(
// CHECK:        double s = in[1].item<double>();
// CHECK-NEXT:   knet::Tensor v0 = x;
// CHECK-NEXT:   double v1 = s;
// CHECK-NEXT:   knet::Tensor y;
// CHECK-NEXT:   double v2 = 0;
// CHECK-NEXT:   while (true) {
// CHECK-NEXT:     bool v3 = v1 > 1.0;
// CHECK-NEXT:     y = v0;
// CHECK-NEXT:     v2 = v1;
// CHECK-NEXT:     if (!v3)
// CHECK-NEXT:       break;
// CHECK-NEXT:     knet::Tensor v4 = knet::Tensor::scalar(0.5);
// CHECK-NEXT:     knet::Tensor v5 = y * v4;
// CHECK-NEXT:     double v6 = v2 * 0.5;
// CHECK-NEXT:     v0 = v5;
// CHECK-NEXT:     v1 = v6;
// CHECK-NEXT:   }
// CHECK-NEXT:   std::vector<knet::Tensor> out;
// CHECK-NEXT:   out.push_back(y);
// CHECK-NEXT:   out.push_back(knet::Tensor::scalar(v2, knet::DType::f64));
// CHECK-NEXT:   return out;
func.func @halve(%x: tensor<?xf32> loc("x"("w.cpp":1:1)), %s: f64 loc("s"("w.cpp":1:1))) -> (tensor<?xf32>, f64) {
  %one = arith.constant 1.0 : f64
  %half = arith.constant 0.5 : f64
  %r:2 = scf.while (%a = %x, %t = %s) : (tensor<?xf32>, f64) -> (tensor<?xf32>, f64) {
    %c = arith.cmpf ogt, %t, %one : f64
    scf.condition(%c) %a, %t : tensor<?xf32>, f64
  } do {
  ^bb0(%a2: tensor<?xf32> loc("y"("w.cpp":2:1)), %t2: f64):
    %k = knet.constant dense<0.5> : tensor<f32>
    %m = knet.mul %a2, %k : tensor<?xf32>, tensor<f32> -> tensor<?xf32>
    %t3 = arith.mulf %t2, %half : f64
    scf.yield %m, %t3 : tensor<?xf32>, f64
  }
  return %r#0, %r#1 : tensor<?xf32>, f64
}

// scf.if with results declares them first; without an else, none is printed.
// Scalar arith and math are C++ expressions; i1 arguments are bools.
// CHECK-LABEL: knet_choose_forward(
// CHECK:        bool c = in[1].item<int64_t>() != 0;
// CHECK-NEXT:   int64_t k = in[2].item<int64_t>();
// CHECK-NEXT:   int64_t v0 = k * 2;
// CHECK-NEXT:   int64_t v1 = v0 % 3;
// CHECK-NEXT:   bool v2 = v1 == 0;
// CHECK-NEXT:   bool v3 = c & v2;
// CHECK-NEXT:   double v4 = static_cast<double>(k);
// CHECK-NEXT:   double v5 = std::exp(v4);
// CHECK-NEXT:   double v6 = std::max<double>(v5, (-2.5));
// CHECK-NEXT:   double v7 = v3 ? v6 : 1e-07;
// CHECK-NEXT:   // c.cpp:2
// CHECK-NEXT:   knet::Tensor r;
// CHECK-NEXT:   if (v3) {
// CHECK-NEXT:     knet::Tensor v8 = knet::relu(x);
// CHECK-NEXT:     r = v8;
// CHECK-NEXT:   } else {
// CHECK-NEXT:     r = x;
// CHECK-NEXT:   }
// CHECK-NEXT:   if (c) {
// CHECK-NEXT:     knet::Tensor v9 = knet::dropout(x, 0.5);
// CHECK-NEXT:   }
// CHECK-NEXT:   knet::Tensor v10 = knet::Tensor::scalar(v7);
// CHECK-NEXT:   knet::Tensor v11 = r * v10;
func.func @choose(%x: tensor<?xf32> loc("x"("c.cpp":1:1)), %c: i1 loc("c"("c.cpp":1:1)),
                  %k: i64 loc("k"("c.cpp":1:1))) -> tensor<?xf32> {
  %two = arith.constant 2 : i64
  %three = arith.constant 3 : i64
  %zero = arith.constant 0 : i64
  %m = arith.muli %k, %two overflow<nsw> : i64
  %r = arith.remsi %m, %three : i64
  %e = arith.cmpi eq, %r, %zero : i64
  %both = arith.andi %c, %e : i1
  %f = arith.sitofp %k : i64 to f64
  %ex = math.exp %f : f64
  %neg = arith.constant -2.5 : f64
  %mx = arith.maximumf %ex, %neg : f64
  %tiny = arith.constant 1.0e-7 : f64
  %s = arith.select %both, %mx, %tiny : f64
  %y = scf.if %both -> (tensor<?xf32>) {
    %rl = knet.relu %x : tensor<?xf32>
    scf.yield %rl : tensor<?xf32>
  } else {
    scf.yield %x : tensor<?xf32>
  } loc("r"("c.cpp":2:1))
  scf.if %c {
    %unused = knet.dropout %x p 0.5 : tensor<?xf32>
  }
  %st = knet.scalar %s : f64 -> tensor<f32>
  %out = knet.mul %y, %st : tensor<?xf32>, tensor<f32> -> tensor<?xf32>
  return %out : tensor<?xf32>
}
