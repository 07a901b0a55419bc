"""Fault injection anyone can run: kill ``optbench run`` at random moments, resume, compare.

    python -m bench.faults --kills 20

Runs a small grid once without interruption (the reference), then ``--kills`` times: starts the
same run on a fresh store, sends SIGKILL to the parent process at a random moment, reruns the
same command to completion, and checks that the store's runs and curves equal the reference bit
for bit (timing columns aside). Prints one line per kill; exits 1 if any store differs, 0
otherwise.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

GRID = """\
name = "faults"
seeds = 3
steps = 2000
log_every = 50

[[problems]]
name = "rosenbrock"
start_noise = 0.5

[[problems]]
name = "xor"

[[optimizers]]
name = "adam"
lr = [0.003, 0.03]

[[optimizers]]
name = "sgd"
lr = [0.001, 0.01]
momentum = [0.0, 0.9]
"""
TIMING = ("run_id", "experiment_id", "opt_time", "wall_time", "finished_at", "time")


def optbench(grid: Path, store: Path, jobs: int) -> list[str]:
    """The command line of one run of ``grid`` into ``store``."""
    return [sys.executable, "-m", "bench.cli", "run", str(grid), "--store", str(store),
            "--jobs", str(jobs), "--no-report"]  # fmt: skip


def numbers(store: Path):
    """The store's runs and curves, sorted, without the columns that time things."""
    from bench.store import load

    runs, curves = load(store)
    runs = runs.drop(columns=[c for c in TIMING if c in runs] + list(runs.filter(like="time_to")))
    runs = runs.sort_values(["cell_key", "seed"]).reset_index(drop=True)
    curves = curves.drop(columns=[c for c in TIMING if c in curves])
    curves = curves.sort_values(["cell_key", "seed", "step"]).reset_index(drop=True)
    return runs, curves


def same(a: Path, b: Path) -> bool:
    """Whether two stores hold the same numbers (NaN equal to NaN)."""
    for left, right in zip(numbers(a), numbers(b), strict=True):
        if list(left.columns) != list(right.columns) or len(left) != len(right):
            return False
        for column in left.columns:
            x, y = left[column].to_numpy(), right[column].to_numpy()
            if x.dtype.kind == "f" and y.dtype.kind == "f":
                if not np.array_equal(x, y, equal_nan=True):
                    return False
            elif [str(v) for v in x] != [str(v) for v in y]:
                return False
    return True


def killed_and_resumed(grid: Path, store: Path, jobs: int, moment: float) -> int:
    """Kill a run ``moment`` seconds in, rerun it to the end; return the rerun's exit code."""
    child = subprocess.Popen(optbench(grid, store, jobs), stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    time.sleep(moment)
    if child.poll() is None:
        os.kill(child.pid, signal.SIGKILL)  # the parent only: its workers must notice alone
    child.wait()
    rerun = subprocess.run(optbench(grid, store, jobs), capture_output=True, text=True)
    return rerun.returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.faults",
        description="Kill optbench run at random moments, resume, and compare with an "
        "uninterrupted run bit for bit.",
    )
    parser.add_argument("--kills", type=int, default=20, help="kill-and-resume rounds (20)")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes per run (2)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the kill moments (0)")
    args = parser.parse_args(argv)
    if args.kills < 1 or args.jobs < 1:
        parser.error("--kills and --jobs must be at least 1")
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="optbench-faults-") as folder:
        grid = Path(folder) / "faults.toml"
        grid.write_text(GRID)
        reference = Path(folder) / "reference.sqlite"
        started = time.monotonic()
        subprocess.run(optbench(grid, reference, args.jobs), check=True, capture_output=True)
        duration = time.monotonic() - started
        print(
            f"reference run: {duration:.1f} s; killing at random moments in [0, {duration:.1f}] s"
        )
        failures = 0
        for kill in range(1, args.kills + 1):
            store = Path(folder) / f"killed-{kill}.sqlite"
            moment = rng.uniform(0.0, duration)
            code = killed_and_resumed(grid, store, args.jobs, moment)
            ok = code == 0 and same(reference, store)
            failures += not ok
            verdict = "identical" if ok else f"DIFFERENT (rerun exit {code})"
            print(f"kill {kill}/{args.kills} at {moment:.2f} s, resumed: {verdict}", flush=True)
    print(f"{args.kills - failures} of {args.kills} resumed stores equal the uninterrupted run")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
