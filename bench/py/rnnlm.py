"""Python peers of bench/knet/rnnlm.cpp (see lm_models.py)."""

import lm_models


def run(args, impl):
    lm_models.run(args, impl, "rnnlm")
