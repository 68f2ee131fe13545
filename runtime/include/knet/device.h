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

} // namespace knet
