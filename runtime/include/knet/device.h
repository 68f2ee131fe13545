// Devices.
#pragma once

#include <string>

namespace knet {

struct Device {
  enum Kind { cpu, cuda } kind = cpu;
  int index = 0;
  friend bool operator==(const Device &, const Device &) = default;
};

// KNET_DEVICE=cpu|cuda|cuda:N; cuda when usable, else cpu.
Device default_device();
// True when a CUDA backend is loaded and has at least one device.
bool cuda_available();
std::string device_str(Device d);

// Whether f32 matmuls on a GPU may use TF32 tensor cores (10-bit mantissa
// inputs, f32 accumulation). Off unless asked: set_allow_tf32(true), or
// KNET_ALLOW_TF32=1 in the environment at startup.
void set_allow_tf32(bool allow);
bool allow_tf32();

} // namespace knet
