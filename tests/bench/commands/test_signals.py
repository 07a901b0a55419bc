"""SIGTERM behaves like Ctrl-C: workers killed, whole cells kept, one line, exit 143; the rerun
resumes and completes. Ctrl-C at any moment of start-up is one line, never a traceback. Only
processes this test started are signalled."""

from __future__ import annotations

import os
import signal
import time

import pytest

from tests.bench.commands.faults import (
    assert_all_exit,
    check_store,
    descendants,
    optbench,
    run,
    stored_cells,
    wait_until,
)
from tests.bench.conftest import SLOW_CELLS


def workers_of(process) -> list:
    return [p for p in descendants(process.pid) if "LokyProcess" in " ".join(p.cmdline())]


@pytest.mark.timeout(90)
@pytest.mark.parametrize("jobs", [1, 2])
def test_sigterm_keeps_whole_cells_kills_workers_exits_143_and_the_rerun_completes(
    slow_grid, tmp_path, capsys, jobs
):
    store = tmp_path / "s.sqlite"
    child = optbench("run", slow_grid, "--store", store, "--jobs", jobs, "--no-report")
    try:
        wait_until(lambda: stored_cells(store) >= 1, 40, "a stored cell", child)
        workers = []
        if jobs > 1:
            workers = wait_until(
                lambda: len(workers_of(child)) == jobs and workers_of(child), 10, "w"
            )
        os.kill(child.pid, signal.SIGTERM)  # the parent only, as `kill PID` or a job scheduler
        _, err = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 143, err
    assert "interrupted" in err and "Resume with the same command" in err
    assert "Traceback" not in err and "leaked" not in err, err
    assert_all_exit(workers, timeout=0)  # killed and reaped before the parent exited
    kept = len(check_store(store, seeds=2))
    assert 1 <= kept < SLOW_CELLS
    assert run("run", slow_grid, "--store", store, "--jobs", jobs, "--no-report") == 0
    assert f"resuming: {kept} of {SLOW_CELLS} cells" in capsys.readouterr().out
    assert len(check_store(store, seeds=2)) == SLOW_CELLS


@pytest.mark.timeout(120)
def test_ctrl_c_at_any_moment_of_start_up_is_one_line_never_a_traceback(slow_grid, tmp_path):
    """Imports, validation, store creation, worker start-up: a SIGINT in any of them."""
    for delay in (0.05, 0.15, 0.25, 0.35, 0.5, 0.8, 1.2):
        store = tmp_path / f"s{delay}.sqlite"
        child = optbench("run", slow_grid, "--store", store, "--jobs", 2, "--no-report")
        time.sleep(delay)
        child.send_signal(signal.SIGINT)
        _, err = child.communicate(timeout=60)
        lines = [line for line in err.splitlines() if line.strip()]
        lines = [line for line in lines if not line.startswith("[")]  # progress lines
        assert "Traceback" not in err, (delay, err[-2000:])
        assert len(lines) == 1 and "interrupted" in lines[0], (delay, lines)
        assert child.returncode in (130, -signal.SIGINT), (delay, child.returncode)
