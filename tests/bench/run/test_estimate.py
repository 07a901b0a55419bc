"""The time estimate: human units, calibration on sampled cells against a measured run, and the
run's ETA priced per problem."""

import math
import re
import time

import pytest

from bench.cli import main
from bench.grid import load_grid
from bench.grid.cell import Cell
from bench.run import estimate
from bench.run.estimate import Eta, duration, estimate_seconds
from bench.run.parallel import run_cells

QUICK_OPTIMIZERS = 'optimizers = [{ name = "adam", lr = 0.01 }, { name = "sgd", lr = 0.01 }]\n'


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.4, "under 1 s"), (1, "1 s"), (59.4, "59 s"), (60, "1 min"), (220.4, "3 min 40 s"),
     (3600, "1 h"), (7540, "2 h 5 min"), (421_201, "4 d 21 h")],
)  # fmt: skip
def test_durations_read_in_human_units(seconds, text):
    assert duration(seconds) == text


def reduced_quick_grid(tmp_path):
    """The quick preset with its problems and budgets as they are, and two optimizers."""
    text = load_grid("quick").text
    start = text.index("optimizers = [")
    end = text.index("]\n", start) + 2
    path = tmp_path / "quick_reduced.toml"
    path.write_text(text[:start] + QUICK_OPTIMIZERS + text[end:])
    return load_grid(str(path)).cells()


@pytest.mark.timeout(300)
def test_the_calibrated_estimate_is_within_2x_of_a_measured_quick_run(tmp_path):
    """Every problem of the quick preset, its own budgets, 5 seeds, two optimizers: the estimate
    made before the run, against the same cells run (in this process, as ``--jobs 1``)."""
    cells = reduced_quick_grid(tmp_path)
    assert {cell.problem for cell in cells} == {cell.problem for cell in load_grid("quick").cells()}
    _, estimate = estimate_seconds(cells, workers=1)
    started = time.perf_counter()
    results = list(run_cells(cells, jobs=1))
    measured = time.perf_counter() - started
    assert len(results) == len(cells)
    assert 0.5 <= measured / estimate <= 2.0, (estimate, measured)


def test_the_estimate_schedules_the_cells_on_the_workers(tmp_path, monkeypatch):
    cells = reduced_quick_grid(tmp_path)
    models = estimate.calibrate(cells)  # one calibration for both schedules: nothing timed twice
    monkeypatch.setattr(estimate, "calibrate", lambda cells, probes=None: models)
    work, alone = estimate_seconds(cells, workers=1)
    _, shared = estimate_seconds(cells, workers=4)
    assert alone == pytest.approx(work)
    assert alone / 4 <= shared < alone


def cells_of(problem: str, count: int) -> list[Cell]:
    return [Cell(problem=problem, optimizer="sgd", optimizer_params={"lr": 0.01 * (i + 1)})
            for i in range(count)]  # fmt: skip


def test_the_eta_prices_the_cells_left_at_their_own_problems_pace():
    """Heavy MNIST cells run first and take longer per unit of estimated cost than the light
    Rosenbrock cells: the cells left are priced at their own problem's pace."""
    heavy, light = cells_of("mnist_logreg", 2), cells_of("rosenbrock", 4)
    eta = Eta(heavy + light, [10.0, 10.0, 1.0, 1.0, 1.0, 1.0])
    assert eta.seconds_left(elapsed=5.0) is None  # nothing finished yet: no pace known
    eta.finished(heavy[0], 40.0)  # 4 s per unit of cost
    # one MNIST cell left at 4 s/unit, the rosenbrock ones at the overall pace (also 4 s/unit)
    assert eta.seconds_left(elapsed=40.0) == pytest.approx((40 + 4 * 4) / 1.0)
    eta.finished(heavy[1], 40.0)
    eta.finished(light[0], 0.5)  # rosenbrock: 0.5 s per unit
    # work left: 3 rosenbrock cells x 0.5 s; the workers did 80.5 s of work in 40.5 s
    assert eta.seconds_left(elapsed=40.5) == pytest.approx(3 * 0.5 / (80.5 / 40.5))


def test_the_eta_ignores_cells_whose_time_is_unknown():
    cells = cells_of("beale", 3)
    eta = Eta(cells, [1.0, 1.0, 1.0])
    eta.finished(cells[0], math.nan)  # a worker died: no time
    assert eta.seconds_left(elapsed=1.0) is None
    eta.finished(cells[1], 2.0)
    assert eta.seconds_left(elapsed=2.0) == pytest.approx(2.0)


def test_the_dry_run_prints_the_time_in_human_units(tmp_path, capsys):
    grid = tmp_path / "g.toml"
    grid.write_text('name = "g"\nseeds = 2\nsteps = 50\noptimizers = [{ name = "adam" }]\n'
                    '[[problems]]\nname = "beale"\n')  # fmt: skip
    assert main(["run", str(grid), "--store", str(tmp_path / "g.sqlite"), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"estimated time: about (under 1 s|\d+ s|\d+ min( \d+ s)?) on \d worker", out)
    assert "calibrated on 1 sampled cell of 1 problem setting" in out
    assert not (tmp_path / "g.sqlite").exists()
