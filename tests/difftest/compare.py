#!/usr/bin/env python3
"""Runs the differential tester's three builds and compares them.

    compare.py --tape EXE --compiled EXE --nofuse EXE --index JSON
               [--knetc KNETC] [--report DIR] [--tol 1e-9]
               [--fusion-tol 1e-12] [--numeric-tol 1e-6] [--timeout SECONDS]

The builds (driver.cpp over the functions gen.py wrote) print one line per
value and gradient: "<function>.<case> <tag> <numbers or words>". Checks:

  tape vs compiled   every line of the tape build against knetc's build:
                     relative difference (over max(1, |tape|)) at most --tol.
                     The compiled code evaluates the same formulas in f64 in
                     another order (fused kernels, its own adjoint formulas,
                     reductions), which moves the last few bits; 1e-9 leaves
                     room for that and for mild cancellation, and is far
                     below any real error. Integer results compare exactly.
                     A double function's compiled gradients (value_and_grad)
                     are checked against the tape build's central
                     differences (ngrad) at 1e-6 instead: only the compiled
                     build can differentiate with respect to a double.
  fused vs no-fuse   the same lines must agree to --fusion-tol (1e-12): only
                     the order of a reduction's sums may differ.
  registration       the compiled builds report is_compiled(f) for every
                     function (with --knetc, `knetc --explain` says why one
                     stays on the tape); the fused build ran fused kernels
                     and the --no-fuse build none. Functions gen.py found
                     knetc failing on (difftest_index.json) are mismatches.
  tape build         no generated function may throw or fail gradcheck there
                     (that would be a bug of the generator or of the tape).

A case whose tape values are not all finite is skipped, with a note. A
build that crashes or hangs in a case is run again without that function
(which counts as a mismatch). For each mismatching function it prints the
difference and the function's source with the helpers and functions it
uses (from difftest_index.json), ready to become a regression test; with
--report DIR it also writes them to DIR/<function>.cpp. Each mismatch is
labelled with its kind (knetc fails, stays on the tape, compiled build
throws, wrong values, precision: all differences below 1e-6 relative, ...)
and a count by kind precedes the last line:

    difftest: N programs, M values compared, K mismatches

and the exit status is 1 when K > 0.
"""

import argparse
import json
import math
import os
import re
import subprocess
import sys


def run(exe, skip, timeout):
    """Runs one build, again without any function it crashes or hangs in.
    Returns (lines, log, {function: why})."""
    crashed = {}
    while True:
        cmd = [exe] + (["--skip", ",".join(sorted(skip | set(crashed)))]
                       if skip or crashed else [])
        try:
            p = subprocess.run(cmd, capture_output=True, text=True,
                               timeout=timeout)
            rc, out, err = p.returncode, p.stdout, p.stderr
        except subprocess.TimeoutExpired as e:
            rc = "timeout"
            out = (e.stdout or b"").decode(errors="replace") \
                if isinstance(e.stdout, bytes) else (e.stdout or "")
            err = (e.stderr or b"").decode(errors="replace") \
                if isinstance(e.stderr, bytes) else (e.stderr or "")
        if rc in (0, 1):
            return out.splitlines(), err.splitlines(), crashed
        started = re.findall(r"^# (\S+)$", err, re.M)
        if not started or len(crashed) >= 20:
            sys.stderr.write(err[-3000:])
            sys.exit(f"{exe} failed (exit {rc}) outside any case")
        fn = started[-1].rsplit(".", 1)[0]
        why = (f"hangs (more than {timeout} s)" if rc == "timeout"
               else f"crashes (exit status {rc})")
        tail = [l for l in err.splitlines() if not l.startswith("# ")][-3:]
        crashed[fn] = f"{os.path.basename(exe)} {why}" + \
            (": " + " | ".join(tail) if tail else "")


def parse(lines):
    """{case: {tag: [tokens]}} in order."""
    cases = {}
    for line in lines:
        parts = line.split(" ")
        if len(parts) < 2:
            continue
        cases.setdefault(parts[0], {})[parts[1]] = parts[2:]
    return cases


def number(tok):
    try:
        return float(tok)
    except ValueError:
        return None


def is_int(tok):
    return re.fullmatch(r"-?\d+", tok) is not None


class Stats:
    def __init__(self):
        self.compared = 0


def differ(a, b, tol, stats, exact=False):
    """None if token lists a (reference) and b agree, else a description:
    the first entry that differs, and the largest relative difference."""
    if len(a) != len(b):
        return f"{len(a)} vs {len(b)} entries"
    first, worst = None, 0.0
    for i, (x, y) in enumerate(zip(a, b)):
        stats.compared += 1
        if x == y:
            continue
        if is_int(x) and is_int(y):
            if int(x) != int(y):
                first = first or f"entry {i}: {x} vs {y}"
                worst = math.inf
            continue
        u, v = number(x), number(y)
        if exact or u is None or v is None:
            first = first or f"entry {i}: {x} vs {y}"
            worst = math.inf
            continue
        if math.isnan(u) and math.isnan(v):
            continue
        rel = abs(u - v) / max(1.0, abs(u))
        if not rel <= tol:
            first = first or f"entry {i}: {x} vs {y}"
            worst = max(worst, rel if not math.isnan(rel) else math.inf)
    if first is None:
        return None
    return first + (f" (largest relative difference {worst:.3g})"
                    if math.isfinite(worst) else "")


