// The runtime on a GPU (label gpu): every op on cuda:0 against the same op on
// the CPU, values and tape gradients; copies between devices; the caching
// allocator under pressure; training on the GPU. Every test skips where
// there is no usable GPU (the program then reports itself not run).
//
// NoDevice.* runs where the plugin is present but no GPU is (the ctest
// entry test_cuda_runtime_nodevice points KNET_CUDA_PLUGIN at it): asking
// for a GPU is a clear knet::Error.
#include "test_util.h"

#include "core/cuda.h"

#include <knet/knet.h>

#include <cmath>
#include <cstdlib>
#include <functional>
#include <limits>
#include <string>

using namespace knet;
using knet::testing::all_close;
using knet::testing::rand_f32;
using knet::testing::rand_f64;

namespace {

const Device kGpu{Device::cuda, 0};
const Device kCpu{};

#define REQUIRE_GPU()                                                          \
  do {                                                                         \
    if (!cuda_available())                                                     \
      GTEST_SKIP() << "no usable CUDA device: "                                \
                   << detail::cuda::unavailable_reason();                      \
  } while (0)

// Runs f on the CPU operands and on their GPU copies; the results agree.
void same_on_gpu(const std::function<Tensor(const std::vector<Tensor> &)> &f,
                 const std::vector<Tensor> &in, double rtol, double atol,
                 const std::string &what) {
  std::vector<Tensor> gin;
  for (const Tensor &t : in)
    gin.push_back(t.to(kGpu));
  Tensor want = f(in);
  Tensor got = f(gin);
  ASSERT_EQ(got.device(), kGpu) << what;
  ASSERT_EQ(got.dtype(), want.dtype()) << what;
  ASSERT_EQ(got.shape(), want.shape()) << what;
  EXPECT_TRUE(all_close(got.to(kCpu), want, rtol, atol)) << what;
}

// The tape's gradients of sum(f(in) * r) on the GPU equal the CPU's.
void same_grads_on_gpu(
    const std::function<Tensor(const std::vector<Tensor> &)> &f,
    const std::vector<Tensor> &in, double rtol, double atol,
    const std::string &what) {
  auto grads = [&](Device dev) {
    std::vector<Param> ps;
    for (const Tensor &t : in)
      ps.emplace_back(t.to(dev));
    Tape tape = diff([&] {
      std::vector<Tensor> xs;
      for (Param &p : ps)
        xs.push_back(p.value());
      Tensor y = f(xs);
      Tensor r = rand_f64(y.shape(), -1, 1, 7).to(y.dtype()).to(dev);
      return sum(y * r);
    });
    std::vector<Tensor> g;
    for (Param &p : ps)
      g.push_back(tape.grad(p));
    return g;
  };
  std::vector<Tensor> want = grads(kCpu), got = grads(kGpu);
  for (size_t i = 0; i < in.size(); ++i) {
    ASSERT_EQ(got[i].defined(), want[i].defined()) << what << " input " << i;
    if (!want[i].defined())
      continue;
    EXPECT_EQ(got[i].device(), kGpu) << what << " input " << i;
    EXPECT_TRUE(all_close(got[i].to(kCpu), want[i], rtol, atol))
        << what << " gradient of input " << i;
  }
}

TEST(NoDevice, AskingForAGpuIsAClearError) {
  if (cuda_available())
    GTEST_SKIP() << "a GPU is present";
  EXPECT_FALSE(cuda_available());
  EXPECT_EQ(default_device(), kCpu);
  const std::string reason = detail::cuda::unavailable_reason();
  EXPECT_FALSE(reason.empty());
  try {
    Tensor::zeros({2}).to(kGpu);
    FAIL() << "expected knet::Error";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("cuda:0 is not available"),
              std::string::npos)
        << e.what();
  }
  setenv("KNET_DEVICE", "cuda", 1);
  try {
    default_device();
    FAIL() << "expected knet::Error";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("KNET_DEVICE=cuda"), std::string::npos)
        << e.what();
  }
  unsetenv("KNET_DEVICE");
  EXPECT_THROW(memory_stats(kGpu), Error);
}

