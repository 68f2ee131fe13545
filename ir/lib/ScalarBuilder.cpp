//===- ScalarBuilder.cpp - scalar bodies of elementwise ops ---------------===//

#include "knet/IR/ScalarBuilder.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"

#include "llvm/ADT/SmallPtrSet.h"

using namespace mlir;
using namespace mlir::knet;

static bool isFloat(Value v) { return isa<FloatType>(v.getType()); }

Value ScalarBuilder::c(Type type, double v) {
  // Constants are made before they are used, in the body's one block, so an
  // earlier one dominates every later use.
  for (auto &[t, value, op] : constants)
    if (t == type && value == v)
      return op;
  Value result;
  if (auto ft = dyn_cast<FloatType>(type);
      ft && ft.isF32() && static_cast<double>(static_cast<float>(v)) != v) {
    // f32 stands for the run-time float dtype: keep the exact double and
    // narrow it in the body (an f64 kernel must see 0.7978845608028654).
    Value exact = b.create<arith::ConstantOp>(loc, b.getF64FloatAttr(v));
    result = b.create<arith::TruncFOp>(loc, ft, exact);
  } else if (auto ft = dyn_cast<FloatType>(type)) {
    result = b.create<arith::ConstantOp>(loc, b.getFloatAttr(ft, v));
  } else if (type.isIndex()) {
    result = b.create<arith::ConstantIndexOp>(loc, static_cast<int64_t>(v));
  } else {
    result = b.create<arith::ConstantOp>(
        loc, b.getIntegerAttr(type, static_cast<int64_t>(v)));
  }
  constants.emplace_back(type, v, result);
  return result;
}

Value ScalarBuilder::add(Value x, Value y) {
  if (isFloat(x))
    return b.create<arith::AddFOp>(loc, x, y);
  return b.create<arith::AddIOp>(loc, x, y);
}

Value ScalarBuilder::sub(Value x, Value y) {
  if (isFloat(x))
    return b.create<arith::SubFOp>(loc, x, y);
  return b.create<arith::SubIOp>(loc, x, y);
}

Value ScalarBuilder::mul(Value x, Value y) {
  if (isFloat(x))
    return b.create<arith::MulFOp>(loc, x, y);
  return b.create<arith::MulIOp>(loc, x, y);
}

Value ScalarBuilder::div(Value x, Value y) {
  if (isFloat(x))
    return b.create<arith::DivFOp>(loc, x, y);
  return b.create<arith::DivSIOp>(loc, x, y);
}

Value ScalarBuilder::neg(Value x) {
  if (isFloat(x))
    return b.create<arith::NegFOp>(loc, x);
  return sub(zero(x), x);
}

Value ScalarBuilder::abs(Value x) {
  if (isFloat(x))
    return b.create<math::AbsFOp>(loc, x);
  return b.create<math::AbsIOp>(loc, x);
}

Value ScalarBuilder::max(Value x, Value y) {
  if (isFloat(x))
    return b.create<arith::MaximumFOp>(loc, x, y);
  return b.create<arith::MaxSIOp>(loc, x, y);
}

Value ScalarBuilder::min(Value x, Value y) {
  if (isFloat(x))
    return b.create<arith::MinimumFOp>(loc, x, y);
  return b.create<arith::MinSIOp>(loc, x, y);
}

Value ScalarBuilder::sign(Value x) {
  Value pos = cmp(CmpKind::gt, x, zero(x));
  Value neg = cmp(CmpKind::lt, x, zero(x));
  return select(pos, one(x), select(neg, c(x, -1.0), zero(x)));
}

Value ScalarBuilder::cmp(CmpKind kind, Value x, Value y) {
  if (isFloat(x)) {
    arith::CmpFPredicate p = arith::CmpFPredicate::OEQ;
    switch (kind) {
    case CmpKind::eq:
      p = arith::CmpFPredicate::OEQ;
      break;
    case CmpKind::ne:
      p = arith::CmpFPredicate::UNE;
      break;
    case CmpKind::lt:
      p = arith::CmpFPredicate::OLT;
      break;
    case CmpKind::le:
      p = arith::CmpFPredicate::OLE;
      break;
    case CmpKind::gt:
      p = arith::CmpFPredicate::OGT;
      break;
    case CmpKind::ge:
      p = arith::CmpFPredicate::OGE;
      break;
    }
    return b.create<arith::CmpFOp>(loc, p, x, y);
  }
  arith::CmpIPredicate p = arith::CmpIPredicate::eq;
  switch (kind) {
  case CmpKind::eq:
    p = arith::CmpIPredicate::eq;
    break;
  case CmpKind::ne:
    p = arith::CmpIPredicate::ne;
    break;
  case CmpKind::lt:
    p = arith::CmpIPredicate::slt;
    break;
  case CmpKind::le:
    p = arith::CmpIPredicate::sle;
    break;
  case CmpKind::gt:
    p = arith::CmpIPredicate::sgt;
    break;
  case CmpKind::ge:
    p = arith::CmpIPredicate::sge;
    break;
  }
  return b.create<arith::CmpIOp>(loc, p, x, y);
}

