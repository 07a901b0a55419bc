"""Fuzzing grid files: each one either runs, or fails with exit code 2 and a one-line message.

Grids are generated from valid seed grids by a few random edits (delete or rename a key, replace a
value by one of another type or range, nest or unnest it, add an entry), so that most are near
misses, the inputs validation has to get right; some are then corrupted as text. Each is
checked two ways: a few hundred through ``parse_grid`` (fast), a few dozen through the whole
``optbench run`` with tiny budgets. No traceback may escape, and a refused grid writes no store.
Examples are derandomized, so CI sees the same ones every time.
"""

from __future__ import annotations

import contextlib
import copy
import datetime
import io
import json
import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from bench.cli import main
from bench.grid import MAX_CELLS, GridError, parse_grid

SEED_GRIDS = [
    {
        "name": "fuzz-a",
        "seeds": 2,
        "steps": 5,
        "log_every": 2,
        "problems": [{"name": "rosenbrock", "dim": 2, "start_noise": 0.1}],
        "optimizers": [{"name": "adam", "lr": [0.01, 0.1], "betas": [0.9, 0.999]}],
    },
    {
        "name": "fuzz-b",
        "seeds": [0, 3],
        "steps": 4,
        "batch_size": 8,
        "initializers": ["default", "he_normal"],
        "problems": [{"name": "xor"}, {"name": "spirals", "hidden": 4}],
        "optimizers": [{"name": "sgd", "lr": 0.1, "momentum": [0.0, 0.9]}, "rmsprop"],
        "clipping": [{"name": "global_norm", "max_norm": [1.0, 10.0]}, "none"],
        "schedules": [{"name": "cosine", "T_max": "steps"}],
        "regularizers": [{"name": "l2", "strength": 1e-4}],
    },
    {
        "description": "epochs, a timeout and inline axes",
        "seed": 7,
        "seeds": 1,
        "timeout": 30.0,
        "problems": [{"name": "quadratic", "dim": 3, "steps": 6}, {"name": "beale", "steps": 3}],
        "optimizers": [{"name": "lion", "lr": 1e-3}, {"name": "rprop", "etas": [0.5, 1.2]}],
        "schedules": ["constant", {"name": "step", "step_size": 2, "gamma": 0.5}],
    },
]

NAMES = [
    "rosenbrock", "rosenbrok", "xor", "spirals", "quadratic", "beale", "adam", "adamm", "sgd",
    "Adam", "lion", "cosine", "cosin", "step", "global_norm", "global", "value", "l2", "l3",
    "he_normal", "xavier", "default", "full", "steps", "none", "", " ", "adam ", "nan",
]  # fmt: skip
KEYS = [
    "name", "seeds", "seed", "steps", "epochs", "log_every", "batch_size", "timeout", "plugins",
    "problems", "optimizers", "initializers", "clipping", "schedules", "regularizers", "lr",
    "momentum", "betas", "dim", "hidden", "max_norm", "strength", "T_max", "gamma", "lrr",
    "Steps", "optimiser", "description", "seed_count",
]  # fmt: skip
# A grid's plugins are imported; only ever these, whatever the fuzzer writes.
SAFE_PLUGINS = ["no_such_plugin_xyz", "", "1bad name", "..", "json"]

scalars = st.one_of(
    st.integers(min_value=-3, max_value=50),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),  # overflows, never a huge allocation
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1e-300, 1e300, 0.5, 2.0]),
    st.booleans(),
    st.text(max_size=8),
    st.sampled_from(NAMES),
    st.sampled_from([datetime.date(2024, 1, 1), datetime.time(12, 30)]),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)


def positions(node, out=None):
    """Every (container, key) in the tree, containers included."""
    out = [] if out is None else out
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for key, child in list(items):
        out.append((node, key))
        if isinstance(child, dict | list):
            positions(child, out)
    return out


