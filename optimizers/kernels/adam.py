"""The Adam family (:mod:`optimizers.rules.adam`): Adam, AdamW and AMSGrad, Adamax, NAdam and
RAdam, each ``update`` as one fused loop."""

from __future__ import annotations

import numpy as np

from optimizers.kernels import kernel
from optimizers.rules.adam import Adam, Adamax, NAdam, RAdam

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
    adam(
        p, g, exp_avg, exp_avg_sq, max_exp_avg_sq, _decay(opt, weight_decay),
        f(keep), f(weight_decay), f(beta1), f(rest1), f(beta2), f(rest2), f(eps), f(-step_size),
    )  # fmt: skip


@kernel
def adamax(p, g, exp_avg, exp_inf, coupled, wd, b1, c1, b2, eps, neg_clr):
    """Every scalar is of the params' dtype: ``c1`` = 1 - b1, ``neg_clr`` = -lr / (1 - b1^t)."""
    for i in range(p.size):
        d = g[i]
        if coupled:
            d = p[i] * wd + d
        m = exp_avg[i] * b1 + d * c1
        exp_avg[i] = m
        u = exp_inf[i] * b2
        a = abs(d) + eps
        u = u if (u > a or u != u) else a  # np.maximum, NaN included
        exp_inf[i] = u
        p[i] = p[i] + m / u * neg_clr


def launch_adamax(
    opt, p, g, exp_avg, exp_inf, *, weight_decay, keep, beta1, rest1, beta2, rest2, clr, eps
) -> None:
    """Adamax.update's arguments, scratch buffers left out."""
    f = p.dtype.type
    adamax(
        p, g, exp_avg, exp_inf, bool(weight_decay), f(weight_decay),
        f(beta1), f(rest1), f(beta2), f(eps), f(-clr),
    )  # fmt: skip


@kernel
def nadam(p, g, exp_avg, exp_avg_sq, decay, keep, wd, b1, c1, b2, c2, bc2, eps, gc, ac):
    """Every scalar is of the params' dtype: ``keep`` = 1 - lr wd, ``c1`` = 1 - b1,
    ``c2`` = 1 - b2, ``bc2`` = 1 - b2^t, ``gc`` and ``ac`` the gradient's and average's
    coefficients."""
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
        denom = np.sqrt(v / bc2) + eps
        p[i] = p[i] + d / denom * gc
        p[i] = p[i] + m / denom * ac


def launch_nadam(
    opt, p, g, exp_avg, exp_avg_sq, *, weight_decay, keep, beta1, rest1, beta2, rest2,
    grad_coef, avg_coef, bias_correction2, eps,
) -> None:  # fmt: skip
    """NAdam.update's arguments, scratch buffers left out."""
    f = p.dtype.type
    nadam(
        p, g, exp_avg, exp_avg_sq, _decay(opt, weight_decay), f(keep), f(weight_decay),
        f(beta1), f(rest1), f(beta2), f(rest2), f(bias_correction2), f(eps),
        f(grad_coef), f(avg_coef),
    )  # fmt: skip


@kernel
def radam(p, g, exp_avg, exp_avg_sq, decay, keep, wd, b1, c1, b2, c2, rectified, plain, rect,
          sbc2, eps):  # fmt: skip
    """Every scalar is of the params' dtype: ``plain`` = -lr / (1 - b1^t), ``rect`` the
    rectified step's coefficient, ``sbc2`` = sqrt(1 - b2^t)."""
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
        if rectified:
            p[i] = p[i] + sbc2 / (np.sqrt(v) + eps) * m * rect
        else:
            p[i] = p[i] + m * plain


def launch_radam(
    opt, p, g, exp_avg, exp_avg_sq, *, weight_decay, keep, beta1, rest1, beta2, rest2,
    rectified, plain_step, rect_step, sqrt_bias_correction2, eps,
) -> None:  # fmt: skip
    """RAdam.update's arguments, scratch buffers left out (``rectified`` a bool here)."""
    f = p.dtype.type
    radam(
        p, g, exp_avg, exp_avg_sq, _decay(opt, weight_decay), f(keep), f(weight_decay),
        f(beta1), f(rest1), f(beta2), f(rest2), bool(rectified), f(plain_step), f(rect_step),
        f(sqrt_bias_correction2), f(eps),
    )  # fmt: skip


def _decay(opt, weight_decay) -> int:
    if not weight_decay:
        return NO_DECAY
    return DECOUPLED if opt.decoupled_weight_decay else COUPLED


LAUNCHERS = {
    Adam.update: launch,
    Adamax.update: launch_adamax,
    NAdam.update: launch_nadam,
    RAdam.update: launch_radam,
}
