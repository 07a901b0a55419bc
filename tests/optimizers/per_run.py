"""Per-run hyperparameters set on a built rule, before ``optimizers.create`` validates arrays.

The rules of this change compute their coefficients with NumPy, so a (R,) array of values works
wherever a float does; these helpers set such arrays on a rule built with floats (the base class's
validation of arrays is another change), so that tests can compare runs stacked together with
each run stacked alone (the contract's bit-identity).
"""

import copy

import numpy as np


def with_per_run(opt, **values):
    """A copy of ``opt`` whose named hyperparameters are the given per-run arrays (or tuples)."""
    clone = copy.copy(opt)
    for name, value in values.items():
        object.__setattr__(clone, name, value)
    return clone


def run_values(values: dict, run: int) -> dict:
    """Run ``run``'s slice (shape (1,)) of each per-run array (each element of a tuple of them):
    that run's configuration stacked alone."""

    def pick(value):
        if isinstance(value, tuple):
            return tuple(pick(v) for v in value)
        return value[run : run + 1] if isinstance(value, np.ndarray) else value

    return {name: pick(value) for name, value in values.items()}


def assert_coefficients_per_run(opt, values: dict, lrs: np.ndarray, shapes, steps: int = 40):
    """Over ``steps`` steps, ``opt`` with the per-run ``values`` and per-run lr ``lrs * t`` gives,
    run by run, the coefficients of that run's configuration stacked alone, bit for bit."""
    runs = len(lrs)
    stacked = with_per_run(opt, **values)
    state = stacked.init([np.ones(s) for s in shapes])
    alone = [with_per_run(opt, **run_values(values, run)) for run in range(runs)]
    states = [rule.init([np.ones((1, *s[1:])) for s in shapes]) for rule in alone]
    for step in range(1, steps + 1):
        state.step = step
        got = stacked.coefficients(state, lrs * step)
        for run, (rule, own) in enumerate(zip(alone, states, strict=True)):
            own.step = step
            expected = rule.coefficients(own, lrs[run : run + 1] * step)
            assert expected.keys() == got.keys()
            for key, value in expected.items():
                if value is None or isinstance(value, bool):
                    assert got[key] is value, key
                    continue
                assert np.shape(got[key]) in ((), (runs,)), key
                assert np.broadcast_to(got[key], (runs,))[run] == np.asarray(value).item(), key
