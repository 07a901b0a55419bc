"""SGD with momentum, dampening, Nesterov and weight decay (:meth:`SGD.update`) as one loop."""

from __future__ import annotations

from optimizers.kernels import kernel
from optimizers.rules.sgd import SGD


@kernel
def sgd(p, g, b, coupled, wd, first, momentum, damped, keep, nesterov, neg_lr):
    """Every scalar is of the params' dtype: ``keep`` = 1 - dampening, ``neg_lr`` = -lr;
    ``coupled``, ``first``, ``damped`` and ``nesterov`` say which branches of the update run."""
    for i in range(p.size):
        d = g[i]
        if coupled:
            d = p[i] * wd + d
        if b is not None:
            if first:
                m = d
            elif damped:
                m = b[i] * momentum + d * keep
            else:
                m = b[i] * momentum + d
            b[i] = m
            d = m * momentum + d if nesterov else m
        p[i] = p[i] + d * neg_lr


def launch(opt, p, g, b, *, lr, first, weight_decay, momentum, dampening, keep) -> None:
    """SGD.update's arguments, scratch buffers left out."""
    f = p.dtype.type
    sgd(
        p, g, b, bool(weight_decay), f(weight_decay), bool(first), f(momentum),
        bool(dampening), f(keep), bool(opt.nesterov), f(-lr),
    )  # fmt: skip


LAUNCHERS = {SGD.update: launch}
