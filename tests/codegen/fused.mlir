// Models for the fused kernels' end-to-end test (test_fusion_kernels): at
// build time knet-autodiff, canonicalize, cse and knet-fuse run over them and
// knet-translate turns the result into C++. Tensors are unranked f32, as the
// frontend writes them: f32 stands for the run-time float dtype.

// One elementwise kernel over broadcast operands: tanh(x * s + b) * sigm(x);
// its gradient reduces into b's shape (reduce sum_to).
func.func @chain(%x: tensor<*xf32>, %b: tensor<*xf32>, %s: tensor<*xf32>)
    -> tensor<*xf32> {
  %0 = knet.mul %x, %s : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  %1 = knet.add %0, %b : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  %2 = knet.tanh %1 : tensor<*xf32>
  %3 = knet.sigm %x : tensor<*xf32>
  %4 = knet.mul %2, %3 : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  return %4 : tensor<*xf32>
}

// Two results from one kernel: exp(x) and exp(x) * c. When x has fewer
// elements than c the first result's shape is not the kernel's and the
// replaced ops run instead.
func.func @pair(%x: tensor<*xf32>, %c: tensor<*xf32>)
    -> (tensor<*xf32>, tensor<*xf32>) {
  %0 = knet.exp %x : tensor<*xf32>
  %1 = knet.mul %0, %c : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  %2 = knet.add %1, %0 : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  return %0, %2 : tensor<*xf32>, tensor<*xf32>
}

// Reductions closing kernels: sum over dim 0, the mean of all, the max over
// dim 1 kept.
func.func @reduce(%x: tensor<*xf32>, %b: tensor<*xf32>)
    -> (tensor<*xf32>, tensor<*xf32>, tensor<*xf32>) {
  %0 = knet.add %x, %b : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  %1 = knet.relu %0 : tensor<*xf32>
  %2 = knet.sum %1 dims [0] : tensor<*xf32> -> tensor<*xf32>
  %3 = knet.mul %0, %0 : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  %4 = knet.mean %3 : tensor<*xf32> -> tensor<*xf32>
  %5 = knet.sin %0 : tensor<*xf32>
  %6 = knet.max %5 dims [1] keepdim : tensor<*xf32> -> tensor<*xf32>
  return %2, %4, %6 : tensor<*xf32>, tensor<*xf32>, tensor<*xf32>
}

// Comparisons and where: bool values inside a kernel.
func.func @select(%x: tensor<*xf32>, %y: tensor<*xf32>) -> tensor<*xf32> {
  %0 = knet.gt %x, %y : tensor<*xf32>, tensor<*xf32> -> tensor<*xi1>
  %1 = knet.sub %x, %y : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  %2 = knet.neg %1 : tensor<*xf32>
  %3 = knet.where %0, %1, %2 : tensor<*xi1>, tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  %4 = knet.sqrt %3 : tensor<*xf32>
  return %4 : tensor<*xf32>
}

