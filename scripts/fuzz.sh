#!/usr/bin/env bash
# libFuzzer on every parser of untrusted input (`make fuzz`): configures
# build-libfuzzer with clang-19 and KNET_FUZZ=ON (ASan+UBSan), builds the
# targets of tests/fuzz and runs each for FUZZ_SECONDS (default 60) from its
# seed corpus (tests/fuzz/corpus/<name>, plus the lit tests' .mlir files for
# the IR parser). New inputs go to build-libfuzzer/corpus/<name>, crashes to
# build-libfuzzer/crashes/<name>/; exit status 1 if any target found one.
# Each finding, once fixed, becomes a seed file of its corpus (a regression
# test: `make fuzz` replays every seed first).
#
# Environment: FUZZ_SECONDS, FUZZ_TARGETS (names, default all), FUZZ_BUILD
# (default build-libfuzzer), KNET_BUILD_LOCK (default /tmp/knet-build.lock).
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
build=${FUZZ_BUILD:-$root/build-libfuzzer}
seconds=${FUZZ_SECONDS:-60}
lock=${KNET_BUILD_LOCK:-/tmp/knet-build.lock}
targets=${FUZZ_TARGETS:-safetensors idx table charcorpus kernel_cache mlir}

if [ ! -f "$build/build.ninja" ]; then
  flock "$lock" cmake -S "$root" -B "$build" -G Ninja \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang-19 \
    -DCMAKE_CXX_COMPILER=clang++-19 -DKNET_FUZZ=ON -DKNET_BUILD_KNETC=OFF \
    -DKNET_BUILD_TESTS=OFF -DKNET_BUILD_EXAMPLES=OFF >/dev/null || exit 1
fi
names=()
for t in $targets; do names+=("fuzz_$t"); done
flock "$lock" cmake --build "$build" --target "${names[@]}" || exit 1

status=0
for t in $targets; do
  corpus=$build/corpus/$t crashes=$build/crashes/$t
  mkdir -p "$corpus" "$crashes"
  seeds=("$root/tests/fuzz/corpus/$t")
  [ "$t" = mlir ] && seeds+=("$root/tests/lit/ir" "$root/tests/lit/passes")
  log=$build/fuzz_$t.log
  echo "== fuzz_$t: ${seconds}s"
  # Leaks are not findings here (the MLIR context of a failed parse keeps
  # its storage until exit); -rss_limit_mb bounds inputs that claim huge
  # sizes.
  ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1 \
    "$build/bin/fuzz_$t" "$corpus" "${seeds[@]}" \
    -max_total_time="$seconds" -rss_limit_mb=4096 -timeout=20 \
    -artifact_prefix="$crashes/" -print_final_stats=1 >"$log" 2>&1
  rc=$?
  grep -E "^stat::(number_of_executed_units|peak_rss_mb)|cov: " "$log" |
    tail -3 | sed 's/^/   /'
  if [ $rc -ne 0 ]; then
    status=1
    echo "   FOUND a crash (exit $rc): $(ls "$crashes" | head -3) -- see $log"
  fi
done
exit $status
