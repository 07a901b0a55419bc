"""Known values of the matrix problems: matrix_quadratic, noisy_quadratic, matrix_factorization,
deep_linear (their gradients are checked with every other problem's, in test_gradients.py)."""

import numpy as np
import pytest

import problems


def test_matrix_quadratic_is_optax_matrix_parabola():
    prob = problems.create("matrix_quadratic")
    (x,) = prob.init_params(np.random.default_rng(0), 3)
    assert x.shape == (3, 2, 2) and np.all(x == 0.0)
    np.testing.assert_array_equal(prob.evaluate([x])["train_loss"], [30.0] * 3)  # 9 + 4 + 1 + 16
    target = np.array([[3.0, -2.0], [1.0, 4.0]])
    loss, (grad,) = prob.loss_and_grad([np.broadcast_to(target, (2, 2, 2)).copy()])
    assert np.all(loss == 0.0) and np.all(grad == 0.0)
    point = np.random.default_rng(1).standard_normal((4, 2, 2))
    loss, (grad,) = prob.loss_and_grad([point])
    np.testing.assert_allclose(loss, np.sum((point - target) ** 2, axis=(1, 2)), rtol=1e-14)
    np.testing.assert_allclose(grad, 2 * (point - target), rtol=1e-14)


def test_matrix_quadratic_other_shapes_draw_integer_targets():
    prob = problems.create("matrix_quadratic", rows=3, cols=5, data_seed=2)
    assert prob.target.shape == (3, 5)
    assert np.all(prob.target == np.round(prob.target)) and np.all(np.abs(prob.target) <= 4)
    again = problems.create("matrix_quadratic", rows=3, cols=5, data_seed=2)
    np.testing.assert_array_equal(prob.target, again.target)
    other = problems.create("matrix_quadratic", rows=3, cols=5, data_seed=3)
    assert not np.array_equal(prob.target, other.target)


def test_matrix_quadratic_noise_has_the_matrix_shape():
    prob = problems.create("matrix_quadratic", rows=2, cols=3, noise=0.5)
    noise = prob.sample_batch(np.random.default_rng(0), 4, None)
    assert noise.shape == (4, 2, 3)
    params = prob.init_params(np.random.default_rng(0), 4)
    exact_loss, (exact,) = prob.loss_and_grad(params)
    noisy_loss, (noisy,) = prob.loss_and_grad(params, noise)
    np.testing.assert_array_equal(noisy_loss, exact_loss)
    np.testing.assert_allclose(noisy, exact + 0.5 * noise, rtol=1e-15)


def test_noisy_quadratic_has_deepobs_spectrum_and_start():
    prob = problems.create("noisy_quadratic")
    eigenvalues = np.linalg.eigvalsh(prob.hessian)
    np.testing.assert_allclose(np.sort(eigenvalues), np.sort(prob.eigenvalues), atol=1e-12)
    assert np.sum(eigenvalues < 1.0) == 90 and np.sum((eigenvalues > 30) & (eigenvalues < 60)) == 10
    (theta,) = prob.init_params(np.random.default_rng(0), 2)
    assert theta.shape == (2, 10, 10) and np.all(theta == 1.0)
    assert prob.train_size == 1000
    samples = prob._train[0]
    assert samples.shape == (1000, 100) and abs(samples.std() - 0.6) < 0.01


def _brute_force_loss(prob, theta, samples):
    """The definition: the mean over samples of (theta - x)^T Q (theta - x) / 2, per run."""
    flat = theta.reshape(theta.shape[0], 1, -1)
    diff = flat - samples  # (R, N, d)
    return 0.5 * np.mean(np.einsum("rnd,de,rne->rn", diff, prob.hessian, diff), axis=1)


def test_noisy_quadratic_losses_are_means_of_per_sample_losses():
    prob = problems.create("noisy_quadratic", rows=4, cols=5, train_size=50)
    rng = np.random.default_rng(0)
    theta = rng.standard_normal((3, 4, 5))
    metrics = prob.evaluate([theta])
    np.testing.assert_allclose(
        metrics["train_loss"], _brute_force_loss(prob, theta, prob._train[0]), rtol=1e-12
    )
    np.testing.assert_allclose(
        metrics["test_loss"], _brute_force_loss(prob, theta, prob._test[0]), rtol=1e-12
    )
    batch = prob.sample_batch(rng, 3, 7)
    loss, _ = prob.loss_and_grad([theta], batch)
    per_run = [
        _brute_force_loss(prob, theta[r : r + 1], prob._train[0][batch[r]])[0] for r in range(3)
    ]
    np.testing.assert_allclose(loss, per_run, rtol=1e-12)


