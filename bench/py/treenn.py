"""Python peers of bench/knet/treenn.cpp: a Tree-LSTM over SST parses (loss
over every node, embed/hidden 128, Adam, one sentence per update), the same
cells, initial weights and sentence order; sentences per second.

PyTorch: the recursion in Python as in the C++ programs; torch.compile
compiles the leaf and the node cell (fixed shapes) and the optimizer step.
JAX: a traced Python recursion would make every sentence a new program, so
the JAX peer is written as JAX users write tree models: the tree is
flattened into post-order arrays (word ids, internal nodes and their
children, labels) padded to a multiple of 16, the leaf cell runs on all
words in one batched product, and one lax.scan visits the internal nodes in
post-order; the states live in [nodes, dim] buffers. (A scan over all nodes
choosing the cell with lax.switch was 7x slower in value-and-gradient: XLA's
CPU backend differentiates the conditional poorly.) The whole step
(value_and_grad and the Adam update) is jitted, compiled ahead of time for
every padded size.
"""

import numpy as np

import common

PAD = 16


def init(V, d):
    rng = common.Rng(1)
    xavier = lambda *s: common.xavier_uniform(s, rng)
    embed = common.gaussian((V, d), 0.1, rng)
    wleaf = xavier(3 * d, d)
    wnode = xavier(5 * d, 2 * d)
    wout = xavier(5, d)
    return {"embed": embed, "wleaf": wleaf, "bleaf": common.zeros((3 * d,)),
            "wnode": wnode, "bnode": common.zeros((5 * d,)), "wout": wout,
            "bout": common.zeros((5,))}


def run(args, impl):
    d = args.integer("dim", 128)
    limit = args.integer("sentences", 500)
    V, train, dev = common.sst(common.data_root(args))
    p0 = init(V, d)
    ratio = args.str("task", "train") == "ratio"
    trees = train[:min(len(train), limit)]
    runner = run_jax if impl == "jax" else run_torch
    out = runner(args, impl, p0, d, trees, train[:20], dev, ratio)
    if ratio:
        return
    losses, secs, right = out
    n = len(trees)
    common.result("train_s", secs)
    common.result("first_loss", losses[0])
    common.result("sentences", n)
    common.result("sentences_per_s", n / secs)
    common.result("loss", sum(losses) / n)
    common.result("accuracy", right / len(dev))


def run_torch(args, impl, p0, d, trees, probe, dev, ratio):
    import torch
    import torch.nn.functional as F
    import torch_peer as T

    T.setup("treenn", impl, args)
    p = {k: T.param(v) for k, v in p0.items()}
    params = list(p.values())
    opt = torch.optim.Adam(params, lr=0.001, betas=(0.9, 0.999), eps=1e-8)
    tr = T.Trainer(params, opt, "compile" if impl == "torch_compile" else "")

    def leaf_cell(x):
        g = F.linear(x, p["wleaf"], p["bleaf"]).chunk(3, 1)
        c = torch.sigmoid(g[0]) * torch.tanh(g[2])
        return torch.sigmoid(g[1]) * torch.tanh(c), c

    def node_cell(lh, lc, rh, rc):
        g = F.linear(torch.cat([lh, rh], 1), p["wnode"], p["bnode"]).chunk(5, 1)
        c = (torch.sigmoid(g[0]) * torch.tanh(g[4]) + torch.sigmoid(g[1]) * lc
             + torch.sigmoid(g[2]) * rc)
        return torch.sigmoid(g[3]) * torch.tanh(c), c

    leaf, node = tr.compile(leaf_cell), tr.compile(node_cell)

    def encode(t, words, nxt, hs, labels):
        if t.leaf():
            s = leaf(words[nxt[0]:nxt[0] + 1])
            nxt[0] += 1
        else:
            lh, lc = encode(t.left, words, nxt, hs, labels)
            rh, rc = encode(t.right, words, nxt, hs, labels)
            s = node(lh, lc, rh, rc)
        hs.append(s[0])
        labels.append(t.label)
        return s

    def scores_of(t):
        words = F.embedding(torch.tensor(common.leaf_words(t)), p["embed"])
        hs, labels = [], []
        encode(t, words, [0], hs, labels)
        return (F.linear(torch.cat(hs, 0), p["wout"], p["bout"]),
                torch.tensor(labels))

    def loss(t):
        s, labels = scores_of(t)
        return T.nll(s, labels)

    if ratio:
        T.report_ratio(tr, loss, [(t,) for t in probe])
        return None
    T.report_compile(tr.warm_up(loss, [(trees[0],)]), tr)
    losses = []
    t0 = common.now()
    for t in trees:
        losses.append(tr.step(loss, t).item())
    secs = common.now() - t0
    right = 0
    with torch.no_grad():
        for t in dev:
            s, _ = scores_of(t)
            right += int(s[-1].argmax().item() == t.label)
    return losses, secs, right


