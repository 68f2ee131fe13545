// Lists are std::vector<knet::Tensor>: a list argument is read from its
// length leaf and its elements; a list result is its length, then them.
// RUN: %knet-translate --emit-cpp --knet-forward-only --knet-no-includes %s | FileCheck %s

// CHECK-LABEL: knet_layers_forward(
// CHECK-NEXT:   std::vector<knet::Tensor> ws(in.begin() + 1, in.begin() + 1 + in[0].item<int64_t>());
// CHECK-NEXT:   const knet::Tensor &x = in[1 + ws.size()];
// CHECK-NEXT:   std::vector<knet::Tensor> vs(in.begin() + 3 + ws.size(), in.begin() + 3 + ws.size() + in[2 + ws.size()].item<int64_t>());
// CHECK-NEXT:   double s = in[3 + ws.size() + vs.size()].item<double>();
// CHECK:        int64_t n = static_cast<int64_t>(ws.size());
// CHECK:        for (int64_t i = 0; i < n; ++i) {
// CHECK-NEXT:     knet::Tensor w = ws[i];
// CHECK:        std::vector<knet::Tensor> pair = {x, x};
// CHECK-NEXT:   knet::Tensor first = pair[0];
// CHECK:        std::vector<knet::Tensor> parts = knet::chunk(first, 2, 1);
// CHECK:        std::vector<knet::Tensor> out;
// CHECK-NEXT:   out.push_back(h);
// CHECK-NEXT:   out.push_back(knet::Tensor::scalar(static_cast<double>(parts.size()), knet::DType::i64));
// CHECK-NEXT:   out.insert(out.end(), parts.begin(), parts.end());
// CHECK-NEXT:   return out;
func.func @layers(%ws: !knet.list<tensor<?x?xf32>> loc("ws"("l.cpp":1:1)),
                  %x: tensor<?x?xf32> loc("x"("l.cpp":1:2)),
                  %vs: !knet.list<tensor<?x?xf32>> loc("vs"("l.cpp":1:3)),
                  %s: f64 loc("s"("l.cpp":1:4)))
    -> (tensor<?x?xf32>, !knet.list<tensor<?x?xf32>>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = knet.list_size %ws : !knet.list<tensor<?x?xf32>> loc("n"("l.cpp":2:1))
  %h = scf.for %i = %c0 to %n step %c1 iter_args(%hi = %x) -> (tensor<?x?xf32>) {
    %w = knet.list_get %ws[%i] : !knet.list<tensor<?x?xf32>> loc("w"("l.cpp":3:1))
    %z = knet.matmul %hi, %w : tensor<?x?xf32>, tensor<?x?xf32> -> tensor<?x?xf32>
    scf.yield %z : tensor<?x?xf32>
  } loc("h"("l.cpp":3:1))
  %l = knet.list_make %x, %x : tensor<?x?xf32>, tensor<?x?xf32> -> !knet.list<tensor<?x?xf32>> loc("pair"("l.cpp":4:1))
  %first = knet.list_get %l[%c0] : !knet.list<tensor<?x?xf32>> loc("first"("l.cpp":4:1))
  %parts = knet.chunk %first, 2 dim 1 : tensor<?x?xf32> -> !knet.list<tensor<?x?xf32>> loc("parts"("l.cpp":5:1))
  %vn = knet.list_size %vs : !knet.list<tensor<?x?xf32>>
  %sv = arith.index_cast %vn : index to i64
  %f = arith.sitofp %sv : i64 to f64
  %g = arith.mulf %f, %s : f64
  return %h, %parts : tensor<?x?xf32>, !knet.list<tensor<?x?xf32>>
}