TEST(Gpu, CopiesBetweenDevices) {
  REQUIRE_GPU();
  Tensor a = rand_f64({3, 4, 5});
  EXPECT_TRUE(all_close(a.to(kGpu).to(kCpu), a, 0, 0));
  // Strided views, both ways.
  Tensor t = a.transpose(0, 2).slice(1, 1, 4);
  EXPECT_TRUE(all_close(t.to(kGpu).to(kCpu), t, 0, 0));
  Tensor g = a.to(kGpu).transpose(0, 2).slice(1, 1, 4);
  EXPECT_TRUE(all_close(g.to(kCpu), t, 0, 0));
  EXPECT_TRUE(all_close(g.contiguous().to(kCpu), t, 0, 0));
  // Every dtype.
  Tensor i = Tensor::from<int64_t>(std::vector<int64_t>{1, -2, 1LL << 40}, {3});
  EXPECT_EQ(i.to(kGpu).to(kCpu).to_vector<int64_t>(), i.to_vector<int64_t>());
  Tensor b = Tensor::from<double>(std::vector<double>{1, 0, 1}, {3}) > 0.5;
  EXPECT_EQ(b.to(kGpu).to_vector<bool>(), b.to_vector<bool>());
  // Casts on the GPU, f16/bf16 storage included.
  Tensor x = rand_f32({7, 9});
  EXPECT_TRUE(
      all_close(x.to(kGpu).to(DType::f64).to(kCpu), x.to(DType::f64), 0, 0));
  EXPECT_TRUE(all_close(x.to(kGpu).to(DType::f16).to(DType::f32).to(kCpu), x,
                        1e-3, 1e-3));
  EXPECT_TRUE(all_close(x.to(kGpu).to(DType::bf16).to(DType::f32).to(kCpu), x,
                        1e-2, 1e-2));
  EXPECT_TRUE(
      all_close(x.to(kGpu).to(DType::i32).to(kCpu), x.to(DType::i32), 0, 0));
  // Fills.
  EXPECT_TRUE(all_close(Tensor::full({2, 3}, 2.5, DType::f32, kGpu).to(kCpu),
                        Tensor::full({2, 3}, 2.5), 0, 0));
  EXPECT_TRUE(all_close(Tensor::zeros({5}, DType::i64, kGpu).to(kCpu),
                        Tensor::zeros({5}, DType::i64), 0, 0));
}

TEST(Gpu, ElementwiseOps) {
  REQUIRE_GPU();
  using Fn = std::function<Tensor(const Tensor &)>;
  const std::vector<std::pair<const char *, Fn>> unary = {
      {"neg", [](const Tensor &x) { return -x; }},
      {"abs", [](const Tensor &x) { return abs(x); }},
      {"exp", [](const Tensor &x) { return exp(x); }},
      {"log", [](const Tensor &x) { return log(abs(x) + 0.1); }},
      {"sqrt", [](const Tensor &x) { return sqrt(abs(x)); }},
      {"rsqrt", [](const Tensor &x) { return rsqrt(abs(x) + 0.1); }},
      {"sin", [](const Tensor &x) { return sin(x); }},
      {"cos", [](const Tensor &x) { return cos(x); }},
      {"tanh", [](const Tensor &x) { return tanh(x); }},
      {"sigm", [](const Tensor &x) { return sigm(x); }},
      {"relu", [](const Tensor &x) { return relu(x); }},
      {"elu", [](const Tensor &x) { return elu(x); }},
      {"selu", [](const Tensor &x) { return selu(x); }},
      {"gelu", [](const Tensor &x) { return gelu(x); }},
      {"softplus", [](const Tensor &x) { return softplus(x); }},
      {"swish", [](const Tensor &x) { return swish(x); }},
      {"scalar ops",
       [](const Tensor &x) { return 2.0 - x * 3.0 + 1.0 / (x + 4.0); }},
      {"pow", [](const Tensor &x) { return pow(abs(x) + 0.5, 1.5); }},
  };
  for (DType dt : {DType::f32, DType::f64}) {
    const double tol = dt == DType::f32 ? 1e-5 : 1e-12;
    // A dense operand and a transposed view.
    Tensor x = rand_f64({6, 5}, -2, 2).to(dt);
    for (const auto &[name, f] : unary) {
      same_on_gpu([&](auto &in) { return f(in[0]); }, {x}, tol, tol, name);
      same_on_gpu([&](auto &in) { return f(in[0].transpose(0, 1)); }, {x}, tol,
                  tol, std::string(name) + " of a view");
      if (dt == DType::f64)
        same_grads_on_gpu([&](auto &in) { return f(in[0]); }, {x}, 1e-10, 1e-10,
                          std::string(name) + " gradient");
    }
    // Binary ops with broadcasting.
    Tensor a = rand_f64({4, 1, 3}, -2, 2, 2).to(dt);
    Tensor b = rand_f64({5, 3}, 0.5, 2, 3).to(dt);
    using Fn2 = std::function<Tensor(const Tensor &, const Tensor &)>;
    const std::vector<std::pair<const char *, Fn2>> binary = {
        {"add", [](auto &u, auto &v) { return u + v; }},
        {"sub", [](auto &u, auto &v) { return u - v; }},
        {"mul", [](auto &u, auto &v) { return u * v; }},
        {"div", [](auto &u, auto &v) { return u / v; }},
        {"pow", [](auto &u, auto &v) { return pow(abs(u) + 0.5, v); }},
        {"maximum", [](auto &u, auto &v) { return maximum(u, v); }},
        {"minimum", [](auto &u, auto &v) { return minimum(u, v); }},
        {"where", [](auto &u, auto &v) { return where(u > v, u, v * 2.0); }},
    };
    for (const auto &[name, f] : binary) {
      same_on_gpu([&](auto &in) { return f(in[0], in[1]); }, {a, b}, tol, tol,
                  name);
      if (dt == DType::f64)
        same_grads_on_gpu([&](auto &in) { return f(in[0], in[1]); }, {a, b},
                          1e-10, 1e-10, std::string(name) + " gradient");
    }
    for (auto cmp : {+[](const Tensor &u, const Tensor &v) { return u < v; },
                     +[](const Tensor &u, const Tensor &v) { return u >= v; },
                     +[](const Tensor &u, const Tensor &v) { return u == v; }})
      same_on_gpu([&](auto &in) { return cmp(in[0], in[1]); }, {a, b}, 0, 0,
                  "comparison");
  }
}

