"""SOAP (Vyas et al. 2024), Adam in Shampoo's eigenbasis, as pytorch-optimizer implements it."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from optimizers import per_run
from optimizers.base import Optimizer, State, register, validate_common
from optimizers.rules._matrix import check_count, lerp
from optimizers.rules._per_run import norm_per_run, per_run_scalar

INF = math.inf
NON_NEGATIVE = (0.0, INF, False, True)
EIGH_SHIFT = 1e-30  # the reference's eigh(GG + 1e-30 I)


@dataclasses.dataclass
class SoapState(State):
    """SOAP's state: besides ``exp_avg`` and ``exp_avg_sq`` (in ``buffers``), per parameter
    array and per axis of a run's tensor, the reference's ``GG`` (the running average of the
    gradient's outer products along that axis, (R, d, d)) and ``Q`` (its eigenbasis, (R, d, d)),
    None on the axes left unpreconditioned."""

    GG: list[list[np.ndarray | None]] = dataclasses.field(default_factory=list)
    Q: list[list[np.ndarray | None]] = dataclasses.field(default_factory=list)


@register("soap")
@dataclasses.dataclass(frozen=True)
class SOAP(Optimizer):
    r"""SOAP, Adam in the eigenbasis of Shampoo's preconditioner, as pytorch_optimizer.SOAP.

    For each axis :math:`k` of a run's tensor (of size at most ``max_precondition_dim``; a
    vector only with ``precondition_1d``), with :math:`\beta_s` = ``shampoo_beta`` (None:
    :math:`\beta_2`) and :math:`G_{(k)}` the gradient with axis :math:`k` first, flattened:

    .. math::
        L_k &\leftarrow L_k + (1-\beta_s)(G_{(k)} G_{(k)}^T - L_k) \\
        t = 1:\ Q_k &= \text{eigenvectors of } L_k + 10^{-30} I, \text{ by decreasing
            eigenvalue } (\theta \text{ is not moved}) \\
        t > 1,\ s = t - 1:\ \tilde g &= g \times_k Q_k^T \ (\text{every axis}), \quad
            m \leftarrow m + (1-\beta_1)(g - m), \quad
            v \leftarrow v + (1-\beta_2)(\tilde g^2 - v) \\
        n &= \big((m \times_k Q_k^T) / (\sqrt v + \epsilon)\big) \times_k Q_k \\
        \theta &\leftarrow \theta - \gamma \frac{\sqrt{1-\beta_2^s}}{1-\beta_1^s}\, n
            \ (\text{without correct\_bias: } \gamma), \quad
            \theta \leftarrow \theta (1 - \gamma\lambda)

    then :math:`L_k` is updated as above, and every ``precondition_frequency`` steps
    (:math:`s` a multiple) each :math:`Q_k` is refreshed by one power iteration: the columns of
    :math:`L_k Q_k` sorted by decreasing estimated eigenvalue :math:`\mathrm{diag}(Q_k^T L_k
    Q_k)`, orthonormalised by QR, and :math:`v` is permuted along axis :math:`k` to match. With
    ``normalize_gradient``, :math:`n \leftarrow n / (\mathrm{RMS}(n) + \epsilon)`. Every product,
    eigendecomposition, QR and RMS is per run; the reference's QR in float32 runs here in the
    params' dtype. Where an eigenvalue of :math:`L_k` repeats (a rank-deficient statistic, e.g.
    a vector's at the first step with ``precondition_1d``), the eigenbasis is not unique and
    LAPACK implementations may pick different ones. pytorch-optimizer's ``merge_dims``,
    ``data_format`` and ``maximize`` are not offered.
    """

    lr: float = 3e-3
    betas: tuple[float, float] = (0.95, 0.95)
    shampoo_beta: float | None = None
    weight_decay: float = 1e-2
    precondition_frequency: int = 10
    max_precondition_dim: int = 10000
    precondition_1d: bool = False
    correct_bias: bool = True
    normalize_gradient: bool = False
    eps: float = 1e-8

    state_buffers = ("exp_avg", "exp_avg_sq")
    reference = "pytorch_optimizer.SOAP"
    family = "matrix"
    first_step_moves = False
    quadratic_lr = 0.03

    def __post_init__(self) -> None:
        super().__post_init__()
        validate_common(
            self, betas=(0.0, 1.0, False, True), weight_decay=NON_NEGATIVE, eps=NON_NEGATIVE
        )
        if self.shampoo_beta is not None:
            validate_common(self, shampoo_beta=NON_NEGATIVE)
        for field in ("precondition_frequency", "max_precondition_dim"):
            self._set(field, check_count("soap", field, getattr(self, field), 1))

    def state_floats_per_param(self) -> int:
        """Two (``exp_avg``, ``exp_avg_sq``), plus a (d, d) ``GG`` and ``Q`` per preconditioned
        axis of each run's tensor, which depend on its shape and are not counted here."""
        return 2

    def preconditioned_axes(self, p: np.ndarray) -> list[bool]:
        """For each axis of a run's tensor, whether it gets a preconditioner (as the reference's
        ``init_pre_conditioner``)."""
        sizes = p.shape[1:]
        if len(sizes) == 1 and not self.precondition_1d:
            return [False]
        return [size <= self.max_precondition_dim for size in sizes]

    def init(self, params: list[np.ndarray]) -> SoapState:
        """Zero moments and statistics; the eigenbases come from the first step's statistics."""
        buffers = {
            name: [np.zeros(p.shape, p.dtype) for p in params] for name in self.state_buffers
        }
        state = SoapState(step=0, buffers=buffers, work=[])
        for p in params:
            runs, sizes = p.shape[0], p.shape[1:]
            axes = self.preconditioned_axes(p)
            square = [(runs, d, d) if kept else None for d, kept in zip(sizes, axes, strict=True)]
            state.GG.append([None if s is None else np.zeros(s, p.dtype) for s in square])
            state.Q.append([None if s is None else np.zeros(s, p.dtype) for s in square])
            outer = tuple(None if s is None else np.empty(s, p.dtype) for s in square)
            full = tuple(np.empty(p.shape, p.dtype) for _ in range(3))
            state.work.append((*full, per_run_scalar(p), outer))
        return state

    def coefficients(self, state: State, lr: Any) -> dict[str, Any]:
        """The step's scalars in float64: numbers, or (R,) arrays for per-run values."""
        beta1, beta2 = self.betas
        shampoo_beta = beta2 if self.shampoo_beta is None else self.shampoo_beta
        s = state.step - 1  # the reference's step: its first call only builds the state
        step_size = lr
        if self.correct_bias and s > 0:
            bias_correction1 = np.subtract(1.0, per_run.power(beta1, s))
            bias_correction2 = np.subtract(1.0, per_run.power(beta2, s))
            step_size = np.divide(np.multiply(lr, np.sqrt(bias_correction2)), bias_correction1)
        return {
            "first": s == 0,
            "refresh": s > 0 and s % self.precondition_frequency == 0,
            "shampoo_weight": np.subtract(1.0, shampoo_beta),
            "neg_step_size": np.negative(step_size),
            "exp_avg_weight": np.subtract(1.0, beta1),
            "exp_avg_sq_weight": np.subtract(1.0, beta2),
            "eps": self.eps,
            "decay": np.subtract(1.0, np.multiply(lr, self.weight_decay)),
            "decays": per_run.nonzero(self.weight_decay),  # in every run or none (signature)
        }

    def step(self, params, grads, state: SoapState, lr: Any = None) -> None:
        """Update ``params`` and ``state`` in place. ``lr`` overrides ``self.lr`` for this step."""
        state.step += 1
        coefficients = self.settled_coefficients(state, self._lr(lr))
        moments = state.buffers["exp_avg"], state.buffers["exp_avg_sq"]
        arrays = zip(params, grads, *moments, state.GG, state.Q, state.work, strict=True)
        for p, g, exp_avg, exp_avg_sq, gg, q, (*full, rms, outer) in arrays:
            local = self.coefficients_for(coefficients, p)
            if not local["first"]:
                self._adam_in_eigenbasis(p, g, exp_avg, exp_avg_sq, q, *full, rms, **local)
            _update_preconditioners(g, gg, q, outer, exp_avg_sq, **local)

    def _adam_in_eigenbasis(
        self, p, g, exp_avg, exp_avg_sq, q, rotated, scratch, direction, rms, *,
        neg_step_size, exp_avg_weight, exp_avg_sq_weight, eps, decay, decays, **_,
    ) -> None:  # fmt: skip
        """Adam's step on ``p`` in the eigenbases ``q``; ``_`` takes the statistics' scalars."""
        project(g, q, out=rotated, scratch=scratch)
        np.copyto(scratch, g)
        lerp(exp_avg, scratch, exp_avg_weight)
        rotated *= rotated
        lerp(exp_avg_sq, rotated, exp_avg_sq_weight)
        np.sqrt(exp_avg_sq, out=direction)
        direction += eps
        project(exp_avg, q, out=rotated, scratch=scratch)
        rotated /= direction
        project(rotated, q, out=direction, scratch=scratch, back=True)
        if self.normalize_gradient:
            norm_per_run(direction, out=rms)
            rms *= 1.0 / math.sqrt(max(p[0].size, 1))
            rms += eps
            direction /= rms
        direction *= neg_step_size
        p += direction
        if decays:
            p *= decay


