"""The SQLite store: round trip, one transaction per cell, resume, overwrite and bad files."""

import os
import sqlite3

import numpy as np
import pandas as pd
import pytest

from bench.grid.cell import Cell
from bench.run.result import CURVE_COLUMNS, CellResult
from bench.store import rows, schema, store
from bench.store.schema import SCHEMA_VERSION
from bench.store.store import Store, StoreError

STEPS = (0, 10, 20)


def make_cell(lr=0.01, seeds=(0, 1, 2), **fields):
    return Cell(
        "rosenbrock",
        {"dim": 2},
        "adam",
        {"lr": lr, "betas": [0.9, 0.999]},
        seeds=seeds,
        steps=20,
        log_every=10,
        **fields,
    )


def make_result(cell, *, offset=0.0, status="done"):
    """Runs whose numbers encode their seed (and ``offset``), so a mix-up shows."""
    seeds = cell.seeds
    runs = [
        {
            "seed": np.int64(s),
            "status": status,
            "steps_done": np.int64(20),
            "diverged_step": 7 if status == "diverged" else None,
            "error": "Traceback: boom" if status == "error" else None,
            "final_train_loss": np.float64(s + offset),
            "best_train_loss": s + offset - 0.5,
            "final_test_loss": float("nan"),
            "final_train_accuracy": np.nan,
            "final_test_accuracy": np.nan,
            "opt_time": 0.25 * (s + 1),
        }
        for s in seeds
    ]
    targets = [
        {"seed": s, "target": t, "step": 10 if s == seeds[0] else None,
         "time": 0.125 if s == seeds[0] else None}
        for s in seeds
        for t in (0.1, 1e-3)
    ]  # fmt: skip
    seed_col = np.repeat(seeds, len(STEPS))
    step_col = np.tile(STEPS, len(seeds))
    curves = {c: np.full(seed_col.shape, np.nan) for c in CURVE_COLUMNS}
    curves |= {
        "seed": seed_col,
        "step": step_col,
        "epoch": step_col / 10.0,
        "time": step_col * 1e-3,
        "train_loss": 100.0 * seed_col + step_col + offset,
        "grad_norm": np.ones(seed_col.shape),
    }
    return CellResult(cell, runs, targets, curves, wall_time=1.5)


@pytest.fixture
def path(tmp_path):
    return tmp_path / "results" / "exp.sqlite"


@pytest.fixture
def db(path):
    with Store(path) as s:
        s.start_experiment("tiny", 'name = "tiny"\n')
        yield s


def count(path, sql, *params):
    with sqlite3.connect(path) as conn:
        return conn.execute(sql, params).fetchone()[0]


def test_round_trip_values_dtypes_and_nan(db, path):
    cell = make_cell(batch_size=None)
    db.write(make_result(cell))
    runs, curves = store.load(path)

    assert list(runs["seed"]) == [0, 1, 2]
    assert (runs["cell_key"] == cell.key).all()
    np.testing.assert_allclose(runs["final_train_loss"], [0.0, 1.0, 2.0], rtol=0, atol=0)
    np.testing.assert_allclose(runs["opt_time"], [0.25, 0.5, 0.75], rtol=0, atol=0)
    assert runs["final_test_loss"].isna().all() and runs["final_test_loss"].dtype == "float64"
    assert runs["lr"].dtype == "float64" and (runs["lr"] == 0.01).all()
    assert runs["seed"].dtype == "int64" and runs["steps_done"].dtype == "int64"
    assert runs["batch_size"].isna().all() and runs["diverged_step"].isna().all()
    assert runs["opt.betas"].tolist() == [(0.9, 0.999)] * 3
    assert "opt.lr" not in runs and (runs["problem.dim"] == 2).all()
    assert runs["error"].isna().all() and runs["initializer"].isna().all()
    # Targets are wide columns; an unreached target is <NA> steps and NaN time.
    assert runs["steps_to_0.1"].dtype == "Int64"
    assert runs["steps_to_0.1"].tolist()[0] == 10 and runs["steps_to_0.1"][1:].isna().all()
    np.testing.assert_allclose(runs["time_to_0.1"], [0.125, np.nan, np.nan], rtol=0)
    assert runs["steps_to_0.001"].notna().sum() == 1

    assert len(curves) == 3 * len(STEPS)
    assert curves["step"].dtype == "int64" and curves["train_loss"].dtype == "float64"
    # Each curve point landed on the run of its seed.
    np.testing.assert_allclose(
        curves["train_loss"], 100.0 * curves["seed"] + curves["step"], rtol=0, atol=0
    )
    by_run = runs.set_index("run_id")["seed"]
    assert (curves["run_id"].map(by_run) == curves["seed"]).all()
    assert curves["test_loss"].isna().all()
    assert set(curves[["problem", "optimizer"]].drop_duplicates().itertuples(index=False)) == {
        ("rosenbrock", "adam")
    }


