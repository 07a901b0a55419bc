"""Analytic test functions: Rosenbrock, an ill-conditioned quadratic, Rastrigin and Beale.

They have no weights and no data: the parameters are one array of coordinates ``(R, dim)``, the
initializer axis does not apply (``uses_initializer = False``) and ``train_size`` is ``None``.
With ``noise > 0`` they become stochastic-gradient problems: :meth:`FunctionProblem.draw_batch`
draws standard Gaussian noise ``(R, dim)`` and :meth:`FunctionProblem.loss_and_grad` adds
``noise`` times it to the exact gradient (the loss stays exact). ``batch=None`` means no noise.

Non-finite values from diverged runs (huge coordinates) are returned silently, without a
``RuntimeWarning``: divergence is a result, and the runner flags it.

References
----------
.. [1] H. H. Rosenbrock, "An automatic method for finding the greatest or least value of a
   function", The Computer Journal 3(3), 1960.
.. [2] E. M. L. Beale, "On an iterative method for finding a local minimum of a function of more
   than one variable", Tech. Rep. 25, Statistical Techniques Research Group, Princeton, 1958.
.. [3] J. J. Moré, B. S. Garbow and K. E. Hillstrom, "Testing unconstrained optimization
   software", ACM TOMS 7(1), 1981.
.. [4] L. A. Rastrigin, "Systems of extremal control", Nauka, Moscow, 1974; H. Mühlenbein,
   M. Schomisch and J. Born, "The parallel genetic algorithm as function optimizer", Parallel
   Computing 17, 1991 (the n-dimensional form).
.. [5] Y.-W. Shang and Y.-H. Qiu, "A note on the extended Rosenbrock function", Evolutionary
   Computation 14(1), 2006.
"""

from __future__ import annotations

import numpy as np

from problems.base import Params, Problem, check_int, check_real, register
from problems.spectra import symmetric_with_eigenvalues
from problems.streams import StepDraws


