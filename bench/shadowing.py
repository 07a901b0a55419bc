"""A user's own ``problems/`` or ``optimizers/`` folder that would hide optbench's packages.

A project laid out with its own ``problems/`` or ``optimizers/`` folder is common. When that
folder is on the import path of a process that runs cells (the current directory, or the
grid's folder, where plugins are looked up), ``import problems`` can find it instead of
optbench's package, and every cell then fails with an ``AttributeError`` that only the store
shows. A folder without ``__init__.py`` does it too when optbench is installed in editable
mode: its import hook comes after the path search, which takes the folder as a namespace
package. So before anything runs, the import is simulated on the path a worker gets.
"""

from __future__ import annotations

import importlib.machinery
import os
import sys
from collections.abc import Sequence
from pathlib import Path

PACKAGES = ("problems", "optimizers")


def _resolved(path: str | os.PathLike) -> Path:
    return Path(path).resolve()


def optbench_package(name: str) -> Path:
    """Where optbench's own package ``name`` lives: beside ``bench``, as they are installed."""
    return _resolved(Path(__file__).parent.parent / name)


def shadowing(folders: Sequence[str | os.PathLike] = ()) -> str | None:
    """The one-line error for the first of optbench's packages that another folder (or module)
    would replace, on the import path ``[current directory, *sys.path, *folders]``; None when
    every package resolves to optbench's own."""
    entries = [os.getcwd(), *(entry or os.getcwd() for entry in sys.path), *map(str, folders)]
    for name in PACKAGES:
        ours = optbench_package(name)
        spec = importlib.machinery.PathFinder.find_spec(name, list(dict.fromkeys(entries)))
        if spec is None:
            continue
        found = [_resolved(p) for p in spec.submodule_search_locations or ()]
        if not found and spec.origin:
            found = [_resolved(spec.origin)]
        if found and ours not in found:
            return (
                f"{found[0]} shadows optbench's package {name!r} ({ours}): rename your folder "
                f"(to my_{name}/, say, and the plugin names that use it), or run optbench "
                "from another directory"
            )
    return None