def test_noisy_quadratic_optimum_is_at_the_training_mean_and_targets_close_the_gap():
    prob = problems.create("noisy_quadratic", rows=4, cols=5, train_size=50)
    mean = prob._train[0].mean(axis=0).reshape(1, 4, 5)
    loss, (grad,) = prob.loss_and_grad([mean])
    np.testing.assert_allclose(loss, [prob.optimum], rtol=1e-12)
    np.testing.assert_allclose(grad, 0.0, atol=1e-12)
    start = prob.evaluate(prob.init_params(np.random.default_rng(0), 1))["train_loss"][0]
    gaps = (np.array(prob.targets) - prob.optimum) / (start - prob.optimum)
    np.testing.assert_allclose(gaps, [1e-1, 1e-2, 1e-3], rtol=1e-9)
    ladder = problems.get("noisy_quadratic").target_ladder(rows=4, cols=5, train_size=50)
    assert ladder.targets == prob.targets


def test_matrix_factorization_target_has_rank_and_condition_number():
    prob = problems.create("matrix_factorization", rows=12, cols=9, rank=3, condition_number=50.0)
    singular = np.linalg.svd(prob.target, compute_uv=False)
    np.testing.assert_allclose(singular[:3], [1.0, 1 / np.sqrt(50.0), 1 / 50.0], rtol=1e-12)
    np.testing.assert_allclose(singular[3:], 0.0, atol=1e-14)
    params = prob.init_params(np.random.default_rng(0), 2)
    assert [p.shape for p in params] == [(2, 12, 3), (2, 3, 9)]


def test_matrix_factorization_is_zero_with_zero_gradient_at_an_exact_factorization():
    prob = problems.create("matrix_factorization", rows=6, cols=5, rank=2)
    u, s, vt = np.linalg.svd(prob.target)
    factors = [(u[:, :2] * s[:2])[None], vt[:2][None]]
    loss, grads = prob.loss_and_grad(factors)
    np.testing.assert_allclose(loss, 0.0, atol=1e-28)
    for grad in grads:
        np.testing.assert_allclose(grad, 0.0, atol=1e-14)


def test_matrix_factorization_gradient_formula():
    prob = problems.create("matrix_factorization", rows=4, cols=3, rank=2)
    u, v = (p + 0.5 for p in prob.init_params(np.random.default_rng(0), 3))
    loss, (grad_u, grad_v) = prob.loss_and_grad([u, v])
    residual = u @ v - prob.target
    np.testing.assert_allclose(loss, 0.5 * np.sum(residual**2, axis=(1, 2)), rtol=1e-13)
    np.testing.assert_allclose(grad_u, residual @ v.transpose(0, 2, 1), rtol=1e-13)
    np.testing.assert_allclose(grad_v, u.transpose(0, 2, 1) @ residual, rtol=1e-13)


@pytest.mark.parametrize("depth", [2, 3, 5])
def test_deep_linear_loss_of_the_product(depth):
    prob = problems.create("deep_linear", dim=4, depth=depth, condition_number=8.0)
    singular = np.linalg.svd(prob.target, compute_uv=False)
    np.testing.assert_allclose(singular, np.geomspace(1.0, 1 / 8.0, 4), rtol=1e-12)
    params = prob.init_params(np.random.default_rng(0), 2, "orthogonal")
    assert [p.shape for p in params] == [(2, 4, 4)] * depth
    product = params[0]
    for weights in params[1:]:
        product = product @ weights
    expected = 0.5 * np.sum((product - prob.target) ** 2, axis=(1, 2))
    np.testing.assert_allclose(prob.evaluate(params)["train_loss"], expected, rtol=1e-13)


def test_deep_linear_zeros_start_is_a_saddle():
    prob = problems.create("deep_linear", dim=3, depth=3)
    params = prob.init_params(np.random.default_rng(0), 2, "zeros")
    loss, grads = prob.loss_and_grad(params)
    np.testing.assert_allclose(loss, 0.5 * np.sum(prob.target**2))
    assert all(np.all(g == 0.0) for g in grads)


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("matrix_quadratic", {}),
        ("noisy_quadratic", {}),
        ("matrix_factorization", {}),
        ("deep_linear", {}),
    ],
)
def test_adam_reaches_the_first_target(name, kwargs):
    """Each problem is solvable at its defaults: 1000 full-batch Adam steps (lr 0.01) from the
    default start reach the easiest target on every run."""
    import optimizers

    prob = problems.create(name, **kwargs)
    params = prob.init_params(np.random.default_rng(0), 3)
    adam = optimizers.create("adam", lr=0.01)
    state = adam.init(params)
    for _ in range(1000):
        adam.step(params, prob.loss_and_grad(params)[1], state)
    assert np.all(prob.reached(prob.evaluate(params))[:, 0])