def test_empty_store_loads_as_empty_frames(path):
    Store(path).close()
    runs, curves = store.load(path)
    assert runs.empty and {"run_id", "cell_key", "lr", "status"} <= set(runs.columns)
    assert curves.empty and {"run_id", "seed", "step", "train_loss"} <= set(curves.columns)


def test_named_targets_become_columns(db, path):
    result = make_result(make_cell(seeds=(0,)))
    result.targets = [{"seed": 0, "target": "half", "step": 4, "time": 0.5}]
    db.write(result)
    runs, _ = store.load(path)
    assert runs["steps_to_half"].tolist() == [4] and runs["time_to_half"].tolist() == [0.5]


def test_experiment_records_spec_machine_and_versions(db, path):
    with Store(path, readonly=True) as s:
        exp = s.experiments()
    assert exp.loc[0, "name"] == "tiny" and exp.loc[0, "spec"] == 'name = "tiny"\n'
    assert exp.loc[0, "schema_version"] == SCHEMA_VERSION
    assert exp.loc[0, "machine.cpu_count"] == os.cpu_count()
    assert exp.loc[0, "version.numpy"] == np.__version__
    assert isinstance(exp.loc[0, "blas"], list)


def test_failure_mid_write_leaves_no_partial_cell(db, path, monkeypatch):
    first, second = make_cell(lr=0.1), make_cell(lr=0.2)
    db.write(make_result(first))

    rows_before = rows.curve_rows

    def twice(result, ids):  # every curve row twice: the second insert fails mid-transaction
        return 2 * rows_before(result, ids)

    monkeypatch.setattr(store.rows, "curve_rows", twice)
    with pytest.raises(StoreError, match=f"{path}.*{second.key}"):
        db.write(make_result(second))
    assert count(path, "SELECT count(*) FROM runs WHERE cell_key = ?", second.key) == 0
    assert count(path, "SELECT count(*) FROM runs") == 3
    assert count(path, "SELECT count(*) FROM targets") == 3 * 2
    assert count(path, "SELECT count(*) FROM curve_blobs") == 3
    # A failed overwrite of a stored cell keeps its old rows: the delete is rolled back too.
    with pytest.raises(StoreError):
        db.write(make_result(first, offset=5.0))
    monkeypatch.setattr(store.rows, "curve_rows", rows_before)
    runs, curves = store.load(path)
    assert runs["final_train_loss"].tolist() == [0.0, 1.0, 2.0] and len(curves) == 9


def test_a_run_whose_steps_do_not_increase_is_refused(db):
    bad = make_result(make_cell(lr=0.3))
    bad.curves["step"][1] = bad.curves["step"][0]  # a repeated step within one run
    with pytest.raises(ValueError, match="steps must increase"):
        db.write(bad)


def test_a_million_curve_points_round_trip_exactly(db, path):
    """Curves are stored as one array blob per run; loading gives back every bit, NaN included."""
    cell = make_cell(lr=0.4).with_seeds(tuple(range(100)))
    steps = np.arange(1000, dtype=np.int64)
    rng = np.random.default_rng(0)
    curves = {"seed": np.repeat(np.arange(100), 1000), "step": np.tile(steps, 100)}
    for name in CURVE_COLUMNS[2:]:
        curves[name] = rng.standard_normal(100_000)
    curves["test_loss"][::7] = np.nan
    runs = [{"seed": s, "status": "done", "steps_done": 999} for s in range(100)]
    db.write(CellResult(cell, runs, [], curves, 1.0))
    loaded = store.load(path)[1]
    loaded = loaded[loaded["cell_key"] == cell.key].sort_values(["seed", "step"])
    for name in CURVE_COLUMNS[1:]:
        np.testing.assert_array_equal(loaded[name].to_numpy(), curves[name])


