"""The store's files: a complete .sqlite after a run, a foreign -wal refused, paths optbench did
not create left alone, consistent loads, foreign databases untouched, one writer per real file,
read-only media, and nothing left behind by a refused open."""

import contextlib
import errno
import os
import shutil
import sqlite3
import threading

import pytest

from bench.store import lock as store_lock
from bench.store import schema, store
from bench.store.store import Store, StoreError
from tests.bench.store.test_store import make_cell, make_result


def write_cells(path, lrs):
    with Store(path) as s:
        s.start_experiment("tiny", "")
        for lr in lrs:
            s.write(make_result(make_cell(lr=lr)))


def count_runs(path):
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return conn.execute("SELECT count(*) FROM runs").fetchone()[0]


def one_line(error):
    text = str(error.value)
    assert "\n" not in text
    return text


# --- 1. the .sqlite file alone is complete after a writer closes, even while a reader reads -----


def test_the_sqlite_file_alone_is_complete_after_a_reader_lets_go(tmp_path):
    path = tmp_path / "exp.sqlite"
    write_cells(path, [0.1])
    reader = sqlite3.connect(
        f"{path.as_uri()}?mode=ro", uri=True, isolation_level=None, check_same_thread=False
    )
    reader.execute("BEGIN")
    assert reader.execute("SELECT count(*) FROM runs").fetchone()[0] == 3  # an old snapshot
    release = threading.Timer(0.5, lambda: reader.execute("COMMIT"))
    release.start()
    write_cells(path, [0.2, 0.3, 0.4])  # its close waits for the reader to let go
    release.join()
    shutil.copyfile(path, tmp_path / "copy.sqlite")  # the reader still has the store open
    assert count_runs(tmp_path / "copy.sqlite") == 12
    reader.close()


def test_a_reader_that_never_lets_go_gets_one_warning(tmp_path, capsys, monkeypatch):
    path = tmp_path / "exp.sqlite"
    write_cells(path, [0.1])
    monkeypatch.setattr("bench.store.wal.CHECKPOINT_WAIT", 0.3)
    reader = sqlite3.connect(
        f"{path.as_uri()}?mode=ro", uri=True, isolation_level=None, check_same_thread=False
    )
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM runs").fetchone()
    write_cells(path, [0.2])
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{path}-wal" in err and "optbench copy" in err
    reader.close()


# --- 2. a -wal file left next to a restored .sqlite is refused, not applied ----------------------


def test_a_foreign_wal_next_to_a_restored_store_is_refused(tmp_path):
    path, other = tmp_path / "exp.sqlite", tmp_path / "other" / "exp.sqlite"
    write_cells(path, [0.1])
    write_cells(other, [0.5, 0.6, 0.7])
    shutil.copyfile(path, tmp_path / "backup.sqlite")
    # A writer of the other store dies with its cells in its -wal (no checkpoint on close).
    holder = Store(other)
    holder.start_experiment("tiny", "")
    holder.write(make_result(make_cell(lr=0.8)))
    shutil.copyfile(f"{other}-wal", tmp_path / "leftover-wal")
    holder.close()
    shutil.copyfile(tmp_path / "backup.sqlite", path)
    shutil.copyfile(tmp_path / "leftover-wal", f"{path}-wal")
    before = path.read_bytes()
    for open_it in (store.load, lambda p: Store(p, readonly=True), Store):
        with pytest.raises(StoreError, match="-wal") as info:
            open_it(path)
        assert str(path) in one_line(info)
    assert path.read_bytes() == before
    os.remove(f"{path}-wal")
    assert count_runs(path) == 3


def test_the_wal_of_a_killed_writer_is_recovered(tmp_path):
    path = tmp_path / "exp.sqlite"
    write_cells(path, [0.1])
    writer = Store(path)
    writer.start_experiment("tiny", "")
    writer.write(make_result(make_cell(lr=0.2)))
    shutil.copytree(tmp_path, tmp_path.parent / "killed")  # the files as kill -9 leaves them
    writer.close()
    killed = tmp_path.parent / "killed" / "exp.sqlite"
    os.remove(f"{killed}.lock")
    assert len(store.load(killed)[0]) == 6
    with Store(killed) as again:
        assert again.status_counts()["done"] == 6


# --- 3. paths optbench did not create: a dangling symlink, a FIFO ---------------------------------


def test_a_dangling_symlink_is_refused_and_kept(tmp_path):
    link = tmp_path / "d.sqlite"
    link.symlink_to("/nonexistent_dir/x.sqlite")
    for open_it in (Store, lambda p: Store(p, readonly=True)):
        with pytest.raises(StoreError, match="symbolic link") as info:
            open_it(link)
        assert str(link) in one_line(info)
    assert link.is_symlink() and os.readlink(link) == "/nonexistent_dir/x.sqlite"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.sqlite"]