def flatten(t):
    """t as arrays for the JAX peer, and its node count: the word id at each
    node in post-order (0 at internal nodes), the post-order index, left
    and right child of each internal node and whether it is one (False:
    padding), and each node's label (-1: padding). Nodes and internal nodes
    are padded to a multiple of PAD, so that few shapes get compiled."""
    ids, label, node, left, right = [], [], [], [], []

    def visit(n):
        if n.leaf():
            ids.append(n.word)
        else:
            l, r = visit(n.left), visit(n.right)
            ids.append(0)
            node.append(len(ids) - 1), left.append(l), right.append(r)
        label.append(n.label)
        return len(ids) - 1

    visit(t)
    n, k = len(ids), len(node)
    pad = lambda a, m, v: np.array(a + [v] * (-(-m // PAD) * PAD - len(a)),
                                   np.int32)
    return (pad(ids, n, 0), pad(node, k, 0), pad(left, k, 0),
            pad(right, k, 0), pad([1] * k, k, 0), pad(label, n, -1)), n


def run_jax(args, impl, p0, d, trees, probe, dev, ratio):
    import jax
    import jax.numpy as jnp
    import jax_peer as J

    J.setup("treenn", args)

    def scores_of(p, ids, node, left, right, real):
        # Every position gets the leaf cell of its word in one batched
        # product (internal nodes' results are overwritten below).
        g = jnp.split(J.linear(p["embed"][ids], p["wleaf"], p["bleaf"]), 3,
                      axis=1)
        c0 = jax.nn.sigmoid(g[0]) * jnp.tanh(g[2])
        h0 = jax.nn.sigmoid(g[1]) * jnp.tanh(c0)

        def body(carry, k):
            H, C = carry
            i, l, r = node[k], left[k], right[k]
            g = jnp.split(J.linear(jnp.concatenate([H[l], H[r]]), p["wnode"],
                                   p["bnode"]), 5)
            c = (jax.nn.sigmoid(g[0]) * jnp.tanh(g[4])
                 + jax.nn.sigmoid(g[1]) * C[l] + jax.nn.sigmoid(g[2]) * C[r])
            h = jax.nn.sigmoid(g[3]) * jnp.tanh(c)
            keep = real[k] == 0  # padding: leave row i as it is
            return (H.at[i].set(jnp.where(keep, H[i], h)),
                    C.at[i].set(jnp.where(keep, C[i], c))), None

        (H, _), _ = jax.lax.scan(body, (h0, c0), jnp.arange(len(node)))
        return J.linear(H, p["wout"], p["bout"])

    def loss(p, ids, node, left, right, real, label):
        return J.nll(scores_of(p, ids, node, left, right, real), label)

    tr = J.Trainer(loss, {k: jnp.asarray(v) for k, v in p0.items()},
                   J.adam(0.001))
    if ratio:
        J.report_ratio(loss, tr.params, [flatten(t)[0] for t in probe])
        return None
    flat = [flatten(t)[0] for t in trees]
    common.result("compile_s", tr.compile(flat))
    losses = []
    t0 = common.now()
    for a in flat:
        losses.append(float(tr.step(*a)))
    secs = common.now() - t0
    fwd = jax.jit(scores_of)
    right = 0
    for t in dev:
        a, n = flatten(t)
        s = fwd(tr.params, *a[:5])
        right += int(int(jnp.argmax(s[n - 1])) == t.label)
    return losses, secs, right
