// Verifier rules of losses, convolution, pooling and batchnorm.
// RUN: %knet-opt %s -split-input-file -verify-diagnostics

func.func @nll_rank(%s: tensor<10xf32>, %l: tensor<?xi64>) {
  // expected-error @below {{'knet.nll' op scores must have rank 2, got 'tensor<10xf32>'}}
  %0 = knet.nll %s, %l : tensor<10xf32>, tensor<?xi64> -> tensor<f32>
  return
}

// -----

func.func @nll_rows(%s: tensor<8x10xf32>, %l: tensor<7xi64>) {
  // expected-error @below {{'knet.nll' op scores have 8 rows but there are 7 labels}}
  %0 = knet.nll %s, %l : tensor<8x10xf32>, tensor<7xi64> -> tensor<f32>
  return
}

// -----

func.func @nll_labels(%s: tensor<8x10xf32>, %l: tensor<8xf32>) {
  // expected-error @below {{'knet.nll' op operand #1 must be tensor of 64-bit signless integer values, but got 'tensor<8xf32>'}}
  %0 = knet.nll %s, %l : tensor<8x10xf32>, tensor<8xf32> -> tensor<f32>
  return
}

// -----

func.func @nll_loss(%s: tensor<8x10xf32>, %l: tensor<8xi64>) {
  // expected-error @below {{'knet.nll' op the loss must have rank 0, got 'tensor<1xf32>'}}
  %0 = knet.nll %s, %l : tensor<8x10xf32>, tensor<8xi64> -> tensor<1xf32>
  return
}

// -----

func.func @nll_back_dy(%dy: tensor<8xf32>, %s: tensor<8x10xf32>, %l: tensor<8xi64>) {
  // expected-error @below {{'knet.nll_back' op the loss gradient dy must have rank 0, got 'tensor<8xf32>'}}
  %0 = knet.nll_back %dy, %s, %l : tensor<8xf32>, tensor<8x10xf32>, tensor<8xi64> -> tensor<8x10xf32>
  return
}

// -----

func.func @accuracy_rank(%s: tensor<8x10xf32>, %l: tensor<8x1xi64>) {
  // expected-error @below {{'knet.accuracy' op labels must have rank 1, got 'tensor<8x1xi64>'}}
  %0 = knet.accuracy %s, %l : tensor<8x10xf32>, tensor<8x1xi64>
  return
}

// -----

func.func @bce_labels(%s: tensor<8x1xf32>, %l: tensor<8xf32>) {
  // expected-error @below {{'knet.bce' op labels type 'tensor<8xf32>' does not have the shape of the scores ('tensor<8x1xf32>')}}
  %0 = knet.bce %s, %l : tensor<8x1xf32>, tensor<8xf32> -> tensor<f32>
  return
}

// -----

func.func @logistic_back_result(%dy: tensor<f32>, %s: tensor<8xf32>) {
  // expected-error @below {{'knet.logistic_back' op result type 'tensor<9xf32>' does not have the shape of the scores ('tensor<8xf32>')}}
  %0 = knet.logistic_back %dy, %s, %s : tensor<f32>, tensor<8xf32>, tensor<8xf32> -> tensor<9xf32>
  return
}

// -----

func.func @conv_rank(%x: tensor<1x28x28xf32>, %w: tensor<8x1x5x5xf32>) {
  // expected-error @below {{'knet.conv2d' op operand #0 (NCHW) must have rank 4, got 'tensor<1x28x28xf32>'}}
  %0 = knet.conv2d %x, %w : tensor<1x28x28xf32>, tensor<8x1x5x5xf32> -> tensor<?x?x?x?xf32>
  return
}

// -----

func.func @conv_channels(%x: tensor<?x3x28x28xf32>, %w: tensor<8x1x5x5xf32>) {
  // expected-error @below {{'knet.conv2d' op x has 3 channels but w expects 1 x 1 groups}}
  %0 = knet.conv2d %x, %w : tensor<?x3x28x28xf32>, tensor<8x1x5x5xf32> -> tensor<?x8x24x24xf32>
  return
}

// -----