@pytest.mark.timeout(20)
def test_a_fifo_is_refused_and_kept(tmp_path):
    fifo = tmp_path / "f.sqlite"
    os.mkfifo(fifo)
    for open_it in (Store, lambda p: Store(p, readonly=True)):
        with pytest.raises(StoreError, match="not a regular file") as info:
            open_it(fifo)
        assert str(fifo) in one_line(info)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.sqlite"]


def test_a_symlink_to_a_store_works(tmp_path):
    path = tmp_path / "exp.sqlite"
    write_cells(path, [0.1])
    link = tmp_path / "link.sqlite"
    link.symlink_to(path)
    write_cells(link, [0.2])
    assert link.is_symlink() and len(store.load(link)[0]) == 6


# --- 4. one read transaction per load ----------------------------------------------------------


@pytest.mark.timeout(120)
def test_load_during_writes_is_consistent(tmp_path):
    path = tmp_path / "exp.sqlite"
    write_cells(path, [0.1])
    stop = threading.Event()

    def writer():
        with Store(path) as s:
            s.start_experiment("tiny", "")
            k = 0
            while not stop.is_set():
                k += 1
                s.write(make_result(make_cell(lr=1.0 + k % 7)))  # new cells, then rewrites

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        for _ in range(150):
            runs, curves = store.load(path)
            assert set(curves["run_id"]) <= set(runs["run_id"])
    finally:
        stop.set()
        thread.join()


# --- 5. another program's SQLite file is refused and left byte-identical -------------------------


def foreign(path, version):
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute("CREATE TABLE songs (title TEXT)")
        conn.execute(f"PRAGMA user_version = {version}")
        conn.commit()


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize("readonly", [False, True])
def test_a_foreign_database_with_a_known_version_is_refused_untouched(tmp_path, version, readonly):
    path = tmp_path / "other.db"
    foreign(path, version)
    before = path.read_bytes()
    with pytest.raises(StoreError, match="not an optbench store") as info:
        Store(path, readonly=readonly)
    assert str(path) in one_line(info)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.db"]


def test_a_foreign_application_id_is_refused(tmp_path):
    path = tmp_path / "exp.sqlite"
    Store(path).close()
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA application_id = 1234")
    with pytest.raises(StoreError, match="application id 1234"):
        Store(path, readonly=True)


def application_id(path):
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return conn.execute("PRAGMA application_id").fetchone()[0]


def test_new_stores_carry_the_application_id_and_old_ones_get_it_when_written(tmp_path):
    path = tmp_path / "exp.sqlite"
    write_cells(path, [0.1])
    assert application_id(path) == schema.APPLICATION_ID
    with contextlib.closing(sqlite3.connect(path)) as conn:  # as stores were made before it
        conn.execute("PRAGMA application_id = 0")
        conn.execute("DROP TABLE meta")
    with Store(path, readonly=True) as reader:
        assert reader.status_counts()["done"] == 3
    assert application_id(path) == 0  # reading changes nothing
    write_cells(path, [0.2])
    assert application_id(path) == schema.APPLICATION_ID and count_runs(path) == 6


# --- 6. one writer per real file, whatever the path spelling -------------------------------------


def test_a_second_writer_through_a_symlink_is_refused(tmp_path):
    path = tmp_path / "exp.sqlite"
    link = tmp_path / "link.sqlite"
    link.symlink_to(path)
    with Store(path):
        with pytest.raises(StoreError, match="in use by another optbench run"):
            Store(link)
        with pytest.raises(StoreError, match="in use by another optbench run"):
            Store(tmp_path / "." / ".." / tmp_path.name / "exp.sqlite")


# --- 7. read-only media ---------------------------------------------------------------------------


def test_a_store_on_read_only_media_is_read_without_touching_it(tmp_path, monkeypatch):
    # Root ignores directory modes, so the read-only medium is the access check, patched.
    path = tmp_path / "exp.sqlite"
    write_cells(path, [0.1])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exp.sqlite"]
    real_access = os.access
    monkeypatch.setattr(
        "bench.store.files.os.access",
        lambda p, mode: False if mode == os.W_OK else real_access(p, mode),
    )
    with Store(path, readonly=True) as reader:
        assert reader.status_counts()["done"] == 3
        assert sorted(p.name for p in tmp_path.iterdir()) == ["exp.sqlite"]  # no -shm, no -wal
    assert len(store.load(path)[0]) == 3


# --- 8. a refused open leaves nothing behind ------------------------------------------------------


def test_a_full_disk_while_taking_the_lock_leaves_nothing(tmp_path, monkeypatch):
    def full(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(store_lock.os, "write", full)
    with pytest.raises(StoreError, match="No space left"):
        Store(tmp_path / "new" / "exp.sqlite")
    assert list(tmp_path.iterdir()) == []


def test_a_failure_at_connect_after_the_lock_leaves_nothing(tmp_path, monkeypatch):
    def full(*args, **kwargs):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(store.sqlite3, "connect", full)
    with pytest.raises(StoreError, match="disk is full") as info:
        Store(tmp_path / "new" / "exp.sqlite")
    assert str(tmp_path / "new" / "exp.sqlite") in one_line(info)
    assert list(tmp_path.iterdir()) == []
