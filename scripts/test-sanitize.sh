#!/usr/bin/env bash
# The sanitizer job (`make test-sanitize`): builds the runtime, knetc,
# knet-opt and the test suites under AddressSanitizer + UndefinedBehavior-
# Sanitizer in the sanitizer build (scripts/sanitize-build.sh, shared with
# `make fuzz`) and runs every ctest entry that needs neither a GPU nor an
# uninstrumented consumer: the unit suites, lit, and the knetc-compiled
# e2e/opgrad/difftest programs. Any sanitizer report fails its test (leaks
# too, but in knetc, whose Clang-owned memory is never freed). Prints the
# build and test times.
#
# Environment: SANITIZE_BUILD (default build-sanitize), JOBS (default
# nproc), SANITIZE_LABELS (a ctest -L regex; default: all labels),
# KNET_BUILD_LOCK (default /tmp/knet-build.lock).
set -euo pipefail
source "$(dirname "$0")/sanitize-build.sh"
jobs=${JOBS:-$(nproc)}

# For the tests and for the instrumented knetc that the build runs. The
# leak check is on (ASan's default) but for knetc itself (see its
# __asan_default_options).
export ASAN_OPTIONS=${ASAN_OPTIONS:-strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

configure_sanitize_build
start=$(date +%s)
flock "$sanitize_lock" cmake --build "$sanitize_build" -j "$jobs"
built=$(date +%s)

cd "$sanitize_build"
# gpu: needs a device. cmake.consumer: builds a plain (uninstrumented)
# project against the installed, instrumented library.
args=(--output-on-failure -j "$jobs" -LE gpu -E '^cmake\.consumer$')
[ -n "${SANITIZE_LABELS:-}" ] && args+=(-L "$SANITIZE_LABELS")
rc=0
ctest "${args[@]}" || rc=$?
end=$(date +%s)
echo "test-sanitize: build $((built - start)) s, tests $((end - built)) s"
exit $rc
