"""``optbench run``: from a grid to a store, with a progress bar and a summary table."""

from __future__ import annotations

import argparse
import contextlib
import shutil
import sys
import tomllib
from collections import Counter
from pathlib import Path

from bench.commands.progress import Progress
from bench.errors import UsageError
from bench.grid.cell import Cell
from bench.paths import default_store
from bench.run.parallel import cpu_count

HELP = "run a grid (a preset or a TOML file) into a SQLite store"
EXIT_CODES = """\
exit codes:
  0    everything ran (diverged runs are results, not failures)
  1    some runs ended in 'error': a bug to fix; the next run retries them
  2    bad input: unknown name, out-of-range value, broken grid or store file, a --store
       folder that does not exist; or a store that is read-only, full, or in use by another
       run (cells stored before are kept)
  130  interrupted (Ctrl-C); finished cells are kept, rerun the same command to resume
  143  terminated (SIGTERM); as for Ctrl-C
"""
DESCRIPTION = (
    "Run every cell of a grid, in parallel, into a SQLite store (default "
    "results/<grid>.sqlite). Cells already in the store are skipped, so rerunning an "
    "interrupted command resumes it. Presets: quick (the default, about a minute), standard "
    "(learning-rate sweeps, minutes), full (every initializer, clipping and schedule)."
)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "grid",
        nargs="?",
        default="quick",
        help="a preset name or the path of a grid TOML file (default: quick)",
    )
    parser.add_argument(
        "--jobs",
        "-j",
        type=int,
        default=-1,
        help="worker processes; -1 (the default) uses every core",
    )
    parser.add_argument(
        "--backend", choices=("loky", "dask"), default="loky", help="joblib backend (default: loky)"
    )
    parser.add_argument(
        "--scheduler", metavar="ADDR", help="Dask scheduler address (--backend dask)"
    )
    parser.add_argument(
        "--store", metavar="PATH", help="the SQLite store (default results/<grid>.sqlite)"
    )
    parser.add_argument("--force", action="store_true", help="rerun cells already in the store")
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="print cell and run counts and a cost estimate, run nothing",
    )
    parser.add_argument(
        "--plugin",
        action="append",
        default=[],
        metavar="MODULE",
        help="import MODULE first (it registers optimizers or problems); repeatable",
    )
    parser.add_argument(
        "--yes", action="store_true", help="allow grids above the cell-count safety limit"
    )
    parser.add_argument(
        "--no-report",
        action="store_true",
        help="do not write the report at the end (default: results/<grid>/report.html and .md)",
    )


def workers(args: argparse.Namespace, cells: list[Cell]) -> int:
    """How many cells run at once on this machine: ``--jobs`` (-1: every core) loky workers,
    no more than there are cells; with Dask, the one cell whose cost this process measures."""
    if args.backend == "dask":
        return 1
    jobs = cpu_count() if args.jobs == -1 else args.jobs
    return max(1, min(jobs, len(cells)))


def execute(args: argparse.Namespace) -> int:
    """Validate everything, then run the missing cells and print the summary."""
    from bench.grid import MAX_CELLS, load_grid
    from bench.run.estimate import check_memory
    from bench.store.store import Store

    _check_options(args)
    _check_grid_folder(args)
    _check_plugins(args)  # one that exits, crashes or hangs at import must not take us with it
    spec = load_grid(args.grid, plugins=tuple(args.plugin))
    for warning in spec.warnings:
        print(f"optbench run: warning: {spec.source}: {warning}", file=sys.stderr)
    path = Path(args.store) if args.store else default_store(spec.name)
    _check_store_folder(path)
    count, runs = spec.count()
    if args.dry_run and count > MAX_CELLS and not args.yes:
        print(f"{count:,} cells, {runs:,} runs in the grid")
        print(f"more than the limit of {MAX_CELLS:,} cells: running it needs --yes")
        return 0
    cells = spec.cells(max_cells=None if args.yes else MAX_CELLS)
    _check_report_path(path, args)
    if args.dry_run:
        return dry_run(cells, path, args, spec)
    check_memory(spec, cells, workers(args, cells))
    with _scheduler(args) as scheduler, Store(path) as store:  # a bad scheduler: no store
        todo = cells if args.force else _missing(store, cells)
        _supersede_old_plugin_code(store, todo)
        if not todo:
            print(f"nothing to run: all {len(cells)} cells of {spec.name!r} are in {path}")
        else:
            if len(cells) > len(todo):
                print(f"resuming: {len(cells) - len(todo)} of {len(cells)} cells already in {path}")
                _warn_other_streams(store, path)
            _run_and_store(todo, store, spec, args, scheduler)
        runs = store.runs()
    runs = runs[runs["cell_key"].isin({cell.key for cell in cells})]
    errors = _print_outcome(runs, path)
    if not args.no_report and len(runs):
        from bench.report.figures.saving import stderr_progress
        from bench.report.writer import write_report

        print("writing the report (a line per figure on stderr)")
        html_path, md_path = write_report(path, progress=stderr_progress)
        print(f"report: {html_path}\n        {md_path}")
    return 1 if errors else 0


