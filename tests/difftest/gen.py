#!/usr/bin/env python3
"""Random KNET_COMPILE programs for the differential tester (tape vs compiled).

    gen.py --seed S --count N --out DIR [--files F] [--cases C]
           [--knetc KNETC [-- knetc's compiler flags]]

writes into DIR:

  difftest_models.cpp           the N functions (F == 1), or
  difftest_models_<k>.cpp       k = 0..F-1, the functions split into F files
                                (a compiled function calls only functions of
                                its own file: knetc sees one file at a time)
  difftest_models.h             declarations of every KNET_COMPILE function
  difftest_cases.inc            the driver's table: one line per case, the
                                arguments (leaves and values) and the kind
                                of result (see the file's header)
  difftest_index.json           each function's source, line and what it
                                uses (helpers, callees), and the functions
                                knetc fails on (with --knetc), for compare.py

Every function is valid C++ in the subset of docs/language.md and free of
undefined behaviour for the arguments the table passes (and for any tensor
values): integer expressions are built with their C++ types (integral
promotions, the usual arithmetic conversions) and a conservative value
interval, so that signed arithmetic never overflows, no divisor can be 0 (or
-1 under INT_MIN), no shift is by a negative amount or by the width or more,
and no negative value is shifted; float-to-integer conversions are of
bounded values (tanh(x) * K). Narrower integer types wrap on assignment
(defined since C++20), unsigned arithmetic wraps by design. Wider signed
variables keep to an envelope (|v| <= 2^20 or 2^40) so that sums and
products of them stay in range.

Four kinds of functions:

  loss    Tensor result, 0-d (a reduction): diff(f, ...) and the wrapper
  tensor  Tensor result of a fixed non-scalar shape: sum(f(...) * R)
  double  double result of double and integer arguments: value_and_grad
  int     an integer result of integer (and double) arguments: the value

Tensor values stay moderate: each tensor expression carries an estimate of
its largest value and is squashed (tanh, or scaled) past 30, loop updates
are contractions or small steps, arguments of log/sqrt/division are bounded
away from 0 and exp sees tanh; so values are finite and central differences
(gradcheck on the tape) are accurate. The same seed gives the same files.

With --knetc, gen.py compiles each file with knetc (with and without
--no-fuse) and takes KNET_COMPILE off every function knetc fails on, so that
one failure does not stop the build; compare.py reports those functions.
"""

import argparse
import concurrent.futures
import json
import math
import os
import random
import re
import subprocess
import sys

# --------------------------------------------------------------------------
# C++ integer types: promotions, usual arithmetic conversions, value ranges.


class IntType:
    """A C++ integer type as spelled in the source (`name`) and its
    identity (`canon`: uint64_t and size_t are both unsigned long)."""

    def __init__(self, name, canon, bits, signed, rank, suffix=None):
        self.name, self.canon, self.bits = name, canon, bits
        self.signed, self.rank, self.suffix = signed, rank, suffix

    @property
    def min(self):
        return -(1 << (self.bits - 1)) if self.signed else 0

    @property
    def max(self):
        if self.name == "bool":
            return 1
        return (1 << (self.bits - 1)) - 1 if self.signed else (1 << self.bits) - 1

    def __repr__(self):
        return self.name


BOOL = IntType("bool", "bool", 1, False, 0)
I8 = IntType("int8_t", "signed char", 8, True, 1)
U8 = IntType("uint8_t", "unsigned char", 8, False, 1)
UCHAR = IntType("unsigned char", "unsigned char", 8, False, 1)
I16 = IntType("int16_t", "short", 16, True, 2)
SHORT = IntType("short", "short", 16, True, 2)
U16 = IntType("uint16_t", "unsigned short", 16, False, 2)
I32 = IntType("int32_t", "int", 32, True, 3, "")
INT = IntType("int", "int", 32, True, 3, "")
U32 = IntType("uint32_t", "unsigned int", 32, False, 3, "u")
UNSIGNED = IntType("unsigned", "unsigned int", 32, False, 3, "u")
I64 = IntType("int64_t", "long", 64, True, 4, "l")
LL = IntType("long long", "long long", 64, True, 5, "ll")
U64 = IntType("uint64_t", "unsigned long", 64, False, 4, "ul")
SIZE = IntType("size_t", "unsigned long", 64, False, 4, "ul")
ULL = IntType("unsigned long long", "unsigned long long", 64, False, 5, "ull")

# Types that variables, arguments and casts are declared with.
DECL_TYPES = [BOOL, I8, U8, UCHAR, I16, SHORT, U16, I32, INT, U32, UNSIGNED,
              I64, LL, U64, SIZE]
# Loop counters.
LOOP_TYPES = [INT, INT, INT, I64, SIZE, UNSIGNED, SHORT, U8, LL, U16]
# Count arguments (loop bounds, 0..3).
COUNT_TYPES = LOOP_TYPES + [I8, U64, UCHAR]
UNSIGNED_OF = {"int": UNSIGNED, "long": U64, "long long": ULL}


def promote(t):
    """Integral promotion: everything narrower than int becomes int."""
    return INT if t.rank < 3 else t


def common_type(a, b):
    """The usual arithmetic conversions of two integer operands."""
    a, b = promote(a), promote(b)
    if a.canon == b.canon:
        return a
    if a.signed == b.signed:
        return a if a.rank > b.rank else b
    u, s = (b, a) if a.signed else (a, b)
    if u.rank >= s.rank:
        return u
    if s.bits > u.bits:
        return s
    return UNSIGNED_OF[s.canon]


def envelope(t):
    """The values a variable of type t may hold. Types of at most 16 bits
    and unsigned types may hold anything (their arithmetic cannot overflow:
    it is done in int, or wraps); wider signed ones stay small enough that
    sums and some products of them do not overflow."""
    if t.signed and t.bits == 32:
        return (-(1 << 20), 1 << 20)
    if t.signed and t.bits == 64:
        return (-(1 << 40), 1 << 40)
    return (t.min, t.max)


def convert(lo, hi, t):
    """The range of a value in [lo, hi] converted to t (modular, C++20)."""
    if t is BOOL or t.name == "bool":
        return (0 if lo <= 0 <= hi else 1, 0 if lo == hi == 0 else 1)
    if t.min <= lo and hi <= t.max:
        return (lo, hi)
    n = 1 << t.bits
    if hi - lo < n:
        wl, wh = (lo - t.min) % n + t.min, (hi - t.min) % n + t.min
        if wl <= wh:
            return (wl, wh)
    return (t.min, t.max)


def tdiv(x, y):
    """C++ integer division (truncates toward zero)."""
    q = abs(x) // abs(y)
    return q if (x >= 0) == (y > 0) else -q


class IE:
    """An integer expression: its C++ code, type, value range, and whether
    it came from a floating-point value (knetc refuses to let such a value
    flow back into differentiable arithmetic)."""

    def __init__(self, code, t, lo, hi, taint=False):
        assert lo <= hi, (code, lo, hi)
        self.code, self.t, self.lo, self.hi, self.taint = code, t, lo, hi, taint

    def __repr__(self):
        return f"IE({self.code}: {self.t} [{self.lo}, {self.hi}])"


def int_literal(t, v):
    """A literal of type t with value v."""
    if t.name == "bool":
        return IE("true" if v else "false", BOOL, v, v)
    if t.suffix is not None:
        code = f"{abs(v)}{t.suffix}"
        return IE(f"(-{code})" if v < 0 else code, t, v, v)
    return IE(f"static_cast<{t.name}>({v})", t, v, v)


def arith(op, a, b):
    """`a op b` for + - * / % & | ^ with C++ types; None if it could be
    undefined behaviour for some values in the operands' ranges."""
    r = common_type(a.t, b.t)
    al, ah = convert(a.lo, a.hi, r)
    bl, bh = convert(b.lo, b.hi, r)
    taint = a.taint or b.taint
    if op in "+-*":
        if op == "+":
            lo, hi = al + bl, ah + bh
        elif op == "-":
            lo, hi = al - bh, ah - bl
        else:
            c = [al * bl, al * bh, ah * bl, ah * bh]
            lo, hi = min(c), max(c)
        if not (r.min <= lo and hi <= r.max):
            if r.signed:
                return None
            lo, hi = r.min, r.max
    elif op in "/%":
        if bl <= 0 <= bh:
            return None
        if r.signed and al == r.min and bl <= -1 <= bh:
            return None
        if op == "/":
            c = [tdiv(al, bl), tdiv(al, bh), tdiv(ah, bl), tdiv(ah, bh)]
            lo, hi = min(c), max(c)
        else:
            m = max(abs(bl), abs(bh)) - 1
            lo = 0 if al >= 0 else max(al, -m)
            hi = 0 if ah <= 0 else min(ah, m)
    elif op == "&":
        if al >= 0 or bl >= 0:
            lo, hi = 0, min(h for l, h in ((al, ah), (bl, bh)) if l >= 0)
        else:
            k = max(abs(v) for v in (al, ah, bl, bh)).bit_length()
            lo, hi = -(1 << k), (1 << k) - 1
    elif op in "|^":
        if al >= 0 and bl >= 0:
            lo, hi = 0, (1 << max(ah, bh).bit_length()) - 1
        else:
            k = max(abs(v) for v in (al, ah, bl, bh)).bit_length()
            lo, hi = -(1 << k), (1 << k) - 1
    else:
        raise ValueError(op)
    return IE(f"({a.code} {op} {b.code})", r, lo, hi, taint)


