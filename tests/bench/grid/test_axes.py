"""The AXES table: one row per grid axis, and everything else derived from it."""

import json
import subprocess
import sys

import pytest

from bench import analysis
from bench.grid import axes, parse_grid
from bench.grid.values import InvalidKeyError, Option
from bench.run.engine import run_cell
from bench.store import Store, load

GRID = """
seeds = 2
steps = 5
{extra}
[[problems]]
name = "quadratic"
dim = 3
[[optimizers]]
name = "sgd"
lr = [0.01, 0.1]
"""


def tags(data):
    """A toy axis: bare names from ``tags = [...]`` (default one tag, ``"plain"``)."""
    values = data.get("tags", ["plain"])
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise InvalidKeyError("tags", f"expected a list of names, got {values!r}")
    return tuple(Option(v, {"weight": len(v)}) for v in dict.fromkeys(values))


@pytest.fixture
def toy_axis():
    entry = axes.Axis("tags", "tag", "tag_params", "tag.", "tag", "tag", default="plain",
                      robustness=True, resolve=tags)  # fmt: skip
    axes.register_axis(entry)
    yield entry
    axes.unregister_axis("tags")


def test_a_toy_axis_is_one_row_from_grid_to_analysis(toy_axis, tmp_path):
    spec = parse_grid(GRID.format(extra='tags = ["red", "blue"]'))
    cells = spec.cells()
    assert spec.count() == (4, 8)  # 2 lrs x 2 tags
    assert sorted({c.tag for c in cells}) == ["blue", "red"]
    assert len({c.key for c in cells}) == 4  # the tag is part of each cell's identity
    with Store(tmp_path / "toy.sqlite") as store:
        store.start_experiment("toy", "")
        for cell in cells:
            store.write(run_cell(cell))
    runs, _ = load(tmp_path / "toy.sqlite")
    assert set(runs["tag"]) == {"red", "blue"}
    assert set(runs["tag.weight"]) == {3, 4}  # flat parameter columns, by the axis's prefix
    assert json.loads(runs["tag_params"].iloc[0]) in ({"weight": 3}, {"weight": 4})
    assert "tag" in analysis.cells.config_columns()
    assert set(analysis.robustness(runs, "tag")["value"]) == {"red(weight=3)", "blue(weight=4)"}


def test_a_bad_value_of_a_toy_axis_is_a_grid_error(toy_axis):
    from bench.grid import GridError

    with pytest.raises(GridError, match="tags: expected a list of names"):
        parse_grid(GRID.format(extra="tags = 3"))
    with pytest.raises(GridError, match="unknown key 'tagz'"):
        parse_grid(GRID.format(extra='tagz = ["a"]'))


def test_axes_cannot_be_registered_twice(toy_axis):
    with pytest.raises(ValueError, match="already registered"):
        axes.register_axis(toy_axis)


def test_the_builtin_axes_keep_the_cell_keys_of_before():
    """Cell keys hash every axis: a change here would orphan every stored result."""
    spec = parse_grid(GRID.format(extra=""))
    cell = spec.cells()[0]
    assert set(cell.identity()) == {
        "problem", "problem_params", "optimizer", "optimizer_params", "initializer", "clip",
        "clip_params", "schedule", "schedule_params", "regularizer", "regularizer_params",
        "batch_size", "steps", "log_every", "grid_seed",
    }  # fmt: skip
    assert cell.key == "52d0999dad08cfe76b5f5f79"  # as computed at f188708


def test_importing_the_engine_pulls_in_no_pandas_scipy_or_matplotlib():
    code = (
        "import sys, bench.run.engine, bench.run.parallel\n"
        "heavy = {'pandas', 'scipy', 'matplotlib'} & {m.split('.')[0] for m in sys.modules}\n"
        "print(sorted(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
