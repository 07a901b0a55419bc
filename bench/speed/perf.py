"""The performance targets, each printed as a ratio of two timings taken side by side in one run.

``python -m bench.speed.perf`` prints the machine, the BLAS library, its kernel and thread counts,
then one row per target with PASS or MISS. Seconds on their own mean little on a shared machine; a
ratio to a floor measured a moment earlier or later on the same machine means much more, so every
candidate of a row is timed in turn, round-robin, ``--repeats`` times, and each row reports the
median of its candidates' repeats (the ratio is median over median).

Floors
------
copy floor
    An update rule must read and write certain arrays of N elements: Adam reads p, g, m and v and
    writes p, m and v, 7 arrays. Its floor is one ``np.copyto(dst, src)`` with ``src`` and ``dst``
    of ``arrays * N / 2`` elements each (3.5 N for Adam), which reads and writes exactly that
    many bytes. A copy to a separate buffer is dearer per byte than updating in place (the
    destination's cache lines are fetched or streamed; in-place updates write back lines they
    already hold), so an in-place rule can approach or pass 1x; torch's fused Adam does.
matmul floor
    The MLP epoch against the same-shape forward and backward matmuls alone, on the same batches;
    Muon's and SOAP's steps against their Newton–Schulz matmuls, or their rotations, outer
    products and QR, alone (:mod:`bench.speed.matrix_targets`, which says why).
one run
    R stacked runs against one run of the same step, or of the same engine cell.
sampling
    Drawing every run's minibatch from the counter-based streams against the per-run loop they
    replaced, and the loops over runs that remain against 5% of a step
    (:mod:`bench.speed.sampling`).

The optimizer rows run NumPy's single-threaded ufuncs and torch with one thread; the MLP row
holds every BLAS pool to one thread (``threadpoolctl.threadpool_limits(1)``). Nothing here
changes ``OPENBLAS_CORETYPE``: it is reported as found.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

from bench.run.parallel import cpu_count
from bench.speed.matrix_targets import matrix_rows
from bench.speed.runs import runs_rows
from bench.speed.sampling import sampling_rows
from bench.speed.targets import Row, engine_row, mlp_row, stacked_row, step_rows
from bench.store.machine import blas_info, machine_info, package_versions
from bench.text import format_seconds

SECTIONS = ("steps", "matrix", "mlp", "stacked", "engine", "runs", "sampling")
COPY_NOTE = "1 thread; floor = np.copyto of the arrays moved"


def describe_machine() -> list[str]:
    """Lines naming the CPU, the BLAS library and kernel, thread counts and versions, as
    :mod:`bench.store.machine` records them for every experiment."""
    host = machine_info()
    model = cpu_model() or host["processor"] or host["machine"]
    cpus = f"{host['cpu_count']} logical CPUs ({cpu_count()} usable)"
    lines = [f"machine: {model}, {cpus}, {host['platform']}"]
    for pool in blas_info():
        info = {key: pool.get(key, "?") for key in ("user_api", "internal_api", "version")}
        lines.append(
            f"{info['user_api']}: {info['internal_api']} {info['version']}"
            f" ({pool.get('prefix', '?')}), kernel {pool.get('architecture', '?')}, "
            f"{pool.get('num_threads', '?')} threads by default"
        )
    lines.append(f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}")
    versions = package_versions()
    described = [f"Python {versions['python']}", f"NumPy {versions['numpy']}"]
    try:
        import torch

        described.append(
            f"torch {torch.__version__} ({torch.get_num_threads()} threads by default)"
        )
    except ImportError:
        described.append("torch not installed (no torch columns)")
    lines.append(", ".join(described))
    lines.append(
        "threads while timing: 1 for the optimizer and MLP rows (NumPy ufuncs are single-threaded;"
        " BLAS pools and torch are held to 1); the default for the stacked and engine rows"
    )
    return lines


def cpu_model() -> str | None:
    """The CPU's model name from ``/proc/cpuinfo`` (Linux), or None."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            return next(line.split(":", 1)[1].strip() for line in cpuinfo if "model name" in line)
    except (OSError, StopIteration):
        return None


def format_rows(title: str, rows: list[Row]) -> list[str]:
    """A titled table: time, floor, ratio, target and PASS/MISS, then each row's side ratios."""
    extras = list(dict.fromkeys(k for row in rows for k in row.extra))
    width = max(len(row.what) for row in rows)
    head = f"  {'':<{width}}  {'time':>9}  {'floor':>9}  {'ratio':>6}  {'target':>7}  result"
    head += "".join(f"  {k:>{max(len(k), 6)}}" for k in extras)
    lines = [title, head]
    for row in rows:
        line = (
            f"  {row.what:<{width}}  {format_seconds(row.ours):>9}  "
            f"{format_seconds(row.floor):>9}  {row.ratio:>5.2f}x  "
            f"{'<=' + format(row.target, 'g') + 'x':>7}  {row.verdict:<6}"
        )
        for k in extras:
            value = row.extra.get(k)
            text = "n/a" if value is None else f"{value:.2f}x"
            line += f"  {text:>{max(len(k), 6)}}"
        lines.append(line)
    return lines


def plan(sections: tuple[str, ...], repeats: int) -> list[tuple[str, Callable[[], list[Row]]]]:
    """(title, measure) of each table to print, in order."""
    tables = {
        "steps": [
            (
                f"optimizer step, float32, N = 10^7, {COPY_NOTE}",
                lambda: step_rows(10**7, 1.5, repeats, 1),
            ),
            (
                f"optimizer step, float32, N = 10^5, {COPY_NOTE}",
                lambda: step_rows(10**5, 2.0, repeats, 50),
            ),
        ],
        "matrix": [
            (
                "matrix rules, float32, 1 thread; floor = their matmuls and QR, or a copy (MARS)",
                lambda: matrix_rows(repeats),
            )
        ],
        "mlp": [
            (
                "mnist_mlp 784-128-10, float32, 1 BLAS thread; floor = its matmuls alone",
                lambda: [mlp_row(repeats)],
            )
        ],
        "stacked": [("stacked runs; floor = one run", lambda: [stacked_row(repeats)])],
        "engine": [
            (
                "engine (run_cell); floor = the same cell with one seed",
                lambda: [engine_row(repeats)],
            )
        ],
        "runs": [
            (
                "runs end to end; floor = a hand-written NumPy loop of the same updates",
                lambda: runs_rows(repeats),
            )
        ],
        "sampling": [
            (
                "minibatch sampling, spirals batch 16 + adam; shares = sampling / whole step; "
                "old = the per-run loop the streams replaced",
                lambda: sampling_rows(repeats),
            )
        ],
    }
    return [table for section in SECTIONS if section in sections for table in tables[section]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.speed.perf", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--repeats", type=int, default=9, help="interleaved rounds (default 9)")
    parser.add_argument(
        "--only", choices=SECTIONS, action="append", help="run only these sections (repeatable)"
    )
    args = parser.parse_args(argv)
    repeats = max(args.repeats, 1)
    out = describe_machine()
    out.append(f"each figure: median of {repeats} interleaved repeats; ratio = time / floor")
    print("\n".join(out), flush=True)
    met = total = 0
    for title, measure in plan(tuple(args.only or SECTIONS), repeats):
        rows = measure()
        print("\n" + "\n".join(format_rows(title, rows)), flush=True)
        total += len(rows)
        met += sum(row.verdict == "PASS" for row in rows)
    print(f"\n{met} of {total} targets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
