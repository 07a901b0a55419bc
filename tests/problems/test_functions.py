"""Known values of the test functions, and their starts, shapes and reference implementations."""

import numpy as np
import pytest

import problems


def test_rosenbrock_known_values():
    prob = problems.create("rosenbrock")
    np.testing.assert_allclose(prob.value([-1.2, 1.0]), 24.2, rtol=1e-15)
    np.testing.assert_array_equal(prob.start, [-1.2, 1.0])
    np.testing.assert_array_equal(prob.value_and_grad(np.ones(2))[1], [0.0, 0.0])
    for dim in (2, 3, 4, 7):
        prob = problems.create("rosenbrock", dim=dim)
        assert prob.value(np.ones(dim)) == 0.0
        np.testing.assert_array_equal(prob.start[:3], [-1.2, 1.0, -1.2][:dim])
        # each pair (x_i, x_{i+1}) of the alternating start contributes 24.2 (i even) or 484
        expected = sum(24.2 if i % 2 == 0 else 484.0 for i in range(dim - 1))
        np.testing.assert_allclose(prob.value(prob.start), expected, rtol=1e-14)
    assert prob.optimum == 0.0
    np.testing.assert_array_equal(prob.minimizer, np.ones(7))


@pytest.mark.parametrize("dim", [2, 3, 6])
def test_rosenbrock_agrees_with_scipy(dim):
    optimize = pytest.importorskip("scipy.optimize")
    prob = problems.create("rosenbrock", dim=dim)
    x = np.random.default_rng(0).uniform(-2, 2, (5, dim))
    value, grad = prob.value_and_grad(x)
    np.testing.assert_allclose(value, [optimize.rosen(row) for row in x], rtol=1e-13)
    np.testing.assert_allclose(grad, [optimize.rosen_der(row) for row in x], rtol=1e-12, atol=1e-12)


def test_quadratic_at_the_origin_and_its_spectrum():
    prob = problems.create("quadratic", dim=8, condition_number=1e4)
    value, grad = prob.value_and_grad(np.zeros(8))
    assert value == 0.0 and np.all(grad == 0.0)
    np.testing.assert_array_equal(prob.matrix, prob.matrix.T)
    eigenvalues = np.linalg.eigvalsh(prob.matrix)
    np.testing.assert_allclose(eigenvalues, np.geomspace(1, 1e4, 8), rtol=1e-10)
    assert not np.allclose(prob.matrix, np.diag(np.diag(prob.matrix)))  # rotated
    np.testing.assert_allclose(np.linalg.norm(prob.start), 1.0)
    x = np.random.default_rng(0).standard_normal(8)
    np.testing.assert_allclose(prob.value(x), 0.5 * x @ prob.matrix @ x, rtol=1e-13)


def test_quadratic_rotation_is_fixed_by_the_data_seed():
    a, b = problems.create("quadratic"), problems.create("quadratic")
    np.testing.assert_array_equal(a.matrix, b.matrix)
    assert not np.array_equal(a.matrix, problems.create("quadratic", data_seed=1).matrix)


def test_rastrigin_known_values_and_uniform_starts():
    prob = problems.create("rastrigin", dim=2)
    assert prob.value([0.0, 0.0]) == 0.0
    np.testing.assert_allclose(prob.value([1.0, 0.0]), 1.0, atol=1e-13)
    np.testing.assert_allclose(prob.value([[2.0, -1.0]]), [5.0], atol=1e-12)
    assert prob.start is None
    (x,) = prob.init_params(np.random.default_rng(0), 1000)
    assert x.shape == (1000, 2) and np.all(np.abs(x) <= 5.12)
    assert x.min() < -5 and x.max() > 5


def test_beale_known_values():
    prob = problems.create("beale")
    value, grad = prob.value_and_grad([3.0, 0.5])
    assert value == 0.0 and np.all(grad == 0.0)
    np.testing.assert_allclose(prob.value(prob.start), 14.203125, rtol=1e-15)
    np.testing.assert_array_equal(prob.start, [1.0, 1.0])
    assert prob.dim == 2 and prob.config() == {"start_noise": 0.0, "noise": 0.0}


@pytest.mark.parametrize("name", ["rosenbrock", "beale", "rastrigin"])
def test_value_is_vectorized_for_contour_plots(name):
    prob = problems.create(name)
    low, high = prob.domain
    grid = np.stack(np.meshgrid(np.linspace(low, high, 7), np.linspace(low, high, 5)), axis=-1)
    values = prob.value(grid)
    assert values.shape == (5, 7)
    np.testing.assert_array_equal(values[2, 3], prob.value(grid[2, 3]))
    with pytest.raises(ValueError, match="must have shape"):
        prob.value(np.zeros((4, 3)))


def test_start_noise_moves_each_run_from_the_start():
    prob = problems.create("rosenbrock", dim=4, start_noise=0.1)
    (x,) = prob.init_params(np.random.default_rng(0), 500)
    np.testing.assert_allclose(x.mean(axis=0), prob.start, atol=0.03)
    np.testing.assert_allclose(x.std(axis=0), 0.1, rtol=0.15)
    (exact,) = problems.create("rosenbrock", dim=4).init_params(np.random.default_rng(0), 3)
    np.testing.assert_array_equal(exact, np.tile(prob.start, (3, 1)))
