"""Prodigy's distance estimate is per run: it moves, it differs between runs, a run whose
gradients are all zero stops as the reference does, and per-run hyperparameters step each run as
its own configuration would. (The trajectory is checked against pytorch-optimizer in
test_against_pytorch_optimizer.py, one reference optimizer per run.)"""

import numpy as np
import pytest

import optimizers
from tests.optimizers.test_per_run import check_sweep

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


@pytest.mark.parametrize("eps", [1e-8, None])
def test_every_hyperparameter_may_differ_between_runs(eps):
    """lr, betas, beta3, d0, d_coef, growth_rate, weight_decay and eps per run: each run's params,
    state and d are its configuration's alone, bit for bit, in float32 and float64."""
    configs = [
        {"lr": lr, "betas": betas, "beta3": beta3, "d0": d0, "d_coef": d_coef,
         "growth_rate": growth, "weight_decay": wd, "eps": eps and eps * scale}
        for lr, betas, beta3, d0, d_coef, growth, wd, scale in [
            (1.0, (0.9, 0.999), 0.99, 1e-6, 1.0, 1.05, 0.01, 1.0),
            (0.5, (0.8, 0.99), 0.9, 1e-4, 0.5, 2.0, 0.1, 100.0),
            (0.1, (0.95, 0.9), 0.5, 1e-3, 2.0, np.inf, 0.001, 1e4),
        ]
    ]  # fmt: skip
    check_sweep("prodigy", (configs, [1, 3, 2], [[2, 0, 1]], 9, False))
