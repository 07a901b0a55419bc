"""Run groups: which cells share an array program, and that sharing never changes a number."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import optimizers
from bench.grid.cell import Cell
from bench.run import grouping
from bench.run.engine import run_cell, run_group
from bench.run.parallel import run_cells


def cell(**kw):
    base = dict(
        problem="rosenbrock",
        problem_params={"dim": 3, "start_noise": 0.3},
        optimizer="adam",
        optimizer_params={"lr": 0.01},
        steps=24,
        log_every=5,
        seeds=(0, 1),
    )
    return Cell(**{**base, **kw})


def same_result(a, b):
    """Two results of one cell: every stored number equal, bit for bit (times aside)."""
    assert a.cell == b.cell
    for x, y in zip(a.runs, b.runs, strict=True):
        assert x.keys() == y.keys()
        for key in x.keys() - {"opt_time"}:
            same = x[key] == y[key] or (x[key] != x[key] and y[key] != y[key])  # NaN == NaN
            assert same, (key, x[key], y[key])
    for name, values in a.curves.items():
        if name != "time":
            np.testing.assert_array_equal(values, b.curves[name], err_msg=name)
    assert [(t["seed"], t["step"]) for t in a.targets] == [
        (t["seed"], t["step"]) for t in b.targets
    ]


def sweep():
    """Cells of one rule that differ in lr, schedule kind, clipping threshold, initializer and
    seeds: all of them belong in one group."""
    return [
        cell(optimizer_params={"lr": 0.01}),
        cell(optimizer_params={"lr": 0.03}, seeds=(0, 1, 2)),
        cell(optimizer_params={"lr": 0.1}, schedule="cosine", schedule_params={"T_max": 24}),
        cell(optimizer_params={"lr": 0.003}, seeds=(4,)),
    ]


def mlp_sweep():
    """The same for an MLP, whose cells may also differ in their initializer."""
    xor = {"problem": "xor", "problem_params": {"hidden": 4}}
    return [
        cell(**xor, optimizer_params={"lr": 0.05}, initializer="he_normal"),
        cell(**xor, optimizer_params={"lr": 0.2}, initializer="orthogonal", seeds=(1, 3)),
        cell(**xor, optimizer_params={"lr": 0.1}, schedule="cosine", schedule_params={"T_max": 9}),
    ]


def test_cells_differing_only_in_continuous_values_and_initializers_share_one_group():
    cells = sweep()
    assert grouping.plan(cells) == [tuple(cells)]


def test_rule_clipping_kind_problem_budget_and_timeout_separate_groups():
    base = cell()
    others = [
        cell(optimizer="sgd", optimizer_params={"lr": 0.01}),
        cell(clip="global_norm", clip_params={"max_norm": 1.0}),
        cell(problem_params={"dim": 4, "start_noise": 0.3}),
        cell(steps=30),
        cell(optimizer_params={"lr": 0.02}, timeout=100.0),
        cell(optimizer_params={"lr": 0.01, "amsgrad": True}),
    ]
    groups = grouping.plan([base, *others])
    assert groups == [(base,)] + [(other,) for other in others]


def test_groups_keep_the_cells_order_and_split_to_give_every_job_work():
    cells = sweep()
    halves = grouping.plan(cells, jobs=2)
    assert halves == [tuple(cells[:2]), tuple(cells[2:])]
    assert [c for group in grouping.plan(cells, jobs=9) for c in group] == cells


def test_a_group_stays_within_its_byte_cap(monkeypatch):
    mnist = [
        cell(problem="mnist_mlp", problem_params={"hidden": 64}, optimizer_params={"lr": lr},
             seeds=tuple(range(5)))
        for lr in (0.1, 0.01, 0.001, 1e-4)
    ]  # fmt: skip
    per_run = grouping.run_bytes(mnist[0])
    assert per_run > 8 * 784 * 64 * 8  # 8 arrays of at least the first layer's weights
    monkeypatch.setattr(grouping, "GROUP_BYTES", 11 * per_run)
    groups = grouping.plan(mnist)
    assert [len(g) for g in groups] == [2, 2]  # 10 runs fit, 15 do not


def test_a_group_gives_each_cell_what_it_gives_alone_at_any_jobs():
    cells = sweep() + mlp_sweep()
    assert len(grouping.plan(cells)) == 2
    alone = {c.key: run_cell(c) for c in cells}
    together = run_group(cells)
    for result in together:
        same_result(result, alone[result.cell.key])
    for result in run_cells(list(reversed(cells)), jobs=2):
        same_result(result, alone[result.cell.key])


def test_times_are_shared_by_runs():
    cells = sweep()
    results = run_group(cells)
    total = sum(len(c.seeds) for c in cells)
    first, second = results[0].runs[0]["opt_time"], results[1].runs[0]["opt_time"]
    assert second == pytest.approx(first * 3 / 2)
    assert sum(r.runs[0]["opt_time"] * len(r.cell.seeds) for r in results) > 0
    assert results[0].wall_time * total == pytest.approx(results[1].wall_time * total * 2 / 3)


def test_an_error_in_a_group_is_only_its_own_cell_s_error():
    cells = [cell(), cell(initializer="zeros"), cell(optimizer_params={"lr": 0.5})]
    results = run_group(cells)
    assert [r.runs[0]["status"] for r in results] == ["done", "error", "done"]
    assert "initializer must be None" in results[1].runs[0]["error"]
    same_result(results[0], run_cell(cells[0]))


PROBLEMS = [  # float64 and float32, a vector and an MLP's matrices
    {"problem": "rosenbrock", "problem_params": {"dim": 3, "start_noise": 0.3}},
    {"problem": "xor", "problem_params": {"hidden": 3, "dtype": "float32"}},
]


def _configurations(rule: str, lrs: list[float], problem: dict) -> list[Cell]:
    schedules = [("constant", {}), ("cosine", {"T_max": 24}), ("step", {"step_size": 7})]
    cells = []
    for i, lr in enumerate(lrs):
        kind, params = schedules[i % len(schedules)]
        cells.append(
            cell(**problem, optimizer=rule, optimizer_params={"lr": lr}, schedule=kind,
                 schedule_params=params, seeds=tuple(range(i % 3 + 1)))
        )  # fmt: skip
    return cells


@pytest.mark.parametrize("rule", optimizers.names())
@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_run_s_numbers_do_not_depend_on_its_company(rule, data):
    """Random lrs and schedules of one rule, split into random groups in a random order: every
    cell's results equal its results alone (where it runs with Python numbers, not per-run
    arrays), in float64 and float32."""
    low = optimizers.get(rule).quadratic_lr or 1e-3
    lrs = data.draw(
        st.lists(st.floats(low / 10, low * 3), min_size=2, max_size=5, unique=True), label="lrs"
    )
    cells = _configurations(rule, lrs, data.draw(st.sampled_from(PROBLEMS), label="problem"))
    labels = data.draw(st.lists(st.integers(0, 2), min_size=len(cells), max_size=len(cells)))
    order = data.draw(st.permutations(range(len(cells))), label="order")
    alone = {c.key: run_cell(c) for c in cells}
    for label in set(labels):
        group = [cells[i] for i in order if labels[i] == label]
        for result in run_group(group):
            same_result(result, alone[result.cell.key])


def test_float64_hyperparameters_keep_float32_params_float32():
    from bench.run.engine import Loop

    cells = [
        cell(problem="xor", problem_params={"dtype": "float32"}, optimizer_params={"lr": lr})
        for lr in (0.1, 0.3)
    ]
    loop = Loop(cells)
    loop.run()
    assert {p.dtype for p in loop.params} == {np.dtype(np.float32)}
    assert {a.dtype for buffers in loop.state.buffers.values() for a in buffers} == {
        np.dtype(np.float32)
    }
