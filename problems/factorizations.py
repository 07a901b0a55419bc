"""Products of weight matrices fitted to a fixed target: matrix factorization and a deep linear net.

Both minimize ``f(W_1, ..., W_L) = ||W_1 W_2 ... W_L - T||_F^2 / 2`` over weight matrices
``W_k`` of shape ``(R, a_k, b_k)`` (the ``x @ W`` convention of the MLPs, so initializers and
regularizers treat them as weights). This is regression with whitened inputs: for inputs x with
``E[x^T x] = I`` the mean squared error ``E||x W_1 ... W_L - x T||^2 / 2`` equals f. The
gradient of f with respect to ``W_k`` is ``A_k^T E B_k^T``, where ``E`` is the residual
``W_1 ... W_L - T``, ``A_k = W_1 ... W_{k-1}`` and ``B_k = W_{k+1} ... W_L`` (identities at the
ends). The optimum is 0; the origin is a saddle point (a ``zeros`` start never moves).

References
----------
.. [1] A. M. Saxe, J. L. McClelland and S. Ganguli, "Exact solutions to the nonlinear dynamics
   of learning in deep linear neural networks", ICLR 2014.
.. [2] S. Arora, N. Cohen and E. Hazan, "On the optimization of deep networks: implicit
   acceleration by overparameterization", ICML 2018.
.. [3] O. Shamir, "Exponential convergence time of gradient descent for one-dimensional deep
   linear neural networks", COLT 2019.
.. [4] S. Gunasekar et al., "Implicit regularization in matrix factorization", NeurIPS 2017.
"""

from __future__ import annotations

import numpy as np

from problems.base import Params, Problem, check_int, check_real, register
from problems.initializers import initialize
from problems.spectra import with_singular_values


def _transpose(matrices: np.ndarray) -> np.ndarray:
    return np.swapaxes(matrices, -1, -2)


class ProductFit(Problem):
    """Fit the product of weight matrices of ``shapes`` to ``target``; see the module docstring.

    Subclasses set ``shapes`` (one ``(a, b)`` per factor, chaining), ``target`` and
    ``default_initializer``.
    """

    optimum = 0.0
    targets = (1e-1, 1e-3, 1e-6)
    target_metric = "train_loss"
    default_initializer = "xavier_normal"
    shapes: tuple[tuple[int, int], ...]
    target: np.ndarray

    def _set_target(self, rows: int, cols: int, rank: int, condition_number: float, seed: int):
        """T of shape ``(rows, cols)`` and rank ``rank``, singular values log-spaced from 1
        down to ``1 / condition_number``, with Haar-random singular vectors from ``seed``."""
        self.singular_values = np.geomspace(1.0, 1.0 / condition_number, rank)
        rng = np.random.default_rng(seed)
        self.target = with_singular_values(rng, rows, cols, self.singular_values)

    def init_params(
        self, rng: np.random.Generator, runs: int, initializer: str | None = None
    ) -> Params:
        """One weight matrix ``(runs, a, b)`` per factor, each drawn with ``initializer``
        (``default_initializer`` when None), in order."""
        runs = check_int(self.name, "runs", runs, 1)
        name = self.default_initializer if initializer is None else initializer
        return [initialize(name, rng, (runs, a, b)) for a, b in self.shapes]

    def sample_batch(
        self, rng: np.random.Generator, runs: int, batch_size: int | None = None
    ) -> None:
        """Always None: the loss is deterministic (whitened inputs, no sampling)."""
        return None

    def _residual(self, params: Params) -> tuple[list[np.ndarray], np.ndarray]:
        """The prefix products ``[W_1, W_1 W_2, ...]`` and the residual ``W_1 ... W_L - T``."""
        prefixes = [params[0]]
        for weights in params[1:]:
            prefixes.append(np.matmul(prefixes[-1], weights))
        return prefixes, prefixes[-1] - self.target

    def loss_and_grad(self, params: Params, batch: None = None) -> tuple[np.ndarray, Params]:
        """The loss ``(R,)`` and one gradient per factor, ``A_k^T E B_k^T``."""
        with np.errstate(over="ignore", invalid="ignore"):
            prefixes, residual = self._residual(params)
            loss = 0.5 * np.sum(residual * residual, axis=(-2, -1))
            grads: Params = [np.empty(0)] * len(params)
            back = residual  # E B_k^T, built from the last factor down
            for k in range(len(params) - 1, 0, -1):
                grads[k] = np.matmul(_transpose(prefixes[k - 1]), back)
                back = np.matmul(back, _transpose(params[k]))
            grads[0] = back
            return loss, grads

    def evaluate(self, params: Params) -> dict[str, np.ndarray]:
        """``{"train_loss": f}``, shape ``(R,)``."""
        with np.errstate(over="ignore", invalid="ignore"):
            residual = self._residual(params)[1]
            return {"train_loss": 0.5 * np.sum(residual * residual, axis=(-2, -1))}


