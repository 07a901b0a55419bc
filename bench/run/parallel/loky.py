"""The loky backend: one single-worker loky executor per job, each worker holding at most one cell.

The parent always knows which cell every worker is running. That is what keeps a fault inside
its cell:

- a worker that dies (``os._exit`` in a plugin, a segfault, the out-of-memory killer) fails only
  the cell it held: its runs are recorded ``error`` ("worker died: worker process ... died ..."),
  which the next run of the same command retries; the slot gets a fresh worker and the grid goes
  on;
- a worker that dies while starting is started again, up to :data:`START_ATTEMPTS` times in a
  row, then the run stops with :class:`WorkerError` (one line, exit code 2);
- a cell still running :func:`grace` seconds after its ``timeout`` (the engine's own check only
  runs between steps, so a step that never returns needs this) has its worker killed from
  outside and is recorded ``timeout``;
- when the consumer stops early (Ctrl-C, SIGTERM, a store error), every worker is killed before
  the generator returns: no orphan processes, and nothing half-done reaches the store.
"""

from __future__ import annotations

import concurrent.futures
import math
import os
import re
import threading
import time
import traceback
from collections import deque
from collections.abc import Iterator
from typing import TYPE_CHECKING

from bench.run.parallel import workers
from bench.run.parallel.workers import WORKER_DIED, WorkerError, worker_init

if TYPE_CHECKING:
    from bench.grid.cell import Cell
    from bench.run.result import CellResult

START_ATTEMPTS = 3  # a worker slot that fails to start this many times in a row stops the run
# Environment variables that cap the thread pools of BLAS and OpenMP in workers (as joblib does).
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS",
                    "NUMBA_NUM_THREADS")  # fmt: skip


def cpu_count() -> int:
    """The CPUs this process may use: affinity masks and cgroup quotas count, unlike
    ``os.cpu_count()`` (joblib's count)."""
    from joblib import cpu_count as joblib_cpu_count

    return joblib_cpu_count()


def _ready() -> int:
    """A worker's first task: proves it started (imports done, numba's kernels loaded, so no
    cell's timeout pays for them) and tells its process id."""
    from optimizers import fused

    fused.warm_up()
    return os.getpid()


class _Worker:
    """One worker process (a single-worker loky executor) and the group of cells it runs, if any.

    States: not launched (``executor`` None); warming up (``future`` of :func:`_ready`, no
    ``group``); idle (no ``future``); running ``group`` (``future`` of :func:`run_group`).
    """

    def __init__(self, env: dict[str, str]):
        self.env = env
        self.executor = None
        self.future: concurrent.futures.Future | None = None
        self.group: tuple[Cell, ...] | None = None
        self.pid: int | None = None
        self.started = math.inf
        self.start_failures = 0

    def launch(self) -> None:
        from joblib.externals.loky import ProcessPoolExecutor

        main = threading.current_thread() is threading.main_thread()  # see worker_init
        self.executor = ProcessPoolExecutor(
            max_workers=1, env=self.env, initializer=worker_init, initargs=(os.getpid(), main)
        )
        self.future = self.executor.submit(_ready)

    def warmed_up(self) -> None:
        """Record the process id once :func:`_ready` returned; a process that died starting is
        killed (the caller launches another), and :data:`START_ATTEMPTS` in a row stop the run."""
        try:
            self.pid = self.future.result()
        except Exception as error:  # noqa: BLE001 - whatever broke, the process is unusable
            self.start_failures += 1
            self.kill()
            if self.start_failures >= START_ATTEMPTS:
                raise WorkerError(
                    f"cannot start a worker process: {START_ATTEMPTS} attempts in a row died "
                    f"while starting (last: {_how(error)})"
                ) from None
            return
        self.start_failures = 0
        self.future = None

    def start(
        self, group: tuple[Cell, ...], plugins: tuple[str, ...], paths: tuple[str, ...]
    ) -> None:
        from bench.run.engine import run_group

        self.group, self.started = group, time.monotonic()
        self.future = self.executor.submit(run_group, group, plugins, paths)

    @property
    def deadline(self) -> float:
        """When the running group's worker gets killed (infinity: no limit, or no group)."""
        timeout = workers.group_timeout(self.group)
        if timeout is None:
            return math.inf
        return self.started + timeout + workers.grace(timeout)

    def collect(self) -> list[CellResult]:
        """The finished group's results; a dead worker or a lost result makes error results."""
        from bench.run.outcome import errors

        group, future = self.group, self.future
        self.group = self.future = None
        error = future.exception()
        if error is None:
            return future.result()
        wall, pid = time.monotonic() - self.started, self.pid
        self.kill()  # whatever broke, the next group gets a fresh process
        return errors(group, _failure(error, pid), wall)

    def stop_hung_cell(self) -> list[CellResult]:
        """Kill the worker of a cell past its deadline; the cell is recorded ``timeout``."""
        from bench.run.engine import error_result

        (cell,) = self.group  # only a cell alone has a timeout
        pid, wall = self.pid, time.monotonic() - self.started
        self.kill()
        message = (
            f"timeout: the cell was still running {wall:.1f} s after it started, past its limit "
            f"of {cell.timeout:g} s (a step that does not return?); its worker process {pid} was "
            "killed and replaced"
        )
        return [error_result(cell, message, wall, status="timeout")]

    def kill(self) -> None:
        """Kill the process (SIGKILL, descendants included) and wait until it is gone."""
        executor, self.executor = self.executor, None
        self.future = self.group = self.pid = None
        if executor is not None:
            executor.shutdown(wait=True, kill_workers=True)


