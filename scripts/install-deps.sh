#!/usr/bin/env bash
# Installs, by Debian package name, everything knet builds and tests with.
# Idempotent: when every package is already installed it does nothing.
set -euo pipefail

packages=(
  # toolchain
  g++ cmake ninja-build ccache make git python3 clang-format
  # runtime libraries
  libdnnl-dev libopenblas-dev zlib1g-dev libsleef-dev
  # tests
  libgtest-dev
  # compiler (knetc, knet-opt): LLVM, Clang and MLIR 19
  llvm-19-dev libclang-19-dev clang-19 libmlir-19-dev mlir-19-tools llvm-19-tools
  # make fuzz: libFuzzer, the sanitizers and OpenMP of clang-19
  libclang-rt-19-dev libomp-19-dev
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
