"""``optbench demo``: every optimizer on an ill-conditioned quadratic, no store needed."""

from __future__ import annotations

HELP = "every optimizer on an ill-conditioned quadratic, as a table"
DESCRIPTION = (
    "Run every registered optimizer on a 20-D quadratic (curvatures 1..10) and print the "
    "median and worst final loss over the seeds."
)


def configure(parser) -> None:
    parser.add_argument("--steps", type=int, default=500, help="steps per run (default 500)")
    parser.add_argument("--runs", type=int, default=5, help="seeds per optimizer (default 5)")


def execute(args) -> int:
    from bench.errors import UsageError
    from bench.run import demo

    if args.steps < 1 or args.runs < 1:
        raise UsageError("--steps and --runs must be at least 1")
    print(demo.format_table(demo.quadratic_demo(steps=args.steps, runs=args.runs)))
    return 0
