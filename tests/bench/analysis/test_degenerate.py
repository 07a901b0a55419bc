"""Cells whose seeds repeat one run: flagged, no CI, no test, said in the terminal and report."""

import contextlib
import io

import numpy as np
import pandas as pd
import pytest

from bench import analysis
from bench.analysis.degenerate import identical_seeds
from bench.analysis.summary import format_summary
from bench.cli import main
from bench.store.store import load

# quadratic without start or gradient noise is deterministic: its 5 seeds are one run
GRID = """\
name = "degenerate"
seeds = 5
steps = 60
log_every = 20

[[problems]]
name = "quadratic"
start_noise = 0.0
noise = 0.0

[[problems]]
name = "quadratic"
start_noise = 0.1
noise = 0.0

[[optimizers]]
name = "adam"
lr = 0.05

[[optimizers]]
name = "sgd"
lr = 0.05
"""
SUMMARY_LINE = (
    "2 cells have identical seeds (a deterministic problem with no start or gradient noise): "
    "their CIs and tests are not computed"
)


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """The grid run by ``optbench run`` (report included): its store, output and report."""
    folder = tmp_path_factory.mktemp("degenerate")
    grid, store = folder / "grid.toml", folder / "degenerate.sqlite"
    grid.write_text(GRID)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["run", str(grid), "--store", str(store), "--jobs", "1"])
    assert code == 0, err.getvalue() + out.getvalue()
    runs, curves = load(store)
    report = (folder / "degenerate" / "report.md").read_text()
    return runs, curves, out.getvalue(), report


def deterministic(frame: pd.DataFrame) -> pd.Series:
    return frame["problem_params"].str.contains('"start_noise": 0.0')


def test_only_the_deterministic_cells_are_flagged_and_lose_their_cis(study):
    runs, curves, _, _ = study
    stats = analysis.cell_stats(runs, curves=curves, n_resamples=200)
    assert len(stats) == 4
    flagged = deterministic(stats)
    assert flagged.sum() == 2
    assert (stats["degenerate"] == flagged).all()
    for metric in ("final_loss", "best_loss"):
        assert stats.loc[flagged, f"{metric}_ci_low"].isna().all()
        assert stats.loc[flagged, f"{metric}_ci_high"].isna().all()
        assert stats.loc[~flagged, f"{metric}_ci_low"].notna().all()
        # median and IQR stay, and are the one value every seed gave
        one = runs[deterministic(runs)].groupby("cell_key")["final_train_loss"].first()
        median = stats.loc[flagged].set_index("cell_key")["final_loss_median"]
        np.testing.assert_allclose(median, one.reindex(median.index), rtol=0)
    assert (stats.loc[flagged, "final_loss_q1"] == stats.loc[flagged, "final_loss_q3"]).all()


def test_degenerate_cells_get_no_p_value_and_say_why(study):
    runs, _, _, _ = study
    board = analysis.leaderboard(runs, n_resamples=100)
    flagged = deterministic(board)
    assert board["degenerate"].eq(flagged).all()
    assert board.loc[flagged, "p_value"].isna().all()
    assert board.loc[flagged, "p_holm"].isna().all()
    assert not board.loc[flagged, "significant"].any()
    assert set(board.loc[flagged, "not_tested"]) == {"identical seeds"}
    noisy = board[~flagged]
    assert (noisy["not_tested"] == "").all()
    assert noisy["p_value"].notna().sum() == 1  # the one non-reference optimizer is tested


def test_the_terminal_summary_says_so(study):
    runs, _, output, _ = study
    assert SUMMARY_LINE in output
    assert output.count("identical seeds") == 1
    assert SUMMARY_LINE in format_summary(runs)
    noisy = runs[~deterministic(runs)]
    assert "identical seeds" not in format_summary(noisy)


def test_the_report_notes_it_in_the_problem_and_failures_sections(study):
    _, _, _, report = study
    assert "Identical seeds: adam, sgd gave the same run" in report
    assert report.count("Identical seeds:") == 1  # the noisy problem has none
    assert "not tested: identical seeds" in report
    assert "2 configurations of 4 gave the same run on every seed" in report
    assert "is one observation, not a sample" in report  # methodology


def test_a_cell_whose_seeds_differ_in_one_bit_is_not_degenerate(study):
    runs, curves, _, _ = study
    cell = runs.loc[deterministic(runs), "cell_key"].iloc[0]
    assert identical_seeds(runs, curves)[cell]
    for column in ("final_train_loss", "best_train_loss"):
        changed = runs.copy()
        row = changed.index[changed["cell_key"] == cell][-1]
        changed.loc[row, column] = np.nextafter(changed.loc[row, column], np.inf)
        assert not identical_seeds(changed, curves)[cell]
        flags = analysis.cell_stats(changed, n_resamples=0).set_index("cell_key")["degenerate"]
        assert not flags[cell]
    changed = curves.copy()
    row = changed.index[(changed["cell_key"] == cell) & (changed["step"] == 20)][-1]
    changed.loc[row, "train_loss"] = np.nextafter(changed.loc[row, "train_loss"], -np.inf)
    assert not identical_seeds(runs, changed)[cell]
    assert identical_seeds(runs)[cell]  # the runs alone cannot see a curve


def test_a_single_seed_and_an_all_error_cell_are_not_degenerate(study):
    runs, _, _, _ = study
    cell = runs.loc[deterministic(runs), "cell_key"].iloc[0]
    one = runs[runs["cell_key"] == cell].head(1)
    assert not identical_seeds(one)[cell]
    errored = runs[runs["cell_key"] == cell].assign(status="error")
    assert not identical_seeds(errored)[cell]