TEST(Gpu, Reductions) {
  REQUIRE_GPU();
  for (DType dt : {DType::f32, DType::f64}) {
    const double tol = dt == DType::f32 ? 1e-5 : 1e-12;
    Tensor x = rand_f64({3, 4, 5}, -2, 2, 4).to(dt);
    for (bool keep : {false, true}) {
      for (Dims dims : {Dims{}, Dims{0}, Dims{1}, Dims{2}, Dims{0, 2}}) {
        same_on_gpu([&](auto &in) { return sum(in[0], dims, keep); }, {x}, tol,
                    tol, "sum");
        same_on_gpu([&](auto &in) { return mean(in[0], dims, keep); }, {x}, tol,
                    tol, "mean");
        same_on_gpu([&](auto &in) { return max(in[0], dims, keep); }, {x}, 0, 0,
                    "max");
        same_on_gpu([&](auto &in) { return min(in[0], dims, keep); }, {x}, 0, 0,
                    "min");
      }
      same_on_gpu(
          [&](auto &in) { return argmax(in[0], 1, keep).to(DType::f64); }, {x},
          0, 0, "argmax");
    }
    same_on_gpu([&](auto &in) { return sum(in[0]); }, {x}, tol, tol, "sum all");
    same_on_gpu([&](auto &in) { return sum(in[0].transpose(0, 2), {1}); }, {x},
                tol, tol, "sum of a view");
    same_on_gpu(
        [&](auto &in) {
          return sum_to(in[0], {4, 1});
        },
        {x}, tol, tol, "sum_to");
    for (int d : {0, 1, 2}) {
      same_on_gpu([&](auto &in) { return softmax(in[0], d); }, {x}, tol, tol,
                  "softmax");
      same_on_gpu([&](auto &in) { return logsoftmax(in[0], d); }, {x}, tol, tol,
                  "logsoftmax");
      same_on_gpu([&](auto &in) { return logsumexp(in[0], d); }, {x}, tol, tol,
                  "logsumexp");
    }
    if (dt == DType::f64) {
      same_grads_on_gpu([](auto &in) { return sum(in[0], {1}, true); }, {x},
                        1e-10, 1e-10, "sum gradient");
      same_grads_on_gpu([](auto &in) { return max(in[0], {2}); }, {x}, 1e-10,
                        1e-10, "max gradient");
      same_grads_on_gpu([](auto &in) { return logsoftmax(in[0], 1); }, {x},
                        1e-9, 1e-9, "logsoftmax gradient");
    }
  }
}

