"""The registry protocol (names, get, create, describe) of rules, schedules and clipping: clear
errors for bad names and hyperparameters, descriptions, and user plugins."""

from __future__ import annotations  # string annotations: describe() must still find the kinds

import dataclasses
import typing

import numpy as np
import pytest

import optimizers
import optimizers.base
from optimizers import clipping, schedules
from optimizers.registry import Description, Parameter, Registry


@pytest.mark.parametrize(
    "name, kw, words",
    [
        ("adam", {"lr": -0.1}, ["lr", "-0.1", "[0, inf)"]),
        ("adam", {"betas": (0.9, 1.0)}, ["betas[1]", "1.0", "[0, 1)"]),
        ("lion", {"betas": (-0.1, 0.9)}, ["betas[0]", "-0.1"]),
        ("adam", {"eps": 0.0}, ["eps", "0.0", "(0, inf)"]),
        ("rmsprop", {"eps": -1e-8}, ["eps"]),
        ("adam", {"lr": float("nan")}, ["lr", "nan"]),
        ("adam", {"betas": 0.9}, ["betas", "pair"]),
        ("sgd", {"momentum": -0.5}, ["momentum", "-0.5"]),
        ("sgd", {"nesterov": True}, ["nesterov", "momentum"]),
        ("adagrad", {"lr_decay": -1}, ["lr_decay"]),
        ("rprop", {"etas": (1.5, 1.2)}, ["etas"]),
        ("adam", {"beta": (0.9, 0.99)}, ["beta", "betas"]),
        ("adam", {"weight_dacay": 0.1}, ["weight_dacay", "weight_decay"]),
        ("adam", {"lr": "fast"}, ["lr", "number"]),
    ],
)
def test_bad_hyperparameters_name_the_parameter_value_and_range(name, kw, words):
    with pytest.raises(ValueError) as info:
        optimizers.create(name, **kw)
    for word in words:
        assert word in str(info.value)


def test_unknown_optimizer_lists_closest_names():
    with pytest.raises(
        ValueError, match=r"unknown optimizer 'adamm' \(did you mean 'adam', 'radam'"
    ):
        optimizers.create("adamm")
    with pytest.raises(ValueError, match="did you mean 'nesterov'"):
        optimizers.create("nestrov")


def test_register_a_user_optimizer(monkeypatch):
    monkeypatch.setattr(optimizers.base, "_REGISTRY", dict(optimizers.base._REGISTRY))

    @optimizers.register("sign_sgd_test")
    @dataclasses.dataclass(frozen=True)
    class SignSGD(optimizers.Optimizer):
        lr: float = 0.01

        def init(self, params):
            return None

        def step(self, params, grads, state, lr=None):
            for p, g in zip(params, grads, strict=True):
                p -= (self.lr if lr is None else lr) * np.sign(g)

    assert "sign_sgd_test" in optimizers.names()
    opt = optimizers.create("sign_sgd_test", lr=0.5)
    p = [np.zeros((1, 2))]
    opt.step(p, [np.array([[3.0, -1.0]])], opt.init(p))
    np.testing.assert_array_equal(p[0], [[-0.5, 0.5]])
    with pytest.raises(ValueError, match="lr"):
        optimizers.create("sign_sgd_test", lr=-1.0)


def test_register_rejects_non_optimizers():
    with pytest.raises(TypeError):
        optimizers.register("not_an_optimizer")(object)


def test_hyperparameters_are_plain_python_values():
    opt = optimizers.create("adam", betas=[np.float64(0.8), 0.9], lr=np.float32(0.5))
    assert opt.betas == (0.8, 0.9) and type(opt.betas[0]) is float and type(opt.lr) is float
    assert opt.hyperparameters()["betas"] == (0.8, 0.9)
    hash(opt)  # frozen and hashable, so a configuration can key a cache


KINDS = [(optimizers, "optimizer"), (schedules, "schedule"), (clipping, "clipping")]


@pytest.mark.parametrize(("module", "kind"), KINDS)
def test_every_kind_offers_the_same_protocol(module, kind):
    names = module.names()
    assert names == sorted(names) and names
    for name in names:
        description = module.describe(name)
        assert isinstance(description, Description)
        assert (description.kind, description.name) == (kind, name)
        assert description.summary and "\n" not in description.summary
        assert all(isinstance(p, Parameter) for p in description.parameters)
        assert module.get(name) is not None
    with pytest.raises(ValueError, match=rf"unknown {kind} 'nope'"):
        module.get("nope")
    with pytest.raises(ValueError, match=rf"unknown {kind} 'nope'"):
        module.describe("nope")


def test_create_names_unknown_keywords_exactly():
    with pytest.raises(ValueError) as info:
        optimizers.create("adam", betaz=(0.9, 0.99))
    assert str(info.value) == "optimizer 'adam': unknown keyword 'betaz' (did you mean 'betas'?)"
    with pytest.raises(ValueError, match=r"^unknown optimizer 'adamm' \(did you mean 'adam', "):
        optimizers.get("adamm")


