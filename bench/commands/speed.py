"""``optbench speed``: run the speed suite (pytest-benchmark), save it, compare with a saved run."""

from __future__ import annotations

import sys

HELP = "time the optimizers, problems and harness; save runs and catch slowdowns"
EXIT_CODES = """\
exit codes:
  0    the suite ran, and with --compare no regression was confirmed
  1    a confirmed regression (slower beyond --threshold and significant), or a failed suite
  2    bad input: a bad --threshold, --max-time or --processes, an unknown saved run
  130  interrupted (Ctrl-C)
"""
DESCRIPTION = (
    "Run the speed suite (bench/speed/suite, pytest-benchmark): every optimizer's step at 10^3, "
    "10^5 and 10^6 float32 parameters and on 1,000 stacked 2-D runs, every problem's "
    "loss_and_grad, one tiny engine cell and the store's writes. --save keeps the rounds in "
    "pytest-benchmark's storage; --compare judges this run against a saved one the way asv "
    "does: a benchmark regressed when its median time and its median ratio to a control memory "
    "copy measured alongside it both grew by more than the threshold and Mann-Whitney U tests "
    "over the rounds say so (p < 0.05). Rounds the scheduler interrupted are left out, and "
    "every change found is timed again and kept only if it shows again. Exits 1 on a "
    "regression or a failed suite, 0 otherwise."
)


def configure(parser) -> None:
    parser.add_argument("--save", metavar="NAME", help="save this run as NAME")
    parser.add_argument(
        "--compare",
        metavar="NAME",
        help="compare this run with the newest run saved as NAME (or a counter, or a JSON path)",
    )
    parser.add_argument(
        "--threshold",
        default="10%",
        help="the slowdown that counts, e.g. 10%% or 0.1 (default 10%%)",
    )
    parser.add_argument(
        "--storage",
        default=".benchmarks",
        metavar="DIR",
        help="pytest-benchmark's storage folder (default .benchmarks, as pytest-benchmark's)",
    )
    parser.add_argument(
        "-k", dest="keyword", metavar="EXPR", help="only benchmarks matching EXPR (pytest -k)"
    )
    parser.add_argument(
        "--max-time",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="time budget per benchmark, shared by the processes (default 1.0)",
    )
    parser.add_argument(
        "--processes",
        type=int,
        default=2,
        metavar="N",
        help="run the suite in N processes one after the other and pool their rounds, as asv "
        "does (default 2)",
    )
    parser.add_argument(
        "--plugin",
        action="append",
        default=[],
        metavar="MODULE",
        help="import MODULE first, so the optimizers and problems it registers are timed too",
    )
    parser.add_argument("--verbose", action="store_true", help="show pytest's own output and table")


def execute(args) -> int:
    from bench.errors import UsageError
    from bench.speed.compare import CHANGED, compare, confirm, parse_threshold
    from bench.speed.errors import SpeedError
    from bench.speed.formatting import format_changes, format_run
    from bench.speed.runner import keyword_for, run_suite
    from bench.speed.saved import find_saved, load_run

    try:
        threshold = parse_threshold(args.threshold)
        baseline_path = find_saved(args.storage, args.compare) if args.compare else None
        baseline = load_run(baseline_path) if baseline_path else None
    except SpeedError as error:
        raise UsageError(str(error)) from None
    if args.max_time <= 0 or args.processes < 1:
        raise UsageError("--max-time must be positive and --processes at least 1")
    print("running the speed suite (bench/speed/suite)...", file=sys.stderr, flush=True)
    options = {
        "storage": args.storage,
        "keyword": args.keyword,
        "plugins": tuple(args.plugin),
        "processes": args.processes,
        "max_time": args.max_time,
        "echo": args.verbose,
        "progress": None if args.verbose else _progress,  # a line per benchmark on stderr
    }
    try:
        run = run_suite(save=args.save, **options)
    except SpeedError as error:
        print(f"optbench speed: {error}", file=sys.stderr)
        return 1
    print(format_run(run))
    if args.save:
        print(f"\nsaved as {args.save!r} in {args.storage}")
    if baseline is None:
        return 0
    if args.keyword:  # benchmarks left out by -k are not "gone"
        baseline = {name: bench for name, bench in baseline.items() if name in run}
    changes = compare(baseline, run, threshold)
    flagged = [c.name for c in changes if c.verdict in CHANGED]
    if flagged:  # a change of the code shows again; a neighbour's busy minute rarely does
        print(f"timing {len(flagged)} changed benchmark(s) again to confirm...", file=sys.stderr)
        try:
            again = run_suite(**{**options, "keyword": keyword_for(flagged)})
        except SpeedError as error:
            print(f"optbench speed: {error}", file=sys.stderr)
            return 1
        again = {name: again[name] for name in flagged if name in again}
        recheck = compare({name: baseline[name] for name in flagged}, again, threshold)
        changes = confirm(changes, recheck)
    print(f"\ncompared with {baseline_path}:")
    print(format_changes(changes, threshold))
    return 1 if any(c.verdict == "regression" for c in changes) else 0


def _progress(line: str) -> None:
    print(f"  {line}", file=sys.stderr, flush=True)
