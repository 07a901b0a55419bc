"""``optbench export``: a store's tidy frames as CSV or Parquet files, with their provenance."""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

HELP = "write a store's runs, curves and experiments as CSV or Parquet files"
EXIT_CODES = """\
exit codes:
  0    the files were written
  2    bad input: a missing or broken store, an output file that already exists (nothing is
       overwritten), a disk that refused a write (no new file is left), or parquet without
       pyarrow installed
  130  interrupted (Ctrl-C); no partly written file is left
"""
DESCRIPTION = (
    "Write the tidy frames of a store (what bench.load and Store.experiments return) as "
    "runs, curves and experiments files, by default into a folder named after the store "
    "(results/quick.sqlite -> results/quick/). Runs and experiments carry provenance columns: "
    "machine.*, version.* and blas, recorded when each run started, and export.git_commit and "
    "export.git_dirty, the git commit of the current directory at export time (empty outside a "
    "git checkout; a store does not record the code that produced it). Curves carry "
    "experiment_id and run_id to join them. Existing files are never overwritten."
)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("store", help="a SQLite store written by optbench run")
    parser.add_argument(
        "--format",
        choices=("csv", "parquet"),
        default="csv",
        help="file format (default: csv); parquet needs pyarrow",
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="DIR",
        help="the folder to write into, created if needed (default: see above)",
    )


def execute(args: argparse.Namespace) -> int:
    from bench.errors import UsageError
    from bench.store.store import export

    if args.format == "parquet" and importlib.util.find_spec("pyarrow") is None:
        raise UsageError(
            "--format parquet needs pyarrow, which is not installed: pip install pyarrow "
            "(or use --format csv)"
        )
    store = Path(args.store)
    output = Path(args.output) if args.output else store.with_suffix("")
    if output == store:
        raise UsageError(f"{store}: give -o a folder (the store has no .sqlite suffix)")
    for file in export(store, output, args.format, overwrite=False):
        print(f"wrote {file}")
    return 0
