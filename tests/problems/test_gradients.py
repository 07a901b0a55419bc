"""Finite-difference checks beyond ``problems.testing.check_gradient``, and of the MLP on its own.

``test_conformance.py`` checks every case along random directions; here every coordinate of the
problems with few parameters is checked, and the MLP alone for every loss and activation (relu
networks away from their kinks: no pre-activation may change sign between ``p - h d`` and
``p + h d``).
"""

import numpy as np
import pytest

import problems
from problems import mlp
from tests.problems.cases import CASES, IDS

STEP = 1e-5
RTOL = 1e-6
# Entries of a gradient that are zero by symmetry (e.g. bias gradients on the symmetric spirals)
# carry only rounding noise, ~1e-16 * loss / STEP; rtol alone cannot judge them.
ATOL = 1e-9
RUNS = 3
BATCH = 7


def _random_params(prob, rng):
    params = prob.init_params(rng, RUNS)
    # biases start at zero and test functions at one standard point: move everything
    return [p + 0.3 * rng.standard_normal(p.shape) for p in params]


def _batch(prob, rng):
    size = None if prob.train_size is None else min(BATCH, prob.train_size)
    return prob.sample_batch(rng, RUNS, size)


def _loss(prob, params, batch):
    return prob.loss_and_grad(params, batch)[0]


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [(n, k) for n, k in CASES if n not in ("mnist_mlp", "mnist_logreg")],
    ids=[i for i, (n, _) in zip(IDS, CASES, strict=True) if n not in ("mnist_mlp", "mnist_logreg")],
)
def test_gradient_every_coordinate(name, kwargs):
    prob = problems.create(name, **kwargs)
    rng = np.random.default_rng(1)
    params = _random_params(prob, rng)
    batch = _batch(prob, rng) if prob.train_size is not None else None
    _, grads = prob.loss_and_grad([p.copy() for p in params], batch)
    for k, p in enumerate(params):
        for index in np.ndindex(p.shape[1:]):
            step = [np.zeros_like(q) for q in params]
            step[k][(slice(None), *index)] = STEP
            plus = [q + s for q, s in zip(params, step, strict=True)]
            minus = [q - s for q, s in zip(params, step, strict=True)]
            numeric = (_loss(prob, plus, batch) - _loss(prob, minus, batch)) / (2 * STEP)
            np.testing.assert_allclose(
                grads[k][(slice(None), *index)],
                numeric,
                rtol=RTOL,
                atol=ATOL,
                err_msg=f"{k}{index}",
            )


def test_noise_is_added_to_the_gradient_only():
    prob = problems.create("rosenbrock", dim=3, noise=0.5)
    params = prob.init_params(np.random.default_rng(0), 4)
    noise = prob.sample_batch(np.random.default_rng(1), 4, None)
    assert noise.shape == (4, 3)
    exact_loss, (exact,) = prob.loss_and_grad(params)
    noisy_loss, (noisy,) = prob.loss_and_grad(params, noise)
    np.testing.assert_array_equal(noisy_loss, exact_loss)
    np.testing.assert_allclose(noisy, exact + 0.5 * noise, rtol=1e-15)
    assert problems.create("rosenbrock").sample_batch(np.random.default_rng(0), 4, 8) is None


@pytest.mark.parametrize("activation", mlp.ACTIVATIONS)
@pytest.mark.parametrize("loss", mlp.LOSSES)
@pytest.mark.parametrize("shared_inputs", [True, False])
def test_mlp_gradient(activation, loss, shared_inputs):
    """The MLP alone: both losses, every activation, shared (N, in) or per-run (R, B, in) inputs."""
    rng = np.random.default_rng(2)
    sizes = (3, 5, 4, 1 if loss == "binary_cross_entropy" else 4)
    params = mlp.init_params(rng, RUNS, sizes, mlp.default_initializer(activation))
    params = [p + 0.2 * rng.standard_normal(p.shape) for p in params]
    shape = (6,) if shared_inputs else (RUNS, 6)
    X = rng.standard_normal((*shape, 3))
    if loss == "binary_cross_entropy":
        y = rng.integers(0, 2, shape).astype(float)
    else:
        y = rng.integers(0, 4, shape)
    _, grads = mlp.loss_and_grad(params, X, y, activation, loss)
    direction = [rng.standard_normal(p.shape) for p in params]
    plus = [p + STEP * d for p, d in zip(params, direction, strict=True)]
    minus = [p - STEP * d for p, d in zip(params, direction, strict=True)]
    if activation == "relu":
        for a, b, c in zip(
            *(mlp.forward(q, X, "relu")[:-1] for q in (params, plus, minus)), strict=True
        ):
            np.testing.assert_array_equal(a > 0, b > 0)
            np.testing.assert_array_equal(a > 0, c > 0)
    numeric = (
        mlp.loss_and_grad(plus, X, y, activation, loss)[0]
        - mlp.loss_and_grad(minus, X, y, activation, loss)[0]
    ) / (2 * STEP)
    analytic = sum(
        np.sum((g * d).reshape(RUNS, -1), axis=1) for g, d in zip(grads, direction, strict=True)
    )
    np.testing.assert_allclose(analytic, numeric, rtol=RTOL)


def test_losses_are_stable_for_huge_logits():
    """Cross-entropies come from the logits through log-sum-exp / softplus: no overflow."""
    logits = np.array([[[800.0, -800.0], [-800.0, 800.0]]])  # (R=1, B=2, K=2)
    y = np.array([0, 0])
    params = [np.eye(2)[None], np.zeros((1, 2))]
    loss, grads = mlp.loss_and_grad(params, logits[0], y, "relu", "cross_entropy")
    np.testing.assert_allclose(loss, [(0.0 + 1600.0) / 2])
    assert all(np.isfinite(g).all() for g in grads)
    bce_params = [np.array([[[1.0]]]), np.zeros((1, 1))]
    z = np.array([[800.0], [-800.0]])
    loss, _ = mlp.loss_and_grad(bce_params, z, np.array([0.0, 0.0]), "tanh", "binary_cross_entropy")
    np.testing.assert_allclose(loss, [800.0 / 2])
