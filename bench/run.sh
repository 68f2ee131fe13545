#!/usr/bin/env bash
# Knet's benchmark tables, for knet (knetc-compiled and on the tape) and
# LibTorch 1.13 (Debian's libtorch-dev, C++ frontend), in one command:
#
#   bench/run.sh [--quick] [--runs N] [--threads N] [--models a,b,...]
#                [--jobs N] [--knet-prefix DIR] [--no-build] [--out FILE]
#
# It builds knet from this repository (build-bench/knet, installed into
# build-bench/prefix), installs libtorch-dev when it is missing, builds bench/
# (build-bench/bench), runs every model with the same thread count in all
# three implementations, and prints one markdown table (also written to
# build-bench/results/table.md, or --out). Never part of `make test`.
#
#   --quick            a smoke test: a few steps per model, 1 run
#   --runs N           training runs per model and implementation; the table
#                      shows medians (default 3; --quick: 1)
#   --threads N        threads for knet and LibTorch alike (default 1)
#   --models a,b       a subset of: linreg softmax mlp lenet charlm rnnlm treenn
#   --jobs N           build parallelism (default: nproc)
#   --knet-prefix DIR  use an installed knet there instead of building one
#   --no-build         use what build-bench already holds
#   --out FILE         also write the table there
#
# Data: $KNET_DATA_DIR, else ../shared/data seen from the repository root.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=$ROOT/build-bench
QUICK=0 RUNS= THREADS=1 MODELS="linreg softmax mlp lenet charlm rnnlm treenn"
JOBS=$(nproc) PREFIX= NOBUILD=0 OUT=

die() { echo "bench/run.sh: $*" >&2; exit 1; }
while [ $# -gt 0 ]; do
  case $1 in
    --quick) QUICK=1; shift ;;
    --runs) RUNS=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --models) MODELS=${2//,/ }; shift 2 ;;
    --jobs) JOBS=$2; shift 2 ;;
    --knet-prefix) PREFIX=$(cd "$2" && pwd); shift 2 ;;
    --no-build) NOBUILD=1; shift ;;
    --out) OUT=$2; shift 2 ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
done
[ -n "$RUNS" ] || { [ $QUICK = 1 ] && RUNS=1 || RUNS=3; }
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "--runs wants a positive integer"
[[ $THREADS =~ ^[1-9][0-9]*$ ]] || die "--threads wants a positive integer"
for m in $MODELS; do
  case $m in linreg|softmax|mlp|lenet|charlm|rnnlm|treenn) ;;
    *) die "unknown model '$m'" ;; esac
done
log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
T_START=$(date +%s)

# --- data -------------------------------------------------------------------
DATA=${KNET_DATA_DIR:-$ROOT/../shared/data}
[ -d "$DATA" ] || die "no data folder: set KNET_DATA_DIR to the folder with \
the full data sets (mnist/, boston/, tinyshakespeare/, ptb/, sst/), or put \
them in $ROOT/../shared/data"
DATA=$(cd "$DATA" && pwd)
for f in boston/housing.data mnist/train-images-idx3-ubyte.gz \
         mnist/t10k-images-idx3-ubyte.gz tinyshakespeare/input.txt \
         ptb/ptb.train.txt sst/train.txt sst/dev.txt; do
  [ -f "$DATA/$f" ] || die "missing $DATA/$f (KNET_DATA_DIR must hold the \
full data sets)"
done

# --- builds -----------------------------------------------------------------
if [ $NOBUILD = 0 ]; then
  if ! dpkg -s libtorch-dev >/dev/null 2>&1; then
    log "installing libtorch-dev (the LibTorch peer)"
    SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y libtorch-dev
  fi
  if [ -z "$PREFIX" ]; then
    log "building knet from $ROOT into $BUILD/knet"
    cmake -S "$ROOT" -B "$BUILD/knet" -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DKNET_BUILD_TESTS=OFF -DKNET_BUILD_EXAMPLES=OFF \
      -DCMAKE_INSTALL_PREFIX="$BUILD/prefix" >/dev/null ||
      die "configuring knet failed"
    cmake --build "$BUILD/knet" -j "$JOBS" >&2 || die "building knet failed"
    cmake --install "$BUILD/knet" >/dev/null || die "installing knet failed"
  fi
