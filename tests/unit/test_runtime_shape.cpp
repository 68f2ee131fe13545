// Shape ops: embedding (and embedding_back), concat, stack, chunk, mat.
// Forward against naive index loops, backward against central differences.
#include "test_util.h"

#include <string>

using namespace knet;
using knet::testing::all_close;
using knet::testing::check_grads;
using knet::testing::rand_f64;

namespace {

Tensor ids_of(const std::vector<int64_t> &v, const Shape &s) {
  return Tensor::from(v, s);
}

// Expects `f` to throw a knet::Error whose message contains every part.
template <class F>
void expect_error(F f, const std::vector<std::string> &parts) {
  try {
    f();
    ADD_FAILURE() << "expected an error containing '" << parts[0] << "'";
  } catch (const Error &e) {
    for (const auto &p : parts)
      EXPECT_NE(std::string(e.what()).find(p), std::string::npos)
          << "message '" << e.what() << "' lacks '" << p << "'";
  }
}

// Naive concat of row-major tensors along d.
Tensor ref_concat(const std::vector<Tensor> &xs, int d) {
  Shape out = xs[0].shape();
  out[d] = 0;
  for (auto &x : xs)
    out[d] += x.shape()[d];
  int64_t outer = 1, inner = 1;
  for (int i = 0; i < d; ++i)
    outer *= out[i];
  for (size_t i = d + 1; i < out.size(); ++i)
    inner *= out[i];
  std::vector<double> v;
  for (int64_t o = 0; o < outer; ++o)
    for (auto &x : xs) {
      std::vector<double> xv = x.to_vector<double>();
      int64_t block = x.shape()[d] * inner;
      v.insert(v.end(), xv.begin() + o * block, xv.begin() + (o + 1) * block);
    }
  return Tensor::from(v, out);
}

} // namespace

TEST(Embedding, ForwardGathersRows) {
  for (DType dt : {DType::f64, DType::f32}) {
    Tensor table = rand_f64({5, 3}).to(dt);
    Tensor ids = ids_of({4, 0, 2, 2, 1, 4}, {2, 3});
    Tensor y = embedding(table, ids);
    ASSERT_EQ(y.shape(), (Shape{2, 3, 3}));
    EXPECT_EQ(y.dtype(), dt);
    std::vector<double> t = table.to_vector<double>(), out;
    for (int64_t id : ids.to_vector<int64_t>())
      for (int j = 0; j < 3; ++j)
        out.push_back(t[id * 3 + j]);
    EXPECT_TRUE(all_close(y, Tensor::from(out, {2, 3, 3})));
  }
  // 0-d and 1-d ids.
  Tensor table = rand_f64({4, 2});
  EXPECT_EQ(embedding(table, Tensor::scalar(3, DType::i64)).shape(),
            (Shape{2}));
  EXPECT_TRUE(all_close(embedding(table, Tensor::scalar(3, DType::i64)),
                        table.select(0, 3).contiguous()));
  EXPECT_EQ(embedding(table, ids_of({}, {0})).shape(), (Shape{0, 2}));
}

TEST(Embedding, NonContiguousTableAndIds) {
  Tensor base = rand_f64({3, 6});
  Tensor table = base.transpose(0, 1); // [6,3] strided
  Tensor ids = ids_of({5, 1, 0, 3, 3, 2}, {3, 2}).transpose(0, 1); // [2,3]
  ASSERT_FALSE(table.is_contiguous());
  ASSERT_FALSE(ids.is_contiguous());
  Tensor y = embedding(table, ids);
  Tensor ref = embedding(table.contiguous(), ids.contiguous());
  std::vector<double> b = base.to_vector<double>(), out;
  for (int64_t id : ids.to_vector<int64_t>())
    for (int j = 0; j < 3; ++j)
      out.push_back(b[j * 6 + id]);
  EXPECT_TRUE(all_close(y, Tensor::from(out, {2, 3, 3})));
  EXPECT_TRUE(all_close(y, ref));
}

TEST(Embedding, Errors) {
  Tensor table = rand_f64({5, 3});
  expect_error(
      [&] {
        (void)embedding(table, ids_of({1, 5}, {2}));
      },
      {"embedding", "id 5", "5 rows"});
  expect_error([&] { (void)embedding(table, ids_of({-1}, {1})); },
               {"embedding", "id -1"});
  expect_error([&] { (void)embedding(table, Tensor::zeros({2}, DType::i32)); },
               {"embedding", "i64", "i32"});
  expect_error([&] { (void)embedding(rand_f64({5}), ids_of({1}, {1})); },
               {"embedding", "[5]"});
  expect_error(
      [&] {
        (void)embedding(Tensor::zeros({2, 2}, DType::i64), ids_of({1}, {1}));
      },
      {"embedding", "floating"});
}

