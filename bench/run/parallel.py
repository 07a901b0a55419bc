"""Dispatch cells to worker processes and yield each result the moment it finishes.

loky (the default) runs one single-worker loky executor per job, and each worker holds at most
one cell at a time, so the parent always knows which cell every worker is running. That is what
keeps a fault inside its cell:

- a worker that dies (``os._exit`` in a plugin, a segfault, the out-of-memory killer) fails only
  the cell it held: its runs are recorded ``error`` ("worker process ... died ..."), the slot gets
  a fresh worker and the grid goes on;
- a cell still running :func:`grace` seconds after its ``timeout`` (the engine's own check only
  runs between steps, so a step that never returns needs this) has its worker killed from
  outside and is recorded ``timeout``;
- when the consumer stops early (Ctrl-C, a store error), every worker is killed before the
  generator returns: no orphan processes, and nothing half-done reaches the store.

Workers ignore SIGINT (Ctrl-C on a terminal reaches the whole process group; the parent decides)
and exit by themselves when the parent is killed outright (SIGKILL leaves it no chance to clean
up). ``jobs=1`` runs in this process (what a debugger wants) unless a cell has a timeout, which
needs a worker that can be killed.

dask runs each cell as a distributed future; a cell whose workers keep dying is reported by Dask
as ``KilledWorker`` (after ``distributed.scheduler.allowed-failures`` retries) and recorded
``error``; a cell far past its timeout is cancelled, its worker restarted, and the cell recorded
``timeout`` (see :class:`_DaskWatch`).

Each cell's numbers depend only on the cell, so backend, job count and order do not change them.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import math
import os
import re
import signal
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Iterable, Iterator

from bench.grid.cell import Cell
from bench.run.engine import error_result, run_cell
from bench.run.result import CellResult

BACKENDS = ("loky", "dask")
POLL = 0.5  # seconds between checks of the hard timeouts (and chances for Ctrl-C)
ORPHAN_CHECK = 0.5  # seconds between a worker's checks that its parent is still alive
# Environment variables that cap the thread pools of BLAS and OpenMP in workers (as joblib does).
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS",
                    "NUMBA_NUM_THREADS")  # fmt: skip


def grace(timeout: float) -> float:
    """Seconds a cell may overrun its ``timeout`` before its worker is killed.

    Covers sending the cell and its result, and the last step before the engine's own check.
    """
    return 1.0 + 0.1 * timeout


def run_cells(
    cells: Iterable[Cell],
    jobs: int = -1,
    backend: str = "loky",
    scheduler: str | None = None,
    plugins: tuple[str, ...] = (),
) -> Iterator[CellResult]:
    """Run ``cells`` and yield their results as they finish (in no particular order).

    Parameters
    ----------
    cells
        The cells, in the order to start them (the run command puts the biggest first).
    jobs
        Worker processes for loky; -1 uses every core. ``jobs=1`` runs in this process unless a
        cell has a timeout.
    backend
        ``"loky"`` or ``"dask"``. With dask, ``scheduler`` is the address of a running
        scheduler (``tcp://host:8786``); the extra ``optbench[dask]`` provides ``distributed``.
    plugins
        Modules to import in each worker before running a cell.

    Yields
    ------
    CellResult
        One per cell. Nothing raises for a cell: exceptions, dead workers and hangs are results
        (``error`` or ``timeout``). Closing the generator early kills every worker.
    """
    cells = list(cells)
    if not cells:
        return
    paths = tuple(sys.path) if plugins else ()
    if backend == "dask":
        yield from _run_dask(cells, scheduler, plugins, paths)
        return
    jobs = cpu_count() if jobs == -1 else jobs
    if jobs == 1 and all(cell.timeout is None for cell in cells):
        for cell in cells:
            yield run_cell(cell, plugins)
        return
    yield from _run_loky(cells, min(jobs, len(cells)), plugins, paths)


# ---------------------------------------------------------------------------------------------
# loky


def cpu_count() -> int:
    """The CPUs this process may use: affinity masks and cgroup quotas count, unlike
    ``os.cpu_count()`` (joblib's count)."""
    from joblib import cpu_count as joblib_cpu_count

    return joblib_cpu_count()


def _worker_init(parent: int) -> None:
    """Set up a worker: ignore Ctrl-C, and exit if the parent dies.

    Ctrl-C on a terminal reaches the whole process group; only the parent decides what to do.
    A parent killed with SIGKILL cannot clean up, and loky's idle workers would wait forever:
    a daemon thread notices the parent is gone (the worker is re-parented) and ends the process.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(ORPHAN_CHECK)
        os._exit(1)

    threading.Thread(target=watch, name="optbench-orphan-watch", daemon=True).start()


def _ready() -> int:
    """A worker's first task: proves it started (imports done) and tells its process id."""
    return os.getpid()


class _Worker:
    """One worker process (a single-worker loky executor) and the cell it runs, if any.

    States: not launched (``executor`` None); warming up (``future`` of :func:`_ready`, no
    ``cell``); idle (no ``future``); running ``cell`` (``future`` of :func:`run_cell`).
    """

    def __init__(self, env: dict[str, str]):
        self.env = env
        self.executor = None
        self.future: concurrent.futures.Future | None = None
        self.cell: Cell | None = None
        self.pid: int | None = None
        self.started = math.inf

    def launch(self) -> None:
        from joblib.externals.loky import ProcessPoolExecutor

        self.executor = ProcessPoolExecutor(
            max_workers=1, env=self.env, initializer=_worker_init, initargs=(os.getpid(),)
        )
        self.future = self.executor.submit(_ready)

    def warmed_up(self) -> None:
        """Record the process id once :func:`_ready` returned."""
        try:
            self.pid = self.future.result()
        except Exception as error:
            raise RuntimeError(f"cannot start a worker process: {_one_line(error)}") from error
        self.future = None

    def start(self, cell: Cell, plugins: tuple[str, ...], paths: tuple[str, ...]) -> None:
        self.cell, self.started = cell, time.monotonic()
        self.future = self.executor.submit(run_cell, cell, plugins, paths)

    @property
    def deadline(self) -> float:
        """When the running cell's worker gets killed (infinity: no limit, or no cell)."""
        if self.cell is None or self.cell.timeout is None:
            return math.inf
        return self.started + self.cell.timeout + grace(self.cell.timeout)

    def collect(self) -> CellResult:
        """The finished cell's result; a dead worker or a lost result becomes an error result."""
        cell, future = self.cell, self.future
        self.cell = self.future = None
        error = future.exception()
        if error is None:
            return future.result()
        wall, pid = time.monotonic() - self.started, self.pid
        self.kill()  # whatever broke, the next cell gets a fresh process
        return error_result(cell, _failure(error, pid), wall)

    def stop_hung_cell(self) -> CellResult:
        """Kill the worker of a cell past its deadline; the cell is recorded ``timeout``."""
        cell, pid, wall = self.cell, self.pid, time.monotonic() - self.started
        self.kill()
        message = (
            f"timeout: the cell was still running {wall:.1f} s after it started, past its limit "
            f"of {cell.timeout:g} s (a step that does not return?); its worker process {pid} was "
            "killed and replaced"
        )
        return error_result(cell, message, wall, status="timeout")

    def kill(self) -> None:
        """Kill the process (SIGKILL, descendants included) and wait until it is gone."""
        executor, self.executor = self.executor, None
        self.future = self.cell = self.pid = None
        if executor is not None:
            executor.shutdown(wait=True, kill_workers=True)


def _failure(error: BaseException, pid: int | None) -> str:
    """The ``error`` text of a cell whose worker failed rather than returning a result."""
    from joblib.externals.loky.process_executor import BrokenProcessPool

    if not isinstance(error, BrokenProcessPool):  # e.g. a result that cannot be pickled
        return "".join(traceback.format_exception(error))
    text = str(error)
    signal_name = re.search(r"\b(SIG[A-Z0-9]+)\(", text)
    exit_code = re.search(r"\bEXIT\((-?\d+)\)", text)
    if signal_name:
        how = f"killed by {signal_name.group(1)}"
    elif exit_code:
        how = f"exit code {exit_code.group(1)}"
    else:
        how = _one_line(error)
    return (
        f"worker process {pid} died while running this cell ({how}); it was replaced and the "
        "rest of the grid went on"
    )


def _one_line(error: BaseException) -> str:
    try:
        text = str(error)
    except Exception:  # noqa: BLE001 - a message that cannot be formatted still names its type
        text = ""
    return " ".join(text.split()) or type(error).__name__


def _run_loky(
    cells: list[Cell], jobs: int, plugins: tuple[str, ...], paths: tuple[str, ...]
) -> Iterator[CellResult]:
    env = {v: os.environ.get(v, str(max(cpu_count() // jobs, 1))) for v in THREAD_VARIABLES}
    pending = deque(cells)
    workers = [_Worker(env) for _ in range(jobs)]
    try:
        for worker in workers:
            worker.launch()
        while busy := {w.future: w for w in workers if w.future is not None}:
            timeout = min(POLL, max(0.0, min(w.deadline for w in workers) - time.monotonic()))
            done, _ = concurrent.futures.wait(
                busy, timeout=timeout, return_when=concurrent.futures.FIRST_COMPLETED
            )
            for worker in workers:
                result = None
                if worker.future is None:
                    continue
                if worker.future in done and worker.cell is None:
                    worker.warmed_up()
                elif worker.future in done:
                    result = worker.collect()
                elif time.monotonic() > worker.deadline:
                    result = worker.stop_hung_cell()
                else:
                    continue
                if pending and worker.executor is None:
                    worker.launch()  # the old process died or was killed: a fresh one
                elif pending and worker.future is None:
                    worker.start(pending.popleft(), plugins, paths)  # before the parent stores
                if result is not None:
                    yield result
    finally:
        for worker in workers:
            worker.kill()


# ---------------------------------------------------------------------------------------------
# dask


def _run_dask(
    cells: list[Cell], scheduler: str | None, plugins: tuple[str, ...], paths: tuple[str, ...]
) -> Iterator[CellResult]:
    from distributed import Client, as_completed  # the optional extra, imported only when asked

    with Client(scheduler) as client:
        futures = {  # biggest first, as given: a higher priority starts earlier
            client.submit(run_cell, cell, plugins, paths, pure=False, priority=len(cells) - i): cell
            for i, cell in enumerate(cells)
        }
        completed = as_completed(futures)
        watch = _DaskWatch(client) if any(c.timeout is not None for c in cells) else None
        while futures:
            batch = [f for f in completed.next_batch(block=False) if f in futures]
            for future in batch:
                yield _dask_result(future, futures.pop(future))
            if watch is not None:
                for future in watch.hung(futures):
                    yield watch.stop(future, futures.pop(future))
            if not batch:
                time.sleep(0.05)


def _dask_result(future, cell: Cell) -> CellResult:
    from distributed import KilledWorker

    try:
        return future.result()
    except KilledWorker as error:
        message = (
            f"worker process died while running this cell, on every worker Dask tried "
            f"({_one_line(error)}); the rest of the grid went on"
        )
        return error_result(cell, message, math.nan)
    except Exception as error:  # noqa: BLE001 - e.g. a result that cannot be unpickled
        return error_result(cell, "".join(traceback.format_exception(error)), math.nan)


class _DaskWatch:
    """Hard timeouts on Dask: when each cell was first seen processing, and on which worker.

    The client only sees which worker a cell was given to, and a worker may hold one cell
    queued behind the one it runs, so a cell gets twice its timeout (plus :func:`grace`) from
    then before it is cancelled and its worker restarted.
    """

    def __init__(self, client):
        self.client = client
        self.started: dict[str, tuple[float, str]] = {}  # future key -> (first seen, worker)
        self.last_check = -math.inf

    def hung(self, futures: dict) -> list:
        """The futures (keys of ``futures``, values their cells) past their deadline."""
        now = time.monotonic()
        if now - self.last_check < POLL:
            return []
        self.last_check = now
        for worker, keys in self.client.processing().items():
            for key in keys:
                self.started.setdefault(key, (now, worker))
        return [
            future
            for future, cell in futures.items()
            if cell.timeout is not None
            and future.key in self.started
            and now - self.started[future.key][0] > 2 * cell.timeout + grace(cell.timeout)
        ]

    def stop(self, future, cell: Cell) -> CellResult:
        """Cancel the hung cell and restart its worker (the thread running it cannot be stopped)."""
        since, worker = self.started.pop(future.key)
        wall = time.monotonic() - since
        future.cancel()
        with contextlib.suppress(Exception):  # a worker without a nanny cannot be restarted
            self.client.restart_workers([worker], raise_for_error=False)
        message = (
            f"timeout: the cell was still running {wall:.1f} s after it was given to a worker, "
            f"past its limit of {cell.timeout:g} s (a step that does not return?); it was "
            f"cancelled and Dask worker {worker} restarted"
        )
        return error_result(cell, message, wall, status="timeout")
