// matmul and linear: forward against naive f64 loops (2-D, batched with
// broadcast batch dims, transposed and sliced views), errors, and gradients
// against central differences.
#include "test_util.h"

#include "core/parallel.h"

#include <knet/compiled.h>
#include <knet/ops/linalg.h>

#include <string>

using namespace knet;
using knet::testing::all_close;
using knet::testing::check_grads;
using knet::testing::rand_f32;
using knet::testing::rand_f64;

namespace {

// Row-major strides of a shape.
Shape strides_of(const Shape &s) {
  Shape st(s.size(), 1);
  for (int i = static_cast<int>(s.size()) - 2; i >= 0; --i)
    st[i] = st[i + 1] * s[i + 1];
  return st;
}

// Naive batched matmul in f64 with NumPy broadcasting of the batch dims.
Tensor ref_matmul(const Tensor &a, const Tensor &b) {
  const Shape &as = a.shape(), &bs = b.shape();
  const int ra = static_cast<int>(as.size()), rb = static_cast<int>(bs.size());
  const int64_t m = as[ra - 2], k = as[ra - 1], n = bs[rb - 1];
  const int nb = std::max(ra, rb) - 2;
  Shape batch(nb);
  for (int i = 0; i < nb; ++i) {
    int ia = i - (nb - (ra - 2)), ib = i - (nb - (rb - 2));
    int64_t x = ia >= 0 ? as[ia] : 1, y = ib >= 0 ? bs[ib] : 1;
    batch[i] = std::max(x, y);
  }
  std::vector<double> av = a.to_vector<double>(), bv = b.to_vector<double>();
  Shape ast = strides_of(as), bst = strides_of(bs);
  Shape out = batch;
  out.push_back(m);
  out.push_back(n);
  int64_t count = 1;
  for (int64_t s : batch)
    count *= s;
  std::vector<double> y(count * m * n, 0.0);
  for (int64_t bi = 0; bi < count; ++bi) {
    // The batch multi-index and each operand's offset.
    int64_t r = bi, oa = 0, ob = 0;
    for (int i = nb - 1; i >= 0; --i) {
      int64_t idx = r % batch[i];
      r /= batch[i];
      int ia = i - (nb - (ra - 2)), ib = i - (nb - (rb - 2));
      if (ia >= 0 && as[ia] != 1)
        oa += idx * ast[ia];
      if (ib >= 0 && bs[ib] != 1)
        ob += idx * bst[ib];
    }
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double acc = 0;
        for (int64_t p = 0; p < k; ++p)
          acc += av[oa + i * k + p] * bv[ob + p * n + j];
        y[bi * m * n + i * n + j] = acc;
      }
  }
  return Tensor::from(y, out);
}

std::string error_of(const std::function<void()> &f) {
  try {
    f();
  } catch (const Error &e) {
    return e.what();
  }
  return "(no error)";
}

} // namespace

TEST(Matmul, TwoDimF64AndF32) {
  Tensor a = rand_f64({5, 12}, -1, 1, 1), b = rand_f64({12, 4}, -1, 1, 2);
  Tensor y = matmul(a, b);
  EXPECT_EQ(y.dtype(), DType::f64);
  EXPECT_TRUE(all_close(y, ref_matmul(a, b), 1e-12, 1e-12));
  Tensor a32 = a.to(DType::f32), b32 = b.to(DType::f32);
  Tensor y32 = matmul(a32, b32);
  EXPECT_EQ(y32.dtype(), DType::f32);
  // f32 (oneDNN) against the f64 reference of the same (rounded) values.
  EXPECT_TRUE(all_close(y32, ref_matmul(a32, b32), 1e-5, 1e-5));
}

TEST(Matmul, LargerF32MatchesReference) {
  Tensor a = rand_f32({37, 150}, -1, 1, 3), b = rand_f32({150, 29}, -1, 1, 4);
  EXPECT_TRUE(all_close(matmul(a, b), ref_matmul(a, b), 1e-4, 1e-4));
}

