"""``optbench copy``: a store as one complete file, safe to upload or archive."""

from __future__ import annotations

import argparse

HELP = "copy a store into one complete .sqlite file (safe while a run writes it)"
EXIT_CODES = """\
exit codes:
  0    the copy was written
  2    bad input: a missing or broken store, a DEST that exists or cannot be written
  130  interrupted (Ctrl-C)
"""
DESCRIPTION = (
    "Copy a store, including the changes still in its -wal file, into one new self-contained "
    "file with SQLite's backup API. Use it instead of cp when uploading a store as a CI "
    "artifact or archiving it. DEST must not exist."
)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("store", help="a SQLite store written by optbench run")
    parser.add_argument("dest", help="the new file (never overwritten)")


def execute(args: argparse.Namespace) -> int:
    from bench.store.copying import copy_store

    dest = copy_store(args.store, args.dest)
    print(f"copied {args.store} -> {dest}")
    return 0
