#!/usr/bin/env bash
# Knet's benchmark tables, for knet (knetc-compiled and on the tape) and the
# peers a user would otherwise pick, in one command:
#
#   bench/run.sh [--quick] [--runs N] [--threads N] [--models a,b,...]
#                [--peers a,b,...] [--jobs N] [--knet-prefix DIR]
#                [--no-build] [--out FILE]
#
# Peers: libtorch (Debian's libtorch-dev 1.13, C++ frontend: bench/torch/),
# torch2 (PyTorch 2 from PyPI: the same bench/torch/ programs built against
# the C++ LibTorch inside the wheel, and the Python ports bench/py/ eager and
# under torch.compile), jax (bench/py/ under jax.jit). It builds knet from
# this repository (build-bench/knet, installed into build-bench/prefix),
# installs libtorch-dev when it is missing, creates build-bench/venv and
# installs torch, jax, jaxlib and optax there from PyPI, builds bench/
# (build-bench/bench, build-bench/torch2), runs every model with the same
# thread count (and CPU affinity) in every implementation, and prints
# markdown tables (also written to build-bench/results/table.md, or --out).
# A peer that cannot be installed or built gets columns that say why.
# Never part of `make test`.
#
#   --quick            a smoke test: a few steps per model, 1 run
#   --runs N           training runs per model and implementation; the table
#                      shows medians (default 3; --quick: 1)
#   --threads N        threads for every implementation (default 1); below
#                      the machine's CPU count, every program also runs
#                      pinned to CPUs 0..N-1 (taskset)
#   --models a,b       a subset of: linreg softmax mlp lenet charlm rnnlm treenn
#   --peers a,b        a subset of: libtorch torch2 jax (default: all)
#   --jobs N           build parallelism (default: nproc)
#   --knet-prefix DIR  use an installed knet there instead of building one
#   --no-build         use what build-bench already holds (no installs)
#   --out FILE         also write the tables there
#
# Data: $KNET_DATA_DIR, else ../shared/data seen from the repository root.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=$ROOT/build-bench
QUICK=0 RUNS= THREADS=1 MODELS="linreg softmax mlp lenet charlm rnnlm treenn"
JOBS=$(nproc) PREFIX= NOBUILD=0 OUT= PEERS="libtorch torch2 jax"

die() { echo "bench/run.sh: $*" >&2; exit 1; }
while [ $# -gt 0 ]; do
  case $1 in
    --quick) QUICK=1; shift ;;
    --runs) RUNS=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --models) MODELS=${2//,/ }; shift 2 ;;
    --peers) PEERS=${2//,/ }; shift 2 ;;
    --jobs) JOBS=$2; shift 2 ;;
    --knet-prefix) PREFIX=$(cd "$2" && pwd); shift 2 ;;
    --no-build) NOBUILD=1; shift ;;
    --out) OUT=$2; shift 2 ;;
    -h|--help) sed -n '2,36p' "$0"; exit 0 ;;
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
for p in $PEERS; do
  case $p in libtorch|torch2|jax) ;; *) die "unknown peer '$p'" ;; esac
done
has_peer() { [[ " $PEERS " == *" $1 "* ]]; }
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
# Why a peer's columns are empty: WHY[impl] (set when it cannot be installed
# or built, or when a run fails).
declare -A WHY
if [ $NOBUILD = 0 ] && has_peer libtorch; then
  if ! dpkg -s libtorch-dev >/dev/null 2>&1; then
    log "installing libtorch-dev (the LibTorch peer)"
    SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y libtorch-dev ||
      WHY[libtorch]="apt-get install libtorch-dev failed"
  fi
