//===- CppOpTable.cpp - op name -> C++ call pattern -----------------------===//
//
// THE table of the C++ emitter: one line per op that becomes one C++
// expression. The knet ops' lines come from the op registry (the cppPattern
// of each op in ir/include/knet/IR/KnetOps.td); the arith and math ops' lines
// are below. An op without a line is an error at its location, never
// skipped. Structural ops (func.return, scf.for/while/if, the stack ops,
// constants) are printed by EmitCpp.cpp itself.
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
    // The knet ops: the cppPattern (and cppVariants) of each op in
    // ir/include/knet/IR/KnetOps.td (tools/knet-opgen/knet-opgen.py).
#include "knet/IR/KnetCppOps.inc"
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