def shift(op, a, b):
    """`a << b` / `a >> b`: the amount in [0, width), a never negative and,
    for a signed left operand, no bit shifted out of range."""
    lt = promote(a.t)
    al, ah = convert(a.lo, a.hi, lt)
    if b.lo < 0 or b.hi >= lt.bits or al < 0:
        return None
    if op == "<<":
        lo, hi = al << b.lo, ah << b.hi
        if hi > lt.max:
            if lt.signed:
                return None
            lo, hi = 0, lt.max
    else:
        lo, hi = al >> b.hi, ah >> b.lo
    return IE(f"({a.code} {op} {b.code})", lt, lo, hi, a.taint or b.taint)


def compare(op, a, b):
    return IE(f"({a.code} {op} {b.code})", BOOL, 0, 1, a.taint or b.taint)


def unary(op, a):
    p = promote(a.t)
    al, ah = convert(a.lo, a.hi, p)
    if op == "!":
        return IE(f"(!{a.code})", BOOL, 0, 1, a.taint)
    if op == "+":
        return IE(f"(+{a.code})", p, al, ah, a.taint)
    if op == "-":
        if p.signed:
            if -ah < p.min or -al > p.max:
                return None
            return IE(f"(-{a.code})", p, -ah, -al, a.taint)
        lo, hi = (0, 0) if ah == 0 else (p.min, p.max)
        return IE(f"(-{a.code})", p, lo, hi, a.taint)
    if op == "~":
        if p.signed:
            return IE(f"(~{a.code})", p, -ah - 1, -al - 1, a.taint)
        return IE(f"(~{a.code})", p, p.max - ah, p.max - al, a.taint)
    raise ValueError(op)


def cast(t, a, style):
    lo, hi = convert(a.lo, a.hi, t)
    code = (f"static_cast<{t.name}>({a.code})" if style
            else f"(({t.name})({a.code}))")
    return IE(code, t, lo, hi, a.taint)


def ternary(cond, a, b):
    if a.t.canon == b.t.canon:
        t = a.t
    else:
        t = common_type(a.t, b.t)
    al, ah = convert(a.lo, a.hi, t)
    bl, bh = convert(b.lo, b.hi, t)
    return IE(f"({cond} ? {a.code} : {b.code})", t, min(al, bl), max(ah, bh),
              a.taint or b.taint)


def fits(e, t, env=True):
    """Whether e converted to t stays in t's envelope (or t's range)."""
    lo, hi = convert(e.lo, e.hi, t)
    el, eh = envelope(t) if env else (t.min, t.max)
    return el <= lo and hi <= eh


# --------------------------------------------------------------------------
# Tensor shapes.

SHAPES = [(3, 4), (4,), (1, 4), (3, 1), (), (3,), (4, 4), (3, 3), (1, 1)]
SHAPE_WEIGHTS = [6, 2, 1.5, 1.5, 1.5, 1, 1, 0.7, 0.5]


def bcast(*shapes):
    n = max(len(s) for s in shapes)
    out = []
    for i in range(n):
        dims = set()
        for s in shapes:
            j = i - (n - len(s))
            dims.add(s[j] if j >= 0 else 1)
        dims.discard(1)
        if len(dims) > 1:
            return None
        out.append(dims.pop() if dims else 1)
    return tuple(out)


def shape_cpp(s):
    return ", ".join(str(d) for d in s)


BIN_PAIRS = {s: [(a, b) for a in SHAPES for b in SHAPES if bcast(a, b) == s]
             for s in SHAPES}
SUBSHAPES = {s: [a for a in SHAPES if bcast(a, s) == s] for s in SHAPES}

# reductions: (source shape, dims, keepdim) -> result shape
REDUCE = {s: [] for s in SHAPES}
for src in SHAPES:
    r = len(src)
    if r == 0:
        continue
    for dims in ([0], [1], [0, 1]) if r == 2 else ([0],):
        for keep in (False, True):
            res = tuple(1 if i in dims else d for i, d in enumerate(src)) \
                if keep else tuple(d for i, d in enumerate(src) if i not in dims)
            if res in REDUCE:
                REDUCE[res].append((src, dims, keep))
LSE = {s: [] for s in SHAPES}
for src in SHAPES:
    for d in range(len(src)):
        for keep in (False, True):
            res = tuple(1 if i == d else x for i, x in enumerate(src)) \
                if keep else tuple(x for i, x in enumerate(src) if i != d)
            if res in LSE:
                LSE[res].append((src, d, keep))
MATMUL = {s: [] for s in SHAPES}
for a in SHAPES:
    for b in SHAPES:
        if len(a) != 2 or len(b) != 2:
            continue
        for ta in (False, True):
            for tb in (False, True):
                ea = a[::-1] if ta else a
                eb = b[::-1] if tb else b
                if ea[1] == eb[0] and (ea[0], eb[1]) in MATMUL:
                    MATMUL[(ea[0], eb[1])].append((a, ta, b, tb))
LINEAR = {s: [(x, w) for x in SHAPES for w in SHAPES
              if len(s) == 2 and len(x) == 2 and len(w) == 2 and
              x[0] == s[0] and w[0] == s[1] and x[1] == w[1]] for s in SHAPES}
# shape-changing views and joins: result -> [(sources, template)]
VIEWS = {
    (4,): [([(1, 4)], "{0}.squeeze(0)"), ([(3, 4)], "{0}.select(0, 1)"),
           ([(4, 4)], "{0}.select(1, 3)"), ([(3, 4)], "{0}.select(0, -1)")],
    (3,): [([(3, 1)], "{0}.squeeze(1)"), ([(3, 4)], "{0}.select(1, 2)"),
           ([(3, 3)], "{0}.select(0, 0)")],
    (1, 4): [([(4,)], "{0}.unsqueeze(0)"), ([(4, 4)], "chunk({0}, 4, 0)[2]"),
             ([(3, 4)], "{0}.slice(0, 1, 2)")],
    (3, 1): [([(3,)], "{0}.unsqueeze(1)"), ([(3, 4)], "{0}.slice(1, 2, 3)"),
             ([(3, 3)], "chunk({0}, 3, 1)[1]")],
    (3, 4): [([(3, 4)], "{0}.reshape({{4, 3}}).transpose(0, 1)"),
             ([(3, 4)], "{0}.permute({{1, 0}}).transpose(1, 0)"),
             ([(3, 1), (3, 3)], "concat({{{0}, {1}}}, 1)"),
             ([(3, 4)], "{0}.contiguous()"), ([(3, 4)], "{0}.clone()")],
    (4, 4): [([(3, 4), (1, 4)], "concat({{{0}, {1}}}, 0)"),
             ([(4, 4)], "{0}.transpose(0, 1)")],
    (3, 3): [([(3, 3)], "{0}.transpose(1, 0)")],
    (1, 1): [([()], "{0}.reshape({{1, 1}})")],
    (): [([(1, 1)], "{0}.squeeze(0).squeeze(0)")],
}
# one cheap way from a [3,4] tensor to every shape
DERIVE = {
    (3, 4): "{0}", (): "mean({0})", (4,): "mean({0}, {{0}})",
    (1, 4): "sum({0}, {{0}}, true)", (3, 1): "sum({0}, {{1}}, true)",
    (3,): "mean({0}, {{1}})", (4, 4): "matmul({0}.transpose(0, 1), {0})",
    (3, 3): "matmul({0}, {0}.transpose(0, 1))", (1, 1): "sum({0}, {{0, 1}}, true)",
}

# --------------------------------------------------------------------------
# Variables and functions.


class Var:
    """A variable in scope. cat: tensor, param, tvec, pvec, int, double,
    float."""

    def __init__(self, name, cat, shape=None, t=None, lo=0, hi=0,
                 mutable=True, taint=False, ref=False, count=False, mag=3.0):
        self.name, self.cat, self.shape, self.t = name, cat, shape, t
        self.mag = mag  # tensors: an estimate of the largest |value|
        self.lo, self.hi, self.mutable, self.taint = lo, hi, mutable, taint
        self.ref, self.count = ref, count

    def ie(self):
        return IE(self.name, self.t, self.lo, self.hi, self.taint)


class Param:
    """A parameter of a generated function or helper."""

    def __init__(self, var, decl):
        self.var, self.decl = var, decl


class Func:
    """A generated function (compiled) or helper (static, inlined)."""

    def __init__(self, name, kind, helper, params, shape=None, rtype=None):
        self.name, self.kind, self.helper = name, kind, helper
        self.params, self.shape, self.rtype = params, shape, rtype
        self.maybe_undefined = False
        self.mag = 0.0  # tensor results: estimated largest |value|
        self.ret_taint = False  # int results: may come from a float
        self.deps = []
        self.source = ""
        self.file = 0

    def ret_decl(self):
        if self.kind in ("loss", "tensor"):
            return "Tensor"
        if self.kind == "double":
            return "double"
        if self.kind == "void":
            return "void"
        return self.rtype.name

    def signature(self):
        ps = ", ".join(p.decl for p in self.params)
        return f"{self.ret_decl()} {self.name}({ps})"

    def callable_from_tensor_code(self):
        return not any(p.var.cat in ("param", "pvec") or p.var.ref
                       for p in self.params)


