"""The progress of ``optbench run``: a bar on a terminal, periodic lines in a log."""

from __future__ import annotations

import sys
import time

from bench.grid.cell import Cell
from bench.run.result import CellResult


class Progress:
    """A tqdm bar on a terminal; plain periodic lines in a log. The ETA prices the cells left at
    their problem's pace so far (:class:`bench.run.estimate.Eta`), since the heavy cells run
    first."""

    def __init__(self, cells: list[Cell], costs: list[float], every: float = 10.0):
        from bench.run.estimate import Eta

        self.total, self.done, self.diverged, self.errors = len(cells), 0, 0, 0
        self.eta = Eta(cells, costs)
        self.started = self.last_line = time.monotonic()
        self.every = every
        self.bar = None
        if sys.stderr.isatty():
            from tqdm import tqdm

            runs = sum(len(cell.seeds) for cell in cells)
            self.bar = tqdm(total=self.total, unit="cell", desc=f"{runs} runs", file=sys.stderr,
                            bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} "
                            "[{elapsed}{postfix}]")  # fmt: skip

    def update(self, result: CellResult) -> None:
        from bench.run.estimate import duration

        self.done += 1
        self.diverged += sum(r["status"] == "diverged" for r in result.runs)
        self.errors += sum(r["status"] == "error" for r in result.runs)
        self.eta.finished(result.cell, result.wall_time)
        now = time.monotonic()
        left = self.eta.seconds_left(now - self.started)
        eta = "?" if left is None else duration(left)
        if self.bar is not None:
            self.bar.set_postfix(eta=eta, diverged=self.diverged, errors=self.errors,
                                 refresh=False)  # fmt: skip
            self.bar.update(1)
            return
        if now - self.last_line >= self.every or self.done == self.total:
            self.last_line = now
            print(
                f"[{now - self.started:6.0f} s] {self.done}/{self.total} cells, eta {eta}, "
                f"{self.diverged} diverged, {self.errors} errors",
                file=sys.stderr,
                flush=True,
            )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
