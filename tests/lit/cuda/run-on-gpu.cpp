// A compiled model on the GPU: its fused kernels launch there (through the
// JIT cache) and its value and gradients equal the CPU's.
// REQUIRES: cuda-device
// RUN: %knetc %s -o %t.knet.cpp -- -std=c++20
// RUN: %cxx -std=c++20 -O1 -fopenmp -I%knet_src/runtime/include %t.knet.cpp \
// RUN:   -o %t -L%knet_build/lib -lknet_runtime -Wl,-rpath,%knet_build/lib
// RUN: env KNET_DEVICE=cuda %t | FileCheck %s
#include <knet/knet.h>

#include <cstdio>

using namespace knet;

KNET_COMPILE Tensor loss(const Tensor &w, const Tensor &b, const Tensor &x) {
  Tensor h = tanh(matmul(x, w) + b);
  return sum(h * h * 0.5 + sigm(h));
}

double gap(const Tensor &cpu, const Tensor &gpu) {
  return max(abs(cpu - gpu.to(Device{}))).item<double>();
}

int main() {
  const Device gpu = default_device();
  // CHECK: device cuda:0
  std::printf("device %s\n", device_str(gpu).c_str());
  // CHECK: compiled 1
  std::printf("compiled %d\n", is_compiled(loss) ? 1 : 0);
  seed(1);
  Tensor w = randn({8, 4}, DType::f32).to(Device{});
  Tensor b = randn({4}, DType::f32).to(Device{});
  Tensor x = randn({16, 8}, DType::f32).to(Device{});
  auto [v, dw, db, dx] = value_and_grad(loss, w, b, x);
  const int64_t before = detail::fused_stats().kernels;
  auto [gv, gdw, gdb, gdx] =
      value_and_grad(loss, w.to(gpu), b.to(gpu), x.to(gpu));
  // CHECK: kernels on the gpu 1
  std::printf("kernels on the gpu %d\n",
              detail::fused_stats().kernels > before ? 1 : 0);
  // CHECK: gradients on the gpu 1
  std::printf("gradients on the gpu %d\n",
              gdw.device() == gpu && gdb.device() == gpu ? 1 : 0);
  // CHECK: agree 1
  std::printf("agree %d\n", gap(v, gv) < 1e-4 && gap(dw, gdw) < 1e-4 &&
                                    gap(db, gdb) < 1e-4 && gap(dx, gdx) < 1e-4
                                ? 1
                                : 0);
}