// f64 products split their rows across knet's threads (OpenBLAS on each);
// f32 ones of up to 1e6 multiply-adds go to OpenBLAS, larger ones to
// oneDNN. Every path, plain and with transposed operands, at 1 to 3
// threads.
TEST(Matmul, EveryKernelPathAndThreadCount) {
  const int before = num_threads();
  struct Case {
    int64_t m, k, n;
  };
  for (Case c : {Case{300, 40, 50}, Case{7, 300, 3}, Case{120, 130, 110}}) {
    Tensor a = rand_f64({c.m, c.k}, -1, 1, 11);
    Tensor b = rand_f64({c.k, c.n}, -1, 1, 12);
    Tensor at = rand_f64({c.k, c.m}, -1, 1, 13).transpose(0, 1);
    Tensor bt = rand_f64({c.n, c.k}, -1, 1, 14).transpose(0, 1);
    for (auto [x, y] : {std::pair{a, b}, std::pair{at, b}, std::pair{a, bt},
                        std::pair{at, bt}}) {
      Tensor want = ref_matmul(x.contiguous(), y.contiguous());
      Tensor x32 = x.to(DType::f32), y32 = y.to(DType::f32);
      Tensor want32 = ref_matmul(x32.contiguous(), y32.contiguous());
      for (int threads : {1, 2, 3}) {
        set_num_threads(threads);
        EXPECT_TRUE(all_close(matmul(x, y), want, 1e-12, 1e-12))
            << c.m << "x" << c.k << "x" << c.n << ", " << threads << " threads";
        EXPECT_TRUE(all_close(matmul(x32, y32), want32, 1e-5, 1e-5))
            << c.m << "x" << c.k << "x" << c.n << " f32, " << threads
            << " threads";
      }
    }
  }
  set_num_threads(before);
}

TEST(Matmul, BatchedWithBroadcasting) {
  struct Case {
    Shape a, b;
  };
  for (Case c : {Case{{3, 2, 4}, {3, 4, 5}}, Case{{2, 1, 3, 4}, {3, 4, 5}},
                 Case{{3, 4}, {2, 4, 5}}, Case{{2, 3, 4}, {4, 5}},
                 Case{{2, 1, 3, 4}, {1, 3, 4, 2}}}) {
    Tensor a = rand_f64(c.a, -1, 1, 5), b = rand_f64(c.b, -1, 1, 6);
    Tensor ref = ref_matmul(a, b);
    EXPECT_TRUE(all_close(matmul(a, b), ref, 1e-12, 1e-12))
        << shape_str(c.a) << " x " << shape_str(c.b);
    EXPECT_TRUE(
        all_close(matmul(a.to(DType::f32), b.to(DType::f32)), ref, 1e-5, 1e-5))
        << shape_str(c.a) << " x " << shape_str(c.b);
  }
}

