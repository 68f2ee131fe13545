"""Python peers of bench/knet/{charlm,rnnlm}.cpp: LSTM language models.

charlm: characters of tiny-shakespeare (embed 256, hidden 256, BPTT 100,
batch 128, Adam lr 0.003, global norm clip 5), each window from the zero
state, loss the mean over the window. rnnlm: DyNet's rnnlm-batch on the
Penn Treebank (batches of 64 length-sorted sentences, embed 256, hidden 128,
loss summed over words, Adam), words per second.

torch.compile: charlm's windows all have 100 steps, so its whole loss is
compiled (Dynamo unrolls the time loop); rnnlm's batches have as many
lengths as the corpus has, and a graph per length would be compiled during
training, so the compiled unit is one time step (cell, output layer, loss),
called from the Python time loop. jax.jit: the whole training step, the
time loop a lax.scan, compiled ahead of time for every batch shape the run
uses.
"""

import numpy as np

import common


def init(V, E, H):
    rng = common.Rng(1)
    embed = common.gaussian((V, E), 0.1, rng)
    w = common.xavier_uniform((4 * H, E + H), rng)
    wy = common.xavier_uniform((V, H), rng)
    return {"embed": embed, "w": w, "b": common.zeros((4 * H,)), "wy": wy,
            "by": common.zeros((V,))}


def run(args, impl, model):
    root = common.data_root(args)
    if model == "charlm":
        E, H = args.integer("embed", 256), args.integer("hidden", 256)
        B, T = args.integer("batch", 128), args.integer("bptt", 100)
        V, xs, ys = common.char_batches(root, B, T)
        steps = args.integer("steps", 20)
        # (input, target, words) of each training step, in order.
        plan = [(xs[s % len(xs)], ys[s % len(xs)], B * T)
                for s in range(steps)]
        probe = (xs[0], ys[0], B * T)
        lr, clip, mean = 0.003, 5.0, True
    else:
        E, H = args.integer("embed", 256), args.integer("hidden", 128)
        V, batches = common.ptb(root, args.integer("batch", 64))
        perm = common.permutation(len(batches), common.Rng(2))
        n = args.integer("batches", 50)
        plan = [(batches[i].inp, batches[i].out, batches[i].words)
                for i in perm[:n]]
        mid = batches[len(batches) // 2]
        probe = (mid.inp, mid.out, mid.words)
        lr, clip, mean = 0.001, None, False
    p0 = init(V, E, H)
    ratio = args.str("task", "train") == "ratio"
    runner = run_jax if impl == "jax" else run_torch
    losses, secs = runner(args, impl, model, p0, H, plan, probe, lr, clip,
                          mean, ratio)
    if ratio:
        return
    common.result("train_s", secs)
    if model == "charlm":
        common.result("steps", len(plan))
        common.result("first_loss", losses[0])
        k = min(5, len(losses))
        common.result("loss", sum(losses[-k:]) / k)
    else:
        words = sum(w for _, _, w in plan)
        common.result("words", words)
        common.result("words_per_s", words / secs)
        common.result("first_loss", losses[0] / plan[0][2])
        common.result("loss", sum(losses) / words)


def run_torch(args, impl, model, p0, H, plan, probe, lr, clip, mean, ratio):
    import torch
    import torch.nn.functional as F
    import torch_peer as T

    T.setup(model, impl, args)
    p = {k: T.param(v) for k, v in p0.items()}
    params = list(p.values())
    opt = torch.optim.Adam(params, lr=lr, betas=(0.9, 0.999), eps=1e-8)
    tr = T.Trainer(params, opt, "compile" if impl == "torch_compile" else "",
                   clip)

    def step(x, y, h, c):
        h, c = T.lstm(F.embedding(x, p["embed"]), h, c, p["w"], p["b"])
        return h, c, T.nll(F.linear(h, p["wy"], p["by"]), y, average=False)

    def loss(inp, out):  # [T, B]: each step's ids contiguous
        Tn, Bn = inp.shape
        h, c = torch.zeros(Bn, H), torch.zeros(Bn, H)
        total = torch.zeros(())
        for t in range(Tn):
            h, c, l = cell(inp[t], out[t], h, c)
            total = total + l
        return total / (Bn * Tn) if mean else total

    # What torch.compile compiles: the whole loss (time loop unrolled) or
    # one time step.
    unit = args.str("compile", "loss" if model == "charlm" else "step")
    cell = tr.compile(step) if unit == "step" else step
    lf = tr.compile(loss) if unit == "loss" else loss
    tensors = lambda b: (torch.from_numpy(b[0].T.copy()),
                         torch.from_numpy(b[1].T.copy()))
    if ratio:
        T.report_ratio(tr, lf, [tensors(probe)])
        return None, None
    shapes = {}
    for b in plan:
        shapes.setdefault(b[0].shape[0], b)  # a step's graph depends on B
    T.report_compile(tr.warm_up(lf, [tensors(b) for b in shapes.values()]),
                     tr)
    losses = []
    t0 = common.now()
    for b in plan:
        losses.append(tr.step(lf, *tensors(b)).item())
    return losses, common.now() - t0


def run_jax(args, impl, model, p0, H, plan, probe, lr, clip, mean, ratio):
    import jax
    import jax.numpy as jnp
    import optax
    import jax_peer as J

    J.setup(model, args)

    def loss(p, inp, out):
        Bn, Tn = inp.shape

        def body(carry, xy):
            h, c, total = carry
            h, c = J.lstm(p["embed"][xy[0]], h, c, p["w"], p["b"])
            l = J.nll(J.linear(h, p["wy"], p["by"]), xy[1], average=False)
            return (h, c, total + l), None

        zero = jnp.zeros((Bn, H), jnp.float32)
        (_, _, total), _ = jax.lax.scan(body, (zero, zero, jnp.float32(0)),
                                        (inp.T, out.T))
        return total / (Bn * Tn) if mean else total

    tx = J.adam(lr)
    if clip:
        tx = optax.chain(optax.clip_by_global_norm(clip), tx)
    tr = J.Trainer(loss, {k: jnp.asarray(v) for k, v in p0.items()}, tx)
    arrays = lambda b: (b[0].astype(np.int32), b[1].astype(np.int32))
    if ratio:
        J.report_ratio(loss, tr.params,
                       [tuple(jnp.asarray(a) for a in arrays(probe))])
        return None, None
    common.result("compile_s", tr.compile([arrays(b) for b in plan]))
    losses = []
    t0 = common.now()
    for b in plan:
        losses.append(float(tr.step(*arrays(b))))
    return losses, common.now() - t0
