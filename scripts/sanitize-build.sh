# Sourced by scripts/fuzz.sh and scripts/test-sanitize.sh: the one
# configuration of the sanitizer build they share (default build-sanitize):
# clang-19, every project target under ASan + UBSan (fatal) with libFuzzer's
# coverage (KNET_FUZZ=ON), knetc, knet-opt and the tests, no examples.
# Compiler caches hit across checkouts: paths under the source tree are
# hashed relative to it, and -g does not hash the working directory.
sanitize_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
sanitize_build=${SANITIZE_BUILD:-$sanitize_root/build-sanitize}
sanitize_lock=${KNET_BUILD_LOCK:-/tmp/knet-build.lock}
export CCACHE_BASEDIR=$sanitize_root CCACHE_NOHASHDIR=1

configure_sanitize_build() {
  [ -f "$sanitize_build/build.ninja" ] && return 0
  flock "$sanitize_lock" cmake -S "$sanitize_root" -B "$sanitize_build" \
    -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19 \
    -DKNET_FUZZ=ON -DKNET_BUILD_EXAMPLES=OFF >/dev/null
}