TEST(Matmul, TransposedAndSlicedInputs) {
  for (DType dt : {DType::f64, DType::f32}) {
    const double tol = dt == DType::f64 ? 1e-12 : 1e-5;
    Tensor x = rand_f64({6, 5}, -1, 1, 7).to(dt);
    Tensor z = rand_f64({6, 4}, -1, 1, 8).to(dt);
    // x^T . z with x^T a transposed view (column-major: a BLAS flag).
    Tensor xt = x.transpose(0, 1);
    ASSERT_FALSE(xt.is_contiguous());
    EXPECT_TRUE(
        all_close(matmul(xt, z), ref_matmul(xt.contiguous(), z), tol, tol));
    // z^T . x: both sides transposed views.
    Tensor zt = z.transpose(0, 1);
    EXPECT_TRUE(
        all_close(matmul(zt, x), ref_matmul(zt.contiguous(), x), tol, tol));
    // x . x^T (both views of one tensor).
    EXPECT_TRUE(
        all_close(matmul(x, xt), ref_matmul(x, xt.contiguous()), tol, tol));
    // Column slice: rows with a leading dimension larger than cols.
    Tensor xs = x.slice(1, 1, 4); // [6,3]
    Tensor w = rand_f64({3, 2}, -1, 1, 9).to(dt);
    EXPECT_TRUE(
        all_close(matmul(xs, w), ref_matmul(xs.contiguous(), w), tol, tol));
    // Step slices: neither row- nor column-major (copied).
    Tensor xss = x.slice(1, 0, 5, 2); // [6,3], col stride 2
    Tensor xrs = x.slice(0, 0, 6, 2); // [3,5], row stride 10
    Tensor b5 = rand_f64({5, 3}, -1, 1, 10).to(dt);
    EXPECT_TRUE(
        all_close(matmul(xss, w), ref_matmul(xss.contiguous(), w), tol, tol));
    EXPECT_TRUE(
        all_close(matmul(xrs, b5), ref_matmul(xrs.contiguous(), b5), tol, tol));
    // Batched transposed view and a sliced batch dim.
    Tensor bx = rand_f64({4, 3, 5}, -1, 1, 11).to(dt);
    Tensor bt = bx.transpose(-2, -1); // [4,5,3]
    Tensor by = rand_f64({4, 3, 2}, -1, 1, 12).to(dt);
    EXPECT_TRUE(
        all_close(matmul(bt, by), ref_matmul(bt.contiguous(), by), tol, tol));
    Tensor bsl = bx.slice(0, 1, 4, 2); // batch [2], stride 30
    Tensor by2 = by.slice(0, 0, 2).transpose(-2, -1).transpose(-2, -1);
    Tensor r = rand_f64({2, 5, 3}, -1, 1, 13).to(dt);
    EXPECT_TRUE(
        all_close(matmul(bsl, r), ref_matmul(bsl.contiguous(), r), tol, tol));
    EXPECT_TRUE(all_close(matmul(bsl.transpose(-2, -1), by2),
                          ref_matmul(bsl.transpose(-2, -1).contiguous(), by2),
                          tol, tol));
    // A single row with a non-unit stride, and a broadcast (expanded) batch.
    Tensor row = xt.slice(0, 2, 3); // [1,6], stride 5 along the row
    EXPECT_TRUE(
        all_close(matmul(row, z), ref_matmul(row.contiguous(), z), tol, tol));
    Tensor ex = x.unsqueeze(0).expand({3, 6, 5});
    Tensor e2 = rand_f64({3, 5, 2}, -1, 1, 14).to(dt);
    EXPECT_TRUE(
        all_close(matmul(ex, e2), ref_matmul(ex.contiguous(), e2), tol, tol));
  }
}

TEST(Matmul, EmptyInnerDimensionGivesZeros) {
  Tensor a = Tensor::zeros({3, 0}, DType::f64);
  Tensor b = Tensor::zeros({0, 2}, DType::f64);
  Tensor y = matmul(a, b);
  EXPECT_EQ(y.shape(), (Shape{3, 2}));
  EXPECT_TRUE(all_close(y, Tensor::zeros({3, 2}, DType::f64)));
  EXPECT_EQ(matmul(Tensor::zeros({0, 4}), Tensor::zeros({4, 2})).shape(),
            (Shape{0, 2}));
}

TEST(Matmul, Errors) {
  Tensor a = rand_f64({5, 12}), b = rand_f64({8, 4});
  EXPECT_EQ(error_of([&] { matmul(a, b); }),
            "matmul: inner dimensions differ: [5,12] x [8,4]");
  std::string e = error_of([&] { matmul(rand_f64({3}), rand_f64({3, 2})); });
  EXPECT_NE(e.find("matmul: operands must have rank >= 2"), std::string::npos)
      << e;
  e = error_of([&] { matmul(rand_f64({2, 3}), rand_f32({3, 2})); });
  EXPECT_NE(e.find("matmul: dtype mismatch"), std::string::npos) << e;
  e = error_of([&] { matmul(rand_f64({2, 2, 3}), rand_f64({3, 3, 4})); });
  EXPECT_EQ(e, "matmul: batch dimensions do not broadcast: [2,2,3] x [3,3,4]");
  e = error_of([&] {
    matmul(Tensor::zeros({2, 2}, DType::i64),
           Tensor::zeros({2, 2}, DType::i64));
  });
  EXPECT_NE(e.find("matmul: expected f32 or f64"), std::string::npos) << e;
  e = error_of([&] { matmul(Tensor(), b); });
  EXPECT_NE(e.find("matmul: undefined"), std::string::npos) << e;
}

