"""optimizers.testing.check_optimizer passes for every case of every registered rule, and fails,
naming the check, for rules that break the contract."""

import dataclasses
import re

import numpy as np
import pytest

import optimizers
from optimizers.testing import check_optimizer
from tests.optimizers.cases import CASES, case_id


def test_every_registered_rule_has_a_case():
    assert sorted({name for name, _ in CASES}) == optimizers.names()


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_builtin_rules_conform(case):
    name, kw = case
    check_optimizer(name, **kw)


@dataclasses.dataclass(frozen=True)
class GlobalNormSGD(optimizers.Optimizer):
    """SGD on g / ||g|| with the norm over every run at once: runs mix."""

    lr: float = 0.1
    state_buffers = ()
    work_buffers = ("work",)

    def step(self, params, grads, state, lr=None):
        lr = self.lr if lr is None else lr
        norm = np.sqrt(sum(float(np.vdot(g, g)) for g in grads))  # over all runs: the bug
        for p, g, (work,) in zip(params, grads, state.work, strict=True):
            np.multiply(g, -lr / norm, out=work)
            p += work


@dataclasses.dataclass(frozen=True)
class AllocatingSGD(optimizers.Optimizer):
    """Plain SGD written with a temporary per step: correct numbers, but it allocates."""

    lr: float = 0.1
    quadratic_lr = 0.1

    def step(self, params, grads, state, lr=None):
        for p, g in zip(params, grads, strict=True):
            p -= (self.lr if lr is None else lr) * g


@dataclasses.dataclass(frozen=True)
class IgnoresLR(optimizers.Optimizer):
    """Uses self.lr even when a per-step lr is given, without declaring it."""

    lr: float = 0.1
    state_buffers = ()
    work_buffers = ("work",)

    def update(self, p, g, work, *, lr):
        np.multiply(g, -self.lr, out=work)
        p += work


@pytest.mark.parametrize(
    ("rule", "check"),
    [
        (GlobalNormSGD, "runs are not independent"),
        (AllocatingSGD, "allocated"),
        (IgnoresLR, "step(lr=0.003) differs"),
    ],
)
def test_broken_rules_fail_with_the_check_named(rule, check):
    with pytest.raises(AssertionError, match=f"{rule.__name__}: .*{re.escape(check)}"):
        check_optimizer(rule)


def test_uses_lr_per_step_false_must_mean_ignoring_it():
    @dataclasses.dataclass(frozen=True)
    class ClaimsToIgnoreLR(optimizers.Optimizer):
        lr: float = 0.1
        work_buffers = ("work",)
        uses_lr_per_step = False

        def update(self, p, g, work, *, lr):
            np.multiply(g, -lr, out=work)
            p += work

    with pytest.raises(AssertionError, match=r"uses_lr_per_step is False"):
        check_optimizer(ClaimsToIgnoreLR)


def test_a_rule_that_fills_its_state_first_must_declare_it_and_then_move():
    """ADOPT's first step only records v_1 = g^2; a rule like it declares
    ``first_step_moves = False``, and must then move on its second step."""
    opt = optimizers.create("adopt")
    params = [np.ones((2, 3))]
    state = opt.init(params)
    opt.step(params, [np.full((2, 3), 0.5)], state)
    np.testing.assert_array_equal(params[0], 1.0)

    @dataclasses.dataclass(frozen=True)
    class SilentFirstStep(optimizers.Optimizer):
        lr: float = 0.1
        work_buffers = ("work",)

        def coefficients(self, state, lr):
            return {"lr": 0.0 if state.step == 1 else lr}

        def update(self, p, g, work, *, lr):
            np.multiply(g, -lr, out=work)
            p += work

    with pytest.raises(AssertionError, match="the first step left every parameter unchanged"):
        check_optimizer(SilentFirstStep)
    declared = type("DeclaredSilentFirstStep", (SilentFirstStep,), {"first_step_moves": False})
    check_optimizer(dataclasses.dataclass(frozen=True)(declared))

    class NeverMoves(SilentFirstStep):
        first_step_moves = False

        def coefficients(self, state, lr):
            return {"lr": 0.0}

    with pytest.raises(AssertionError, match="two steps .* left every parameter unchanged"):
        check_optimizer(dataclasses.dataclass(frozen=True)(NeverMoves))


def test_unknown_name_and_keyword_are_value_errors():
    with pytest.raises(ValueError, match="did you mean 'adam'"):
        check_optimizer("adamm")
    with pytest.raises(ValueError, match="unknown keyword 'betaz'"):
        check_optimizer("adam", betaz=(0.9, 0.99))


def test_testing_module_imports_no_test_framework():
    import subprocess
    import sys

    code = (
        "import sys, optimizers.testing; "
        "print(sorted({'pytest', 'unittest', 'hypothesis'} & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
