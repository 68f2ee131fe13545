// knet: everything a model needs.
#pragma once

#include <knet/autograd.h>
#include <knet/data.h>
#include <knet/device.h>
#include <knet/dtype.h>
#include <knet/error.h>
#include <knet/io.h>
#include <knet/jit.h>
#include <knet/memory.h>
#include <knet/ops/conv.h>
#include <knet/ops/elementwise.h>
#include <knet/ops/linalg.h>
#include <knet/ops/loss.h>
#include <knet/ops/norm.h>
#include <knet/ops/random.h>
#include <knet/ops/reduce.h>
#include <knet/ops/shape.h>
#include <knet/tensor.h>
#include <knet/train.h>

// Marks a function for knetc. Clang sees an annotation; other compilers see
// nothing and the function runs on the tape.
#if defined(__clang__)
#define KNET_COMPILE [[clang::annotate("knet.compile")]]
#else
#define KNET_COMPILE
#endif
