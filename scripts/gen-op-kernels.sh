#!/usr/bin/env bash
# Regenerates runtime/jit/op_kernels.inc, the runtime's table of single-op
# GPU kernels, from runtime/jit/op_kernels.mlir: each op becomes a one-op
# kernel (knet-fuse with singletons=true), printed by the fused-kernel
# emitter (knet-translate --emit-op-kernels). The generated file is
# committed; tests/lit/codegen/op-kernels.mlir fails when it is out of date.
#
# Usage: scripts/gen-op-kernels.sh [BUILD_DIR]   (default: build; the
# directory whose bin/ holds knet-opt and knet-translate)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$root/build}"
opt="$build/bin/knet-opt"
translate="$build/bin/knet-translate"
for tool in "$opt" "$translate"; do
  if [ ! -x "$tool" ]; then
    echo "gen-op-kernels: $tool not found (build knet-opt and knet-translate)" >&2
    exit 1
  fi
done

out="$root/runtime/jit/op_kernels.inc"
tmp="$(mktemp "$out.XXXXXX")"
trap 'rm -f "$tmp"' EXIT
"$opt" --knet-fuse=singletons=true "$root/runtime/jit/op_kernels.mlir" |
  "$translate" --emit-op-kernels -o "$tmp"
cat "$tmp" >"$out"
echo "gen-op-kernels: wrote $out ($(grep -c '^    {"' "$out") ops)"
