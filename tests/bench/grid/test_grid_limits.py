"""Issue 16: wrong-typed booleans and integers, integers beyond 64 bits, deep nesting, a BOM,
and problems too big to build, each refused at validation in one line naming the key."""

from __future__ import annotations

import pytest

import optimizers
import problems
from bench.grid import GridError, parse_grid
from optimizers import clipping, schedules
from problems import regularizers

REGISTRIES = {"optimizers": optimizers, "clipping": clipping, "schedules": schedules,
              "regularizers": regularizers, "problems": problems}  # fmt: skip
WRONG = {bool: ["false", "true", 0, 1, 1.0], int: ["3", 3.0, 2.5, True]}


def typed_parameters():
    """(axis, name, parameter, wrong value) for every bool or int parameter of every registry."""
    for axis, registry in REGISTRIES.items():
        for name in registry.names():
            for parameter in registry.describe(name).parameters:
                for value in WRONG.get(parameter.kind, ()):
                    yield pytest.param(axis, name, parameter.name, value,
                                       id=f"{axis}-{name}-{parameter.name}-{value!r}")  # fmt: skip


def grid(axis: str, entry: str) -> str:
    problem = entry if axis == "problems" else 'name = "rosenbrock"'
    optimizer = entry if axis == "optimizers" else 'name = "sgd"'
    text = f"steps = 5\nseeds = 1\n[[problems]]\n{problem}\n[[optimizers]]\n{optimizer}\n"
    if axis not in ("problems", "optimizers"):
        text += f"[[{axis}]]\n{entry}\n"
    return text


def toml(value) -> str:
    return {True: "true", False: "false"}[value] if isinstance(value, bool) else repr(value)


@pytest.mark.parametrize("axis, name, key, value", list(typed_parameters()))
def test_a_wrong_typed_boolean_or_integer_is_refused_naming_the_key(axis, name, key, value):
    required = [p for p in REGISTRIES[axis].describe(name).parameters if p.required]
    fill = {float: "1.0", int: "10", tuple: "[5]"}
    lines = [f'name = "{name}"', f"{key} = {toml(value).replace(chr(39), chr(34))}"]
    lines += [f"{p.name} = {fill[p.kind]}" for p in required if p.name != key]
    with pytest.raises(GridError) as error:
        parse_grid(grid(axis, "\n".join(lines)), label="g.toml")
    message = str(error.value)
    assert message.startswith(f"g.toml: {axis}[0].{key}: ") and "\n" not in message


def test_a_float_for_an_integer_gets_a_hint():
    with pytest.raises(GridError, match=r"problems\[0\]\.dim: .*got 3\.0 \(write 3"):
        parse_grid(grid("problems", 'name = "rosenbrock"\ndim = 3.0'), label="g.toml")


def test_string_booleans_in_a_sweep_name_their_index():
    entry = 'name = "adam"\namsgrad = [true, "false"]'
    with pytest.raises(GridError, match=r"optimizers\[0\]\.amsgrad\[1\]: expected true or false"):
        parse_grid(grid("optimizers", entry), label="g.toml")


def test_elements_of_a_list_parameter_are_checked_against_its_default():
    entry = 'name = "mnist_mlp"\nhidden = [64, 3.0]'
    with pytest.raises(GridError, match=r"problems\[0\]\.hidden\[1\]: expected an integer"):
        parse_grid(grid("problems", entry), label="g.toml")


@pytest.mark.parametrize(
    "text, where",
    [
        ("seeds = [9223372036854775808]\n", "seeds[0]"),
        ("seed = 9223372036854775808\n", "seed"),
        ("seeds = 100000000\n", "seeds"),
        ("steps = 10000000000\n", "steps"),
        ("log_every = 10000000000\n", "log_every"),
        ("epochs = 1e300\n", "epochs"),
    ],
)
def test_integers_beyond_what_the_store_and_numpy_take_are_refused(text, where):
    body = '[[problems]]\nname = "spirals"\n[[optimizers]]\nname = "sgd"\n'
    with pytest.raises(GridError) as error:
        parse_grid(text + body, label="g.toml")
    assert str(error.value).startswith(f"g.toml: {where}: ")


def test_a_huge_integer_keyword_is_refused_before_building():
    entry = 'name = "quadratic"\ndata_seed = 18446744073709551616'
    with pytest.raises(GridError, match=r"problems\[0\]\.data_seed: .*64 bits"):
        parse_grid(grid("problems", entry), label="g.toml")


@pytest.mark.parametrize("depth", [9, 500, 5000])
def test_lists_nested_too_deep_are_refused_in_one_line(depth):
    nested = "[" * depth + "1" + "]" * depth
    with pytest.raises(GridError) as error:
        parse_grid(grid("problems", f'name = "rosenbrock"\ndim = {nested}'), label="g.toml")
    message = str(error.value)
    assert "nested more than" in message and "dim" in message and "\n" not in message


def test_a_utf8_bom_is_accepted():
    text = grid("optimizers", 'name = "sgd"')
    assert parse_grid("\ufeff" + text).count() == parse_grid(text).count()


@pytest.mark.parametrize(
    "entry, key",
    [('name = "rosenbrock"\ndim = 1000000000000', "dim"),
     ('name = "quadratic"\ndim = 10000000', "dim"),
     ('name = "spirals"\npoints = 100000000000', "points")],
)  # fmt: skip
def test_a_problem_too_big_to_build_is_refused_before_building(entry, key):
    with pytest.raises(GridError, match=rf"problems\[0\]\.{key}: too big: building .* more than"):
        parse_grid(grid("problems", entry), label="g.toml")


def test_the_build_limit_follows_the_machine_memory(monkeypatch):
    from bench.grid import footprint as footprint_module

    entry = 'name = "quadratic"\ndim = 300'  # about 4 MB to build
    parse_grid(grid("problems", entry))
    monkeypatch.setattr(footprint_module, "machine_memory", lambda: 10**6)
    monkeypatch.setattr("bench.grid.resolve.machine_memory", lambda: 10**6)
    with pytest.raises(GridError, match="more than this machine's 1 MB"):
        parse_grid(grid("problems", entry))


@pytest.mark.parametrize("name", problems.names())
def test_footprints_count_the_parameters_of_every_builtin_problem(name):
    import numpy as np

    from bench.grid.footprint import footprint

    size = footprint(name, {})
    params = problems.create(name).init_params(np.random.default_rng(0), 1)
    assert size is not None and size.parameters == sum(p.size for p in params)
    assert size.itemsize == params[0].itemsize


def test_a_list_of_lists_for_a_number_is_refused_at_validation():
    """``lr = [[1e-3, 1e-2]]`` once validated as one cell and then failed at the store write."""
    with pytest.raises(GridError, match=r"optimizers\[0\]\.lr: expected a number"):
        parse_grid(grid("optimizers", 'name = "adam"\nlr = [[1e-3, 1e-2]]'), label="g.toml")
