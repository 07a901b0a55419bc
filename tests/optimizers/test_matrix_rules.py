"""Muon, SOAP and MARS beyond the shared tables (their references run in
test_against_pytorch_optimizer.py from the rows of cases.py): what runs where, the per-run
matrix algebra, per-run hyperparameter arrays, and their errors."""

import dataclasses

import numpy as np
import pytest

import optimizers
from optimizers.rules._matrix import NewtonSchulzWork, newton_schulz
from tests.optimizers.cases import CASES

MATRIX_RULES = ["muon", "soap", "mars"]


def run(opt, params, grads, lr=None):
    params = [p.copy() for p in params]
    state = opt.init(params)
    for step in grads:
        opt.step(params, [g.copy() for g in step], state, lr=lr)
    return params


def gradients(rng, shapes, steps, dtype=np.float64):
    return [
        [(rng.standard_normal(s) * np.exp(rng.normal())).astype(dtype) for s in shapes]
        for _ in range(steps)
    ]


def test_the_reference_tests_cover_every_matrix_rule_with_weight_decay():
    for name in MATRIX_RULES:
        assert optimizers.describe(name).extra["reference"] == optimizers.get(name).reference
        rows = [kw for n, kw in CASES if n == name]
        assert any(optimizers.create(name, **kw).weight_decay > 0 for kw in rows), name


def test_muon_on_arrays_that_are_not_matrices_is_adamw_bit_for_bit():
    rng = np.random.default_rng(0)
    shapes = [(3, 7), (3, 2, 3, 4), (3,)]
    params = [rng.standard_normal(s) for s in shapes]
    grads = gradients(rng, shapes, 20)
    muon = optimizers.create("muon", adamw_betas=(0.8, 0.99), adamw_eps=1e-8, adamw_wd=0.02)
    adamw = optimizers.create("adamw", betas=(0.8, 0.99), eps=1e-8, weight_decay=0.02)
    for a, b in zip(run(muon, params, grads, 0.01), run(adamw, params, grads, 0.01), strict=True):
        np.testing.assert_array_equal(a, b)


def test_muon_moves_a_matrix_by_its_orthogonalised_momentum():
    """One step from zero momentum, no weight decay: theta - lr * sqrt(max(1, a/b)) * NS(g')
    with g' = (1 - mu) g + mu (1 - mu) g (nesterov); classic cubic-like coefficients that
    converge, with many steps, give singular values of one."""
    rng = np.random.default_rng(1)
    p = rng.standard_normal((2, 5, 3))
    g = rng.standard_normal((2, 5, 3)) * np.array([1e-3, 1e3])[:, None, None]
    opt = optimizers.create(
        "muon", lr=0.1, weight_decay=0.0, ns_coefficients=(1.875, -1.25, 0.375), ns_steps=60
    )
    moved = run(opt, [p], [[g]])[0]
    step = (p - moved) / (0.1 * np.sqrt(5 / 3))
    np.testing.assert_allclose(np.linalg.svd(step, compute_uv=False), 1.0, rtol=1e-10)
    u, _, vt = np.linalg.svd(g, full_matrices=False)
    np.testing.assert_allclose(step, u @ vt, atol=1e-10)  # the polar factor of g, per run


def test_newton_schulz_normalises_each_run_by_its_own_norm():
    rng = np.random.default_rng(2)
    matrices = rng.standard_normal((3, 4, 6)) * np.array([1e-6, 1.0, 1e6])[:, None, None]
    work = NewtonSchulzWork(matrices.shape, matrices.dtype)
    stacked = newton_schulz(matrices, work, a=3.4445, b=-4.7750, c=2.0315, eps=1e-7, steps=5)
    for r in range(3):
        alone_work = NewtonSchulzWork((1, 4, 6), matrices.dtype)
        alone = newton_schulz(
            matrices[r : r + 1], alone_work, a=3.4445, b=-4.7750, c=2.0315, eps=1e-7, steps=5
        )
        np.testing.assert_array_equal(stacked[r], alone[0])
    singular = np.linalg.svd(stacked, compute_uv=False)
    assert np.all((singular > 0.5) & (singular < 1.5))  # Muon's S' ~ U(0.5, 1.5), every run


@pytest.fixture
def float64_torch():
    """torch's scalars in float64 for the reference, restored afterwards."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("pytorch_optimizer")
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


def test_soap_with_precondition_1d_matches_its_reference(float64_torch):
    """A vector of two, so the first step's rank-one statistic has a unique eigenbasis."""
    from tests.optimizers.reference import max_relative_difference

    opt = optimizers.create(
        "soap", precondition_1d=True, weight_decay=0.05, precondition_frequency=4
    )
    worst = max_relative_difference(
        opt, opt.reference, steps=150, shapes=((2, 2), (2, 3, 4)), rtol=1e-9
    )
    assert worst < 1e-9


@pytest.mark.parametrize(
    ("name", "kw", "rows"),
    [
        ("muon", {"lr": 0.02, "adjust_lr_fn": "original"}, 5),
        ("muon", {"lr": 0.02, "adjust_lr_fn": "match_rms_adamw", "nesterov": False}, 5),
        ("soap", {"weight_decay": 0.05, "precondition_frequency": 5}, 4),
    ],
)
def test_tall_matrices_match_the_reference(name, kw, rows, float64_torch):
    """A tall and a square matrix per run: Muon iterates on the transpose of a tall matrix,
    and its lr adjustment sees rows > cols (the shared table's matrices are wide). SOAP's tall
    matrix has one row more than columns: its row statistic's null space is then a line, so the
    eigenbasis is unique (with two rows more, LAPACKs pick different bases of the null plane)."""
    from tests.optimizers.reference import max_relative_difference

    opt = optimizers.create(name, **kw)
    worst = max_relative_difference(
        opt, opt.reference, steps=120, shapes=((2, rows, 3), (2, 3, 3), (2, 4)), rtol=1e-9
    )
    assert worst < 1e-9


