"""What every Python peer shares with the C++ benchmark programs.

The Python ports of bench/common/bench.h and bench/common/data.h: the command
line (`--name value` pairs), the splitmix64 stream and knet's initializers
(so that every implementation starts from the same float32 numbers and sees
the same batches), the data sets, timing, and the `@key=value` lines that
bench/run.sh reads. numpy only; the frameworks are imported by the models.
"""

import gzip
import math
import os
import sys
import time

import numpy as np

# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------


class Args:
    """`--name value` pairs, as example::Args parses them."""

    def __init__(self, argv):
        self.values = {}
        i = 0
        while i < len(argv):
            a = argv[i]
            if not a.startswith("--") or i + 1 >= len(argv):
                sys.exit(f"{sys.argv[0]}: expected --name value, got '{a}'")
            self.values[a[2:]] = argv[i + 1]
            i += 2

    def num(self, name, fallback):
        v = self.values.get(name)
        return fallback if v is None else float(v)

    def integer(self, name, fallback):
        return int(self.num(name, fallback))

    def str(self, name, fallback):
        return self.values.get(name, fallback)


def data_root(args):
    d = args.str("data", "")
    return d or os.environ.get("KNET_DATA_DIR") or "../shared/data"


def threads(args):
    env = os.environ.get("KNET_NUM_THREADS")
    return args.integer("threads", int(env) if env else 1)


# --------------------------------------------------------------------------
# The random stream (splitmix64, vectorized: the k-th draw after state s is
# mix(s + k * gamma)) and knet's initializers.
# --------------------------------------------------------------------------

_GAMMA = np.uint64(0x9E3779B97F4A7C15)


class Rng:
    def __init__(self, seed):
        self.s = np.uint64(seed)

    def next(self, n):
        """The next n 64-bit draws, in order."""
        with np.errstate(over="ignore"):
            k = np.arange(1, n + 1, dtype=np.uint64)
            z = self.s + k * _GAMMA
            self.s = self.s + np.uint64(n) * _GAMMA
            z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
            z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
            return z ^ (z >> np.uint64(31))

    def uniform(self, n):
        """n uniforms in [0, 1) with 53 random bits."""
        return (self.next(n) >> np.uint64(11)).astype(np.float64) * 2.0**-53

    def normal(self, n):
        """n standard normals, Box-Muller on consecutive pairs of uniforms."""
        u = self.uniform(2 * n).reshape(n, 2)
        u1 = np.maximum(u[:, 0], 1e-300)
        return np.sqrt(-2.0 * np.log(u1)) * np.cos(2 * math.pi * u[:, 1])


def permutation(n, rng):
    """Fisher-Yates over 0..n-1 with rng's below(i + 1) draws, as bench.h."""
    p = list(range(n))
    if n > 1:
        r = rng.next(n - 1)
        i = np.arange(n - 1, 0, -1, dtype=np.uint64)
        js = (r % (i + np.uint64(1))).tolist()
        for i, j in zip(range(n - 1, 0, -1), js):
            p[i], p[j] = p[j], p[i]
    return p


def fans(shape):
    if len(shape) == 0:
        return 1.0, 1.0
    if len(shape) == 1:
        return float(shape[0]), float(shape[0])
    receptive = float(np.prod(shape[2:])) if len(shape) > 2 else 1.0
    return shape[1] * receptive, shape[0] * receptive


def xavier_uniform(shape, rng):
    fi, fo = fans(shape)
    b = math.sqrt(6.0 / (fi + fo))
    n = int(np.prod(shape))
    return ((2 * rng.uniform(n) - 1) * b).astype(np.float32).reshape(shape)


def gaussian(shape, std, rng):
    n = int(np.prod(shape))
    return (std * rng.normal(n)).astype(np.float32).reshape(shape)


def zeros(shape):
    return np.zeros(shape, np.float32)


# --------------------------------------------------------------------------
# Data sets (bench/common/data.h)
# --------------------------------------------------------------------------


def die(msg):
    sys.exit(f"error: {msg}")


def _read(path, mode="r"):
    try:
        with open(path, mode) as f:
            return f.read()
    except OSError:
        die(f"cannot read {path} (set KNET_DATA_DIR or pass --data to the "
            "folder with the full data sets)")


def housing(root):
    """x [506, 13] standardized per column (population std), y [506, 1]."""
    v = np.array(_read(root + "/boston/housing.data").split(), np.float64)
    if v.size == 0 or v.size % 14:
        die("boston/housing.data: expected rows of 14 numbers")
    v = v.reshape(-1, 14)
    x = v[:, :13]
    mean = x.sum(0) / len(x)
    sd = np.sqrt(((x - mean) ** 2).sum(0) / len(x))
    return ((x - mean) / sd).astype(np.float32), v[:, 13:].astype(np.float32)


def _mnist_split(images, labels):
    def be32(b, at):
        return int.from_bytes(b[at:at + 4], "big")

    xi = gzip.decompress(_read(images, "rb"))
    yi = gzip.decompress(_read(labels, "rb"))
    if be32(xi, 0) != 2051 or be32(yi, 0) != 2049:
        die(f"bad MNIST idx files {images}, {labels}")
    n = be32(xi, 4)
    x = np.frombuffer(xi, np.uint8, n * 784, 16).astype(np.float32) / 255
    y = np.frombuffer(yi, np.uint8, n, 8).astype(np.int64)
    return x.reshape(n, 1, 28, 28), y


def mnist(root):
    d = root + "/mnist/"
    train = _mnist_split(d + "train-images-idx3-ubyte.gz",
                         d + "train-labels-idx1-ubyte.gz")
    test = _mnist_split(d + "t10k-images-idx3-ubyte.gz",
                        d + "t10k-labels-idx1-ubyte.gz")
    return train, test


