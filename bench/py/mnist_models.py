"""Python peers of bench/knet/{softmax,mlp,lenet}.cpp: softmax regression
(SGD lr 0.1), the MLP with one hidden relu layer of 64 (Adam) and LeNet
(Adam) on MNIST, batch 100, with the same initial weights and batches."""

import numpy as np

import common


def init(model, args):
    """The initial weights, in the C++ programs' order of draws."""
    rng = common.Rng(1)
    xavier = lambda *s: common.xavier_uniform(s, rng)
    zero = lambda *s: common.zeros(s)
    if model == "softmax":
        return {"w": common.gaussian((10, 784), 0.01, rng), "b": zero(10)}
    if model == "mlp":
        h = args.integer("hidden", 64)
        w1 = xavier(h, 784)
        return {"w1": w1, "b1": zero(h), "w2": xavier(10, h), "b2": zero(10)}
    c1 = xavier(20, 1, 5, 5)
    c2 = xavier(50, 20, 5, 5)
    w3 = xavier(500, 800)
    w4 = xavier(10, 500)
    return {"c1": c1, "b1": zero(20), "c2": c2, "b2": zero(50),
            "w3": w3, "b3": zero(500), "w4": w4, "b4": zero(10)}


def run(args, impl, model):
    (xtr, ytr), (xte, yte) = common.mnist(common.data_root(args))
    p0 = init(model, args)
    epochs = args.integer("epochs", 1 if model == "lenet" else 10)
    steps = args.integer("steps", -1)
    batches = common.epoch_batches(len(xtr), 100, epochs, common.Rng(2))
    if 0 <= steps < len(batches):
        batches = batches[:steps]
    sgd = model == "softmax"
    ratio = args.str("task", "train") == "ratio"
    first = np.arange(100)
    # Test evaluation in chunks (LeNet's C++ programs use 500 rows).
    chunk = 500 if model == "lenet" else len(xte)
    if impl == "jax":
        out = run_jax(args, model, p0, sgd, batches, xtr, ytr, xte, yte,
                      chunk, ratio, first)
    else:
        out = run_torch(args, impl, model, p0, sgd, batches, xtr, ytr, xte,
                        yte, chunk, ratio, first)
    if ratio:
        return
    # Training (first and last batch loss, seconds), then the test set's
    # summed loss and correct count.
    first_loss, secs, last, total, right = out
    common.result("first_loss", first_loss)
    common.result("train_s", secs)
    common.result("steps", len(batches))
    common.result("last_batch_loss", last)
    common.result("loss", total / len(xte))
    common.result("accuracy", right / len(xte))


def run_torch(args, impl, model, p0, sgd, batches, xtr, ytr, xte, yte, chunk,
              ratio, first):
    import torch
    import torch.nn.functional as F
    import torch_peer as T

    T.setup(model, impl, args)
    p = {k: T.param(v) for k, v in p0.items()}
    params = list(p.values())

    def predict(x):
        if model == "softmax":
            return F.linear(x.flatten(1), p["w"], p["b"])
        if model == "mlp":
            h = torch.relu(F.linear(x.flatten(1), p["w1"], p["b1"]))
            return F.linear(h, p["w2"], p["b2"])
        h = F.max_pool2d(torch.relu(F.conv2d(x, p["c1"], p["b1"])), 2)
        h = F.max_pool2d(torch.relu(F.conv2d(h, p["c2"], p["b2"])), 2)
        h = torch.relu(F.linear(h.flatten(1), p["w3"], p["b3"]))
        return F.linear(h, p["w4"], p["b4"])

    def loss(x, y):
        return T.nll(predict(x), y)

    opt = (torch.optim.SGD(params, lr=0.1) if sgd else
           torch.optim.Adam(params, lr=0.001, betas=(0.9, 0.999), eps=1e-8))
    tr = T.Trainer(params, opt, "compile" if impl == "torch_compile" else "")
    lf = tr.compile(loss)
    batch = lambda idx: (torch.from_numpy(xtr[idx]), torch.from_numpy(ytr[idx]))
    if ratio:
        T.report_ratio(tr, lf, [batch(first)])
        return
    T.report_compile(tr.warm_up(lf, [batch(batches[0])]), tr)
    t0, last, first_loss = common.now(), 0.0, None
    for idx in batches:
        last = tr.step(lf, *batch(idx)).item()
        first_loss = last if first_loss is None else first_loss
    secs = common.now() - t0
    total = right = 0.0
    with torch.no_grad():
        for i in range(0, len(xte), chunk):
            x, y = torch.from_numpy(xte[i:i + chunk]), torch.from_numpy(
                yte[i:i + chunk])
            s = predict(x)
            total += T.nll(s, y).item() * len(y)
            right += T.accuracy(s, y) * len(y)
    return first_loss, secs, last, total, right


def run_jax(args, model, p0, sgd, batches, xtr, ytr, xte, yte, chunk, ratio,
            first):
    import jax
    import jax.numpy as jnp
    import optax
    import jax_peer as J

    J.setup(model, args)

    def pool(h):
        return jax.lax.reduce_window(h, -jnp.inf, jax.lax.max, (1, 1, 2, 2),
                                     (1, 1, 2, 2), "VALID")

    def conv(h, w, b):
        return jax.lax.conv_general_dilated(
            h, w, (1, 1), "VALID",
            dimension_numbers=("NCHW", "OIHW", "NCHW")) + b[None, :, None,
                                                            None]

    def predict(p, x):
        if model == "softmax":
            return J.linear(x.reshape(len(x), -1), p["w"], p["b"])
        if model == "mlp":
            h = jax.nn.relu(J.linear(x.reshape(len(x), -1), p["w1"], p["b1"]))
            return J.linear(h, p["w2"], p["b2"])
        h = pool(jax.nn.relu(conv(x, p["c1"], p["b1"])))
        h = pool(jax.nn.relu(conv(h, p["c2"], p["b2"])))
        h = jax.nn.relu(J.linear(h.reshape(len(h), -1), p["w3"], p["b3"]))
        return J.linear(h, p["w4"], p["b4"])

    def loss(p, x, y):
        return J.nll(predict(p, x), y)

    tx = optax.sgd(0.1) if sgd else J.adam(0.001)
    tr = J.Trainer(loss, {k: jnp.asarray(v) for k, v in p0.items()}, tx)
    batch = lambda idx: (xtr[idx], ytr[idx].astype(np.int32))
    if ratio:
        J.report_ratio(loss, tr.params,
                       [tuple(jnp.asarray(a) for a in batch(first))])
        return
    common.result("compile_s", tr.compile([batch(batches[0])]))
    t0, last, first_loss = common.now(), 0.0, None
    for idx in batches:
        last = float(tr.step(*batch(idx)))
        first_loss = last if first_loss is None else first_loss
    secs = common.now() - t0
    fwd = jax.jit(predict)
    total = right = 0.0
    for i in range(0, len(xte), chunk):
        x, y = xte[i:i + chunk], yte[i:i + chunk].astype(np.int32)
        s = fwd(tr.params, x)
        total += float(J.nll(s, y)) * len(y)
        right += float(jnp.mean(jnp.argmax(s, 1) == y)) * len(y)
    return first_loss, secs, last, total, right
