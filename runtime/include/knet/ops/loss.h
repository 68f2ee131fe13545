// Losses and metrics over class scores [N, C] (classes along dim 1).
#pragma once

#include <knet/tensor.h>

namespace knet {

struct NllOptions {
  bool average = true; // mean over counted rows; false: their sum
};

// Negative log likelihood of the correct class after logsoftmax of the raw
// scores [N, C]; labels are i64 class ids [N]; an id < 0 is skipped.
Tensor nll(const Tensor &scores, const Tensor &labels, NllOptions o = {});
// Fraction of rows whose argmax equals the label (ids < 0 skipped); no grad.
double accuracy(const Tensor &scores, const Tensor &labels);
// Binary cross-entropy of raw scores against 0/1 targets of the same shape,
// averaged: -mean(p log sigm(x) + (1-p) log(1 - sigm(x))), computed stably.
Tensor bce(const Tensor &scores, const Tensor &labels01);
// Logistic loss against -1/+1 targets: mean(log(1 + exp(-p x))), stable.
Tensor logistic(const Tensor &scores, const Tensor &labels_pm1);

// Backward kernels (for compiled adjoints): the gradient of the scores given
// dy, the loss's gradient (one value).
Tensor nll_back(const Tensor &dy, const Tensor &scores, const Tensor &labels,
                NllOptions o = {});
Tensor bce_back(const Tensor &dy, const Tensor &scores, const Tensor &labels01);
Tensor logistic_back(const Tensor &dy, const Tensor &scores,
                     const Tensor &labels_pm1);

} // namespace knet
