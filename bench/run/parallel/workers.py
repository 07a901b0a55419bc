"""What every worker process shares, whatever the backend: start-up, orphan exit, limits, and the
checked import of plugins before any worker starts.

This module imports nothing heavy: a loky worker imports it (to run :func:`worker_init`) before
anything else, so a worker whose parent dies while it is still starting exits at once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

POLL = 0.5  # seconds between checks of the hard timeouts (and chances for Ctrl-C)
ORPHAN_CHECK = 0.1  # seconds between a worker's checks that its parent is still alive
# Seconds the checked import of the plugins may take (raise it for plugins on a slow disk).
PLUGIN_IMPORT_TIMEOUT = float(os.environ.get("OPTBENCH_PLUGIN_IMPORT_TIMEOUT", "30"))
# The start of every ``error`` text of a cell whose runs failed for a reason outside the cell
# (its worker died, was killed, or Dask cancelled it): a rerun of the same command retries it.
WORKER_DIED = "worker died: "
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


class WorkerError(RuntimeError):
    """Workers cannot run the grid: they keep dying at start-up, a plugin kills the process that
    imports it, or the Dask scheduler cannot be reached. One line, exit code 2."""


def grace(timeout: float) -> float:
    """Seconds a cell may overrun its ``timeout`` before its worker is killed.

    Covers sending the cell and its result, and the last step before the engine's own check.
    """
    return 1.0 + 0.1 * timeout


def group_timeout(group) -> float | None:
    """The time limit of a group of cells: a cell's own ``timeout`` (only a cell alone has one,
    :mod:`bench.run.grouping`), else None."""
    if group is None or len(group) != 1:
        return None
    return group[0].timeout


def worker_init(parent: int, death_signal: bool = True) -> None:
    """Set up a worker: ignore Ctrl-C, and exit as soon as the parent dies.

    Ctrl-C on a terminal reaches the whole process group; only the parent decides what to do.
    A parent killed with SIGKILL cannot clean up, and idle workers would wait forever. On Linux
    the kernel kills the worker when its parent dies (``PR_SET_PDEATHSIG``; it fires when the
    *thread* that started the worker ends, so the parent asks for it only from its main thread);
    everywhere, a daemon thread also checks every :data:`ORPHAN_CHECK` seconds that the worker
    still has its parent.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if death_signal and sys.platform.startswith("linux"):
        _set_death_signal()
    if os.getppid() != parent:  # the parent died before this worker got here
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(ORPHAN_CHECK)
        os._exit(1)

    threading.Thread(target=watch, name="optbench-orphan-watch", daemon=True).start()


def _set_death_signal() -> None:
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # no prctl: the watch thread alone
        pass


# The checked import: one module at a time, each name printed first, so that a process that
# dies names its culprit. An ordinary exception is left to grid validation, which words it.
_IMPORT_SCRIPT = """\
import importlib, os, sys
sys.path[:] = sys.argv[1].split(os.pathsep)
for module in sys.argv[2:]:
    print(module, flush=True)
    try:
        importlib.import_module(module)
    except Exception:
        pass
"""


def check_plugins(
    plugins: tuple[str, ...], paths: tuple[str, ...], timeout: float | None = None
) -> None:
    """Import ``plugins`` in a child process first, so that one that exits, crashes or hangs at
    import stops the run with one line instead of killing or hanging the parent.

    Parameters
    ----------
    plugins
        Module names, in the order they will be imported.
    paths
        The ``sys.path`` to import them with.
    timeout
        Seconds the imports may take (default :data:`PLUGIN_IMPORT_TIMEOUT`).

    Raises
    ------
    WorkerError
        Naming the plugin and what happened: its exit code, its signal, or the time limit.
    """
    if not plugins:
        return
    limit = PLUGIN_IMPORT_TIMEOUT if timeout is None else timeout
    command = [sys.executable, "-c", _IMPORT_SCRIPT, os.pathsep.join(paths), *plugins]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = child.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        child.kill()
        out, err = child.communicate()
        what = f"did not finish importing within {limit:g} s"
    else:
        if child.returncode == 0:
            return
        what = _exit_text(child.returncode)
        last = err.strip().splitlines()[-1:] if err.strip() else []
        what += f" ({' '.join(last[0].split())})" if last else ""
    imported = out.split()
    culprit = imported[-1] if imported else plugins[0]
    raise WorkerError(f"plugin {culprit!r} {what}; optbench imports it in every worker")


def _exit_text(code: int) -> str:
    if code < 0:
        try:
            return f"killed its process with {signal.Signals(-code).name} at import"
        except ValueError:
            return f"killed its process with signal {-code} at import"
    return f"ended its process with exit code {code} at import"
