// Helpers of the knet benchmark programs: tensors and Params from the shared
// arrays of data.h / bench.h, and the lines every program prints first.
#pragma once

#include "bench.h"

#include <knet/knet.h>

namespace bench {

inline knet::Tensor tensor_of(const std::vector<float> &v, knet::Shape s) {
  return knet::Tensor::from(v, std::move(s));
}
inline knet::Tensor tensor_of(const std::vector<int64_t> &v, knet::Shape s) {
  return knet::Tensor::from(v, std::move(s));
}
inline knet::Param param_of(const std::vector<float> &v, knet::Shape s) {
  return knet::Param(tensor_of(v, std::move(s)));
}

// "@impl=knet-compiled" or "@impl=knet-tape" from whether knetc compiled the
// function the program differentiates, and the thread count knet runs with.
inline void report_knet(const std::string &model, bool compiled,
                        const Args &args) {
  result("model", model);
  result("impl", compiled ? "knet-compiled" : "knet-tape");
  const char *env = std::getenv("KNET_NUM_THREADS");
  result("threads", env && *env ? std::string(env) : std::string("all"));
  (void)args;
}

} // namespace bench