fi
if [ $NOBUILD = 0 ]; then
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
  with_torch=OFF
  has_peer libtorch && [ -z "${WHY[libtorch]:-}" ] && with_torch=ON
  cmake -S "$ROOT/bench" -B "$BUILD/bench" -G Ninja \
    -DCMAKE_BUILD_TYPE=Release -DKnet_DIR="$PREFIX/lib/cmake/Knet" \
    -DBENCH_WITH_TORCH=$with_torch >/dev/null ||
    die "configuring bench/ failed"
  cmake --build "$BUILD/bench" -j "$JOBS" >&2 || die "building bench/ failed"
fi
BIN=$BUILD/bench
has_peer libtorch && [ -z "${WHY[libtorch]:-}" ] &&
  [ ! -x "$BIN/torch_$(set -- $MODELS; echo "$1")" ] &&
  WHY[libtorch]="not built (no libtorch-dev?)"

# --- the Python peers and LibTorch 2 ------------------------------------------
# One virtual environment for PyTorch 2 and JAX. The PyPI torch wheel for
# Linux is built with CUDA and does not import without the CUDA runtime
# libraries it names (nvidia-* wheels), so it is installed with its
# dependencies; nothing here uses a GPU.
VENV=$BUILD/venv PY=$BUILD/venv/bin/python
py_fail() { # py_fail <peer> <why>
  case $1 in
    torch2) WHY[pytorch]=$2 WHY[torch_compile]=$2 WHY[libtorch2]=$2 ;;
    jax) WHY[jax]=$2 ;;
  esac
}
if { has_peer torch2 || has_peer jax; } && [ $NOBUILD = 0 ]; then
  if [ ! -x "$PY" ]; then
    log "creating the Python environment $VENV"
    if ! python3 -m venv "$VENV" >"$BUILD/venv.log" 2>&1; then
      SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
      DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y python3-venv \
        >>"$BUILD/venv.log" 2>&1 && rm -rf "$VENV" &&
        python3 -m venv "$VENV" >>"$BUILD/venv.log" 2>&1
    fi
  fi
  if [ -x "$PY" ] && has_peer torch2; then
    log "installing torch from PyPI into $VENV"
    "$PY" -m pip install -q torch 'setuptools>=77' >"$BUILD/pip-torch.log" 2>&1 ||
      py_fail torch2 "pip install torch failed: $(tail -1 "$BUILD/pip-torch.log")"
  fi
  if [ -x "$PY" ] && has_peer jax; then
    log "installing jax, jaxlib and optax from PyPI into $VENV"
    "$PY" -m pip install -q jax jaxlib optax >"$BUILD/pip-jax.log" 2>&1 ||
      py_fail jax "pip install jax jaxlib optax failed: $(tail -1 "$BUILD/pip-jax.log")"
  fi
fi
if has_peer torch2 || has_peer jax; then
  if [ ! -x "$PY" ]; then
    why="no Python virtual environment in $VENV (python3 -m venv failed)"
    [ $NOBUILD = 0 ] || why="no Python virtual environment in $VENV (--no-build installs nothing)"
    py_fail torch2 "$why"
    py_fail jax "$why"
  fi
fi
if has_peer torch2 && [ -z "${WHY[pytorch]:-}" ]; then
  # import torch and torch.compile on the CPU, or the reason they fail.
  if ! "$PY" -c 'import torch; f = torch.compile(lambda x: x.sin() + 1)
assert float(f(torch.zeros(2))[0]) == 1.0' >"$BUILD/torch-check.log" 2>&1; then
    py_fail torch2 "torch does not import or compile: $(grep -v '^W' "$BUILD/torch-check.log" | tail -1)"
  fi
fi
if has_peer jax && [ -z "${WHY[jax]:-}" ]; then
  "$PY" -c 'import jax, optax; jax.jit(lambda x: x + 1)(1.0)' \
    >"$BUILD/jax-check.log" 2>&1 ||
    py_fail jax "jax does not import or run: $(tail -1 "$BUILD/jax-check.log")"