Value ScalarBuilder::select(Value cond, Value x, Value y) {
  return b.create<arith::SelectOp>(loc, cond, x, y);
}

Value ScalarBuilder::cast(Value x, Type to) {
  Type from = x.getType();
  if (from == to)
    return x;
  auto fromF = dyn_cast<FloatType>(from);
  auto toF = dyn_cast<FloatType>(to);
  if (fromF && toF) {
    if (toF.getWidth() > fromF.getWidth())
      return b.create<arith::ExtFOp>(loc, to, x);
    return b.create<arith::TruncFOp>(loc, to, x);
  }
  if (to.isInteger(1))
    return cmp(CmpKind::ne, x, zero(x));
  if (toF) {
    if (from.isInteger(1))
      return b.create<arith::UIToFPOp>(loc, to, x);
    return b.create<arith::SIToFPOp>(loc, to, x);
  }
  if (fromF)
    return b.create<arith::FPToSIOp>(loc, to, x);
  if (from.getIntOrFloatBitWidth() < to.getIntOrFloatBitWidth())
    return from.isInteger(1) ? Value(b.create<arith::ExtUIOp>(loc, to, x))
                             : Value(b.create<arith::ExtSIOp>(loc, to, x));
  return b.create<arith::TruncIOp>(loc, to, x);
}

Value ScalarBuilder::exp(Value x) { return b.create<math::ExpOp>(loc, x); }
Value ScalarBuilder::expm1(Value x) { return b.create<math::ExpM1Op>(loc, x); }
Value ScalarBuilder::log(Value x) { return b.create<math::LogOp>(loc, x); }
Value ScalarBuilder::log1p(Value x) { return b.create<math::Log1pOp>(loc, x); }
Value ScalarBuilder::sqrt(Value x) { return b.create<math::SqrtOp>(loc, x); }
Value ScalarBuilder::rsqrt(Value x) { return b.create<math::RsqrtOp>(loc, x); }
Value ScalarBuilder::sin(Value x) { return b.create<math::SinOp>(loc, x); }
Value ScalarBuilder::cos(Value x) { return b.create<math::CosOp>(loc, x); }
Value ScalarBuilder::tanh(Value x) { return b.create<math::TanhOp>(loc, x); }
Value ScalarBuilder::pow(Value x, Value y) {
  return b.create<math::PowFOp>(loc, x, y);
}

Value ScalarBuilder::sigm(Value x) {
  // x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x)), with one exp,
  // e = exp(-|x|), and one division, r = 1 / (1 + e): x >= 0 ? r : e * r
  // (within an ulp of e / (1 + e); a division costs more than the exp's
  // vector code per element).
  Value nonNegative = cmp(CmpKind::ge, x, zero(x));
  Value e = exp(select(nonNegative, neg(x), x));
  Value r = div(one(x), add(one(x), e));
  return select(nonNegative, r, mul(e, r));
}

Value ScalarBuilder::gelu(Value x) {
  // 0.5 x (1 + tanh(c (x + k x^3)))
  // The runtime's order of products: ((K x) x) x.
  Value u = mul(c(x, kGeluC), add(x, mul(mul(mul(c(x, kGeluK), x), x), x)));
  return mul(mul(c(x, 0.5), x), add(one(x), tanh(u)));
}

Value ScalarBuilder::geluDerivative(Value x) {
  // 0.5 (1 + t) + 0.5 x (1 - t^2) du, t = tanh(u)
  Value u = mul(c(x, kGeluC), add(x, mul(mul(mul(c(x, kGeluK), x), x), x)));
  Value du = mul(c(x, kGeluC), add(one(x), mul(mul(c(x, 3 * kGeluK), x), x)));
  Value t = tanh(u);
  Value half = c(x, 0.5);
  return add(mul(half, add(one(x), t)),
             mul(mul(mul(half, x), sub(one(x), mul(t, t))), du));
}

void mlir::knet::orderScalarBody(Block &body) {
  Operation *terminator = body.getTerminator();
  llvm::SmallPtrSet<Operation *, 32> seen;
  SmallVector<Operation *> order;
  // Iterative post-order (bodies can be chains thousands of ops long).
  SmallVector<std::pair<Operation *, unsigned>> stack;
  auto visit = [&](Operation *root) {
    if (!seen.insert(root).second)
      return;
    stack.push_back({root, root->getNumOperands()});
    while (!stack.empty()) {
      auto &[op, next] = stack.back();
      if (next == 0) {
        order.push_back(op);
        stack.pop_back();
        continue;
      }
      Operation *def = op->getOperand(--next).getDefiningOp();
      if (def && def->getBlock() == &body && seen.insert(def).second)
        stack.push_back({def, def->getNumOperands()});
    }
  };
  visit(terminator);
  order.pop_back(); // the terminator, last below
  for (Operation &op : body.without_terminator())
    visit(&op);
  order.push_back(terminator);
  for (Operation *op : order)
    op->moveBefore(&body, body.end());
}
