#!/usr/bin/env python3
"""Makes the small example data sets in examples/data/ from the full sets.

Usage: scripts/make-example-data.py [SOURCE_DIR] [--out OUT_DIR] [--with-sst]

SOURCE_DIR defaults to ../shared/data seen from the project root (the folder
that holds mnist/, boston/, tinyshakespeare/, sst/); OUT_DIR defaults to
examples/data under the project root. Standard library only. The output is
deterministic: running the script twice gives identical bytes (gzip mtime 0,
no file name in the gzip header).

What it writes:
  mnist/train-images-idx3-ubyte.gz   the first 6000 training images
  mnist/train-labels-idx1-ubyte.gz   their labels
  mnist/t10k-images-idx3-ubyte.gz    the first 1000 test images
  mnist/t10k-labels-idx1-ubyte.gz    their labels
  tinyshakespeare/input.txt          the first 100000 bytes
  boston/housing.data                the first 400 rows
  sst/{train,dev}.txt                the first 300/100 trees, only with
                                     --with-sst: the Stanford Sentiment
                                     Treebank carries no licence that allows
                                     redistribution (see shared/data/README.md),
                                     so the project does not commit it.
"""

import argparse
import gzip
import io
import os
import struct
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

MNIST_COUNTS = {"train": 6000, "t10k": 1000}
SHAKESPEARE_BYTES = 100000
BOSTON_ROWS = 400
SST_TREES = {"train": 300, "dev": 100}


def fail(msg):
    sys.exit("make-example-data: " + msg)


def read_idx(path):
    """Returns (magic, dims, payload bytes) of an idx file, gzip'ed or not."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4:
        fail(f"{path}: truncated idx header")
    (magic,) = struct.unpack(">I", data[:4])
    ndim = magic & 0xFF
    if magic >> 8 != 0x08 or ndim < 1:  # 0x08: unsigned bytes
        fail(f"{path}: bad idx magic number {magic:#x}")
    header = 4 + 4 * ndim
    if len(data) < header:
        fail(f"{path}: truncated idx header")
    dims = list(struct.unpack(">" + "I" * ndim, data[4:header]))
    size = 1
    for d in dims:
        size *= d
    if len(data) - header != size:
        fail(f"{path}: payload has {len(data) - header} bytes, dims {dims} "
             f"need {size}")
    return magic, dims, data[header:]


def write_gzip(path, payload):
    buf = io.BytesIO()
    # filename="" and mtime=0 keep the output byte-identical across runs.
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0,
                       compresslevel=9) as g:
        g.write(payload)
    write_bytes(path, buf.getvalue())


def write_bytes(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
    print(f"wrote {os.path.relpath(path, ROOT)} ({len(data)} bytes)")


def find_source(src, *parts):
    """The file src/parts..., or its .gz/unzipped twin."""
    path = os.path.join(src, *parts)
    for p in (path, path + ".gz", path[:-3] if path.endswith(".gz") else None):
        if p and os.path.isfile(p):
            return p
    fail(f"missing {path}")


def make_mnist(src, out):
    for split, count in MNIST_COUNTS.items():
        for kind in ("images-idx3", "labels-idx1"):
            name = f"{split}-{kind}-ubyte"
            magic, dims, payload = read_idx(find_source(src, "mnist", name))
            if dims[0] < count:
                fail(f"{name}: has {dims[0]} items, need {count}")
            item = 1
            for d in dims[1:]:
                item *= d
            header = struct.pack(">I", magic) + struct.pack(
                ">" + "I" * len(dims), count, *dims[1:])
            write_gzip(os.path.join(out, "mnist", name + ".gz"),
                       header + payload[:count * item])


def make_shakespeare(src, out):
    with open(find_source(src, "tinyshakespeare", "input.txt"), "rb") as f:
        data = f.read(SHAKESPEARE_BYTES)
    if len(data) < SHAKESPEARE_BYTES:
        fail("tinyshakespeare/input.txt is shorter than expected")
    write_bytes(os.path.join(out, "tinyshakespeare", "input.txt"), data)


def first_lines(path, n):
    with open(path, "rb") as f:
        lines = f.read().splitlines(keepends=True)
    lines = [l for l in lines if l.strip()]
    if len(lines) < n:
        fail(f"{path}: has {len(lines)} non-empty lines, need {n}")
    return b"".join(lines[:n])


def make_boston(src, out):
    data = first_lines(find_source(src, "boston", "housing.data"), BOSTON_ROWS)
    write_bytes(os.path.join(out, "boston", "housing.data"), data)


def make_sst(src, out):
    for split, n in SST_TREES.items():
        data = first_lines(find_source(src, "sst", split + ".txt"), n)
        write_bytes(os.path.join(out, "sst", split + ".txt"), data)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("source", nargs="?",
                    default=os.path.join(os.path.dirname(ROOT), "shared",
                                         "data"),
                    help="folder with the full data sets "
                    "(default: ../shared/data from the project root)")
    ap.add_argument("--out", default=os.path.join(ROOT, "examples", "data"),
                    help="output folder (default: examples/data)")
    ap.add_argument("--with-sst", action="store_true",
                    help="also write an SST subset (not for committing)")
    args = ap.parse_args()
    if not os.path.isdir(args.source):
        fail(f"no data folder {args.source} (pass the path as an argument)")
    make_mnist(args.source, args.out)
    make_shakespeare(args.source, args.out)
    make_boston(args.source, args.out)
    if args.with_sst:
        make_sst(args.source, args.out)


if __name__ == "__main__":
    main()
