"""The ``optbench`` command line: run grids, list what exists, inspect a store."""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
from pathlib import Path

from bench import demo

EXIT_CODES = """\
exit codes:
  0    everything ran (diverged runs are results, not failures)
  1    some runs ended in 'error' (tracebacks are in the store)
  2    bad input: unknown name, out-of-range value, broken grid or store file
  130  interrupted (Ctrl-C); finished cells are kept, rerun the same command to resume
"""


class Formatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Keep hand-wrapped epilogs and show defaults."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="optbench",
        description="Benchmark NumPy optimizers on a zoo of problems: run grids of optimizer x "
        "problem x initializer x clipping x schedule x regularizer, store every run in SQLite, "
        "and compare them.",
        epilog=EXIT_CODES,
        formatter_class=Formatter,
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    run = commands.add_parser(
        "run",
        help="run a grid (a preset or a TOML file) into a SQLite store",
        description="Run every cell of a grid, in parallel, into a SQLite store. Cells already "
        "in the store are skipped, so rerunning an interrupted command resumes it.",
        epilog=EXIT_CODES,
        formatter_class=Formatter,
    )
    run.add_argument(
        "grid",
        nargs="?",
        default="quick",
        help="a preset (quick, standard, full) or the path of a grid TOML file",
    )
    run.add_argument("--jobs", "-j", type=int, default=-1, help="worker processes; -1: all cores")
    run.add_argument("--backend", choices=("loky", "dask"), default="loky", help="joblib backend")
    run.add_argument(
        "--scheduler", metavar="ADDR", help="Dask scheduler address (with --backend dask)"
    )
    run.add_argument("--store", metavar="PATH", help="SQLite store (default results/<grid>.sqlite)")
    run.add_argument("--force", action="store_true", help="rerun cells already in the store")
    run.add_argument(
        "--dry-run", action="store_true", help="print the cell and run counts and a cost estimate"
    )
    run.add_argument(
        "--plugin",
        action="append",
        default=[],
        metavar="MODULE",
        help="import MODULE first (it registers optimizers or problems); repeatable",
    )
    run.add_argument(
        "--yes", action="store_true", help="allow grids larger than the safety limit of cells"
    )

    commands.add_parser(
        "list",
        help="list optimizers, problems, initializers, clipping, schedules, regularizers",
        description="Everything a grid can name, with hyperparameters and their defaults.",
    ).add_argument("--plugin", action="append", default=[], metavar="MODULE")

    status = commands.add_parser(
        "status",
        help="counts by status in a store, and what is left to run",
        description="Counts of runs by status; with --grid, how many cells of that grid remain.",
    )
    status.add_argument("store", help="a SQLite store written by optbench run")
    status.add_argument("--grid", help="the grid (preset or file) to compare the store with")

    quick = commands.add_parser(
        "demo",
        help="every optimizer on an ill-conditioned quadratic, as a table",
        description="Run every registered optimizer on a 20-D quadratic (curvatures 1..10) "
        "and print the median and worst final loss over the seeds.",
        formatter_class=Formatter,
    )
    quick.add_argument("--steps", type=int, default=500, help="steps per run")
    quick.add_argument("--runs", type=int, default=5, help="seeds per optimizer")
    return parser


class UsageError(Exception):
    """Bad input found by the CLI itself: printed as one line, exit code 2."""


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from bench.grid import GridError
    from bench.store import StoreError

    try:
        if args.command == "run":
            from bench.run import run_command

            return run_command(args)
        if args.command == "list":
            from bench.listing import list_everything

            try:
                print(list_everything(tuple(args.plugin)))
            except ValueError as error:
                raise UsageError(str(error)) from None
            return 0
        if args.command == "status":
            from bench.run import status_command

            return status_command(args)
        if args.steps < 1 or args.runs < 1:
            raise UsageError("--steps and --runs must be at least 1")
        print(demo.format_table(demo.quadratic_demo(steps=args.steps, runs=args.runs)))
        return 0
    except (GridError, StoreError, UsageError) as error:
        message = " ".join(str(error).split())
        print(f"optbench {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            textwrap.dedent(
                f"""\
                optbench {args.command}: interrupted; finished cells are saved in the store.
                Resume with the same command: {" ".join(["optbench", *(argv or sys.argv[1:])])}"""
            ),
            file=sys.stderr,
        )
        return 130


def default_store(grid_name: str) -> Path:
    """``results/<grid name>.sqlite`` under the current directory (or $OPTBENCH_RESULTS)."""
    return Path(os.environ.get("OPTBENCH_RESULTS", "results")) / f"{grid_name}.sqlite"


if __name__ == "__main__":
    sys.exit(main())
