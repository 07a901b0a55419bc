"""Lion and Rprop (:mod:`optimizers.rules.sign`) as one fused loop each."""

from __future__ import annotations

from optimizers.kernels import kernel
from optimizers.rules.sign import Lion, Rprop


@kernel
def lion(p, g, exp_avg, decoupled, keep, b1, c1, b2, c2, one, neg_lr):
    """Every scalar is of the params' dtype: ``keep`` = 1 - lr wd, ``c1`` = 1 - b1,
    ``c2`` = 1 - b2, ``one`` = 1, ``neg_lr`` = -lr."""
    zero = one - one
    for i in range(p.size):
        m = exp_avg[i]
        c = m * b1 + g[i] * c1
        # np.sign: +1, -1, +0 for either zero, NaN for NaN
        s = one if c > zero else (-one if c < zero else (c if c != c else zero))
        if decoupled:
            p[i] = p[i] * keep
        p[i] = p[i] + s * neg_lr
        exp_avg[i] = m * b2 + g[i] * c2


def launch(opt, p, g, exp_avg, *, lr, beta1, rest1, beta2, rest2, weight_decay, keep) -> None:
    """Lion.update's arguments, scratch buffers left out."""
    f = p.dtype.type
    lion(
        p, g, exp_avg, bool(weight_decay), f(keep),
        f(beta1), f(rest1), f(beta2), f(rest2), f(1.0), f(-lr),
    )  # fmt: skip


@kernel
def rprop(p, g, prev, step_size, eta_minus, eta_plus, low, high, one):
    """Every scalar is of the params' dtype; ``one`` = 1."""
    zero = one - one
    for i in range(p.size):
        x = g[i] * prev[i]
        factor = eta_plus if x > zero else (eta_minus if x < zero else one)
        s = step_size[i] * factor
        s = low if s < low else s  # np.clip: NaN stays NaN
        s = high if s > high else s
        step_size[i] = s
        d = zero if x < zero else g[i]  # a sign change skips this step's update
        prev[i] = d
        sign = one if d > zero else (-one if d < zero else (d if d != d else zero))
        p[i] = p[i] - sign * s


def launch_rprop(opt, p, g, prev, step_size, *, eta_minus, eta_plus, low, high) -> None:
    """Rprop.update's arguments, scratch and mask buffers left out."""
    f = p.dtype.type
    rprop(p, g, prev, step_size, f(eta_minus), f(eta_plus), f(low), f(high), f(1.0))


LAUNCHERS = {Lion.update: launch, Rprop.update: launch_rprop}