TEST(Gpu, MatmulConvPool) {
  REQUIRE_GPU();
  for (DType dt : {DType::f32, DType::f64}) {
    const double tol = dt == DType::f32 ? 1e-4 : 1e-10;
    Tensor a = rand_f64({2, 3, 4, 5}, -1, 1, 5).to(dt);
    Tensor b = rand_f64({3, 5, 6}, -1, 1, 6).to(dt);
    same_on_gpu([](auto &in) { return matmul(in[0], in[1]); }, {a, b}, tol, tol,
                "batched matmul");
    Tensor m = rand_f64({7, 5}, -1, 1, 7).to(dt);
    Tensor w = rand_f64({4, 5}, -1, 1, 8).to(dt);
    Tensor bias = rand_f64({4}, -1, 1, 9).to(dt);
    same_on_gpu([](auto &in) { return matmul(in[0], in[1].transpose(0, 1)); },
                {m, w}, tol, tol, "matmul of a transposed view");
    same_on_gpu([](auto &in) { return linear(in[0], in[1], in[2]); },
                {m, w, bias}, tol, tol, "linear");
    Tensor x = rand_f64({2, 3, 9, 8}, -1, 1, 10).to(dt);
    Tensor k = rand_f64({4, 3, 3, 3}, -1, 1, 11).to(dt);
    for (ConvOptions o : {ConvOptions{}, ConvOptions{.padding = 1, .stride = 2},
                          ConvOptions{.padding = 2, .dilation = 2}})
      same_on_gpu([&](auto &in) { return conv2d(in[0], in[1], o); }, {x, k},
                  tol, tol, "conv2d");
    for (PoolMode mode : {PoolMode::max, PoolMode::avg})
      same_on_gpu(
          [&](auto &in) { return pool(in[0], {.window = 2, .mode = mode}); },
          {x}, tol, tol, "pool");
    if (dt == DType::f64) {
      same_grads_on_gpu([](auto &in) { return matmul(in[0], in[1]); }, {a, b},
                        1e-9, 1e-9, "matmul gradient");
      same_grads_on_gpu(
          [](auto &in) { return conv2d(in[0], in[1], {.padding = 1}); }, {x, k},
          1e-9, 1e-9, "conv2d gradient");
      for (PoolMode mode : {PoolMode::max, PoolMode::avg})
        same_grads_on_gpu(
            [&](auto &in) { return pool(in[0], {.window = 2, .mode = mode}); },
            {x}, 1e-9, 1e-9, "pool gradient");
    }
  }
}

