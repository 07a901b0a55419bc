"""``loss_and_grad`` of every registered problem at its default size, on its full training set
(one run)."""

import numpy as np
import pytest

import problems
from bench.speed.suite.measuring import array_bytes


@pytest.mark.parametrize("name", problems.names())
def test_loss_and_grad(measure, name):
    prob = problems.create(name)
    params = prob.init_params(np.random.default_rng(0), 1)
    data = [getattr(prob, "X_train", None), getattr(prob, "y_train", None)]
    measure(lambda: prob.loss_and_grad(params), nbytes=2 * array_bytes(params) + array_bytes(data))
