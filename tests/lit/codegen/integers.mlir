// The IR's integers are signless; the emitted C++ carries them in intN_t.
// Ops with unsigned semantics read their operands through
// knet::detail::as_unsigned, add/sub/mul without nsw wrap (computed in an
// unsigned type), narrow integer arguments are read from their exact i64
// leaves and integer results leave as exact i64 leaves; knet.undefined is a
// default-constructed Tensor.
// RUN: %knet-translate --emit-cpp --knet-forward-only --knet-no-includes %s | FileCheck %s

// CHECK-LABEL: knet_ints_forward(
// CHECK:      int32_t u = static_cast<int32_t>(in[0].item<int64_t>());
// CHECK-NEXT: int8_t c = static_cast<int8_t>(in[1].item<int64_t>());
// CHECK-NEXT: int64_t l = in[2].item<int64_t>();
// CHECK-NEXT: int32_t v0 = static_cast<int32_t>(knet::detail::as_unsigned<int32_t>(u) / knet::detail::as_unsigned<int32_t>(7));
// CHECK-NEXT: int32_t v1 = static_cast<int32_t>(knet::detail::as_unsigned<int32_t>(v0) % knet::detail::as_unsigned<int32_t>(5));
// CHECK-NEXT: int32_t v2 = knet::detail::wrapping_sub<int32_t>(v1, u);
// CHECK-NEXT: int32_t v3 = v1 * 3;
// CHECK-NEXT: int32_t v4 = static_cast<int32_t>(knet::detail::as_unsigned<int32_t>(u) >> 1);
// CHECK-NEXT: bool v5 = knet::detail::as_unsigned<int32_t>(v2) < knet::detail::as_unsigned<int32_t>(v4);
// CHECK-NEXT: int64_t v6 = static_cast<int64_t>(knet::detail::as_unsigned<int8_t>(c));
// CHECK-NEXT: int64_t v7 = static_cast<int64_t>(c);
// CHECK-NEXT: int8_t v8 = static_cast<int8_t>(l);
// CHECK-NEXT: double v9 = static_cast<double>(knet::detail::as_unsigned<int32_t>(v3));
// CHECK-NEXT: int32_t v10 = knet::detail::float_to_unsigned<int32_t>(v9);
// CHECK-NEXT: int64_t v11 = knet::detail::wrapping_add<int64_t>(v6, v7);
// CHECK-NEXT: int64_t v12 = v11 << 3;
// CHECK-NEXT: std::vector<knet::Tensor> out;
// CHECK-NEXT: out.push_back(knet::detail::integer_leaf(v12));
// CHECK-NEXT: out.push_back(knet::detail::integer_leaf(v5));
// CHECK-NEXT: out.push_back(knet::detail::integer_leaf(v8));
// CHECK-NEXT: out.push_back(knet::detail::integer_leaf(v10));
func.func @ints(%u: i32 loc("u"("i.cpp":1:1)), %c: i8 loc("c"("i.cpp":1:1)),
                %l: i64 loc("l"("i.cpp":1:1))) -> (i64, i1, i8, i32) {
  %c7 = arith.constant 7 : i32
  %c5 = arith.constant 5 : i32
  %c3 = arith.constant 3 : i32
  %c1 = arith.constant 1 : i32
  %d = arith.divui %u, %c7 : i32
  %r = arith.remui %d, %c5 : i32
  %s = arith.subi %r, %u : i32
  %m = arith.muli %r, %c3 overflow<nsw> : i32
  %h = arith.shrui %u, %c1 : i32
  %lt = arith.cmpi ult, %s, %h : i32
  %z = arith.extui %c : i8 to i64
  %x = arith.extsi %c : i8 to i64
  %t = arith.trunci %l : i64 to i8
  %f = arith.uitofp %m : i32 to f64
  %g = arith.fptoui %f : f64 to i32
  %sum = arith.addi %z, %x : i64
  %three = arith.constant 3 : i64
  %shl = arith.shli %sum, %three : i64
  return %shl, %lt, %t, %g : i64, i1, i8, i32
}

// CHECK-LABEL: knet_undef_forward(
// CHECK: knet::Tensor v0 = knet::Tensor();
// CHECK: return {v0};
func.func @undef() -> tensor<*xf32> {
  %t = knet.undefined : tensor<*xf32>
  return %t : tensor<*xf32>
}

// A cast that keeps the element type only changes the rank the IR knows:
// no conversion (f32 stands for the run-time dtype; `.to(f32)` here once
// narrowed f64 values).
// CHECK-LABEL: knet_rank_cast_forward(
// CHECK: knet::Tensor v0 = x;
// CHECK-NOT: .to(
// CHECK: return {v0};
func.func @rank_cast(%x: tensor<f32> loc("x"("i.cpp":1:1))) -> tensor<*xf32> {
  %c = knet.cast %x : tensor<f32> -> tensor<*xf32>
  return %c : tensor<*xf32>
}