def _how(error: BaseException) -> str:
    """How a worker process ended, from loky's error: "killed by SIGSEGV", "exit code 3"..."""
    text = str(error)
    signal_name = re.search(r"\b(SIG[A-Z0-9]+)\(", text)
    exit_code = re.search(r"\bEXIT\((-?\d+)\)", text)
    if signal_name:
        return f"killed by {signal_name.group(1)}"
    if exit_code:
        return f"exit code {exit_code.group(1)}"
    return one_line(error)


def _failure(error: BaseException, pid: int | None) -> str:
    """The ``error`` text of a cell whose worker failed rather than returning a result."""
    from joblib.externals.loky.process_executor import BrokenProcessPool

    if not isinstance(error, BrokenProcessPool):  # e.g. a result that cannot be pickled
        return "".join(traceback.format_exception(error))
    return (
        f"{WORKER_DIED}worker process {pid} died while running this cell ({_how(error)}); it "
        "was replaced and the rest of the grid went on; rerunning the same command retries it"
    )


def one_line(error: BaseException) -> str:
    """``str(error)`` on one line (its type name if empty or unprintable)."""
    try:
        text = str(error)
    except Exception:  # noqa: BLE001 - a message that cannot be formatted still names its type
        text = ""
    return " ".join(text.split()) or type(error).__name__


def run_loky(
    groups: list[tuple[Cell, ...]], jobs: int, plugins: tuple[str, ...], paths: tuple[str, ...]
) -> Iterator[CellResult]:
    """Run ``groups`` on ``jobs`` worker processes; yield each cell's result as its group ends."""
    env = {v: os.environ.get(v, str(max(cpu_count() // jobs, 1))) for v in THREAD_VARIABLES}
    pending = deque(groups)
    slots = [_Worker(env) for _ in range(jobs)]
    try:
        for worker in slots:
            worker.launch()
        while busy := {w.future: w for w in slots if w.future is not None}:
            timeout = min(workers.POLL, max(0.0, min(w.deadline for w in slots) - time.monotonic()))
            done, _ = concurrent.futures.wait(
                busy, timeout=timeout, return_when=concurrent.futures.FIRST_COMPLETED
            )
            for worker in slots:
                results: list[CellResult] = []
                if worker.future is None:
                    continue
                if worker.future in done and worker.group is None:
                    worker.warmed_up()
                elif worker.future in done:
                    results = worker.collect()
                elif time.monotonic() > worker.deadline:
                    results = worker.stop_hung_cell()
                else:
                    continue
                if pending and worker.executor is None:
                    worker.launch()  # the old process died or was killed: a fresh one
                elif pending and worker.future is None:
                    worker.start(pending.popleft(), plugins, paths)  # before the parent stores
                yield from results
    finally:
        for worker in slots:
            worker.kill()
