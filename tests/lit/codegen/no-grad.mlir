// A function marked knet.no_grad gets a forward and no adjoint.
// RUN: %knet-translate --emit-cpp %s | FileCheck %s

// CHECK: knet_plain_forward(
// CHECK-NOT: knet_plain_grad(
// CHECK: knet_plain_compiled{
// CHECK-NEXT: "plain", knet_plain_forward, nullptr};
func.func @plain(%x: tensor<?xf32>) -> tensor<?xf32> attributes {knet.no_grad} {
  %y = knet.relu %x : tensor<?xf32>
  return %y : tensor<?xf32>
}
