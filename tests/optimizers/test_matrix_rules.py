"""Muon, SOAP and MARS beyond the shared tables (their references run in
test_against_pytorch_optimizer.py from the rows of cases.py): what runs where, the per-run
matrix algebra, per-run hyperparameter arrays, and their errors."""

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


GROUPS = {  # configurations of one group signature, every continuous field differing
    "muon": [
        {"lr": 0.02, "momentum": 0.9, "weight_decay": 0.1, "eps": 1e-7, "adamw_wd": 0.01},
        {
            "lr": 0.005,
            "momentum": 0.95,
            "weight_decay": 0.2,
            "eps": 1e-3,
            "ns_coefficients": (1.875, -1.25, 0.375),
            "adamw_betas": (0.8, 0.99),
            "adamw_eps": 1e-8,
            "adamw_wd": 0.02,
        },
    ],
    "soap": [
        {"betas": (0.9, 0.99), "weight_decay": 0.01, "eps": 1e-8, "shampoo_beta": 0.9},
        {"betas": (0.95, 0.95), "weight_decay": 0.1, "eps": 1e-6, "shampoo_beta": 0.8},
    ],
    "mars": [
        {"betas": (0.9, 0.99), "gamma": 0.025, "weight_decay": 0.05, "lr_1d_factor": 0.5},
        {
            "betas": (0.95, 0.9),
            "gamma": 0.1,
            "weight_decay": 0.1,
            "betas_1d": (0.8, 0.9),
            "weight_decay_1d": 0.3,
            "eps": 1e-6,
        },
    ],
}


def run_with_state(opt, params, grads, lrs):
    params = [p.copy() for p in params]
    state = opt.init(params)
    for step, lr in zip(grads, lrs, strict=True):
        opt.step(params, [g.copy() for g in step], state, lr=lr)
    return params, state


def state_arrays(name, state):
    """Every array of a matrix rule's state (buffers, and SOAP's statistics and eigenbases)."""
    arrays = [a for buffers in state.buffers.values() for a in buffers if a is not None]
    if name == "soap":
        arrays += [a for per_axis in state.GG + state.Q for a in per_axis if a is not None]
    return arrays


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", MATRIX_RULES)
def test_a_configuration_stacked_with_others_gives_its_numbers_alone(name, dtype):
    """optimizers.stack makes (R,) arrays of every continuous field (ns_coefficients and the
    betas pairs element by element); stepped with a per-step (R,) lr, each configuration's runs
    equal, bit for bit, the configuration built from Python numbers and stepped alone with a
    Python float lr: params and every state array (the per-run contract, items 2 to 5)."""
    configs, runs = [optimizers.create(name, **kw) for kw in GROUPS[name]], (2, 3)
    rng = np.random.default_rng(4)
    shapes = [(5, 4, 3), (5, 3, 4), (5, 6)]
    params = [rng.standard_normal(s).astype(dtype) for s in shapes]
    grads = gradients(rng, shapes, 25, dtype)
    factors = rng.uniform(0.5, 1.5, len(grads))
    stacked = optimizers.stack(configs, runs)
    assert isinstance(stacked.eps, np.ndarray) and stacked.eps.shape == (5,)
    lr_per_run = np.repeat([c.lr for c in configs], runs)
    together = run_with_state(stacked, params, grads, [lr_per_run * f for f in factors])
    start = 0
    for config, count in zip(configs, runs, strict=True):
        piece = slice(start, start + count)
        alone = run_with_state(
            config,
            [p[piece] for p in params],
            [[g[piece] for g in step] for step in grads],
            [config.lr * f for f in factors],
        )
        for a, t in zip(alone[0], together[0], strict=True):
            assert t.dtype == dtype
            np.testing.assert_array_equal(a, t[piece])
        mine, theirs = state_arrays(name, alone[1]), state_arrays(name, together[1])
        assert len(mine) == len(theirs) > 0
        for a, t in zip(mine, theirs, strict=True):
            assert t.dtype == dtype
            np.testing.assert_array_equal(a, t[piece])
        start += count


