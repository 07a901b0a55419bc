"""``optbench export`` and ``optbench merge``: tidy files with provenance, and stores combined."""

import contextlib
import dataclasses
import importlib.util
import json
import shutil
import sqlite3
import subprocess

import numpy as np
import pandas as pd
import pytest

from bench import cli
from bench.store import machine, rows
from bench.store.store import Store, load
from tests.bench.store.test_store import as_version_2, make_cell, make_result

HAS_PYARROW = importlib.util.find_spec("pyarrow") is not None
IDS = ["run_id", "experiment_id"]  # renumbered by a merge


@pytest.fixture
def optbench(monkeypatch):
    """``optbench ARGS`` through the real ``main``, with only the commands under test (so
    that this file does not depend on the other commands, nor on cli.py listing these)."""
    commands = {"export": "bench.commands.export", "merge": "bench.commands.merge"}
    monkeypatch.setattr(cli, "COMMANDS", commands)
    return lambda *args: cli.main([str(a) for a in args])


def make_store(path, *results, name="tiny"):
    with Store(path) as store:
        store.start_experiment(name, f'name = "{name}"\n')
        for result in results:
            store.write(result)
    return path


def slower(result, factor=3.0):
    """The same numbers, measured on a slower machine: only the timings differ."""
    runs = [run | {"opt_time": run["opt_time"] * factor} for run in result.runs]
    return dataclasses.replace(result, runs=runs, wall_time=result.wall_time * factor)


def renumbered(frame):
    return frame.drop(columns=[c for c in IDS if c in frame]).reset_index(drop=True)


def union(*paths):
    """``bench.load`` of each store, concatenated: what a merge of disjoint stores loads as."""
    loaded = [load(p) for p in paths]
    return tuple(
        renumbered(pd.concat([frames[i] for frames in loaded], ignore_index=True)) for i in (0, 1)
    )


def files_in(folder):
    """The files of ``folder``, without the ``-wal``/``-shm`` files readers leave beside a store."""
    return sorted(p.name for p in folder.iterdir() if not p.name.endswith(("-wal", "-shm")))


def one_line_error(capsys):
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    return err


# --- merge -----------------------------------------------------------------------------------


def test_merge_of_disjoint_stores_loads_as_their_union(tmp_path, optbench, capsys):
    a = make_store(tmp_path / "a.sqlite", make_result(make_cell(lr=0.1)), name="laptop")
    b = make_store(tmp_path / "b.sqlite", make_result(make_cell(lr=0.2), offset=7.0))
    merged = tmp_path / "c.sqlite"
    assert optbench("merge", a, b, "-o", merged) == 0
    assert "2 experiments, 6 runs (0 duplicate runs dropped" in capsys.readouterr().out
    runs, curves = load(merged)
    expected_runs, expected_curves = union(a, b)
    pd.testing.assert_frame_equal(renumbered(runs), expected_runs)
    pd.testing.assert_frame_equal(renumbered(curves), expected_curves)
    with Store(merged, readonly=True) as store:
        experiments = store.experiments()
    assert experiments["name"].tolist() == ["laptop", "tiny"]
    assert experiments["experiment_id"].is_unique
    assert runs.groupby("experiment_id")["cell_key"].nunique().tolist() == [1, 1]
    assert files_in(tmp_path) == ["a.sqlite", "b.sqlite", "c.sqlite"]
    assert not any(p.name.startswith((".", "c.sqlite-")) for p in tmp_path.iterdir())


def test_identical_runs_are_kept_once_the_first_stores(tmp_path, optbench, capsys):
    shared = make_result(make_cell(lr=0.2))
    a = make_store(tmp_path / "a.sqlite", make_result(make_cell(lr=0.1)), shared)
    b = make_store(tmp_path / "b.sqlite", slower(shared), make_result(make_cell(lr=0.3)))
    merged = tmp_path / "c.sqlite"
    assert optbench("merge", a, b, "-o", merged) == 0
    assert "2 experiments, 9 runs (3 duplicate runs dropped" in capsys.readouterr().out
    runs, curves = load(merged)
    assert runs.groupby("cell_key").size().tolist() == [3, 3, 3]
    twice = runs[runs["cell_key"] == shared.cell.key]
    assert twice["wall_time"].tolist() == [shared.wall_time] * 3  # a's timings, not b's
    assert twice["experiment_id"].nunique() == 1
    assert len(curves) == 3 * len(load(a)[1]) / 2
    with Store(merged, readonly=True) as store:
        assert len(store.experiments()) == 2  # b's experiment is kept though it added 3 runs


def test_a_conflicting_run_refuses_the_whole_merge(tmp_path, optbench, capsys):
    cell = make_cell(lr=0.2)
    a = make_store(tmp_path / "a.sqlite", make_result(cell), make_result(make_cell(lr=0.1)))
    b = make_store(tmp_path / "b.sqlite", make_result(cell, offset=1e-12))
    merged = tmp_path / "c.sqlite"
    assert optbench("merge", a, b, "-o", merged) == 2
    err = one_line_error(capsys)
    assert f"cell {cell.key} seed 0 has different numbers in {a} and {b}" in err
    assert "best_train_loss" in err and "3 conflicting runs in 1 cell;" in err
    assert files_in(tmp_path) == ["a.sqlite", "b.sqlite"]
    assert not any(p.name.startswith((".", "c.")) for p in tmp_path.iterdir())


def test_an_error_run_on_two_machines_differs_only_in_its_traceback_paths(tmp_path, optbench):
    def failed(home):
        result = make_result(make_cell(), status="error")
        error = f'File "{home}/optbench/run.py", line 3\nValueError: boom'
        return dataclasses.replace(result, runs=[r | {"error": error} for r in result.runs])

    a = make_store(tmp_path / "a.sqlite", failed("/home/ann"))
    b = make_store(tmp_path / "b.sqlite", failed("/Users/bob"))
    assert optbench("merge", a, b, "-o", tmp_path / "c.sqlite") == 0
    assert len(load(tmp_path / "c.sqlite")[0]) == 3


def test_a_version_2_store_merges_its_point_rows_into_blobs(tmp_path, optbench):
    old = make_store(tmp_path / "old.sqlite", make_result(make_cell(lr=0.1)))
    as_version_2(old)
    new = make_store(tmp_path / "new.sqlite", make_result(make_cell(lr=0.2)))
    merged = tmp_path / "c.sqlite"
    assert optbench("merge", old, new, "-o", merged) == 0
    expected_runs, expected_curves = union(old, new)
    runs, curves = load(merged)
    pd.testing.assert_frame_equal(renumbered(curves), expected_curves)
    pd.testing.assert_frame_equal(renumbered(runs), expected_runs)
    with Store(merged, readonly=True) as store:
        tables = {r[0] for r in store._conn.execute("SELECT name FROM sqlite_schema")}
        assert "curves" not in tables
        assert store._conn.execute("SELECT count(*) FROM curve_blobs").fetchone()[0] == 6


def test_merge_never_overwrites_and_names_each_store_once(tmp_path, optbench, capsys):
    a = make_store(tmp_path / "a.sqlite", make_result(make_cell(lr=0.1)))
    b = make_store(tmp_path / "b.sqlite", make_result(make_cell(lr=0.2)))
    precious = tmp_path / "precious.sqlite"
    precious.write_text("keep me")
    assert optbench("merge", a, b, "-o", precious) == 2
    assert f"{precious}: already exists" in one_line_error(capsys)
    assert precious.read_text() == "keep me"
    assert optbench("merge", a, b, "-o", a) == 2  # the output is an input
    assert "already exists" in one_line_error(capsys)
    assert optbench("merge", a, tmp_path / "." / "a.sqlite", "-o", tmp_path / "c.sqlite") == 2
    assert "given twice" in one_line_error(capsys)
    assert optbench("merge", a, "-o", tmp_path / "c.sqlite") == 2
    assert "two or more stores" in one_line_error(capsys)
    assert optbench("merge", a, tmp_path / "none.sqlite", "-o", tmp_path / "c.sqlite") == 2
    assert "no such store" in one_line_error(capsys)
    names = ["a.sqlite", "b.sqlite", "precious.sqlite"]
    assert files_in(tmp_path) == names


