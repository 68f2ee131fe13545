func.func @f(%x: tensor<*xf32>) -> tensor<*xf32> {
  %y = knet.relu %x : tensor<*xf32>
  return %y : tensor<*xf32>
}