fi
PREFIX=${PREFIX:-$BUILD/prefix}
[ -x "$PREFIX/bin/knetc" ] || die "no knetc in $PREFIX/bin (build knet first)"
if [ $NOBUILD = 0 ]; then
  log "building bench/ into $BUILD/bench against $PREFIX"
  cmake -S "$ROOT/bench" -B "$BUILD/bench" -G Ninja \
    -DCMAKE_BUILD_TYPE=Release -DKnet_DIR="$PREFIX/lib/cmake/Knet" \
    >/dev/null || die "configuring bench/ failed"
  cmake --build "$BUILD/bench" -j "$JOBS" >&2 || die "building bench/ failed"
fi
BIN=$BUILD/bench

# --- workloads ----------------------------------------------------------------
# args <model>: the training options of the mode; what <model>: the workload.
if [ $QUICK = 1 ]; then
  declare -A ARGS=([linreg]="--epochs 1000" [softmax]="--epochs 1"
    [mlp]="--epochs 1" [lenet]="--steps 50" [charlm]="--steps 3"
    [rnnlm]="--batches 5" [treenn]="--sentences 50")
  declare -A WHAT=([linreg]="1K epochs, batch 506" [softmax]="1 epoch"
    [mlp]="1 epoch" [lenet]="50 steps" [charlm]="3 steps"
    [rnnlm]="5 batches" [treenn]="50 sentences")
  export BENCH_RATIO_BUDGET=0.5 BENCH_RATIO_MIN_REPS=3
else
  declare -A ARGS=([linreg]="--epochs 10000" [softmax]="--epochs 10"
    [mlp]="--epochs 10" [lenet]="--epochs 1" [charlm]="--steps 20"
    [rnnlm]="--batches 50" [treenn]="--sentences 500")
  declare -A WHAT=([linreg]="10K epochs, batch 506, SGD"
    [softmax]="10 epochs, batch 100, SGD" [mlp]="10 epochs, batch 100, Adam"
    [lenet]="1 epoch, batch 100, Adam" [charlm]="20 steps of 128x100, Adam"
    [rnnlm]="50 batches of 64 sents, Adam" [treenn]="500 sentences, Adam")
fi
declare -A KIND=([linreg]=s [softmax]=s [mlp]=s [lenet]=s [charlm]=s
  [rnnlm]=words_per_s [treenn]=sentences_per_s)
declare -A QUALITY=([linreg]="loss" [softmax]="accuracy" [mlp]="accuracy"
  [lenet]="accuracy" [charlm]="loss" [rnnlm]="loss" [treenn]="accuracy")
declare -A QNAME=([linreg]="train MSE" [softmax]="test acc"
  [mlp]="test acc" [lenet]="test acc" [charlm]="loss, last 5 steps"
  [rnnlm]="train loss/word" [treenn]="dev root acc")
IMPLS="knet_%s_compiled knet_%s_tape torch_%s"

export KNET_DATA_DIR=$DATA KNET_NUM_THREADS=$THREADS OMP_NUM_THREADS=$THREADS
export MKL_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS
RES=$BUILD/results
rm -rf "$RES"
mkdir -p "$RES"

# field <file> <key>: the value of "@key=value" in a program's output.
field() { sed -n "s/^@$2=//p" "$1" | tail -1; }
median() {
  printf '%s\n' "$@" | grep -v '^$' | sort -g |
    awk '{a[NR]=$1} END {if (NR == 0) print ""; else if (NR % 2) print a[(NR+1)/2];
         else print (a[NR/2] + a[NR/2+1]) / 2}'
}
run_one() { # run_one <binary> <log> <args...>
  local bin=$1 out=$2
  shift 2
  if ! "$BIN/$bin" --data "$DATA" --threads "$THREADS" "$@" >"$out" 2>&1; then
    echo "bench/run.sh: $bin $* failed; its output:" >&2
    cat "$out" >&2
    exit 1
  fi
  case $bin in
    *_compiled) [ "$(field "$out" impl)" = knet-compiled ] ||
      die "$bin did not run knetc's compiled code (is_compiled is false)" ;;
    *_tape) [ "$(field "$out" impl)" = knet-tape ] ||
      die "$bin ran compiled code (is_compiled is true)" ;;
  esac
}

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

