"""ADOPT (Taniguchi et al. 2024) as pytorch-optimizer implements it."""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from optimizers.base import Optimizer, State, add_weight_decay, register, validate_common
from optimizers.per_run import nonzero

NON_NEGATIVE = (0.0, math.inf, False, True)
BETA = (0.0, 1.0, False, True)


@register("adopt")
@dataclasses.dataclass(frozen=True)
class ADOPT(Optimizer):
    r"""ADOPT, Adam with the second moment of the previous step (Taniguchi et al. 2024), as
    pytorch_optimizer.ADOPT.

    .. math::
        g &\leftarrow g + \lambda\theta \quad (\text{without weight\_decouple}) \\
        \theta &\leftarrow \theta (1 - \gamma\lambda) \quad (\text{weight\_decouple};\
            \theta (1 - \lambda) \text{ with fixed\_decay}) \\
        t = 1:\ v_1 &= g^2 \quad (\theta \text{ is not moved}) \\
        t > 1:\ u_t &= \mathrm{clip}\big(g / \max(\sqrt{v_{t-1}}, \epsilon),\ \pm t^{1/4}\big) \\
        m_t &= m_{t-1} + (1-\beta_1)(u_t - m_{t-1}) \\
        \theta &\leftarrow \theta - \gamma m_t \\
        v_t &= \beta_2 v_{t-1} + (1-\beta_2) g^2

    The clipping bound is the reference's default ``clip_lambda``, :math:`t^{1/4}`; another
    bound (the reference takes any callable of the step) is not offered, nor is ``maximize``.
    As the first step only fills :math:`v`, ``first_step_moves`` is False (with decoupled weight
    decay the first step does shrink :math:`\theta`). State: ``exp_avg`` (m), ``exp_avg_sq`` (v).
    """

    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.9999)
    weight_decay: float = 0.0
    weight_decouple: bool = False
    fixed_decay: bool = False
    eps: float = 1e-6

    state_buffers = ("exp_avg", "exp_avg_sq")
    work_buffers = ("decayed_grad", "work")
    reference = "pytorch_optimizer.ADOPT"
    family = "adaptive"
    first_step_moves = False
    quadratic_lr = 0.01

    def __post_init__(self) -> None:
        super().__post_init__()
        validate_common(self, betas=BETA, weight_decay=NON_NEGATIVE, eps=NON_NEGATIVE)

    def coefficients(self, state: State, lr) -> dict:
        t = state.step
        beta1, beta2 = self.betas
        return {
            "neg_lr": -lr,
            "first": t == 1,
            "clip": math.pow(t, 0.25),
            "weight_decay": self.weight_decay,
            "decay": 1.0 - self.weight_decay * (1.0 if self.fixed_decay else lr),
            "beta2": beta2,
            "rest1": 1.0 - beta1,
            "rest2": 1.0 - beta2,
            "eps": self.eps,
        }

    def update(
        self, p, g, exp_avg, exp_avg_sq, decayed_grad, work, *,
        neg_lr, first, clip, weight_decay, decay, beta2, rest1, rest2, eps,
    ) -> None:  # fmt: skip
        """The step on one array, or one block of it (:mod:`optimizers.blocked`); ``rest1`` and
        ``rest2`` are 1 - beta1 and 1 - beta2."""
        if self.weight_decouple:
            if nonzero(weight_decay):
                p *= decay
        else:
            g = add_weight_decay(g, p, weight_decay, out=decayed_grad)
        if first:
            np.multiply(g, g, out=work)
            exp_avg_sq += work  # v_1 = g^2
            return
        np.sqrt(exp_avg_sq, out=work)
        np.maximum(work, eps, out=work)
        np.divide(g, work, out=work)
        np.clip(work, -clip, clip, out=work)  # u_t
        work -= exp_avg
        work *= rest1
        exp_avg += work  # m_t
        np.multiply(exp_avg, neg_lr, out=work)
        p += work
        np.multiply(g, rest2, out=work)
        work *= g
        exp_avg_sq *= beta2
        exp_avg_sq += work  # v_t