def test_soap_does_not_move_on_its_first_step_and_keeps_an_eigenbasis_per_run():
    rng = np.random.default_rng(3)
    p = rng.standard_normal((3, 4, 5))
    opt = optimizers.create("soap")
    state = opt.init([p.copy()])
    params = [p.copy()]
    g = rng.standard_normal(p.shape)
    opt.step(params, [g], state)
    np.testing.assert_array_equal(params[0], p)
    for axis, q in enumerate(state.Q[0]):
        np.testing.assert_allclose(
            q.mT @ q, np.broadcast_to(np.eye(q.shape[-1]), q.shape), atol=1e-12
        )
        statistic = state.GG[0][axis]
        rotated = q.mT @ statistic @ q  # diagonal, decreasing: the eigenvalues per run
        diagonal = np.diagonal(rotated, axis1=-2, axis2=-1)
        np.testing.assert_allclose(rotated, diagonal[..., None] * np.eye(q.shape[-1]), atol=1e-12)
        assert np.all(np.diff(diagonal, axis=-1) <= 1e-12)


def per_run(values, runs):
    """One float64 array: each configuration's value repeated over its runs."""
    return np.concatenate([np.full(r, v, np.float64) for v, r in zip(values, runs, strict=True)])


def stacked_with_arrays(opt, fields, runs):
    """``opt`` with each field of ``fields`` (a value per configuration) set to per-run arrays
    (pairs to pairs of arrays), as optimizers.stack will build it."""
    for name, values in fields.items():
        if isinstance(getattr(opt, name), tuple):
            value = tuple(per_run([v[i] for v in values], runs) for i in range(len(values[0])))
        else:
            value = per_run(values, runs)
        object.__setattr__(opt, name, value)
    return opt


PER_RUN_FIELDS = {
    "muon": {"momentum": [0.9, 0.95], "weight_decay": [0.1, 0.2], "eps": [1e-7, 1e-3]},
    "soap": {
        "betas": [(0.9, 0.99), (0.95, 0.95)],
        "weight_decay": [0.01, 0.1],
        "eps": [1e-8, 1e-6],
    },
    "mars": {
        "betas": [(0.9, 0.99), (0.95, 0.9)],
        "gamma": [0.025, 0.1],
        "weight_decay": [0.05, 0.1],
    },
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", MATRIX_RULES)
def test_per_run_hyperparameter_arrays_give_each_run_its_alone_numbers(name, dtype):
    """Two configurations stacked as (R,) hyperparameter and lr arrays step each run exactly
    as its configuration alone with Python floats (the per-run contract, items 3 and 5).
    The arrays are set past validation, which the base class does not yet accept."""
    fields, runs = PER_RUN_FIELDS[name], (2, 3)
    rng = np.random.default_rng(4)
    shapes = [(5, 4, 3)] if name == "muon" else [(5, 4, 3), (5, 6)]
    params = [rng.standard_normal(s).astype(dtype) for s in shapes]
    grads = gradients(rng, shapes, 25, dtype)
    lrs = [0.01, 0.003]
    configs = [{k: v[i] for k, v in fields.items()} for i in range(2)]
    stacked = stacked_with_arrays(optimizers.create(name), fields, runs)
    lr = np.repeat(np.array(lrs), runs)
    together = run(stacked, params, grads, lr=lr)
    start = 0
    for config, count, lr_alone in zip(configs, runs, lrs, strict=True):
        piece = slice(start, start + count)
        opt = dataclasses.replace(optimizers.create(name), **config)
        alone = run(
            opt, [p[piece] for p in params], [[g[piece] for g in s] for s in grads], lr_alone
        )
        for a, t in zip(alone, together, strict=True):
            np.testing.assert_array_equal(a, t[piece])
            assert t.dtype == dtype
        start += count


@pytest.mark.parametrize(
    ("name", "kw", "words"),
    [
        ("muon", {"adjust_lr_fn": "match_rms"}, "unknown adjust_lr_fn 'match_rms' (did you mean"),
        ("muon", {"ns_steps": 100}, "ns_steps=100 is out of range; allowed [1, 99]"),
        ("muon", {"ns_coefficients": (1.0, 2.0)}, "ns_coefficients must be three numbers"),
        ("muon", {"momentum": 1.0}, "momentum=1.0 is out of range"),
        ("soap", {"precondition_frequency": 0}, "precondition_frequency=0 is out of range"),
        ("soap", {"max_precondition_dim": 2.5}, "max_precondition_dim must be an integer"),
        ("soap", {"shampoo_beta": -0.1}, "shampoo_beta=-0.1 is out of range"),
        ("mars", {"betas_1d": (0.9, 1.0)}, "betas_1d[1]=1.0 is out of range"),
        ("mars", {"lr_1d_factor": -1.0}, "lr_1d_factor=-1.0 is out of range"),
    ],
)
def test_bad_hyperparameters_are_one_line_errors(name, kw, words):
    with pytest.raises(ValueError) as info:
        optimizers.create(name, **kw)
    message = str(info.value)
    assert words in message and "\n" not in message and message.startswith(f"{name}: ")
