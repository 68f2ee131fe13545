#!/usr/bin/env bash
# Fuzzes knetc against the tape (`make fuzz`): round after round, generates
# random KNET_COMPILE functions with a new seed (tests/difftest/gen.py),
# builds the tape, compiled and --no-fuse executables in their own build
# directory (configured from this source tree; knetc is built there once and
# rebuilt only when its sources change), runs tests/difftest/compare.py and
# keeps every mismatch: build-fuzz/mismatches/seed-<S>/ holds the report,
# one <function>.cpp per mismatching function (its source, the helpers and
# functions it calls, and what differed), or the build log when a round does
# not build. Runs until interrupted, or FUZZ_MINUTES minutes if set.
#
# Environment: FUZZ_MINUTES (stop after that many minutes, 0: never),
# FUZZ_COUNT (functions per round, default 150), FUZZ_FILES (files per round,
# default 4), FUZZ_SEED (first seed; default from the clock), FUZZ_BUILD
# (default build-fuzz), KNET_BUILD_LOCK (every configure and build step
# holds this lock; default /tmp/knet-build.lock).
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
build=${FUZZ_BUILD:-$root/build-fuzz}
count=${FUZZ_COUNT:-150}
files=${FUZZ_FILES:-4}
seed=${FUZZ_SEED:-$(( $(date +%s) % 100000000 ))}
minutes=${FUZZ_MINUTES:-0}
lock=${KNET_BUILD_LOCK:-/tmp/knet-build.lock}
jobs=${JOBS:-$(nproc)}
mismatches=$build/mismatches
start=$(date +%s)
rounds=0 programs=0 found=0 failed_rounds=0

summary() {
  echo "fuzz: $rounds rounds, $programs programs generated, $found" \
       "mismatches found, $failed_rounds rounds that did not build" \
       "(in $mismatches)"
}
trap 'echo; summary; exit 130' INT TERM

mkdir -p "$mismatches"
configure() {
  flock "$lock" cmake -S "$root" -B "$build" -G Ninja \
    -DCMAKE_BUILD_TYPE=Release -DKNET_DIFFTEST_SEED="$1" \
    -DKNET_DIFFTEST_COUNT="$count" -DKNET_DIFFTEST_FILES="$files" >/dev/null
}

while :; do
  if [ "$minutes" -gt 0 ] &&
     [ $(( $(date +%s) - start )) -ge $(( minutes * 60 )) ]; then
    break
  fi
  out=$mismatches/seed-$seed
  log=$build/round.log
  echo "fuzz: seed $seed: generating $count functions, building"
  if ! configure "$seed" > "$log" 2>&1 ||
     ! flock "$lock" cmake --build "$build" -j "$jobs" --target \
         difftest_tape difftest_compiled difftest_nofuse >> "$log" 2>&1; then
    failed_rounds=$((failed_rounds + 1))
    mkdir -p "$out"
    cp "$log" "$out/build.log"
    cp -r "$build/tests/difftest/gen" "$out/gen" 2>/dev/null
    echo "fuzz: seed $seed: the build failed: $out/build.log"
    grep -m 5 -E 'error|FAILED' "$log" | sed 's/^/  /'
  else
    rounds=$((rounds + 1))
    programs=$((programs + count))
    dir=$build/tests/difftest
    python3 "$root/tests/difftest/compare.py" \
      --tape "$build/bin/difftest_tape" \
      --compiled "$build/bin/difftest_compiled" \
      --nofuse "$build/bin/difftest_nofuse" \
      --index "$dir/gen/difftest_index.json" \
      --knetc "$build/bin/knetc" --report "$out" > "$build/compare.log" 2>&1
    last=$(tail -n 1 "$build/compare.log")
    echo "fuzz: seed $seed: $last"
    k=$(echo "$last" | sed -n 's/.* \([0-9]*\) mismatches$/\1/p')
    if [ -n "$k" ] && [ "$k" -gt 0 ]; then
      found=$((found + k))
      mkdir -p "$out"
      cp "$build/compare.log" "$out/compare.log"
      grep '^MISMATCH' "$build/compare.log" | sed 's/^/  /'
    elif [ -z "$k" ]; then
      mkdir -p "$out"
      cp "$build/compare.log" "$out/compare.log"
      echo "fuzz: seed $seed: compare.py failed: $out/compare.log"
    fi
  fi
  summary
  seed=$((seed + 1))
done
summary