fi
if has_peer torch2 && [ -z "${WHY[libtorch2]:-}" ] && [ $NOBUILD = 0 ]; then
  tdir=$("$PY" -c 'import os, torch; print(os.path.dirname(torch.__file__))')
  abi=$("$PY" -c 'import torch; print(int(torch._C._GLIBCXX_USE_CXX11_ABI))')
  log "building bench/torch against the wheel's LibTorch ($tdir) into $BUILD/torch2"
  if ! { cmake -S "$ROOT/bench" -B "$BUILD/torch2" -G Ninja \
           -DCMAKE_BUILD_TYPE=Release -DBENCH_WITH_KNET=OFF \
           -DBENCH_TORCH_ROOT="$tdir" -DBENCH_TORCH_CXX11_ABI="$abi" &&
         cmake --build "$BUILD/torch2" -j "$JOBS"; } >"$BUILD/torch2.log" 2>&1; then
    WHY[libtorch2]="building bench/torch against the wheel failed (see $BUILD/torch2.log)"
  fi
fi
if has_peer torch2 && [ -z "${WHY[libtorch2]:-}" ] &&
   [ ! -x "$BUILD/torch2/torch_$(set -- $MODELS; echo "$1")" ]; then
  WHY[libtorch2]="not built"
fi

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
# The implementations, in table order; those of the peers asked for.
IMPLS="knet_compiled knet_tape"
has_peer libtorch && IMPLS+=" libtorch"
has_peer torch2 && IMPLS+=" libtorch2 pytorch torch_compile"
has_peer jax && IMPLS+=" jax"
torch1_version=$(dpkg-query -W -f='${Version}' libtorch-dev 2>/dev/null | sed 's/[+-].*//')
torch2_version=
[ -z "${WHY[pytorch]:-}${WHY[libtorch2]:-}" ] && [ -x "$PY" ] &&
  torch2_version=$("$PY" -c 'import torch; print(torch.__version__.split("+")[0])' 2>/dev/null)
jax_version=
[ -z "${WHY[jax]:-}" ] && [ -x "$PY" ] &&
  jax_version=$("$PY" -c 'import jax; print(jax.__version__)' 2>/dev/null)
declare -A NAME=([knet_compiled]="knet compiled" [knet_tape]="knet tape"
  [libtorch]="LibTorch ${torch1_version:-1.x} C++" [libtorch2]="LibTorch ${torch2_version:-2.x} C++"
  [pytorch]="PyTorch ${torch2_version:-2.x} eager" [torch_compile]="torch.compile"
  [jax]="JAX${jax_version:+ $jax_version} jit")
ready() { [ -z "${WHY[$1]:-}" ]; } # ready <impl>: installed and built

# One thread per implementation; below the CPU count, pinned to CPUs 0..N-1
# as well (XLA sizes its thread pool from the CPUs it may use).
PIN=()
if [ "$THREADS" -lt "$(nproc)" ]; then
  if command -v taskset >/dev/null; then
    PIN=(taskset -c "0-$((THREADS - 1))")
  else
    log "warning: no taskset; implementations are not pinned to $THREADS CPU(s)"
  fi
fi
export KNET_DATA_DIR=$DATA KNET_NUM_THREADS=$THREADS OMP_NUM_THREADS=$THREADS
export MKL_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS
export TF_CPP_MIN_LOG_LEVEL=2 PYTHONWARNINGS=ignore
RES=$BUILD/results
rm -rf "$RES"
mkdir -p "$RES"

