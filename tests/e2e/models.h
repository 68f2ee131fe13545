#pragma once
#include <knet/knet.h>

#include <vector>

struct Mlp {
  knet::Param w1, b1, w2, b2;
};

knet::Tensor mlp_loss(const Mlp &m, const knet::Tensor &x,
                      const knet::Tensor &y);
knet::Tensor deep_loss(const std::vector<knet::Param> &ws,
                       const knet::Tensor &x);
knet::Tensor control(const knet::Tensor &w, int n, double s);
knet::Tensor until_small(const knet::Tensor &w);
