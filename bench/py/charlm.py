"""Python peers of bench/knet/charlm.cpp (see lm_models.py)."""

import lm_models


def run(args, impl):
    lm_models.run(args, impl, "charlm")
