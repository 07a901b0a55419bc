"""Adafactor (Shazeer & Stern 2018) as torch.optim.Adafactor implements it."""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from optimizers import per_run
from optimizers._validate import check_numbers
from optimizers.base import Optimizer, State, register, validate_common
from optimizers.per_run import nonzero, power
from optimizers.rules._per_run import norm_per_run, per_run_scalar

INF = math.inf


@register("adafactor")
@dataclasses.dataclass(frozen=True)
class Adafactor(Optimizer):
    r"""Adafactor as documented by torch.optim.Adafactor (Shazeer & Stern 2018).

    .. math::
        \hat\beta_{2,t} &= 1 - t^{\tau}, \quad \rho_t = \min(\gamma, 1/\sqrt t), \quad
            \alpha_t = \max(\epsilon_2, \mathrm{RMS}(\theta_{t-1}))\,\rho_t \\
        \theta &\leftarrow \theta - \gamma\lambda\theta \\
        \text{matrix:}\ R_t &= \hat\beta_{2,t} R_{t-1} + (1-\hat\beta_{2,t})\,
            \mathrm{mean}_{cols}(G^2), \quad
            C_t = \hat\beta_{2,t} C_{t-1} + (1-\hat\beta_{2,t})\, \mathrm{mean}_{rows}(G^2) \\
            \hat V_t &= R_t C_t / \max(\mathrm{mean}(R_t), \epsilon_1) \\
        \text{vector:}\ \hat V_t &= \hat\beta_{2,t} \hat V_{t-1} + (1-\hat\beta_{2,t}) G^2 \\
        U_t &= G / \sqrt{\max(\hat V_t, \epsilon_1^2)}, \quad
            \hat U_t = U_t / \max(1, \mathrm{RMS}(U_t)/d) \\
        \theta &\leftarrow \theta - \alpha_t \hat U_t

    :math:`\tau` is ``beta2_decay``, :math:`(\epsilon_1, \epsilon_2)` is ``eps`` (``None`` for
    :math:`\epsilon_1` means the dtype's machine epsilon) and :math:`\lambda` is
    ``weight_decay`` (decoupled, scaled by ``lr``). As in torch, ``lr`` is the cap of the relative
    step size :math:`\rho_t`, not a multiplier of the update.

    Each run's slice is one tensor to torch: RMS and the clipping of :math:`U_t` are per run, and
    a run's slice of more than one axis is factored over its last two axes (``row_var`` and
    ``col_var``); a run's vector keeps a full ``variance``. State: ``row_var``, ``col_var`` and
    ``variance``, each ``None`` for the arrays that do not keep it.
    """

    lr: float = 1e-2
    beta2_decay: float = -0.8
    eps: tuple[float | None, float] = (None, 1e-3)
    d: float = 1.0
    weight_decay: float = 0.0

    state_buffers = ("row_var", "col_var", "variance")
    torch_reference = "torch.optim.Adafactor"
    family = "adaptive"
    quadratic_lr = 0.1

    def __post_init__(self) -> None:
        super().__post_init__()
        validate_common(
            self,
            beta2_decay=(-INF, 0.0, True, False),
            d=(1.0, INF, False, True),
            weight_decay=(0.0, INF, False, True),
        )
        eps = self.eps
        if not isinstance(eps, tuple | list) or len(eps) != 2:
            raise ValueError(f"adafactor: eps must be a pair (eps1 or None, eps2), got {eps!r}")
        eps1 = None if eps[0] is None else check_numbers("adafactor", "eps[0]", eps[0], 0.0, INF)
        self._set("eps", (eps1, check_numbers("adafactor", "eps[1]", eps[1], 0.0, INF)))

    def state_floats_per_param(self) -> int:
        """At most one: a vector keeps a full ``variance``, an m x n matrix only m + n numbers
        (which of the ``state_buffers`` an array keeps depends on its shape)."""
        return 1

    def init(self, params: list[np.ndarray]) -> State:
        """Factored ``row_var`` and ``col_var`` for runs' matrices, ``variance`` for vectors."""
        buffers: dict[str, list] = {name: [] for name in self.state_buffers}
        work = []
        for p in params:
            factored = p.ndim > 2  # the run's own tensor has more than one axis
            row = np.zeros(p.shape[:-1] + (1,), p.dtype) if factored else None
            col = np.zeros(p.shape[:-2] + (1,) + p.shape[-1:], p.dtype) if factored else None
            buffers["row_var"].append(row)
            buffers["col_var"].append(col)
            buffers["variance"].append(None if factored else np.zeros_like(p))
            row_scale = np.zeros(p.shape[:-2] + (1, 1), p.dtype) if factored else None
            work.append(
                (
                    np.empty_like(p),  # the update U
                    per_run_scalar(p),  # alpha, then the update's coefficient
                    per_run_scalar(p),  # RMS(U) / d
                    None if row is None else np.empty_like(row),  # mean over columns of G^2
                    None if col is None else np.empty_like(col),  # mean over rows of G^2
                    row_scale,  # max(mean(R), eps1)
                )
            )
        return State(step=0, buffers=buffers, work=work)

    def coefficients(self, state: State, lr) -> dict:
        t = state.step
        return {
            "weight_decay": self.weight_decay,
            "keep": 1.0 - lr * self.weight_decay,
            "weight": power(t, self.beta2_decay),  # 1 - beta2_hat
            "rho": np.minimum(lr, 1.0 / math.sqrt(t))
            if type(lr) is np.ndarray
            else min(lr, 1.0 / math.sqrt(t)),
            "eps2": self.eps[1],
        }

    def step(self, params, grads, state: State, lr=None) -> None:
        """Update ``params`` and ``state`` in place. ``lr`` overrides ``self.lr`` for this step."""
        state.step += 1
        coefficients = self.settled_coefficients(state, self._lr(lr))
        for i, (p, g) in enumerate(zip(params, grads, strict=True)):
            eps1 = self.eps[0]
            if eps1 is None:
                eps1 = float(np.finfo(p.dtype).eps)
            # float64 coefficients that depend on the array's size and dtype
            sized = {
                "eps1": eps1,
                "eps1_squared": eps1 * eps1,
                "clip_scale": 1.0 / (math.sqrt(p[0].size) * self.d),
            }
            sized = {k: per_run.settle(v) for k, v in sized.items()}
            arrays = (state.buffers[name][i] for name in self.state_buffers)
            here = self.coefficients_for({**coefficients, **sized}, p)
            self._update(p, g, *arrays, *state.work[i], **here)

    def _update(
        self, p, g, row_var, col_var, variance, u, coef, clip, row_mean, col_mean, row_scale, *,
        weight_decay, keep, weight, rho, eps2, eps1, eps1_squared, clip_scale,
    ) -> None:  # fmt: skip
        """The step on one array: its runs' norms are per run, everything else elementwise."""
        # alpha = max(eps2, RMS(theta)) rho, from the params before weight decay
        norm_per_run(p, out=coef)
        coef *= 1.0 / math.sqrt(p[0].size)
        np.maximum(coef, eps2, out=coef)
        coef *= rho
        if nonzero(weight_decay):
            p *= keep
        np.multiply(g, g, out=u)
        if variance is None:
            _lerp(row_var, np.mean(u, axis=-1, keepdims=True, out=row_mean), weight)
            _lerp(col_var, np.mean(u, axis=-2, keepdims=True, out=col_mean), weight)
            np.matmul(row_var, col_var, out=u)  # R C, one outer product per run
            np.mean(row_var, axis=-2, keepdims=True, out=row_scale)
            np.maximum(row_scale, eps1, out=row_scale)
            u /= row_scale
        else:
            _lerp(variance, u, weight)
            np.copyto(u, variance)
        np.maximum(u, eps1_squared, out=u)
        np.sqrt(u, out=u)
        np.divide(g, u, out=u)  # U = G / sqrt(max(V, eps1^2))
        # theta -= alpha U / max(1, RMS(U) / d)
        norm_per_run(u, out=clip)
        clip *= clip_scale
        np.maximum(clip, 1.0, out=clip)
        np.divide(coef, clip, out=coef)
        u *= coef
        p -= u


def _lerp(average: np.ndarray, target: np.ndarray, weight: float) -> None:
    """``average += weight (target - average)`` in place; ``target`` is overwritten."""
    target -= average
    target *= weight
    average += target
