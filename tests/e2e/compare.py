#!/usr/bin/env python3
"""Runs the compiled and the tape build of the e2e models and checks that
their values and gradients agree (relative 1e-8) line by line."""
import subprocess
import sys

def run(exe):
    p = subprocess.run([exe], capture_output=True, text=True)
    sys.stderr.write(p.stderr)
    if p.returncode != 0:
        sys.exit(f"{exe} failed (exit {p.returncode})")
    return p.stdout.splitlines(), p.stderr.splitlines()

(compiled, log), (tape, _) = run(sys.argv[1]), run(sys.argv[2])
if log[:2] != ["compiled: mlp_loss 1 deep_loss 1 control 1",
               "compiled: lenet 1 softmax 1 linreg 1 lstm 1 cell 1"]:
    sys.exit("the knetc build did not register its compiled functions")
if len(compiled) != len(tape):
    sys.exit(f"different line counts: {len(compiled)} vs {len(tape)}")
worst = 0.0
for a, b in zip(compiled, tape):
    ka, kb = a.split()[:2], b.split()[:2]
    if ka != kb:
        sys.exit(f"lines differ: {a[:60]} / {b[:60]}")
    va, vb = [float(v) for v in a.split()[2:]], [float(v) for v in b.split()[2:]]
    if len(va) != len(vb):
        sys.exit(f"{ka}: {len(va)} vs {len(vb)} numbers")
    for u, v in zip(va, vb):
        rel = abs(u - v) / max(1.0, abs(v))
        worst = max(worst, rel)
        if rel > 1e-8:
            sys.exit(f"{' '.join(ka)}: compiled {u!r} vs tape {v!r}")
print(f"{len(compiled)} lines agree; max relative difference {worst:.3g}")