def test_schedule_and_clipping_create_equal_their_old_entry_points():
    assert schedules.create("step", step_size=3) == optimizers.schedule("step", step_size=3)
    assert clipping.create("agc", clip_factor=0.1) == optimizers.clipper("agc", clip_factor=0.1)
    with pytest.raises(ValueError, match=r"schedule 'cosine': missing required keyword 'T_max'"):
        schedules.create("cosine")


@pytest.mark.parametrize("registry", [optimizers.RULES, schedules.SCHEDULES, clipping.CLIPPING])
def test_an_unhashable_name_is_not_registered(registry):
    assert registry.names()[0] in registry
    assert [] not in registry and {} not in registry and "nope" not in registry


def test_parameters_of_a_rule():
    described = {p.name: p for p in optimizers.describe("adam").parameters}
    assert described["lr"] == Parameter("lr", 1e-3, False, float)
    assert described["betas"] == Parameter("betas", (0.9, 0.999), False, tuple)
    assert described["amsgrad"].kind is bool
    milestones = schedules.describe("multistep").parameters[0]
    assert milestones == Parameter("milestones", None, True, tuple)
    assert schedules.describe("step").parameters[0].kind is int
    assert clipping.describe("value").parameters == (Parameter("clip_value", None, True, float),)


def test_describe_extra_carries_the_rule_facts():
    extra = optimizers.describe("amsgrad").extra
    assert extra["torch"] == "torch.optim.Adam" and extra["torch_kwargs"] == {"amsgrad": True}
    assert extra["state_buffers"] == ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")
    assert extra["state_floats_per_param"] == 3
    assert optimizers.describe("rprop").extra["uses_lr_per_step"] is False
    assert optimizers.describe("lion").extra["torch"] is None
    assert extra["reference"] is None
    assert optimizers.describe("adopt").extra["reference"] == "pytorch_optimizer.ADOPT"
    # the instance's own count: Adafactor keeps at most one number per parameter
    assert optimizers.describe("adafactor").extra["state_floats_per_param"] == 1
    assert clipping.describe("agc").extra["needs_params"] is True
    assert schedules.describe("step").extra["torch"] == "torch.optim.lr_scheduler.StepLR"


@pytest.mark.parametrize("name", optimizers.names())
def test_state_size_is_what_init_allocates(name):
    opt = optimizers.create(name)
    params = [np.ones((2, 3), dtype=np.float32), np.ones((2, 5), dtype=np.float32)]
    state = opt.init(params)
    # a buffer an array does not keep is None (Adafactor's factors are for matrices only)
    held = sum(a.nbytes for arrays in state.buffers.values() for a in arrays if a is not None)
    assert held == opt.state_bytes_per_param(np.float32) * 16
    assert held == opt.state_floats_per_param() * 4 * 16


def test_state_buffers_are_named_for_what_they_hold():
    params = [np.ones((1, 2))]
    assert set(optimizers.create("rmsprop").init(params).buffers) == {"square_avg"}
    state = optimizers.create("rmsprop", momentum=0.5, centered=True).init(params)
    assert set(state.buffers) == {"square_avg", "grad_avg", "momentum_buffer"}
    assert set(optimizers.create("adadelta").init(params).buffers) == {"square_avg", "acc_delta"}
    assert set(optimizers.create("adamax").init(params).buffers) == {"exp_avg", "exp_inf"}
    assert set(optimizers.create("adagrad").init(params).buffers) == {"sum"}
    assert optimizers.create("nadam").init(params).scalars == {"mu_product": 1.0}


class Unknown:
    pass


def test_registry_forms_kinds_from_string_annotations_and_defaults():
    registry = Registry("widget")

    @registry.register("decorated")
    @dataclasses.dataclass(frozen=True)
    class Widget:
        """A widget.

        More text.
        """

        size: int
        scale: float | None = None
        pair: tuple[float, float] = (0.1, 0.2)
        label: str = "x"
        anything: typing.Any = 3
        other: Unknown | None = None

    assert registry.register("direct", Widget) is Widget
    assert registry.names() == ["decorated", "direct"] and list(registry) == registry.names()
    assert "direct" in registry and "nope" not in registry and len(registry) == 2
    kinds = {p.name: p.kind for p in registry.describe("direct").parameters}
    assert kinds == {
        "size": int, "scale": float, "pair": tuple, "label": str, "anything": int, "other": object
    }  # fmt: skip
    description = registry.describe("decorated")
    assert description.summary == "A widget." and description.extra == {}
    assert description.parameters[0] == Parameter("size", None, True, int)
    assert registry.create("direct", size=2) == Widget(size=2)
    with pytest.raises(ValueError, match=r"^widget 'direct': missing required keyword 'size'$"):
        registry.create("direct")
    with pytest.raises(ValueError, match=r"widget 'direct': unknown keyword 'sise'.*'size'"):
        registry.create("direct", sise=2)
