"""``problems.testing.check_problem`` over the whole registry, and against broken toy problems."""

import numpy as np
import pytest

import problems
from problems.functions import FunctionProblem
from problems.testing import check_problem
from tests.problems.cases import CASES, IDS


@pytest.mark.parametrize(("name", "kwargs"), CASES, ids=IDS)
def test_every_case_passes(name, kwargs):
    check_problem(name, **kwargs)


@pytest.mark.parametrize("name", problems.names())
def test_every_problem_passes_with_its_defaults(name):
    """MNIST at its defaults too (float32: the gradient check rebuilds it in float64)."""
    check_problem(name)


class Square(FunctionProblem):
    """f(x) = sum(x**2), a correct toy; subclasses break one rule each."""

    description = "sum of squares"
    start = np.array([1.0, -2.0])
    minimizer = np.zeros(2)
    domain = (-3.0, 3.0)

    def __init__(self, *, noise: float = 0.0):
        self.dim = 2
        self._check_noise(noise, None)

    def _value_and_grad(self, x):
        return np.sum(x**2, axis=-1), 2.0 * x


class WrongGradient(Square):
    def _value_and_grad(self, x):
        return np.sum(x**2, axis=-1), 2.001 * x


class MixesRuns(Square):
    def _value_and_grad(self, x):
        value, grad = super()._value_and_grad(x)
        return value, grad + 1e-3 * x.mean(axis=0)  # every run sees the others


class UndocumentedMetric(Square):
    def evaluate(self, params):
        return {**super().evaluate(params), "validation_loss": self.value(params[0])}


class LoudDivergence(Square):
    def value_and_grad(self, points):
        return self._value_and_grad(np.asarray(points, dtype=np.float64))  # no np.errstate


class UnorderedTargets(Square):
    targets = (1e-3, 1e-1)


@pytest.mark.parametrize(
    ("toy", "message"),
    [
        (WrongGradient, "gradient disagrees with central differences"),
        (MixesRuns, "runs mix: perturbing run"),
        (UndocumentedMetric, "evaluate gave"),
        (LoudDivergence, "diverged parameters raised"),
        (UnorderedTargets, "must decrease"),
    ],
)
def test_a_broken_problem_fails(toy, message):
    problems.register("square", Square)
    check_problem("square")
    problems.register("toy", toy)
    with pytest.raises(AssertionError, match=message) as info:
        check_problem("toy")
    assert "problem 'toy'" in str(info.value)


def test_a_kink_within_the_step_is_not_a_wrong_gradient():
    """|x| near 0: the first directions cross the kink; later ones, drawn afresh, may not."""

    class Kinked(Square):
        def _value_and_grad(self, x):
            return np.sum(np.abs(x - 1e-6), axis=-1), np.sign(x - 1e-6)

    prob = problems.register("kinked", Kinked)()
    rng = np.random.default_rng(0)
    smooth_point = [np.full((3, 2), 0.5)]
    problems.testing.check_gradient(prob, smooth_point, rng=rng)
    at_the_kink = [np.zeros((3, 2))]
    with pytest.raises(AssertionError, match="not smooth"):
        problems.testing.check_gradient(prob, at_the_kink, rng=rng)
