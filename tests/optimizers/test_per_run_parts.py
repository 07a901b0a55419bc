"""Per-run values in schedules and clipping, and the validation of per-run arrays.

Hypothesis draws schedules of every kind (or strategies of one clipping kind) with random float
parameters, run counts and a partition into groups: each run's multiplier (or clipped gradient)
must be, bit for bit, what its own schedule (strategy) gives stacked alone and built from numbers.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import optimizers
import optimizers._validate
import problems._validate
from optimizers import clipping, schedules

SETTINGS = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
UNIT = st.floats(0.0, 1.0)
POSITIVE = st.floats(1e-3, 10.0)
SCHEDULES = {
    "constant": st.fixed_dictionaries({}),
    "step": st.fixed_dictionaries({"step_size": st.integers(1, 5), "gamma": POSITIVE}),
    "multistep": st.fixed_dictionaries({"milestones": st.just((2, 5)), "gamma": POSITIVE}),
    "exponential": st.fixed_dictionaries({"gamma": st.floats(0.5, 1.0)}),
    "inverse_time": st.fixed_dictionaries({"decay_rate": st.floats(0.0, 2.0)}),
    "cosine": st.fixed_dictionaries({"T_max": st.integers(1, 9), "min_factor": UNIT}),
    "warmup_cosine": st.fixed_dictionaries(
        {"warmup_steps": st.integers(0, 3), "T_max": st.integers(4, 9), "min_factor": UNIT}
    ),
}
CLIPPING = {
    "none": {},
    "value": {"clip_value": POSITIVE},
    "norm": {"max_norm": POSITIVE},
    "global_norm": {"max_norm": POSITIVE},
    "normalize": {"eps": st.floats(1e-8, 1.0)},
    "agc": {"clip_factor": st.floats(1e-3, 1.0), "eps": st.floats(1e-4, 1.0)},
}


def test_every_schedule_and_clipping_kind_is_drawn():
    assert sorted(SCHEDULES) == schedules.names()
    assert sorted(CLIPPING) == clipping.names()


@st.composite
def partitions(draw, count):
    runs = draw(st.lists(st.integers(1, 3), min_size=count, max_size=count))
    labels = draw(st.lists(st.integers(0, count - 1), min_size=count, max_size=count))
    order = draw(st.permutations(range(count)))
    return runs, [[i for i in order if labels[i] == label] for label in sorted(set(labels))]


def slices(members, runs):
    starts = np.cumsum([0] + [runs[i] for i in members])
    return {i: slice(starts[j], starts[j + 1]) for j, i in enumerate(members)}


@SETTINGS
@given(data=st.data())
def test_stacked_schedules_of_any_kinds_give_each_run_its_own_multiplier(data):
    count = data.draw(st.integers(1, 5))
    kinds = data.draw(st.lists(st.sampled_from(sorted(SCHEDULES)), min_size=count, max_size=count))
    built = [schedules.create(kind, **data.draw(SCHEDULES[kind])) for kind in kinds]
    runs, groups = data.draw(partitions(count))
    for members in groups:
        group = optimizers.stack_schedules([built[i] for i in members], [runs[i] for i in members])
        for t in range(12):
            together = group(t)
            assert together.dtype == np.float64 and together.shape == (group.runs,)
            for i, where in slices(members, runs).items():
                alone = optimizers.stack_schedules([built[i]], [runs[i]])(t)
                assert np.array_equal(together[where], alone), (kinds[i], t)
                assert np.array_equal(alone, np.full(runs[i], built[i](t))), (kinds[i], t)


def test_a_schedule_takes_per_run_parameters():
    sched = schedules.create("exponential", gamma=np.array([0.5, 0.25]))
    np.testing.assert_array_equal(sched(2), [0.25, 0.0625])
    with pytest.raises(ValueError, match=r"schedule 'exponential': gamma\[1\]=0.0 is out of range"):
        schedules.create("exponential", gamma=np.array([0.5, 0.0]))
    with pytest.raises(ValueError, match="schedules.stack: 1 schedules for run counts"):
        optimizers.stack_schedules([sched], [1, 1])


@SETTINGS
@given(data=st.data(), dtype=st.sampled_from([np.float32, np.float64]))
def test_stacked_clipping_clips_each_run_as_alone(data, dtype):
    kind = data.draw(st.sampled_from(sorted(CLIPPING)))
    count = data.draw(st.integers(1, 4))
    built = [
        clipping.create(kind, **data.draw(st.fixed_dictionaries(CLIPPING[kind])))
        for _ in range(count)
    ]
    runs, groups = data.draw(partitions(count))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    shapes = [(5,), (3, 4)]
    params = [[rng.standard_normal((n, *s)).astype(dtype) for s in shapes] for n in runs]
    grads = [[(3 * rng.standard_normal((n, *s))).astype(dtype) for s in shapes] for n in runs]
    for members in groups:
        group = optimizers.stack_clipping([built[i] for i in members], [runs[i] for i in members])
        together = [np.concatenate([grads[i][k] for i in members]) for k in range(2)]
        group(together, [np.concatenate([params[i][k] for i in members]) for k in range(2)])
        for i, where in slices(members, runs).items():
            alone = [g.copy() for g in grads[i]]
            optimizers.stack_clipping([built[i]], [runs[i]])(alone, params[i])
            plain = [g.copy() for g in grads[i]]
            built[i](plain, params[i])
            for k in range(2):
                assert together[k].dtype == dtype
                assert np.array_equal(together[k][where], alone[k]), (kind, k)
                assert np.array_equal(alone[k], plain[k]), (kind, k)


def test_clipping_kinds_never_stack():
    with pytest.raises(ValueError, match="'norm' and 'global_norm' differ"):
        optimizers.stack_clipping(
            [clipping.create("norm", max_norm=1.0), clipping.create("global_norm", max_norm=1.0)],
            [1, 1],
        )
    stacked = optimizers.stack_clipping([clipping.create("agc"), clipping.create("agc")], [2, 1])
    assert stacked.clip_factor.shape == (3,) and stacked.eps.dtype == np.float64


def test_per_run_arrays_are_checked_value_by_value():
    with pytest.raises(ValueError, match=r"adam: betas\[0\]\[2\]=1.0 is out of range; allowed"):
        optimizers.create("adam", betas=(np.array([0.9, 0.8, 1.0]), 0.999))
    with pytest.raises(ValueError, match=r"sgd: lr\[1\]=nan is out of range"):
        optimizers.create("sgd", lr=np.array([0.1, np.nan]))
    with pytest.raises(ValueError, match=r"lr must be a number or a 1-D array .* shape \(2, 1\)"):
        optimizers.create("sgd", lr=np.ones((2, 1)))
    with pytest.raises(ValueError, match="lr must be a number or a 1-D array"):
        optimizers.create("sgd", lr=np.array([True, False]))
    with pytest.raises(ValueError, match=r"rprop: etas=.* must satisfy 0 < etaminus < 1"):
        optimizers.create("rprop", etas=(np.array([0.5, 0.5]), np.array([1.2, 0.9])))
    opt = optimizers.create("sgd", lr=np.array([0.1, 0.2], dtype=np.float32))
    assert opt.lr.dtype == np.float64 and not opt.lr.flags.writeable


@pytest.mark.parametrize(
    "value", [0.5, np.array([0.5, 1.5]), np.array([]), np.array([[0.5]]), np.array([0.5, np.inf])]
)
@pytest.mark.parametrize("bounds", [(), (0.0, 1.0), (0.0, 1.0, True, True)])
def test_the_two_copies_of_check_numbers_agree(value, bounds):
    """problems keeps a copy of optimizers._validate (tests/problems/test_shared_copies.py)."""

    def outcome(module):
        try:
            result = module.check_numbers("owner", "x", value, *bounds)
        except ValueError as error:
            return str(error)
        return repr(result)

    assert outcome(optimizers._validate) == outcome(problems._validate)