func.func @conv_groups(%x: tensor<?x3x28x28xf32>, %w: tensor<8x1x5x5xf32>) {
  // expected-error @below {{'knet.conv2d' op the 3 input channels are not divisible by groups = 2}}
  %0 = knet.conv2d %x, %w groups 2 : tensor<?x3x28x28xf32>, tensor<8x1x5x5xf32> -> tensor<?x8x24x24xf32>
  return
}

// -----

func.func @conv_out_groups(%x: tensor<?x4x28x28xf32>, %w: tensor<6x1x5x5xf32>) {
  // expected-error @below {{'knet.conv2d' op the 6 output channels are not divisible by groups = 4}}
  %0 = knet.conv2d %x, %w groups 4 : tensor<?x4x28x28xf32>, tensor<6x1x5x5xf32> -> tensor<?x6x24x24xf32>
  return
}

// -----

func.func @conv_result(%x: tensor<?x1x28x28xf32>, %w: tensor<8x1x5x5xf32>) {
  // expected-error @below {{'knet.conv2d' op result has size 24 in dim 2 but 12 is expected (shape [?, 8, 12, 12])}}
  %0 = knet.conv2d %x, %w stride 2 : tensor<?x1x28x28xf32>, tensor<8x1x5x5xf32> -> tensor<?x8x24x24xf32>
  return
}

// -----

func.func @conv_empty(%x: tensor<?x1x3x3xf32>, %w: tensor<8x1x5x5xf32>) {
  // expected-error @below {{'knet.conv2d' op the output would be empty in dim 2 (size -1)}}
  %0 = knet.conv2d %x, %w : tensor<?x1x3x3xf32>, tensor<8x1x5x5xf32> -> tensor<?x8x?x?xf32>
  return
}

// -----

func.func @conv_stride(%x: tensor<?x1x28x28xf32>, %w: tensor<8x1x5x5xf32>) {
  // expected-error @below {{'knet.conv2d' op attribute 'stride' failed to satisfy constraint: 64-bit signless integer attribute whose value is positive}}
  %0 = knet.conv2d %x, %w stride 0 : tensor<?x1x28x28xf32>, tensor<8x1x5x5xf32> -> tensor<?x8x?x?xf32>
  return
}

// -----

func.func @conv_padding(%x: tensor<?x1x28x28xf32>, %w: tensor<8x1x5x5xf32>) {
  // expected-error @below {{'knet.conv2d' op attribute 'padding' failed to satisfy constraint: 64-bit signless integer attribute whose value is non-negative}}
  %0 = knet.conv2d %x, %w padding -1 : tensor<?x1x28x28xf32>, tensor<8x1x5x5xf32> -> tensor<?x8x?x?xf32>
  return
}

// -----

func.func @deconv_channels(%x: tensor<?x4x8x8xf32>, %w: tensor<8x1x5x5xf32>) {
  // expected-error @below {{'knet.deconv2d' op x has 4 channels but w expects 8}}
  %0 = knet.deconv2d %x, %w : tensor<?x4x8x8xf32>, tensor<8x1x5x5xf32> -> tensor<?x1x12x12xf32>
  return
}

// -----

func.func @back_data_like(%dy: tensor<?x8x24x24xf32>, %w: tensor<8x1x5x5xf32>, %x: tensor<?x1x28x28xf32>) {
  // expected-error @below {{'knet.conv2d_back_data' op result type 'tensor<?x8x28x28xf32>' does not have the shape of `like` (x) ('tensor<?x1x28x28xf32>')}}
  %0 = knet.conv2d_back_data %dy, %w like %x : tensor<?x8x24x24xf32>, tensor<8x1x5x5xf32>, tensor<?x1x28x28xf32> -> tensor<?x8x28x28xf32>
  return
}

// -----

func.func @back_filter_like(%dy: tensor<?x8x24x24xf32>, %x: tensor<?x1x28x28xf32>, %w: tensor<8x1x5x5xf32>) {
  // expected-error @below {{'knet.conv2d_back_filter' op result type 'tensor<8x1x3x3xf32>' does not have the shape of `like` (w) ('tensor<8x1x5x5xf32>')}}
  %0 = knet.conv2d_back_filter %dy, %x like %w : tensor<?x8x24x24xf32>, tensor<?x1x28x28xf32>, tensor<8x1x5x5xf32> -> tensor<8x1x3x3xf32>
  return
}

// -----

