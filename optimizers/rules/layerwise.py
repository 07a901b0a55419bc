"""Layer-wise trust ratios: LAMB and LARS as pytorch-optimizer implements them.

Both scale each tensor's update by a ratio of norms. The reference optimizers are per tensor and
optbench's arrays carry the runs axis, so every norm here is one per run (shape (R, 1, ..., 1)),
never over the stack. The norms need a whole array, so these rules have their own ``step``
instead of the blocked ``update``; it writes only into buffers made by ``init``.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from optimizers.base import Optimizer, State, register, validate_common
from optimizers.per_run import nonzero, power
from optimizers.rules._per_run import norm_per_run, per_run_scalar

INF = math.inf
NON_NEGATIVE = (0.0, INF, False, True)


def _trust_ratio(numerator, denominator, out, valid) -> None:
    """``out = numerator / denominator`` where ``valid``, else 1 (all shaped (R, 1, ..., 1))."""
    out.fill(1.0)
    np.divide(numerator, denominator, out=out, where=valid)


def _per_run_work(p: np.ndarray, full: int) -> tuple[np.ndarray, ...]:
    """``full`` scratch arrays like ``p``, three (R, 1, ..., 1) ones and a boolean one."""
    scalars = tuple(per_run_scalar(p) for _ in range(3))
    return (*(np.empty_like(p) for _ in range(full)), *scalars, np.zeros(scalars[0].shape, bool))


@register("lamb")
@dataclasses.dataclass(frozen=True)
class Lamb(Optimizer):
    r"""LAMB (You et al. 2020) as pytorch_optimizer.Lamb.

    .. math::
        \theta &\leftarrow \theta (1 - \lambda \gamma) \quad
            (\text{weight\_decouple}; \ \theta (1 - \lambda) \text{ with fixed\_decay}) \\
        m_t &= \beta_1 m_{t-1} + \beta_3 g, \quad \beta_3 = 1 - \beta_1
            \ (\text{grad\_averaging, else } 1) \\
        v_t &= \beta_2 v_{t-1} + (1-\beta_2) g^2 \\
        u_t &= m_t / (\sqrt{v_t} + \epsilon) \quad
            (+\, \lambda\theta \text{ without weight\_decouple}) \\
        r_t &= \min(\lVert\theta\rVert, 10) / (\lVert u_t\rVert + \epsilon)
            \quad (1 \text{ if either norm is } 0, \text{ or with adam=True}) \\
        \theta &\leftarrow \theta - \frac{\gamma}{1-\beta_1^t}\, r_t u_t

    Only the first moment's bias is corrected, and only in the step size, as in the reference
    (whose ``adam_debias=False`` divides the step size by :math:`1-\beta_1^t`). Norms are per
    run, over each parameter array. pytorch-optimizer's ``rectify``, ``degenerated_to_sgd``,
    ``n_sma_threshold``, ``pre_norm`` and ``max_grad_norm`` (off by default there) are not
    offered; ``pre_norm``'s global gradient scaling is the engine's
    ``global_norm`` clipping. State: ``exp_avg`` (m), ``exp_avg_sq`` (v).
    """

    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    weight_decay: float = 0.0
    weight_decouple: bool = True
    fixed_decay: bool = False
    grad_averaging: bool = True
    adam: bool = False
    eps: float = 1e-6

    state_buffers = ("exp_avg", "exp_avg_sq")
    reference = "pytorch_optimizer.Lamb"
    family = "adaptive"
    clamp = 10.0  # pytorch-optimizer's cap of the weight norm in the trust ratio
    quadratic_lr = 0.05

    def __post_init__(self) -> None:
        super().__post_init__()
        validate_common(
            self, betas=(0.0, 1.0, False, True), weight_decay=NON_NEGATIVE, eps=NON_NEGATIVE
        )

    def init(self, params: list[np.ndarray]) -> State:
        state = super().init(params)
        # the update u and a scratch array, then per run: ||theta|| (capped), ||u|| + eps, the
        # trust ratio and where it is defined
        state.work = [_per_run_work(p, full=2) for p in params]
        return state

    def coefficients(self, state: State, lr) -> dict:
        beta1, beta2 = self.betas
        decay = self.weight_decay if self.fixed_decay else lr * self.weight_decay
        return {
            "weight_decay": self.weight_decay,
            "keep": 1.0 - decay,
            "beta1": beta1,
            "beta3": 1.0 - beta1 if self.grad_averaging else 1.0,
            "beta2": beta2,
            "rest2": 1.0 - beta2,
            "eps": self.eps,
            "step_size": lr / (1.0 - power(beta1, state.step)),
        }

    def step(self, params, grads, state: State, lr=None) -> None:
        """Update ``params`` and ``state`` in place. ``lr`` overrides ``self.lr`` for this step."""
        state.step += 1
        coefficients = self.settled_coefficients(state, self._lr(lr))
        buffers = zip(state.buffers["exp_avg"], state.buffers["exp_avg_sq"], strict=True)
        for p, g, (exp_avg, exp_avg_sq), work in zip(
            params, grads, buffers, state.work, strict=True
        ):
            self._update(p, g, exp_avg, exp_avg_sq, *work, **self.coefficients_for(coefficients, p))

    def _update(
        self, p, g, exp_avg, exp_avg_sq, update, scratch, *per_run,
        weight_decay, keep, beta1, beta3, beta2, rest2, eps, step_size,
    ) -> None:  # fmt: skip
        """The step on one array; ``keep`` is 1 - (lr) weight_decay, ``rest2`` 1 - beta2."""
        decays = nonzero(weight_decay)
        if self.weight_decouple and decays:
            p *= keep
        exp_avg *= beta1
        np.multiply(g, beta3, out=update)
        exp_avg += update
        exp_avg_sq *= beta2
        np.multiply(g, g, out=update)
        update *= rest2
        exp_avg_sq += update
        np.sqrt(exp_avg_sq, out=update)
        update += eps
        np.divide(exp_avg, update, out=update)
        if not self.weight_decouple and decays:
            np.multiply(p, weight_decay, out=scratch)
            update += scratch
        if not self.adam:
            self._scale_by_trust_ratio(p, update, *per_run, eps=eps)
        update *= -step_size
        p += update

    def _scale_by_trust_ratio(self, p, update, weight_norm, update_norm, ratio, valid, eps) -> None:
        """``update *= r``, r = min(||theta||, clamp) / (||u|| + eps) per run (1 if a norm is 0)."""
        norm_per_run(p, out=weight_norm)
        np.minimum(weight_norm, self.clamp, out=weight_norm)
        norm_per_run(update, out=update_norm)
        np.minimum(weight_norm, update_norm, out=ratio)  # norms: min > 0 iff neither is 0
        np.greater(ratio, 0.0, out=valid)
        update_norm += eps
        _trust_ratio(weight_norm, update_norm, ratio, valid)
        update *= ratio


@register("lars")
@dataclasses.dataclass(frozen=True)
class LARS(Optimizer):
    r"""LARS (You et al. 2017) as pytorch_optimizer.LARS.

    For a tensor of more than one axis (each run's slice of an array with ``ndim > 2``):

    .. math::
        r_t &= \eta \lVert\theta\rVert / (\lVert g\rVert + \lambda\lVert\theta\rVert)
            \quad (1 \text{ if } \lVert\theta\rVert = 0 \text{ or the denominator is } 0) \\
        g &\leftarrow r_t (g + \lambda\theta)

    and for every tensor, with momentum :math:`\mu > 0` and dampening :math:`\tau`:

    .. math::
        b_t &= \mu b_{t-1} + (1-\tau) g, \quad
            g \leftarrow g + \mu b_t \ (\text{nesterov}), \ \text{else}\ g \leftarrow b_t \\
        \theta &\leftarrow \theta - \gamma g

    :math:`\eta` is ``trust_coefficient``. As in the reference, vectors and scalars (a run's
    slice with at most one axis) take plain momentum SGD: no trust ratio and no weight decay.
    Unlike torch's SGD, the buffer starts from zero (b_1 = (1 - τ) g). Norms are per run.
    State: ``momentum_buffer`` (with momentum > 0).
    """

    lr: float = 1e-3
    weight_decay: float = 0.0
    momentum: float = 0.9
    dampening: float = 0.0
    trust_coefficient: float = 1e-3
    nesterov: bool = False

    state_buffers = ("momentum_buffer",)
    reference = "pytorch_optimizer.LARS"
    family = "adaptive"
    quadratic_lr = 0.05

    def __post_init__(self) -> None:
        super().__post_init__()
        validate_common(
            self,
            weight_decay=NON_NEGATIVE,
            momentum=(0.0, 1.0, False, False),
            dampening=(0.0, 1.0, False, False),
            trust_coefficient=NON_NEGATIVE,
        )

    def uses(self, buffer: str) -> bool:
        return nonzero(self.momentum)

    def init(self, params: list[np.ndarray]) -> State:
        state = super().init(params)
        # the direction d and a scratch array, then per run: ||theta||, ||g|| + lambda ||theta||,
        # the trust ratio and where it is defined
        state.work = [_per_run_work(p, full=2) for p in params]
        return state

    def coefficients(self, state: State, lr) -> dict:
        return {
            "lr": lr,
            "weight_decay": self.weight_decay,
            "momentum": self.momentum,
            "keep": 1.0 - self.dampening,
            "trust_coefficient": self.trust_coefficient,
        }

    def step(self, params, grads, state: State, lr=None) -> None:
        """Update ``params`` and ``state`` in place. ``lr`` overrides ``self.lr`` for this step."""
        state.step += 1
        coefficients = self.settled_coefficients(state, self._lr(lr))
        buffers = state.buffers.get("momentum_buffer", [None] * len(params))
        for p, g, buffer, work in zip(params, grads, buffers, state.work, strict=True):
            self._update(p, g, buffer, *work, **self.coefficients_for(coefficients, p))

    def _update(
        self, p, g, buffer, direction, scratch, *per_run,
        lr, weight_decay, momentum, keep, trust_coefficient,
    ) -> None:  # fmt: skip
        """The step on one array; ``keep`` is 1 - dampening."""
        if p.ndim > 2:  # each run's slice is a matrix or more
            self._scaled_gradient(p, g, direction, *per_run, weight_decay, trust_coefficient)
        else:
            np.copyto(direction, g)
        if buffer is not None:
            buffer *= momentum
            np.multiply(direction, keep, out=scratch)
            buffer += scratch
            if self.nesterov:
                np.multiply(buffer, momentum, out=scratch)
                direction += scratch
            else:
                np.copyto(direction, buffer)
        direction *= -lr
        p += direction

    @staticmethod
    def _scaled_gradient(
        p, g, direction, param_norm, denominator, ratio, valid, weight_decay, trust_coefficient
    ) -> None:
        """``direction = r (g + lambda theta)``, the trust ratio r per run."""
        norm_per_run(p, out=param_norm)
        norm_per_run(g, out=denominator)
        np.multiply(param_norm, weight_decay, out=ratio)
        denominator += ratio
        np.minimum(param_norm, denominator, out=ratio)  # min > 0 iff both are
        np.greater(ratio, 0.0, out=valid)
        param_norm *= trust_coefficient
        _trust_ratio(param_norm, denominator, ratio, valid)
        np.multiply(p, weight_decay, out=direction)
        direction += g
        direction *= ratio
