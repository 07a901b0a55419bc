"""``problems`` keeps copies of two ``optimizers`` modules (the packages never import each other):
``_validate`` and ``registry``. The copies must behave the same; this runs both over one table."""

import dataclasses
import importlib
import math
import operator
from fractions import Fraction

import numpy as np
import pytest

import optimizers._validate
import problems._validate
import problems.registry

NAN, INF = float("nan"), math.inf
VALUES = [0, 1, -1, 0.5, 1.5, 1e300, INF, -INF, NAN, np.nan, Fraction(1, 3), 10**20]
VALUES += [np.float32(0.1), np.float32(1.0), np.float32(NAN), np.float32(INF), np.float16(0.5)]
VALUES += [np.float64(2.0), np.int64(3), np.int8(-1), np.bool_(True), np.bool_(False), True]
VALUES += ["0.1", None, [1.0], np.array(0.5), np.array([0.5]), 1j]
BOUNDS = [
    (),
    (0.0,),
    (0.0, INF, True),
    (0.0, 1.0),
    (0.0, 1.0, True, True),
    (0.0, 1.0, False, True),
    (-INF, 0.0, False, True),
    (1.0, 1.0),
    (0.1, 0.2),
    (0.0, 0.1),  # np.float32(0.1) rounds above 0.1
]
NAMES = ["rosenbrok", "adam", "", "xavier", "l3", "zzz", "Rosenbrock", "rosenbrock"]
VALID = [[], ["rosenbrock", "rastrigin", "beale"], ["adam", "adamw", "adamax", "nadam", "radam"]]
VALID += [["xavier_uniform", "xavier_normal", "he_normal"], ["l1", "l2", "none", "elastic_net"]]


def outcome(function, *args, **kwargs):
    """What a call did: its result, or the type and message of what it raised."""
    try:
        result = function(*args, **kwargs)
    except Exception as error:  # noqa: BLE001 - the comparison is the point
        return ("raised", type(error).__name__, str(error))
    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        return ("returned", type(result).__name__, repr(dataclasses.astuple(result)))
    if isinstance(result, BaseException):
        return ("returned", type(result).__name__, str(result))
    return ("returned", repr(result))


def both(name, *args, **kwargs):
    """The outcomes of ``name`` in problems' copy and in optimizers' copy."""
    ours = outcome(getattr(problems._validate, name), *args, **kwargs)
    theirs = outcome(getattr(optimizers._validate, name), *args, **kwargs)
    return ours, theirs


def test_the_copies_define_the_same_functions():
    public = {n for n in dir(optimizers._validate) if not n.startswith("_")}
    assert public <= set(dir(problems._validate))


@pytest.mark.parametrize("bounds", BOUNDS, ids=str)
def test_check_number_agrees(bounds):
    for value in VALUES:
        ours, theirs = both("check_number", "owner", "x", value, *bounds)
        assert ours == theirs, f"check_number(..., {value!r}, *{bounds})"


def test_check_number_rejects_bools_and_non_finite_numbers():
    for value in (True, np.bool_(True), NAN, INF, np.float32(NAN), "1"):
        with pytest.raises(ValueError, match="owner: x"):
            problems._validate.check_number("owner", "x", value)
    problems._validate.check_number("owner", "x", np.float32(0.5), 0.0, 1.0)


@pytest.mark.parametrize("valid", VALID, ids=str)
def test_closest_unknown_name_and_check_keywords_agree(valid):
    for name in NAMES:
        ours, theirs = both("closest", name, valid)
        assert ours == theirs
        ours, theirs = both("unknown_name", "problem", name, valid)
        assert ours == theirs
        ours, theirs = both("check_keywords", "problem 'x'", [name], valid)
        assert ours == theirs
    ours, theirs = both("unknown_name", "problem", ["unhashable"], valid)
    assert ours == theirs


# A toy registration, run through both Registry classes.


@dataclasses.dataclass(frozen=True)
class Half:
    """Multiply by 0.5 every ``period`` steps.

    A second paragraph that is not the summary.
    """

    base: float
    period: int = 10
    betas: tuple[float, float] = (0.9, 0.99)
    mode: str = "min"

    @classmethod
    def describe_extra(cls):
        return {"fact": 1}


