"""``optbench status``: what a store holds, and what a grid still needs."""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.errors import UsageError

HELP = "counts by status in a store, and what is left to run"
EXIT_CODES = """\
exit codes:
  0    the counts were printed
  2    bad input: a missing or broken store, a bad --grid
  130  interrupted (Ctrl-C)
"""
DESCRIPTION = "Counts of runs by status; with --grid, how many cells of that grid remain to run."


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("store", help="a SQLite store written by optbench run")
    parser.add_argument("--grid", help="a grid (preset or file) to compare the store with")


def existing_store(path: str) -> Path:
    """``path`` if it exists, else a :class:`UsageError` that suggests ``path.sqlite`` when that
    exists (``optbench report results/quick`` for ``results/quick.sqlite``)."""
    store = Path(path)
    if store.exists():
        return store
    guess = store.with_name(store.name + ".sqlite")
    hint = (
        f" (did you mean {str(guess)!r}?)" if store.suffix != ".sqlite" and guess.exists() else ""
    )
    raise UsageError(f"{path}: no such store{hint}")


def execute(args: argparse.Namespace) -> int:
    from bench.grid import load_grid
    from bench.store.store import Store

    with Store(existing_store(args.store), create=False, readonly=True) as store:
        counts = store.status_counts()
        print(f"{args.store}: {sum(counts.values())} runs")
        for status, count in counts.items():
            print(f"  {status:<9} {count}")
        if args.grid:
            cells = load_grid(args.grid).cells(max_cells=None)
            todo = store.missing(cells)
            runs = sum(len(c.seeds) for c in todo)
            print(f"left to run for {args.grid}: {len(todo)} of {len(cells)} cells ({runs} runs)")
    return 0
