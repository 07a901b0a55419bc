"""MARS (Yuan et al. 2024), variance-reduced AdamW, as pytorch-optimizer implements it."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from optimizers import per_run
from optimizers.base import Optimizer, State, register, validate_common
from optimizers.rules._matrix import lerp
from optimizers.rules._per_run import norm_per_run, per_run_scalar

INF = math.inf
NON_NEGATIVE = (0.0, INF, False, True)
BETAS = (0.0, 1.0, False, True)
EXP_AVG_SQ_EPS = 1e-15  # the reference's exp_avg_sq_eps inside the square root
PLAIN = "_1d"  # the suffix of the plain AdamW arrays' coefficients


@register("mars")
@dataclasses.dataclass(frozen=True)
class MARS(Optimizer):
    r"""MARS-AdamW, as pytorch_optimizer.MARS with ``mars_type="adamw"``.

    On a tensor of more than one axis (each run's slice of an array with ``ndim > 2``; every
    array with ``optimize_1d``):

    .. math::
        c_t &= g_t + \gamma \frac{\beta_1}{1-\beta_1} (g_t - g_{t-1}), \quad
            c_t \leftarrow c_t / \lVert c_t\rVert \ \text{if}\ \lVert c_t\rVert > 1 \\
        m_t &= m_{t-1} + (1-\beta_1)(c_t - m_{t-1}), \quad
            v_t = \beta_2 v_{t-1} + (1-\beta_2) c_t^2 \\
        \theta &\leftarrow \theta (1 - \gamma_t\lambda) - \gamma_t\, m_t
            \Big/ \Big(\frac{\sqrt{v_t + 10^{-15}} + \epsilon}{\sqrt{1-\beta_2^t}}\,
            (1-\beta_1^t)\Big)

    (:math:`g_{t-1}` is ``last_grad``, zero at the first step). Other arrays (vectors, scalars)
    take the same AdamW step on :math:`c_t = g_t` with ``betas_1d``, ``weight_decay_1d`` and
    the lr :math:`\gamma_t` times ``lr_1d_factor``. ``fixed_decay`` makes the decay
    :math:`\theta(1-\lambda)`; without ``weight_decouple``, the reference adds
    :math:`\lambda\theta` to the gradient only after the step, so it reaches only
    ``last_grad`` (and so the next correction), as here. ``ams_bound`` uses the running maximum
    of :math:`v`; ``cautious`` zeroes the update where its sign differs from the gradient's and
    rescales it by size / (kept + 1). The norm and the cautious count are per run.

    The reference takes ``lr_1d`` and keeps ``lr_1d_factor = lr_1d / lr``, so that a schedule
    scales both; as optbench's per-step lr is the lr itself, the factor is the hyperparameter
    here (the reference is ``MARS(lr=lr, lr_1d=lr * lr_1d_factor)``). ``mars_type="lion"`` and
    ``"shampoo"`` and ``maximize`` are not offered. State: ``exp_avg`` (m), ``exp_avg_sq`` (v),
    ``last_grad``, and ``max_exp_avg_sq`` with ``ams_bound``.
    """

    lr: float = 3e-3
    betas: tuple[float, float] = (0.95, 0.99)
    gamma: float = 0.025
    optimize_1d: bool = False
    lr_1d_factor: float = 1.0
    betas_1d: tuple[float, float] = (0.9, 0.95)
    weight_decay: float = 0.0
    weight_decay_1d: float = 1e-1
    weight_decouple: bool = True
    fixed_decay: bool = False
    ams_bound: bool = False
    cautious: bool = False
    eps: float = 1e-8

    state_buffers = ("exp_avg", "exp_avg_sq", "last_grad", "max_exp_avg_sq")
    reference = "pytorch_optimizer.MARS"
    family = "adaptive"
    quadratic_lr = 0.03

    def __post_init__(self) -> None:
        super().__post_init__()
        validate_common(
            self,
            betas=BETAS,
            betas_1d=BETAS,
            gamma=NON_NEGATIVE,
            lr_1d_factor=NON_NEGATIVE,
            weight_decay=NON_NEGATIVE,
            weight_decay_1d=NON_NEGATIVE,
            eps=NON_NEGATIVE,
        )

    def uses(self, buffer: str) -> bool:
        return buffer != "max_exp_avg_sq" or self.ams_bound

    def torch_arguments(self) -> dict[str, Any]:
        """The reference's keywords: ``lr_1d = lr * lr_1d_factor`` in place of the factor."""
        arguments = super().torch_arguments()
        arguments["lr_1d"] = self.lr * arguments.pop("lr_1d_factor")
        return arguments

    def init(self, params: list[np.ndarray]) -> State:
        state = super().init(params)
        # c_t, the update, ||c_t|| (or the cautious rescaling) per run, the cautious mask
        state.work = [
            (np.empty_like(p), np.empty_like(p), per_run_scalar(p), np.empty(p.shape, bool))
            for p in params
        ]
        return state

    def coefficients(self, state: State, lr: Any) -> dict[str, Any]:
        """The step's scalars in float64 (numbers, or (R,) arrays for per-run values): the
        corrected arrays', and the plain AdamW arrays' under the same names ending in ``_1d``."""
        t = state.step
        (beta1, beta2), (beta1_1d, beta2_1d) = self.betas, self.betas_1d
        lr_1d = np.multiply(lr, self.lr_1d_factor)
        plain = self._adam_coefficients(lr_1d, beta1_1d, beta2_1d, self.weight_decay_1d, t)
        return {
            "correction": np.multiply(self.gamma, np.divide(beta1, np.subtract(1.0, beta1))),
            **self._adam_coefficients(lr, beta1, beta2, self.weight_decay, t),
            **{name + PLAIN: value for name, value in plain.items()},
        }

    def _adam_coefficients(self, lr, beta1, beta2, weight_decay, t: int) -> dict[str, Any]:
        decay_rate = weight_decay if self.fixed_decay else np.multiply(weight_decay, lr)
        return {
            "neg_lr": np.negative(lr),
            "exp_avg_weight": np.subtract(1.0, beta1),
            "beta2": beta2,
            "exp_avg_sq_weight": np.subtract(1.0, beta2),
            "bias_correction1": np.subtract(1.0, per_run.power(beta1, t)),
            "bias_correction2_sqrt": np.sqrt(np.subtract(1.0, per_run.power(beta2, t))),
            "eps": self.eps,
            "weight_decay": weight_decay,
            "decay": np.subtract(1.0, decay_rate),
            "decays": per_run.nonzero(weight_decay),  # in every run or none (signature)
        }

    def step(self, params, grads, state: State, lr: Any = None) -> None:
        """Update ``params`` and ``state`` in place. ``lr`` overrides ``self.lr`` for this step."""
        state.step += 1
        coefficients = self.settled_coefficients(state, self._lr(lr))
        corrected_only = {k: v for k, v in coefficients.items() if not k.endswith(PLAIN)}
        plain_only = {
            k.removesuffix(PLAIN): v for k, v in coefficients.items() if k.endswith(PLAIN)
        }
        max_exp_avg_sq = state.buffers.get("max_exp_avg_sq", [None] * len(params))
        for p, g, exp_avg, exp_avg_sq, last_grad, v_max, work in zip(
            params, grads, *(state.buffers[b] for b in self.state_buffers[:3]), max_exp_avg_sq,
            state.work, strict=True,
        ):  # fmt: skip
            corrected = self.optimize_1d or p.ndim > 2
            local = self.coefficients_for(corrected_only if corrected else plain_only, p)
            self._update(p, g, exp_avg, exp_avg_sq, last_grad, v_max, *work, corrected, **local)

    def _update(
        self, p, g, exp_avg, exp_avg_sq, last_grad, max_exp_avg_sq, c, update, per_run, mask,
        corrected, *, neg_lr, exp_avg_weight, beta2, exp_avg_sq_weight, bias_correction1,
        bias_correction2_sqrt, eps, weight_decay, decay, decays, correction=None,
    ) -> None:  # fmt: skip
        """The step on one array; the norm and the cautious count are per run."""
        if corrected:
            np.subtract(g, last_grad, out=c)
            c *= correction
            c += g
            norm_per_run(c, out=per_run)
            np.maximum(per_run, 1.0, out=per_run)  # divides only where ||c|| > 1
            c /= per_run
        else:
            np.copyto(c, g)
        np.copyto(update, c)
        lerp(exp_avg, update, exp_avg_weight)
        exp_avg_sq *= beta2
        c *= c
        c *= exp_avg_sq_weight
        exp_avg_sq += c
        np.copyto(update, exp_avg)
        if self.cautious:
            _apply_cautious(update, g, product=c, mask=mask, scale=per_run)
        denominator = exp_avg_sq
        if max_exp_avg_sq is not None:
            np.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
            denominator = max_exp_avg_sq
        np.add(denominator, EXP_AVG_SQ_EPS, out=c)
        np.sqrt(c, out=c)
        c += eps
        c /= bias_correction2_sqrt
        c *= bias_correction1
        update /= c
        if decays and self.weight_decouple:
            p *= decay
        if decays and not self.weight_decouple:  # the reference's g + lambda theta, kept
            np.multiply(p, weight_decay, out=last_grad)  # only as the next step's last_grad
            last_grad += g
        else:
            np.copyto(last_grad, g)
        update *= neg_lr
        p += update


def _apply_cautious(update, g, product, mask, scale) -> None:
    """``update`` zeroed where its sign differs from ``g``'s, then times size / (kept + 1) per
    run (the reference's ``apply_cautious``); ``product``, ``mask`` and ``scale`` are scratch."""
    runs = update.shape[0]
    np.multiply(update, g, out=product)
    np.greater(product, 0.0, out=mask)
    np.sum(mask.reshape(runs, -1), axis=1, dtype=update.dtype, out=scale.reshape(runs))
    scale += 1.0
    np.divide(update[0].size, scale, out=scale)
    update *= mask
    update *= scale
