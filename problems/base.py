"""The problem contract and its registry.

A problem owns its data and its loss. Every parameter array carries the leading runs axis
``(R, ...)``; losses and metrics are ``(R,)`` and runs never mix. Problems are built by name,
``create("rosenbrock", dim=10)``, with keyword hyperparameters that are validated once, in the
constructor.
"""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Iterable
from typing import Any, ClassVar

import numpy as np

from problems._validate import check_number, closest
from problems.registry import Description, Registry, _parameters
from problems.streams import RunStreams, StepDraws

Params = list[np.ndarray]

# The metrics :meth:`Problem.evaluate` may report, as the harness logs them.
METRICS = ("train_loss", "test_loss", "train_accuracy", "test_accuracy")


class _ProblemRegistry(Registry):
    """The registry of problems; it accepts only ``Problem`` subclasses and names them."""

    def _table(self) -> dict[str, Any]:
        # The module global, looked up at each call: tests swap it for a copy so that the
        # problems one test registers do not leak into the next (tests/conftest.py).
        return _REGISTRY

    def register(self, name: str, obj: Any = None) -> Any:
        """Class decorator (or, with ``obj``, a call) registering a ``Problem`` subclass."""
        if obj is None:
            return lambda cls: self.register(name, cls)
        if not (isinstance(obj, type) and issubclass(obj, Problem)):
            raise TypeError(f"register({name!r}) expects a problems.Problem subclass")
        obj.name = name
        return super().register(name, obj)


_REGISTRY: dict[str, type[Problem]] = {}
PROBLEMS = _ProblemRegistry("problem")


@dataclasses.dataclass(frozen=True)
class TargetLadder:
    """The targets of steps-to-target, easiest first, and the metric they apply to."""

    targets: tuple[float, ...]
    metric: str

    @property
    def higher_is_better(self) -> bool:
        """True when ``metric`` is an accuracy (reached from below), False for a loss."""
        return self.metric.endswith("accuracy")