def compare_case(ref, got, tol, stats, kind, numeric=None):
    """Differences between two builds' lines of one case; numeric: the
    tolerance for a compiled double gradient against central differences
    (tape vs compiled), None when both sides have the same lines."""
    out = []
    for tag, toks in ref.items():
        if numeric is not None and tag.startswith("ngrad"):
            continue
        if tag not in got:
            out.append(f"{tag}: missing ({' '.join(toks)[:80]})")
            continue
        d = differ(toks, got[tag], tol, stats, exact=kind == "int")
        if d:
            out.append(f"{tag}: {d}")
    for tag, toks in got.items():
        if tag in ref:
            continue
        if numeric is not None and tag == "vgvalue":
            d = differ(ref.get("value", []), toks, tol, stats)
        elif numeric is not None and re.fullmatch(r"grad\d+", tag) and \
                "n" + tag in ref:
            d = differ(ref["n" + tag], toks, numeric, stats)
        else:
            d = f"unexpected line ({' '.join(toks)[:80]})"
        if d:
            out.append(f"{tag}: {d}")
    return out


def classify(whats):
    """The most telling kind of a function's problems."""
    text = "\n".join(whats)
    for key, kind in (("crashes", "crash"), ("hangs", "hang"),
                      ("not compiled", "stays on the tape"),
                      ("knetc", "knetc fails"),
                      ("throws", "tape build throws"),
                      ("gradcheck", "gradcheck fails on the tape"),
                      (": error:", "compiled build throws"),
                      ("missing", "missing values"),
                      ("entries", "different shape"),
                      ("unexpected", "unexpected values")):
        if key in text:
            return kind
    worst = [float(x) for x in
             re.findall(r"largest relative difference (\S+)\)", text)]
    if worst and len(worst) == text.count("\n") + 1 and max(worst) < 1e-6:
        return "precision (< 1e-6 relative)"
    return "wrong values"


def source_of(index, name):
    """The function and everything it uses, in definition order."""
    fns = index["functions"]
    seen, order = set(), []

    def visit(n):
        if n in seen or n not in fns:
            return
        seen.add(n)
        for d in fns[n]["deps"]:
            visit(d)
        order.append(n)

    visit(name)
    order.sort(key=lambda n: (fns[n]["file"], fns[n]["line"]))
    return "\n\n".join(fns[n]["source"] for n in order)


