"""``optbench status``: what a store holds, and what a grid still needs."""

from __future__ import annotations

import argparse

HELP = "counts by status in a store, and what is left to run"
DESCRIPTION = "Counts of runs by status; with --grid, how many cells of that grid remain to run."


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("store", help="a SQLite store written by optbench run")
    parser.add_argument("--grid", help="a grid (preset or file) to compare the store with")


def execute(args: argparse.Namespace) -> int:
    from bench.grid import load_grid
    from bench.store.store import Store

    with Store(args.store, create=False, readonly=True) as store:
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
