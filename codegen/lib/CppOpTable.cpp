//===- CppOpTable.cpp - op name -> C++ call pattern
//------------------------===//
//
// THE table of the C++ emitter: one line per op that becomes one C++
// expression. Adding an op to the dialect and to the runtime means adding its
// line here; an op without a line is an error at its location, never skipped.
// Structural ops (func.return, scf.for/while/if, the stack ops, constants)
// are printed by EmitCpp.cpp itself.
//
// Placeholders, expanded by EmitCpp.cpp:
//   $0 .. $9       operand i (a variable name or a literal)
//   $args, $rest   all operands / operands 1.. , comma-separated
//   ${a}           attribute a as a C++ literal; ${a=d}: d when a is absent
//                  (${dtype}: the knet::DType the attribute names)
//   $opt(a=d)      ", value" when a is present and not d
//   $?a            ", true" when the unit attribute a is set
//   $opts(a=d,...) ", {.a = value, ...}" with the fields that are present and
//                  not their default (an options struct, in field order)
//   $dims          ", {dims...}" of a reduction (", {...}, true" with keepdim)
//   $dtype $ctype  the result's knet::DType / C++ type
//   $pred          the C++ operator of an arith.cmpf/cmpi predicate
//   $u0 .. $u9     operand i as its unsigned type (knet::detail::as_unsigned)
// IR integers are signless and the emitted C++ carries them in intN_t: ops
// with unsigned semantics cast through $uN, and add/sub/mul without nsw
// (which may wrap) are the `.wrap` entries (EmitCpp.cpp, patternVariant).
//   $constant      a dense tensor constant
// A pattern yields an expression: `T name = <expr>;` for one result,
// `auto [a, b] = <expr>;` for two, `<expr>;` for none.
//
//===----------------------------------------------------------------------===//

#include "knet/Codegen/EmitCpp.h"

#include "llvm/ADT/StringMap.h"