def _check_options(args: argparse.Namespace) -> None:
    if args.jobs == 0 or args.jobs < -1:
        raise UsageError(f"--jobs must be a positive number of workers or -1, got {args.jobs}")
    if args.backend == "dask" and not args.scheduler:
        raise UsageError("--backend dask needs --scheduler ADDRESS (e.g. tcp://127.0.0.1:8786)")
    if args.backend == "loky" and args.jobs > cpu_count():
        print(
            f"optbench run: warning: --jobs {args.jobs} is more than the {cpu_count()} cores "
            "this process may use; the workers will share them",
            file=sys.stderr,
        )


def _check_grid_folder(args: argparse.Namespace) -> None:
    """Refuse a grid whose folder (where its plugins are looked up) holds a ``problems/`` or
    ``optimizers/`` that would shadow optbench's (the current directory is checked at start)."""
    from bench.shadowing import shadowing

    grid = Path(args.grid)
    if grid.suffix == ".toml" and grid.is_file():
        message = shadowing([str(grid.parent.resolve())])
        if message:
            raise UsageError(message)


def _check_store_folder(store: Path) -> None:
    """Refuse a store in a folder that does not exist (a typo would otherwise become a new
    directory tree), except the default results folder, made on first use."""
    folder = store.parent
    if folder.is_dir() or folder.resolve() == default_store("grid").parent.resolve():
        return
    if folder.exists():
        raise UsageError(f"{store}: {folder} is a file, not a folder; choose another --store")
    raise UsageError(
        f"{store}: the folder {folder} does not exist: create it (mkdir -p {folder}) or choose "
        "another --store"
    )


def _check_report_path(store: Path, args: argparse.Namespace) -> None:
    """Refuse a store whose report folder (the store path without its suffix) cannot be made:
    the store itself (``--store nosuffix``) or an existing file."""
    if args.no_report:
        return
    folder = store.with_suffix("")  # bench.report.writer.default_output
    if folder == store or (folder.exists() and not folder.is_dir()):
        what = "the store itself" if folder == store else "an existing file"
        raise UsageError(
            f"{store}: the report would be written into {folder}/, but that is {what}: give "
            "the store a suffix (--store results/NAME.sqlite), or pass --no-report"
        )


def _check_plugins(args: argparse.Namespace) -> None:
    """Import the plugins named by ``--plugin`` and by the grid file in a checked child process.

    Only the names are read here (validation is :func:`bench.grid.load_grid`'s); a module next
    to the grid file is found as the grid finds it.
    """
    from bench.run.parallel import check_plugins

    path, named, paths = Path(args.grid), [], tuple(sys.path)
    if path.suffix == ".toml" and path.is_file():
        # a bad file is load_grid's to report; tomllib recurses once per nested list
        errors = (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError)
        with contextlib.suppress(*errors):
            text = path.read_text(encoding="utf-8").removeprefix("\ufeff")
            value = tomllib.loads(text).get("plugins", [])
            named = [m for m in value if isinstance(m, str)] if isinstance(value, list) else []
        paths += (str(path.parent.resolve()),)
    check_plugins(tuple(dict.fromkeys([*named, *args.plugin])), paths)


def _scheduler(args: argparse.Namespace):
    """The connected Dask client (a context manager that closes it), or ``nullcontext()``."""
    from bench.run.parallel import connect

    return connect(args.scheduler) if args.backend == "dask" else contextlib.nullcontext()


def _warn_other_streams(store, path: Path) -> None:
    """Say so when the stored runs drew their batches and noise with another scheme: seed k of a
    new cell is then not paired with seed k of a stored one."""
    from bench.grid.cell import RANDOM_STREAMS

    schemes = store.experiments().get("version.random_streams")
    older = [] if schemes is None else sorted(set(schemes.fillna("none")) - {RANDOM_STREAMS})
    if older:
        print(
            f"optbench run: warning: {path} holds runs drawn with random streams "
            f"{', '.join(older)}, this version draws {RANDOM_STREAMS}: new and stored seeds are "
            "not paired (the report says so); use a new --store to keep them paired",
            file=sys.stderr,
        )


def _missing(store, cells: list[Cell]) -> list[Cell]:
    """The seeds still to run: those not stored, and those that ended in ``error``. An error is a
    bug to fix (in a plugin, say) or a worker killed from outside, never a result to keep, so
    the next run retries it; diverged and timed-out runs are results and stay."""
    return store.missing(cells, retry=("error",))


def _supersede_old_plugin_code(store, todo: list[Cell]) -> None:
    """Say which cells rerun because a plugin changed, and delete their runs of the old code."""
    from bench.store import provenance

    stale = provenance.superseded(store, todo)
    if stale:
        print(provenance.describe_changes(stale))
        provenance.drop_superseded(store, stale)