def mutate(draw, grid: dict) -> None:
    container, key = draw(st.sampled_from(positions(grid)))
    action = draw(st.sampled_from(["delete", "replace", "rename", "add", "wrap", "unwrap", "copy"]))
    value = container[key]
    if action == "delete":
        del container[key]
    elif action == "replace":
        container[key] = draw(values)
    elif action == "rename" and isinstance(container, dict):
        container[draw(st.sampled_from(KEYS) | st.text(max_size=6))] = container.pop(key)
    elif action == "add" and isinstance(container, dict):
        container[draw(st.sampled_from(KEYS))] = draw(values)
    elif action == "add":
        container.append(draw(values))
    elif action == "wrap":
        container[key] = [value]
    elif action == "unwrap" and isinstance(value, list) and value:
        container[key] = value[0]
    elif action == "copy" and isinstance(container, list):
        container.append(copy.deepcopy(value))


@st.composite
def grid_texts(draw) -> str:
    grid = copy.deepcopy(draw(st.sampled_from(SEED_GRIDS)))
    for _ in range(draw(st.integers(0, 3))):
        if grid:
            mutate(draw, grid)
    if isinstance(grid.get("plugins"), list):
        grid["plugins"] = [
            draw(st.sampled_from(SAFE_PLUGINS)) if isinstance(p, str) else p
            for p in grid["plugins"]
        ]
    elif isinstance(grid.get("plugins"), str):
        grid["plugins"] = draw(st.sampled_from(SAFE_PLUGINS))
    text = to_toml(grid)
    if draw(st.integers(0, 9)) == 0:  # now and then, break the text itself
        at = draw(st.integers(0, len(text)))
        text = (
            text[:at] + draw(st.sampled_from(["", "[", "]]", "=", '"', "\n[[", "\x00"])) + text[at:]
        )
    return text


def to_toml(grid: dict) -> str:
    """A dict as TOML: lists of tables as [[arrays of tables]], everything else inline."""
    lines, tables = [], []
    for key, value in grid.items():
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            tables.append((key, value))
        else:
            lines.append(f"{toml_key(key)} = {toml_value(value)}")
    for key, entries in tables:
        for entry in entries:
            lines.append(f"[[{toml_key(key)}]]")
            lines += [f"{toml_key(k)} = {toml_value(v)}" for k, v in entry.items()]
    return "\n".join(lines) + "\n"


def toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key, ensure_ascii=False)


def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)  # nan, inf and -inf are spelled the same in TOML
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + "}"


def test_the_seed_grids_are_valid():
    for grid in SEED_GRIDS:
        assert parse_grid(to_toml(grid)).count()[0] >= 1


FUZZ = settings(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@pytest.mark.timeout(120)
@settings(FUZZ, max_examples=300)
@given(grid_texts())
def test_parse_grid_accepts_a_grid_or_refuses_it_in_one_line(text):
    try:
        spec = parse_grid(text, label="fuzz.toml")
    except GridError as error:
        message = str(error)
        assert message.startswith("fuzz.toml: ") and "\n" not in message, message
        return
    cells, runs = spec.count()
    assert cells >= 1 and runs == cells * len(spec.seeds)
    try:
        built = spec.cells()
    except GridError as error:
        assert cells > MAX_CELLS and "--yes" in str(error)
    else:
        assert len(built) == cells and len({c.key for c in built}) == cells


def cost(text: str) -> float:
    """Steps x seeds over the grid's cells (infinite when it does not parse: always cheap)."""
    try:
        spec = parse_grid(text)
    except GridError:
        return 0.0
    cells, runs = spec.count()
    if cells > 50:
        return float("inf")
    return sum(cell.steps * len(cell.seeds) for cell in spec.cells())


@pytest.mark.timeout(120)
@settings(FUZZ, max_examples=30)
@given(grid_texts())
def test_optbench_run_runs_a_grid_or_exits_2_writing_nothing(text):
    assume(cost(text) <= 2000)
    with tempfile.TemporaryDirectory() as folder:
        grid, store = Path(folder) / "fuzz.toml", Path(folder) / "fuzz.sqlite"
        grid.write_text(text, encoding="utf-8")
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["run", str(grid), "--store", str(store), "--jobs", "1"])
        assert "Traceback" not in err.getvalue()
        if code == 2:
            assert err.getvalue().count("\n") == 1 and "error:" in err.getvalue()
            assert sorted(p.name for p in Path(folder).iterdir()) == ["fuzz.toml"]
        else:
            assert code in (0, 1) and store.exists()  # 1: some runs ended in `error`
