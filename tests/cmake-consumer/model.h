#pragma once
#include <knet/knet.h>

struct Model {
  knet::Param w, b;
};

knet::Tensor loss(const Model &m, const knet::Tensor &x, double scale);