def _run_and_store(todo: list[Cell], store, spec, args: argparse.Namespace, scheduler) -> None:
    """Run ``todo`` (the biggest cells first) and write each result as it arrives."""
    from bench.run.estimate import cell_costs
    from bench.run.parallel import run_cells
    from bench.store.store import StoreError

    costs = cell_costs(todo)
    order = sorted(range(len(todo)), key=lambda i: -costs[i])
    experiment = store.start_experiment(spec.name, spec.text)
    progress = Progress([todo[i] for i in order], [costs[i] for i in order])
    results = run_cells(
        [todo[i] for i in order],
        jobs=args.jobs,
        backend=args.backend,
        scheduler=scheduler,
        plugins=spec.plugins,
    )
    try:
        for result in results:
            try:
                store.write(result, experiment)
            except StoreError as error:
                raise StoreError(
                    f"{error}; the cells stored before it are kept: fix the cause, then "
                    "rerun the same command to resume"
                ) from error
            progress.update(result)
    finally:
        results.close()
        progress.close()


def _print_outcome(runs, path: Path) -> int:
    """Print the summary table and the status counts; return the number of error runs."""
    from bench.analysis.summary import format_summary

    print(format_summary(runs, width=shutil.get_terminal_size(fallback=(120, 24)).columns))
    errors = int((runs["status"] == "error").sum())
    counts = runs["status"].value_counts().to_dict()
    print(
        f"\n{len(runs)} runs in {path}: "
        + ", ".join(f"{counts.get(s, 0)} {s}" for s in ("done", "diverged", "error", "timeout"))
    )
    if errors:
        print(f"{errors} runs ended in error; the next optbench run retries them. Their errors:")
        print(_distinct_errors(runs.loc[runs["status"] == "error", "error"]))
        print(f"full tracebacks: the 'error' column of {path}")
    return errors


def _distinct_errors(errors, shown: int = 5) -> str:
    """The last line of each distinct traceback, most frequent first, with its count."""
    last_lines = [(text or "").strip().splitlines() or ["(no message)"] for text in errors]
    counts = Counter(lines[-1].strip() for lines in last_lines).most_common()
    out = [f"  {count} x {line}" for line, count in counts[:shown]]
    if len(counts) > shown:
        out.append(f"  ... and {len(counts) - shown} other distinct errors")
    return "\n".join(out)


def dry_run(cells: list[Cell], path: Path, args: argparse.Namespace, spec) -> int:
    """Print what would run, its memory and a rough cost, touching no store.

    The memory is estimated from the sizes alone; a grid that cannot fit is refused (exit 2)
    before the cost is measured, since measuring allocates each problem's parameters.
    """
    from bench.grid import GridError
    from bench.grid.footprint import human
    from bench.run.estimate import cell_bytes, check_memory
    from bench.store.store import Store

    todo = cells
    if path.exists() and not args.force:
        from bench.store import provenance

        with Store(path, create=False, readonly=True) as store:
            todo = _missing(store, cells)
            stale = provenance.superseded(store, todo)
        if stale:
            print(provenance.describe_changes(stale))
    runs = sum(len(c.seeds) for c in todo)
    jobs = workers(args, todo)
    print(f"{len(cells)} cells, {sum(len(c.seeds) for c in cells)} runs in the grid")
    print(f"{len(todo)} cells ({runs} runs) to run; {len(cells) - len(todo)} already in {path}")
    if args.backend == "loky":
        inline = args.jobs == 1 and all(cell.timeout is None for cell in todo)
        where = "in this process" if inline else f"on {jobs} worker processes"
        print(f"cells run {where} (--jobs {args.jobs}, {cpu_count()} cores)")
    if todo:
        largest = human(max(cell_bytes(cell) for cell in todo))
        try:
            needed, memory = check_memory(spec, todo, jobs)
        except GridError:
            print(f"memory: about {largest} for the largest cell: too much (see below)")
            raise
        total = human(memory) if memory else "unknown"
        print(f"memory: about {largest} for the largest cell, {human(needed)} for {jobs} at "
              f"once with their processes, of {total}")  # fmt: skip
    if todo:
        print(_time_estimate(todo, args, jobs))
    return 0


def _time_estimate(todo: list[Cell], args: argparse.Namespace, jobs: int) -> str:
    """The cells' time, calibrated on a few sampled cells run here, shortened (two lines)."""
    from bench.run.estimate import PROBES, duration, estimate_seconds, setting
    from bench.text import counted

    cpu, wall = estimate_seconds(todo, jobs)
    settings = len({setting(cell) for cell in todo})
    probes = sum(min(PROBES, n) for n in Counter(setting(cell) for cell in todo).values())
    basis = f"calibrated on {counted(probes, 'sampled cell')} of "
    basis += counted(settings, "problem setting")
    if args.backend == "dask":
        where = f"about {duration(cpu)} of work for the Dask workers"
    else:
        where = f"about {duration(wall)} on {jobs} worker{'s' if jobs > 1 else ''}"
        where += f" ({duration(cpu)} of work)" if jobs > 1 else ""
    return f"estimated time: {where}\n  ({basis}; start-up, summary and report not included)"