class Gen:
    """Generates the functions of one run."""

    def __init__(self, seed, neg_index=0.1):
        self.rng = random.Random(seed)
        self.neg_index = neg_index
        self.funcs = []  # compiled functions, in order
        self.helpers = []

    # -- scope ----------------------------------------------------------

    def begin_function(self, func):
        self.func = func
        self.scopes = [[p.var for p in func.params]]
        self.loops = []
        self.block_depth = 0
        self.counter = 0
        self.param_codes = set()
        self.mags = {}
        self.used = set()
        self.budget = self.rng.randint(5, 12)
        self.file_funcs = [f for f in self.funcs if f.file == self.file]
        self.file_helpers = [h for h in self.helpers if h.file == self.file]

    def fresh(self, prefix):
        self.counter += 1
        return f"{prefix}{self.counter}"

    def vars(self, *cats):
        return [v for s in self.scopes for v in s if v.cat in cats]

    def pick(self, vs):
        """A variable, preferring those not read yet."""
        unused = [v for v in vs if v.name not in self.used]
        v = self.rng.choice(unused if unused and self.rng.random() < 0.6
                            else vs)
        self.used.add(v.name)
        return v

    def declare(self, v):
        self.scopes[-1].append(v)

    def tensor_code(self):
        return self.func.kind in ("loss", "tensor") or (
            self.func.kind == "void" and self.func.tensor_helper)

    def use(self, f):
        if f.name not in self.func.deps:
            self.func.deps.append(f.name)

    # -- integer expressions ----------------------------------------------

    def int_leaf(self, clean):
        r = self.rng
        vs = [v for v in self.vars("int") if not (clean and v.taint)]
        x = r.random()
        if vs and x < 0.55:
            return self.pick(vs).ie()
        vecs = self.vars("tvec", "pvec")
        if vecs and x < 0.62:
            return IE(f"{r.choice(vecs).name}.size()", SIZE, 1, 3)
        ts = [v for v in self.vars("tensor") if v.shape]
        if ts and x < 0.66:  # sizes: integers that are not from float data
            v = r.choice(ts)
            d = r.randrange(len(v.shape))
            code, n = r.choice([(f"{v.name}.size({d})", v.shape[d]),
                                (f"{v.name}.shape()[{d}]", v.shape[d]),
                                (f"{v.name}.numel()", math.prod(v.shape))])
            return IE(code, I64, n, n)
        if not clean and x < 0.74:
            e = self.float_to_int()
            if e:
                return e
        t = r.choice(DECL_TYPES)
        return int_literal(t, self.int_value(t, r.random() < 0.5))

    def int_value(self, t, small):
        r = self.rng
        lo, hi = envelope(t)
        if small:
            return max(lo, min(hi, r.randint(-9, 40)))
        special = [lo, hi, hi - 1, lo + 1, 0, 1, (lo + hi) // 2,
                   hi // 3, 1 << (t.bits // 2)]
        if r.random() < 0.5:
            return max(lo, min(hi, r.choice(special)))
        return r.randint(lo, hi)

    def float_to_int(self):
        """A bounded float-to-integer conversion (tainted)."""
        r = self.rng
        t = r.choice([I8, U8, I16, U16, INT, UNSIGNED, I64, U64, SIZE, LL])
        d = self.gen_dbl(1, detached=True)
        lo, hi = envelope(t)
        # Outside integer functions the integer may steer a computation
        # that is differentiated numerically: keep it small, so that the
        # perturbations of central differences rarely move it.
        small = self.func.kind != "int" or self.func.helper
        if t.signed:
            k = float(min(hi, -lo)) * 0.45
            k = min(k, 50.0) if small else k
            code = f"(({t.name})(std::tanh({d}) * {k!r}))"
            v = int(k)
            return IE(code, t, -v, v, True)
        k = float(hi) * 0.45
        k = min(k, 50.0) if small else k
        code = f"static_cast<{t.name}>(std::tanh({d}) * {k!r} + {k!r})"
        return IE(code, t, 0, int(2 * k), True)

    def gen_int(self, depth, clean=False):
        """An integer expression; clean: not derived from a float value."""
        r = self.rng
        for _ in range(8):
            e = self._gen_int(depth, clean)
            if e is not None:
                return e
        return self.int_leaf(clean)

    def _gen_int(self, depth, clean):
        r = self.rng
        x = r.random()
        if depth <= 0 or x < 0.3:
            return self.int_leaf(clean)
        if x < 0.72:
            return self.int_binary(depth, clean)
        if x < 0.78:
            return unary(r.choice("-~!+"), self.gen_int(depth - 1, clean))
        if x < 0.86:
            return cast(r.choice(DECL_TYPES), self.gen_int(depth - 1, clean),
                        r.random() < 0.5)
        if x < 0.93:
            return ternary(self.gen_cond(depth - 1, clean),
                           self.gen_int(depth - 1, clean),
                           self.gen_int(depth - 1, clean))
        return self.int_call(depth, clean)

    def int_binary(self, depth, clean):
        r = self.rng
        op = r.choices(["+", "-", "*", "/", "%", "<<", ">>", "&", "|", "^",
                        "<", "<=", ">", ">=", "==", "!=", "&&", "||"],
                       [5, 5, 4, 2, 3, 1.5, 1.5, 1.5, 1, 1.5, 1, 1, 1, 1, 1,
                        1, 0.5, 0.5])[0]
        a = self.gen_int(depth - 1, clean)
        b = self.gen_int(depth - 1, clean)
        if op in ("<", "<=", ">", ">=", "==", "!=", "&&", "||"):
            return compare(op, a, b)
        if op in ("<<", ">>"):
            return self.int_shift(op, a, b)
        if op in "/%":
            b = self.nonzero(b)
            e = arith(op, a, b) if b else None
            return e
        e = arith(op, a, b)
        if e is None:  # a signed overflow is possible: shrink the operands
            e = arith(op, self.shrink(a), self.shrink(b))
        return e

    def shrink(self, e):
        k = self.rng.choice([100, 1000, 1 << 15])
        lit = int_literal(INT if promote(e.t).bits == 32 else promote(e.t), k)
        s = arith("%", e, lit)
        return s if s is not None else e

    def nonzero(self, b):
        """b itself if it cannot be 0 (or -1), else b % k + c, never 0."""
        if b.lo > 0 or b.hi < -1:
            return b
        k = self.rng.choice([3, 7, 13, 64])
        m = arith("%", b, int_literal(INT, k))
        if m is None:
            return None
        if m.lo >= 0:
            return arith("+", m, int_literal(INT, 1))
        return arith("+", m, int_literal(INT, k))

    def int_shift(self, op, a, b):
        r = self.rng
        w = promote(a.t).bits
        if r.random() < 0.5:
            top = 20 if op == "<<" and promote(a.t).signed else w - 1
            amount = int_literal(INT, r.randint(0, top))
        else:
            amount = arith("&", b, int_literal(INT, r.choice([3, 7, 15])))
        if a.lo < 0 or (op == "<<" and promote(a.t).signed):
            a = arith("&", a, int_literal(INT, r.choice([255, 4095])))
        if a is None or amount is None:
            return None
        return shift(op, a, amount)

    def int_call(self, depth, clean):
        r = self.rng
        cands = [f for f in self.file_funcs if f.kind == "int"] + \
                [h for h in self.file_helpers if h.kind == "int"
                 and not (clean and h.ret_taint)]
        if not cands:
            return None
        f = r.choice(cands)
        args = self.call_args(f, depth)
        if args is None:
            return None
        self.use(f)
        lo, hi = envelope(f.rtype)
        # A helper is inlined: knetc sees its float-derived result as such.
        return IE(f"{f.name}({args})", f.rtype, lo, hi,
                  f.helper and f.ret_taint)

    def assign_int_expr(self, t, e):
        """e made to fit a variable of type t (its envelope)."""
        if fits(e, t):
            return e
        lo, hi = envelope(t)
        k = min(hi, -lo) if lo < 0 else hi
        lit = int_literal(I64 if k > 2147483647 else INT, k)
        m = arith("%", e, lit)
        if m is not None and fits(m, t):
            return m
        return int_literal(t, 0)

    # -- conditions ------------------------------------------------------

    def gen_cond(self, depth, clean=False):
        r = self.rng
        x = r.random()
        if x < 0.4:
            op = r.choice(["<", "<=", ">", ">=", "==", "!="])
            return compare(op, self.gen_int(depth, clean),
                           self.gen_int(depth, clean)).code
        if x < 0.5:
            bools = [v for v in self.vars("int") if v.t is BOOL
                     and not (clean and v.taint)]
            if bools:
                v = r.choice(bools).name
                return v if r.random() < 0.6 else f"(!{v})"
        if x < 0.7 or not self.tensor_code():
            op = r.choice(["<", ">", "<=", ">="])
            lhs = self.gen_dbl(depth, detached=True)
            rhs = r.choice(["0.0", "0.25", "-0.3", self.gen_dbl(0)])
            return f"({lhs} {op} {rhs})"
        if x < 0.9:
            e = self.gen_ten((), max(depth, 1))
            lhs = f"{self.as_tensor(e)}.item<double>()"
            op = r.choice(["<", ">"])
            rhs = r.choice(["0.0", "0.5", "-0.5", "1.0"])
            return f"({lhs} {op} {rhs})"
        a = self.gen_cond(depth - 1, clean)
        b = self.gen_cond(depth - 1, clean)
        return f"({a} {r.choice(['&&', '||'])} {b})"

    # -- double expressions ------------------------------------------------

    def dbl_leaf(self, detached):
        r = self.rng
        vs = self.vars("double", "float")
        x = r.random()
        if vs and x < 0.5:
            v = self.pick(vs)
            if v.cat == "float":  # float arithmetic promotes to double
                return r.choice([f"(double){v.name}", f"({v.name} * 0.5)"])
            return v.name
        ints = [v for v in self.vars("int") if not v.taint]
        if ints and x < 0.7:
            v = r.choice(ints)
            m = max(abs(v.lo), abs(v.hi), 1)
            if r.random() < 0.5:
                return f"((double){v.name} * {1.0 / m!r})"
            return f"({v.name} * {1.0 / m!r})"
        if detached and self.tensor_code() and x < 0.8:
            return f"{self.as_tensor(self.gen_ten((), 1))}.item<double>()"
        return r.choice(["0.5", "(-0.75)", "1.25", "0.1", "2.0", "(-1.5)",
                         "0.3"])

    def gen_dbl(self, depth, detached=False):
        """A double expression. detached: may read tensor data (item), for
        conditions and conversions only."""
        r = self.rng
        x = r.random()
        if depth <= 0 or x < 0.25:
            return self.dbl_leaf(detached)
        a = self.gen_dbl(depth - 1, detached)
        if x < 0.55:
            fs = ["std::sin({})", "std::cos({})", "std::tanh({})",
                  "std::atan({})", "std::exp(std::tanh({}))",
                  "std::log(1.0 + std::pow({}, 2.0))",
                  "std::sqrt(0.5 + std::pow({}, 2.0))", "std::abs({})",
                  "std::fabs({})", "(-{})", "std::pow({}, 2.0)", "std::erf({})",
                  "std::log1p(std::pow({}, 2.0))", "std::expm1(std::tanh({}))",
                  "sin({})", "tanh({})", "std::hypot({}, 0.5)",
                  "std::exp2(std::tanh({}))", "std::cbrt(2.0 + std::tanh({}))"]
            f = r.choices(fs, [1] * (len(fs) - 1) + [0.3])[0]
            return f.format(a)
        b = self.gen_dbl(depth - 1, detached)
        if x < 0.85:
            op = r.choice(["+", "-", "*", "*", "/"])
            if op == "/":
                return f"({a} / (1.5 + std::pow({b}, 2.0)))"
            return f"({a} {op} {b})"
        if x < 0.9:
            return f"std::{r.choice(['max', 'min'])}({a}, {b})"
        if x < 0.95:
            return f"({self.gen_cond(depth - 1)} ? {a} : {b})"
        return self.dbl_call(depth) or a

    def dbl_call(self, depth):
        cands = [f for f in self.file_funcs if f.kind == "double"] + \
                [h for h in self.file_helpers if h.kind == "double"]
        if not cands:
            return None
        f = self.rng.choice(cands)
        args = self.call_args(f, depth)
        if args is None:
            return None
        self.use(f)
        return f"{f.name}({args})"

    # -- tensor expressions -----------------------------------------------

    def index(self, vec):
        """An index into vec that is in range (or, rarely, one that is only
        in range in C++'s unsigned arithmetic)."""
        r = self.rng
        x = r.random()
        if x < 0.3:
            return "0"
        ints = [v for v in self.vars("int") if not v.taint and v.lo >= 0]
        if ints and x < 0.8:
            return f"{r.choice(ints).name} % {vec}.size()"
        if x < 0.8 + self.neg_index:
            e = self.gen_int(1, clean=True)
            return f"{e.code} % {vec}.size()"
        return f"{vec}.size() - 1"

    def ten_leaf(self, s):
        r = self.rng
        cands = []
        vs = [v for v in self.vars("tensor", "param", "tvec", "pvec")
              if v.shape == s]
        if not vs:
            return None
        pv = self.pick(vs)
        vs = [pv] if self.rng.random() < 0.7 else vs
        for v in vs:
            if v.cat in ("tensor", "param"):
                code = v.name if r.random() < 0.8 or v.cat != "param" \
                    else f"{v.name}.value()"
                if code == v.name and v.cat == "param":
                    self.param_codes.add(v.name)
            else:
                form = r.choice(["[]", "[]", "front", "back", "at"])
                if form == "[]":
                    code = f"{v.name}[{self.index(v.name)}]"
                elif form == "at":
                    code = f"{v.name}.at({self.index(v.name)})"
                else:
                    code = f"{v.name}.{form}()"
                if v.cat == "pvec":
                    self.param_codes.add(code)
            cands.append((code, v.mag))
        code, m = r.choice(cands)
        return self.T(code, m)

    def as_tensor(self, code):
        """code as a Tensor (a Param has no Tensor methods and does not
        deduce in a braced list of Tensors)."""
        if code in self.param_codes:
            return self.T(f"{code}.value()", self.mag(code))
        return code

    def T(self, code, m):
        """Records the magnitude estimate m of the tensor expression code."""
        self.mags[code] = m
        return code

    def mag(self, code):
        return self.mags.get(code, 3.0)

    def derive(self, s):
        """s from a [3,4] leaf, which every tensor function has."""
        base = self.as_tensor(self.ten_leaf((3, 4)))
        assert base is not None, self.func.name
        m = self.mag(base)
        m = {(1, 4): 3 * m, (3, 1): 4 * m, (4, 4): 3 * m * m,
             (3, 3): 4 * m * m, (1, 1): 12 * m}.get(s, m)
        return self.T(DERIVE[s].format(base), m)

    def gen_ten(self, s, depth):
        """A tensor expression of shape s. Its values stay moderate: an
        expression whose estimated magnitude grows past 30 is squashed
        (large values make sin/cos/exp ill-conditioned and central
        differences useless)."""
        r = self.rng
        e = None
        if depth <= 0 or r.random() < 0.2:
            e = self.ten_leaf(s)
            if e is None and depth <= 0:
                e = self.derive(s)
        if e is None:
            options = [(self.t_unary, 4), (self.t_binary, 5),
                       (self.t_scalar, 2),
                       (self.t_reduce, 2 if REDUCE[s] else 0),
                       (self.t_lse, 0.6 if LSE[s] else 0),
                       (self.t_softmax, 0.6 if s else 0),
                       (self.t_matmul, 1 if MATMUL[s] else 0),
                       (self.t_linear, 0.4 if LINEAR[s] else 0),
                       (self.t_view, 0.8 if s in VIEWS else 0),
                       (self.t_where, 1), (self.t_minmax, 1), (self.t_call, 1.2),
                       (self.t_ternary, 0.4)]
            fs, ws = zip(*options)
            for _ in range(4):
                e = r.choices(fs, ws)[0](s, depth)
                if e is not None:
                    break
            else:
                e = self.ten_leaf(s) or self.derive(s)
        m = self.mag(e)
        if m > 30:
            if r.random() < 0.5:
                return self.T(f"tanh({e})", 1)
            k = float(f"{3.0 / m:.2g}")
            return self.T(f"({e} * {k!r})", m * k)
        return e

    def small(self, e):
        """e, scaled down to the magnitude of an argument (3)."""
        m = self.mag(e)
        if m <= 3:
            return e
        k = float(f"{3.0 / m:.2g}")
        return self.T(f"({e} * {k!r})", m * k)

    def t_unary(self, s, d):
        r = self.rng
        a = self.gen_ten(s, d - 1)
        m = self.mag(a)
        sq = f"{a} * {a}" if len(a) < 12 else f"pow({a}, 2.0)"
        code, mm = r.choice([
            (f"(-{a})", m), (f"sin({a})", 1), (f"cos({a})", 1),
            (f"tanh({a})", 1), (f"sigm({a})", 1), (f"exp(tanh({a}))", 2.8),
            (f"log(1.0 + {sq})", 1 + 2 * math.log1p(m)),
            (f"log1p({sq})", 1 + 2 * math.log1p(m)),
            (f"sqrt(0.5 + {sq})", m + 1), (f"rsqrt(1.0 + {sq})", 1),
            (f"relu({a})", m), (f"abs({a})", m), (f"softplus({a})", m + 1),
            (f"gelu({a})", m), (f"swish({a})", m), (f"elu({a})", m + 1),
            (f"pow({a}, 2.0)", m * m), (f"pow(tanh({a}), 3.0)", 1),
            (f"pow(1.0 + {sq}, -0.5)", 1), (f"pow(exp(tanh({a})), 1.5)", 4.5)])
        return self.T(code, mm)

    def t_binary(self, s, d):
        r = self.rng
        sa, sb = r.choice(BIN_PAIRS[s])
        a, b = self.gen_ten(sa, d - 1), self.gen_ten(sb, d - 1)
        ma, mb = self.mag(a), self.mag(b)
        code, m = r.choice([
            (f"({a} + {b})", ma + mb), (f"({a} - {b})", ma + mb),
            (f"({a} * {b})", ma * mb), (f"({a} * {b})", ma * mb),
            (f"({a} / (1.5 + pow({b}, 2.0)))", ma),
            (f"({a} / (2.0 + sin({b})))", ma),
            (f"({a} / (1.0 + exp(tanh({b}))))", ma)])
        return self.T(code, m)

    def scalar_operand(self):
        """A double operand, roughly in [-3, 3]."""
        r = self.rng
        x = r.random()
        ints = [v for v in self.vars("int") if not v.taint]
        if ints and x < 0.35:
            v = r.choice(ints)
            m = max(abs(v.lo), abs(v.hi), 1)
            return f"((double){v.name} * {1.0 / m!r})"
        if x < 0.6:
            return f"std::tanh({self.gen_dbl(1)})"
        return r.choice(["0.5", "2.0", "(-1.5)", "0.25", "3.0", "(-0.1)"])

    def t_scalar(self, s, d):
        r = self.rng
        a = self.gen_ten(s, d - 1)
        m = self.mag(a)
        k = self.scalar_operand()
        code, mm = r.choice([
            (f"({a} * {k})", 3 * m), (f"({k} * {a})", 3 * m),
            (f"({a} + {k})", m + 3), (f"({k} - {a})", m + 3),
            (f"({a} - {k})", m + 3), (f"({a} / 3.0)", m / 3),
            (f"({k} / (1.5 + pow({a}, 2.0)))", 2)])
        return self.T(code, mm)

    def t_reduce(self, s, d):
        r = self.rng
        src, dims, keep = r.choice(REDUCE[s])
        a = self.gen_ten(src, d - 1)
        op = r.choice(["sum", "sum", "mean", "max", "min"])
        m = self.mag(a)
        if src and s == () and r.random() < 0.4:
            n = math.prod(src) if op == "sum" else 1
            return self.T(f"{op}({a})", m * n)
        n = math.prod(src[i] for i in dims) if op == "sum" else 1
        if r.random() < 0.2:
            dims = [x - len(src) for x in dims]
        ds = "{" + ", ".join(str(x) for x in dims) + "}"
        keeps = ", true" if keep else (", false" if r.random() < 0.2 else "")
        return self.T(f"{op}({a}, {ds}{keeps})", m * n)

    def t_lse(self, s, d):
        src, dim, keep = self.rng.choice(LSE[s])
        a = self.gen_ten(src, d - 1)
        return self.T(f"logsumexp({a}, {dim}{', true' if keep else ''})",
                      self.mag(a) + 1.5)

    def t_softmax(self, s, d):
        a = self.gen_ten(s, d - 1)
        dim = self.rng.randrange(len(s))
        op = self.rng.choice(["softmax", "logsoftmax", "logp"])
        return self.T(f"{op}({a}, {dim})",
                      1 if op == "softmax" else 2 * self.mag(a) + 1.5)

    def t_matmul(self, s, d):
        r = self.rng
        sa, ta, sb, tb = r.choice(MATMUL[s])
        a, b = self.gen_ten(sa, d - 1), self.gen_ten(sb, d - 1)
        a, b = self.as_tensor(a), self.as_tensor(b)
        m = self.mag(a) * self.mag(b) * (sa[0] if ta else sa[1])
        a = f"{a}.transpose(0, 1)" if ta else a
        b = f"{b}.transpose(0, 1)" if tb else b
        return self.T(f"matmul({a}, {b})", m)

    def t_linear(self, s, d):
        """linear(x, w, b) = x w^T + b: x [m,k], w [o,k], b [o]."""
        r = self.rng
        sx, sw = r.choice(LINEAR[s])
        x, w = self.gen_ten(sx, d - 1), self.gen_ten(sw, d - 1)
        m = self.mag(x) * self.mag(w) * sx[1]
        if (s[1],) in SHAPES and r.random() < 0.7:
            b = self.gen_ten((s[1],), d - 1)
            return self.T(f"linear({x}, {w}, {b})", m + self.mag(b))
        return self.T(f"linear({x}, {w})", m)

    def t_view(self, s, d):
        srcs, tmpl = self.rng.choice(VIEWS[s])
        args = [self.as_tensor(self.gen_ten(x, d - 1)) for x in srcs]
        return self.T(tmpl.format(*args), max(self.mag(a) for a in args))

    def t_where(self, s, d):
        r = self.rng
        for _ in range(10):
            sc, sa, sb = (r.choice(SUBSHAPES[s]) for _ in range(3))
            if bcast(sc, sa, sb) == s:
                break
        else:
            sc = sa = sb = s
        c = self.gen_ten(sc, d - 1)
        cond = (f"({c} > {self.gen_ten(sc, d - 1)})" if r.random() < 0.5
                else f"({c} {r.choice(['>', '<=', '<'])} "
                     f"{r.choice(['0.2', '-0.4', '0.0'])})")
        a, b = self.gen_ten(sa, d - 1), self.gen_ten(sb, d - 1)
        return self.T(f"where({cond}, {a}, {b})", max(self.mag(a), self.mag(b)))

    def t_minmax(self, s, d):
        r = self.rng
        op = r.choice(["maximum", "minimum"])
        if r.random() < 0.5:
            sa, sb = r.choice(BIN_PAIRS[s])
            a, b = self.gen_ten(sa, d - 1), self.gen_ten(sb, d - 1)
            return self.T(f"{op}({a}, {b})", max(self.mag(a), self.mag(b)))
        a = self.gen_ten(s, d - 1)
        return self.T(f"{op}({a}, {self.scalar_operand()})",
                      max(self.mag(a), 3))

    def t_ternary(self, s, d):
        c = self.gen_cond(1)
        a, b = self.gen_ten(s, d - 1), self.gen_ten(s, d - 1)
        a, b = self.as_tensor(a), self.as_tensor(b)  # one type: Tensor
        return self.T(f"({c} ? {a} : {b})", max(self.mag(a), self.mag(b)))

    def t_call(self, s, d):
        r = self.rng
        cands = [f for f in self.file_funcs + self.file_helpers
                 if f.kind in ("loss", "tensor") and f.shape == s
                 and not f.maybe_undefined and f.callable_from_tensor_code()]
        if not cands:
            return None
        f = r.choice(cands)
        args = self.call_args(f, d)
        if args is None:
            return None
        self.use(f)
        return self.T(f"{f.name}({args})", f.mag)

    # -- calls ----------------------------------------------------------------

    def call_args(self, f, depth):
        """Arguments for a call of f from here, or None."""
        r = self.rng
        out = []
        d = max(0, min(depth - 1, 1))
        for p in f.params:
            v = p.var
            if v.ref:
                cands = [u for u in self.vars(v.cat) if u.mutable and
                         not u.count and u.shape == v.shape and
                         (v.cat != "int" or u.t.canon == v.t.canon) and
                         (v.cat != "int" or not u.taint)]
                if not cands:
                    return None
                out.append(r.choice(cands).name)
            elif v.cat == "tensor":
                out.append(self.small(self.gen_ten(v.shape, d)))
            elif v.cat == "tvec":
                vecs = [u for u in self.vars("tvec") if u.shape == v.shape]
                if vecs and r.random() < 0.6:
                    out.append(r.choice(vecs).name)
                else:
                    n = r.randint(1, 3)
                    out.append("{" + ", ".join(
                        self.as_tensor(self.small(self.gen_ten(v.shape, d)))
                        for _ in range(n)) + "}")
            elif v.cat == "int" and v.count:
                e = self.gen_int(d, clean=True)
                out.append(arith("&", e, int_literal(INT, 3)).code
                           if r.random() < 0.5 else str(r.randint(0, 3)))
            elif v.cat == "int":
                e = self.assign_int_expr(v.t, self.gen_int(d, clean=True))
                out.append(e.code)
            elif v.cat == "double":
                x = self.gen_dbl(d)
                out.append(x if r.random() < 0.5 else f"std::tanh({x})")
            elif v.cat == "float":
                out.append(f"(float)({self.gen_dbl(d)})")
            else:
                return None
        return ", ".join(out)

    # -- statements -------------------------------------------------------

    def gen_block(self, n, ind):
        lines = []
        self.block_depth += 1
        for _ in range(n):
            lines += self.gen_stmt(ind)
        self.block_depth -= 1
        return lines

    def gen_stmt(self, ind):
        r = self.rng
        self.budget -= 1
        tensor = self.tensor_code()
        kind = self.func.kind
        mut_t = [v for v in self.vars("tensor") if v.mutable]
        mut_i = [v for v in self.vars("int") if v.mutable and not v.count]
        mut_d = [v for v in self.vars("double", "float") if v.mutable]
        compound = self.budget > 0 and self.block_depth < 5
        in_loop = bool(self.loops)
        loop = next((k for k in reversed(self.loops) if k != "switch"), None)
        opts = [
            ("decl_t", 3 if tensor else 0), ("assign_t", 3 if mut_t else 0),
            ("decl_i", 1.5 if kind != "int" else 3),
            ("assign_i", (1.5 if kind != "int" else 4) if mut_i else 0),
            ("decl_d", 0.7 if kind != "double" else 3),
            ("assign_d", (0.7 if kind != "double" else 3) if mut_d else 0),
            ("decl_f", 0.3 if kind != "double" else 0),
            ("if", 2.5 if compound else 0),
            ("for", 1.8 if compound and len(self.loops) < 3 else 0),
            ("while", 0.8 if compound and len(self.loops) < 3 else 0),
            ("do", 0.4 if compound and len(self.loops) < 3 else 0),
            ("range", 0.8 if compound and len(self.loops) < 3 and
             self.vars("tvec", "pvec") else 0),
            ("switch", 0.6 if compound and len(self.loops) < 3 else 0),
            # knetc keeps a function with a break, continue or return that
            # leaves a range-for on the tape: none of those (a break or
            # continue of a loop or switch inside one is fine)
            ("break", 1.0 if in_loop and self.loops[-1] != "range" else 0),
            # a continue needs a loop (a switch is not one)
            ("continue", 0.8 if loop not in (None, "range") else 0),
            ("return", (0.8 if self.block_depth > 1 else 0.1)
             if "range" not in self.loops else 0),
            ("call", 0.8),
        ]
        names, ws = zip(*opts)
        for _ in range(5):
            k = r.choices(names, ws)[0]
            out = getattr(self, "s_" + k)(ind)
            if out is not None:
                return out
        return self.s_decl_i(ind)

    def s_decl_t(self, ind):
        r = self.rng
        locs = [v for v in self.vars("tensor") if v.mutable and not v.ref]
        x = r.random()
        if locs and x < 0.08:  # a reference to a local
            v = r.choice(locs)
            name = self.fresh("r")
            self.declare(Var(name, "tensor", shape=v.shape, mag=v.mag,
                             mutable=False))
            return [f"{ind}const Tensor &{name} = {v.name};"]
        s = r.choices(SHAPES, SHAPE_WEIGHTS)[0]
        if x < 0.16:  # a braced list
            name = self.fresh("l")
            es = [self.as_tensor(self.gen_ten(s, r.randint(0, 2)))
                  for _ in range(r.randint(1, 3))]
            self.declare(Var(name, "tvec", shape=s, mutable=False,
                             mag=max(self.mag(e) for e in es)))
            return [f"{ind}std::vector<Tensor> {name} = {{{', '.join(es)}}};"]
        name = self.fresh("t")
        e = self.gen_ten(s, r.randint(1, 3))
        self.declare(Var(name, "tensor", shape=s, mag=self.mag(e)))
        if r.random() < 0.3:  # auto: a Tensor, never a Param
            return [f"{ind}auto {name} = {self.as_tensor(e)};"]
        return [f"{ind}Tensor {name} = {e};"]

    def squash_t(self, v, e):
        n = v.name
        v.mag += 4  # at most 16 iterations of += 0.25 tanh(...)
        return self.rng.choice([
            f"{n} = tanh({e});", f"{n} = sin({e});",
            f"{n} = 0.5 * {n} + 0.5 * tanh({e});", f"{n} = {n} + 0.25 * tanh({e});",
            f"{n} = {n} * sigm({e});", f"{n} = {n} - 0.125 * sigm({e});",
            f"{n} = {n} * 0.75 + 0.25 * sin({e});",
            f"{n} = maximum({n}, tanh({e}));",
            f"{n} = where({e} > 0.0, {n}, tanh({e}));"])

    def s_assign_t(self, ind):
        r = self.rng
        v = r.choice([v for v in self.vars("tensor") if v.mutable])
        e = self.gen_ten(v.shape, r.randint(1, 2))
        if self.loops or v.ref:
            return [f"{ind}{self.squash_t(v, e)}"]
        n, m = v.name, self.mag(e)
        code, v.mag = r.choice([
            (f"{n} = {e};", max(v.mag, m)), (f"{n} = {n} + {e};", v.mag + m),
            (f"{n} = {n} - {e};", v.mag + m), (f"{n} = {n} * tanh({e});", v.mag),
            (f"{n} = {e} * {n};", v.mag * m)])
        if v.mag > 30:  # keep it moderate
            code = f"{n} = tanh({code[len(n) + 3:-1]});"
            v.mag = 1
        return [ind + code]

    def new_int_var(self, t, e, count=False):
        name = self.fresh("i" if t is not BOOL else "b")
        e = self.assign_int_expr(t, e)
        lo, hi = envelope(t)
        v = Var(name, "int", t=t, lo=lo, hi=hi, taint=e.taint)
        self.declare(v)
        return v, e

    def s_decl_i(self, ind):
        r = self.rng
        t = r.choice(DECL_TYPES)
        e = self.gen_int(r.randint(1, 3), clean=r.random() < 0.6)
        v, e = self.new_int_var(t, e)
        init = r.choice([f" = {e.code}", f"{{{e.code}}}"]) if \
            fits(e, t, env=False) and e.t.canon == t.canon else f" = {e.code}"
        return [f"{ind}{t.name} {v.name}{init};"]

    def s_assign_i(self, ind):
        r = self.rng
        v = r.choice([v for v in self.vars("int") if v.mutable and not v.count])
        e = self.gen_int(r.randint(1, 2), clean=not v.taint)
        x = r.random()
        if x < 0.15 and v.t is not BOOL and not (v.t.signed and
                                                  v.t.bits >= 32):
            return [ind + r.choice([f"++{v.name};", f"{v.name}++;",
                                    f"--{v.name};", f"{v.name}--;"])]
        if x < 0.55:
            op = r.choice(["+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>"])
            if op in "/%":
                e = self.nonzero(e)
                res = arith(op, v.ie(), e) if e else None
            elif op in ("<<", ">>"):
                amount = arith("&", e, int_literal(INT, 7))
                res = shift(op, v.ie(), amount) if amount else None
                e = amount
            else:
                res = arith(op, v.ie(), e)
            if res is not None and fits(res, v.t) and v.t is not BOOL:
                return [f"{ind}{v.name} {op}= {e.code};"]
        e = self.assign_int_expr(v.t, e)
        return [f"{ind}{v.name} = {e.code};"]

    def s_decl_d(self, ind):
        name = self.fresh("d")
        e = self.gen_dbl(self.rng.randint(1, 3))
        self.declare(Var(name, "double"))
        return [f"{ind}double {name} = {e};"]

    def s_decl_f(self, ind):
        name = self.fresh("fl")
        e = self.gen_dbl(self.rng.randint(0, 2))
        self.declare(Var(name, "float"))
        return [f"{ind}float {name} = (float)({e}) * 0.5f;"]

    def s_assign_d(self, ind):
        r = self.rng
        v = r.choice([v for v in self.vars("double", "float") if v.mutable])
        e = self.gen_dbl(r.randint(1, 2))
        n = v.name
        if v.cat == "float":
            return [ind + r.choice([f"{n} = {n} * 0.5f + 0.25f;",
                                    f"{n} = (float)std::tanh({e});",
                                    f"{n} *= 0.75f;", f"{n} += 0.125f;"])]
        if self.loops or v.ref:
            return [ind + r.choice([
                f"{n} = std::tanh({e});", f"{n} = 0.5 * {n} + 0.25 * std::sin({e});",
                f"{n} += 0.125;", f"{n} *= 0.5;",
                f"{n} = std::max({n}, std::cos({e}));",
                f"{n} -= 0.25 * std::tanh({e});"])]
        return [ind + r.choice([f"{n} = {e};", f"{n} += {e};", f"{n} *= {e};",
                                f"{n} = {n} * {e};"])]

    def s_if(self, ind):
        r = self.rng
        c = self.gen_cond(r.randint(1, 2))
        lines = [f"{ind}if ({c}) {{"]
        self.scopes.append([])
        lines += self.gen_block(r.randint(1, 3), ind + "  ")
        self.scopes.pop()
        if r.random() < 0.4:
            lines.append(f"{ind}}} else {{")
            self.scopes.append([])
            lines += self.gen_block(r.randint(1, 2), ind + "  ")
            self.scopes.pop()
        lines.append(f"{ind}}}")
        return lines

    def loop_bound(self):
        """(code, max value) of a loop bound: a count argument, a literal,
        a list's size."""
        r = self.rng
        counts = [v for v in self.vars("int") if v.count]
        vecs = self.vars("tvec", "pvec")
        x = r.random()
        if counts and x < 0.55:
            v = r.choice(counts)
            return v.name, v.hi
        if vecs and x < 0.7:
            return f"{r.choice(vecs).name}.size()", 3
        k = r.randint(1, 4)
        return str(k), k

    def loop_body(self, ind, var, kind):
        self.scopes.append([var] if var else [])
        self.loops.append(kind)
        lines = self.gen_block(self.rng.randint(1, 3), ind)
        self.loops.pop()
        self.scopes.pop()
        return lines

    def s_for(self, ind):
        r = self.rng
        t = r.choice(LOOP_TYPES)
        i = self.fresh("k")
        bound, hi = self.loop_bound()
        form = r.randrange(6)
        if form == 0:
            head, lo, top = f"{t.name} {i} = 0; {i} < {bound}; ++{i}", 0, hi - 1
        elif form == 1:
            head, lo, top = f"{t.name} {i} = 0; {i} <= {bound}; ++{i}", 0, hi
        elif form == 2:
            head, lo, top = f"{t.name} {i} = 0; {i} != {bound}; {i}++", 0, hi - 1
        elif form == 3:
            head, lo, top = f"{t.name} {i} = 0; {i} < {bound}; {i} += 2", 0, hi - 1
        elif form == 4:
            head, lo, top = f"{t.name} {i} = {bound}; {i} > 0; --{i}", 1, hi
        else:
            head, lo, top = f"{t.name} {i} = 1; {i} <= {bound}; {i} *= 2", 1, hi
        var = Var(i, "int", t=t, lo=lo, hi=max(lo, top), mutable=False)
        lines = [f"{ind}for ({head}) {{"]
        lines += self.loop_body(ind + "  ", var, "for")
        return lines + [f"{ind}}}"]

    def s_while(self, ind):
        r = self.rng
        t = r.choice(LOOP_TYPES)
        w = self.fresh("w")
        bound, hi = self.loop_bound()
        lines = [f"{ind}{t.name} {w} = 0;"]
        if self.tensor_code() and r.random() < 0.3:
            e = self.gen_ten((), 1)
            cond = f"{w} < {bound} + 1 && {self.as_tensor(e)}.item<double>() > -2.0"
            hi += 1
        else:
            cond = f"{w} < {bound}"
        var = Var(w, "int", t=t, lo=0, hi=hi, mutable=False)
        if r.random() < 0.25 and "range" not in self.loops:  # a break
            lines += [f"{ind}while (true) {{", f"{ind}  if (!({cond}))",
                      f"{ind}    break;", f"{ind}  ++{w};"]
        else:
            lines += [f"{ind}while ({cond}) {{", f"{ind}  ++{w};"]
        var.lo, var.hi = 1, hi
        lines += self.loop_body(ind + "  ", var, "while")
        self.declare(Var(w, "int", t=t, lo=0, hi=hi, mutable=False))
        return lines + [f"{ind}}}"]

    def s_do(self, ind):
        r = self.rng
        t = r.choice(LOOP_TYPES)
        w = self.fresh("w")
        bound, hi = self.loop_bound()
        var = Var(w, "int", t=t, lo=1, hi=max(hi, 1), mutable=False)
        lines = [f"{ind}{t.name} {w} = 0;", f"{ind}do {{", f"{ind}  ++{w};"]
        lines += self.loop_body(ind + "  ", var, "do")
        self.declare(Var(w, "int", t=t, lo=0, hi=max(hi, 1), mutable=False))
        return lines + [f"{ind}}} while ({w} < {bound});"]

    def s_range(self, ind):
        r = self.rng
        vec = r.choice(self.vars("tvec", "pvec"))
        e = self.fresh("e")
        if vec.cat == "pvec":
            decl = r.choice([f"const Param &{e}", f"const auto &{e}"])
            var = Var(e, "param", shape=vec.shape, mutable=False, mag=vec.mag)
        else:
            decl = r.choice([f"const Tensor &{e}", f"const auto &{e}",
                             f"Tensor {e}"])
            var = Var(e, "tensor", shape=vec.shape,
                      mutable=decl.startswith("Tensor"), mag=vec.mag)
        lines = [f"{ind}for ({decl} : {vec.name}) {{"]
        lines += self.loop_body(ind + "  ", var, "range")
        return lines + [f"{ind}}}"]

    def s_switch(self, ind):
        """A switch over a small integer: braced case bodies that break or
        fall through, sometimes a default; a break in them leaves the
        switch, a continue the loop around it."""
        r = self.rng
        e = self.gen_int(1, clean=True)
        labels = sorted(r.sample(range(-1, 4), r.randint(1, 3)))
        lines = [f"{ind}switch (({e.code}) % 4) {{"]
        bodies = [(f"case {k}:", k) for k in labels]
        if r.random() < 0.5:
            bodies.insert(r.randrange(len(bodies) + 1), ("default:", None))
        for j, (label, _) in enumerate(bodies):
            lines.append(f"{ind}{label} {{")
            self.scopes.append([])
            self.loops.append("switch")
            lines += self.gen_block(r.randint(1, 2), ind + "  ")
            self.loops.pop()
            self.scopes.pop()
            lines.append(f"{ind}}}")
            last = j + 1 == len(bodies)
            if not last and r.random() < 0.4:
                lines.append(f"{ind}[[fallthrough]];")
            elif r.random() < 0.9:
                lines.append(f"{ind}break;")
        return lines + [f"{ind}}}"]

    def s_break(self, ind):
        c = self.gen_cond(1)
        return [f"{ind}if ({c})", f"{ind}  break;"]

    def s_continue(self, ind):
        c = self.gen_cond(1)
        return [f"{ind}if ({c})", f"{ind}  continue;"]

    def result_expr(self):
        f, r = self.func, self.rng
        if f.kind in ("loss", "tensor"):
            e = self.gen_ten(f.shape, r.randint(1, 3))
            f.mag = max(f.mag, self.mag(e))
            return e
        if f.kind == "double":
            return self.gen_dbl(r.randint(2, 4))
        if f.kind == "void":
            return None
        e = self.gen_int(r.randint(1, 3))
        if not fits(e, f.rtype):
            e = self.assign_int_expr(f.rtype, e)
        f.ret_taint = f.ret_taint or e.taint
        return e.code

    def s_return(self, ind):
        c = self.gen_cond(1)
        e = self.result_expr()
        ret = f"return {e};" if e is not None else "return;"
        if self.func.kind == "tensor" and self.func.maybe_undefined and \
                self.rng.random() < 0.5:
            ret = "return Tensor();"
        return [f"{ind}if ({c})", f"{ind}  {ret}"]

    def s_call(self, ind):
        r = self.rng
        cands = [h for h in self.file_helpers if h.kind == "void"]
        if not self.tensor_code():
            cands = [h for h in cands if not h.tensor_helper]
        if not cands:
            return None
        h = r.choice(cands)
        args = self.call_args(h, 2)
        if args is None:
            return None
        self.use(h)
        return [f"{ind}{h.name}({args});"]

    # -- functions ----------------------------------------------------------

    def make_params(self, kind, helper):
        """Parameters and the values (per case) the table will pass."""
        r = self.rng
        params = []
        names = iter(range(100))

        def add(var, decl):
            params.append(Param(var, decl))

        tensor = kind in ("loss", "tensor") or (kind == "void" and
                                                self._tensor_helper)
        if tensor:
            n = r.randint(1, 4)
            have34 = False
            for j in range(n):
                s = (3, 4) if (j == 0 or r.random() < 0.3) else \
                    r.choices(SHAPES, SHAPE_WEIGHTS)[0]
                x = r.random()
                cat = ("tensor" if x < 0.55 else "param" if x < 0.75 and not
                       helper else "tvec" if x < 0.9 else
                       "pvec" if not helper else "tvec")
                prefix = {"tensor": "x", "param": "p", "tvec": "xs",
                          "pvec": "ps"}[cat]
                nm = f"{prefix}{next(names)}"
                if cat == "tensor":
                    decl = r.choice([f"const Tensor &{nm}", f"const Tensor &{nm}",
                                     f"Tensor {nm}"])
                    add(Var(nm, "tensor", shape=s,
                            mutable=decl.startswith("Tensor ")), decl)
                elif cat == "param":
                    add(Var(nm, "param", shape=s, mutable=False),
                        f"const Param &{nm}")
                elif cat == "tvec":
                    add(Var(nm, "tvec", shape=s, mutable=False),
                        f"const std::vector<Tensor> &{nm}")
                else:
                    add(Var(nm, "pvec", shape=s, mutable=False),
                        f"const std::vector<Param> &{nm}")
                have34 |= s == (3, 4)
            assert have34
        ncount = r.choice([0, 1, 1, 2]) if kind != "int" else r.choice([0, 1])
        for _ in range(ncount):
            t = r.choice(COUNT_TYPES)
            nm = f"n{next(names)}"
            add(Var(nm, "int", t=t, lo=0, hi=3, mutable=False, count=True),
                f"{t.name} {nm}")
        ndata = r.choice([0, 0, 1, 2]) if kind != "int" else r.randint(1, 4)
        for _ in range(ndata):
            t = r.choice(DECL_TYPES)
            nm = f"a{next(names)}"
            lo, hi = envelope(t)
            add(Var(nm, "int", t=t, lo=lo, hi=hi), f"{t.name} {nm}")
        nd = r.randint(1, 3) if kind == "double" else r.choice([0, 0, 1])
        for _ in range(nd):
            nm = f"s{next(names)}"
            add(Var(nm, "double"), f"double {nm}")
        if tensor and r.random() < 0.15:
            nm = f"g{next(names)}"
            add(Var(nm, "float"), f"float {nm}")
        r.shuffle(params)
        return params

    def case_line(self, f, case):
        """The table's line for one case: the arguments as variables a<i>
        (made in order), then what the driver needs for f's kind."""
        r = self.rng
        decls, names, moved, doubles, picks = [], [], [], [], []
        for i, p in enumerate(f.params):
            v, a = p.var, f"a{i}"
            if v.cat == "tensor":
                decls.append(f"Tensor {a} = T({shape_cpp(v.shape)});")
            elif v.cat == "param":
                decls.append(f"Param {a} = P({shape_cpp(v.shape)});")
            elif v.cat in ("tvec", "pvec"):
                n = r.randint(1, 3)
                sep = ", " if v.shape else ""
                if v.cat == "tvec":
                    decls.append(f"std::vector<Tensor> {a} = "
                                 f"TV({n}{sep}{shape_cpp(v.shape)});")
                else:
                    decls.append(f"std::vector<Param> {a} = "
                                 f"PV({n}{sep}{shape_cpp(v.shape)});")
            elif v.cat == "int":
                if v.count:
                    val = (case * 2 + r.randint(0, 1)) % 4
                else:
                    val = self.int_value(v.t, r.random() < 0.4)
                lit = str(val) + ("ull" if val > 9223372036854775807 else
                                  "ll" if abs(val) > 2147483647 else "")
                if v.t is BOOL:
                    lit = "true" if val else "false"
                decls.append(f"{v.t.name} {a} = static_cast<{v.t.name}>({lit});")
            elif v.cat == "double":
                decls.append(f"double {a} = {round(r.uniform(-1.5, 1.5), 4)!r};")
            elif v.cat == "float":
                decls.append(f"float {a} = {round(r.uniform(-1.5, 1.5), 3)!r}f;")
            names.append(a)
            if v.cat == "double":
                moved.append(f"{a} + M({i})")
                doubles.append(str(i))
                picks.append(f"std::get<{i + 1}>(r)")
            else:
                moved.append(a)
        line = (f"KNET_DIFFTEST({f.kind}, {f.name}, {case}, ({' '.join(decls)}), "
                f"({', '.join(names)})")
        if f.kind == "double":
            line += (f", ({', '.join(moved)}), ({{{', '.join(doubles)}}}), "
                     f"({', '.join(picks)})")
        return line + ")"

    def gen_function(self, idx, file):
        r = self.rng
        self.file = file
        kind = r.choices(["loss", "tensor", "double", "int"], [4, 3, 1.3, 1.5])[0]
        self._tensor_helper = False
        f = Func(f"f{idx}", kind, False, self.make_params(kind, False))
        f.file = file
        if kind == "tensor":
            f.shape = r.choices([s for s in SHAPES if s],
                                [w for s, w in zip(SHAPES, SHAPE_WEIGHTS) if s])[0]
            f.maybe_undefined = r.random() < 0.05
        elif kind == "loss":
            f.shape = ()
        elif kind == "int":
            f.rtype = r.choice(DECL_TYPES)
        self.emit_body(f, "KNET_COMPILE ")
        self.funcs.append(f)
        return f

    def gen_helper(self, idx, file):
        r = self.rng
        self.file = file
        kind = r.choices(["tensor", "double", "int", "void"], [4, 1.5, 1.5, 2])[0]
        self._tensor_helper = kind == "void" and r.random() < 0.7
        h = Func(f"h{idx}", kind, True, self.make_params(kind, True))
        h.file = file
        h.tensor_helper = self._tensor_helper
        if kind == "tensor":
            h.shape = r.choices(SHAPES, SHAPE_WEIGHTS)[0]
        elif kind == "int":
            h.rtype = r.choice(DECL_TYPES)
        elif kind == "void":
            # a reference parameter the helper updates (bounded updates: the
            # helper may run in a loop)
            if h.tensor_helper:
                s = r.choices(SHAPES, SHAPE_WEIGHTS)[0]
                v = Var("acc", "tensor", shape=s, ref=True)
                h.params.insert(0, Param(v, "Tensor &acc"))
            if r.random() < 0.5 or not h.tensor_helper:
                t = r.choice(DECL_TYPES)
                lo, hi = envelope(t)
                v = Var("cnt", "int", t=t, lo=lo, hi=hi, ref=True)
                h.params.append(Param(v, f"{t.name} &cnt"))
            if r.random() < 0.3 or not h.tensor_helper:
                h.params.append(Param(Var("acc_d", "double", ref=True),
                                      "double &acc_d"))
        self.emit_body(h, "static ")
        self.helpers.append(h)
        return h

    def emit_body(self, f, prefix):
        f.tensor_helper = getattr(f, "tensor_helper", False)
        self.begin_function(f)
        lines = [f"{prefix}{f.signature()} {{"]
        if f.maybe_undefined:
            counts = [p.var for p in f.params if p.var.count]
            c = f"{counts[0].name} == 0" if counts else "false"
            lines += [f"  if ({c})", "    return Tensor();"]
        lines += self.gen_block(self.rng.randint(2, 5), "  ")
        e = self.result_expr()
        lines.append(f"  return {e};" if e is not None else "  return;")
        lines.append("}")
        f.source = "\n".join(lines)


# --------------------------------------------------------------------------
# Files.

HEADER = """\
// Generated by tests/difftest/gen.py --seed {seed} --count {count}: do not edit.
#pragma once
#include <knet/knet.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

using knet::Param;
using knet::Tensor;
"""

MODEL = """\
// Generated by tests/difftest/gen.py --seed {seed} --count {count}
// (file {k} of {files}): random KNET_COMPILE functions for the differential
// tester, built once as plain C++ (the tape) and once through knetc.
#include "difftest_models.h"

// Generated code compares, converts and shifts in every legal way there is.
#if defined(__clang__)
#pragma clang diagnostic ignored "-Weverything"
#endif

using namespace knet;

"""


def knetc_check(path, funcs, knetc, knetc_args):
    """Runs knetc on one generated file (with and without fusion) until it
    succeeds, taking KNET_COMPILE off every function it fails on (that
    function then runs on the tape in every build, and compare.py reports
    the error). Returns {function: error message}.

    The error's line names the function, or the helper: then every compiled
    function that uses the helper is taken off. Without a line (a crash),
    a bisection finds one culprit at a time."""
    failed = {}
    compiled = [f for f in funcs if not f.helper]
    first = {f.name: f.first_line for f in funcs}
    span = [(f.first_line, f.last_line, f) for f in funcs]
    out = path + ".check.knet.cpp"

    def users(h):  # the compiled functions h is inlined into
        return [f for f in compiled if h.name in f.inlined]

    def text():
        with open(path) as fh:
            return fh.read().split("\n")

    def set_enabled(f, on):
        lines = text()
        i = first[f.name] - 1
        off = "/* knetc fails on this function */ "
        if on:
            lines[i] = lines[i].replace(off, "KNET_COMPILE ")
        else:
            lines[i] = lines[i].replace("KNET_COMPILE ", off)
        with open(path, "w") as fh:
            fh.write("\n".join(lines))

    def run(flags):
        p = subprocess.run([knetc, path, "-o", out] + flags + ["--"] +
                           knetc_args, capture_output=True, text=True)
        msg = "\n".join(l for l in (p.stdout + p.stderr).splitlines()
                        if "error" in l)
        return p.returncode == 0, msg or (p.stdout + p.stderr)[-300:]

    for flags in ([], ["--no-fuse"]):
        for _ in range(len(compiled) + 1):
            ok, msg = run(flags)
            if ok:
                break
            mode = " (with --no-fuse)" if flags else ""
            guilty, why = [], {}
            # each error's location; in an inlined helper knetc writes
            # loc(callsite("f":L:C at "f":L2:C2)), whose last location is
            # in the compiled function
            base = re.escape(os.path.basename(path))
            for err in (l for l in msg.splitlines() if "error" in l):
                locs = re.findall(base + r'"?:(\d+):\d+', err)
                if not locs:
                    continue
                line = int(locs[-1])
                owner = [f for lo, hi, f in span if lo <= line <= hi]
                if not owner:
                    sys.exit(f"gen.py: knetc fails on {path} outside the "
                             f"generated functions:\n{msg}")
                for f in (owner if not owner[0].helper else users(owner[0])):
                    if f.name not in failed and f not in guilty:
                        guilty.append(f)
                        why[f.name] = err.strip()
            if not guilty:  # bisect
                cands = [f for f in compiled if f.name not in failed]
                for f in cands:
                    set_enabled(f, False)
                ok, _ = run(flags)
                for f in cands:
                    set_enabled(f, True)
                if not ok:
                    sys.exit(f"gen.py: knetc fails on {path} without any "
                             f"of its functions:\n{msg}")
                while len(cands) > 1:
                    half = cands[:len(cands) // 2]
                    for f in half:
                        set_enabled(f, False)
                    ok, _ = run(flags)
                    for f in half:
                        set_enabled(f, True)
                    cands = half if ok else cands[len(cands) // 2:]
                guilty = cands
            if not guilty:
                break
            for f in guilty:
                failed[f.name] = f"knetc{mode}: " + \
                    why.get(f.name, msg.strip())[:500]
                set_enabled(f, False)
    if os.path.exists(out):
        os.remove(out)
    return failed


def main():
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n")[0],
        epilog="Arguments after -- go to knetc (with --knetc).")
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--files", type=int, default=1)
    ap.add_argument("--cases", type=int, default=1,
                    help="argument sets per function with integer arguments")
    ap.add_argument("--knetc", help="check the files with this knetc and "
                    "take KNET_COMPILE off the functions it fails on")
    argv = sys.argv[1:]
    knetc_args = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[:argv.index("--")] if "--" in argv else argv
    args = ap.parse_args(argv)
    g = Gen(args.seed)
    files = max(1, args.files)
    per_file = [[] for _ in range(files)]
    for i in range(args.count):
        k = i * files // max(1, args.count)
        while g.rng.random() < 0.45:
            per_file[k].append(g.gen_helper(len(g.helpers), k))
        per_file[k].append(g.gen_function(i, k))

    os.makedirs(args.out, exist_ok=True)
    names = (["difftest_models.cpp"] if files == 1 else
             [f"difftest_models_{k}.cpp" for k in range(files)])

    def write(name, text):
        with open(os.path.join(args.out, name), "w") as fh:
            fh.write(text)

    fmt = dict(seed=args.seed, count=args.count, files=files)
    paths = [os.path.join(args.out, n) for n in names]
    header = HEADER.format(**fmt)
    for f in g.funcs:
        header += f"{f.signature()};\n"
    write("difftest_models.h", header)
    byname = {f.name: f for f in g.funcs + g.helpers}
    index = {"seed": args.seed, "count": args.count, "functions": {},
             "knetc_failures": {}}
    for k, items in enumerate(per_file):
        text = MODEL.format(k=k, **fmt)
        line = text.count("\n") + 1
        for f in items:
            f.first_line = line
            f.last_line = line + f.source.count("\n")
            text += f.source + "\n\n"
            line = f.last_line + 2
            f.inlined, todo = set(), [d for d in f.deps if byname[d].helper]
            while todo:  # helpers, and the helpers they call
                d = todo.pop()
                if d not in f.inlined:
                    f.inlined.add(d)
                    todo += [e for e in byname[d].deps if byname[e].helper]
            index["functions"][f.name] = {
                "file": names[k], "line": f.first_line, "kind": f.kind,
                "helper": f.helper, "deps": f.deps, "source": f.source}
        write(names[k], text)
    if args.knetc:  # the files in parallel: knetc is single-threaded
        with concurrent.futures.ThreadPoolExecutor(os.cpu_count()) as pool:
            for r in pool.map(lambda k: knetc_check(paths[k], per_file[k],
                                                    args.knetc, knetc_args),
                              range(files)):
                index["knetc_failures"].update(r)

    cases = [
        f"// Generated by tests/difftest/gen.py --seed {args.seed} "
        f"--count {args.count}: the cases driver.cpp runs.",
        "// KNET_DIFFTEST(kind, function, case, (argument variables),",
        "//               (arguments)[, (arguments with double i moved by M(i)),",
        "//               ({positions of the doubles}), (their gradients in r =",
        "//               value_and_grad(function, arguments))])",
        "// kind: loss (0-d Tensor result), tensor, double or int; T/P(shape)",
        "// a Tensor/Param leaf (f64 randn), TV/PV(n, shape) a list of n leaves."]
    for f in g.funcs:
        ncases = args.cases if any(p.var.cat == "int" for p in f.params) else 1
        for c in range(ncases):
            cases.append(g.case_line(f, c))
    write("difftest_cases.inc", "\n".join(cases) + "\n")
    write("difftest_index.json", json.dumps(index, indent=1) + "\n")
    nfail = len(index["knetc_failures"])
    print(f"gen.py: {len(g.funcs)} functions, {len(g.helpers)} helpers, "
          f"{files} file(s) in {args.out}" +
          (f"; knetc fails on {nfail}" if nfail else ""))


if __name__ == "__main__":
    main()
