"""Stochastic gradient descent with momentum, dampening and Nesterov (torch.optim.SGD)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from optimizers.base import Optimizer, State, add_weight_decay, register, validate_common
from optimizers.per_run import nonzero

INF = math.inf


@register("sgd")
@dataclasses.dataclass(frozen=True)
class SGD(Optimizer):
    r"""SGD as documented by torch.optim.SGD.

    .. math::
        g &\leftarrow g + \lambda\theta \\
        b_t &\leftarrow g \ (t = 1), \quad \mu b_{t-1} + (1-\tau) g \ (t > 1) \\
        g &\leftarrow g + \mu b_t \ \text{(nesterov)}, \quad b_t \ \text{(otherwise)} \\
        \theta &\leftarrow \theta - \gamma g

    State: ``momentum_buffer`` (b, momentum only).
    """

    lr: float = 1e-3
    momentum: float = 0.0
    dampening: float = 0.0
    weight_decay: float = 0.0
    nesterov: bool = False

    state_buffers = ("momentum_buffer",)
    work_buffers = ("decayed", "change")
    torch_reference = "torch.optim.SGD"
    family = "classic"
    quadratic_lr = 0.1

    def __post_init__(self) -> None:
        super().__post_init__()
        validate_common(
            self,
            momentum=(0.0, 1.0, False, True),
            dampening=(0.0, 1.0, False, False),
            weight_decay=(0.0, INF, False, True),
        )
        if self.nesterov and (np.any(self.momentum <= 0) or np.any(self.dampening != 0)):
            raise ValueError(
                f"{self.name}: nesterov=True requires momentum > 0 and dampening = 0, "
                f"got momentum={self.momentum!r}, dampening={self.dampening!r}"
            )

    def uses(self, buffer: str) -> bool:
        return nonzero(self.momentum)

    def coefficients(self, state: State, lr) -> dict:
        return {
            "lr": lr,
            "first": state.step == 1,
            "weight_decay": self.weight_decay,
            "momentum": self.momentum,
            "dampening": self.dampening,
            "keep": 1.0 - self.dampening,
        }

    def update(
        self, p, g, b, decayed, change, *, lr, first, weight_decay, momentum, dampening, keep
    ) -> None:
        """The step on one array, or one block of it (:mod:`optimizers.blocked`); ``keep`` is
        1 - dampening."""
        d = add_weight_decay(g, p, weight_decay, out=decayed)
        if b is not None:
            if first:
                np.copyto(b, d)
            else:
                b *= momentum
                if nonzero(dampening):
                    np.multiply(d, keep, out=change)
                    b += change
                else:
                    b += d
            if self.nesterov:
                np.multiply(b, momentum, out=change)
                change += d
                d = change
            else:
                d = b
        np.multiply(d, -lr, out=change)
        p += change


@register("momentum")
@dataclasses.dataclass(frozen=True)
class Momentum(SGD):
    """Heavy-ball momentum: ``sgd`` with momentum 0.9."""

    momentum: float = 0.9

    torch_kwargs = {"momentum": 0.9}
    quadratic_lr = 0.05


@register("nesterov")
@dataclasses.dataclass(frozen=True)
class Nesterov(SGD):
    """Nesterov momentum: ``sgd`` with momentum 0.9 and nesterov=True."""

    momentum: float = 0.9
    nesterov: bool = True

    torch_kwargs = {"momentum": 0.9, "nesterov": True}
    quadratic_lr = 0.05
