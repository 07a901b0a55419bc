"""The Dask backend: each cell a distributed future.

- The client connects (within :data:`CONNECT_TIMEOUT` seconds) before anything else happens, so
  an unreachable scheduler or a bad address stops the run with one line, before the store exists.
- A cell whose workers keep dying is reported by Dask as ``KilledWorker`` (after
  ``distributed.scheduler.allowed-failures`` retries) and recorded ``error`` ("worker died: ..."),
  which the next run of the same command retries.
- Every worker loads numba's kernels when it starts, or when it joins or is restarted later (a
  worker plugin, :func:`warm_up_plugin`), before it takes a cell: no cell's timeout pays for
  them, as with loky.
- Hard timeouts (see :class:`_DaskWatch`): each worker says which cells it is *executing* and
  since when, so only a cell past its own limit is cancelled and recorded ``timeout``. Its worker
  is restarted (the thread running it cannot be stopped); the cells queued behind it go back to
  the scheduler, and any cell that the restart cut short is submitted again.
"""

from __future__ import annotations

import contextlib
import math
import time
import traceback
from collections import Counter
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from bench.run.parallel import workers
from bench.run.parallel.loky import one_line
from bench.run.parallel.workers import WORKER_DIED, WorkerError

if TYPE_CHECKING:
    from bench.grid.cell import Cell
    from bench.run.result import CellResult

CONNECT_TIMEOUT = 10.0  # seconds to reach the scheduler
REQUEUES = 3  # times a cell cut short by another cell's restart is submitted again

# In each worker process: (worker address, task key) -> time.monotonic() when the cell started.
_EXECUTING: dict[tuple[str, Any], float] = {}


def connect(address: str | None, timeout: float | None = None):
    """A ``distributed.Client`` connected to ``address``, or :class:`WorkerError` (one line)."""
    try:
        from distributed import Client  # the optional extra, imported only when asked
    except ImportError:
        raise WorkerError("--backend dask needs the extra: pip install 'optbench[dask]'") from None
    limit = CONNECT_TIMEOUT if timeout is None else timeout
    try:
        return Client(address, timeout=limit)
    except (OSError, ValueError, TypeError) as error:  # TimeoutError is an OSError
        raise WorkerError(
            f"cannot connect to the Dask scheduler {address!r}: {one_line(error)}"
        ) from None


def warm_up_plugin():
    """A ``distributed.WorkerPlugin`` that loads numba's kernels on every worker, present and
    future (``optimizers.fused.warm_up``; nothing without numba)."""
    from distributed import WorkerPlugin

    class WarmUp(WorkerPlugin):  # built here: distributed is an optional extra
        name = "optbench-warm-up"

        def setup(self, worker) -> None:
            from optimizers import fused

            fused.warm_up()

    return WarmUp()


def register_warm_up(client) -> None:
    """Warm every worker up before any cell is submitted; one line if a worker cannot."""
    try:
        client.register_plugin(warm_up_plugin())
    except Exception as error:  # noqa: BLE001 - whatever the worker raised, say it in one line
        raise WorkerError(f"Dask workers cannot load numba's kernels: {one_line(error)}") from None


def run_on_worker(
    group: tuple[Cell, ...], plugins: tuple[str, ...], paths: tuple[str, ...]
) -> list[CellResult]:
    """:func:`bench.run.engine.run_group` on a Dask worker, noted in :data:`_EXECUTING` while it
    runs."""
    from distributed import get_worker

    from bench.run.engine import run_group

    worker = get_worker()
    key = (worker.address, worker.get_current_task())
    _EXECUTING[key] = time.monotonic()
    try:
        return run_group(group, plugins, paths)
    finally:
        _EXECUTING.pop(key, None)


def executing(dask_worker) -> dict[Any, float]:
    """Run on a worker (``client.run``): task key -> seconds it has been executing there."""
    now = time.monotonic()
    return {k: now - t for (a, k), t in list(_EXECUTING.items()) if a == dask_worker.address}


