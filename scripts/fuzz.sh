#!/usr/bin/env bash
# libFuzzer on every parser of untrusted input and on knetc (`make fuzz`):
# builds the targets of tests/fuzz in the sanitizer build (clang-19,
# KNET_FUZZ=ON: ASan+UBSan; scripts/sanitize-build.sh, default
# build-sanitize) and runs each for FUZZ_SECONDS (default 60) from its seed
# corpus (tests/fuzz/corpus/<name>, plus the lit tests' .mlir files for the
# IR parser and the examples' and tests' C++ sources for knetc). New inputs
# go to <build>/corpus/<name>, crashes to <build>/crashes/<name>/; exit
# status 1 if any target found one. Each finding, once fixed, becomes a seed
# file of its corpus (a regression test: `make fuzz` replays every seed
# first).
#
# Environment: FUZZ_SECONDS, FUZZ_TARGETS (names, default all),
# SANITIZE_BUILD (default build-sanitize), KNET_BUILD_LOCK (default
# /tmp/knet-build.lock).
set -u
source "$(dirname "$0")/sanitize-build.sh"
root=$sanitize_root
build=$sanitize_build
seconds=${FUZZ_SECONDS:-60}
targets=${FUZZ_TARGETS:-safetensors idx table charcorpus kernel_cache mlir knetc}

configure_sanitize_build || exit 1
names=()
for t in $targets; do names+=("fuzz_$t"); done
flock "$sanitize_lock" cmake --build "$build" --target "${names[@]}" || exit 1

status=0
for t in $targets; do
  corpus=$build/corpus/$t crashes=$build/crashes/$t
  mkdir -p "$corpus" "$crashes"
  seeds=("$root/tests/fuzz/corpus/$t")
  extra=()
  [ "$t" = mlir ] && seeds+=("$root/tests/lit/ir" "$root/tests/lit/passes")
  if [ "$t" = knetc ]; then
    # The examples' and the C++ tests' sources are the seeds; knetc's
    # diagnostics are dropped (stderr closed; reports still reach the log).
    mkdir -p "$build/seeds/knetc"
    cp "$root"/examples/*.cpp "$root"/tests/lit/frontend/*.cpp \
      "$root"/tests/lit/diagnostics/*.cpp "$root"/tests/e2e/models.* \
      "$build/seeds/knetc/"
    seeds+=("$build/seeds/knetc")
    extra=(-close_fd_mask=2 -max_len=16384)
  fi
  log=$build/fuzz_$t.log
  echo "== fuzz_$t: ${seconds}s"
  # Leaks are not findings here (the MLIR context of a failed parse keeps
  # its storage until exit); -rss_limit_mb bounds inputs that claim huge
  # sizes.
  ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1 \
    "$build/bin/fuzz_$t" "$corpus" "${seeds[@]}" \
    -max_total_time="$seconds" -rss_limit_mb=4096 -timeout=20 \
    -artifact_prefix="$crashes/" -print_final_stats=1 "${extra[@]}" \
    >"$log" 2>&1
  rc=$?
  grep -E "^stat::(number_of_executed_units|peak_rss_mb)|cov: " "$log" |
    tail -3 | sed 's/^/   /'
  if [ $rc -ne 0 ]; then
    status=1
    echo "   FOUND a crash (exit $rc): $(ls "$crashes" | head -3) -- see $log"
  fi
done
exit $status
