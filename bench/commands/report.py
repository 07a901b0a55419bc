"""``optbench report``: the HTML and Markdown comparison report of a store."""

from __future__ import annotations

import argparse
import sys

HELP = "write the comparison report (report.html, report.md and figures) of a store"
EXIT_CODES = """\
exit codes:
  0    the report was written
  2    bad input: a missing or broken store, a store with no runs, an output folder that
       cannot be written (a previous report is left intact)
  130  interrupted (Ctrl-C); files already replaced are complete, the rest are the old ones
"""
DESCRIPTION = (
    "Analyse every run of a store and write a self-contained report.html (interactive "
    "figures, plotly.js embedded, nothing fetched from the network) and a GitHub-friendly "
    "report.md with its PNGs (--format svg or pdf exports every figure for papers too), by "
    "default into a folder named after the store (results/quick.sqlite -> results/quick/)."
)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("store", help="a SQLite store written by optbench run")
    parser.add_argument(
        "-o",
        "--output",
        metavar="DIR",
        help="the folder to write into, created if needed (default: see above); each file "
        "is replaced whole, so an interrupted report leaves the previous one intact",
    )
    parser.add_argument(
        "--criterion",
        choices=("final_train_loss", "test_loss"),
        default="final_train_loss",
        help="how each optimizer's configuration is tuned: median final training loss "
        "(default) or median final test loss (classification problems)",
    )
    parser.add_argument(
        "--format",
        choices=("png", "svg", "pdf"),
        default="png",
        help="also export every figure in this format beside its PNG, for papers (default: "
        "png only; report.md links the PNGs, report.html embeds them or draws the figure "
        "interactively)",
    )


def execute(args: argparse.Namespace) -> int:
    from bench.commands.status import existing_store
    from bench.errors import UsageError
    from bench.report.figures.saving import stderr_progress
    from bench.report.writer import write_report

    existing_store(args.store)
    try:
        html_path, md_path = write_report(
            args.store,
            args.output,
            args.criterion,
            progress=stderr_progress,
            figure_format=args.format,
        )
    except ValueError as error:
        raise UsageError(str(error)) from None
    print(f"report: {html_path}\n        {md_path}", file=sys.stdout)
    return 0
