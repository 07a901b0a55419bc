"""The ``optbench`` command line."""

from __future__ import annotations

import argparse
import sys

from bench import demo


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="optbench",
        description="Benchmark NumPy optimizers on a zoo of problems: run grids, store every run, "
        "and compare them.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    quick = commands.add_parser(
        "demo",
        help="every optimizer on an ill-conditioned quadratic, as a table",
        description="Run every registered optimizer on a 20-D quadratic (curvatures 1..10) "
        "and print the median and worst final loss over the seeds.",
    )
    quick.add_argument("--steps", type=int, default=500, help="steps per run (default 500)")
    quick.add_argument("--runs", type=int, default=5, help="seeds per optimizer (default 5)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "demo":
        if args.steps < 1 or args.runs < 1:
            print("optbench demo: --steps and --runs must be at least 1", file=sys.stderr)
            return 2
        print(demo.format_table(demo.quadratic_demo(steps=args.steps, runs=args.runs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
