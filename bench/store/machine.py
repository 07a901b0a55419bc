"""What a result was measured on: machine, BLAS configuration and package versions.

Recorded once per experiment by :mod:`bench.store.store`, so a speed number can always be traced
back to the CPU, the BLAS library and its thread count, and the versions that produced it.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import socket
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


def package_versions() -> dict[str, str | None]:
    """Versions of Python, optbench and the libraries that shape the numbers.

    Returns
    -------
    dict
        ``python``, ``optbench``, ``numpy``, ``pandas``, ``threadpoolctl``, ``joblib``; ``None``
        for a package that is not installed.
    """
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in ("optbench", "numpy", "pandas", "threadpoolctl", "joblib"):
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions
