"""Runner performance: a grid at 1 job against 2 jobs, and the whole quick run, timed in one go.

    python -m bench.speed.scaling [--grid standard] [--skip-quick]

Prints:
- the wall time of a grid at 1 job and at 2 jobs (fresh stores, no report) and their ratio
  (target: 2 jobs at least 1.8x faster on the standard preset);
- the wall time of the whole ``optbench run`` on the quick preset, start-up and report
  included, as a subprocess (target: under 60 s on a 2-core machine).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.store.machine import blas_info


def timed_run(grid: str, jobs: int, folder: Path) -> float:
    """Seconds for ``optbench run GRID --jobs N`` into a fresh store, without the report."""
    store = folder / f"{Path(grid).stem}-{jobs}.sqlite"
    command = [sys.executable, "-m", "bench.cli", "run", grid, "--jobs", str(jobs),
               "--store", str(store), "--no-report"]  # fmt: skip
    tick = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - tick


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.speed.scaling", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--grid", default="standard", help="grid for the 1-vs-2-jobs row")
    parser.add_argument("--skip-quick", action="store_true", help="skip the quick-preset row")
    args = parser.parse_args(argv)
    for info in blas_info():
        print(f"BLAS: {info}")
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        one = timed_run(args.grid, 1, folder)
        two = timed_run(args.grid, 2, folder)
        verdict = "PASS" if one / two >= 1.8 else "MISS"
        print(f"{args.grid}: 1 job {one:.1f} s, 2 jobs {two:.1f} s, speed-up {one / two:.2f}x "
              f"(target >= 1.8x) {verdict}")  # fmt: skip
        if not args.skip_quick:
            tick = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "bench.cli", "run", "quick", "--store",
                 str(folder / "quick.sqlite")],
                check=True, stdout=subprocess.DEVNULL,
            )  # fmt: skip
            quick = time.perf_counter() - tick
            verdict = "PASS" if quick < 60 else "MISS"
            print(
                f"quick: whole `optbench run`, report included, {quick:.1f} s "
                f"(target < 60 s) {verdict}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
