#!/usr/bin/env python3
"""Runs an example built with knetc (fused) and with knetc --no-fuse on the
same arguments and checks that they print the same numbers (losses,
accuracies) to a relative 1e-3, timings aside, and that the fused build ran
fused kernels when the unfused one could have (KNET_FUSED_STATS).

  compare_examples.py [--kernels] FUSED NOFUSE [example args...]

With --kernels the fused build must have run at least one fused kernel.
"""
import os
import re
import subprocess
import sys

argv = sys.argv[1:]
need_kernels = argv[:1] == ["--kernels"]
if need_kernels:
    argv = argv[1:]
fused, nofuse, args = argv[0], argv[1], argv[2:]
env = dict(os.environ, KNET_FUSED_STATS="1")

def run(exe):
    p = subprocess.run([exe] + args, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        sys.stderr.write(p.stdout + p.stderr)
        sys.exit(f"{exe} failed (exit {p.returncode})")
    m = re.search(r"knet: fused kernels: (\d+) run, (\d+) fell back", p.stderr)
    if not m:
        sys.exit(f"{exe}: no fused kernel counts on stderr")
    return p.stdout, int(m.group(1))

TIMING = re.compile(r"[-+0-9.eE]+ (s\b|[a-z]+/s)")
NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")

def numbers(text):
    out = []
    for line in text.splitlines():
        line = TIMING.sub("", line)
        out.append((line.split(" ")[0] if line else "",
                    [float(x) for x in NUMBER.findall(line)]))
    return out

(out_f, kernels_f), (out_n, kernels_n) = run(fused), run(nofuse)
if kernels_n != 0:
    sys.exit(f"the --no-fuse build ran {kernels_n} fused kernels")
if need_kernels and kernels_f == 0:
    sys.exit("the fused build ran no fused kernel")
a, b = numbers(out_f), numbers(out_n)
if len(a) != len(b):
    sys.exit(f"different line counts:\n{out_f}\nvs\n{out_n}")
worst = 0.0
for (wa, va), (wb, vb) in zip(a, b):
    if wa != wb or len(va) != len(vb):
        sys.exit(f"lines differ: {wa} {va} / {wb} {vb}")
    for u, v in zip(va, vb):
        rel = abs(u - v) / max(1e-6, abs(v))
        worst = max(worst, rel)
        if rel > 1e-3:
            sys.exit(f"fused {u!r} vs unfused {v!r}:\n{out_f}\nvs\n{out_n}")
print(f"{len(a)} lines agree (max relative difference {worst:.3g}); "
      f"{kernels_f} fused kernels ran")
