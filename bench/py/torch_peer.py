"""PyTorch 2 helpers of the Python peers: eager and torch.compile.

`Trainer` is one training step, `zero_grad`, `loss.backward()`, optimizer
step, in one of two modes: `eager`, or `compile`, where the loss function
(forward, and through AOTAutograd its backward) and the optimizer step
(clipping included) are each wrapped in torch.compile (Inductor, CPU).
"""

import torch
import torch.nn.functional as F

import common


def setup(model, impl, args):
    n = common.threads(args)
    torch.set_num_threads(n)
    torch.set_num_interop_threads(n)
    common.result("model", model)
    common.result("impl", {"torch": "pytorch-eager",
                           "torch_compile": "torch-compile"}[impl])
    common.result("threads", torch.get_num_threads())
    common.result("interop_threads", torch.get_num_interop_threads())
    common.result("version", torch.__version__)


def param(a):
    return torch.from_numpy(a.copy()).requires_grad_(True)


def tensor(a):
    return torch.from_numpy(a.copy())


def nll(scores, y, average=True):
    """knet::nll: mean (or sum) NLL of log-softmax scores, ids < 0 skipped."""
    return F.nll_loss(F.log_softmax(scores, 1), y,
                      reduction="mean" if average else "sum",
                      ignore_index=-1)


def accuracy(scores, y):
    return scores.argmax(1).eq(y).double().mean().item()


def lstm(x, h, c, w, b):
    """The bench's LSTM cell: one matrix for the four gates."""
    g = F.linear(torch.cat([x, h], 1), w, b).chunk(4, 1)
    c = torch.sigmoid(g[1]) * c + torch.sigmoid(g[0]) * torch.tanh(g[3])
    return torch.sigmoid(g[2]) * torch.tanh(c), c


class Trainer:
    """zero_grad, loss(*batch).backward(), [clip,] opt.step(): eager, or
    with the loss and the optimizer step compiled (mode == "compile")."""

    def __init__(self, params, opt, mode, clip=None):
        self.params, self.opt, self.clip = params, opt, clip
        self.compiled = mode == "compile"

        def opt_step():
            if clip:
                torch.nn.utils.clip_grad_norm_(params, clip)
            opt.step()

        self.opt_step = torch.compile(opt_step) if self.compiled else opt_step

    def compile(self, f):
        """f itself when eager; torch.compile(f) when compiling."""
        return torch.compile(f) if self.compiled else f

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def step(self, loss_fn, *batch):
        self.zero_grad()
        l = loss_fn(*batch)
        l.backward()
        self.opt_step()
        return l

    def warm_up(self, loss_fn, batches):
        """Compiles by running a step on each of `batches` twice, then puts
        back the weights and the optimizer's state as they were: training
        starts from the same point as in eager mode. Returns the seconds
        spent (the compile and warm-up column); 0 when eager."""
        if not self.compiled:
            return 0.0
        t0 = common.now()
        saved = [p.detach().clone() for p in self.params]
        for batch in batches:
            for _ in range(2):
                self.step(loss_fn, *batch)
        with torch.no_grad():
            for p, s in zip(self.params, saved):
                p.copy_(s)
            for st in self.opt.state.values():
                for v in st.values():
                    if torch.is_tensor(v):
                        v.zero_()
        self.zero_grad()
        return common.now() - t0


def report_compile(seconds, trainer):
    if trainer.compiled:
        common.result("compile_s", seconds)


def report_ratio(trainer, loss_fn, calls):
    """The forward / value-and-gradient measurement of bench.h: one timed
    unit is loss_fn(*args) for every args in `calls`, under no_grad, or
    each followed by backward()."""

    def forward():
        with torch.no_grad():
            for args in calls:
                loss_fn(*args)

    def value_and_grad():
        for args in calls:
            trainer.zero_grad()
            loss_fn(*args).backward()

    common.report_ratio(forward, value_and_grad)