func.func @pool_window(%x: tensor<?x8x24x24xf32>) {
  // expected-error @below {{'knet.pool' op attribute 'window' failed to satisfy constraint: 64-bit signless integer attribute whose value is positive}}
  %0 = knet.pool %x window 0 : tensor<?x8x24x24xf32> -> tensor<?x8x24x24xf32>
  return
}

// -----

func.func @pool_padding(%x: tensor<?x8x24x24xf32>) {
  // expected-error @below {{'knet.pool' op padding 2 must be smaller than the window 2}}
  %0 = knet.pool %x padding 2 : tensor<?x8x24x24xf32> -> tensor<?x8x14x14xf32>
  return
}

// -----

func.func @pool_result(%x: tensor<?x8x24x24xf32>) {
  // expected-error @below {{'knet.pool' op result has size 24 in dim 2 but 12 is expected (shape [?, 8, 12, 12])}}
  %0 = knet.pool %x : tensor<?x8x24x24xf32> -> tensor<?x8x24x24xf32>
  return
}

// -----

func.func @pool_back_dy(%dy: tensor<?x8x12x12xf32>, %y: tensor<?x8x11x11xf32>, %x: tensor<?x8x24x24xf32>) {
  // expected-error @below {{'knet.pool_back' op dy type 'tensor<?x8x12x12xf32>' does not have the shape of y ('tensor<?x8x11x11xf32>')}}
  %0 = knet.pool_back %dy, %y, %x : tensor<?x8x12x12xf32>, tensor<?x8x11x11xf32>, tensor<?x8x24x24xf32> -> tensor<?x8x24x24xf32>
  return
}

// -----

func.func @unpool_result(%x: tensor<?x8x12x12xf32>) {
  // expected-error @below {{'knet.unpool' op result has size 12 in dim 2 but 24 is expected (shape [?, 8, 24, 24])}}
  %0 = knet.unpool %x : tensor<?x8x12x12xf32> -> tensor<?x8x12x12xf32>
  return
}

// -----

func.func @batchnorm_rank(%x: tensor<?x16x3xf32>, %m: !knet.moments, %p: tensor<32xf32>) {
  // expected-error @below {{'knet.batchnorm' op x must be [N, C] or [N, C, H, W], got 'tensor<?x16x3xf32>'}}
  %0 = knet.batchnorm %x, %m, %p : tensor<?x16x3xf32>, tensor<32xf32> -> tensor<?x16x3xf32>
  return
}

// -----

func.func @batchnorm_params(%x: tensor<?x16xf32>, %m: !knet.moments, %p: tensor<16xf32>) {
  // expected-error @below {{'knet.batchnorm' op params must have 2C = 32 elements (scale, then shift), got 16}}
  %0 = knet.batchnorm %x, %m, %p : tensor<?x16xf32>, tensor<16xf32> -> tensor<?x16xf32>
  return
}

// -----

func.func @batchnorm_eps(%x: tensor<?x16xf32>, %m: !knet.moments, %p: tensor<32xf32>) {
  // expected-error @below {{'knet.batchnorm' op eps must be positive, got 0.000000e+00}}
  %0 = knet.batchnorm %x, %m, %p {eps = 0.0 : f64} : tensor<?x16xf32>, tensor<32xf32> -> tensor<?x16xf32>
  return
}

// -----

func.func @batchnorm_momentum(%x: tensor<?x16xf32>, %m: !knet.moments, %p: tensor<32xf32>) {
  // expected-error @below {{'knet.batchnorm' op momentum must be in [0, 1], got 1.500000e+00}}
  %0 = knet.batchnorm %x, %m, %p {momentum = 1.5 : f64} : tensor<?x16xf32>, tensor<32xf32> -> tensor<?x16xf32>
  return
}

// -----

func.func @batchnorm_back_dparams(%dy: tensor<?x16xf32>, %x: tensor<?x16xf32>, %m: !knet.moments, %p: tensor<32xf32>) {
  // expected-error @below {{'knet.batchnorm_back' op result dparams type 'tensor<16xf32>' does not have the shape of params ('tensor<32xf32>')}}
  %0:2 = knet.batchnorm_back %dy, %x, %m, %p : tensor<?x16xf32>, tensor<?x16xf32>, tensor<32xf32> -> tensor<?x16xf32>, tensor<16xf32>
  return
}
