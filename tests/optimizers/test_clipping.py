"""Gradient clipping against torch.nn.utils, by hand, its properties and its errors."""

import numpy as np
import pytest

from optimizers.clipping import clip, names

torch = pytest.importorskip("torch")

SHAPES = [(5, 3, 4), (5, 4), (5,)]  # 5 runs of: a 3x4 weight, a 4-vector, a scalar


def make_grads(seed, scale=1.0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return [(scale * rng.standard_normal(shape)).astype(dtype) for shape in SHAPES]


def per_run_global_norm(grads):
    runs = grads[0].shape[0]
    return np.sqrt(sum((g.reshape(runs, -1) ** 2).sum(axis=1) for g in grads))


def torch_clip_run_by_run(grads, torch_clip):
    """Apply ``torch_clip(list of tensors with .grad)`` to each run on its own."""
    out = [np.empty_like(g) for g in grads]
    for r in range(grads[0].shape[0]):
        tensors = []
        for g in grads:
            t = torch.nn.Parameter(torch.zeros(g.shape[1:], dtype=torch.float64))
            t.grad = torch.tensor(g[r])
            tensors.append(t)
        torch_clip(tensors)
        for o, t in zip(out, tensors, strict=True):
            o[r] = t.grad.numpy()
    return out


def mixed_grads(seed):
    # Runs 0, 2 large (clipped by every threshold used below), runs 1, 3 tiny, run 4 moderate.
    grads = make_grads(seed)
    for g in grads:
        g[0::2] *= 10.0
        g[1::2] *= 0.01
    return grads


@pytest.mark.parametrize("max_norm", [0.5, 2.0, 7.0])
def test_global_norm_matches_torch(max_norm):
    grads = mixed_grads(0)
    expected = torch_clip_run_by_run(
        grads, lambda ts: torch.nn.utils.clip_grad_norm_(ts, max_norm=max_norm)
    )
    clip("global_norm", grads, max_norm=max_norm)
    for g, e in zip(grads, expected, strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-13, atol=0)


@pytest.mark.parametrize("max_norm", [0.5, 2.0])
def test_norm_matches_torch_per_tensor(max_norm):
    grads = mixed_grads(1)

    def per_tensor(ts):
        for t in ts:
            torch.nn.utils.clip_grad_norm_([t], max_norm=max_norm)

    expected = torch_clip_run_by_run(grads, per_tensor)
    clip("norm", grads, max_norm=max_norm)
    for g, e in zip(grads, expected, strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-13, atol=0)


@pytest.mark.parametrize("clip_value", [0.05, 1.0])
def test_value_matches_torch(clip_value):
    grads = mixed_grads(2)
    expected = torch_clip_run_by_run(
        grads, lambda ts: torch.nn.utils.clip_grad_value_(ts, clip_value=clip_value)
    )
    clip("value", grads, clip_value=clip_value)
    for g, e in zip(grads, expected, strict=True):
        np.testing.assert_array_equal(g, e)


def test_global_norm_hand_computed():
    grads = [np.array([[3.0, 4.0], [0.3, 0.4]]), np.array([[12.0], [0.0]])]  # run norms 13, 0.5
    clip("global_norm", grads, max_norm=1.0)
    coef = 1.0 / (13.0 + 1e-6)
    np.testing.assert_allclose(grads[0], [[3 * coef, 4 * coef], [0.3, 0.4]], rtol=1e-15)
    np.testing.assert_allclose(grads[1], [[12 * coef], [0.0]], rtol=1e-15)


def test_norm_is_per_tensor():
    grads = [np.array([[3.0, 4.0]]), np.array([[0.6, 0.8]])]  # norms 5 and 1
    clip("norm", grads, max_norm=2.0)
    np.testing.assert_allclose(grads[0], [[1.2, 1.6]], rtol=1e-6)
    np.testing.assert_array_equal(grads[1], [[0.6, 0.8]])


@pytest.mark.parametrize("max_norm", [0.1, 1.0, 3.0])
def test_global_norm_after_clipping_equals_max_norm(max_norm):
    grads = make_grads(3, scale=100.0)
    clip("global_norm", grads, max_norm=max_norm)
    np.testing.assert_allclose(per_run_global_norm(grads), max_norm, rtol=1e-6)


@pytest.mark.parametrize(
    ("name", "kw"),
    [
        ("value", {"clip_value": 0.1}),
        ("norm", {"max_norm": 0.5}),
        ("global_norm", {"max_norm": 0.5}),
        ("normalize", {}),
        ("agc", {"clip_factor": 0.05}),
    ],
)
def test_clipping_twice_changes_nothing(name, kw):
    params = make_grads(4)
    grads = make_grads(5, scale=10.0)
    clip(name, grads, params=params, **kw)
    once = [g.copy() for g in grads]
    clip(name, grads, params=params, **kw)
    # torch's +1e-6 in the norm clipping denominators moves a clipped gradient by ~1e-6 / max_norm
    for g, o in zip(grads, once, strict=True):
        np.testing.assert_allclose(g, o, rtol=1e-5, atol=0)


@pytest.mark.parametrize(
    ("name", "kw"),
    [
        ("value", {"clip_value": 0.5}),
        ("norm", {"max_norm": 1.0}),
        ("global_norm", {"max_norm": 1.0}),
        ("agc", {"clip_factor": 0.1}),
    ],
)
def test_runs_are_independent(name, kw):
    params = [np.ones(shape) for shape in SHAPES]
    grads = make_grads(6, scale=0.01)
    for g in grads:
        g[2] *= 1e4  # only run 2 is large
    before = [g.copy() for g in grads]
    clip(name, grads, params=params, **kw)
    for g, b in zip(grads, before, strict=True):
        np.testing.assert_array_equal(np.delete(g, 2, axis=0), np.delete(b, 2, axis=0))
        assert np.abs(g[2]).max() < np.abs(b[2]).max()


def test_small_gradients_untouched():
    grads = make_grads(7, scale=1e-3)
    before = [g.copy() for g in grads]
    for name, kw in [("value", {"clip_value": 1.0}), ("norm", {"max_norm": 1.0})]:
        clip(name, grads, **kw)
    clip("global_norm", grads, max_norm=1.0)
    clip("none", grads)
    for g, b in zip(grads, before, strict=True):
        np.testing.assert_array_equal(g, b)


def test_normalize_gives_unit_norm():
    grads = make_grads(8, scale=3.0)
    direction = [g / per_run_global_norm(grads).reshape((-1,) + (1,) * (g.ndim - 1)) for g in grads]
    clip("normalize", grads)
    np.testing.assert_allclose(per_run_global_norm(grads), 1.0, rtol=1e-7)
    for g, d in zip(grads, direction, strict=True):
        np.testing.assert_allclose(g, d, rtol=1e-7)


def test_normalize_zero_gradient_stays_zero():
    grads = [np.zeros((2, 3))]
    clip("normalize", grads, eps=1e-8)
    np.testing.assert_array_equal(grads[0], 0.0)


def test_agc_hand_computed_matrix():
    # One run of a (fan_in=2, fan_out=3) weight; units are columns, norms over fan_in.
    W = np.array([[[3.0, 0.0, 0.0], [4.0, 1e-4, 1.0]]])  # column norms 5, 1e-4, 1
    G = np.array([[[0.6, 0.0, 0.01], [0.8, 1.0, 0.0]]])  # column norms 1, 1, 0.01
    clip("agc", [G], params=[W], clip_factor=0.1, eps=1e-3)
    # column 0: max_norm 0.5 < 1 -> halved;
    # column 1: max_norm 0.1 * max(1e-4, 1e-3) = 1e-4 < 1 -> times 1e-4;
    # column 2: max_norm 0.1 >= 0.01 -> untouched
    np.testing.assert_allclose(G, [[[0.3, 0.0, 0.01], [0.4, 1e-4, 0.0]]], rtol=1e-14)


def test_agc_vector_is_one_unit():
    # Two runs of a 2-vector: the whole vector is the unit (optax unitwise_norm).
    p = np.array([[3.0, 4.0], [3.0, 4.0]])  # norm 5 -> max_norm 0.5 with clip_factor 0.1
    g = np.array([[0.0, 2.0], [0.3, 0.0]])  # run 0 norm 2 -> scaled to 0.5; run 1 norm 0.3 kept
    clip("agc", [g], params=[p], clip_factor=0.1)
    np.testing.assert_allclose(g, [[0.0, 0.5], [0.3, 0.0]], rtol=1e-14)


def test_agc_scalar_per_run():
    p = np.array([2.0, 0.0, -1.0])
    g = np.array([1.0, 1.0, -0.05])
    clip("agc", [g], params=[p], clip_factor=0.1, eps=1e-3)
    np.testing.assert_allclose(g, [0.2, 1e-4, -0.05], rtol=1e-14)


def test_agc_conv_kernel_units_are_last_axis():
    rng = np.random.default_rng(9)
    p = rng.standard_normal((2, 3, 3, 4, 5))  # 2 runs of (kh, kw, c_in, c_out)
    g = 10.0 * rng.standard_normal(p.shape)
    expected = g.copy()
    for r in range(2):
        for u in range(5):
            max_norm = 0.01 * max(np.linalg.norm(p[r, ..., u]), 1e-3)
            norm = np.linalg.norm(g[r, ..., u])
            if norm > max_norm:
                expected[r, ..., u] *= max_norm / norm
    clip("agc", [g], params=[p])
    np.testing.assert_allclose(g, expected, rtol=1e-13)


@pytest.mark.parametrize(
    ("name", "kw"),
    [
        ("none", {}),
        ("value", {"clip_value": 0.1}),
        ("norm", {"max_norm": 0.5}),
        ("global_norm", {"max_norm": 0.5}),
        ("normalize", {}),
        ("agc", {}),
    ],
)
def test_float32_stays_float32_and_same_objects(name, kw):
    params = make_grads(10, dtype=np.float32)
    grads = make_grads(11, scale=10.0, dtype=np.float32)
    ids = [id(g) for g in grads]
    reference = [g.astype(np.float64) for g in grads]
    clip(name, reference, params=[p.astype(np.float64) for p in params], **kw)
    result = clip(name, grads, params=params, **kw)
    assert result is grads
    assert [id(g) for g in grads] == ids
    for g, ref in zip(grads, reference, strict=True):
        assert g.dtype == np.float32
        np.testing.assert_allclose(g, ref, rtol=1e-5, atol=1e-6)


def test_non_contiguous_grads_are_clipped_in_place():
    base = make_grads(12, scale=10.0)[0]  # (5, 3, 4)
    view = base[:, :, ::2]
    expected = view.copy()
    clip("global_norm", [expected], max_norm=1.0)
    clip("global_norm", [view], max_norm=1.0)
    np.testing.assert_allclose(base[:, :, ::2], expected, rtol=1e-14)  # written through the view


def test_names():
    assert names() == ["agc", "global_norm", "none", "norm", "normalize", "value"]


def test_unknown_name_suggests_closest():
    with pytest.raises(ValueError, match=r"unknown clipping 'global-norm'.*'global_norm'"):
        clip("global-norm", make_grads(0), max_norm=1.0)


def test_unknown_keyword_suggests_closest():
    with pytest.raises(
        ValueError, match=r"clipping 'global_norm': unknown keyword 'maxnorm'.*'max_norm'"
    ):
        clip("global_norm", make_grads(0), maxnorm=1.0)
    with pytest.raises(ValueError, match=r"unknown keyword 'max_norm'"):
        clip("value", make_grads(0), max_norm=1.0)


def test_missing_keyword():
    with pytest.raises(ValueError, match=r"missing required keyword 'clip_value'"):
        clip("value", make_grads(0))


@pytest.mark.parametrize(
    ("name", "kw", "param"),
    [
        ("value", {"clip_value": 0.0}, "clip_value"),
        ("value", {"clip_value": -1.0}, "clip_value"),
        ("norm", {"max_norm": 0}, "max_norm"),
        ("global_norm", {"max_norm": -2.0}, "max_norm"),
        ("global_norm", {"max_norm": float("nan")}, "max_norm"),
        ("global_norm", {"max_norm": float("inf")}, "max_norm"),
        ("global_norm", {"max_norm": "1"}, "max_norm"),
        ("normalize", {"eps": 0.0}, "eps"),
        ("agc", {"clip_factor": 0.0}, "clip_factor"),
        ("agc", {"eps": -1e-3}, "eps"),
    ],
)
def test_out_of_range(name, kw, param):
    grads = make_grads(0)
    before = [g.copy() for g in grads]
    with pytest.raises(ValueError, match=rf"clipping '{name}': {param}\b"):
        clip(name, grads, params=make_grads(1), **kw)
    for g, b in zip(grads, before, strict=True):
        np.testing.assert_array_equal(g, b)


def test_range_is_stated():
    with pytest.raises(ValueError, match=r"max_norm=-2\.0 is out of range; allowed \(0, inf\)"):
        clip("global_norm", make_grads(0), max_norm=-2.0)


def test_agc_needs_params():
    with pytest.raises(ValueError, match=r"clipping 'agc' needs params"):
        clip("agc", make_grads(0))
    with pytest.raises(ValueError, match=r"params shapes"):
        clip("agc", make_grads(0), params=make_grads(1)[:2])


def test_clipper_checks_its_keywords_once_when_built_and_equals_clip():
    from optimizers.clipping import clipper

    with pytest.raises(ValueError, match="max_norm"):
        clipper("global_norm", max_norm=-1.0)  # no gradient needed to be refused
    rng = np.random.default_rng(7)
    grads = [rng.standard_normal((3, 4)) * 10, rng.standard_normal((3, 2, 2))]
    expected = clip("global_norm", [g.copy() for g in grads], max_norm=1.0)
    got = clipper("global_norm", max_norm=1.0)([g.copy() for g in grads])
    for e, g in zip(expected, got, strict=True):
        np.testing.assert_array_equal(e, g)
