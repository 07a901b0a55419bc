"""``optbench compare --require-complete``: a current store that lacks cells of the base fails
the gate with a count; without the flag such a store is compared as it is, with a note."""

import pytest

from bench.analysis.regression import compare_runs
from bench.run.engine import run_cell
from bench.store.store import Store
from tests.bench.analysis.test_regression import cells, compare, timing_runs, write_store


@pytest.fixture
def base(tmp_path):
    return write_store(tmp_path / "base.sqlite")


@pytest.fixture
def partial(tmp_path):
    """The base's grid, stopped after its first cell (1 of 2)."""
    path = tmp_path / "partial.sqlite"
    with Store(path) as store:
        store.start_experiment("pair", "")
        store.write(run_cell(cells()[0]))
    return path


def test_without_the_flag_an_incomplete_store_is_compared_with_a_note(base, partial, capsys):
    assert compare(base, partial) == 0
    captured = capsys.readouterr()
    assert "note: 1 cell only in the base store is not compared" in captured.out
    assert captured.err == ""


def test_require_complete_fails_with_a_count_of_the_missing_cells(base, partial, capsys):
    assert compare(base, partial, "--require-complete") == 1
    captured = capsys.readouterr()
    assert "1 cell compared" in captured.out  # the comparison of what is there still prints
    assert captured.err.strip() == (
        "optbench compare: 1 of 2 cells of the base are missing from the current store"
    )


def test_require_complete_passes_a_complete_store(base, tmp_path, capsys):
    rerun = write_store(tmp_path / "rerun.sqlite")
    assert compare(base, rerun, "--require-complete") == 0
    assert capsys.readouterr().err == ""


def test_cells_only_in_the_current_store_do_not_count_as_missing(partial, base, capsys):
    assert compare(partial, base, "--require-complete") == 0
    assert "1 cell only in the current store is not compared" in capsys.readouterr().out


def test_the_comparison_counts_the_base_cells_and_those_missing():
    base = timing_runs()
    current = base[~base["cell_key"].isin(["a0", "b3", "c7"])]
    comparison = compare_runs(base, current)
    assert (comparison.base_cells, comparison.missing_cells) == (24, 3)
    assert comparison.notes[0] == "3 cells only in the base store are not compared"
    complete = compare_runs(base, base)
    assert (complete.base_cells, complete.missing_cells) == (24, 0)
