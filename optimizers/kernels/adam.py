"""Adam, AdamW and AMSGrad (:meth:`optimizers.rules.adam.Adam.update`) as one fused loop."""

from __future__ import annotations

import numpy as np

from optimizers.kernels import kernel
from optimizers.rules.adam import Adam

NO_DECAY, COUPLED, DECOUPLED = 0, 1, 2


@kernel
def adam(p, g, exp_avg, exp_avg_sq, max_exp_avg_sq, decay, keep, wd, b1, c1, b2, c2, eps, neg_ss):
    """Every scalar is of the params' dtype: ``keep`` = 1 - lr wd, ``c1`` = 1 - b1,
    ``c2`` = 1 - b2, ``neg_ss`` = -step_size; ``eps`` is already scaled by sqrt(1 - b2^t)."""
    for i in range(p.size):
        d = g[i]
        if decay == DECOUPLED:
            p[i] = p[i] * keep
        elif decay == COUPLED:
            d = p[i] * wd + d
        m = exp_avg[i] * b1 + d * c1
        v = exp_avg_sq[i] * b2 + d * d * c2
        exp_avg[i] = m
        exp_avg_sq[i] = v
        if max_exp_avg_sq is not None:
            u = max_exp_avg_sq[i]
            v = u if (u > v or u != u) else v  # np.maximum, NaN included
            max_exp_avg_sq[i] = v
        p[i] = p[i] + m / (np.sqrt(v) + eps) * neg_ss


def launch(
    opt, p, g, exp_avg, exp_avg_sq, max_exp_avg_sq, *,
    weight_decay, keep, beta1, rest1, beta2, rest2, step_size, eps,
) -> None:  # fmt: skip
    """Adam.update's arguments, scratch buffers left out."""
    f = p.dtype.type
    decay = NO_DECAY
    if weight_decay:
        decay = DECOUPLED if opt.decoupled_weight_decay else COUPLED
    adam(
        p, g, exp_avg, exp_avg_sq, max_exp_avg_sq, decay, f(keep), f(weight_decay),
        f(beta1), f(rest1), f(beta2), f(rest2), f(eps), f(-step_size),
    )  # fmt: skip


LAUNCHERS = {Adam.update: launch}