// Regressions found in review: each kernel must equal the replaced ops
// exactly (constants in f64, NaN and infinity, errors, 0-d f64 chains).
func.func @gelus(%x: tensor<*xf32>) -> (tensor<*xf32>, tensor<*xf32>)
    attributes {knet.no_grad} {
  %0 = knet.gelu %x : tensor<*xf32>
  %1 = knet.neg %0 : tensor<*xf32>
  %2 = knet.gelu_back %x, %x : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  %3 = knet.neg %2 : tensor<*xf32>
  return %1, %3 : tensor<*xf32>, tensor<*xf32>
}
func.func @maxinf(%x: tensor<*xf32>) -> tensor<*xf32> attributes {knet.no_grad} {
  %0 = knet.log %x : tensor<*xf32>
  %1 = knet.max %0 dims [1] : tensor<*xf32> -> tensor<*xf32>
  return %1 : tensor<*xf32>
}
func.func @maxempty(%x: tensor<*xf32>) -> tensor<*xf32> attributes {knet.no_grad} {
  %0 = knet.exp %x : tensor<*xf32>
  %1 = knet.max %0 dims [1] : tensor<*xf32> -> tensor<*xf32>
  return %1 : tensor<*xf32>
}
func.func @maximum(%x: tensor<*xf32>, %y: tensor<*xf32>) -> tensor<*xf32> attributes {knet.no_grad} {
  %0 = knet.maximum %x, %y : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  %1 = knet.neg %0 : tensor<*xf32>
  return %1 : tensor<*xf32>
}
func.func @bcast(%x: tensor<*xf32>, %l: tensor<*xf32>, %w: tensor<*xf32>) -> tensor<*xf32> attributes {knet.no_grad} {
  %0 = knet.broadcast_to %x like %l : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  %1 = knet.add %0, %w : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  return %1 : tensor<*xf32>
}
func.func @scal(%x: tensor<*xf32>, %s: tensor<*xf32>) -> tensor<*xf32> attributes {knet.no_grad} {
  %0 = knet.mul %s, %s : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  %1 = knet.div %0, %s : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  %2 = knet.mul %x, %1 : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  return %2 : tensor<*xf32>
}
func.func @scal2(%a: tensor<*xf32>, %b: tensor<*xf32>) -> (tensor<*xf32>, tensor<*xf32>) attributes {knet.no_grad} {
  %0 = knet.mul %a, %a : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  %1 = knet.add %0, %b : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  return %0, %1 : tensor<*xf32>, tensor<*xf32>
}
func.func @meanf(%x: tensor<*xf32>) -> tensor<*xf32> attributes {knet.no_grad} {
  %0 = knet.abs %x : tensor<*xf32>
  %1 = knet.mean %0 : tensor<*xf32> -> tensor<*xf32>
  return %1 : tensor<*xf32>
}
func.func @dback(%dy: tensor<*xf32>, %y: tensor<*xf32>) -> tensor<*xf32> attributes {knet.no_grad} {
  %0 = knet.exp %dy : tensor<*xf32>
  %1 = knet.dropout_back %0, %y p 0.5 : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  return %1 : tensor<*xf32>
}

// A C++ scalar (knet.scalar, 0-d) is read once per row by the dense path.
func.func @scaled(%x: tensor<*xf32>, %k: f32) -> tensor<*xf32>
    attributes {knet.no_grad} {
  %s = knet.scalar %k : f32 -> tensor<f32>
  %0 = knet.mul %x, %s : tensor<*xf32>, tensor<f32> -> tensor<*xf32>
  %1 = knet.tanh %0 : tensor<*xf32>
  return %1 : tensor<*xf32>
}

// Sums in the runtime's order, so that f32 kernels give the runtime's bits:
// over each row of (x + b)^2 (b broadcast along the rows), and a bias
// gradient (relu_back summed onto b's shape).
func.func @rowsum(%x: tensor<*xf32>, %b: tensor<*xf32>) -> tensor<*xf32> attributes {knet.no_grad} {
  %0 = knet.add %x, %b : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  %1 = knet.mul %0, %0 : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  %2 = knet.sum %1 dims [1] : tensor<*xf32> -> tensor<*xf32>
  return %2 : tensor<*xf32>
}
func.func @biasgrad(%dy: tensor<*xf32>, %y: tensor<*xf32>, %b: tensor<*xf32>) -> tensor<*xf32> attributes {knet.no_grad} {
  %0 = knet.relu_back %dy, %y : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  %1 = knet.sum_to %0 like %b : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  return %1 : tensor<*xf32>
}
// relu_back's result and the bias gradient summed from it: one kernel, one
// pass (a reduction with an elementwise result).
func.func @biasgrad2(%dy: tensor<*xf32>, %y: tensor<*xf32>, %b: tensor<*xf32>) -> (tensor<*xf32>, tensor<*xf32>) attributes {knet.no_grad} {
  %0 = knet.relu_back %dy, %y : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  %1 = knet.sum_to %0 like %b : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  return %1, %0 : tensor<*xf32>, tensor<*xf32>
}
// A sum beside an elementwise result that may be larger (x's shape, where
// the summed value is s * w's): the merged kernel checks, and falls back on
// the two kernels it merges.
func.func @sumbeside(%x: tensor<*xf32>, %w: tensor<*xf32>) -> (tensor<*xf32>, tensor<*xf32>) attributes {knet.no_grad} {
  %s = knet.sum %x dims [1] keepdim : tensor<*xf32> -> tensor<*xf32>
  %p = knet.mul %s, %w : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  %o = knet.mul %p, %x : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  %r = knet.sum %p : tensor<*xf32> -> tensor<*xf32>
  return %r, %o : tensor<*xf32>, tensor<*xf32>
}