class Plain:
    """A plain class with keyword-only arguments."""

    def __init__(self, *, flag: bool = False, size: int | None = None, hidden=(3,), other=None):
        self.flag, self.size, self.hidden, self.other = flag, size, hidden, other

    def __repr__(self):
        return f"Plain({self.flag}, {self.size}, {self.hidden}, {self.other})"


def factory(width: "int", *, scale=2.0, **ignored):
    return ("factory", width, scale, sorted(ignored))


class Undocumented:
    def __repr__(self):
        return "Undocumented()"  # the default repr holds an address, which differs per call


def exercise(registry_module):
    """Every call of the protocol on a toy registry, with its outcome."""
    registry = registry_module.Registry("schedule")
    results = [outcome(registry.register("half"), Half)]
    results.append(outcome(registry.register, "plain", Plain))
    results.append(outcome(registry.register, "factory", factory))
    results.append(outcome(registry.register, "undocumented", Undocumented))
    results += [outcome(registry.names), outcome(list, registry), outcome(len, registry)]
    results += [outcome(repr, registry), "half" in registry, "nope" in registry]
    results.append(outcome(operator.contains, registry, []))
    for name in ["half", "plain", "factory", "undocumented", "hlaf", "", ["x"], None]:
        results.append(outcome(registry.get, name))
        results.append(outcome(registry.describe, name))
    calls = [
        ("half", {"base": 1.0}),
        ("half", {"base": 1.0, "period": 3, "betas": (0.5, 0.6)}),
        ("half", {}),
        ("half", {"base": 1.0, "perod": 3}),
        ("plain", {"flag": True, "size": 3}),
        ("plain", {"flg": True}),
        ("factory", {"width": 2}),
        ("factory", {"width": 2, "anything": 1}),
        ("factory", {}),
        ("undocumented", {}),
        ("undocumented", {"x": 1}),
        ("nope", {}),
    ]
    for name, kwargs in calls:
        results.append(outcome(registry.create, name, **kwargs))
    results.append(outcome(registry.register("half"), Plain))  # registering again replaces
    results.append(outcome(registry.describe, "half"))
    return results


def test_registry_copies_behave_the_same():
    try:
        theirs_module = importlib.import_module("optimizers.registry")
    except ModuleNotFoundError:
        pytest.skip("optimizers/registry.py does not exist (yet)")
    ours, theirs = exercise(problems.registry), exercise(theirs_module)
    assert len(ours) == len(theirs)
    for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        assert a == b, f"call {i}: problems {a} != optimizers {b}"


def test_registry_toy_registration():
    """What ``exercise`` does, pinned down for the problems copy."""
    registry = problems.registry.Registry("schedule")
    assert registry.register("half")(Half) is Half
    assert registry.register("plain", Plain) is Plain
    assert registry.names() == ["half", "plain"] == list(registry) and "half" in registry
    assert [] not in registry and {"half": 1} not in registry  # unhashable: False, not TypeError
    description = registry.describe("half")
    assert description.summary == "Multiply by 0.5 every ``period`` steps."
    assert description.extra == {"fact": 1}
    Parameter = problems.registry.Parameter
    assert description.parameters == (
        Parameter("base", None, True, float),
        Parameter("period", 10, False, int),
        Parameter("betas", (0.9, 0.99), False, tuple),
        Parameter("mode", "min", False, str),
    )
    assert registry.create("half", base=2.0) == Half(2.0)
    with pytest.raises(ValueError, match=r"schedule 'half': unknown keyword 'perod' \(did you"):
        registry.create("half", base=1.0, perod=3)
    with pytest.raises(ValueError, match="schedule 'half': missing required keyword 'base'"):
        registry.create("half")
    with pytest.raises(ValueError, match=r"unknown schedule 'hlaf' \(did you mean 'half'\?\)"):
        registry.get("hlaf")
    assert [p.kind for p in registry.describe("plain").parameters] == [bool, int, tuple, object]
