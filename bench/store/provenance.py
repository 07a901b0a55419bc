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


def _older_code(store, cell: Cell) -> list[tuple[str, dict | None]]:
    """(cell key, code) of the runs stored for ``cell``'s configuration under other code."""
    row = cell_row(cell)
    where = " AND ".join(f"{column} IS ?" for column in row)  # IS: NULL matches NULL
    columns = {info[1] for info in store._conn.execute("PRAGMA table_info(runs)")}
    code = "code" if "code" in columns else "NULL"  # a store from before the column, read-only
    query = f"SELECT DISTINCT cell_key, {code} FROM runs WHERE cell_key != ? AND {where}"
    found = store._conn.execute(query, (cell.key, *row.values())).fetchall()
    return [(key, None if code is None else json.loads(code)) for key, code in found]


def superseded(store, cells: Iterable[Cell]) -> dict[str, tuple[list[str], list[str]]]:
    """The cells of ``cells`` (using plugins) whose configuration is stored under other code.

    Returns
    -------
    dict
        Cell key -> (the plugin modules whose source changed, the stored cell keys of the old
        code). Cells with nothing older stored are absent.
    """
    stale = {}
    for cell in cells:
        if cell.code is None:
            continue
        older = _older_code(store, cell)
        if older:
            modules = sorted({m for _, code in older for m in changed_modules(code, cell.code)})
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