TEST(Embedding, BackwardScatterAdds) {
  Tensor ids = ids_of({2, 0, 2, 4, 2, 0}, {3, 2});
  Tensor dy = rand_f64({3, 2, 4});
  Tensor dx = embedding_back(dy, ids, 6);
  ASSERT_EQ(dx.shape(), (Shape{6, 4}));
  std::vector<double> g(24, 0.0), d = dy.to_vector<double>();
  std::vector<int64_t> iv = ids.to_vector<int64_t>();
  for (size_t i = 0; i < iv.size(); ++i)
    for (int j = 0; j < 4; ++j)
      g[iv[i] * 4 + j] += d[i * 4 + j];
  EXPECT_TRUE(all_close(dx, Tensor::from(g, {6, 4})));
  // Non-contiguous dy.
  Tensor dyt = rand_f64({4, 3, 2}).permute({1, 2, 0});
  EXPECT_TRUE(all_close(embedding_back(dyt, ids, 6),
                        embedding_back(dyt.contiguous(), ids, 6)));
  // A large case exercising the parallel path.
  Tensor big_ids = ids_of(std::vector<int64_t>(4000, 1), {4000});
  Tensor ones = Tensor::ones({4000, 16}, DType::f64);
  Tensor gb = embedding_back(ones, big_ids, 3);
  EXPECT_TRUE(all_close(gb.select(0, 1).contiguous(),
                        Tensor::full({16}, 4000.0, DType::f64)));
  EXPECT_TRUE(
      all_close(gb.select(0, 0).contiguous(), Tensor::zeros({16}, DType::f64)));
  expect_error(
      [&] {
        (void)embedding_back(rand_f64({3, 4}), ids, 6);
      },
      {"embedding_back", "[3,4]", "[3,2]"});
  expect_error([&] { (void)embedding_back(dy, ids, 4); },
               {"embedding_back", "id 4"});
}

TEST(EmbeddingGrad, TableAndBackwardKernel) {
  Tensor table = rand_f64({5, 3});
  Tensor ids = ids_of({4, 0, 2, 2, 1, 4, 4}, {7});
  EXPECT_TRUE(
      check_grads([](auto &v) { return embedding(v[0], v[1]); }, {table, ids}));
  Tensor ids2 = ids_of({1, 1, 3, 0}, {2, 2});
  EXPECT_TRUE(
      check_grads([](auto &v) { return embedding(v[0].transpose(0, 1), v[1]); },
                  {rand_f64({3, 4}), ids2}));
  // embedding_back is linear in dy; its gradient is embedding.
  Tensor dy = rand_f64({2, 2, 3});
  EXPECT_TRUE(check_grads([](auto &v) { return embedding_back(v[0], v[1], 5); },
                          {dy, ids2}));
  // Second order through the tape: d/dtable of a loss of the gradient.
  EXPECT_TRUE(check_grads(
      [ids2](auto &v) {
        auto [val, g] = value_and_grad(
            [ids2](Tensor t) { return sum(pow(embedding(t, ids2), 2.0)); },
            v[0] * 1.0);
        return g * v[0];
      },
      {rand_f64({4, 3})}));
}

TEST(Concat, ForwardAlongEachDim) {
  Tensor a = rand_f64({2, 3, 4}, -1, 1, 1), b = rand_f64({2, 1, 4}, -1, 1, 2),
         c = rand_f64({2, 2, 4}, -1, 1, 3);
  Tensor y = concat({a, b, c}, 1);
  EXPECT_EQ(y.shape(), (Shape{2, 6, 4}));
  EXPECT_TRUE(all_close(y, ref_concat({a, b, c}, 1)));
  EXPECT_TRUE(all_close(concat({a, b, c}, -2), ref_concat({a, b, c}, 1)));
  Tensor d = rand_f64({1, 3, 4}, -1, 1, 4);
  EXPECT_TRUE(all_close(concat({a, d}, 0), ref_concat({a, d}, 0)));
  Tensor e = rand_f64({2, 3, 2}, -1, 1, 5);
  EXPECT_TRUE(all_close(concat({a, e}, -1), ref_concat({a, e}, 2)));
  // A single tensor and an empty piece.
  EXPECT_TRUE(all_close(concat({a}, 0), a));
  EXPECT_TRUE(
      all_close(concat({a, Tensor::zeros({2, 0, 4}, DType::f64)}, 1), a));
  // Integers.
  Tensor i = Tensor::from<int64_t>({1, 2}, {2}),
         j = Tensor::from<int64_t>({3}, {1});
  EXPECT_EQ(concat({i, j}, 0).to_vector<int64_t>(),
            (std::vector<int64_t>{1, 2, 3}));
}

