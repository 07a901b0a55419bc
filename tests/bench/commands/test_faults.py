"""bench.faults: the kill-resume-compare loop anyone can run (CI runs a short version)."""

import shutil
import sqlite3
import subprocess

import numpy as np

from bench import faults


def test_one_kill_and_resume_gives_the_reference_numbers(capsys):
    assert faults.main(["--kills", "1", "--jobs", "1"]) == 0
    assert "1 of 1 resumed stores equal the uninterrupted run" in capsys.readouterr().out


def test_a_changed_number_is_noticed(tmp_path):
    grid = tmp_path / "g.toml"
    grid.write_text(faults.GRID.replace("steps = 2000", "steps = 20"))
    store = tmp_path / "a.sqlite"
    subprocess.run(faults.optbench(grid, store, 1), check=True, capture_output=True)
    copy = tmp_path / "b.sqlite"
    shutil.copy(store, copy)
    assert faults.same(store, copy)
    with sqlite3.connect(copy) as conn:
        run_id, points, metrics = conn.execute(
            "SELECT run_id, points, metrics FROM curve_blobs"
        ).fetchone()
        changed = np.frombuffer(metrics, dtype="<f8").reshape(-1, points).copy()
        changed[-1, -1] = np.nextafter(changed[-1, -1], np.inf)  # one bit of one logged number
        conn.execute("UPDATE curve_blobs SET metrics = ? WHERE run_id = ?",
                     (changed.tobytes(), run_id))  # fmt: skip
    assert not faults.same(store, copy)