@pytest.mark.parametrize(
    "spoil, match",
    [
        (lambda r: r.curves.pop("test_accuracy"), "curve columns"),
        (lambda r: r.curves.update(seed=r.curves["seed"] + 10), "not in runs"),
        (lambda r: r.runs[0].update(status="exploded"), "status"),
    ],
)
def test_malformed_result_is_rejected_before_writing(db, path, spoil, match):
    result = make_result(make_cell())
    spoil(result)
    with pytest.raises(ValueError, match=match):
        db.write(result)
    assert count(path, "SELECT count(*) FROM runs") == 0


def test_missing_seeds_resume(db):
    stored, partial, new = make_cell(lr=0.1), make_cell(lr=0.2), make_cell(lr=0.3)
    errored = make_cell(lr=0.4)
    db.write(make_result(stored))
    db.write(make_result(partial.with_seeds((0, 2))))
    db.write(make_result(errored, status="error"))

    todo = db.missing([stored, partial, new, errored])
    assert [(c.key, c.seeds) for c in todo] == [(partial.key, (1,)), (new.key, (0, 1, 2))]
    assert db.completed_seeds([partial.key]) == {partial.key: {0, 2}}
    retried = db.missing([stored, errored], retry=("error",))
    assert [(c.key, c.seeds) for c in retried] == [(errored.key, (0, 1, 2))]
    with pytest.raises(ValueError, match="unknown statuses"):
        db.missing([stored], retry=("eror",))


def test_missing_is_one_query_for_thousands_of_cells(db):
    cells = [make_cell(lr=10.0**-k, seeds=(0,)) for k in range(2000)]
    db.write(make_result(cells[0]))
    statements = []
    db._conn.set_trace_callback(statements.append)
    todo = db.missing(cells)
    db._conn.set_trace_callback(None)
    assert len(statements) == 1 and len(todo) == 1999


def test_force_rewrite_replaces_rows_without_duplicates(db, path):
    cell = make_cell()
    db.write(make_result(cell))
    db.write(make_result(cell, offset=5.0, status="diverged"))
    runs, curves = store.load(path)
    assert len(runs) == 3 and len(curves) == 3 * len(STEPS)
    assert count(path, "SELECT count(*) FROM targets") == 3 * 2
    assert runs["final_train_loss"].tolist() == [5.0, 6.0, 7.0]
    assert runs["diverged_step"].tolist() == [7, 7, 7]
    assert db.status_counts() == {"done": 0, "diverged": 3, "error": 0, "timeout": 0}


def test_status_counts_and_a_cell_without_curves(db):
    assert db.status_counts() == {"done": 0, "diverged": 0, "error": 0, "timeout": 0}
    db.write(make_result(make_cell(lr=0.1)))
    failed = make_result(make_cell(lr=0.2, seeds=(0, 1)), status="error")
    failed.curves, failed.targets = {}, []
    db.write(failed)
    assert db.status_counts() == {"done": 3, "diverged": 0, "error": 2, "timeout": 0}


def test_wal_mode_and_schema_version(db, path):
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert db._conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_reopening_keeps_rows(db, path):
    db.write(make_result(make_cell()))
    db.close()
    with Store(path) as again:
        assert again.status_counts()["done"] == 3


def test_non_sqlite_file_is_a_store_error_and_stays_untouched(tmp_path):
    junk = tmp_path / "notes.sqlite"
    junk.write_text("these are my notes, not a database\n" * 10)
    with pytest.raises(StoreError, match="not an SQLite database") as info:
        Store(junk)
    assert str(junk) in str(info.value) and "\n" not in str(info.value)
    assert junk.read_text().startswith("these are my notes")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.sqlite"]


def test_newer_schema_is_a_store_error(path):
    Store(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StoreError, match="newer") as info:
        Store(path)
    assert str(path) in str(info.value)
    with pytest.raises(StoreError, match="newer"):
        store.load(path)


def test_another_programs_database_is_a_store_error(tmp_path):
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE songs (title TEXT)")
    with pytest.raises(StoreError, match="not an optbench store"):
        Store(other)