TEST(Concat, NonContiguousInputs) {
  Tensor a = rand_f64({4, 3}).transpose(0, 1);             // [3,4] strided
  Tensor b = rand_f64({3, 8}, -1, 1, 2).slice(1, 0, 8, 3); // [3,3] step 3
  ASSERT_FALSE(a.is_contiguous());
  ASSERT_FALSE(b.is_contiguous());
  EXPECT_TRUE(all_close(concat({a, b}, 1),
                        ref_concat({a.contiguous(), b.contiguous()}, 1)));
  EXPECT_TRUE(all_close(
      concat({b, a.slice(1, 0, 3)}, 0),
      ref_concat({b.contiguous(), a.slice(1, 0, 3).contiguous()}, 0)));
}

TEST(Concat, Errors) {
  Tensor a = Tensor::zeros({2, 3}), b = Tensor::zeros({3, 3});
  expect_error(
      [&] {
        (void)concat({a, b}, 1);
      },
      {"concat", "[2,3]", "[3,3]", "differ"});
  expect_error(
      [&] {
        (void)concat({a, Tensor::zeros({2, 3}, DType::f64)}, 0);
      },
      {"concat", "f32", "f64"});
  expect_error([&] { (void)concat({}, 0); }, {"concat"});
  expect_error(
      [&] {
        (void)concat({a, Tensor::zeros({2, 3, 1})}, 0);
      },
      {"concat", "[2,3,1]"});
  EXPECT_THROW((void)concat({a, a}, 2), Error);
  EXPECT_THROW((void)concat({Tensor::scalar(1), Tensor::scalar(2)}, 0), Error);
}

TEST(ConcatGrad, EveryInput) {
  Tensor a = rand_f64({2, 3}, -1, 1, 1), b = rand_f64({2, 2}, -1, 1, 2),
         c = rand_f64({2, 1}, -1, 1, 3);
  EXPECT_TRUE(check_grads(
      [](auto &v) {
        return concat({v[0], v[1], v[2]}, 1);
      },
      {a, b, c}));
  EXPECT_TRUE(check_grads(
      [](auto &v) {
        return concat({v[0].transpose(0, 1), v[1].transpose(0, 1)}, 0);
      },
      {a, b}));
  // One input used twice.
  EXPECT_TRUE(check_grads(
      [](auto &v) {
        return concat({v[0], exp(v[0]), v[1]}, -1);
      },
      {a, c}));
  // Higher order: the gradient slices are differentiable.
  EXPECT_TRUE(check_grads(
      [](auto &v) {
        auto [val, g] = value_and_grad(
            [](Tensor t) {
              return sum(pow(concat({t, t}, 0), 2.0));
            },
            v[0] * 1.0);
        return g * v[0];
      },
      {a}));
}

TEST(Stack, ForwardAndGrad) {
  Tensor a = rand_f64({2, 3}, -1, 1, 1), b = rand_f64({2, 3}, -1, 1, 2);
  Tensor s0 = stack({a, b}, 0);
  EXPECT_EQ(s0.shape(), (Shape{2, 2, 3}));
  EXPECT_TRUE(all_close(s0.select(0, 0).contiguous(), a));
  EXPECT_TRUE(all_close(s0.select(0, 1).contiguous(), b));
  Tensor s2 = stack({a, b}, -1);
  EXPECT_EQ(s2.shape(), (Shape{2, 3, 2}));
  std::vector<double> av = a.to_vector<double>(), bv = b.to_vector<double>(),
                      ref;
  for (size_t i = 0; i < av.size(); ++i) {
    ref.push_back(av[i]);
    ref.push_back(bv[i]);
  }
  EXPECT_TRUE(all_close(s2, Tensor::from(ref, {2, 3, 2})));
  Tensor s1 = stack({a, b, a}, 1);
  EXPECT_EQ(s1.shape(), (Shape{2, 3, 3}));
  EXPECT_TRUE(all_close(s1.select(1, 1).contiguous(), b));
  EXPECT_TRUE(all_close(stack({a.transpose(0, 1), b.transpose(0, 1)}, 0)
                            .select(0, 1)
                            .contiguous(),
                        b.transpose(0, 1).contiguous()));
  expect_error(
      [&] {
        (void)stack({a, rand_f64({3, 2})}, 0);
      },
      {"stack", "[2,3]", "[3,2]"});
  EXPECT_THROW((void)stack({}, 0), Error);
  EXPECT_THROW((void)stack({a}, 3), Error);
  EXPECT_TRUE(check_grads(
      [](auto &v) {
        return stack({v[0], v[1]}, 1);
      },
      {a, b}));
  EXPECT_TRUE(check_grads(
      [](auto &v) {
        return stack({v[0] * v[1], v[1]}, -1);
      },
      {a, b}));
}