def test_merge_only_reads_its_inputs(tmp_path, optbench):
    a = make_store(tmp_path / "a.sqlite", make_result(make_cell(lr=0.1)))
    b = make_store(tmp_path / "b.sqlite", make_result(make_cell(lr=0.2)))
    before = {p: p.read_bytes() for p in (a, b)}
    a.chmod(0o444)
    assert optbench("merge", a, b, "-o", tmp_path / "c.sqlite") == 0
    assert {p: p.read_bytes() for p in (a, b)} == before


# --- export ----------------------------------------------------------------------------------


def assert_same_as_loaded(written: pd.DataFrame, loaded: pd.DataFrame) -> None:
    """Every column of ``loaded`` holds the same values in ``written`` (read from a file):
    numbers exactly, missing as missing, times as times, lists and dicts as JSON text (and an
    empty text as missing: CSV cannot tell them apart)."""
    for column in loaded.columns:
        want, got = loaded[column], written[column]
        if pd.api.types.is_datetime64_any_dtype(want):
            pd.testing.assert_series_equal(pd.to_datetime(got, utc=True), want)
        elif pd.api.types.is_numeric_dtype(want) or pd.api.types.is_bool_dtype(want):
            np.testing.assert_array_equal(
                got.to_numpy(float, na_value=np.nan),
                want.to_numpy(float, na_value=np.nan),
                err_msg=column,
            )
        else:
            texts = [None if pd.isna(v) else v for v in got.astype(object)]
            wanted = [None if v == "" else rows.json_text(v) for v in want]  # CSV: "" is missing
            assert texts == wanted, column


def read_csv(path):
    return pd.read_csv(path, keep_default_na=False, na_values=[""])


def test_export_csv_holds_the_loaded_numbers_and_their_provenance(
    tmp_path, optbench, capsys, monkeypatch
):
    store = make_store(
        tmp_path / "exp.sqlite",
        make_result(make_cell(lr=0.1)),
        make_result(make_cell(lr=0.2), status="diverged"),
    )
    monkeypatch.chdir(tmp_path)  # not a git checkout: no commit to record
    assert optbench("export", store) == 0
    out = tmp_path / "exp"
    assert capsys.readouterr().out.split() == [
        "wrote", str(out / "experiments.csv"), "wrote", str(out / "runs.csv"),
        "wrote", str(out / "curves.csv"),
    ]  # fmt: skip
    runs, curves = load(store)
    with Store(store, readonly=True) as opened:
        experiments = opened.experiments()
    written_runs = read_csv(out / "runs.csv")
    assert_same_as_loaded(written_runs, runs)
    assert_same_as_loaded(read_csv(out / "curves.csv"), curves)
    assert_same_as_loaded(read_csv(out / "experiments.csv"), experiments)
    recorded = experiments.iloc[0]
    for column in ("machine.hostname", "machine.cpu_count", "version.numpy", "version.python"):
        assert written_runs[column].tolist() == [recorded[column]] * len(runs), column
    assert json.loads(written_runs["blas"][0]) == recorded["blas"]
    assert written_runs["export.git_commit"].isna().all()
    assert written_runs["export.git_dirty"].isna().all()
    assert read_csv(out / "curves.csv")["experiment_id"].tolist() == [1] * len(curves)


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_export_records_the_commit_of_the_working_directory(tmp_path, optbench, monkeypatch):
    store = make_store(tmp_path / "exp.sqlite", make_result(make_cell()))
    repo = tmp_path / "project"
    repo.mkdir()
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(repo)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "x"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
    monkeypatch.chdir(repo)
    assert machine.git_state() == {"git_commit": head.stdout.strip(), "git_dirty": False}
    assert optbench("export", store, "-o", tmp_path / "out") == 0
    runs = read_csv(tmp_path / "out" / "runs.csv")
    assert runs["export.git_commit"].tolist() == [head.stdout.strip()] * 3
    assert runs["export.git_dirty"].tolist() == [False] * 3