# field <file> <key>: the value of "@key=value" in a program's output.
field() { if [ -f "$1" ]; then sed -n "s/^@$2=//p" "$1" | tail -1; fi; }
median() {
  printf '%s\n' "$@" | grep -v '^$' | sort -g |
    awk '{a[NR]=$1} END {if (NR == 0) print ""; else if (NR % 2) print a[(NR+1)/2];
         else print (a[NR/2] + a[NR/2+1]) / 2}'
}
run_one() { # run_one <impl> <model> <log> <args...>
  local impl=$1 m=$2 out=$3 cmd
  shift 3
  # knet runs OpenBLAS on the calling thread (docs/design.md,
  # "Parallelism"): a pool sized by OPENBLAS_NUM_THREADS would only spin at
  # start-up.
  case $impl in
    knet_compiled) cmd=(env OPENBLAS_NUM_THREADS=1 "$BIN/knet_${m}_compiled") ;;
    knet_tape) cmd=(env OPENBLAS_NUM_THREADS=1 "$BIN/knet_${m}_tape") ;;
    libtorch) cmd=("$BIN/torch_$m") ;;
    libtorch2) cmd=("$BUILD/torch2/torch_$m") ;;
    pytorch) cmd=("$PY" "$ROOT/bench/py/peer.py" "$m" --impl torch) ;;
    torch_compile) cmd=("$PY" "$ROOT/bench/py/peer.py" "$m" --impl torch_compile)
      # --quick: charlm's time step instead of its whole unrolled loss (a
      # compile of minutes, twice).
      [ $QUICK = 0 ] || [ "$m" != charlm ] || cmd+=(--compile step) ;;
    jax) cmd=("$PY" "$ROOT/bench/py/peer.py" "$m" --impl jax) ;;
  esac
  if ! "${PIN[@]}" "${cmd[@]}" --data "$DATA" --threads "$THREADS" "$@" \
       >"$out" 2>&1; then
    case $impl in
      knet_*)
        echo "bench/run.sh: ${cmd[*]} $* failed; its output:" >&2
        cat "$out" >&2
        exit 1 ;;
    esac
    WHY[$impl/$m]="${NAME[$impl]} failed on $m: $(grep -v '^W' "$out" | tail -1)"
    log "${WHY[$impl/$m]}"
    return
  fi
  case $impl in
    knet_compiled) [ "$(field "$out" impl)" = knet-compiled ] ||
      die "knet_${m}_compiled did not run knetc's compiled code (is_compiled is false)" ;;
    knet_tape) [ "$(field "$out" impl)" = knet-tape ] ||
      die "knet_${m}_tape ran compiled code (is_compiled is true)" ;;
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
    for impl in $IMPLS; do
      ready "$impl" && ready "$impl/$m" || continue
      log "$impl $m ${ARGS[$m]} (run $r/$RUNS)"
      run_one "$impl" "$m" "$RES/$impl.$m.train.$r" ${ARGS[$m]}
    done
  done
  for impl in $IMPLS; do
    ready "$impl" && ready "$impl/$m" || continue
    log "$impl $m --task ratio"
    run_one "$impl" "$m" "$RES/$impl.$m.ratio" --task ratio
  done
done

