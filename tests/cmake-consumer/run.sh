#!/usr/bin/env bash
# Installs the build into a temporary prefix, then configures, builds and
# runs tests/cmake-consumer against it.  run.sh <build dir> <source dir>
set -euo pipefail
build=$1 src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" > "$work/install.log"
cmake -S "$src/tests/cmake-consumer" -B "$work/build" -G Ninja \
  -DCMAKE_BUILD_TYPE=Release -DKnet_DIR="$work/prefix/lib/cmake/Knet" \
  > "$work/configure.log" || { cat "$work/configure.log"; exit 1; }
cmake --build "$work/build" || exit 1
for exe in consumer consumer_nofuse consumer_again; do
  "$work/build/$exe"
done