def run_dask(
    groups: list[tuple[Cell, ...]], scheduler, plugins: tuple[str, ...], paths: tuple[str, ...]
) -> Iterator[CellResult]:
    """Run ``groups`` on the Dask cluster at ``scheduler`` (an address, or a connected client);
    yield each cell's result as its group ends."""
    from distributed import as_completed

    client = connect(scheduler) if scheduler is None or isinstance(scheduler, str) else scheduler
    owned = client is not scheduler
    try:
        register_warm_up(client)
        futures: dict = {}

        def submit(group: tuple[Cell, ...], priority: int):
            future = client.submit(run_on_worker, group, plugins, paths, pure=False,
                                   priority=priority)  # fmt: skip
            futures[future] = group
            return future

        for i, group in enumerate(groups):  # biggest first, as given: higher priority first
            submit(group, len(groups) - i)
        completed = as_completed(list(futures))
        timeouts = any(workers.group_timeout(g) is not None for g in groups)
        watch = _DaskWatch(client) if timeouts else None
        requeued: Counter = Counter()
        while futures:
            batch = [f for f in completed.next_batch(block=False) if f in futures]
            for future in batch:
                group = futures.pop(future)
                key = tuple(cell.key for cell in group)
                again = watch is not None and watch.restarts and requeued[key] < REQUEUES
                if again and _cut_short(future):
                    requeued[key] += 1  # another cell's fault: run it again
                    completed.add(submit(group, len(groups)))
                    continue
                yield from _dask_result(future, group)
            if watch is not None:
                for future, worker, seconds in watch.hung(futures):
                    yield watch.stop(future, futures.pop(future), worker, seconds)
            if not batch:
                time.sleep(0.05)
    finally:
        if owned:
            client.close()


def _cut_short(future) -> bool:
    """Whether ``future`` ended without a result of its own: cancelled, or its worker lost."""
    from distributed import KilledWorker

    if future.cancelled():
        return True
    with contextlib.suppress(Exception):
        return isinstance(future.exception(), KilledWorker)
    return False


def _dask_result(future, group: tuple[Cell, ...]) -> list[CellResult]:
    from distributed import KilledWorker

    from bench.run.outcome import errors

    try:
        return future.result()
    except KilledWorker as error:
        message = (
            f"{WORKER_DIED}worker process died while running this cell, on every worker Dask "
            f"tried ({one_line(error)}); the rest of the grid went on"
        )
        return errors(group, message, math.nan)
    except Exception as error:  # noqa: BLE001 - e.g. a result that cannot be unpickled
        if future.cancelled():
            message = f"{WORKER_DIED}the cell was cancelled by Dask ({one_line(error)})"
            return errors(group, message, math.nan)
        return errors(group, "".join(traceback.format_exception(error)), math.nan)


class _DaskWatch:
    """Hard timeouts on Dask, from what each worker is executing.

    A worker may hold cells queued behind the one it runs, and the scheduler only knows which
    worker a cell was given to, so each worker is asked (``client.run(executing)``) which cells
    it is running and for how long. A cell running longer than its timeout plus :func:`grace` is
    hung; only it is recorded ``timeout``.
    """

    def __init__(self, client):
        self.client = client
        self.last_check = -math.inf
        self.restarts = 0

    def hung(self, futures: dict) -> list[tuple[Any, str, float]]:
        """(future, worker, seconds executing) of the futures in ``futures`` (values their cells)
        past their limit."""
        now = time.monotonic()
        if now - self.last_check < workers.POLL:
            return []
        self.last_check = now
        by_key = {future.key: future for future in futures}
        found = []
        for worker, running in self.client.run(executing, on_error="ignore").items():
            for key, seconds in running.items():
                future = by_key.get(key)
                timeout = None if future is None else workers.group_timeout(futures[future])
                if timeout is not None and seconds > timeout + workers.grace(timeout):
                    found.append((future, worker, seconds))
        return found

    def stop(self, future, group: tuple[Cell, ...], worker: str, seconds: float) -> CellResult:
        """Cancel the hung cell and restart its worker (the thread running it cannot be stopped).
        Only a cell alone has a timeout, so the group is that one cell."""
        from bench.run.engine import error_result

        (cell,) = group
        future.cancel()
        self.restarts += 1
        with contextlib.suppress(Exception):  # a worker without a nanny cannot be restarted
            self.client.restart_workers([worker], raise_for_error=False)
        message = (
            f"timeout: the cell had been running {seconds:.1f} s on a Dask worker, past its "
            f"limit of {cell.timeout:g} s (a step that does not return?); it was cancelled and "
            f"Dask worker {worker} restarted"
        )
        return error_result(cell, message, seconds, status="timeout")