def epoch_batches(n, batch, epochs, rng):
    out = []
    for _ in range(epochs):
        p = np.array(permutation(n, rng), np.int64)
        out += [p[b:b + batch] for b in range(0, n - batch + 1, batch)]
    return out


def char_batches(root, batch, seqlen):
    """(vocab, [x_k], [y_k]) with x_k, y_k [batch, seqlen] int64."""
    text = np.frombuffer(_read(root + "/tinyshakespeare/input.txt", "rb"),
                         np.uint8)
    present = np.zeros(256, bool)
    present[text] = True
    ids = np.cumsum(present) - 1
    vocab = int(present.sum())
    seq = ids[text].astype(np.int64)
    L = (len(text) - 1) // batch
    xs, ys = [], []
    for k in range(L // seqlen):
        i = np.arange(batch)[:, None] * L + k * seqlen + np.arange(seqlen)
        xs.append(seq[i])
        ys.append(seq[i + 1])
    return vocab, xs, ys


class LmBatch:
    def __init__(self, inp, out, words):
        self.inp, self.out, self.words = inp, out, words


def ptb(root, batch):
    """(vocab, batches) as DyNet's rnnlm-batch reads the Penn Treebank."""
    w2i = {"<s>": 0, "<unk>": 1}
    sents = []
    lines = _read(root + "/ptb/ptb.train.txt").split("\n")
    if lines[-1] == "":
        lines.pop()  # getline yields no line after the final newline
    for line in lines:
        s = [w2i.setdefault(w, len(w2i)) for w in line.split()]
        sents.append(s + [0])
    sents.sort(key=len, reverse=True)  # stable: ties in file order
    batches = []
    for s0 in range(0, len(sents), batch):
        group = sents[s0:s0 + batch]
        T = len(group[0])
        inp = np.zeros((len(group), T), np.int64)
        out = np.full((len(group), T), -1, np.int64)
        for r, s in enumerate(group):
            out[r, :len(s)] = s
            m = min(len(s), T - 1)
            inp[r, 1:1 + m] = s[:m]
        batches.append(LmBatch(inp, out, sum(len(s) for s in group)))
    return len(w2i), batches


class Tree:
    __slots__ = ("label", "word", "text", "left", "right")

    def __init__(self, label):
        self.label, self.word, self.text = label, -1, ""
        self.left = self.right = None

    def leaf(self):
        return self.left is None


def _parse_tree(s, i):
    def skip(i):
        while i < len(s) and s[i] == " ":
            i += 1
        return i

    i = skip(i)
    if i >= len(s) or s[i] != "(":
        die(f"SST: expected '(' at offset {i}")
    i += 1
    j = i
    while j < len(s) and s[j].isdigit():
        j += 1
    if j == i:
        die(f"SST: expected a label at offset {i}")
    t = Tree(int(s[i:j]))
    i = skip(j)
    if i < len(s) and s[i] == "(":
        t.left, i = _parse_tree(s, i)
        t.right, i = _parse_tree(s, i)
    else:
        k = s.find(")", i)
        if k < 0:
            die(f"SST: unterminated leaf at offset {i}")
        t.text, i = s[i:k], k
    i = skip(i)
    if i >= len(s) or s[i] != ")":
        die(f"SST: expected ')' at offset {i}")
    return t, i + 1


def _read_trees(path):
    return [_parse_tree(line, 0)[0]
            for line in _read(path).split("\n") if line]


def _number_words(t, vocab, grow):
    stack = [t]
    while stack:
        n = stack.pop()
        if n.leaf():
            if n.text not in vocab and grow:
                vocab[n.text] = len(vocab)
            n.word = vocab.get(n.text, 0)
        else:
            stack += [n.right, n.left]  # left first, as the recursion


def leaf_words(t):
    if t.leaf():
        return [t.word]
    return leaf_words(t.left) + leaf_words(t.right)


def sst(root):
    """(vocab, train trees in the seed-7 permutation, dev trees)."""
    train = _read_trees(root + "/sst/train.txt")
    dev = _read_trees(root + "/sst/dev.txt")
    vocab = {"<unk>": 0}
    for t in train:
        _number_words(t, vocab, True)
    for t in dev:
        _number_words(t, vocab, False)
    order = permutation(len(train), Rng(7))
    return len(vocab), [train[i] for i in order], dev


# --------------------------------------------------------------------------
# Timing and results
# --------------------------------------------------------------------------

now = time.perf_counter


def median(v):
    v = sorted(v)
    n = len(v)
    if n == 0:
        return 0.0
    return v[n // 2] if n % 2 else 0.5 * (v[n // 2 - 1] + v[n // 2])


def result(key, value):
    if isinstance(value, float):
        value = format(value, ".6g")
    print(f"@{key}={value}", flush=True)


def time_call(f, budget=2.0, min_reps=5):
    """Median seconds of one call of f, as bench::time_call."""
    f()
    t0 = now()
    f()
    first = max(now() - t0, 1e-7)
    reps = min(max(int(budget / first), min_reps), 1000)
    ts = []
    for _ in range(reps):
        t = now()
        f()
        ts.append(now() - t)
    return median(ts)


def report_ratio(forward, value_and_grad):
    budget = float(os.environ.get("BENCH_RATIO_BUDGET") or 2.0)
    min_reps = int(os.environ.get("BENCH_RATIO_MIN_REPS") or 5)
    f = time_call(forward, budget, min_reps)
    g = time_call(value_and_grad, budget, min_reps)
    result("forward_ms", f * 1e3)
    result("vg_ms", g * 1e3)
    result("vg_over_forward", g / f)
