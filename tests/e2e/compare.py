#!/usr/bin/env python3
"""Runs two builds of the e2e models and checks that their values and
gradients agree line by line.

  compare.py A B                 A: knetc's build, B: the tape (relative 1e-8)
  compare.py --fusion A B        A: knetc's build, B: knetc --no-fuse; they
                                 must agree to 1e-12 (only the order of a
                                 reduction's sums may differ) and A must have
                                 run fused kernels, B none

Lines of a compiled function called from taped code (first word
"hybrid_...") agree to 1e-10. Lines of an f32 run (first word "name:f32")
agree to 1e-5 relative: a fused
kernel may round an f32 chain differently (contractions, a reduction's
order) than separate ops. Their second word names the printed value's dtype
("value:f32"), which must be the same in both builds.
"""
import re
import subprocess
import sys

args = sys.argv[1:]
fusion = args[:1] == ["--fusion"]
if fusion:
    args = args[1:]
tol = 1e-12 if fusion else 1e-8

def run(exe):
    p = subprocess.run([exe], capture_output=True, text=True)
    sys.stderr.write(p.stderr)
    if p.returncode != 0:
        sys.exit(f"{exe} failed (exit {p.returncode})")
    return p.stdout.splitlines(), p.stderr.splitlines()

def kernels_run(log):
    for line in log:
        m = re.match(r"fused kernels: (\d+) run, (\d+) fell back", line)
        if m:
            return int(m.group(1))
    sys.exit("no 'fused kernels' line in the log")

(a, log_a), (b, log_b) = run(args[0]), run(args[1])
registered = ["compiled: mlp_loss 1 deep_loss 1 control 1",
              "compiled: lenet 1 softmax 1 linreg 1 lstm 1 cell 1",
              "compiled: early_return 1 1 ints 1 1 1 1 1 1 undefined 1 "
              "keepdim 1 argument 1 constant 1 aliased 1 early_argument 1 float 1",
              "compiled: lstm_lm 1 birnn_attention 1 named_dtypes 1 "
              "weak_scalars 1 mixed_scalar 1 lambda_switch 1 lstm_state 1 1 "
              "array_model 1 tuple 1 1 constant_data 1 "
              "bilstm_tagger 1 resized_lists 1"]
if log_a[:4] != registered or (fusion and log_b[:4] != registered):
    sys.exit("the knetc build did not register its compiled functions")
if "compiled: vgg 1 resnet 1" not in log_a:
    sys.exit("the knetc build did not compile the batchnorm models")
if fusion:
    ka, kb = kernels_run(log_a), kernels_run(log_b)
    if ka == 0:
        sys.exit("the fused build ran no fused kernel")
    if kb != 0:
        sys.exit(f"the --no-fuse build ran {kb} fused kernels")
if len(a) != len(b):
    sys.exit(f"different line counts: {len(a)} vs {len(b)}")
worst = worst32 = 0.0
for la, lb in zip(a, b):
    ka, kb = la.split()[:2], lb.split()[:2]
    if ka != kb:
        sys.exit(f"lines differ: {la[:60]} / {lb[:60]}")
    va, vb = [float(v) for v in la.split()[2:]], [float(v) for v in lb.split()[2:]]
    if len(va) != len(vb):
        sys.exit(f"{ka}: {len(va)} vs {len(vb)} numbers")
    for u, v in zip(va, vb):
        rel = abs(u - v) / max(1.0, abs(v))
        line_tol = max(tol, 1e-5) if ka[0].endswith(":f32") else tol
        if ka[0].startswith("hybrid_"):
            line_tol = min(line_tol, 1e-10)
        if line_tol == tol:
            worst = max(worst, rel)
        else:
            worst32 = max(worst32, rel)
        if rel > line_tol:
            sys.exit(f"{' '.join(ka)}: {u!r} vs {v!r} (tolerance {line_tol})")
print(f"{len(a)} lines agree; max relative difference {worst:.3g} "
      f"(f32 runs: {worst32:.3g})")