TEST(Matmul, Gradients) {
  auto f = [](const std::vector<Tensor> &in) { return matmul(in[0], in[1]); };
  EXPECT_TRUE(
      check_grads(f, {rand_f64({3, 4}, -1, 1, 1), rand_f64({4, 2}, -1, 1, 2)}));
  // Broadcast batch dims on both sides: the gradients are summed back.
  EXPECT_TRUE(check_grads(
      f, {rand_f64({2, 1, 3, 4}, -1, 1, 3), rand_f64({3, 4, 2}, -1, 1, 4)}));
  EXPECT_TRUE(check_grads(
      f, {rand_f64({3, 4}, -1, 1, 5), rand_f64({2, 4, 2}, -1, 1, 6)}));
  // Through transposed views.
  EXPECT_TRUE(check_grads(
      [](const std::vector<Tensor> &in) {
        return matmul(in[0].transpose(0, 1), in[1].transpose(-2, -1));
      },
      {rand_f64({4, 3}, -1, 1, 7), rand_f64({2, 5, 4}, -1, 1, 8)}));
  // Second order: the gradient of a product is itself differentiable.
  EXPECT_TRUE(check_grads(
      [](const std::vector<Tensor> &in) {
        Tensor a = in[0] * 1.0, b = in[1] * 1.0;
        auto [v, da, db] = value_and_grad(
            [](const Tensor &p, const Tensor &q) {
              Tensor y = matmul(p, q);
              return sum(y * y);
            },
            a, b);
        return da + matmul(a, db) * 0.5;
      },
      {rand_f64({3, 4}, -1, 1, 9), rand_f64({4, 4}, -1, 1, 10)}));
}

TEST(Linear, ForwardAgainstReference) {
  for (DType dt : {DType::f64, DType::f32}) {
    const double tol = dt == DType::f64 ? 1e-12 : 1e-5;
    Tensor x = rand_f64({5, 7}, -1, 1, 1).to(dt);
    Tensor w = rand_f64({3, 7}, -1, 1, 2).to(dt);
    Tensor b = rand_f64({3}, -1, 1, 3).to(dt);
    Tensor xw = ref_matmul(x, w.transpose(0, 1).contiguous());
    std::vector<double> ref = xw.to_vector<double>(),
                        bv = b.to_vector<double>();
    for (size_t i = 0; i < ref.size(); ++i)
      ref[i] += bv[i % 3];
    EXPECT_TRUE(
        all_close(linear(x, w, b), Tensor::from(ref, {5, 3}), tol, tol));
    EXPECT_TRUE(all_close(linear(x, w), xw, tol, tol));
    // A transposed x view and a batched x.
    Tensor xt = rand_f64({7, 5}, -1, 1, 4).to(dt).transpose(0, 1);
    EXPECT_TRUE(all_close(
        linear(xt, w),
        ref_matmul(xt.contiguous(), w.transpose(0, 1).contiguous()), tol, tol));
    Tensor xb = rand_f64({2, 5, 7}, -1, 1, 5).to(dt);
    Tensor yb = linear(xb, w, b);
    EXPECT_EQ(yb.shape(), (Shape{2, 5, 3}));
    EXPECT_TRUE(all_close(yb.slice(0, 1, 2).reshape({5, 3}),
                          linear(xb.slice(0, 1, 2).reshape({5, 7}), w, b), tol,
                          tol));
  }
}

TEST(Linear, Gradients) {
  auto f = [](const std::vector<Tensor> &in) {
    return linear(in[0], in[1], in[2]);
  };
  EXPECT_TRUE(
      check_grads(f, {rand_f64({4, 3}, -1, 1, 1), rand_f64({2, 3}, -1, 1, 2),
                      rand_f64({2}, -1, 1, 3)}));
  EXPECT_TRUE(
      check_grads(f, {rand_f64({2, 4, 3}, -1, 1, 4), rand_f64({2, 3}, -1, 1, 5),
                      rand_f64({2}, -1, 1, 6)}));
  EXPECT_TRUE(check_grads(
      [](const std::vector<Tensor> &in) { return linear(in[0], in[1]); },
      {rand_f64({4, 3}, -1, 1, 7), rand_f64({2, 3}, -1, 1, 8)}));
  // Second order through linear.
  EXPECT_TRUE(check_grads(
      [](const std::vector<Tensor> &in) {
        Tensor x = in[0] * 1.0, w = in[1] * 1.0;
        auto [v, dx, dw] = value_and_grad(
            [](const Tensor &p, const Tensor &q) {
              return sum(tanh(linear(p, q)));
            },
            x, w);
        return dx;
      },
      {rand_f64({3, 4}, -1, 1, 9), rand_f64({2, 4}, -1, 1, 10)}));
}

