"""Quadratics over a matrix parameter: optax's matrix parabola and DeepOBS's noisy quadratic.

Their single parameter is a matrix ``(R, rows, cols)``, so that optimizers which act on whole
matrices (Muon's orthogonalization, SOAP's and Shampoo's Kronecker factors, Adafactor's factored
second moments) see a matrix rather than a vector; the loss itself depends on the flattened
matrix ``vec(X)`` (row-major). Neither uses an initializer: both start from a fixed point.

References
----------
.. [1] optax (google-deepmind/optax), ``optax/contrib/_common_test.py``: the matrix parabola
   ``_setup_matrix_parabola`` on which its contrib optimizers (Muon among them) are tested.
.. [2] F. Schneider, L. Balles and P. Hennig, "DeepOBS: A Deep Learning Optimizer Benchmark
   Suite", ICLR 2019: the test problem ``quadratic_deep``.
.. [3] P. Chaudhari et al., "Entropy-SGD: Biasing gradient descent into wide valleys", ICLR 2017:
   the Hessian spectrum of trained networks (a bulk near zero and a few large outliers) that
   ``quadratic_deep`` imitates.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from problems.base import (
    Params,
    Problem,
    TargetLadder,
    check_int,
    check_real,
    minibatch_indices,
    register,
)
from problems.functions import FunctionProblem
from problems.spectra import symmetric_with_eigenvalues
from problems.streams import StepDraws

# optax's matrix parabola: start at zeros (2, 2), optimum at this matrix.
OPTAX_TARGET = np.array([[3.0, -2.0], [1.0, 4.0]])


def _matvec(x: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """``x @ matrix`` for ``x`` of shape ``(..., d)``, one product per row.

    One ``(1, d) @ (d, d)`` product per row rather than one ``(R, d) @ (d, d)``: BLAS sums in a
    different order for different R, and a run must not depend on its neighbours.
    """
    return np.matmul(x[..., None, :], matrix)[..., 0, :]


@register("matrix_quadratic")
class MatrixQuadratic(FunctionProblem):
    """optax's matrix parabola ``f(X) = sum((X - T)**2)`` over a ``rows x cols`` matrix X.

    With the defaults this is optax's test problem exactly [1]_: X starts at zeros ``(2, 2)``
    and the optimum 0 is at ``T = [[3, -2], [1, 4]]``, where f(start) = 30. For any other shape
    the entries of T are integers drawn uniformly from -4..4 with ``data_seed`` (unused at 2 x 2).
    The Hessian is 2 I: easy for every optimizer, but the gradient ``2 (X - T)`` is a full matrix,
    so orthogonalizing or factored rules take different steps from elementwise ones.

    Parameters
    ----------
    rows, cols : int, default 2
    start_noise : float, default 0
        Standard deviation of seed-dependent Gaussian noise added to the zero start.
    noise : float, default 0
        Standard deviation of the Gaussian gradient noise of the stochastic variant.
    data_seed : int, default 0
        Seed of T for shapes other than 2 x 2.
    """

    description = "optax's matrix parabola sum((X - T)^2), X 2x2 from zeros; optimum 0 at T."
    domain = (-5.0, 5.0)

    def __init__(
        self,
        *,
        rows: int = 2,
        cols: int = 2,
        start_noise: float = 0.0,
        noise: float = 0.0,
        data_seed: int = 0,
    ) -> None:
        self.rows = check_int(self.name, "rows", rows, 1)
        self.cols = check_int(self.name, "cols", cols, 1)
        self.dim = self.rows * self.cols
        self._check_noise(noise, start_noise)
        self.data_seed = check_int(self.name, "data_seed", data_seed, 0)
        if (self.rows, self.cols) == OPTAX_TARGET.shape:
            target = OPTAX_TARGET.copy()
        else:
            rng = np.random.default_rng(self.data_seed)
            target = rng.integers(-4, 5, (self.rows, self.cols)).astype(np.float64)
        target.flags.writeable = False
        self.target = target
        self.minimizer = target.reshape(-1)
        self.start = np.zeros(self.dim)

    def _value_and_grad(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        residual = x - self.minimizer
        return np.sum(residual * residual, axis=-1), 2.0 * residual

    def init_params(
        self, rng: np.random.Generator, runs: int, initializer: str | None = None
    ) -> Params:
        """``[zeros + start_noise * N(0, I)]`` of shape ``(runs, rows, cols)``."""
        (x,) = super().init_params(rng, runs, initializer)
        return [x.reshape(-1, self.rows, self.cols)]

    def sample_batch(
        self, rng: np.random.Generator, runs: int, batch_size: int | None = None
    ) -> np.ndarray | None:
        """Gradient noise ``(runs, rows, cols)``, or None when ``noise == 0``."""
        noise = super().sample_batch(rng, runs, batch_size)
        return None if noise is None else noise.reshape(runs, self.rows, self.cols)

    def loss_and_grad(
        self, params: Params, batch: np.ndarray | None = None
    ) -> tuple[np.ndarray, Params]:
        """The exact loss ``(R,)`` and its gradient ``(R, rows, cols)``, plus ``noise * batch``."""
        (x,) = params
        runs = x.shape[0]
        noise = None if batch is None else batch.reshape(runs, -1)
        loss, (grad,) = super().loss_and_grad([x.reshape(runs, -1)], noise)
        return loss, [grad.reshape(x.shape)]

    def evaluate(self, params: Params) -> dict[str, np.ndarray]:
        """``{"train_loss": f(X)}``, shape ``(R,)``."""
        return {"train_loss": self.value(params[0].reshape(params[0].shape[0], -1))}


@register("noisy_quadratic")
class NoisyQuadratic(Problem):
    """DeepOBS's noisy quadratic ``quadratic_deep`` [2]_, its parameter shaped as a matrix.

    The loss of a sample x is ``(theta - x)^T Q (theta - x) / 2`` and a batch's loss is the mean
    over its samples. ``theta`` has ``rows * cols`` entries (100 by default, as in DeepOBS) and is
    held as a ``rows x cols`` matrix; Q acts on its row-major flattening. As in DeepOBS: 90% of
    Q's eigenvalues are uniform in (0, 1) and 10% uniform in (30, 60) (the spectrum of trained
    networks [3]_), rotated by a Haar-random rotation; the training and test sets are
    ``train_size`` samples each from N(0, noise_level^2 I); theta starts at ones. Unlike DeepOBS,
    the eigenvalues, rotation and data are drawn with NumPy's ``Generator`` from ``data_seed``,
    so they are DeepOBS's distributions, not its exact draws; and the numbers are float64.

    The training loss is minimal (``optimum``) at the mean of the training samples. The targets
    close the gap between the start and the optimum by 10x, 100x and 1000x.

    Parameters
    ----------
    rows, cols : int, default 10
    train_size : int, default 1000
        Samples in each of the training and test sets.
    noise_level : float, default 0.6
        Standard deviation of the samples.
    data_seed : int, default 0
    """

    description = "DeepOBS's noisy quadratic (quadratic_deep), 100 parameters held as 10x10."
    uses_initializer = False
    has_data = True
    metrics = ("train_loss", "test_loss")
    target_metric = "train_loss"
    gaps = (1e-1, 1e-2, 1e-3)

    def __init__(
        self,
        *,
        rows: int = 10,
        cols: int = 10,
        train_size: int = 1000,
        noise_level: float = 0.6,
        data_seed: int = 0,
    ) -> None:
        self.rows = check_int(self.name, "rows", rows, 1)
        self.cols = check_int(self.name, "cols", cols, 1)
        self.train_size = check_int(self.name, "train_size", train_size, 1)
        self.noise_level = check_real(self.name, "noise_level", noise_level, 0.0)
        self.data_seed = check_int(self.name, "data_seed", data_seed, 0)
        dim = self.rows * self.cols
        rng = np.random.default_rng(self.data_seed)
        outliers = dim // 10
        self.eigenvalues = np.concatenate(
            (rng.uniform(0.0, 1.0, dim - outliers), rng.uniform(30.0, 60.0, outliers))
        )
        self.hessian = symmetric_with_eigenvalues(rng, self.eigenvalues)
        self._train = self._split(rng.normal(0.0, self.noise_level, (self.train_size, dim)))
        self._test = self._split(rng.normal(0.0, self.noise_level, (self.train_size, dim)))
        self.start = np.ones(dim)
        mean, hessian_mean, mean_curvature = (array.mean(axis=0) for array in self._train)
        self.optimum = float(0.5 * (mean_curvature - mean @ hessian_mean))
        start_loss = float(self._loss_and_grad(self.start[None], self._means(self._train))[0][0])
        self.targets = tuple(self.optimum + gap * (start_loss - self.optimum) for gap in self.gaps)

    def _split(self, samples: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The samples x, their products ``Q x`` and curvatures ``x^T Q x``, all read-only."""
        products = _matvec(samples, self.hessian)
        arrays = (samples, products, np.sum(samples * products, axis=-1))
        for array in arrays:
            array.flags.writeable = False
        return arrays

    @staticmethod
    def _means(split: tuple[np.ndarray, ...], batch: np.ndarray | None = None) -> tuple:
        """Means over the whole split ``(d,), (d,), ()`` or over each run's batch ``(R, ...)``."""
        if batch is None:
            return tuple(array.mean(axis=0) for array in split)
        return tuple(array[batch].mean(axis=1) for array in split)

    def _loss_and_grad(self, theta: np.ndarray, means: tuple) -> tuple[np.ndarray, np.ndarray]:
        """``mean_i (theta - x_i)^T Q (theta - x_i) / 2``, expanded so each sample enters only
        through the batch means of x, Q x and x^T Q x: ``theta^T Q theta / 2 - theta^T mean(Q x)
        + mean(x^T Q x) / 2``, with gradient ``Q theta - mean(Q x)``."""
        _, hessian_mean, curvature_mean = means
        with np.errstate(over="ignore", invalid="ignore"):
            curvature = _matvec(theta, self.hessian)
            loss = np.sum(theta * (0.5 * curvature - hessian_mean), axis=-1) + 0.5 * curvature_mean
            return loss, curvature - hessian_mean

    @classmethod
    def target_ladder(cls, **hyperparameters: Any) -> TargetLadder:
        """The ladder depends on the drawn data, so the problem is built (milliseconds)."""
        return TargetLadder(cls(**hyperparameters).targets, cls.target_metric)

    def init_params(
        self, rng: np.random.Generator, runs: int, initializer: str | None = None
    ) -> Params:
        """``[ones]`` of shape ``(runs, rows, cols)``, as DeepOBS; ``initializer`` must be None."""
        if initializer is not None:
            raise ValueError(f"{self.name}: the start is fixed, so initializer must be None")
        runs = check_int(self.name, "runs", runs, 1)
        return [np.ones((runs, self.rows, self.cols))]

    def draw_batch(self, draws: StepDraws, batch_size: int | None) -> np.ndarray | None:
        """Indices ``(R, batch_size)``, distinct within each run; None for the full set."""
        return minibatch_indices(self, draws, batch_size)

    def loss_and_grad(
        self, params: Params, batch: np.ndarray | None = None
    ) -> tuple[np.ndarray, Params]:
        """Mean loss over the batch ``(R,)`` and its gradient ``(R, rows, cols)``."""
        (theta,) = params
        flat = theta.reshape(theta.shape[0], -1)
        loss, grad = self._loss_and_grad(flat, self._means(self._train, batch))
        return loss, [grad.reshape(theta.shape)]

    def evaluate(self, params: Params) -> dict[str, np.ndarray]:
        """``train_loss`` and ``test_loss`` over the whole training and test sets, ``(R,)``."""
        flat = params[0].reshape(params[0].shape[0], -1)
        return {
            f"{name}_loss": self._loss_and_grad(flat, self._means(split))[0]
            for name, split in (("train", self._train), ("test", self._test))
        }
