"""Learning-rate schedules against torch.optim.lr_scheduler, by hand, and their errors."""

import math

import numpy as np
import pytest

from optimizers.schedules import names, schedule

torch = pytest.importorskip("torch")
lr_scheduler = torch.optim.lr_scheduler

BASE_LR = 0.1
STEPS = 300


def torch_lrs(make_scheduler, base_lr=BASE_LR, steps=STEPS):
    """The lr torch uses at steps 0..steps-1: after t calls of scheduler.step()."""
    param = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    optimizer = torch.optim.SGD([param], lr=base_lr)
    scheduler = make_scheduler(optimizer)
    lrs = []
    for _ in range(steps):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return np.array(lrs)


def our_lrs(sched, base_lr=BASE_LR, steps=STEPS):
    return np.array([base_lr * sched(t) for t in range(steps)])


def warmup_cosine_torch(warmup_steps, T_max, min_factor):
    def make(opt):
        warmup = lr_scheduler.LinearLR(
            opt, start_factor=1 / (warmup_steps + 1), end_factor=1.0, total_iters=warmup_steps
        )
        cosine = lr_scheduler.CosineAnnealingLR(
            opt, T_max=T_max - warmup_steps, eta_min=min_factor * BASE_LR
        )
        return lr_scheduler.SequentialLR(opt, [warmup, cosine], milestones=[warmup_steps])

    return make


CASES = [
    ("constant", {}, lambda o: lr_scheduler.ConstantLR(o, factor=1.0)),
    ("step", {"step_size": 30}, lambda o: lr_scheduler.StepLR(o, step_size=30)),
    ("step", {"step_size": 7, "gamma": 0.5}, lambda o: lr_scheduler.StepLR(o, 7, gamma=0.5)),
    ("step", {"step_size": 1, "gamma": 0.97}, lambda o: lr_scheduler.StepLR(o, 1, gamma=0.97)),
    (
        "multistep",
        {"milestones": [10, 50, 51, 200], "gamma": 0.5},
        lambda o: lr_scheduler.MultiStepLR(o, milestones=[10, 50, 51, 200], gamma=0.5),
    ),
    ("multistep", {"milestones": (100,)}, lambda o: lr_scheduler.MultiStepLR(o, [100])),
    ("exponential", {"gamma": 0.98}, lambda o: lr_scheduler.ExponentialLR(o, gamma=0.98)),
    ("exponential", {"gamma": 1.01}, lambda o: lr_scheduler.ExponentialLR(o, gamma=1.01)),
    (
        "inverse_time",
        {"decay_rate": 0.05},
        lambda o: lr_scheduler.LambdaLR(o, lambda t: 1 / (1 + 0.05 * t)),
    ),
    ("inverse_time", {"decay_rate": 0.0}, lambda o: lr_scheduler.LambdaLR(o, lambda t: 1.0)),
    # T_max < STEPS checks the rise after the minimum as well.
    ("cosine", {"T_max": 100}, lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=100)),
    (
        "cosine",
        {"T_max": 7, "min_factor": 0.3},
        lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=7, eta_min=0.3 * BASE_LR),
    ),
    ("cosine", {"T_max": 1}, lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=1)),
    (
        "cosine",
        {"T_max": 300, "min_factor": 1.0},
        lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=300, eta_min=BASE_LR),
    ),
    (
        "warmup_cosine",
        {"warmup_steps": 10, "T_max": 200, "min_factor": 0.1},
        warmup_cosine_torch(10, 200, 0.1),
    ),
    ("warmup_cosine", {"warmup_steps": 1, "T_max": 50}, warmup_cosine_torch(1, 50, 0.0)),
    ("warmup_cosine", {"warmup_steps": 4, "T_max": 5}, warmup_cosine_torch(4, 5, 0.0)),
    (
        "warmup_cosine",
        {"warmup_steps": 0, "T_max": 120, "min_factor": 0.2},
        lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=120, eta_min=0.2 * BASE_LR),
    ),
]


@pytest.mark.parametrize(("name", "kw", "make"), CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_matches_torch_scheduler(name, kw, make):
    # torch updates most schedules recursively (lr *= gamma, ...), we use closed forms;
    # the two agree to rounding. The atol only matters where a cosine touches zero.
    np.testing.assert_allclose(
        our_lrs(schedule(name, **kw)), torch_lrs(make), rtol=1e-12, atol=1e-15 * BASE_LR
    )


def test_every_schedule_is_compared_with_torch():
    assert sorted({name for name, _, _ in CASES}) == names()


def test_multipliers_are_python_floats():
    for name, kw, _ in CASES:
        sched = schedule(name, **kw)
        assert all(type(sched(t)) is float for t in range(12)), name


def test_hand_computed_values():
    step = schedule("step", step_size=3, gamma=0.5)
    assert [step(t) for t in range(7)] == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25]
    multistep = schedule("multistep", milestones=[2, 4], gamma=0.1)
    np.testing.assert_allclose(
        [multistep(t) for t in range(6)], [1, 1, 0.1, 0.1, 0.01, 0.01], rtol=1e-15
    )
    np.testing.assert_allclose(schedule("exponential", gamma=0.5)(3), 0.125, rtol=1e-15)
    np.testing.assert_allclose(schedule("inverse_time", decay_rate=0.5)(4), 1 / 3, rtol=1e-15)
    cosine = schedule("cosine", T_max=4, min_factor=0.2)
    # 0.2 + 0.8 * (1 + cos(pi t / 4)) / 2 at t = 0, 2, 4, 6, 8
    np.testing.assert_allclose(
        [cosine(t) for t in (0, 2, 4, 6, 8)], [1.0, 0.6, 0.2, 0.6, 1.0], rtol=1e-14
    )
    warm = schedule("warmup_cosine", warmup_steps=3, T_max=7)
    # warm-up (t+1)/4 for t < 3, then cosine over 4 steps from t = 3
    c = math.cos(math.pi / 4)
    expected = [0.25, 0.5, 0.75, 1.0, (1 + c) / 2, 0.5, (1 - c) / 2, 0.0, (1 - c) / 2]
    np.testing.assert_allclose([warm(t) for t in range(9)], expected, rtol=1e-14, atol=1e-16)