def test_missing_store_is_not_created_when_reading(tmp_path):
    target = tmp_path / "nowhere" / "exp.sqlite"
    with pytest.raises(StoreError, match="no such store"):
        store.load(target)
    with pytest.raises(StoreError, match="no such store"):
        Store(target, create=False)
    assert list(tmp_path.iterdir()) == []


def test_a_failed_creation_leaves_nothing_behind(tmp_path, monkeypatch):
    monkeypatch.setattr(schema, "_LADDERS", "CREATE TABLE broken (;")
    with pytest.raises(StoreError, match="new/dir/exp.sqlite"):
        Store(tmp_path / "new" / "dir" / "exp.sqlite")
    assert list(tmp_path.iterdir()) == []


def test_writes_to_a_read_only_store_are_store_errors(db, path):
    db.write(make_result(make_cell()))
    with Store(path, readonly=True) as reader:
        with pytest.raises(StoreError, match="read-only"):
            reader.write(make_result(make_cell(lr=0.5)), experiment_id=1)
        assert reader.status_counts()["done"] == 3


def test_read_only_file_is_a_store_error_even_as_root(db, path, monkeypatch):
    db.close()
    monkeypatch.setattr(store.os, "access", lambda *args: False)
    with pytest.raises(StoreError, match="read-only file"):
        Store(path)
    with Store(path, readonly=True) as reader:  # reading needs no write access
        assert reader.status_counts()["done"] == 0


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root ignores modes")
def test_read_only_file_is_a_store_error(db, path):
    db.close()
    path.chmod(0o444)
    with pytest.raises(StoreError, match="read-only"):
        Store(path)


def test_write_without_experiment_is_refused(path):
    with Store(path) as s, pytest.raises(ValueError, match="start_experiment"):
        s.write(make_result(make_cell()))


def test_export_csv(db, path, tmp_path):
    db.write(make_result(make_cell()))
    files = store.export(path, tmp_path / "out")
    assert [f.name for f in files] == ["experiments.csv", "runs.csv", "curves.csv"]
    runs = pd.read_csv(tmp_path / "out" / "runs.csv")
    assert runs["opt.betas"].tolist() == ["[0.9, 0.999]"] * 3
    assert len(pd.read_csv(tmp_path / "out" / "curves.csv")) == 9


def test_export_parquet_without_pyarrow_says_so(db, path, tmp_path):
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="pyarrow"):
            store.export(path, tmp_path / "out", fmt="parquet")
    else:
        store.export(path, tmp_path / "out", fmt="parquet")


OLD_CURVES = """CREATE TABLE curves (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    step INTEGER NOT NULL,
    epoch REAL, time REAL, train_loss REAL, grad_norm REAL,
    test_loss REAL, train_accuracy REAL, test_accuracy REAL,
    PRIMARY KEY (run_id, step)
) WITHOUT ROWID"""


def as_version_2(path):
    """Rewrite a store the way schema 2 kept curves: one row per logged point."""
    runs_before, curves_before = store.load(path)
    with sqlite3.connect(path) as conn:
        conn.execute(OLD_CURVES)
        columns = ", ".join(CURVE_COLUMNS[1:])
        rows_ = curves_before[["run_id", *CURVE_COLUMNS[1:]]].itertuples(index=False)
        conn.executemany(f"INSERT INTO curves (run_id, {columns}) VALUES (?{', ?' * 8})",
                         [tuple(r) for r in rows_])  # fmt: skip
        conn.execute("DROP TABLE curve_blobs")
        conn.execute("PRAGMA user_version = 2")
    return runs_before, curves_before


def test_a_version_2_store_reads_the_same_and_upgrades_when_written(db, path):
    db.write(make_result(make_cell(lr=0.1)))
    db.close()
    _, curves_before = as_version_2(path)
    pd.testing.assert_frame_equal(store.load(path)[1], curves_before)  # read as it is
    with Store(path) as again:  # opened for writing: upgraded, old rows kept where they are
        again.start_experiment("tiny", "")
        again.write(make_result(make_cell(lr=0.2)))
    assert count(path, "PRAGMA user_version") == SCHEMA_VERSION
    curves = store.load(path)[1]
    assert len(curves) == 2 * len(curves_before)
    old = curves[curves["cell_key"] == make_cell(lr=0.1).key].reset_index(drop=True)
    pd.testing.assert_frame_equal(old, curves_before)