class Problem:
    """Base class of every problem.

    Class attributes
    ----------------
    name : str
        The registry name, set by :func:`register`.
    description : str
        One line for tables and reports.
    uses_initializer : bool
        False for problems without weights (test functions): for them the initializer axis of a
        grid does not apply and ``init_params`` only accepts ``initializer=None``.
    has_data : bool
        True for problems trained on samples (``train_size`` is then an int and a batch selects
        samples); False for analytic functions, whose batch is gradient noise.
    metrics : tuple of str
        The keys of :meth:`evaluate`'s dict, a subset of :data:`METRICS` with ``train_loss``.
    targets : tuple of float
        The ladder for steps-to-target with the default hyperparameters, ordered from easiest to
        hardest; :meth:`target_ladder` gives it for any hyperparameters without building.
    target_metric : str
        A key of :meth:`evaluate`'s dict. A ``*_loss`` target is reached when the metric is
        ``<=`` the target, an ``*_accuracy`` target when it is ``>=``; :meth:`reached` applies it.

    Instance attributes
    -------------------
    optimum : float or None
        The known optimal value of ``target_metric`` (``None`` where none is known).
    targets : tuple of float
        This instance's ladder (equal to ``target_ladder(**config()).targets``).
    train_size : int or None
        The number of training samples (``None`` for test functions, which have no data).
    dtype : numpy.dtype
        The dtype of parameters, gradients and losses.
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    uses_initializer: ClassVar[bool] = True
    has_data: ClassVar[bool] = False
    metrics: ClassVar[tuple[str, ...]] = ("train_loss",)

    optimum: float | None = None
    targets: tuple[float, ...] = ()
    target_metric: str = "train_loss"
    train_size: int | None = None
    dtype: np.dtype = np.dtype(np.float64)

    def init_params(
        self, rng: np.random.Generator, runs: int, initializer: str | None = None
    ) -> Params:
        """Draw ``runs`` independent starting points: a list of arrays shaped ``(runs, ...)``."""
        raise NotImplementedError

    def loss_and_grad(self, params: Params, batch: Any = None) -> tuple[np.ndarray, Params]:
        """Loss ``(R,)`` and gradients shaped like ``params``; ``batch=None`` is the full data."""
        raise NotImplementedError

    def draw_batch(self, draws: StepDraws, batch_size: int | None) -> Any:
        """Every run's batch for one step, drawn from ``draws``: what the engine calls.

        Parameters
        ----------
        draws : problems.streams.StepDraws
            The step's random draws for all R runs. ``draws.indices(size, count)``,
            ``draws.normal(shape)`` and ``draws.uniform(shape)`` return ``(R, ...)`` arrays. Row
            r depends only on run r's key and the step, never on the other runs.
        batch_size : int or None
            Samples per batch for problems with data; None is the full batch.

        Returns
        -------
        object or None
            An opaque batch for :meth:`loss_and_grad` (its leading axis the runs), or None when
            the problem is deterministic at this batch size (no batch to draw).

        Notes
        -----
        A problem that defines only the older ``sample_batch(rng, runs, batch_size)`` still
        works. This default calls it once per run, with ``runs=1`` and the run's own generator
        from ``draws.generators()``, and stacks the results. That is a loop over the runs, so
        built-in problems define this method instead.
        """
        if type(self).sample_batch is Problem.sample_batch:
            raise NotImplementedError(f"{self.name}: define draw_batch (or sample_batch)")
        parts = [self.sample_batch(rng, 1, batch_size) for rng in draws.generators()]
        return None if parts[0] is None else np.concatenate(parts)

    def sample_batch(self, rng: np.random.Generator, runs: int, batch_size: int | None) -> Any:
        """A batch for ``runs`` runs from one generator: :meth:`draw_batch` at step 0 of streams
        whose keys come from ``rng``. For one-off use outside the engine."""
        if type(self).draw_batch is Problem.draw_batch:
            raise NotImplementedError(f"{self.name}: define draw_batch (or sample_batch)")
        return self.draw_batch(RunStreams.from_generator(rng, runs).at(0), batch_size)

    def evaluate(self, params: Params) -> dict[str, np.ndarray]:
        """Metrics as ``(R,)`` arrays, keyed by the names in ``metrics``."""
        raise NotImplementedError

    @classmethod
    def target_ladder(cls, **hyperparameters: Any) -> TargetLadder:
        """The ladder of the problem built with ``hyperparameters``, without building it.

        Cheap: no data is loaded. The default returns the class attributes; a problem whose
        ladder depends on its hyperparameters (MNIST's ``source``) overrides it.
        """
        return TargetLadder(tuple(cls.targets), cls.target_metric)

    @classmethod
    def describe_extra(cls) -> dict[str, Any]:
        """Class-level facts for ``problems.describe(name).extra`` (default hyperparameters)."""
        ladder = cls.target_ladder()
        return {
            "description": cls.description,
            "targets": ladder.targets,
            "target_metric": ladder.metric,
            "higher_is_better": ladder.higher_is_better,
            "metrics": tuple(cls.metrics),
            "has_weights": cls.uses_initializer,
            "has_data": cls.has_data,
        }

    @property
    def higher_is_better(self) -> bool:
        """True when ``target_metric`` is an accuracy (reached from below), False for a loss."""
        return self.target_metric.endswith("accuracy")

    def reached(self, metrics: dict[str, np.ndarray]) -> np.ndarray:
        """Which targets each run has reached.

        Parameters
        ----------
        metrics : dict of str to numpy.ndarray
            As returned by :meth:`evaluate`; only ``metrics[self.target_metric]`` (shape ``(R,)``)
            is read.

        Returns
        -------
        numpy.ndarray of bool, shape (R, len(targets))
            ``metric <= target`` for losses, ``metric >= target`` for accuracies. A non-finite
            metric reaches nothing.
        """
        values = np.asarray(metrics[self.target_metric], dtype=np.float64)[:, None]
        targets = np.asarray(self.targets, dtype=np.float64)[None, :]
        return values >= targets if self.higher_is_better else values <= targets

    def config(self) -> dict[str, Any]:
        """The constructor's keyword arguments as stored, ready to log (dtypes as their names)."""
        out = {}
        for key in (p.name for p in _parameters(type(self))):
            value = getattr(self, key)
            out[key] = value.name if isinstance(value, np.dtype) else value
        return out

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{type(self).__name__}({args})"


def register(name: str, cls: type[Problem] | None = None) -> Any:
    """Make a :class:`Problem` subclass available as ``create(name, **kw)``.

    Parameters
    ----------
    name : str
        The registry name; registering a name again replaces the earlier class.
    cls : type, optional
        The class; without it, ``register(name)`` is a class decorator.

    Returns
    -------
    type or callable
        ``cls`` (with ``cls.name`` set), or the decorator that registers and returns it.

    Examples
    --------
    >>> @register("my_problem")  # doctest: +SKIP
    ... class MyProblem(Problem):
    ...     description = "An example."
    """
    return PROBLEMS.register(name, cls)


def names() -> list[str]:
    """Return the sorted names of every registered problem.

    Returns
    -------
    list of str
    """
    return PROBLEMS.names()


def get(name: str) -> type[Problem]:
    """Return the registered class for ``name``.

    Raises
    ------
    ValueError
        For an unknown name, listing the closest registered ones.
    """
    return PROBLEMS.get(name)


def create(name: str, **hyperparameters: Any) -> Problem:
    """Build the problem ``name`` with keyword ``hyperparameters``.

    Parameters
    ----------
    name : str
        One of :func:`names`.
    **hyperparameters
        The problem's constructor keywords; see each class's docstring.

    Returns
    -------
    Problem

    Raises
    ------
    ValueError
        For an unknown name or keyword (naming the closest valid ones) or a value out of range.

    Examples
    --------
    >>> prob = create("rosenbrock", dim=2)
    >>> round(float(prob.value(prob.start)), 12)
    24.2
    """
    return PROBLEMS.create(name, **hyperparameters)


def describe(name: str) -> Description:
    """Describe the problem ``name`` without building it (no data is loaded).

    Returns
    -------
    problems.registry.Description
        ``summary`` is the class docstring's first line, ``parameters`` the constructor
        keywords with their defaults, and ``extra`` the class-level facts of
        :meth:`Problem.describe_extra`: ``description``, ``targets``, ``target_metric``,
        ``higher_is_better``, ``metrics``, ``has_weights``, ``has_data``.

    Examples
    --------
    >>> describe("rosenbrock").extra["targets"]
    (0.1, 0.001, 1e-06)
    """
    return PROBLEMS.describe(name)


# Argument checks shared by the problem constructors (check_number comes from _validate).


def minibatch_indices(problem: Problem, draws: Any, batch_size: int | None) -> Any:
    """A data problem's ``draw_batch``: indices ``(R, batch_size)`` into its ``train_size``
    examples, distinct within each run, from ``draws``; None for the full batch."""
    if batch_size is None:
        return None
    batch_size = check_int(problem.name, "batch_size", batch_size, 1, problem.train_size)
    return draws.indices(problem.train_size, batch_size)


def check_int(owner: str, name: str, value: object, low: int, high: int | None = None) -> int:
    """Raise unless ``value`` is an integer (not a bool) in ``[low, high]``; return it."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{owner}: {name} must be an integer, got {value!r}")
    if value < low or (high is not None and value > high):
        upper = "inf)" if high is None else f"{high}]"
        raise ValueError(f"{owner}: {name}={value!r} is out of range; allowed [{low}, {upper}")
    return int(value)


def check_choice(owner: str, name: str, value: object, choices: Iterable[str]) -> str:
    """Raise unless ``value`` is one of ``choices``, naming the closest ones."""
    choices = list(choices)
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{owner}: {name}={value!r} is not valid{closest(str(value), choices)}")
    return value


def check_dtype(owner: str, value: object) -> np.dtype:
    """Accept ``"float32"`` or ``"float64"`` (or the numpy types) and return the dtype."""
    try:
        # np.dtype(None) is float64, and np.dtype("float64") == None is True: reject None first
        dtype = None if value is None else np.dtype(value)  # type: ignore[call-overload]
    except TypeError:
        dtype = None
    if dtype is None or dtype.name not in ("float32", "float64"):
        raise ValueError(f"{owner}: dtype={value!r} is not valid; allowed 'float32', 'float64'")
    return dtype


def check_real(owner: str, name: str, value: object, low: float, **bounds: Any) -> float:
    """:func:`check_number` that returns the value as a Python ``float``."""
    check_number(owner, name, value, low, **bounds)
    return float(value)  # type: ignore[arg-type]