def test_export_never_overwrites_and_writes_nothing_then(tmp_path, optbench, capsys):
    store = make_store(tmp_path / "exp.sqlite", make_result(make_cell()))
    out = tmp_path / "out"
    out.mkdir()
    (out / "curves.csv").write_text("keep me")
    assert optbench("export", store, "-o", out) == 2
    assert f"{out / 'curves.csv'}: already exists" in one_line_error(capsys)
    assert sorted(p.name for p in out.iterdir()) == ["curves.csv"]
    assert (out / "curves.csv").read_text() == "keep me"


def test_export_of_a_missing_store_is_one_line(tmp_path, optbench, capsys):
    assert optbench("export", tmp_path / "none.sqlite") == 2
    assert "no such store" in one_line_error(capsys)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(HAS_PYARROW, reason="pyarrow is installed")
def test_export_parquet_without_pyarrow_is_one_line(tmp_path, optbench, capsys):
    store = make_store(tmp_path / "exp.sqlite", make_result(make_cell()))
    assert optbench("export", store, "--format", "parquet") == 2
    assert "pip install pyarrow" in one_line_error(capsys)
    assert files_in(tmp_path) == ["exp.sqlite"]


@pytest.mark.skipif(not HAS_PYARROW, reason="pyarrow is not installed")
def test_export_parquet_round_trip(tmp_path, optbench):
    store = make_store(tmp_path / "exp.sqlite", make_result(make_cell()))
    assert optbench("export", store, "--format", "parquet", "-o", tmp_path / "out") == 0
    runs, curves = load(store)
    assert_same_as_loaded(pd.read_parquet(tmp_path / "out" / "runs.parquet"), runs)
    assert_same_as_loaded(pd.read_parquet(tmp_path / "out" / "curves.parquet"), curves)


def test_different_ladders_for_one_problem_refuse_the_merge(tmp_path, optbench, capsys):
    def with_ladder(result, targets):
        ladder = {"metric": "train_loss", "higher_is_better": False, "targets": targets}
        return dataclasses.replace(result, ladder=ladder)

    a = make_store(tmp_path / "a.sqlite", with_ladder(make_result(make_cell(lr=0.1)), [1, 0.1]))
    b = make_store(tmp_path / "b.sqlite", with_ladder(make_result(make_cell(lr=0.2)), [1, 0.01]))
    assert optbench("merge", a, b, "-o", tmp_path / "c.sqlite") == 2
    assert "problem rosenbrock" in one_line_error(capsys)
    assert files_in(tmp_path) == ["a.sqlite", "b.sqlite"]
    same = make_store(tmp_path / "same.sqlite", with_ladder(make_result(make_cell()), [1, 0.1]))
    assert optbench("merge", a, same, "-o", tmp_path / "c.sqlite") == 0
    assert load(tmp_path / "c.sqlite")[0]["ladder_targets"].tolist() == [(1, 0.1)] * 6


def test_a_plugin_axis_column_unknown_here_is_kept(tmp_path, optbench):
    a = make_store(tmp_path / "a.sqlite", make_result(make_cell(lr=0.1)))
    b = make_store(tmp_path / "b.sqlite", make_result(make_cell(lr=0.2)))
    with contextlib.closing(sqlite3.connect(b)) as conn, conn:
        conn.execute("ALTER TABLE runs ADD COLUMN warmup TEXT")  # as a plugin's axis adds it
        conn.execute("UPDATE runs SET warmup = 'linear'")
    assert optbench("merge", a, b, "-o", tmp_path / "c.sqlite") == 0
    with contextlib.closing(sqlite3.connect(tmp_path / "c.sqlite")) as conn:
        stored = conn.execute("SELECT warmup FROM runs ORDER BY id").fetchall()
    assert stored == [(None,)] * 3 + [("linear",)] * 3
