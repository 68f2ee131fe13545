"""Runs knetc --emit=ir over every .cpp in examples/ and tests/; fails when
knetc dies (a signal or an exit status other than 0 and 1) or hangs."""
import glob
import os
import subprocess
import sys

knetc, src = sys.argv[1], sys.argv[2]
files = sorted(glob.glob(os.path.join(src, "examples", "**", "*.cpp"),
                         recursive=True) +
               glob.glob(os.path.join(src, "tests", "**", "*.cpp"),
                         recursive=True))
bad = []
for f in files:
    try:
        r = subprocess.run([knetc, "--emit=ir", f], stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, timeout=300)
    except subprocess.TimeoutExpired:
        bad.append(f + ": timed out")
        continue
    if r.returncode not in (0, 1):
        bad.append("%s: exit status %d\n%s" % (f, r.returncode,
                                               r.stderr.decode()[-2000:]))
    elif r.returncode == 1 and not r.stderr.strip():
        bad.append(f + ": exit status 1 without a message")
print("knetc ran over %d files" % len(files))
for b in bad:
    print("CRASH " + b)
sys.exit(1 if bad else 0)
