"""Prodigy's distance estimate is per run: it moves, it differs between runs, a run whose
gradients are all zero stops as the reference does, and per-run hyperparameters step each run as
its own configuration would. (The trajectory is checked against pytorch-optimizer in
test_against_pytorch_optimizer.py, one reference optimizer per run.)"""

import numpy as np
import pytest

import optimizers
from tests.optimizers.per_run import run_values, with_per_run

SHAPES = ((3, 4, 5), (3, 6))  # three runs of a matrix and of a vector


def _gradients(rng, steps, dtype=np.float64):
    return [[rng.standard_normal(s).astype(dtype) for s in SHAPES] for _ in range(steps)]


def test_d_grows_from_d0_and_differs_between_runs():
    opt = optimizers.create("prodigy")
    rng = np.random.default_rng(0)
    params = [rng.standard_normal(s) for s in SHAPES]
    state = opt.init(params)
    for grads in _gradients(rng, 50):
        grads = [g + 0.5 * p for g, p in zip(grads, params, strict=True)]  # a pull towards 0
        opt.step(params, grads, state)
    d = state.scalars["d"]
    assert d.shape == (3,)
    assert np.all(d > 100 * opt.d0)
    assert len(set(d.tolist())) == 3


def test_a_run_without_gradient_stops_where_the_reference_returns_early():
    """All-zero gradients give ||s||_1 = 0 in run 1: its params, d and d_max stay; the other runs
    step exactly as without it."""
    opt = optimizers.create("prodigy", weight_decay=0.1)
    rng = np.random.default_rng(1)
    params = [rng.standard_normal(s) for s in SHAPES]
    grads = _gradients(rng, 20)
    for step in grads:
        for g in step:
            g[1] = 0.0
    start = [p.copy() for p in params]
    state = opt.init(params)
    for step in grads:
        opt.step(params, step, state)
    for p, p0 in zip(params, start, strict=True):
        np.testing.assert_array_equal(p[1], p0[1])
        assert not np.array_equal(p[0], p0[0])
    assert state.scalars["d"][1] == opt.d0 and state.scalars["d_max"][1] == opt.d0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_per_run_hyperparameters_step_each_run_as_alone(dtype):
    """lr, betas, d0, d_coef and weight_decay as per-run arrays: each run's params and state are
    bit-identical to that run's configuration stacked alone."""
    opt = optimizers.create("prodigy", weight_decay=0.01)
    values = {
        "betas": (np.array([0.9, 0.8, 0.95]), np.array([0.999, 0.99, 0.9])),
        "d0": np.array([1e-6, 1e-4, 1e-3]),
        "d_coef": np.array([1.0, 0.5, 2.0]),
        "weight_decay": np.array([0.01, 0.1, 0.001]),
    }
    lrs = np.array([1.0, 0.5, 0.1])
    rng = np.random.default_rng(2)
    params = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    grads = _gradients(rng, 30, dtype)
    stacked, together = with_per_run(opt, **values), [p.copy() for p in params]
    state = stacked.init(together)
    for step in grads:
        stacked.step(together, step, state, lr=lrs)
    for run in range(3):
        alone = with_per_run(opt, **run_values(values, run))
        own = [p[run : run + 1].copy() for p in params]
        own_state = alone.init(own)
        for step in grads:
            alone.step(own, [g[run : run + 1] for g in step], own_state, lr=lrs[run : run + 1])
        for a, b in zip(own, together, strict=True):
            np.testing.assert_array_equal(a[0], b[run])
        for key, value in own_state.scalars.items():
            assert value[0] == state.scalars[key][run], key
