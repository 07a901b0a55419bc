"""``optbench demo``: every optimizer on an ill-conditioned quadratic, no store needed."""

from __future__ import annotations

import textwrap

HELP = "every optimizer on an ill-conditioned quadratic, as a table"
EXIT_CODES = """\
exit codes:
  0    the demo ran (whatever the losses)
  2    bad input: --steps or --runs below 1
  130  interrupted (Ctrl-C)
"""
DESCRIPTION = (
    "Run every registered optimizer on a 20-D quadratic (curvatures 1..10) and print the "
    "median and worst final loss over the seeds. Each optimizer runs at the learning rate the "
    "quick preset gives it (bench/grid/presets/quick.toml), its own default if the preset does "
    "not name it (a plugin's)."
)


def configure(parser) -> None:
    parser.add_argument("--steps", type=int, default=500, help="steps per run (default 500)")
    parser.add_argument("--runs", type=int, default=5, help="seeds per optimizer (default 5)")


def execute(args) -> int:
    from bench.errors import UsageError
    from bench.run import demo

    if args.steps < 1 or args.runs < 1:
        raise UsageError("--steps and --runs must be at least 1")
    print(textwrap.fill(demo.LR_NOTE, 80) + "\n")
    print(demo.format_table(demo.quadratic_demo(steps=args.steps, runs=args.runs)))
    return 0
