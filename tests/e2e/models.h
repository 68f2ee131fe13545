#pragma once
#include <knet/knet.h>

#include <array>
#include <tuple>
#include <utility>
#include <vector>

struct Mlp {
  knet::Param w1, b1, w2, b2;
};

struct Pair {
  knet::Tensor h, c;
};
Pair cell(const knet::Tensor &w, const Pair &l, const Pair &r);
knet::Tensor tree_loss(const knet::Tensor &w, const knet::Tensor &x);
double nested(double x, int n);

struct LeNetSmall {
  knet::Param c1, b1, c2, b2, w, b;
};

knet::Tensor lenet_loss(const LeNetSmall &m, const knet::Tensor &x,
                        const knet::Tensor &y);
knet::Tensor softmax_loss(const knet::Param &w, const knet::Param &b,
                          const knet::Tensor &x, const knet::Tensor &y);
knet::Tensor linreg_loss(const knet::Param &w, const knet::Param &b,
                         const knet::Tensor &x, const knet::Tensor &y);
knet::Tensor lstm_loss(const knet::Param &w, const knet::Param &b,
                       const knet::Tensor &x, const knet::Tensor &h0,
                       const knet::Tensor &c0);
knet::Tensor mlp_loss(const Mlp &m, const knet::Tensor &x,
                      const knet::Tensor &y);
knet::Tensor deep_loss(const std::vector<knet::Param> &ws,
                       const knet::Tensor &x);
knet::Tensor control(const knet::Tensor &w, int n, double s);
knet::Tensor until_small(const knet::Tensor &w);

// Regressions (see models.cpp).
knet::Tensor early_return(const knet::Tensor &x, const knet::Tensor &w, int n);
knet::Tensor early_return_loop(const knet::Tensor &x, const knet::Tensor &w,
                               int n);
int64_t unsigned_rem(int64_t k);
int narrow_add(int k);
int64_t truncating_cast(long long k);
int64_t unsigned_div(int k);
uint64_t wide_unsigned(uint64_t a);
knet::Tensor unsigned_scale(const knet::Tensor &x, unsigned n);
knet::Tensor undefined_unless(const knet::Tensor &x, int n);
knet::Tensor keepdim_all(const knet::Tensor &x);
knet::Tensor returns_argument(const knet::Tensor &p, int n);
knet::Tensor exact_constant(const knet::Tensor &x);
knet::Tensor aliased_refs(knet::Tensor x);
knet::Tensor early_argument(const knet::Tensor &p, int n,
                            const knet::Tensor &x);
double float_round(double s);

// Issue 14 (see models.cpp).
struct LstmLm {
  knet::Param w, b, out;
};
struct BiRnn {
  knet::Param wf, wb, wt;
};
knet::Tensor lstm_lm(const LstmLm &m, const knet::Tensor &xs, int hidden);
knet::Tensor birnn_attention(const BiRnn &m, const knet::Tensor &xs);
knet::Tensor named_dtypes(const knet::Tensor &x);
knet::Tensor weak_scalars(const knet::Tensor &x, double t);
knet::Tensor mixed_scalar(const knet::Tensor &x, const knet::Tensor &w,
                          double t);
knet::Tensor lambda_switch(const knet::Tensor &x, const knet::Tensor &w, int k,
                           int n);
knet::Tensor lstm_state(const LstmLm &m, const knet::Tensor &xs,
                        knet::Tensor &h, knet::Tensor &c);
knet::Tensor lstm_state_twice(const LstmLm &m, const knet::Tensor &xs,
                              knet::Tensor &h);
struct ArrayModel {
  std::array<knet::Param, 3> ws;
  knet::Param out;
};
knet::Tensor array_model(const ArrayModel &m, const knet::Tensor &x);
std::pair<knet::Tensor, knet::Tensor> two_losses(const knet::Tensor &x,
                                                 const knet::Tensor &w);
knet::Tensor tuple_loss(const knet::Tensor &x, const knet::Tensor &w);
knet::Tensor constant_data(const knet::Tensor &x);
knet::Tensor bilstm_tagger(const LstmLm &fw, const LstmLm &bw,
                           const knet::Tensor &xs, const knet::Tensor &tags);
knet::Tensor resized_lists(const knet::Tensor &xs, const knet::Tensor &w);

struct Vgg {
  knet::Param c1, bn1, c2, bn2, w, b;
  knet::Moments m1, m2;
};
knet::Tensor vgg_loss(Vgg &m, const knet::Tensor &x, const knet::Tensor &y,
                      bool train);
struct ResBlock {
  knet::Param c1, bn1, c2, bn2, w, b, bnh;
  knet::Moments m1, m2;
};
knet::Tensor resnet_loss(ResBlock &m, knet::Moments &head,
                         const knet::Tensor &x, const knet::Tensor &y);
