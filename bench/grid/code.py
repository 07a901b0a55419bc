"""Which plugin code a cell runs: the hashes of the source files that enter its identity.

A cell that uses something a plugin registered (an optimizer, problem, initializer, clipping
strategy, schedule or regularizer defined outside optbench's own packages) gets a ``code``
field: module name -> SHA-256 of its source file, for every plugin module of the grid and for
each module that defines a name the cell uses. The code enters the cell's key, so editing a
plugin gives its cells new keys: ``optbench run`` reruns them, and results of the old code
never mix with those of the new. Cells that use only built-in names have no ``code`` and keep
their keys. (A plugin that changes code it does not define, say by patching a built-in rule,
is not noticed.)
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import optimizers
import problems

BUILTIN_PACKAGES = ("optimizers", "problems", "bench")
DIGEST_LENGTH = 16  # hex digits of SHA-256 kept: plenty to tell two versions of a file apart


def _registries() -> dict[str, Any]:
    """Cell column -> the registry its names come from (axes registered later have none)."""
    return {
        "problem": problems,
        "optimizer": optimizers,
        "initializer": problems.initializers,
        "clip": optimizers.clipping,
        "schedule": optimizers.schedules,
        "regularizer": problems.regularizers,
    }


def is_builtin(module: str) -> bool:
    """Whether ``module`` belongs to optbench itself (optimizers, problems, bench)."""
    return module.split(".")[0] in BUILTIN_PACKAGES


def module_digest(module: str) -> str | None:
    """The SHA-256 (first ``DIGEST_LENGTH`` hex digits) of ``module``'s source file, as it is
    on disk now; None for a module without a readable file (defined interactively)."""
    path = getattr(sys.modules.get(module), "__file__", None)
    try:
        data = Path(path).read_bytes() if path else None
    except OSError:
        data = None
    return None if data is None else hashlib.sha256(data).hexdigest()[:DIGEST_LENGTH]


class CodeIdentity:
    """The ``code`` of each cell of one grid, with each module hashed once.

    Parameters
    ----------
    plugins
        The grid's plugin modules (already imported).
    """

    def __init__(self, plugins: Sequence[str]) -> None:
        self.plugins = tuple(plugins)
        self._registries = _registries()
        self._digests: dict[str, str | None] = {}
        self._modules: dict[tuple[str, str], str | None] = {}

    def _defining_module(self, column: str, name: str) -> str | None:
        """The module that defines ``name`` on axis ``column``, None when it is built in."""
        if (column, name) not in self._modules:
            try:
                entry = self._registries[column].get(name)
            except ValueError:  # not registered: validation reports it, not this
                entry = None
            module = getattr(entry, "__module__", None)
            self._modules[column, name] = None if module is None or is_builtin(module) else module
        return self._modules[column, name]

    def digest(self, module: str) -> str | None:
        if module not in self._digests:
            self._digests[module] = module_digest(module)
        return self._digests[module]

    def of(self, config: dict[str, Any]) -> dict[str, str | None] | None:
        """The ``code`` of a cell with configuration ``config`` (column -> name, ...): None when
        every name it uses is built in."""
        modules = {
            self._defining_module(column, config[column])
            for column in self._registries
            if isinstance(config.get(column), str)
        } - {None}
        if not modules:
            return None
        modules |= set(self.plugins)
        return {module: self.digest(module) for module in sorted(modules)}  # type: ignore[arg-type]


def changed_modules(old: dict[str, Any] | None, new: dict[str, Any] | None) -> list[str]:
    """The modules whose hash differs between two ``code`` values (or that only one has)."""
    old, new = old or {}, new or {}
    return sorted(m for m in set(old) | set(new) if old.get(m) != new.get(m))
