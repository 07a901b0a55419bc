"""Per-run hyperparameters (run groups): a run's numbers do not depend on its company.

For every registered rule, hypothesis draws configurations of one group signature (a row of CASES
with every nonzero continuous hyperparameter rescaled at random, within its valid range), run
counts, a random partition of the configurations into groups and a random order inside each group.
Stepped for 20 steps with a per-step lr array, each group's runs must equal, bit for bit in float32
and float64, the same configuration stacked alone and the same configuration built from Python
numbers by ``optimizers.create``: params, every state buffer, the state's scalars and the
evaluation point (``eval_params``: schedule-free's x, Lookahead's slow weights).
"""

import dataclasses

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import optimizers
from optimizers import blocked, per_run
from tests.optimizers.cases import CASES

STEPS = 20
SHAPES = ((5,), (3, 4))  # per run: a vector and a matrix (factored, trust-ratio scaled)
ROWS = {name: [kw for n, kw in CASES if n == name] for name in optimizers.names()}
SETTINGS = settings(
    max_examples=10,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def rescaled(name, row, log_factors):
    """The configuration of ``row`` with each nonzero continuous hyperparameter multiplied by
    exp(factor), the factor halved until the configuration is valid (zeros stay zero, so the
    signature is the row's)."""
    kw = optimizers.create(name, **row).hyperparameters()
    factors = iter(log_factors)
    for field, value in kw.items():
        parts = list(value) if isinstance(value, tuple) else [value]
        for k, part in enumerate(parts):
            if not (per_run.is_continuous(part) and part != 0.0):
                continue
            factor = next(factors, 0.0)
            for shrink in (1.0, 0.5, 0.25, 0.125, 0.0):
                parts[k] = part * float(np.exp(factor * shrink))
                candidate = {**kw, field: tuple(parts) if isinstance(value, tuple) else parts[0]}
                try:
                    optimizers.create(name, **candidate)
                except ValueError:
                    continue
                kw = candidate
                break
    return kw


@st.composite
def sweeps(draw, name):
    """Configurations of one signature, their run counts, and a partition into ordered groups."""
    row = draw(st.sampled_from(ROWS[name]))
    count = draw(st.integers(1, 4))
    factors = st.lists(st.floats(-1.0, 1.0), min_size=6, max_size=6)
    configs = [rescaled(name, row, draw(factors)) for _ in range(count)]
    if draw(st.booleans()):  # equal hyperparameters, but each its own per-step lr
        configs = [configs[0]] * count
    runs = draw(st.lists(st.integers(1, 3), min_size=count, max_size=count))
    labels = draw(st.lists(st.integers(0, count - 1), min_size=count, max_size=count))
    order = draw(st.permutations(range(count)))
    groups = [[i for i in order if labels[i] == label] for label in sorted(set(labels))]
    return configs, runs, groups, draw(st.integers(0, 2**16)), draw(st.booleans())


def inputs(seed, index, runs, dtype, base_lr):
    """Configuration ``index``'s initial params, gradients, per-step lr factors and base lr."""
    rng = np.random.default_rng([seed, index])
    params = [rng.standard_normal((runs, *s)).astype(dtype) for s in SHAPES]
    grads = [
        [(rng.standard_normal((runs, *s)) * np.exp(rng.normal())).astype(dtype) for s in SHAPES]
        for _ in range(STEPS)
    ]
    return params, grads, rng.uniform(0.5, 1.5, STEPS), base_lr


def stacked(name, configs, runs, members):
    return optimizers.stack(
        [optimizers.create(name, **configs[i]) for i in members], [runs[i] for i in members]
    )


def step_group(opt, members, data, runs, plain_lr=False):
    """Step ``opt`` on the members' runs concatenated, with their per-step lrs: a (R,) array,
    or with ``plain_lr`` (one member built from numbers) a Python float."""
    params = [np.concatenate([data[i][0][k] for i in members]) for k in range(len(SHAPES))]
    base = np.concatenate([np.full(runs[i], data[i][3]) for i in members])
    state = opt.init(params)
    # As the engine steps (bench/run/engine.py): a drawn configuration may diverge (Muon with
    # rescaled ns_coefficients overflows), and its infs and NaNs must match as well.
    with np.errstate(all="ignore"):
        for t in range(STEPS):
            grads = [
                np.concatenate([data[i][1][t][k] for i in members]) for k in range(len(SHAPES))
            ]
            factors = np.concatenate([np.full(runs[i], data[i][2][t]) for i in members])
            lr = base * factors
            opt.step(params, grads, state, lr=float(lr[0]) if plain_lr else lr)
    return params, state, opt.eval_params(params, state)


def run_slices(members, runs):
    starts = np.cumsum([0] + [runs[i] for i in members])
    return {i: slice(starts[j], starts[j + 1]) for j, i in enumerate(members)}


def assert_same_run(name, got, want, where, dtype):
    (params, state, evaluated), (want_params, want_state, want_evaluated) = got, want
    for k, (a, b) in enumerate(zip(params, want_params, strict=True)):
        assert a.dtype == dtype and b.dtype == dtype, f"{name}: params became {a.dtype}"
        assert np.array_equal(a[where], b, equal_nan=True), f"{name}: params[{k}] differ"
    for k, (a, b) in enumerate(zip(evaluated, want_evaluated, strict=True)):
        assert a.dtype == dtype, f"{name}: eval_params became {a.dtype}"
        assert np.array_equal(a[where], b, equal_nan=True), f"{name}: eval_params[{k}] differ"
    assert state.buffers.keys() == want_state.buffers.keys()
    for key, arrays in want_state.buffers.items():
        for a, b in zip(state.buffers[key], arrays, strict=True):
            if b is not None:
                assert a.dtype == b.dtype == dtype, f"{name}: state {key} is {a.dtype}"
                assert np.array_equal(a[where], b, equal_nan=True), f"{name}: state {key} differs"
    for key, value in want_state.scalars.items():
        mine = np.broadcast_to(state.scalars[key], (len(params[0]),))[where]
        assert np.array_equal(mine, np.broadcast_to(value, mine.shape)), f"{name}: {key} differs"


def check_sweep(name, sweep):
    configs, runs, groups, seed, blocks = sweep
    for dtype in (np.float32, np.float64):
        data = [inputs(seed, i, runs[i], dtype, kw["lr"]) for i, kw in enumerate(configs)]
        with blocked.block_bytes(16 if blocks else blocked.BLOCK_BYTES, 0 if blocks else None):
            alone = {}
            for i in range(len(configs)):
                alone[i] = step_group(stacked(name, configs, runs, [i]), [i], data, runs)
                plain = optimizers.create(name, **configs[i])
                assert_same_run(
                    name + " (plain create)",
                    alone[i],
                    step_group(plain, [i], data, runs, plain_lr=True),
                    slice(None),
                    dtype,
                )
            for members in groups:
                together = step_group(stacked(name, configs, runs, members), members, data, runs)
                for i, where in run_slices(members, runs).items():
                    assert_same_run(f"{name} {configs[i]}", together, alone[i], where, dtype)


@pytest.mark.parametrize("name", optimizers.names())
@SETTINGS
@given(data=st.data())
def test_a_run_does_not_depend_on_its_group(name, data):
    """Every registered rule; hypothesis draws the sweep and its partition into groups."""
    check_sweep(name, data.draw(sweeps(name)))


def test_stack_makes_every_continuous_field_a_per_run_array():
    a = optimizers.create("adam", lr=0.01, weight_decay=0.1)
    b = optimizers.create("adam", lr=0.02, weight_decay=0.2, betas=(0.8, 0.99))
    stacked = optimizers.stack([a, b], [2, 1])
    np.testing.assert_array_equal(stacked.lr, [0.01, 0.01, 0.02])
    np.testing.assert_array_equal(stacked.betas[0], [0.9, 0.9, 0.8])
    np.testing.assert_array_equal(stacked.eps, [1e-8] * 3)
    assert stacked.amsgrad is False and stacked.lr.dtype == np.float64
    alone = optimizers.stack([a], [3])
    assert isinstance(alone.weight_decay, np.ndarray) and alone.weight_decay.shape == (3,)
    assert not alone.lr.flags.writeable  # a frozen dataclass holds read-only arrays
    again = optimizers.stack([stacked, a], [3, 1])  # a configuration may bring its runs' values
    np.testing.assert_array_equal(again.lr, [0.01, 0.01, 0.02, 0.01])


@pytest.mark.parametrize("name", optimizers.names())
def test_configurations_of_different_signatures_never_stack(name):
    """A zero and a nonzero value of a field, a different boolean, or another rule."""
    default = optimizers.create(name)
    hyper = default.hyperparameters()
    differing = []
    for field, value in hyper.items():
        if isinstance(value, bool):
            changed = not value
        elif per_run.is_continuous(value) and value == 0.0:
            changed = 0.1
        else:
            continue
        try:
            differing.append((field, dataclasses.replace(default, **{field: changed})))
        except ValueError:  # nesterov=False is invalid for the nesterov rule, and so on
            continue
    differing.append(("rule", optimizers.create("sgd" if name != "sgd" else "adam")))
    for field, other in differing:
        with pytest.raises(
            ValueError, match=r"optimizers.stack: configurations 0 and 1 cannot share"
        ):
            optimizers.stack([default, other], [1, 1])
        assert optimizers.group_signature(default) != optimizers.group_signature(other), field


def test_signature_holds_the_structure_and_zero_ness():
    opt = optimizers.create("sgd", lr=0.1, momentum=0.9, nesterov=True)
    rule, structural, zeros = optimizers.group_signature(opt)
    assert rule == "sgd" and ("nesterov", True) in structural
    assert dict(zeros) == {"lr": False, "momentum": False, "dampening": True, "weight_decay": True}
    same = optimizers.create("sgd", lr=0.3, momentum=0.5, nesterov=True)
    assert optimizers.group_signature(same) == optimizers.group_signature(opt)
    with pytest.raises(ValueError, match="weight_decay is zero in one and nonzero in the other"):
        decayed = optimizers.create("sgd", momentum=0.5, weight_decay=0.1, nesterov=True)
        optimizers.stack([opt, decayed], [1, 1])
    with pytest.raises(ValueError, match="nesterov is True in one and False in the other"):
        optimizers.stack([opt, optimizers.create("sgd", momentum=0.5)], [1, 1])
    with pytest.raises(ValueError, match="eps is None in one and nonzero in the other"):
        optimizers.stack(
            [optimizers.create("prodigy", eps=None), optimizers.create("prodigy")], [1, 1]
        )
    with pytest.raises(ValueError, match="1 configurations but 2 run counts"):
        optimizers.stack([opt], [1, 2])
    with pytest.raises(ValueError, match="lr has 3 values for 2 runs"):
        optimizers.stack([optimizers.stack([opt], [3])], [2])


def test_float32_params_stay_float32_with_float64_per_run_values():
    opt = optimizers.stack(
        [optimizers.create("adam", lr=0.1), optimizers.create("adam", lr=0.2)], [1, 1]
    )
    params = [np.ones((2, 3), np.float32)]
    state = opt.init(params)
    opt.step(params, [np.ones((2, 3), np.float32)], state, lr=np.array([0.01, 0.02]))
    assert params[0].dtype == np.float32
    assert all(b[0].dtype == np.float32 for b in state.buffers.values())


def test_per_run_values_must_match_the_runs():
    opt = optimizers.stack([optimizers.create("sgd", lr=0.1), optimizers.create("sgd")], [1, 1])
    params = [np.ones((3, 2))]
    with pytest.raises(ValueError, match="sgd: a per-run hyperparameter has 2 values"):
        opt.step(params, [np.ones((3, 2))], opt.init(params))


def test_power_gives_each_run_the_bits_of_its_own_exponent():
    """NumPy's power takes shortcuts for a scalar exponent of 2, 0.5 or -1 that an array of
    exponents does not take: per_run.power gives every element the bits of its exponent alone."""
    rng = np.random.default_rng(0)
    bases = rng.uniform(0.0, 2.0, 2000)
    exponents = rng.choice([2.0, 0.5, -1.0, 1.7, 3.0], 2000)
    together = per_run.power(bases, exponents)
    alone = [per_run.power(float(b), float(e)) for b, e in zip(bases, exponents, strict=True)]
    assert np.array_equal(together, alone)
    scalar_base = per_run.power(0.9, exponents)
    assert np.array_equal(scalar_base, [per_run.power(0.9, float(e)) for e in exponents])
    assert isinstance(per_run.power(0.9, 3), float)