# --- knetc compile time ---------------------------------------------------------
log "timing knetc on each model ($RUNS runs)"
declare -A KNETC
for m in $MODELS; do
  ts=()
  for ((r = 1; r <= RUNS; r++)); do
    t0=$(date +%s.%N)
    "$PREFIX/bin/knetc" "$ROOT/bench/knet/$m.cpp" -o "$RES/$m.knet.cpp" -- \
      -std=c++20 -I"$PREFIX/include" -I"$ROOT/bench/common" \
      >"$RES/$m.knetc.log" 2>&1 || die "knetc failed on $m: $(cat "$RES/$m.knetc.log")"
    ts+=("$(awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN {print a - b}')")
  done
  KNETC[$m]=$(median "${ts[@]}")
done

# --- training runs, interleaved so that load drifts hit every implementation ---
for m in $MODELS; do
  for ((r = 1; r <= RUNS; r++)); do
    for fmt in $IMPLS; do
      b=$(printf "$fmt" "$m")
      log "$b ${ARGS[$m]} (run $r/$RUNS)"
      run_one "$b" "$RES/$b.train.$r" ${ARGS[$m]}
    done
  done
  for fmt in $IMPLS; do
    b=$(printf "$fmt" "$m")
    log "$b --task ratio"
    run_one "$b" "$RES/$b.ratio" --task ratio
  done
done

