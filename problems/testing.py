"""The checks every problem must pass, as scikit-learn's ``check_estimator`` does for estimators.

>>> import problems.testing
>>> problems.testing.check_problem("rosenbrock", dim=3)   # raises AssertionError on a failure

:func:`check_problem` builds the problem and checks, with a fixed seed and ``RUNS`` runs:

- its facts: ``describe(name)`` agrees with the built problem, ``config()`` rebuilds it, and
  ``target_ladder(**config())`` gives its targets without building it;
- shapes and dtypes of ``init_params``, ``loss_and_grad`` and ``evaluate``, which leave the
  parameters unchanged; ``init_params`` is seeded and honours (or refuses) initializers;
- ``evaluate``: a dict of ``(R,)`` arrays whose keys are the class's ``metrics``, a subset of
  :data:`problems.base.METRICS`; its ``train_loss`` is the full-batch loss;
- the targets: the metric is one of ``evaluate``'s keys, the ladder runs from easiest to hardest
  in the metric's direction, and :meth:`~problems.Problem.reached` applies it;
- runs independence: perturbing run j leaves every other run's loss, gradients and metrics
  bit-identical, and a run alone gives the bits it gives in the stack;
- batches: ``draw_batch`` gives each run the batch it gives that run alone, or in another
  order of the runs, and a new batch at the next step;
- divergence is quiet: huge parameters give non-finite numbers, not warnings;
- the gradient, by :func:`check_gradient` (central differences in float64 along random
  directions; a float32 problem is rebuilt with ``dtype="float64"``).

This module imports only NumPy and ``problems``, never pytest.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from problems.base import METRICS, Params, Problem, TargetLadder
from problems.base import create as create_problem
from problems.base import describe as describe_problem
from problems.base import get as get_problem
from problems.initializers import names as initializer_names
from problems.streams import RunStreams

RUNS = 3
SEED = 0
BATCH = 7  # minibatch size for problems with data (smaller if the training set is smaller)
STEP = 1e-5  # central-difference step along a unit direction
RTOL = 1e-6
ATOL = 1e-9  # times max(1, |loss|): rounding noise of the differences is ~1e-16 |loss| / STEP
DIRECTIONS = 3
ATTEMPTS = 5  # directions tried for each of DIRECTIONS before the loss is declared non-smooth


def _require(condition: object, prob: Problem, message: str) -> None:
    if not condition:
        raise AssertionError(f"problem {prob.name!r} ({prob!r}): {message}")


def check_problem(name: str, **hyperparameters: Any) -> None:
    """Check that the registered problem ``name`` honours the problem contract.

    Parameters
    ----------
    name : str
        A registered problem name (``problems.names()``).
    **hyperparameters
        Constructor keywords; keep the problem small, the checks evaluate it a few dozen times.

    Raises
    ------
    AssertionError
        Naming the problem and the first check it fails (see the module docstring).

    Examples
    --------
    >>> check_problem("spirals", points=10, hidden=4)
    """
    prob = create_problem(name, **hyperparameters)
    rng = np.random.default_rng(SEED)
    _check_facts(name, prob)
    params, batch = _random_point(prob, rng)
    _check_init_and_shapes(prob, params, batch)
    metrics = _check_evaluate(prob, params)
    _check_targets(prob, metrics)
    _check_runs_independent(prob, params, batch, rng)
    _check_draws_independent(prob)
    _check_divergence_is_quiet(prob)
    twin = _float64_twin(name, prob, hyperparameters)
    check_gradient(twin, *_random_point(twin, rng, exact=True), rng=rng)


def _check_facts(name: str, prob: Problem) -> None:
    _require(type(prob) is get_problem(name) and prob.name == name, prob, "registered wrongly")
    description = type(prob).description
    _require(description and "\n" not in description, prob, "needs a one-line description")
    facts = describe_problem(name).extra
    _require(facts["has_weights"] == prob.uses_initializer, prob, "has_weights != uses_initializer")
    has_data = prob.train_size is not None
    _require(facts["has_data"] == has_data, prob, f"has_data is not {has_data} (train_size)")
    metrics = facts["metrics"]
    _require(
        "train_loss" in metrics and set(metrics) <= set(METRICS),
        prob,
        f"metrics {metrics} must include 'train_loss' and be among {METRICS}",
    )
    config = prob.config()
    _require(create_problem(name, **config).config() == config, prob, "config() does not rebuild")
    ladder = type(prob).target_ladder(**config)
    built = TargetLadder(tuple(prob.targets), prob.target_metric)
    _require(ladder == built, prob, f"target_ladder(**config()) is {ladder}, built {built}")


def _random_point(
    prob: Problem, rng: np.random.Generator, exact: bool = False
) -> tuple[Params, Any]:
    """Parameters moved off the standard start (biases start at zero), and a batch.

    A problem with data gets a minibatch, whose loss is exact; one without data gets gradient
    noise, or None with ``exact`` (the noisy gradient is not the loss's gradient).
    """
    params = prob.init_params(rng, RUNS)
    params = [(p + 0.3 * rng.standard_normal(p.shape)).astype(p.dtype) for p in params]
    if prob.train_size is not None:
        return params, prob.sample_batch(rng, RUNS, min(BATCH, prob.train_size))
    return params, None if exact else prob.sample_batch(rng, RUNS, None)


def _same_arrays(first: Params, second: Params) -> bool:
    return len(first) == len(second) and all(
        a.shape == b.shape and np.array_equal(a, b, equal_nan=True)
        for a, b in zip(first, second, strict=True)
    )


def _check_init_and_shapes(prob: Problem, params: Params, batch: Any) -> None:
    first = prob.init_params(np.random.default_rng(SEED), RUNS)
    _require(
        all(p.shape[0] == RUNS and p.dtype == prob.dtype for p in first),
        prob,
        f"init_params must give arrays (runs, ...) of dtype {prob.dtype}",
    )
    again = prob.init_params(np.random.default_rng(SEED), RUNS)
    _require(_same_arrays(first, again), prob, "init_params is not a function of the rng")
    if prob.uses_initializer:
        for initializer in initializer_names():
            named = prob.init_params(np.random.default_rng(SEED), RUNS, initializer)
            shapes = [p.shape for p in named] == [p.shape for p in first]
            _require(shapes, prob, f"initializer {initializer!r} changes the shapes")
    else:
        try:
            prob.init_params(np.random.default_rng(SEED), RUNS, "xavier_uniform")
        except ValueError:
            pass
        else:
            _require(False, prob, "has no weights but accepted an initializer")
    kept = [p.copy() for p in params]
    loss, grads = prob.loss_and_grad(params, batch)
    _require(_same_arrays(params, kept), prob, "loss_and_grad changed the parameters")
    _require(
        isinstance(loss, np.ndarray) and loss.shape == (RUNS,), prob, "loss must have shape (R,)"
    )
    _require(np.all(np.isfinite(loss)), prob, f"loss is not finite at a random point: {loss}")
    _require(
        [(g.shape, g.dtype) for g in grads] == [(p.shape, p.dtype) for p in params],
        prob,
        "gradients must have the shapes and dtypes of the parameters",
    )


def _check_evaluate(prob: Problem, params: Params) -> dict[str, np.ndarray]:
    kept = [p.copy() for p in params]
    metrics = prob.evaluate(params)
    _require(_same_arrays(params, kept), prob, "evaluate changed the parameters")
    _require(isinstance(metrics, dict), prob, "evaluate must return a dict")
    keys = set(type(prob).metrics)
    _require(set(metrics) == keys, prob, f"evaluate gave {sorted(metrics)}, documented {keys}")
    for key, value in metrics.items():
        _require(
            isinstance(value, np.ndarray) and value.shape == (RUNS,),
            prob,
            f"evaluate()[{key!r}] must be an array of shape (R,)",
        )
        _require(np.all(np.isfinite(value)), prob, f"{key} is not finite: {value}")
        if key.endswith("accuracy"):
            _require(np.all((value >= 0) & (value <= 1)), prob, f"{key} outside [0, 1]: {value}")
    full_loss, _ = prob.loss_and_grad([p.copy() for p in params])
    rtol = 1e-9 if prob.dtype == np.float64 else 1e-4
    close = np.allclose(metrics["train_loss"], full_loss, rtol=rtol, atol=0)
    _require(close, prob, "evaluate()['train_loss'] is not the full-batch loss of loss_and_grad")
    return metrics


def _check_targets(prob: Problem, metrics: dict[str, np.ndarray]) -> None:
    metric = prob.target_metric
    _require(metric in metrics, prob, f"target_metric {metric!r} is not a key of evaluate()")
    _require(metric.endswith(("_loss", "_accuracy")), prob, "target_metric: a loss or accuracy")
    ladder = np.asarray(prob.targets, dtype=np.float64)
    _require(
        isinstance(prob.targets, tuple) and ladder.ndim == 1 and ladder.size >= 1,
        prob,
        "targets must be a non-empty tuple of numbers",
    )
    _require(np.all(np.isfinite(ladder)), prob, f"targets must be finite: {prob.targets}")
    steps = np.diff(ladder)
    monotone = np.all(steps > 0) if prob.higher_is_better else np.all(steps < 0)
    direction = "increase (accuracies)" if prob.higher_is_better else "decrease (losses)"
    _require(monotone, prob, f"targets {prob.targets} must {direction}, easiest first")
    hardest = {metric: np.full(RUNS, ladder[-1])}
    reached = prob.reached(hardest)
    _require(reached.shape == (RUNS, ladder.size), prob, "reached() must have shape (R, targets)")
    _require(np.all(reached), prob, "reached() misses a run sitting at the hardest target")
    _require(not np.any(prob.reached({metric: np.full(RUNS, np.nan)})), prob, "nan reached")


def _evaluate_all(prob: Problem, params: Params, batch: Any) -> tuple[np.ndarray, Params, dict]:
    loss, grads = prob.loss_and_grad([p.copy() for p in params], batch)
    return loss, grads, prob.evaluate(params)


def _check_run(prob: Problem, what: str, expected: tuple, r: int, got: tuple, s: int) -> None:
    """Run ``r`` of ``expected`` must equal run ``s`` of ``got``, bit for bit."""
    (loss, grads, metrics), (loss_2, grads_2, metrics_2) = expected, got
    same = loss[r] == loss_2[s] or (np.isnan(loss[r]) and np.isnan(loss_2[s]))
    same = same and all(np.array_equal(g[r], h[s]) for g, h in zip(grads, grads_2, strict=True))
    same = same and all(np.array_equal(metrics[k][r], metrics_2[k][s]) for k in metrics)
    _require(same, prob, f"runs mix: {what} changed the numbers of run {r}")


def _check_runs_independent(
    prob: Problem, params: Params, batch: Any, rng: np.random.Generator
) -> None:
    """With the minibatch and with the full batch (the shared data matrix: another code path)."""
    for current in (batch, None) if batch is not None else (None,):
        base = _evaluate_all(prob, params, current)
        for j in range(RUNS):
            moved = [p.copy() for p in params]
            for p in moved:
                p[j] = (1.5 * p[j] + rng.standard_normal(p.shape[1:])).astype(p.dtype)
            perturbed = _evaluate_all(prob, moved, current)
            for r in range(RUNS):
                if r != j:
                    _check_run(prob, f"perturbing run {j}", base, r, perturbed, r)
        sliceable = current is None or (
            isinstance(current, np.ndarray) and current.shape[0] == RUNS
        )
        for r in range(RUNS if sliceable else 0):
            alone = [p[r : r + 1].copy() for p in params]
            one = _evaluate_all(prob, alone, None if current is None else current[r : r + 1])
            _check_run(prob, f"running run {r} alone", base, r, one, 0)


def _check_divergence_is_quiet(prob: Problem) -> None:
    params = prob.init_params(np.random.default_rng(SEED), RUNS)
    huge = [np.full_like(p, np.finfo(p.dtype).max / 4) for p in params]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            loss, _ = prob.loss_and_grad(huge)
            metrics = prob.evaluate(huge)
        except Warning as warning:
            raise AssertionError(
                f"problem {prob.name!r}: diverged parameters raised {warning!r}; divergence is "
                "a result, return non-finite numbers quietly (np.errstate)"
            ) from None
    _require(loss.shape == metrics["train_loss"].shape == (RUNS,), prob, "diverged shapes")


def _float64_twin(name: str, prob: Problem, hyperparameters: dict[str, Any]) -> Problem:
    if prob.dtype == np.float64:
        return prob
    _require(
        "dtype" in [p.name for p in describe_problem(name).parameters],
        prob,
        "the gradient check needs float64: accept a dtype='float64' keyword",
    )
    return create_problem(name, **{**hyperparameters, "dtype": "float64"})


def _directional_derivative(
    prob: Problem, params: Params, batch: Any, direction: Params, step: float
) -> np.ndarray:
    plus = [p + step * d for p, d in zip(params, direction, strict=True)]
    minus = [p - step * d for p, d in zip(params, direction, strict=True)]
    return (prob.loss_and_grad(plus, batch)[0] - prob.loss_and_grad(minus, batch)[0]) / (2 * step)


def check_gradient(
    prob: Problem, params: Params, batch: Any = None, *, rng: np.random.Generator
) -> None:
    """Check ``loss_and_grad``'s gradient against central differences along random directions.

    For each of ``DIRECTIONS`` random unit directions (one per run), the analytic directional
    derivative must match ``(f(p + h d) - f(p - h d)) / 2h`` within ``RTOL`` and
    ``ATOL * max(1, |f|)``. A direction along which the differences at ``h`` and ``h / 2``
    disagree has a kink (a relu changing sign) within the step, so another is drawn, up to
    ``ATTEMPTS`` times: a wrong gradient cannot hide this way, because both differences agree
    with the true derivative.

    Parameters
    ----------
    prob : Problem
        In float64.
    params : list of numpy.ndarray
        The point, each array ``(R, ...)``.
    batch : optional
        A batch whose loss has the returned gradient (a minibatch, or None: not gradient noise).
    rng : numpy.random.Generator
        Draws the directions.

    Raises
    ------
    AssertionError
        Naming the problem, with the analytic and numeric derivatives.
    """
    runs = params[0].shape[0]
    loss, grads = prob.loss_and_grad([p.copy() for p in params], batch)
    atol = ATOL * np.maximum(1.0, np.abs(loss))
    for _ in range(DIRECTIONS):
        for _attempt in range(ATTEMPTS):
            direction = [rng.standard_normal(p.shape) for p in params]
            norm = np.sqrt(sum(np.sum(d.reshape(runs, -1) ** 2, axis=1) for d in direction))
            direction = [d / norm.reshape((runs,) + (1,) * (d.ndim - 1)) for d in direction]
            numeric = _directional_derivative(prob, params, batch, direction, STEP)
            finer = _directional_derivative(prob, params, batch, direction, STEP / 2)
            if np.all(np.abs(numeric - finer) <= atol + RTOL * np.abs(finer)):
                break
        else:
            _require(False, prob, f"loss not smooth along {ATTEMPTS} random directions")
        analytic = sum(
            np.sum((g * d).reshape(runs, -1), axis=1) for g, d in zip(grads, direction, strict=True)
        )
        _require(
            np.all(np.abs(analytic - numeric) <= atol + RTOL * np.abs(numeric)),
            prob,
            f"gradient disagrees with central differences along a random direction: "
            f"analytic {analytic}, numeric {numeric}",
        )


def _check_draws_independent(prob: Problem) -> None:
    """A run's batch is a function of its own stream: alone, reordered, at another step."""
    size = None if prob.train_size is None else min(BATCH, prob.train_size)
    streams = RunStreams.from_seed_sequences(
        [np.random.SeedSequence([SEED, r]) for r in range(RUNS)]
    )
    batch = prob.draw_batch(streams.at(3), size)
    if batch is None:
        return
    _require(
        isinstance(batch, np.ndarray) and batch.shape[0] == RUNS,
        prob,
        "draw_batch must give an array with the runs axis first",
    )
    reordered = prob.draw_batch(streams.take(np.arange(RUNS)[::-1]).at(3), size)
    for r in range(RUNS):
        alone = prob.draw_batch(streams.take([r]).at(3), size)
        same = np.array_equal(alone[0], batch[r]) and np.array_equal(
            reordered[RUNS - 1 - r], batch[r]
        )
        _require(same, prob, f"draw_batch: run {r}'s batch depends on the other runs")
    later = prob.draw_batch(streams.at(4), size)
    _require(not np.array_equal(later, batch), prob, "draw_batch: step 4 repeats step 3's batch")
