#!/usr/bin/env bash
# Regenerates runtime/jit/op_kernels.inc, the runtime's table of single-op
# GPU kernels, from runtime/jit/op_kernels.mlir: each op becomes a one-op
# kernel (knet-fuse with singletons=true), printed by the fused-kernel
# emitter (knet-translate --emit-op-kernels); and runtime/ops/op_bodies.inc,
# the scalar bodies of its elementwise ops that the runtime's CPU kernels
# call (knet-translate --emit-op-bodies). The generated files are committed;
# tests/lit/codegen/op-kernels.mlir fails when one is out of date.
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

fused="$(mktemp)"
trap 'rm -f "$fused"' EXIT
"$opt" --knet-fuse=singletons=true "$root/runtime/jit/op_kernels.mlir" >"$fused"

out="$root/runtime/jit/op_kernels.inc"
"$translate" --emit-op-kernels "$fused" -o "$out.tmp"
mv "$out.tmp" "$out"
echo "gen-op-kernels: wrote $out ($(grep -c '^    {"' "$out") ops)"

bodies="$root/runtime/ops/op_bodies.inc"
"$translate" --emit-op-bodies "$fused" -o "$bodies.tmp"
mv "$bodies.tmp" "$bodies"
echo "gen-op-kernels: wrote $bodies ($(grep -c '^template' "$bodies") bodies)"
