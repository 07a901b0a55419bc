"""``optbench merge``: stores from several machines combined into one new store."""

from __future__ import annotations

import argparse

HELP = "combine stores (from several machines, say) into one new store"
EXIT_CODES = """\
exit codes:
  0    the merged store was written
  2    bad input: a missing or broken store, a store given twice, an output that already
       exists, or a run (cell and seed) with different numbers in two stores; nothing is
       written then
  130  interrupted (Ctrl-C); no output file is left
"""
DESCRIPTION = (
    "Combine two or more stores into a new one. Every experiment is kept (with a new id). "
    "A run stored in several inputs (same cell key and seed) with the same numbers (every "
    "result and configuration column; timings and the last line of an error's traceback "
    "aside) is kept once, from the first store given that holds it. The same run with "
    "different numbers is a conflict: the merge is refused and nothing is written. Targets, "
    "curves and ladders follow their runs. The inputs are only read; OUTPUT must not exist."
)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("stores", nargs="+", metavar="STORE", help="stores to combine, in order")
    parser.add_argument("-o", "--output", required=True, help="the new store (never overwritten)")


def execute(args: argparse.Namespace) -> int:
    from bench.errors import UsageError
    from bench.store.merging import merge_stores

    if len(args.stores) < 2:
        raise UsageError("merge needs two or more stores (to copy one: optbench copy)")
    summary = merge_stores(args.stores, args.output)
    dropped = summary.duplicates
    print(
        f"merged {summary.stores} stores -> {args.output}: {summary.experiments} experiments, "
        f"{summary.runs} runs ({dropped} duplicate run{'s' * (dropped != 1)} dropped: same "
        "numbers as a run of an earlier store)"
    )
    return 0