TEST(Linear, Errors) {
  std::string e = error_of([] { linear(rand_f64({4, 3}), rand_f64({2, 5})); });
  EXPECT_NE(e.find("linear: x has 3 features but w expects 5"),
            std::string::npos)
      << e;
  e = error_of([] {
    linear(rand_f64({4, 3}), rand_f64({2, 3}), rand_f64({3}));
  });
  EXPECT_NE(e.find("linear: bias must be [2]"), std::string::npos) << e;
  e = error_of([] {
    linear(rand_f64({4, 3}), rand_f64({2, 3}), rand_f32({2}));
  });
  EXPECT_NE(e.find("linear: dtype mismatch"), std::string::npos) << e;
  e = error_of([] { linear(rand_f64({3}), rand_f64({2, 3})); });
  EXPECT_NE(e.find("linear: expected x [N, in]"), std::string::npos) << e;
}

// knet.matmul_acc's runtime: the product added into acc's own buffer when
// nothing else holds it, else the three ops (same values, acc untouched).
TEST(MatmulAccumulate, IntoTheBufferNothingElseHolds) {
  for (DType t : {DType::f32, DType::f64}) {
    SCOPED_TRACE(dtype_name(t));
    const double tol = t == DType::f32 ? 1e-5 : 1e-12;
    auto buffer_of = [](const Tensor &x) -> const void * {
      return x.dtype() == DType::f32
                 ? static_cast<const void *>(x.data<float>())
                 : x.data<double>();
    };
    Tensor a = rand_f64({5, 7}, -1, 1, 70).to(t);
    Tensor bt = rand_f64({4, 7}, -1, 1, 71).to(t);
    Tensor b = bt.transpose(0, 1); // a view, as the adjoint's x^T
    Tensor like = Tensor::zeros({5, 4}, t);
    Tensor acc0 = rand_f64({5, 4}, -1, 1, 72).to(t);
    Tensor want = acc0 + matmul(a, b);
    // Alone: the result is acc's buffer.
    Tensor acc = acc0.clone();
    const void *buffer = buffer_of(acc);
    Tensor got = detail::matmul_accumulate(acc, a, b, like);
    EXPECT_EQ(buffer_of(got), buffer);
    EXPECT_TRUE(all_close(got, want, tol, tol));
    // Held by another tensor, or viewed: a new tensor; acc keeps its values.
    Tensor held = acc0.clone(), other = held;
    Tensor got2 = detail::matmul_accumulate(held, a, b, like);
    EXPECT_NE(buffer_of(got2), buffer_of(held));
    EXPECT_TRUE(all_close(got2, want, tol, tol));
    EXPECT_TRUE(all_close(held, acc0, 0, 0));
    Tensor base = acc0.clone(), view = base.reshape({5, 4});
    base = Tensor();
    Tensor viewed = view.slice(0, 0, 5); // shares the storage
    Tensor got3 = detail::matmul_accumulate(viewed, a, b, like);
    EXPECT_NE(buffer_of(got3), buffer_of(view));
    EXPECT_TRUE(all_close(view, acc0, 0, 0));
    // Under a tape: the ops, recorded.
    Param p(acc0.clone());
    Tape tape = diff([&] {
      return sum(detail::matmul_accumulate(p.value() * 1.0, a, b, like));
    });
    EXPECT_TRUE(all_close(tape.grad(p), Tensor::ones({5, 4}, t), 0, 0));
    // A product that sum_to reduces (batched), or acc broadcast: the ops.
    Tensor a3 = rand_f64({2, 5, 7}, -1, 1, 73).to(t);
    Tensor acc3 = acc0.clone();
    Tensor got4 = detail::matmul_accumulate(acc3, a3, b, like);
    EXPECT_TRUE(
        all_close(got4, acc0 + sum_to(matmul(a3, b), {5, 4}), tol, tol));
    Tensor row = rand_f64({1, 4}, -1, 1, 74).to(t);
    Tensor got5 = detail::matmul_accumulate(row, a, b, like);
    EXPECT_EQ(got5.shape(), Shape({5, 4}));
    EXPECT_TRUE(all_close(got5, row + matmul(a, b), tol, tol));
  }
  // The ops' errors.
  Tensor acc = Tensor::zeros({5, 4});
  EXPECT_THROW(detail::matmul_accumulate(acc, Tensor::zeros({5, 3}),
                                         Tensor::zeros({7, 4}), acc),
               Error);
}