def _update_preconditioners(g, gg, q, outer, exp_avg_sq, *, shampoo_weight, first, refresh, **_):
    """Average the gradient's outer products into each axis's statistic; then, at the first
    step, take its eigenbasis, or every ``precondition_frequency`` steps refresh it."""
    for k, statistic in enumerate(gg):
        if statistic is None:
            continue
        outer_product(g, k, out=outer[k])
        lerp(statistic, outer[k], shampoo_weight)
        if first:
            q[k][...] = eigenbasis(statistic)
        elif refresh:
            power_iteration(statistic, q[k], exp_avg_sq, axis=k + 1)


def along_axis(x: np.ndarray, axis: int) -> tuple[np.ndarray, bool]:
    """``x`` (C-contiguous) viewed as (R, A, d, B) around ``axis``, or as (R, A, d) when ``axis``
    is the last (then the second value is True)."""
    runs, size = x.shape[0], x.shape[axis]
    before = math.prod(x.shape[1:axis])
    if axis == x.ndim - 1:
        return x.reshape(runs, before, size), True
    return x.reshape(runs, before, size, -1), False


def rotate(x: np.ndarray, basis: np.ndarray, axis: int, out: np.ndarray, back: bool) -> None:
    """``out`` = ``x`` with each run's ``axis`` multiplied by its ``basis``: by Q^T (forward,
    the reference's ``tensordot(x, Q, [[k], [0]])``) or by Q (``back``)."""
    source, last = along_axis(x, axis)
    target, _ = along_axis(out, axis)
    if last:  # (R, A, d) @ Q: the contraction with Q's first axis
        np.matmul(source, basis.mT if back else basis, out=target)
    else:  # Q^T @ (R, A, d, B), one basis per run
        np.matmul((basis if back else basis.mT)[:, None], source, out=target)