# --- the table --------------------------------------------------------------------
fmt_num() { # fmt_num <value> <digits>
  [ -n "$1" ] && printf "%.${2}f" "$1" || printf "?"
}
stat() { # stat <binary> <key>: the median over the runs
  local vals=() f
  for f in "$RES/$1".train.*; do vals+=("$(field "$f" "$2")"); done
  median "${vals[@]}"
}
ratio() { # ratio <knet> <torch> <kind>: knet time / LibTorch time
  [ -n "$1" ] && [ -n "$2" ] || { printf "?"; return; }
  if [ "$3" = s ]; then
    awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'
  else
    awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", b / a}'
  fi
}
torch_threads=$(field "$RES/torch_$(set -- $MODELS; echo "$1").ratio" threads)
torch_interop=$(field "$RES/torch_$(set -- $MODELS; echo "$1").ratio" \
  interop_threads)
{
  echo "| model | workload | knet compiled | knet tape | LibTorch | compiled / LibTorch | tape / LibTorch | quality: compiled / tape / LibTorch | value+grad / forward: compiled / tape / LibTorch | knetc s |"
  echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | --- | ---: |"
  for m in $MODELS; do
    k=${KIND[$m]}
    c=$(stat "knet_${m}_compiled" "$([ "$k" = s ] && echo train_s || echo "$k")")
    t=$(stat "knet_${m}_tape" "$([ "$k" = s ] && echo train_s || echo "$k")")
    p=$(stat "torch_${m}" "$([ "$k" = s ] && echo train_s || echo "$k")")
    if [ "$k" = s ]; then
      unit=" s" d=2
    else
      unit=$([ "$k" = words_per_s ] && echo " w/s" || echo " sent/s") d=0
    fi
    q=${QUALITY[$m]} qd=4
    qc=$(fmt_num "$(stat "knet_${m}_compiled" "$q")" $qd)
    qt=$(fmt_num "$(stat "knet_${m}_tape" "$q")" $qd)
    qp=$(fmt_num "$(stat "torch_${m}" "$q")" $qd)
    vc=$(fmt_num "$(field "$RES/knet_${m}_compiled.ratio" vg_over_forward)" 2)
    vt=$(fmt_num "$(field "$RES/knet_${m}_tape.ratio" vg_over_forward)" 2)
    vp=$(fmt_num "$(field "$RES/torch_${m}.ratio" vg_over_forward)" 2)
    echo "| $m | ${WHAT[$m]} | $(fmt_num "$c" $d)$unit | $(fmt_num "$t" $d)$unit | $(fmt_num "$p" $d)$unit | $(ratio "$c" "$p" "$k") | $(ratio "$t" "$p" "$k") | ${QNAME[$m]}: $qc / $qt / $qp | $vc / $vt / $vp | $(fmt_num "${KNETC[$m]}" 2) |"
  done
  echo
  echo "Times are medians of $RUNS run(s) (training only: no data loading or evaluation); rnnlm and treenn show throughput (median), and for them the ratio columns are LibTorch's rate over knet's, so every ratio is knet's time over LibTorch's (< 1: knet faster). Threads: KNET_NUM_THREADS=$THREADS, OMP_NUM_THREADS=$THREADS, LibTorch set_num_threads($torch_threads), set_num_interop_threads($torch_interop). value+grad / forward: median time of one value-and-gradient call over one forward call on one minibatch (forward under NoGradGuard for LibTorch)."
  echo
  echo "| model | minibatch | forward ms: compiled / tape / LibTorch | value+grad ms: compiled / tape / LibTorch |"
  echo "| --- | --- | --- | --- |"
  declare -A MB=([linreg]="506x13" [softmax]="100 images" [mlp]="100 images"
    [lenet]="100 images" [charlm]="128x100 chars" [rnnlm]="64 sents, median length"
    [treenn]="20 trees")
  for m in $MODELS; do
    f=() g=()
    for b in "knet_${m}_compiled" "knet_${m}_tape" "torch_${m}"; do
      f+=("$(fmt_num "$(field "$RES/$b.ratio" forward_ms)" 3)")
      g+=("$(fmt_num "$(field "$RES/$b.ratio" vg_ms)" 3)")
    done
    echo "| $m | ${MB[$m]} | ${f[0]} / ${f[1]} / ${f[2]} | ${g[0]} / ${g[1]} / ${g[2]} |"
  done
  echo
  echo "| model | training runs: knet compiled | knet tape | LibTorch |"
  echo "| --- | --- | --- | --- |"
  for m in $MODELS; do
    k=${KIND[$m]}
    key=$([ "$k" = s ] && echo train_s || echo "$k")
    row="| $m"
    for b in "knet_${m}_compiled" "knet_${m}_tape" "torch_${m}"; do
      vals=()
      for f in "$RES/$b".train.*; do
        vals+=("$(fmt_num "$(field "$f" "$key")" $([ "$k" = s ] && echo 2 || echo 0))")
      done
      row+=" | ${vals[*]}"
    done
    echo "$row |"
  done
  echo
  cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
  mem=$(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)
  os=$(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME")
  torch=$(dpkg-query -W -f='${Version}' libtorch-dev 2>/dev/null || echo "?")
  dnnl=$(dpkg-query -W -f='${Version}' libdnnl-dev 2>/dev/null || echo "?")
  cxx=$(c++ --version | head -1)
  echo "Machine: $cpu, $(getconf _NPROCESSORS_ONLN) cores, $mem; $os, $(uname -r); $cxx; libtorch-dev $torch; libdnnl-dev $dnnl. Load average (1/5/15 min) at the start: $LOAD_START; at the end: $(cut -d' ' -f1-3 /proc/loadavg). $(date -u '+%Y-%m-%d %H:%M UTC'), run.sh took $(($(date +%s) - T_START)) s."
} >"$RES/table.md"
[ -z "$OUT" ] || cp "$RES/table.md" "$OUT"
log "done in $(($(date +%s) - T_START)) s; per-run outputs in $RES"
cat "$RES/table.md"