@pytest.mark.parametrize(
    ("name", "kw", "other", "words"),
    [
        ("muon", {}, {"adamw_wd": 0.1}, "adamw_wd is zero in one and nonzero"),
        ("muon", {}, {"weight_decay": 0.0}, "weight_decay is nonzero in one and zero"),
        ("muon", {}, {"ns_steps": 3}, "ns_steps is 5 in one and 3 in the other"),
        ("muon", {}, {"adjust_lr_fn": "original"}, "adjust_lr_fn is None in one and 'original'"),
        ("muon", {}, {"nesterov": False}, "nesterov is True in one and False"),
        ("soap", {}, {"shampoo_beta": 0.9}, "shampoo_beta is None in one and nonzero"),
        ("soap", {"shampoo_beta": 0.9}, {}, "shampoo_beta is nonzero in one and None"),
        ("soap", {}, {"shampoo_beta": 0.0}, "shampoo_beta is None in one and zero"),
        ("soap", {}, {"weight_decay": 0.0}, "weight_decay is nonzero in one and zero"),
        ("soap", {}, {"precondition_frequency": 3}, "precondition_frequency is 10 in one and 3"),
        ("soap", {}, {"max_precondition_dim": 3}, "max_precondition_dim is 10000 in one and 3"),
        ("mars", {}, {"weight_decay": 0.1}, "weight_decay is zero in one and nonzero"),
        ("mars", {}, {"weight_decay_1d": 0.0}, "weight_decay_1d is nonzero in one and zero"),
        ("mars", {}, {"cautious": True}, "cautious is False in one and True"),
    ],
)
def test_structural_differences_never_share_a_group(name, kw, other, words):
    """The group signature holds what changes the arithmetic: ints, booleans, strings, whether
    SOAP's shampoo_beta is None, and which weight decays are zero."""
    first, second = optimizers.create(name, **kw), optimizers.create(name, **other)
    assert optimizers.group_signature(first) != optimizers.group_signature(second)
    with pytest.raises(ValueError, match="cannot share a group") as info:
        optimizers.stack([first, second], [1, 1])
    assert words in str(info.value) and "\n" not in str(info.value)


def test_continuous_differences_share_a_group():
    for name, configs in GROUPS.items():
        signatures = {optimizers.group_signature(optimizers.create(name, **kw)) for kw in configs}
        assert len(signatures) == 1, name


@pytest.mark.parametrize(
    ("name", "kw", "words"),
    [
        ("muon", {"ns_coefficients": (np.array([1.0, np.inf]), 2.0, 3.0)}, "ns_coefficients[0][1]"),
        ("muon", {"adamw_betas": (0.9, np.array([0.9, 1.0]))}, "adamw_betas[1][1]=1.0"),
        ("muon", {"momentum": np.array([0.9, 0.5, -0.1])}, "momentum[2]=-0.1 is out of range"),
        ("soap", {"shampoo_beta": np.array([0.9, -1.0])}, "shampoo_beta[1]=-1.0 is out of range"),
        ("soap", {"betas": (np.array([1.0]), 0.9)}, "betas[0][0]=1.0 is out of range"),
        ("mars", {"betas_1d": (0.9, np.array([0.5, 1.5]))}, "betas_1d[1][1]=1.5 is out of range"),
        ("mars", {"weight_decay_1d": np.array([[0.1]])}, "must be a number or a 1-D array"),
    ],
)
def test_per_run_arrays_are_checked_value_by_value(name, kw, words):
    with pytest.raises(ValueError) as info:
        optimizers.create(name, **kw)
    message = str(info.value)
    assert words in message and "\n" not in message and message.startswith(f"{name}: ")


@pytest.mark.parametrize(
    ("name", "kw", "words"),
    [
        ("muon", {"adjust_lr_fn": "match_rms"}, "unknown adjust_lr_fn 'match_rms' (did you mean"),
        ("muon", {"ns_steps": 100}, "ns_steps=100 is out of range; allowed [1, 99]"),
        ("muon", {"ns_coefficients": (1.0, 2.0)}, "ns_coefficients must be 3 numbers"),
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