TEST(Gpu, LossesAndShapes) {
  REQUIRE_GPU();
  Tensor s = rand_f64({6, 4}, -2, 2, 12);
  Tensor y =
      Tensor::from<int64_t>(std::vector<int64_t>{0, 3, 1, -1, 2, 3}, {6});
  same_on_gpu([](auto &in) { return nll(in[0], in[1]); }, {s, y}, 1e-12, 1e-12,
              "nll");
  same_grads_on_gpu([&](auto &in) { return nll(in[0], y.to(in[0].device())); },
                    {s}, 1e-10, 1e-10, "nll gradient");
  EXPECT_DOUBLE_EQ(accuracy(s.to(kGpu), y.to(kGpu)), accuracy(s, y));
  // A skipped row's non-finite scores get a zero gradient, as on the CPU.
  std::vector<double> sv = s.to_vector<double>();
  sv[3 * 4 + 1] = std::numeric_limits<double>::infinity(); // row 3: id -1
  Tensor sn = Tensor::from(sv, {6, 4});
  same_grads_on_gpu([&](auto &in) { return nll(in[0], y.to(in[0].device())); },
                    {sn}, 1e-10, 1e-10, "nll gradient, a skipped row at inf");
  Tensor table = rand_f64({7, 3}, -1, 1, 17);
  Tensor ids = Tensor::from<int64_t>(std::vector<int64_t>{1, 4, 1, 6}, {2, 2});
  same_on_gpu(
      [&](auto &in) { return embedding(in[0], ids.to(in[0].device())); },
      {table}, 0, 0, "embedding");
  same_grads_on_gpu(
      [&](auto &in) { return embedding(in[0], ids.to(in[0].device())); },
      {table}, 1e-12, 1e-12, "embedding gradient (a repeated id)");
  Tensor bs = rand_f64({3, 4}, -2, 2, 20);
  Tensor p01 = rand_f64({3, 4}, 0, 1, 21),
         pm1 = sign(rand_f64({3, 4}, -1, 1, 22));
  same_on_gpu([](auto &in) { return bce(in[0], in[1]); }, {bs, p01}, 1e-12,
              1e-12, "bce");
  same_on_gpu([](auto &in) { return logistic(in[0], in[1]); }, {bs, pm1}, 1e-12,
              1e-12, "logistic");
  same_grads_on_gpu(
      [&](auto &in) { return bce(in[0], p01.to(in[0].device())); }, {bs}, 1e-10,
      1e-10, "bce gradient");
  same_grads_on_gpu(
      [&](auto &in) { return logistic(in[0], pm1.to(in[0].device())); }, {bs},
      1e-10, 1e-10, "logistic gradient");
  // batchnorm in training mode: values, gradients and the moments update.
  Tensor bx = rand_f64({4, 3, 2, 2}, -1, 1, 18);
  Tensor bp = rand_f64({6}, 0.5, 1.5, 19);
  same_grads_on_gpu(
      [](auto &in) {
        Moments m;
        return batchnorm(in[0], m, in[1], {.training = true});
      },
      {bx, bp}, 1e-10, 1e-10, "batchnorm gradient");
  Moments mc, mg;
  batchnorm(bx, mc, bp, {.training = true});
  batchnorm(bx.to(kGpu), mg, bp.to(kGpu), {.training = true});
  EXPECT_TRUE(all_close(mg.mean.to(kCpu), mc.mean, 1e-12, 1e-12));
  EXPECT_TRUE(all_close(mg.var.to(kCpu), mc.var, 1e-12, 1e-12));
  // Index tensors on the CPU go with values on the GPU.
  EXPECT_TRUE(all_close(embedding(table.to(kGpu), ids).to(kCpu),
                        embedding(table, ids), 0, 0));
  EXPECT_TRUE(all_close(nll(s.to(kGpu), y).to(kCpu), nll(s, y), 1e-12, 1e-12));
  Tensor u = rand_f64({2, 3}, -1, 1, 13), v = rand_f64({2, 5}, -1, 1, 14);
  same_grads_on_gpu(
      [](auto &in) {
        return concat({in[0], in[1]}, 1);
      },
      {u, v}, 0, 0, "concat gradient");
}

TEST(Gpu, HalfStorage) {
  REQUIRE_GPU();
  // f16/bf16 storage with float arithmetic against f32 on the CPU.
  Tensor x = rand_f64({5, 6}, -2, 2, 15).to(DType::f32);
  Tensor w = rand_f64({6, 3}, -1, 1, 16).to(DType::f32);
  for (DType half : {DType::f16, DType::bf16}) {
    const double tol = half == DType::f16 ? 2e-2 : 1e-1;
    Tensor h = x.to(kGpu).to(half), hw = w.to(kGpu).to(half);
    Tensor y = exp(h) * 0.5 + relu(h) - h / 3.0;
    EXPECT_EQ(y.dtype(), half);
    EXPECT_TRUE(all_close(y.to(DType::f32).to(kCpu),
                          exp(x) * 0.5 + relu(x) - x / 3.0, tol, tol));
    EXPECT_TRUE(
        all_close(sum(h, {1}).to(DType::f32).to(kCpu), sum(x, {1}), tol, tol));
    EXPECT_TRUE(all_close(matmul(h, hw).to(DType::f32).to(kCpu), matmul(x, w),
                          tol, tol));
    EXPECT_TRUE(all_close((h > 0.0).to(kCpu), x > 0.0, 0, 0));
    // 0-d half results and CPU scalars meeting half tensors.
    EXPECT_NEAR(mean(h).to(DType::f32).item<double>(), mean(x).item<double>(),
                tol);
    EXPECT_TRUE(all_close(
        where(h > 0.0, h, Tensor::scalar(0.0)).to(DType::f32).to(kCpu), relu(x),
        tol, tol));
    // A half Param trains with f32 optimizer state.
    Param p(h);
    Adam opt;
    for (int step = 0; step < 3; ++step)
      opt.update(p, (h * 1e-3).to(half));
    EXPECT_EQ(p.value().dtype(), half);
    EXPECT_TRUE(std::isfinite(sum(p.value()).to(DType::f32).item<double>()));
  }
}

