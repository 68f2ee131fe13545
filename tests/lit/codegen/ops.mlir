// Each op through its line of the pattern table: options structs print only
// the fields that differ from the runtime's defaults.
// RUN: %knet-translate --emit-cpp --knet-forward-only --knet-no-includes %s | FileCheck %s

// CHECK-LABEL: knet_nn_forward(
// CHECK:      knet::Tensor c1 = knet::conv2d(x, w);
// CHECK-NEXT: knet::Tensor c2 = knet::conv2d(x, w, {.padding = 2, .stride = 2});
// CHECK-NEXT: knet::Tensor p1 = knet::pool(c1);
// CHECK-NEXT: knet::Tensor p2 = knet::pool(c1, {.window = 3, .mode = knet::PoolMode::avg});
// CHECK-NEXT: knet::Tensor f = knet::mat(p1);
// CHECK-NEXT: knet::Tensor r = knet::sum(f, {1});
// CHECK-NEXT: knet::Tensor rk = knet::mean(f, {0, 1}, true);
// CHECK-NEXT: knet::Tensor all = knet::max(f);
// CHECK-NEXT: knet::Tensor k = knet::sum(f, {0, 1}, true);
// CHECK-NEXT: knet::Tensor a = knet::argmax(f, 1);
// CHECK-NEXT: knet::Tensor l = knet::logsumexp(f, -1, true);
// CHECK-NEXT: knet::Tensor sm = knet::logsoftmax(f, 1);
// CHECK-NEXT: knet::Tensor d = knet::dropout(sm, 0.25);
// CHECK-NEXT: knet::Tensor db = knet::dropout_back(sm, d, 0.25);
// CHECK-NEXT: knet::Tensor t = f.transpose(0, 1);
// CHECK-NEXT: knet::Tensor pm = x.permute({0, 2, 3, 1});
// CHECK-NEXT: int64_t n = x.size(0);
// CHECK-NEXT: knet::Tensor rs = f.reshape({n, (-1)});
// CHECK-NEXT: knet::Tensor sl = f.slice(1, 0, n, 2);
// CHECK-NEXT: knet::Tensor sb = knet::slice_back(sl, f.shape(), 1, 0, n, 2);
// CHECK-NEXT: knet::Tensor se = f.select(0, n);
// CHECK-NEXT: knet::Tensor cat = knet::concat({f, f}, 1);
// CHECK-NEXT: knet::Tensor lin = knet::linear(f, t);
// CHECK-NEXT: knet::Tensor lb = knet::linear(f, t, r);
// CHECK-NEXT: knet::Tensor ct = lb.to(knet::DType::f64);
// CHECK-NEXT: knet::Tensor cs = knet::Tensor::full({2, 2}, 1.5, knet::DType::f32);
// CHECK-NEXT: knet::Tensor cv = knet::Tensor::from(std::vector<double>{1.0, 2.0}, {2}).to(knet::DType::f32).to(knet::default_device());
// CHECK-NEXT: knet::Tensor ci = knet::Tensor::from(std::vector<int64_t>{1, -3}, {2}).to(knet::default_device());
// CHECK-NEXT: double acc = knet::accuracy(f, ci);
// CHECK-NEXT: knet::Tensor bd = knet::conv2d_back_data(c2, w, x.shape(), {.padding = 2, .stride = 2});
// CHECK-NEXT: knet::Tensor cmp = f >= all;
// CHECK-NEXT: knet::Tensor wh = knet::where(cmp, f, all);
func.func @nn(%x: tensor<?x1x28x28xf32> loc("x"("n.cpp":1:1)),
              %w: tensor<8x1x5x5xf32> loc("w"("n.cpp":1:2))) 
    -> (tensor<?x1152xf32>, f64, tensor<?x8x8x8xf32>, tensor<1x1xf32>, tensor<1x1xf32>, tensor<?xi64>, tensor<?x1xf32>, tensor<1152xf32>, tensor<?x1152xf32>, tensor<?x?xf32>, tensor<?x1152xf32>, tensor<?x2304xf32>, tensor<?x1152xf32>, tensor<?x28x28x1xf32>, tensor<?x1152xf64>, tensor<2x2xf32>, tensor<2xf32>, tensor<?x1x28x28xf32>, tensor<?x1152xf32>) {
  %c1 = knet.conv2d %x, %w : tensor<?x1x28x28xf32>, tensor<8x1x5x5xf32> -> tensor<?x8x24x24xf32> loc("c1"("n.cpp":2:1))
  %c2 = knet.conv2d %x, %w padding 2 stride 2 : tensor<?x1x28x28xf32>, tensor<8x1x5x5xf32> -> tensor<?x8x14x14xf32> loc("c2"("n.cpp":2:1))
  %p1 = knet.pool %c1 : tensor<?x8x24x24xf32> -> tensor<?x8x12x12xf32> loc("p1"("n.cpp":2:1))
  %p2 = knet.pool %c1 window 3 mode avg : tensor<?x8x24x24xf32> -> tensor<?x8x8x8xf32> loc("p2"("n.cpp":2:1))
  %f = knet.mat %p1 : tensor<?x8x12x12xf32> -> tensor<?x1152xf32> loc("f"("n.cpp":2:1))
  %r = knet.sum %f dims [1] : tensor<?x1152xf32> -> tensor<?xf32> loc("r"("n.cpp":2:1))
  %rk = knet.mean %f dims [0, 1] keepdim : tensor<?x1152xf32> -> tensor<1x1xf32> loc("rk"("n.cpp":2:1))
  %all = knet.max %f : tensor<?x1152xf32> -> tensor<f32> loc("all"("n.cpp":2:1))
  %k = knet.sum %f keepdim : tensor<?x1152xf32> -> tensor<1x1xf32> loc("k"("n.cpp":2:1))
  %a = knet.argmax %f dim 1 : tensor<?x1152xf32> -> tensor<?xi64> loc("a"("n.cpp":2:1))
  %l = knet.logsumexp %f dim -1 keepdim : tensor<?x1152xf32> -> tensor<?x1xf32> loc("l"("n.cpp":2:1))
  %sm = knet.logsoftmax %f dim 1 : tensor<?x1152xf32> loc("sm"("n.cpp":2:1))
  %d = knet.dropout %sm p 0.25 : tensor<?x1152xf32> loc("d"("n.cpp":2:1))
  %db = knet.dropout_back %sm, %d p 0.25 : tensor<?x1152xf32>, tensor<?x1152xf32> -> tensor<?x1152xf32> loc("db"("n.cpp":2:1))
  %t = knet.transpose %f, 0, 1 : tensor<?x1152xf32> -> tensor<1152x?xf32> loc("t"("n.cpp":2:1))
  %pm = knet.permute %x [0, 2, 3, 1] : tensor<?x1x28x28xf32> -> tensor<?x28x28x1xf32> loc("pm"("n.cpp":2:1))
  %n = knet.size %x, 0 : tensor<?x1x28x28xf32> loc("n"("n.cpp":2:1))
  %m1 = arith.constant -1 : i64
  %c0 = arith.constant 0 : i64
  %rs = knet.reshape %f(%n, %m1) : tensor<?x1152xf32> -> tensor<?x?xf32> loc("rs"("n.cpp":2:1))
  %sl = knet.slice %f dim 1 from %c0 to %n step 2 : tensor<?x1152xf32> -> tensor<?x?xf32> loc("sl"("n.cpp":2:1))
  %sb = knet.slice_back %sl like %f dim 1 from %c0 to %n step 2 : tensor<?x?xf32>, tensor<?x1152xf32> -> tensor<?x1152xf32> loc("sb"("n.cpp":2:1))
  %se = knet.select %f dim 0 index %n : tensor<?x1152xf32> -> tensor<1152xf32> loc("se"("n.cpp":2:1))
  %cat = knet.concat %f, %f dim 1 : tensor<?x1152xf32>, tensor<?x1152xf32> -> tensor<?x2304xf32> loc("cat"("n.cpp":2:1))
  %lin = knet.linear %f, %t : tensor<?x1152xf32>, tensor<1152x?xf32> -> tensor<?x1152xf32> loc("lin"("n.cpp":2:1))
  %lb = knet.linear %f, %t, %r : tensor<?x1152xf32>, tensor<1152x?xf32>, tensor<?xf32> -> tensor<?x1152xf32> loc("lb"("n.cpp":2:1))
  %ct = knet.cast %lb : tensor<?x1152xf32> -> tensor<?x1152xf64> loc("ct"("n.cpp":2:1))
  %cs = knet.constant dense<1.5> : tensor<2x2xf32> loc("cs"("n.cpp":2:1))
  %cv = knet.constant dense<[1.0, 2.0]> : tensor<2xf32> loc("cv"("n.cpp":2:1))
  %ci = knet.constant dense<[1, -3]> : tensor<2xi64> loc("ci"("n.cpp":2:1))
  %acc = knet.accuracy %f, %ci : tensor<?x1152xf32>, tensor<2xi64> loc("acc"("n.cpp":2:1))
  %bd = knet.conv2d_back_data %c2, %w like %x padding 2 stride 2 : tensor<?x8x14x14xf32>, tensor<8x1x5x5xf32>, tensor<?x1x28x28xf32> -> tensor<?x1x28x28xf32> loc("bd"("n.cpp":2:1))
  %cmp = knet.ge %f, %all : tensor<?x1152xf32>, tensor<f32> -> tensor<?x1152xi1> loc("cmp"("n.cpp":2:1))
  %wh = knet.where %cmp, %f, %all : tensor<?x1152xi1>, tensor<?x1152xf32>, tensor<f32> -> tensor<?x1152xf32> loc("wh"("n.cpp":2:1))
  return %f, %acc, %p2, %rk, %k, %a, %l, %se, %db, %rs, %sb, %cat, %lin, %pm, %ct, %cs, %cv, %bd, %wh
      : tensor<?x1152xf32>, f64, tensor<?x8x8x8xf32>, tensor<1x1xf32>, tensor<1x1xf32>, tensor<?xi64>, tensor<?x1xf32>, tensor<1152xf32>, tensor<?x1152xf32>, tensor<?x?xf32>, tensor<?x1152xf32>, tensor<?x2304xf32>, tensor<?x1152xf32>, tensor<?x28x28x1xf32>, tensor<?x1152xf64>, tensor<2x2xf32>, tensor<2xf32>, tensor<?x1x28x28xf32>, tensor<?x1152xf32>
}
