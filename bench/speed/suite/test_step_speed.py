"""``step`` of every registered optimizer, float32: one array of N = 10^3, 10^5 and 10^6
parameters (one run), and N = 2 with R = 1,000 stacked runs, the small-problem regime."""

import numpy as np
import pytest

import optimizers
from bench.speed.suite.measuring import array_bytes

SHAPES = {"1e3": (1, 10**3), "1e5": (1, 10**5), "1e6": (1, 10**6), "R1000x2": (1000, 2)}


@pytest.mark.parametrize("size", SHAPES)
@pytest.mark.parametrize("name", optimizers.names())
def test_step(measure, name, size):
    shape = SHAPES[size]
    rng = np.random.default_rng(0)
    params = [rng.standard_normal(shape).astype(np.float32)]
    grads = [rng.standard_normal(shape).astype(np.float32)]
    opt = optimizers.create(name)
    state = opt.init(params)
    measure(
        lambda: opt.step(params, grads, state),
        nbytes=array_bytes(params, grads, state),
        params=int(np.prod(shape)),
    )