TEST(Chunk, ArraySplitSizesAndViews) {
  Tensor x = rand_f64({3, 10});
  auto cs = chunk(x, 3, 1);
  ASSERT_EQ(cs.size(), 3u);
  std::vector<int64_t> want{4, 3, 3};
  std::vector<double> xv = x.to_vector<double>();
  int64_t begin = 0;
  for (int k = 0; k < 3; ++k) {
    EXPECT_EQ(cs[k].shape(), (Shape{3, want[k]}));
    EXPECT_TRUE(cs[k].shares_storage(x)); // a view
    std::vector<double> ref;
    for (int i = 0; i < 3; ++i)
      for (int64_t j = begin; j < begin + want[k]; ++j)
        ref.push_back(xv[i * 10 + j]);
    EXPECT_TRUE(all_close(cs[k], Tensor::from(ref, {3, want[k]})));
    begin += want[k];
  }
  // More pieces than elements: trailing empty pieces (numpy.array_split).
  auto small = chunk(x, 5, 0);
  ASSERT_EQ(small.size(), 5u);
  for (int k = 0; k < 5; ++k)
    EXPECT_EQ(small[k].shape(), (Shape{k < 3 ? 1 : 0, 10}));
  // Even split, negative dim, non-contiguous input.
  auto even = chunk(x.transpose(0, 1), 2, -2);
  ASSERT_EQ(even.size(), 2u);
  EXPECT_TRUE(
      all_close(even[1], x.transpose(0, 1).slice(0, 5, 10).contiguous()));
  EXPECT_THROW((void)chunk(x, 0, 0), Error);
  EXPECT_THROW((void)chunk(x, 2, 2), Error);
}

TEST(ChunkGrad, PiecesReachTheInput) {
  Tensor x = rand_f64({4, 7});
  EXPECT_TRUE(check_grads(
      [](auto &v) {
        auto c = chunk(v[0], 3, 1);
        return stack({sum(c[0] * c[0]), sum(exp(c[1])), sum(c[2] * 3.0)}, 0);
      },
      {x}));
  EXPECT_TRUE(check_grads(
      [](auto &v) {
        auto c = chunk(v[0].transpose(0, 1), 2, 0);
        return concat({c[1], c[0] * 2.0}, 0);
      },
      {x}));
}

TEST(Mat, FlattensToRowsAndRest) {
  Tensor x = rand_f64({2, 3, 4});
  Tensor m = mat(x);
  EXPECT_EQ(m.shape(), (Shape{2, 12}));
  EXPECT_EQ(m.to_vector<double>(), x.to_vector<double>());
  EXPECT_EQ(mat(rand_f64({5})).shape(), (Shape{5, 1}));
  EXPECT_EQ(mat(Tensor::scalar(2.0)).shape(), (Shape{1, 1}));
  EXPECT_EQ(mat(Tensor::zeros({0, 3, 2})).shape(), (Shape{0, 6}));
  EXPECT_EQ(mat(Tensor::zeros({3, 0, 2})).shape(), (Shape{3, 0}));
  // Non-contiguous: the values in row-major order of the view.
  Tensor t = x.permute({2, 0, 1}); // [4,2,3]
  Tensor mt = mat(t);
  EXPECT_EQ(mt.shape(), (Shape{4, 6}));
  std::vector<double> xv = x.to_vector<double>(), ref;
  for (int k = 0; k < 4; ++k)
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 3; ++j)
        ref.push_back(xv[i * 12 + j * 4 + k]);
  EXPECT_TRUE(all_close(mt, Tensor::from(ref, {4, 6})));
  EXPECT_TRUE(check_grads(
      [](auto &v) {
        return mat(v[0].permute({2, 0, 1}));
      },
      {x}));
  EXPECT_THROW((void)mat(Tensor()), Error);
}

// slice_back and select_back, the adjoints of the views for compiled code,
// equal the tape's gradients of Tensor::slice and Tensor::select.
TEST(ViewBackKernels, MatchTheTape) {
  Tensor x = rand_f64({4, 7}, -1, 1, 5);
  Param p(x);
  Tensor dy = rand_f64({4, 3}, -1, 1, 6);
  Tape ts = diff([&] { return sum(p.value().slice(1, 1, 6, 2) * dy); });
  EXPECT_TRUE(
      all_close(slice_back(dy, x.shape(), 1, 1, 6, 2), ts.grad(p), 0, 0));
  Tensor dr = rand_f64({7}, -1, 1, 7);
  Tape tr = diff([&] { return sum(p.value().select(0, -2) * dr); });
  EXPECT_TRUE(all_close(select_back(dr, x.shape(), 0, -2), tr.grad(p), 0, 0));
  EXPECT_THROW(slice_back(dy, x.shape(), 1, 0, 7), Error);
  // Under a tape the result's gradient flows back into dy.
  EXPECT_TRUE(check_grads(
      [&](const std::vector<Tensor> &in) {
        return slice_back(in[0], {4, 7}, 1, 1, 6, 2);
      },
      {dy}));
}