def test_warmup_zero_is_cosine():
    warm = schedule("warmup_cosine", warmup_steps=0, T_max=30, min_factor=0.1)
    cosine = schedule("cosine", T_max=30, min_factor=0.1)
    assert [warm(t) for t in range(100)] == [cosine(t) for t in range(100)]


def test_names_sorted():
    assert names() == sorted(names())
    assert set(names()) == {
        "constant",
        "step",
        "multistep",
        "exponential",
        "inverse_time",
        "cosine",
        "warmup_cosine",
    }


def test_unknown_name_suggests_closest():
    with pytest.raises(ValueError, match=r"unknown schedule 'cosin'.*'cosine'"):
        schedule("cosin", T_max=10)


def test_unknown_keyword_suggests_closest():
    with pytest.raises(ValueError, match=r"unknown keyword 'stepsize'.*'step_size'"):
        schedule("step", stepsize=10)
    with pytest.raises(ValueError, match=r"unknown keyword 'eta_min'"):
        schedule("cosine", T_max=10, eta_min=0.0)


def test_missing_keyword():
    with pytest.raises(ValueError, match=r"missing required keyword 'T_max'"):
        schedule("warmup_cosine", warmup_steps=3)


BAD = [
    ("step", {"step_size": 0}, "step_size"),
    ("step", {"step_size": 2.5}, "step_size"),
    ("step", {"step_size": True}, "step_size"),
    ("step", {"step_size": 10, "gamma": 0.0}, "gamma"),
    ("step", {"step_size": 10, "gamma": -0.5}, "gamma"),
    ("multistep", {"milestones": [10, 5]}, "milestones"),
    ("multistep", {"milestones": [10, 10]}, "milestones"),
    ("multistep", {"milestones": [0, 5]}, "milestones"),
    ("multistep", {"milestones": [2.0, 5]}, "milestones"),
    ("multistep", {"milestones": 10}, "milestones"),
    ("multistep", {"milestones": [10], "gamma": 0}, "gamma"),
    ("exponential", {"gamma": 0.0}, "gamma"),
    ("exponential", {"gamma": math.inf}, "gamma"),
    ("exponential", {"gamma": "0.9"}, "gamma"),
    ("inverse_time", {"decay_rate": -0.1}, "decay_rate"),
    ("inverse_time", {"decay_rate": math.nan}, "decay_rate"),
    ("cosine", {"T_max": 0}, "T_max"),
    ("cosine", {"T_max": 10.0}, "T_max"),
    ("cosine", {"T_max": 10, "min_factor": 1.5}, "min_factor"),
    ("cosine", {"T_max": 10, "min_factor": -0.1}, "min_factor"),
    ("warmup_cosine", {"warmup_steps": 10, "T_max": 10}, "warmup_steps"),
    ("warmup_cosine", {"warmup_steps": -1, "T_max": 10}, "warmup_steps"),
    ("warmup_cosine", {"warmup_steps": 1, "T_max": 0}, "T_max"),
    ("warmup_cosine", {"warmup_steps": 1, "T_max": 10, "min_factor": 2.0}, "min_factor"),
]


@pytest.mark.parametrize(("name", "kw", "param"), BAD, ids=[f"{b[0]}-{b[1]}" for b in BAD])
def test_out_of_range_names_parameter(name, kw, param):
    with pytest.raises(ValueError, match=rf"schedule '{name}': {param}\b") as info:
        schedule(name, **kw)
    message = str(info.value)
    assert repr(kw[param]) in message or "must be" in message


def test_range_is_stated():
    with pytest.raises(ValueError, match=r"min_factor=1\.5 is out of range; allowed \[0, 1\]"):
        schedule("cosine", T_max=10, min_factor=1.5)
    with pytest.raises(ValueError, match=r"warmup_steps=10 is out of range; allowed \[0, 10\)"):
        schedule("warmup_cosine", warmup_steps=10, T_max=10)


def test_numpy_integers_accepted():
    sched = schedule("step", step_size=np.int64(2), gamma=np.float64(0.5))
    assert sched(4) == 0.25
    assert type(sched.step_size) is int
