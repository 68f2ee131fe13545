"""Python peers of bench/knet/linreg.cpp: linear regression on Boston
housing (full batch, SGD lr 0.1), the same initial weights."""

import common


def run(args, impl):
    epochs = args.integer("epochs", 10000)
    x, y = common.housing(common.data_root(args))
    rng = common.Rng(1)
    w0, b0 = common.gaussian((1, 13), 0.1, rng), common.zeros((1,))
    ratio = args.str("task", "train") == "ratio"
    if impl == "jax":
        import jax
        import jax.numpy as jnp
        import optax
        import jax_peer as J

        J.setup("linreg", args)

        def loss(p, x, y):
            d = J.linear(x, p["w"], p["b"]) - y
            return jnp.mean(d * d)

        tr = J.Trainer(loss, {"w": jnp.asarray(w0), "b": jnp.asarray(b0)},
                       optax.sgd(0.1))
        xj, yj = jnp.asarray(x), jnp.asarray(y)
        if ratio:
            J.report_ratio(loss, tr.params, [(xj, yj)])
            return
        common.result("compile_s", tr.compile([(xj, yj)]))
        common.result("first_loss", float(loss(tr.params, xj, yj)))
        t0 = common.now()
        for _ in range(epochs):
            l = tr.step(xj, yj)
        l.block_until_ready()
        common.result("train_s", common.now() - t0)
        common.result("loss", float(loss(tr.params, xj, yj)))
        return

    import torch
    import torch.nn.functional as F
    import torch_peer as T

    T.setup("linreg", impl, args)
    w, b = T.param(w0), T.param(b0)
    xt, yt = T.tensor(x), T.tensor(y)
    opt = torch.optim.SGD([w, b], lr=0.1)
    tr = T.Trainer([w, b], opt, "compile" if impl == "torch_compile" else "")

    def loss(x, y):
        d = F.linear(x, w, b) - y
        return (d * d).mean()

    lf = tr.compile(loss)
    if ratio:
        T.report_ratio(tr, lf, [(xt, yt)])
        return
    T.report_compile(tr.warm_up(lf, [(xt, yt)]), tr)
    with torch.no_grad():
        common.result("first_loss", loss(xt, yt).item())
    t0 = common.now()
    for _ in range(epochs):
        tr.step(lf, xt, yt)
    common.result("train_s", common.now() - t0)
    with torch.no_grad():
        common.result("loss", loss(xt, yt).item())