TEST(Gpu, AllocatorUnderPressure) {
  REQUIRE_GPU();
  empty_cache(kGpu);
  const MemoryStats before = memory_stats(kGpu);
  {
    Tensor t = Tensor::empty({1 << 20}, DType::f32, kGpu);
    EXPECT_GE(memory_stats(kGpu).bytes_in_use, before.bytes_in_use + (4 << 20));
  }
  // Freed blocks are reused.
  const uint64_t hits = memory_stats(kGpu).cache_hits;
  { Tensor t = Tensor::empty({1 << 20}, DType::f32, kGpu); }
  EXPECT_EQ(memory_stats(kGpu).cache_hits, hits + 1);
  // Fill the device with cached blocks of one size, then ask for another:
  // the cache is released and the request retried, not failed.
  std::vector<Tensor> held;
  const int64_t chunk = int64_t{1} << 26; // 256 MiB of f32
  try {
    for (int i = 0; i < 4096; ++i)
      held.push_back(Tensor::empty({chunk}, DType::f32, kGpu));
    FAIL() << "the device never ran out of memory";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("out of memory"), std::string::npos)
        << e.what();
  }
  ASSERT_GT(held.size(), 1u);
  held.pop_back(); // one cached block
  held.pop_back(); // two
  EXPECT_GE(memory_stats(kGpu).bytes_cached,
            2 * 4 * static_cast<size_t>(chunk));
  Tensor other = Tensor::empty({chunk + chunk / 2}, DType::f32, kGpu);
  EXPECT_EQ(memory_stats(kGpu).bytes_cached, 0u);
  held.clear();
  other = Tensor();
  empty_cache(kGpu);
  EXPECT_EQ(memory_stats(kGpu).bytes_in_use, before.bytes_in_use);
}

TEST(Gpu, OptimizersMatchTheCpu) {
  REQUIRE_GPU();
  // Three steps of each optimizer, from fresh state, on both devices.
  auto run = [](auto opt, Device dev) {
    Param p(rand_f64({4, 3}, -1, 1, 30).to(dev));
    for (int step = 0; step < 3; ++step)
      opt.update(p, rand_f64({4, 3}, -1, 1, 31 + step).to(dev));
    return p.value().to(kCpu);
  };
  auto check = [&](auto opt, const char *name) {
    EXPECT_TRUE(all_close(run(opt, kGpu), run(opt, kCpu), 1e-12, 1e-12))
        << name;
  };
  check(SGD{}, "SGD");
  check(Momentum{}, "Momentum");
  check(Nesterov{}, "Nesterov");
  check(Adagrad{}, "Adagrad");
  check(Rmsprop{}, "Rmsprop");
  check(Adadelta{}, "Adadelta");
  check(Adam{}, "Adam");
  Adam clipped;
  clipped.gclip = 0.5;
  check(clipped, "Adam with gclip");
}

TEST(Gpu, TrainsAnMlp) {
  REQUIRE_GPU();
  // The same steps on both devices give the same parameters.
  auto train = [](Device dev) {
    seed(5);
    Param w1(rand_f64({8, 16}, -0.5, 0.5, 20).to(DType::f32).to(dev));
    Param b1(Tensor::zeros({16}, DType::f32, dev));
    Param w2(rand_f64({16, 4}, -0.5, 0.5, 21).to(DType::f32).to(dev));
    Tensor x = rand_f64({32, 8}, -1, 1, 22).to(DType::f32).to(dev);
    std::vector<int64_t> ids(32);
    for (int i = 0; i < 32; ++i)
      ids[i] = i % 4;
    Tensor y = Tensor::from<int64_t>(ids, {32}).to(dev);
    Adam opt;
    double loss = 0;
    for (int step = 0; step < 20; ++step) {
      Tape t = diff([&] {
        return nll(matmul(relu(matmul(x, w1.value()) + b1.value()), w2.value()),
                   y);
      });
      loss = t.value().item<double>();
      update(t, opt);
    }
    return std::make_pair(loss, w1.value().to(kCpu));
  };
  auto [cpu_loss, cpu_w] = train(kCpu);
  auto [gpu_loss, gpu_w] = train(kGpu);
  EXPECT_NEAR(gpu_loss, cpu_loss, 1e-4);
  EXPECT_TRUE(all_close(gpu_w, cpu_w, 1e-3, 1e-4));
}

} // namespace