namespace mlir::knet {
namespace {

struct CppOpPattern {
  llvm::StringLiteral op;
  llvm::StringLiteral pattern;
};

// clang-format off
const CppOpPattern kPatterns[] = {
    // Elementwise, unary.
    {"knet.neg", "-$0"},
    {"knet.abs", "knet::abs($0)"},
    {"knet.sign", "knet::sign($0)"},
    {"knet.exp", "knet::exp($0)"},
    {"knet.log", "knet::log($0)"},
    {"knet.log1p", "knet::log1p($0)"},
    {"knet.sqrt", "knet::sqrt($0)"},
    {"knet.rsqrt", "knet::rsqrt($0)"},
    {"knet.sin", "knet::sin($0)"},
    {"knet.cos", "knet::cos($0)"},
    {"knet.tanh", "knet::tanh($0)"},
    {"knet.sigm", "knet::sigm($0)"},
    {"knet.relu", "knet::relu($0)"},
    {"knet.elu", "knet::elu($0)"},
    {"knet.selu", "knet::selu($0)"},
    {"knet.gelu", "knet::gelu($0)"},
    {"knet.softplus", "knet::softplus($0)"},
    {"knet.swish", "knet::swish($0)"},
    // Elementwise, binary (broadcasting) and comparisons.
    {"knet.add", "$0 + $1"},
    {"knet.sub", "$0 - $1"},
    {"knet.mul", "$0 * $1"},
    {"knet.div", "$0 / $1"},
    {"knet.pow", "knet::pow($0, $1)"},
    {"knet.maximum", "knet::maximum($0, $1)"},
    {"knet.minimum", "knet::minimum($0, $1)"},
    {"knet.eq", "$0 == $1"},
    {"knet.ne", "$0 != $1"},
    {"knet.lt", "$0 < $1"},
    {"knet.le", "$0 <= $1"},
    {"knet.gt", "$0 > $1"},
    {"knet.ge", "$0 >= $1"},
    {"knet.where", "knet::where($0, $1, $2)"},
    // Backward kernels of the activations.
    {"knet.relu_back", "knet::relu_back($0, $1)"},
    {"knet.sigm_back", "knet::sigm_back($0, $1)"},
    {"knet.tanh_back", "knet::tanh_back($0, $1)"},
    {"knet.elu_back", "knet::elu_back($0, $1)"},
    {"knet.selu_back", "knet::selu_back($0, $1)"},
    {"knet.gelu_back", "knet::gelu_back($0, $1)"},
    {"knet.softplus_back", "knet::softplus_back($0, $1)"},
    {"knet.swish_back", "knet::swish_back($0, $1)"},
    // Conversions, fills, constants, scalars.
    {"knet.cast", "$0.to($dtype)"},
    {"knet.cast.rank", "$0"},
    {"knet.cast.dtype", "$0.to(${dtype})"},
    {"knet.cast_like", "$0.to($1.dtype())"},
    {"knet.full", "knet::Tensor::full({$rest}, $0, ${dtype})"},
    {"knet.zeros_like", "knet::zeros_like($0)"},
    {"knet.ones_like", "knet::ones_like($0)"},
    {"knet.constant", "$constant"},
    {"knet.undefined", "knet::Tensor()"},
    {"knet.scalar", "knet::Tensor::scalar($0, $sdtype)"},
    {"knet.scalar.dtype", "knet::Tensor::scalar($0, ${dtype})"},
    {"knet.item", "$0.item<$ctype>()"},
    {"knet.size", "$0.size(${dim})"},
    {"knet.numel", "$0.numel()"},
    // Linear algebra.
    {"knet.matmul", "knet::matmul($0, $1)"},
    {"knet.linear", "knet::linear($args)"},
    // Reductions and softmax.
    {"knet.sum", "knet::sum($0$dims)"},
    {"knet.mean", "knet::mean($0$dims)"},
    {"knet.max", "knet::max($0$dims)"},
    {"knet.min", "knet::min($0$dims)"},
    {"knet.argmax", "knet::argmax($0, ${dim}$?keepdim)"},
    {"knet.logsumexp", "knet::logsumexp($0, ${dim}$?keepdim)"},
    {"knet.softmax", "knet::softmax($0, ${dim})"},
    {"knet.logsoftmax", "knet::logsoftmax($0, ${dim})"},
    {"knet.softmax_back", "knet::softmax_back($0, $1, ${dim})"},
    {"knet.logsoftmax_back", "knet::logsoftmax_back($0, $1, ${dim})"},
    // Adjoint helpers.
    {"knet.sum_to", "knet::sum_to($0, $1.shape())"},
    {"knet.broadcast_to", "$0.expand($1.shape())"},
    {"knet.reshape_like", "$0.reshape($1.shape())"},
    // Losses.
    {"knet.nll", "knet::nll($0, $1$opts(average=true))"},
    {"knet.nll_back", "knet::nll_back($0, $1, $2$opts(average=true))"},
    {"knet.accuracy", "knet::accuracy($0, $1)"},
    {"knet.bce", "knet::bce($0, $1)"},
    {"knet.logistic", "knet::logistic($0, $1)"},
    {"knet.bce_back", "knet::bce_back($0, $1, $2)"},
    {"knet.logistic_back", "knet::logistic_back($0, $1, $2)"},
    // Convolution and pooling.
    {"knet.conv2d", "knet::conv2d($0, $1$opts(padding=0,stride=1,dilation=1,groups=1))"},
    {"knet.deconv2d", "knet::deconv2d($0, $1$opts(padding=0,stride=1,dilation=1,groups=1))"},
    {"knet.conv2d_back_data", "knet::conv2d_back_data($0, $1, $2.shape()$opts(padding=0,stride=1,dilation=1,groups=1))"},
    {"knet.conv2d_back_filter", "knet::conv2d_back_filter($0, $1, $2.shape()$opts(padding=0,stride=1,dilation=1,groups=1))"},
    {"knet.pool", "knet::pool($0$opts(window=2,stride=0,padding=0,mode=max))"},
    {"knet.pool_back", "knet::pool_back($0, $1, $2$opts(window=2,stride=0,padding=0,mode=max))"},
    {"knet.unpool", "knet::unpool($0$opts(window=2,stride=0,padding=0,mode=max))"},
    // Normalization and dropout.
    {"knet.batchnorm", "knet::batchnorm($0, $1, $2$opts(training,eps=1e-5,momentum=0.1))"},
    {"knet.batchnorm_back", "knet::batchnorm_back($0, $1, $2, $3$opts(training,eps=1e-5))"},
    {"knet.dropout", "knet::dropout($0, ${p})"},
    {"knet.dropout_back", "knet::dropout_back($0, $1, ${p})"},
    // Gather, join, split, views.
    {"knet.embedding", "knet::embedding($0, $1)"},
    {"knet.embedding_back", "knet::embedding_back($0, $1, $2.size(0))"},
    {"knet.concat", "knet::concat({$args}, ${dim})"},
    {"knet.stack", "knet::stack({$args}, ${dim})"},
    {"knet.chunk", "knet::chunk($0, ${n}, ${dim})"},
    {"knet.mat", "knet::mat($0)"},
    {"knet.reshape", "$0.reshape({$rest})"},
    {"knet.transpose", "$0.transpose(${dim0}, ${dim1})"},
    {"knet.permute", "$0.permute(${perm})"},
    {"knet.slice", "$0.slice(${dim}, $1, $2$opt(step=1))"},
    {"knet.slice_back", "knet::slice_back($0, $1.shape(), ${dim}, $2, $3$opt(step=1))"},
    {"knet.select", "$0.select(${dim}, $1)"},
    {"knet.select_back", "knet::select_back($0, $1.shape(), ${dim}, $2)"},
    {"knet.squeeze", "$0.squeeze(${dim})"},
    {"knet.unsqueeze", "$0.unsqueeze(${dim})"},
    // Lists and the value stack.
    {"knet.list_make", "{$args}"},
    {"knet.list_get", "$0[$1]"},
    {"knet.list_size", "static_cast<int64_t>($0.size())"},
    {"knet.list_set", "knet::detail::list_set($0, $1, $2)"},
    {"knet.list_push", "knet::detail::list_push($0, $1)"},
    {"knet.concat_list", "knet::concat($0, ${dim})"},
    {"knet.stack_list", "knet::stack($0, ${dim})"},
    {"knet.split_list", "knet::detail::split_list($0, $1, ${dim}$?stack)"},
    {"knet.list_pop", "knet::detail::list_pop($0)"},
    {"knet.list_resize", "knet::detail::list_resize($0, $1)"},
    {"knet.list_pad_like", "knet::detail::list_pad_like($0, $1)"},
    {"knet.list_zeros_like", "knet::detail::list_zeros_like($0)"},
    {"knet.stack_push", "$0.push_back($1)"},
    // Scalars: arith and math.
    {"arith.addf", "$0 + $1"},
    {"arith.addi", "$0 + $1"},
    {"arith.addi.wrap", "knet::detail::wrapping_add<$ctype>($0, $1)"},
    {"arith.subf", "$0 - $1"},
    {"arith.subi", "$0 - $1"},
    {"arith.subi.wrap", "knet::detail::wrapping_sub<$ctype>($0, $1)"},
    {"arith.mulf", "$0 * $1"},
    {"arith.muli", "$0 * $1"},
    {"arith.muli.wrap", "knet::detail::wrapping_mul<$ctype>($0, $1)"},
    {"arith.divf", "$0 / $1"},
    {"arith.divsi", "$0 / $1"},
    {"arith.divui", "static_cast<$ctype>($u0 / $u1)"},
    {"arith.remsi", "$0 % $1"},
    {"arith.remf", "std::fmod($0, $1)"},
    {"arith.negf", "-$0"},
    {"arith.andi", "$0 & $1"},
    {"arith.ori", "$0 | $1"},
    {"arith.shli", "$0 << $1"},
    {"arith.shrsi", "$0 >> $1"},
    {"arith.remui", "static_cast<$ctype>($u0 % $u1)"},
    {"arith.shrui", "static_cast<$ctype>($u0 >> $1)"},
    {"arith.maxui", "static_cast<$ctype>(std::max($u0, $u1))"},
    {"arith.minui", "static_cast<$ctype>(std::min($u0, $u1))"},
    {"arith.ceildivsi", "knet::detail::ceildiv($0, $1)"},
    {"arith.floordivsi", "knet::detail::floordiv($0, $1)"},
    {"math.atan2", "std::atan2($0, $1)"},
    {"math.atan", "std::atan($0)"},
    {"math.tan", "std::tan($0)"},
    {"math.log2", "std::log2($0)"},
    {"math.log10", "std::log10($0)"},
    {"math.exp2", "std::exp2($0)"},
    {"math.erf", "std::erf($0)"},
    {"math.trunc", "std::trunc($0)"},
    {"arith.xori", "$0 ^ $1"},
    {"arith.maximumf", "std::max<$ctype>($0, $1)"},
    {"arith.maxnumf", "std::max<$ctype>($0, $1)"},
    {"arith.maxsi", "std::max<$ctype>($0, $1)"},
    {"arith.minimumf", "std::min<$ctype>($0, $1)"},
    {"arith.minnumf", "std::min<$ctype>($0, $1)"},
    {"arith.minsi", "std::min<$ctype>($0, $1)"},
    {"arith.cmpf", "$0 $pred $1"},
    {"arith.cmpi", "$0 $pred $1"},
    {"arith.cmpi.unsigned", "$u0 $pred $u1"},
    {"arith.select", "$0 ? $1 : $2"},
    {"arith.index_cast", "static_cast<$ctype>($0)"},
    {"arith.index_castui", "static_cast<$ctype>($u0)"},
    {"arith.sitofp", "static_cast<$ctype>($0)"},
    {"arith.uitofp", "static_cast<$ctype>($u0)"},
    {"arith.fptosi", "static_cast<$ctype>($0)"},
    {"arith.fptoui", "knet::detail::float_to_unsigned<$ctype>($0)"},
    {"arith.extf", "static_cast<$ctype>($0)"},
    {"arith.truncf", "static_cast<$ctype>($0)"},
    {"arith.extsi", "static_cast<$ctype>($0)"},
    {"arith.extui", "static_cast<$ctype>($u0)"},
    {"arith.trunci", "static_cast<$ctype>($0)"},
    {"math.exp", "std::exp($0)"},
    {"math.expm1", "std::expm1($0)"},
    {"math.log", "std::log($0)"},
    {"math.log1p", "std::log1p($0)"},
    {"math.sqrt", "std::sqrt($0)"},
    {"math.cbrt", "std::cbrt($0)"},
    {"math.rsqrt", "1 / std::sqrt($0)"},
    {"math.sin", "std::sin($0)"},
    {"math.cos", "std::cos($0)"},
    {"math.tanh", "std::tanh($0)"},
    {"math.absf", "std::abs($0)"},
    {"math.absi", "std::abs($0)"},
    {"math.powf", "std::pow($0, $1)"},
    {"math.floor", "std::floor($0)"},
    {"math.ceil", "std::ceil($0)"},
    {"math.round", "std::round($0)"},
    {"math.copysign", "std::copysign($0, $1)"},
};
// clang-format on

} // namespace

llvm::StringRef lookupCppPattern(llvm::StringRef opName) {
  static const llvm::StringMap<llvm::StringRef> table = [] {
    llvm::StringMap<llvm::StringRef> map;
    for (const CppOpPattern &p : kPatterns)
      map[p.op] = p.pattern;
    return map;
  }();
  auto it = table.find(opName);
  return it == table.end() ? llvm::StringRef() : it->second;
}

} // namespace mlir::knet