class FunctionProblem(Problem):
    """A differentiable function of ``dim`` coordinates, minimized from a standard start.

    Subclasses implement ``_value_and_grad(x)`` for ``x`` of shape ``(..., dim)`` and set
    ``dim``, ``start`` (or ``None``), ``minimizer`` and ``domain`` (a box per coordinate, for
    plots and random starts).
    """

    uses_initializer = False
    optimum = 0.0
    targets = (1e-1, 1e-3, 1e-6)
    target_metric = "train_loss"

    dim: int
    start: np.ndarray | None
    minimizer: np.ndarray
    domain: tuple[float, float]
    noise: float = 0.0
    start_noise: float = 0.0

    def _check_noise(self, noise: float, start_noise: float | None) -> None:
        self.noise = check_real(self.name, "noise", noise, 0.0)
        if start_noise is not None:
            self.start_noise = check_real(self.name, "start_noise", start_noise, 0.0)

    def value_and_grad(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The function and its gradient at ``points``.

        Parameters
        ----------
        points : array_like, shape (..., dim)

        Returns
        -------
        value : numpy.ndarray, shape (...)
        grad : numpy.ndarray, shape (..., dim)
        """
        x = np.asarray(points, dtype=np.float64)
        if x.ndim == 0 or x.shape[-1] != self.dim:
            raise ValueError(
                f"{self.name}: points must have shape (..., {self.dim}), got {x.shape}"
            )
        with np.errstate(over="ignore", invalid="ignore"):
            return self._value_and_grad(x)

    def value(self, points: np.ndarray) -> np.ndarray:
        """The function at ``points`` of shape ``(..., dim)``, e.g. a grid for a contour plot."""
        return self.value_and_grad(points)[0]

    def _value_and_grad(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def init_params(
        self, rng: np.random.Generator, runs: int, initializer: str | None = None
    ) -> Params:
        """``[start + start_noise * N(0, I)]``, shape ``(runs, dim)``; initializer must be None."""
        runs = self._check_init(runs, initializer)
        x = np.tile(self.start, (runs, 1))
        if self.start_noise > 0:
            x += self.start_noise * rng.standard_normal((runs, self.dim))
        return [x]

    def _check_init(self, runs: int, initializer: str | None) -> int:
        if initializer is not None:
            raise ValueError(
                f"{self.name}: a test function has no weights, so initializer must be None, "
                f"got {initializer!r}"
            )
        return check_int(self.name, "runs", runs, 1)

    def draw_batch(self, draws: StepDraws, batch_size: int | None = None) -> np.ndarray | None:
        """Gradient noise ``(R, dim)``, standard normal, or None when ``noise == 0``.

        ``batch_size`` is unused.
        """
        if self.noise == 0:
            return None
        return draws.normal(self.dim)

    def loss_and_grad(
        self, params: Params, batch: np.ndarray | None = None
    ) -> tuple[np.ndarray, Params]:
        """The exact loss ``(R,)`` and its gradient, plus ``noise * batch`` if a batch is given."""
        (x,) = params
        loss, grad = self.value_and_grad(x)
        if batch is not None:
            grad += self.noise * batch
        return loss, [grad]

    def evaluate(self, params: Params) -> dict[str, np.ndarray]:
        """``{"train_loss": f(x)}``, shape ``(R,)``."""
        return {"train_loss": self.value(params[0])}


@register("rosenbrock")
class Rosenbrock(FunctionProblem):
    """The chained (extended) Rosenbrock function of any ``dim >= 2``, with a = 1 and b = 100.

    ``f(x) = sum_{i<dim-1} b (x[i+1] - x[i]**2)**2 + (a - x[i])**2``, the form of
    ``scipy.optimize.rosen``, defined for even and odd ``dim``. Optimum 0 at all ones (for
    4 <= dim <= 7 there is also a local minimum near x[0] = -1 [5]_). Standard start
    ``(-1.2, 1, -1.2, 1, ...)`` [3]_, where f = 24.2 for dim = 2.

    Parameters
    ----------
    dim : int, default 2
    start_noise : float, default 0
        Standard deviation of seed-dependent Gaussian noise added to the start.
    noise : float, default 0
        Standard deviation of the gradient noise of the stochastic variant.
    """

    description = "Chained Rosenbrock valley (a=1, b=100), start (-1.2, 1, ...); optimum 0 at ones."
    a = 1.0
    b = 100.0
    domain = (-2.048, 2.048)

    def __init__(self, *, dim: int = 2, start_noise: float = 0.0, noise: float = 0.0) -> None:
        self.dim = check_int(self.name, "dim", dim, 2)
        self._check_noise(noise, start_noise)
        self.start = np.where(np.arange(self.dim) % 2 == 0, -1.2, 1.0)
        self.minimizer = np.ones(self.dim)

    def _value_and_grad(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        head, tail = x[..., :-1], x[..., 1:]
        valley = tail - head**2
        slope = self.a - head
        value = np.sum(self.b * valley**2 + slope**2, axis=-1)
        grad = np.zeros_like(x)
        grad[..., :-1] = -4.0 * self.b * head * valley - 2.0 * slope
        grad[..., 1:] += 2.0 * self.b * valley
        return value, grad


@register("quadratic")
class Quadratic(FunctionProblem):
    """An ill-conditioned convex quadratic ``f(x) = x^T A x / 2``.

    ``A = Q diag(lambda) Q^T`` with eigenvalues log-spaced from 1 to ``condition_number`` and a
    Haar-random rotation ``Q`` drawn from ``data_seed`` (fixed, so every run of a grid sees the
    same ``A``). Optimum 0 at the origin. Start: the unit vector ``ones / sqrt(dim)``.

    Parameters
    ----------
    dim : int, default 10
    condition_number : float, default 100
        At least 1.
    start_noise, noise : float, default 0
        As for :class:`Rosenbrock`.
    data_seed : int, default 0
        Seed of the rotation.
    """

    description = "Convex quadratic x'Ax/2, eigenvalues log-spaced 1..condition_number, rotated."
    domain = (-1.0, 1.0)

    def __init__(
        self,
        *,
        dim: int = 10,
        condition_number: float = 100.0,
        start_noise: float = 0.0,
        noise: float = 0.0,
        data_seed: int = 0,
    ) -> None:
        self.dim = check_int(self.name, "dim", dim, 2)
        self.condition_number = check_real(self.name, "condition_number", condition_number, 1.0)
        self._check_noise(noise, start_noise)
        self.data_seed = check_int(self.name, "data_seed", data_seed, 0)
        rng = np.random.default_rng(self.data_seed)
        self.eigenvalues = np.geomspace(1.0, self.condition_number, self.dim)
        self.matrix = symmetric_with_eigenvalues(rng, self.eigenvalues)
        self.start = np.full(self.dim, 1.0 / np.sqrt(self.dim))
        self.minimizer = np.zeros(self.dim)

    def _value_and_grad(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # One (1, dim) @ (dim, dim) product per run rather than one (R, dim) @ (dim, dim): BLAS
        # sums in a different order for different R, and a run must not depend on its neighbours.
        grad = np.matmul(x[..., None, :], self.matrix)[..., 0, :]
        return 0.5 * np.sum(x * grad, axis=-1), grad


@register("rastrigin")
class Rastrigin(FunctionProblem):
    """The Rastrigin function ``f(x) = A dim + sum(x**2 - A cos(2 pi x))`` with A = 10.

    A regular lattice of local minima near the integer points, with values close to
    ``sum(round(x)**2)``; the global optimum is 0 at the origin. There is no standard start:
    each run starts uniformly in the usual box ``[-5.12, 5.12]^dim`` (drawn from the rng), so the
    seeds measure how often an optimizer escapes to a good basin. The target ladder
    (2.5, 0.5, 1e-6) means: a basin with ``sum(round(x)**2) <= 2``, the global basin, converged.

    Parameters
    ----------
    dim : int, default 2
    noise : float, default 0
        As for :class:`Rosenbrock`.
    """

    description = "Rastrigin (A=10): a lattice of local minima; uniform starts in [-5.12, 5.12]."
    amplitude = 10.0
    domain = (-5.12, 5.12)
    targets = (2.5, 0.5, 1e-6)

    def __init__(self, *, dim: int = 2, noise: float = 0.0) -> None:
        self.dim = check_int(self.name, "dim", dim, 1)
        self._check_noise(noise, None)
        self.start = None
        self.minimizer = np.zeros(self.dim)

    def init_params(
        self, rng: np.random.Generator, runs: int, initializer: str | None = None
    ) -> Params:
        """Uniform starts in ``domain`` of shape ``(runs, dim)``; ``initializer`` must be None."""
        runs = self._check_init(runs, initializer)
        return [rng.uniform(*self.domain, size=(runs, self.dim))]

    def _value_and_grad(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        angle = 2.0 * np.pi * x
        value = self.amplitude * self.dim + np.sum(x**2 - self.amplitude * np.cos(angle), axis=-1)
        grad = 2.0 * x + 2.0 * np.pi * self.amplitude * np.sin(angle)
        return value, grad


@register("beale")
class Beale(FunctionProblem):
    """Beale's function of two variables: a narrow curved valley floor.

    ``f(x, y) = (1.5 - x + xy)**2 + (2.25 - x + xy**2)**2 + (2.625 - x + xy**3)**2`` [2]_.
    Optimum 0 at (3, 0.5). Start (1, 1), the standard start of Moré, Garbow and Hillstrom [3]_,
    where f = 14.203125.

    Parameters
    ----------
    start_noise, noise : float, default 0
        As for :class:`Rosenbrock`.
    """

    description = (
        "Beale's 2-D function, a narrow curved valley; start (1, 1), optimum 0 at (3, 1/2)."
    )
    domain = (-4.5, 4.5)

    def __init__(self, *, start_noise: float = 0.0, noise: float = 0.0) -> None:
        self.dim = 2
        self._check_noise(noise, start_noise)
        self.start = np.array([1.0, 1.0])
        self.minimizer = np.array([3.0, 0.5])

    def _value_and_grad(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        u, v = x[..., 0], x[..., 1]  # (x, y) of the formula
        v2 = v * v
        v3 = v2 * v
        t1 = 1.5 - u + u * v
        t2 = 2.25 - u + u * v2
        t3 = 2.625 - u + u * v3
        value = t1 * t1 + t2 * t2 + t3 * t3
        d_u = 2.0 * (t1 * (v - 1.0) + t2 * (v2 - 1.0) + t3 * (v3 - 1.0))
        d_v = 2.0 * u * (t1 + 2.0 * t2 * v + 3.0 * t3 * v2)
        return value, np.stack([d_u, d_v], axis=-1)