def explain(knetc, gen_dir, fns, names):
    """knetc --explain's reason for each of `names` to stay on the tape."""
    out = {}
    for file in sorted({fns[n]["file"] for n in names if n in fns}):
        p = subprocess.run([knetc, "--explain", os.path.join(gen_dir, file)],
                           capture_output=True, text=True)
        for line in p.stdout.splitlines():
            m = re.match(r"\S+:\d+: (\w+): stays on the tape: (.*)", line)
            if m and m.group(1) in names:
                out[m.group(1)] = f"knetc --explain: {m.group(2)}"
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tape", required=True)
    ap.add_argument("--compiled", required=True)
    ap.add_argument("--nofuse", required=True)
    ap.add_argument("--index", required=True)
    ap.add_argument("--report", help="write each mismatch to DIR/<fn>.cpp")
    ap.add_argument("--tol", type=float, default=1e-9)
    ap.add_argument("--fusion-tol", type=float, default=1e-12)
    ap.add_argument("--numeric-tol", type=float, default=1e-6)
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--knetc", help="ask this knetc (--explain) why a "
                    "function stays on the tape")
    args = ap.parse_args()
    with open(args.index) as fh:
        index = json.load(fh)
    fns = {n: f for n, f in index["functions"].items() if not f["helper"]}
    cases = {}  # function -> its lines of the case table
    table = os.path.join(os.path.dirname(args.index), "difftest_cases.inc")
    if os.path.exists(table):
        with open(table) as fh:
            for line in fh:
                m = re.match(r"KNET_DIFFTEST\(\w+, (\w+),", line)
                if m:
                    cases.setdefault(m.group(1), []).append(line.strip())

    tape_lines, tape_log, tape_crash = run(args.tape, set(), args.timeout)
    comp_lines, comp_log, comp_crash = run(args.compiled, set(), args.timeout)
    nof_lines, nof_log, nof_crash = run(args.nofuse, set(), args.timeout)
    tape, comp, nof = parse(tape_lines), parse(comp_lines), parse(nof_lines)

    problems = {}  # function -> [descriptions]
    notes = []

    def problem(fn, what):
        problems.setdefault(fn, []).append(what)

    # Functions gen.py took KNET_COMPILE off because knetc fails on them,
    # and those that stay on the tape because they call one.
    failed = index.get("knetc_failures", {})
    for fn, msg in failed.items():
        problem(fn, msg)

    def calls_failed(fn, seen=frozenset()):
        """A function knetc fails on that fn calls (maybe indirectly)."""
        for d in index["functions"].get(fn, {}).get("deps", []):
            if d in failed:
                return d
            if d not in seen and calls_failed(d, seen | {fn}):
                return calls_failed(d, seen | {fn})
        return None

    not_compiled = set()

    for crash in (tape_crash, comp_crash, nof_crash):
        for fn, why in crash.items():
            problem(fn, why)

    stats = Stats()
    skipped = []
    for case, ref in tape.items():
        fn = case.rsplit(".", 1)[0]
        kind = fns.get(fn, {}).get("kind", "?")
        if "error" in ref:
            problem(fn, f"{case}: the tape build throws: "
                        f"{' '.join(ref['error'])}")
            continue
        if "gradcheck" in ref:
            problem(fn, f"{case}: gradcheck fails in the tape build")
        if "nonfinite" in ref:
            skipped.append(case)
            continue
        for name, got, crash in (("compiled", comp, comp_crash),
                                 ("no-fuse", nof, nof_crash)):
            if fn in crash:
                continue
            if case not in got:
                problem(fn, f"{case}: missing from the {name} build")
                continue
            if got[case].get("compiled") != ["1"] and fn not in failed:
                via = calls_failed(fn)
                if via:
                    notes.append(f"{fn} stays on the tape: it calls {via}, "
                                 f"which knetc fails on")
                elif fn not in not_compiled:
                    not_compiled.add(fn)
                    problem(fn, f"{case}: not compiled by knetc (is_compiled "
                                f"is false in the {name} build)")
        if fn in comp_crash or case not in comp:
            continue
        ref = {t: v for t, v in ref.items() if t != "compiled"}
        got = {t: v for t, v in comp[case].items() if t != "compiled"}
        for d in compare_case(ref, got, args.tol, stats, kind,
                              numeric=args.numeric_tol):
            problem(fn, f"{case}: tape vs compiled: {d}")
        if fn in nof_crash or case not in nof:
            continue
        other = {t: v for t, v in nof[case].items() if t != "compiled"}
        for d in compare_case(got, other, args.fusion_tol, stats, kind):
            problem(fn, f"{case}: fused vs no-fuse: {d}")
    for case in set(comp) | set(nof):
        if case not in tape:
            problem(case.rsplit(".", 1)[0], f"{case}: not in the tape build")

    def kernels(log):
        for line in log:
            m = re.match(r"fused kernels: (\d+) run", line)
            if m:
                return int(m.group(1))
        return None

    general = []
    kc, kn = kernels(comp_log), kernels(nof_log)
    if kc == 0 and len(fns) >= 20:
        general.append("the fused build ran no fused kernel")
    if kn:
        general.append(f"the --no-fuse build ran {kn} fused kernels")

    if not_compiled and args.knetc:
        why = explain(args.knetc, os.path.dirname(args.index), fns,
                      not_compiled)
        for fn, reason in why.items():
            problem(fn, reason)
    for case in skipped:
        print(f"note: {case} skipped: its tape values are not all finite")
    for n in sorted(set(notes)):
        print(f"note: {n}")
    for g in general:
        print(f"MISMATCH: {g}")
    kinds = {}
    for fn, whats in problems.items():
        k = classify(whats)
        kinds[k] = kinds.get(k, 0) + 1
    if args.report and problems:
        os.makedirs(args.report, exist_ok=True)
    for fn in sorted(problems, key=lambda n: int(re.sub(r"\D", "", n) or 0)):
        info = fns.get(fn, {})
        print(f"\nMISMATCH {fn} ({info.get('kind', '?')}, "
              f"{info.get('file', '?')}:{info.get('line', '?')}; "
              f"{classify(problems[fn])}):")
        for what in problems[fn][:6]:
            print(f"  {what}")
        if len(problems[fn]) > 6:
            print(f"  ... and {len(problems[fn]) - 6} more")
        src = source_of(index, fn)
        print("  source:\n" + "\n".join("    " + l for l in src.split("\n")))
        if args.report:
            with open(os.path.join(args.report, f"{fn}.cpp"), "w") as fh:
                fh.write(f"// seed {index['seed']}, count {index['count']}: "
                         f"{fn}\n")
                for what in problems[fn]:
                    fh.write(f"// {what}\n")
                fh.write("// its cases in difftest_cases.inc (driver.cpp):\n")
                for line in cases.get(fn, []):
                    fh.write(f"// {line}\n")
                fh.write('#include <knet/knet.h>\n#include <cmath>\n'
                         '#include <cstdint>\n#include <vector>\n'
                         'using namespace knet;\n\n' + src + "\n")
    n = len(problems) + len(general)
    if kinds:
        print("\nmismatches by kind: " + ", ".join(
            f"{v} {k}" for k, v in sorted(kinds.items(), key=lambda x: -x[1])))
    print(f"difftest: {len(fns)} programs, {stats.compared} values compared, "
          f"{n} mismatches")
    return 1 if n else 0


if __name__ == "__main__":
    sys.exit(main())
