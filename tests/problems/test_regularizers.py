"""Tests for problems.regularizers: finite differences, the weight-only convention, errors."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from problems.regularizers import create, group_signature, names, regularize, stack

RUNS = 3
PENALTIES = ["l1", "l2", "elastic_net"]


def make_params(seed=0, runs=RUNS, dtype=np.float64):
    """A weight (R, 4, 5), a 4-D weight (R, 2, 3, 2) and a bias (R, 5), all with |w| >= 0.5."""
    rng = np.random.default_rng(seed)
    shapes = [(runs, 4, 5), (runs, 2, 3, 2), (runs, 5)]
    params = []
    for shape in shapes:
        magnitude = rng.uniform(0.5, 1.5, size=shape)
        params.append((rng.choice([-1.0, 1.0], size=shape) * magnitude).astype(dtype))
    return params


def penalty_of(name, params, **kwargs):
    return regularize(name, params, [np.zeros_like(p) for p in params], **kwargs)


def test_names():
    assert names() == ["elastic_net", "l1", "l2", "none"]


@pytest.mark.parametrize("name", PENALTIES)
def test_gradient_matches_central_differences(name):
    params = make_params()
    grads = [np.zeros_like(p) for p in params]
    regularize(name, params, grads, strength=0.3, l1_ratio=0.3)
    rng = np.random.default_rng(1)
    eps = 1e-5  # |w| >= 0.5, so w +- eps * v never crosses 0 and |w| is linear there
    for _ in range(4):
        directions = [rng.standard_normal(p.shape) for p in params]
        plus = [p + eps * v for p, v in zip(params, directions, strict=True)]
        minus = [p - eps * v for p, v in zip(params, directions, strict=True)]
        numeric = (
            penalty_of(name, plus, strength=0.3, l1_ratio=0.3)
            - penalty_of(name, minus, strength=0.3, l1_ratio=0.3)
        ) / (2 * eps)
        analytic = sum(
            (g * v).reshape(RUNS, -1).sum(axis=1) for g, v in zip(grads, directions, strict=True)
        )
        np.testing.assert_allclose(analytic, numeric, rtol=1e-6)


def test_penalty_values_by_hand():
    params = make_params()
    weights = params[:2]  # the bias is not penalized
    abs_sum = sum(np.abs(w).reshape(RUNS, -1).sum(axis=1) for w in weights)
    sq_sum = sum((w**2).reshape(RUNS, -1).sum(axis=1) for w in weights)
    np.testing.assert_allclose(penalty_of("l1", params, strength=0.2), 0.2 * abs_sum, rtol=1e-12)
    np.testing.assert_allclose(penalty_of("l2", params, strength=0.2), 0.1 * sq_sum, rtol=1e-12)
    np.testing.assert_allclose(
        penalty_of("elastic_net", params, strength=0.2, l1_ratio=0.25),
        0.2 * (0.25 * abs_sum + 0.75 / 2 * sq_sum),
        rtol=1e-12,
    )


@pytest.mark.parametrize("name", PENALTIES)
def test_gradient_is_added_in_place(name):
    params = make_params()
    start = [np.random.default_rng(2).standard_normal(p.shape) for p in params]
    grads = [g.copy() for g in start]
    ids = [id(g) for g in grads]
    regularize(name, params, grads, strength=0.5, l1_ratio=0.4)
    assert [id(g) for g in grads] == ids
    l1, l2 = {"l1": (0.5, 0.0), "l2": (0.0, 0.5), "elastic_net": (0.2, 0.3)}[name]
    for w, g0, g in zip(params[:2], start[:2], grads[:2], strict=True):
        np.testing.assert_allclose(g, g0 + l1 * np.sign(w) + l2 * w, rtol=1e-12)


@pytest.mark.parametrize("name", names())
def test_two_dimensional_arrays_are_skipped(name):
    bias, coords = np.ones((RUNS, 5)), np.full((RUNS, 2), 3.0)
    grads = [np.full((RUNS, 5), 0.25), np.full((RUNS, 2), -1.0)]
    penalty = regularize(name, [bias, coords], grads, strength=1.0)
    np.testing.assert_array_equal(penalty, np.zeros(RUNS))
    np.testing.assert_array_equal(grads[0], np.full((RUNS, 5), 0.25))
    np.testing.assert_array_equal(grads[1], np.full((RUNS, 2), -1.0))


def test_none_returns_zeros_and_leaves_grads():
    params = make_params()
    grads = [np.ones_like(p) for p in params]
    penalty = regularize("none", params, grads, strength=10.0)
    assert penalty.shape == (RUNS,)
    np.testing.assert_array_equal(penalty, 0.0)
    for g in grads:
        np.testing.assert_array_equal(g, 1.0)


@pytest.mark.parametrize("name", names())
def test_penalty_shape_is_runs(name):
    assert penalty_of(name, make_params(runs=5), strength=0.1).shape == (5,)


@pytest.mark.parametrize("name", PENALTIES)
def test_runs_are_independent(name):
    params = make_params()
    grads = [np.zeros_like(p) for p in params]
    stacked = regularize(name, params, grads, strength=0.7, l1_ratio=0.6)
    for r in range(RUNS):
        single = [p[r : r + 1].copy() for p in params]
        single_grads = [np.zeros_like(p) for p in single]
        penalty = regularize(name, single, single_grads, strength=0.7, l1_ratio=0.6)
        np.testing.assert_allclose(penalty, stacked[r : r + 1], rtol=1e-12)
        for g, g_stacked in zip(single_grads, grads, strict=True):
            np.testing.assert_allclose(g[0], g_stacked[r], rtol=1e-12)


def test_elastic_net_endpoints_are_l1_and_l2():
    params = make_params()
    for ratio, pure in [(1.0, "l1"), (0.0, "l2")]:
        g_mix, g_pure = [np.zeros_like(p) for p in params], [np.zeros_like(p) for p in params]
        mix = regularize("elastic_net", params, g_mix, strength=0.4, l1_ratio=ratio)
        ref = regularize(pure, params, g_pure, strength=0.4)
        np.testing.assert_allclose(mix, ref, rtol=1e-12)
        for a, b in zip(g_mix, g_pure, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-12)


def test_l1_subgradient_at_zero_is_zero():
    W = np.zeros((2, 3, 3))
    grads = [np.zeros_like(W)]
    penalty = regularize("l1", [W], grads, strength=1.0)
    np.testing.assert_array_equal(penalty, 0.0)
    np.testing.assert_array_equal(grads[0], 0.0)


def test_float32_and_non_contiguous_weights():
    params = make_params(dtype=np.float32)
    transposed = np.swapaxes(params[0], 1, 2)  # a non-contiguous view
    grads = [np.zeros_like(transposed)]
    penalty = regularize("elastic_net", [transposed], grads, strength=0.5)
    assert grads[0].dtype == np.float32 and penalty.dtype == np.float64
    w = transposed.astype(np.float64)
    expected = 0.5 * (0.5 * np.abs(w).sum(axis=(1, 2)) + 0.25 * (w**2).sum(axis=(1, 2)))
    np.testing.assert_allclose(penalty, expected, rtol=1e-5)
    np.testing.assert_allclose(grads[0], 0.5 * (0.5 * np.sign(w) + 0.5 * w), rtol=1e-6)


def test_unknown_name_suggests_closest():
    with pytest.raises(ValueError, match=r"unknown regularizer 'l3' \(did you mean") as info:
        penalty_of("l3", make_params(), strength=0.1)
    assert "'l1'" in str(info.value) and "'l2'" in str(info.value)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"strength": -0.1}, r"strength=-0.1 is out of range; allowed \[0, inf\)"),
        ({"strength": float("inf")}, r"strength=inf is out of range"),
        ({"strength": float("nan")}, r"strength=nan is out of range"),
        ({"strength": "0.1"}, "strength must be a number"),
        ({"strength": True}, "strength must be a number"),
        ({"strength": 0.1, "l1_ratio": 1.5}, r"l1_ratio=1.5 is out of range; allowed \[0, 1\]"),
        ({"strength": 0.1, "l1_ratio": -0.5}, r"l1_ratio=-0.5 is out of range"),
    ],
)
def test_bad_numbers(kwargs, message):
    with pytest.raises(ValueError, match=message):
        penalty_of("elastic_net", make_params(), **kwargs)


def test_bad_arrays():
    params = make_params()
    with pytest.raises(ValueError, match="empty"):
        regularize("l2", [], [], strength=0.1)
    with pytest.raises(ValueError, match="3 params but 2 grads"):
        regularize("l2", params, [np.zeros_like(p) for p in params[:2]], strength=0.1)
    with pytest.raises(ValueError, match="runs axis"):
        regularize("l2", params, [np.zeros((RUNS, 5, 4))] + params[1:], strength=0.1)


# Per-run strengths (run groups): a run's penalty and gradient do not depend on its company.

STRENGTHS = {"l1": {}, "l2": {}, "elastic_net": {"l1_ratio": (0.1, 0.9)}}


@settings(max_examples=25, deadline=None, derandomize=True, database=None)
@given(data=st.data(), dtype=st.sampled_from([np.float32, np.float64]))
def test_stacked_regularizers_penalize_each_run_as_alone(data, dtype):
    name = data.draw(st.sampled_from(sorted(STRENGTHS)))
    count = data.draw(st.integers(1, 4))
    keywords = []
    for _ in range(count):
        keyword = {"strength": data.draw(st.floats(1e-4, 2.0))}
        for field, (low, high) in STRENGTHS[name].items():
            keyword[field] = data.draw(st.floats(low, high))
        keywords.append(keyword)
    built = [create(name, **kw) for kw in keywords]
    runs = data.draw(st.lists(st.integers(1, 3), min_size=count, max_size=count))
    labels = data.draw(st.lists(st.integers(0, count - 1), min_size=count, max_size=count))
    params = [make_params(seed=i, runs=n, dtype=dtype) for i, n in enumerate(runs)]
    for label in sorted(set(labels)):
        members = [i for i in data.draw(st.permutations(range(count))) if labels[i] == label]
        group = stack([built[i] for i in members], [runs[i] for i in members])
        together = [np.concatenate([params[i][k] for i in members]) for k in range(3)]
        grads = [np.ones_like(p) for p in together]
        penalty = group(together, grads)
        start = 0
        for i in members:
            where = slice(start, start + runs[i])
            start += runs[i]
            alone_grads = [np.ones_like(p) for p in params[i]]
            alone = stack([built[i]], [runs[i]])(params[i], alone_grads)
            plain_grads = [np.ones_like(p) for p in params[i]]
            plain = regularize(name, params[i], plain_grads, **keywords[i])
            assert np.array_equal(penalty[where], alone) and np.array_equal(alone, plain)
            for k in range(3):
                assert grads[k].dtype == dtype
                assert np.array_equal(grads[k][where], alone_grads[k])
                assert np.array_equal(alone_grads[k], plain_grads[k])


def test_regularize_takes_per_run_strengths():
    params = make_params(runs=2)
    grads = [np.zeros_like(p) for p in params]
    strength = np.array([0.1, 0.2])
    penalty = regularize("l2", params, grads, strength=strength)
    for r in range(2):
        alone = [np.zeros_like(p[r : r + 1]) for p in params]
        one = regularize("l2", [p[r : r + 1] for p in params], alone, strength=strength[r])
        np.testing.assert_array_equal(penalty[r], one[0])
        np.testing.assert_array_equal(grads[0][r], alone[0][0])
    with pytest.raises(ValueError, match=r"regularizer 'l2': strength\[1\]=-1.0 is out of range"):
        regularize("l2", params, grads, strength=np.array([0.1, -1.0]))


def test_zero_and_nonzero_strengths_or_kinds_never_stack():
    assert group_signature(create("l2", strength=0.0)) == ("l2", True, True)
    with pytest.raises(ValueError, match="regularizers 0 and 1 cannot share a group"):
        stack([create("l2", strength=0.1), create("l2", strength=0.0)], [1, 1])
    with pytest.raises(ValueError, match="regularizers 0 and 1 cannot share a group"):
        stack([create("l2", strength=0.1), create("l1", strength=0.1)], [1, 1])
    with pytest.raises(ValueError, match="regularizers 0 and 1 cannot share a group"):
        net = [create("elastic_net", strength=0.1, l1_ratio=r) for r in (0.5, 1.0)]
        stack(net, [1, 1])
    both = stack([create("l1", strength=0.1), create("l1", strength=np.array([0.2, 0.3]))], [1, 2])
    np.testing.assert_array_equal(both.strength, [0.1, 0.2, 0.3])
