#!/usr/bin/env python3
"""knetc's compile time against the size of a function (issue: linear).

  bench/compile_time.py [--knetc build/bin/knetc] [--sizes 5000,10000,20000]

Generates one KNET_COMPILE function of N statements (straight-line tensor
arithmetic, reductions, branches and counted loops, cycling through five
statement kinds), times `knetc --emit=ir` (the frontend) and `knetc
--emit=cpp` (frontend, autodiff, canonicalization, fusion, emitter) on it,
and prints a table with each size's time relative to the smallest.
"""
import argparse
import os
import subprocess
import tempfile
import time

STATEMENTS = [
    "h = h * w + x;",
    "h = tanh(h) - w;",
    "if (k > 2) h = sin(h) * 0.5 + h; else h = h * 1.5;",
    "s = s + sum(h * h);",
    "for (int i = 0; i < k; ++i) h = h + s * 0.001;",
]


def source(n):
    body = "\n".join("  " + STATEMENTS[i % len(STATEMENTS)] for i in range(n))
    return ("#include <knet/knet.h>\nusing namespace knet;\n"
            "KNET_COMPILE Tensor big(const Tensor &x, const Tensor &w, "
            "int k) {\n  Tensor h = x;\n  Tensor s = sum(x);\n" + body +
            "\n  return sum(h) + s;\n}\n")


def timed(cmd):
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--knetc",
                    default=os.path.join(here, "..", "build", "bin", "knetc"))
    ap.add_argument("--sizes", default="5000,10000,20000")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"{'statements':>10} {'emit=ir s':>10} {'emit=cpp s':>11} "
          f"{'cpp ratio':>10}")
    with tempfile.TemporaryDirectory() as tmp:
        first = None
        for n in sizes:
            path = os.path.join(tmp, f"big{n}.cpp")
            with open(path, "w") as f:
                f.write(source(n))
            ir = timed([args.knetc, "--emit=ir", path, "-o", os.devnull])
            cpp = timed([args.knetc, "--emit=cpp", path, "-o", os.devnull])
            first = first or cpp
            print(f"{n:>10} {ir:>10.2f} {cpp:>11.2f} {cpp / first:>9.2f}x")


if __name__ == "__main__":
    main()
