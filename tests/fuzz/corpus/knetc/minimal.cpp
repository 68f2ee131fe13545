#include <knet/knet.h>
using namespace knet;
KNET_COMPILE Tensor f(Tensor x, Tensor w) { return sum(relu(matmul(x, w))); }
