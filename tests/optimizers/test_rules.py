"""Update rules: agreement with torch's documented algorithms (textbook loops), stacked runs
equal separate runs, hand-computed steps and named variants. In-place stepping, dtypes, runs
independence, per-step lr, allocation and convergence are ``check_optimizer``'s
(tests/optimizers/test_conformance.py)."""

import numpy as np
import pytest

import optimizers
from tests.optimizers import textbook
from tests.optimizers.cases import CASES, case_id

STEPS = 200


def random_gradients(rng, shapes, steps=STEPS):
    """Gradients whose scale wanders over decades, so AMSGrad's max and Rprop's signs matter."""
    return [
        [rng.standard_normal(s) * np.exp(rng.normal(0.0, 1.0)) for s in shapes]
        for _ in range(steps)
    ]


def run(opt, params, grad_sequence, lr_sequence=None):
    params = [p.copy() for p in params]
    state = opt.init(params)
    trajectory = []
    for t, grads in enumerate(grad_sequence):
        opt.step(params, grads, state, lr=None if lr_sequence is None else lr_sequence[t])
        trajectory.append([p.copy() for p in params])
    return trajectory


def test_every_registered_rule_has_a_case_and_a_reference():
    """A reference is a textbook loop here, torch.optim (test_against_torch.py) or another
    library (``reference``, test_against_pytorch_optimizer.py); a new rule with a reference
    needs only its file and a row of CASES."""
    assert sorted({name for name, _ in CASES}) == optimizers.names()
    for name in optimizers.names():
        cls = optimizers.get(name)
        assert name in textbook.RULES or cls.torch_reference or cls.reference


@pytest.mark.parametrize("case", [c for c in CASES if c[0] in textbook.RULES], ids=case_id)
def test_matches_textbook_loop_over_200_steps(case):
    name, kw = case
    rng = np.random.default_rng(0)
    shapes = [(3, 5), (3, 4, 2)]
    params = [rng.standard_normal(s) for s in shapes]
    grads = random_gradients(rng, shapes)
    ours = run(optimizers.create(name, **kw), params, grads)
    for k in range(len(shapes)):
        reference = textbook.RULES[name](params[k], [g[k] for g in grads], **kw)
        for t, expected in enumerate(reference):
            np.testing.assert_allclose(
                ours[t][k], expected, rtol=1e-12, atol=1e-14, err_msg=f"{name} step {t + 1}"
            )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", optimizers.names())
def test_stacked_runs_equal_separate_runs_bit_for_bit(name, dtype):
    rng = np.random.default_rng(2)
    runs, shapes = 4, [(6,), (3, 2)]
    params = [rng.standard_normal((runs, *s)).astype(dtype) for s in shapes]
    grads = [
        [g.astype(dtype) for g in step]
        for step in random_gradients(rng, [p.shape for p in params], 50)
    ]
    opt = optimizers.create(name)
    stacked = run(opt, params, grads)[-1]
    for r in range(runs):
        alone = run(opt, [p[r : r + 1] for p in params], [[g[r : r + 1] for g in s] for s in grads])
        for k in range(len(shapes)):
            np.testing.assert_array_equal(stacked[k][r : r + 1], alone[-1][k])
            assert stacked[k].dtype == dtype


def test_first_steps_by_hand():
    """Hand-computed: the first Adam, Lion and Rprop steps move every coordinate by -lr*sign(g)
    (up to Adam's eps); SGD momentum's second step uses b = 0.9*g1 + g2."""
    g = [np.array([[2.0, -0.5, 0.0]])]
    for name, lr, expected in [
        ("adam", 0.1, [[0.9, 1.1, 1.0]]),
        ("lion", 0.1, [[0.9, 1.1, 1.0]]),
        ("rprop", 0.1, [[0.9, 1.1, 1.0]]),
    ]:
        p = [np.ones((1, 3))]
        opt = optimizers.create(name, lr=lr)
        opt.step(p, g, opt.init(p))
        np.testing.assert_allclose(p[0], expected, rtol=1e-7, err_msg=name)
    p = [np.zeros((1, 1))]
    opt = optimizers.create("momentum", lr=0.5)
    state = opt.init(p)
    opt.step(p, [np.array([[1.0]])], state)  # b = 1, p = -0.5
    opt.step(p, [np.array([[2.0]])], state)  # b = 0.9 + 2 = 2.9, p = -0.5 - 1.45
    np.testing.assert_allclose(p[0], [[-1.95]], rtol=1e-15)


def test_named_variants_equal_their_base_rule():
    rng = np.random.default_rng(4)
    params = [rng.standard_normal((2, 5))]
    grads = random_gradients(rng, [(2, 5)], steps=20)
    pairs = [
        ("momentum", {}, "sgd", {"momentum": 0.9}),
        ("nesterov", {}, "sgd", {"momentum": 0.9, "nesterov": True}),
        ("amsgrad", {}, "adam", {"amsgrad": True}),
        ("adamw", {}, "adam", {"weight_decay": 1e-2, "decoupled_weight_decay": True}),
        ("adamw", {"weight_decay": 0.0}, "adam", {}),
    ]
    for a, akw, b, bkw in pairs:
        left = run(optimizers.create(a, **akw), params, grads)[-1][0]
        right = run(optimizers.create(b, **bkw), params, grads)[-1][0]
        np.testing.assert_array_equal(left, right, err_msg=f"{a} vs {b}")
