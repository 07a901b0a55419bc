"""``optbench copy``: one complete file, even while the store's newest cells are in its -wal."""

import contextlib
import sqlite3

from bench.cli import main
from bench.store.store import Store, load
from tests.bench.store.test_store import make_cell, make_result


def test_copy_holds_the_cells_still_in_the_wal_and_is_one_file(tmp_path, capsys):
    path = tmp_path / "exp.sqlite"
    writer = Store(path)  # open: its newest cell is in exp.sqlite-wal only
    writer.start_experiment("tiny", "")
    writer.write(make_result(make_cell(lr=0.1)))
    writer.write(make_result(make_cell(lr=0.2)))
    dest = tmp_path / "out" / "copy.sqlite"
    dest.parent.mkdir()
    assert main(["copy", str(path), str(dest)]) == 0
    writer.close()
    assert sorted(p.name for p in dest.parent.iterdir()) == ["copy.sqlite"]
    with contextlib.closing(sqlite3.connect(dest)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert len(load(dest)[0]) == 6
    with Store(dest) as again:  # a copy is a store like any other
        assert again.status_counts()["done"] == 6


def test_copy_never_overwrites(tmp_path, capsys):
    path = tmp_path / "exp.sqlite"
    Store(path).close()
    dest = tmp_path / "precious.sqlite"
    dest.write_text("keep me")
    assert main(["copy", str(path), str(dest)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{dest}: already exists" in err
    assert dest.read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exp.sqlite", "precious.sqlite"]


def test_copy_of_a_missing_store_is_one_line(tmp_path, capsys):
    assert main(["copy", str(tmp_path / "none.sqlite"), str(tmp_path / "c.sqlite")]) == 2
    assert "no such store" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
