"""``optbench compare``: the regressions between two stores of the same grid, for CI gates."""

from __future__ import annotations

import argparse
import functools
import shutil
import sys
import textwrap

import pandas as pd

# Below this many columns the table switches to its narrow layout (at most 80 columns).
NARROW_BELOW = 100

HELP = "compare two stores of the same grid cell by cell; exit 1 on a regression"
EXIT_CODES = """\
exit codes:
  0    no regression found
  1    at least one regression (significant and above the threshold), or more errored runs;
       with --require-complete, also cells of BASE missing from CURRENT (an unfinished run)
  2    bad input: a missing or broken store, no cell in common, a bad option
"""
DESCRIPTION = (
    "Match the cells of BASE and CURRENT by configuration and compare, per cell, the final "
    "loss and the steps to each target (Mann-Whitney U over seeds, Holm-corrected), and per "
    "optimizer the optimization time per step when both stores come from the same machine. "
    "A regression is a change for the worse above --threshold that is also significant at "
    "--alpha. Exits 1 when there is a regression, so it can gate a pull request."
)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("base", help="the store of the reference run (e.g. main)")
    parser.add_argument("current", help="the store of the run to check (e.g. the pull request)")
    parser.add_argument(
        "--threshold",
        default="5%",
        help="smallest relative change of a median that counts, e.g. 5%% or 0.05 (default 5%%)",
    )
    parser.add_argument(
        "--alpha", type=float, default=0.05, help="family-wise error rate (default 0.05)"
    )
    parser.add_argument(
        "--format",
        choices=("table", "md", "csv", "json"),
        default="table",
        help="table (terminal, the default), md (pull-request comment), csv or json",
    )
    parser.add_argument(
        "--all", action="store_true", help="table/md: list every test, not only the changes"
    )
    parser.add_argument(
        "--no-time", action="store_true", help="do not compare optimization time per step"
    )
    parser.add_argument(
        "--require-complete",
        action="store_true",
        help="exit 1 when CURRENT lacks cells of BASE (a run that stopped early); without it "
        "they are left out with a note. Use it in CI",
    )


def parse_threshold(text: str) -> float:
    """``"5%"`` or ``"0.05"`` -> 0.05; a ValueError names the bad value."""
    value = text.strip()
    try:
        number = float(value[:-1]) / 100 if value.endswith("%") else float(value)
    except ValueError:
        raise ValueError(f"--threshold must be like 5% or 0.05, got {text!r}") from None
    if not 0 <= number < float("inf"):
        raise ValueError(f"--threshold must be a non-negative change, got {text!r}")
    return number


def narrow(wide: str, comparison, show_all: bool, width: int = 80) -> str:
    """The terminal table of ``compare`` within ``width`` columns: its sentences wrapped, and
    each row on two lines (what was compared; the medians, change and Holm p-value), the
    configuration on a third when there is one."""
    from bench.report.comparison import VERDICTS, value_text, verdict_text
    from bench.text import format_p

    head, _, rest = wide.partition("\n\n")  # the title and notes; the table; the count
    summary = rest.rpartition("\n\n")[2]
    if not rest.startswith("no change above"):  # the table's caption, before the count
        summary = rest.rsplit("\n\n", 2)[-2] + "\n\n" + summary
    wrap = functools.partial(textwrap.wrap, width=width, subsequent_indent="    ",
                             break_long_words=False, break_on_hyphens=False)  # fmt: skip
    lines = [out for line in head.splitlines() for out in wrap(line)] + [""]
    table = comparison.table
    shown = table if show_all else table[table["verdict"] != ""]
    rank = shown["verdict"].map({v: i for i, v in enumerate(VERDICTS)}).fillna(len(VERDICTS))
    shown = shown.assign(_rank=rank).sort_values(["_rank", "problem", "optimizer", "metric"])
    for row in shown.itertuples():
        verdict = verdict_text(row.verdict)
        lines += wrap(f"{verdict:<15} {row.problem}  {row.optimizer}  {row.metric}")
        change = "" if pd.isna(row.change) else f"{row.change:+.1%}".replace("inf%", "inf")
        before, after = value_text(row.metric, row.base), value_text(row.metric, row.current)
        numbers = f"{before} -> {after}  {change}"
        p = format_p(row.p_holm, missing="")
        lines += wrap(f"{'':15} {numbers}" + (f"  p {p}" if p else ""))
        if row.config:
            lines += wrap(f"{'':15} {row.config}", subsequent_indent=" " * 16)
    if shown.empty:
        lines.append(rest.partition("\n")[0])  # "no change above ..."
    for paragraph in summary.split("\n\n"):  # the caption, then the count
        lines += ["", *(out for line in paragraph.splitlines() for out in wrap(line))]
    return "\n".join(lines)


def execute(args: argparse.Namespace) -> int:
    from bench.analysis.regression import compare_stores
    from bench.errors import UsageError
    from bench.report.comparison import format_comparison

    try:
        threshold = parse_threshold(args.threshold)
    except ValueError as error:
        raise UsageError(str(error)) from None
    if not 0 < args.alpha < 1:
        raise UsageError(f"--alpha must be between 0 and 1, got {args.alpha}")
    try:
        comparison = compare_stores(
            args.base, args.current, threshold=threshold, alpha=args.alpha, times=not args.no_time
        )
    except ValueError as error:
        raise UsageError(str(error)) from None
    text = format_comparison(
        comparison, args.format, show_all=args.all, base=args.base, current=args.current
    )
    columns = shutil.get_terminal_size(fallback=(120, 24)).columns
    if args.format == "table" and columns < NARROW_BELOW:
        text = narrow(text, comparison, args.all, min(columns, 80))
    print(text)
    incomplete = args.require_complete and comparison.missing_cells > 0
    if incomplete:
        print(
            f"optbench compare: {comparison.missing_cells} of {comparison.base_cells} cells of "
            "the base are missing from the current store",
            file=sys.stderr,
        )
    return 1 if len(comparison.regressions) or incomplete else 0
