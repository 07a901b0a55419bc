"""AdaGrad, RMSprop and AdaDelta (:mod:`optimizers.rules.adaptive`) as one fused loop each."""

from __future__ import annotations

import numpy as np

from optimizers.kernels import kernel
from optimizers.rules.adaptive import Adadelta, Adagrad, RMSprop


@kernel
def adagrad(p, g, state_sum, coupled, wd, eps, neg_clr):
    """Every scalar is of the params' dtype; ``neg_clr`` = -lr / (1 + (t - 1) lr_decay)."""
    for i in range(p.size):
        d = g[i]
        if coupled:
            d = p[i] * wd + d
        s = state_sum[i] + d * d
        state_sum[i] = s
        p[i] = p[i] + d / (np.sqrt(s) + eps) * neg_clr


@kernel
def rmsprop(p, g, square_avg, grad_avg, momentum_buffer, coupled, wd, alpha, rest, eps, mu, neg_lr):
    """Every scalar is of the params' dtype: ``rest`` = 1 - alpha, ``mu`` = momentum,
    ``neg_lr`` = -lr; ``grad_avg`` (centered) and ``momentum_buffer`` may be None."""
    for i in range(p.size):
        d = g[i]
        if coupled:
            d = p[i] * wd + d
        v = square_avg[i] * alpha + d * d * rest
        square_avg[i] = v
        if grad_avg is not None:
            a = grad_avg[i] * alpha + d * rest
            grad_avg[i] = a
            v = v - a * a
        step = d / (np.sqrt(v) + eps)
        if momentum_buffer is not None:
            step = momentum_buffer[i] * mu + step
            momentum_buffer[i] = step
        p[i] = p[i] + step * neg_lr


def launch_adagrad(opt, p, g, state_sum, *, clr, weight_decay, eps) -> None:
    """Adagrad.update's arguments, scratch buffers left out."""
    f = p.dtype.type
    adagrad(p, g, state_sum, bool(weight_decay), f(weight_decay), f(eps), f(-clr))


def launch_rmsprop(
    opt,
    p,
    g,
    square_avg,
    grad_avg,
    momentum_buffer,
    *,
    lr,
    weight_decay,
    alpha,
    rest,
    eps,
    momentum,
) -> None:
    """RMSprop.update's arguments, scratch buffers left out."""
    f = p.dtype.type
    rmsprop(
        p, g, square_avg, grad_avg, momentum_buffer, bool(weight_decay), f(weight_decay),
        f(alpha), f(rest), f(eps), f(momentum), f(-lr),
    )  # fmt: skip


@kernel
def adadelta(p, g, square_avg, acc_delta, coupled, wd, rho, rest, eps, neg_lr):
    """Every scalar is of the params' dtype: ``rest`` = 1 - rho, ``neg_lr`` = -lr."""
    for i in range(p.size):
        d = g[i]
        if coupled:
            d = p[i] * wd + d
        v = square_avg[i] * rho + d * d * rest
        square_avg[i] = v
        delta = np.sqrt(acc_delta[i] + eps) / np.sqrt(v + eps) * d
        acc_delta[i] = acc_delta[i] * rho + delta * delta * rest
        p[i] = p[i] + delta * neg_lr


def launch_adadelta(opt, p, g, square_avg, acc_delta, *, lr, weight_decay, rho, rest, eps) -> None:
    """Adadelta.update's arguments, scratch buffers left out."""
    f = p.dtype.type
    adadelta(
        p, g, square_avg, acc_delta, bool(weight_decay), f(weight_decay),
        f(rho), f(rest), f(eps), f(-lr),
    )  # fmt: skip


LAUNCHERS = {
    Adagrad.update: launch_adagrad,
    RMSprop.update: launch_rmsprop,
    Adadelta.update: launch_adadelta,
}