def project(x, bases, out, scratch, back: bool = False) -> np.ndarray:
    """``out`` = ``x`` rotated along every axis that has a basis; ``x`` is only read (``out``
    and ``scratch`` are distinct from it). An axis without a basis is left as it is."""
    axes = [k for k, basis in enumerate(bases) if basis is not None]
    if not axes:
        np.copyto(out, x)
        return out
    source = np.ascontiguousarray(x)
    for i, k in enumerate(axes):
        target = out if (len(axes) - i) % 2 == 1 else scratch  # the last lands in out
        rotate(source, bases[k], k + 1, target, back)
        source = target
    return out


def outer_product(g: np.ndarray, k: int, out: np.ndarray) -> None:
    """Each run's G_(k) G_(k)^T: the gradient contracted with itself over every axis but ``k``
    (the reference's ``tensordot``)."""
    g = np.ascontiguousarray(g)
    view, last = along_axis(g, k + 1)
    if last:
        np.matmul(view.mT, view, out=out)
    elif view.shape[1] == 1:
        np.matmul(view[:, 0], view[:, 0].mT, out=out)
    else:
        np.einsum("radb,raeb->rde", view, view, out=out)


def eigenbasis(statistic: np.ndarray) -> np.ndarray:
    """Each run's eigenvectors of ``statistic`` + 1e-30 I, by decreasing eigenvalue."""
    shifted = statistic + EIGH_SHIFT * np.eye(statistic.shape[-1], dtype=statistic.dtype)
    _, vectors = np.linalg.eigh(shifted)
    return vectors[..., ::-1]


def power_iteration(statistic, basis, exp_avg_sq, axis: int) -> None:
    """The reference's ``get_orthogonal_matrix_qr`` on one axis, in place: ``basis`` becomes
    QR(L Q) with columns sorted by decreasing estimated eigenvalue, and ``exp_avg_sq`` is
    permuted along ``axis`` to that order, each run with its own order."""
    product = statistic @ basis
    estimated = np.sum(basis * product, axis=-2)  # (R, d): diag(Q^T L Q)
    order = np.argsort(-estimated, axis=-1, kind="stable")
    index = order.reshape(order.shape[:1] + (1,) * (axis - 1) + order.shape[1:])
    index = index.reshape(index.shape + (1,) * (exp_avg_sq.ndim - axis - 1))
    exp_avg_sq[...] = np.take_along_axis(exp_avg_sq, index, axis=axis)
    columns = np.take_along_axis(product, order[:, None, :], axis=-1)
    basis[...] = np.linalg.qr(columns)[0]
