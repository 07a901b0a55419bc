"""Runs stored under older plugin code: found, named, and superseded.

A cell that uses a plugin carries the hashes of the plugin's source (``Cell.code``, see
:mod:`bench.grid.code`) in its key, and each stored run records them in the ``code`` column.
When a plugin is edited its cells get new keys, so ``optbench run`` runs them again; the runs of
the same configurations under the old code are then found here (same configuration columns,
another key), named by the modules that changed, and deleted before the new ones are written, so
that results of old and new code never sit side by side in a store or a report.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from bench.grid.cell import Cell
from bench.grid.code import changed_modules
from bench.store.rows import cell_row


def _stored_configurations(store, columns: list[str]) -> dict[tuple, set[tuple[str, str | None]]]:
    """Configuration (the values of ``columns``) -> the (cell key, code) stored for it, in one
    pass over the runs."""
    have = {info[1] for info in store._conn.execute("PRAGMA table_info(runs)")}
    code = "code" if "code" in have else "NULL"  # a store from before the column, read-only
    query = f"SELECT DISTINCT cell_key, {code}, {', '.join(columns)} FROM runs"
    stored: dict[tuple, set[tuple[str, str | None]]] = {}
    for key, text, *values in store._conn.execute(query):
        stored.setdefault(tuple(values), set()).add((key, text))
    return stored


def superseded(store, cells: Iterable[Cell]) -> dict[str, tuple[list[str], list[str]]]:
    """The cells of ``cells`` (using plugins) whose configuration is stored under other code.

    Returns
    -------
    dict
        Cell key -> (the plugin modules whose source changed, the stored cell keys of the old
        code). Cells with nothing older stored are absent.
    """
    plugged = [cell for cell in cells if cell.code is not None]
    if not plugged:  # built-in names only: nothing to read
        return {}
    columns = list(cell_row(plugged[0]))  # names from code, never from data
    stored = _stored_configurations(store, columns)
    stale = {}
    for cell in plugged:
        row = cell_row(cell)
        older = [(k, code) for k, code in stored.get(tuple(row.values()), ()) if k != cell.key]
        if older:
            codes = [None if code is None else json.loads(code) for _, code in older]
            modules = sorted({m for code in codes for m in changed_modules(code, cell.code)})
            stale[cell.key] = (modules, sorted(key for key, _ in older))
    return stale


def describe_changes(stale: dict[str, tuple[list[str], list[str]]]) -> str:
    """``rerunning 3 cells: plugin my_optimizers changed`` (one line)."""
    modules = sorted({m for changed, _ in stale.values() for m in changed})
    cells = f"{len(stale)} cell{'s' if len(stale) != 1 else ''}"
    if not modules:  # same hashes, another key: the code of a module without a file
        return f"rerunning {cells}: their plugin code is not the code stored"
    plugins = "plugin" if len(modules) == 1 else "plugins"
    return f"rerunning {cells}: {plugins} {', '.join(modules)} changed"


def drop_superseded(store, stale: dict[str, tuple[list[str], list[str]]]) -> int:
    """Delete the runs of the old code (their targets and curves go with them), in one
    transaction; return how many runs were deleted."""
    keys = [(key,) for key in sorted({key for _, old in stale.values() for key in old})]
    with store.writing() as conn:
        count = "SELECT count(*) FROM runs WHERE cell_key = ?"
        deleted = sum(conn.execute(count, key).fetchone()[0] for key in keys)
        conn.executemany("DELETE FROM runs WHERE cell_key = ?", keys)
    return deleted