@register("matrix_factorization")
class MatrixFactorization(ProductFit):
    """Low-rank matrix factorization: ``||U V - T||_F^2 / 2`` with U ``(rows, rank)``, V
    ``(rank, cols)``.

    T has rank ``rank``; its singular values are log-spaced from 1 down to
    ``1 / condition_number``, so the smallest direction is learned last (the ladder's hardest
    target needs it), and its singular vectors are Haar-random from ``data_seed``. The
    factorization is exact (U V can equal T); it is non-convex, with a saddle at the origin and
    a rotation symmetry ``(U G, G^-1 V)``. U and V start from the initializer,
    ``xavier_normal`` by default (``normal``, std 0.01, is the small start of [4]_).

    Parameters
    ----------
    rows, cols : int, default 20, 30
    rank : int, default 4
        At most ``min(rows, cols)``.
    condition_number : float, default 10
        Ratio of T's largest to smallest nonzero singular value, at least 1.
    data_seed : int, default 0
    """

    description = "Rank-4 factorization ||UV - T||^2/2 of a 20x30 target, condition number 10."

    def __init__(
        self,
        *,
        rows: int = 20,
        cols: int = 30,
        rank: int = 4,
        condition_number: float = 10.0,
        data_seed: int = 0,
    ) -> None:
        self.rows = check_int(self.name, "rows", rows, 1)
        self.cols = check_int(self.name, "cols", cols, 1)
        self.rank = check_int(self.name, "rank", rank, 1, min(self.rows, self.cols))
        self.condition_number = check_real(self.name, "condition_number", condition_number, 1.0)
        self.data_seed = check_int(self.name, "data_seed", data_seed, 0)
        self.shapes = ((self.rows, self.rank), (self.rank, self.cols))
        self._set_target(self.rows, self.cols, self.rank, self.condition_number, self.data_seed)


@register("deep_linear")
class DeepLinear(ProductFit):
    """A deep linear network ``x W_1 ... W_depth`` regressing onto ``x T``, whitened inputs.

    Every layer is ``dim x dim``; T is full rank with singular values log-spaced from 1 down to
    ``1 / condition_number`` and Haar-random singular vectors from ``data_seed``. The loss
    landscape is non-convex despite the linear model: the origin is a saddle of order ``depth``,
    learning follows plateaus, one per singular value of T [1]_, and gradient descent slows
    (exponentially in depth, from some starts [3]_) as the layers' scales drift apart, while
    depth acts as a preconditioner for adaptive steps [2]_. The layers start from the
    initializer, ``xavier_normal`` by default (each layer then roughly preserves norms).

    Parameters
    ----------
    dim : int, default 16
        Width of the input, every hidden layer and the output.
    depth : int, default 4
        Number of weight matrices, at least 2.
    condition_number : float, default 10
        At least 1.
    data_seed : int, default 0
    """

    description = "Deep linear net, 4 layers 16x16, fit to a target of condition number 10."

    def __init__(
        self,
        *,
        dim: int = 16,
        depth: int = 4,
        condition_number: float = 10.0,
        data_seed: int = 0,
    ) -> None:
        self.dim = check_int(self.name, "dim", dim, 1)
        self.depth = check_int(self.name, "depth", depth, 2)
        self.condition_number = check_real(self.name, "condition_number", condition_number, 1.0)
        self.data_seed = check_int(self.name, "data_seed", data_seed, 0)
        self.shapes = ((self.dim, self.dim),) * self.depth
        self._set_target(self.dim, self.dim, self.dim, self.condition_number, self.data_seed)
