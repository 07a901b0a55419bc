"""What a result was measured on: machine, BLAS configuration and package versions.

Recorded once per experiment by :mod:`bench.store.store`, so a speed number can always be traced
back to the CPU, the BLAS library and its thread count, and the versions that produced it.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import socket
import subprocess
from typing import Any

import numpy as np

# The threadpoolctl keys worth keeping; ``filepath`` is left out (long, and machine-local).
_BLAS_KEYS = (
    "user_api",
    "internal_api",
    "prefix",
    "version",
    "architecture",
    "coretype",
    "threading_layer",
    "num_threads",
)


def machine_info() -> dict[str, Any]:
    """The host: hostname, operating system, CPU architecture and CPU counts.

    Returns
    -------
    dict
        ``hostname``, ``platform``, ``machine``, ``processor``, ``cpu_count`` (logical CPUs) and
        ``cpu_affinity`` (CPUs this process may use, ``None`` where the OS cannot tell).
    """
    try:
        affinity: int | None = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        affinity = None
    return {
        "hostname": socket.gethostname(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor(),
        "cpu_count": os.cpu_count(),
        "cpu_affinity": affinity,
    }


def blas_info() -> list[dict[str, Any]]:
    """The BLAS/OpenMP thread pools loaded in this process, as threadpoolctl reports them.

    Falls back to NumPy's build configuration (``numpy.show_config``) when threadpoolctl is not
    installed; that fallback knows the library and version but not the live thread count.

    Returns
    -------
    list of dict
        One dict per thread pool with keys among ``user_api``, ``internal_api``, ``prefix``,
        ``version``, ``architecture``, ``coretype``, ``threading_layer`` and ``num_threads``.
    """
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return _numpy_build_blas()
    return [{k: pool[k] for k in _BLAS_KEYS if k in pool} for pool in threadpool_info()]


def _numpy_build_blas() -> list[dict[str, Any]]:
    try:
        deps = np.show_config(mode="dicts").get("Build Dependencies", {})
    except Exception:  # older NumPy has no mode="dicts"; the record is informative only
        return []
    return [
        {"user_api": api, "internal_api": dep.get("name"), "version": dep.get("version")}
        for api, dep in deps.items()
        if isinstance(dep, dict)
    ]


# The libraries of `torch:` and `optax:` optimizers (optimizers.adapters): a store records the
# version of the implementation that produced its numbers.
ADAPTED_LIBRARIES = ("torch", "pytorch-optimizer", "schedulefree", "jax", "jaxlib", "optax")


def package_versions() -> dict[str, str | None]:
    """Versions of Python, optbench and the libraries that shape the numbers.

    Returns
    -------
    dict
        ``python``, ``optbench``, ``numpy``, ``pandas``, ``threadpoolctl``, ``joblib``, and the
        libraries whose optimizers the adapters run (``torch``, ``pytorch-optimizer``,
        ``schedulefree``, ``jax``, ``jaxlib``, ``optax``); ``None`` for a package that is not
        installed.
    """
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in ("optbench", "numpy", "pandas", "threadpoolctl", "joblib", *ADAPTED_LIBRARIES):
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def git_state(folder: str | os.PathLike | None = None) -> dict[str, Any]:
    """The git commit checked out in ``folder`` (default: the working directory), now.

    Stores do not record the code that produced their runs, so this is the commit at the time it
    is asked (``optbench export``), named as such by its callers.

    Returns
    -------
    dict
        ``git_commit`` (the ``HEAD`` hash) and ``git_dirty`` (whether tracked files differ from
        it); both ``None`` when ``folder`` is not in a git checkout or git is not installed.
    """
    commit = _git(folder, "rev-parse", "--verify", "HEAD")
    if commit is None:
        return {"git_commit": None, "git_dirty": None}
    changes = _git(folder, "status", "--porcelain", "--untracked-files=no")
    return {"git_commit": commit, "git_dirty": None if changes is None else bool(changes)}


def _git(folder: str | os.PathLike | None, *command: str) -> str | None:
    """The stripped output of ``git command`` in ``folder``, or None if it fails."""
    try:
        done = subprocess.run(["git", *command], cwd=folder, capture_output=True, text=True,
                              timeout=10, check=False)  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None