# --- the tables -------------------------------------------------------------------
fmt_num() { # fmt_num <value> <digits>
  [ -n "$1" ] && printf "%.${2}f" "$1" || printf "?"
}
stat() { # stat <impl> <model> <key>: the median over the runs
  local vals=() f
  for f in "$RES/$1.$2".train.*; do vals+=("$(field "$f" "$3")"); done
  median "${vals[@]}"
}
ratio() { # ratio <knet> <peer> <kind>: knet's time over the peer's
  [ -n "$1" ] && [ -n "$2" ] || { printf "?"; return; }
  if [ "$3" = s ]; then
    awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'
  else
    awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", b / a}'
  fi
}
value() { # value <impl> <model> <key>: stat, or nothing when it did not run
  if ready "$1" && ready "$1/$2"; then stat "$@"; fi
}
key_of() { [ "${KIND[$1]}" = s ] && echo train_s || echo "${KIND[$1]}"; }
cell() { # cell <impl> <model> <text>: the text, or why there is none
  if ! ready "$1"; then printf "n/a"
  elif ! ready "$1/$2"; then printf "failed"
  else printf "%s" "$3"; fi
}
header() { # header <first columns...>: a row naming every implementation
  local row="|" c
  for c in "$@"; do row+=" $c |"; done
  for impl in $IMPLS; do row+=" ${NAME[$impl]} |"; done
  echo "$row"
  row="|"
  for c in "$@"; do row+=" --- |"; done
  for impl in $IMPLS; do row+=" ---: |"; done
  echo "$row"
}
{
  echo "| model | workload |$(for i in $IMPLS; do printf ' %s |' "${NAME[$i]}"; done) fastest peer | compiled / fastest | tape / fastest |"
  echo "| --- | --- |$(for i in $IMPLS; do printf ' ---: |'; done) --- | ---: | ---: |"
  for m in $MODELS; do
    k=${KIND[$m]} key=$(key_of "$m")
    if [ "$k" = s ]; then unit=" s" d=2
    else unit=$([ "$k" = words_per_s ] && echo " w/s" || echo " sent/s") d=0; fi
    row="| $m | ${WHAT[$m]} |"
    best= best_v=
    declare -A V=()
    for impl in $IMPLS; do
      V[$impl]=$(value "$impl" "$m" "$key")
      row+=" $(cell "$impl" "$m" "$(fmt_num "${V[$impl]}" $d)$unit") |"
      case $impl in knet_*) continue ;; esac
      [ -n "${V[$impl]}" ] || continue
      if [ -z "$best_v" ] || awk -v a="${V[$impl]}" -v b="$best_v" -v s="$k" \
           'BEGIN {exit !(s == "s" ? a < b : a > b)}'; then
        best=$impl best_v=${V[$impl]}
      fi
    done
    echo "$row $(if [ -n "$best" ]; then echo "${NAME[$best]}"; else echo "?"; fi) | $(ratio "${V[knet_compiled]}" "$best_v" "$k") | $(ratio "${V[knet_tape]}" "$best_v" "$k") |"
    unset V
  done
  echo
  echo "Training time (rnnlm, treenn: throughput), medians of $RUNS run(s): the training loop only, no data loading, evaluation, compilation or warm-up. The ratio columns are knet's time over the fastest peer's (< 1: knet faster; for rnnlm and treenn the peer's rate over knet's). Threads: $THREADS for every implementation (KNET_NUM_THREADS, OMP/MKL/OPENBLAS_NUM_THREADS, torch.set_num_threads and set_num_interop_threads$([ "$THREADS" = 1 ] && echo ", XLA's one-thread flags"))$([ ${#PIN[@]} -gt 0 ] && echo ", every program pinned with \`${PIN[*]}\`")."
  echo
  echo "Quality: the first step's loss → the model's quality at the end ($(for m in $MODELS; do printf '%s: %s; ' "$m" "${QNAME[$m]}"; done | sed 's/; $//'))."
  echo
  header model
  for m in $MODELS; do
    row="| $m |"
    for impl in $IMPLS; do
      f=$(value "$impl" "$m" first_loss)
      q=$(value "$impl" "$m" "${QUALITY[$m]}")
      row+=" $(cell "$impl" "$m" "$(fmt_num "$f" 4) → $(fmt_num "$q" 4)") |"
    done
    echo "$row"
  done
  echo
  echo "Compile and warm-up, seconds (median over the runs): knetc on the model's source (the C++ compile of its output not included); torch.compile's compilation and two warm-up steps; JAX's ahead-of-time compile of the training step for every batch shape the run uses."
  echo
  echo "| model | knetc |$(has_peer torch2 && printf ' torch.compile |')$(has_peer jax && printf ' JAX jit |')"
  echo "| --- | ---: |$(has_peer torch2 && printf ' ---: |')$(has_peer jax && printf ' ---: |')"
  for m in $MODELS; do
    row="| $m | $(fmt_num "${KNETC[$m]}" 2) |"
    for impl in torch_compile jax; do
      [[ " $IMPLS " == *" $impl "* ]] || continue
      row+=" $(cell "$impl" "$m" "$(fmt_num "$(value "$impl" "$m" compile_s)" 1)") |"
    done
    echo "$row"
  done
  echo
  echo "One minibatch, milliseconds: forward / value-and-gradient (medians of repeated calls; forward without gradient recording: LibTorch and PyTorch under no_grad, JAX a jitted loss; value-and-gradient: LibTorch and PyTorch a forward and backward(), JAX jit(value_and_grad))."
  echo
  header model minibatch
  declare -A MB=([linreg]="506x13" [softmax]="100 images" [mlp]="100 images"
    [lenet]="100 images" [charlm]="128x100 chars" [rnnlm]="64 sents, median length"
    [treenn]="20 trees")
  for m in $MODELS; do
    row="| $m | ${MB[$m]} |"
    for impl in $IMPLS; do
      f=$(field "$RES/$impl.$m.ratio" forward_ms)
      g=$(field "$RES/$impl.$m.ratio" vg_ms)
      row+=" $(cell "$impl" "$m" "$(fmt_num "$f" 3) / $(fmt_num "$g" 3)") |"
    done
    echo "$row"
  done
  echo
  echo "Every training run (the table's medians come from these):"
  echo
  header model
  for m in $MODELS; do
    key=$(key_of "$m") d=$([ "${KIND[$m]}" = s ] && echo 2 || echo 0)
    row="| $m |"
    for impl in $IMPLS; do
      vals=()
      for f in "$RES/$impl.$m".train.*; do
        [ -f "$f" ] && vals+=("$(fmt_num "$(field "$f" "$key")" $d)")
      done
      row+=" $(cell "$impl" "$m" "${vals[*]}") |"
    done
    echo "$row"
  done
  echo
  notes=()
  for w in "${!WHY[@]}"; do notes+=("- ${NAME[${w%%/*}]:-$w}: ${WHY[$w]}"); done
  if [ ${#notes[@]} -gt 0 ]; then
    echo "Missing cells (n/a: the peer could not be installed or built; failed: the run failed):"
    echo
    printf '%s\n' "${notes[@]}" | sort
    echo
  fi
  # CPU kernel bandwidth (bench/kernels): knet's exp, tanh, sigm,
  # logsumexp rows and Adam step against a triad measured by the same run.
  if [ -x "$BIN/knet_kernels" ]; then
    kargs=()
    [ $QUICK = 1 ] && kargs=(--n 1000000 --reps 3)
    if "${PIN[@]}" "$BIN/knet_kernels" "${kargs[@]}" >"$RES/kernels.txt" 2>&1; then
      sed 's/^# knet CPU kernels/### knet CPU kernels/' "$RES/kernels.txt"
    else
      echo "knet_kernels failed: $(tail -1 "$RES/kernels.txt")"
    fi
    echo
  fi
  # (No `| head -1`: under pipefail the writer's SIGPIPE, when head exits
  # first, would end the script silently.)
  cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | sed -n 1p)
  mem=$(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)
  os=$(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME")
  dnnl=$(dpkg-query -W -f='${Version}' libdnnl-dev 2>/dev/null || echo "?")
  cxx=$(c++ --version | sed -n 1p)
  py=$(if [ -x "$PY" ]; then "$PY" --version 2>&1; fi)
  echo "Machine: $cpu, $(getconf _NPROCESSORS_ONLN) cores, $mem; $os, $(uname -r); $cxx; libdnnl-dev $dnnl; libtorch-dev ${torch1_version:-?}; ${py:-no Python peers}, torch ${torch2_version:-?}, jax ${jax_version:-?}. Load average (1/5/15 min) at the start: $LOAD_START; at the end: $(cut -d' ' -f1-3 /proc/loadavg). $(date -u '+%Y-%m-%d %H:%M UTC'), run.sh took $(($(date +%s) - T_START)) s."
} >"$RES/table.md"
[ -z "$OUT" ] || cp "$RES/table.md" "$OUT"
log "done in $(($(date +%s) - T_START)) s; per-run outputs in $RES"
cat "$RES/table.md"
