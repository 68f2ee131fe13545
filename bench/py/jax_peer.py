"""JAX helpers of the Python peers: the whole training step under jax.jit.

`Trainer` jits value_and_grad of the loss plus the optax update as one
function (weights and optimizer state donated), compiles it ahead of time
for every batch shape the run will see (that time is the compile column),
and runs the compiled executables.
"""

import jax
import jax.numpy as jnp
import optax

import common


def setup(model, args):
    common.result("model", model)
    common.result("impl", "jax-jit")
    common.result("threads", common.threads(args))
    common.result("version", jax.__version__)


def nll(scores, y, average=True):
    """knet::nll: mean (or sum) NLL of log-softmax scores, ids < 0 skipped."""
    logp = jax.nn.log_softmax(scores, axis=1)
    keep = y >= 0
    picked = jnp.take_along_axis(logp, jnp.where(keep, y, 0)[:, None], 1)[:, 0]
    total = -jnp.sum(jnp.where(keep, picked, 0.0))
    return total / jnp.sum(keep) if average else total


def linear(x, w, b):
    return x @ w.T + b


def lstm(x, h, c, w, b):
    g = jnp.split(linear(jnp.concatenate([x, h], 1), w, b), 4, axis=1)
    c = jax.nn.sigmoid(g[1]) * c + jax.nn.sigmoid(g[0]) * jnp.tanh(g[3])
    return jax.nn.sigmoid(g[2]) * jnp.tanh(c), c


def adam(lr=0.001):
    """knet's Adam defaults: betas 0.9, 0.999, eps 1e-8 (added to sqrt(v̂))."""
    return optax.adam(lr, b1=0.9, b2=0.999, eps=1e-8)


def _key(batch):
    return tuple((getattr(a, "shape", ()), str(getattr(a, "dtype", type(a))))
                 for a in batch)


class Trainer:
    def __init__(self, loss_fn, params, tx):
        self.tx = tx
        self.params = params
        self.state = tx.init(params)

        def step(params, state, *batch):
            l, g = jax.value_and_grad(loss_fn)(params, *batch)
            u, state = tx.update(g, state, params)
            return optax.apply_updates(params, u), state, l

        self.jitted = jax.jit(step, donate_argnums=(0, 1))
        self.exe = {}

    def compile(self, batches):
        """Compiles the step for each distinct shape among `batches`;
        returns the seconds spent."""
        t0 = common.now()
        for batch in batches:
            k = _key(batch)
            if k not in self.exe:
                self.exe[k] = self.jitted.lower(self.params, self.state,
                                                *batch).compile()
        return common.now() - t0

    def step(self, *batch):
        k = _key(batch)
        if k not in self.exe:  # a shape compile() was not shown
            self.compile([batch])
        self.params, self.state, l = self.exe[k](self.params, self.state,
                                                 *batch)
        return l


def report_ratio(loss_fn, params, calls):
    """The forward / value-and-gradient measurement of bench.h: one timed
    unit is jit(loss_fn)(params, *args), or jit(value_and_grad(loss_fn)),
    for every args in `calls`."""
    f, vg = jax.jit(loss_fn), jax.jit(jax.value_and_grad(loss_fn))
    common.report_ratio(
        lambda: [f(params, *a).block_until_ready() for a in calls],
        lambda: [jax.block_until_ready(vg(params, *a)) for a in calls])
