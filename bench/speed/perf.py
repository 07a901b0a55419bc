"""The performance targets, each printed as a ratio of two timings taken side by side in one run.

``python -m bench.speed.perf`` prints the machine, the BLAS library, its kernel and thread counts, then
one row per target with PASS or MISS. Seconds on their own mean little on a shared machine; a
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
    The MLP epoch against the same-shape forward and backward matmuls alone, on the same batches.
one run
    R stacked runs against one run of the same step, or of the same engine cell.

The optimizer rows run NumPy's single-threaded ufuncs and torch with one thread; the MLP row
holds every BLAS pool to one thread (``threadpoolctl.threadpool_limits(1)``). Nothing here
changes ``OPENBLAS_CORETYPE``: it is reported as found.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import platform
import sys
import time
from collections.abc import Callable

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

import optimizers
import problems
from optimizers import blocked

# rule -> (hyperparameters, arrays the step must read and write)
STEP_RULES: dict[str, tuple[dict, int]] = {
    "adam": ({}, 7),  # reads p, g, m, v; writes p, m, v
    "sgd": ({"momentum": 0.9}, 5),  # reads p, g, b; writes p, b
    "rmsprop": ({}, 5),  # reads p, g, v; writes p, v
    "adagrad": ({}, 5),  # reads p, g, sum; writes p, sum
    "lion": ({}, 5),  # reads p, g, m; writes p, m
}
TORCH_CLASS = {"adam": "Adam", "sgd": "SGD", "rmsprop": "RMSprop", "adagrad": "Adagrad"}


@dataclasses.dataclass
class Row:
    """One target: the measured ratio, its limit, and side figures (reference path, torch)."""

    what: str
    ours: float  # seconds
    floor: float  # seconds
    target: float
    extra: dict[str, float | None] = dataclasses.field(default_factory=dict)

    @property
    def ratio(self) -> float:
        return self.ours / self.floor

    @property
    def verdict(self) -> str:
        return "PASS" if self.ratio <= self.target else "MISS"


def side_by_side(
    candidates: dict[str, Callable[[], object]], repeats: int, number: int
) -> dict[str, float]:
    """Median seconds per call of each candidate; candidates take turns, ``repeats`` rounds of
    ``number`` calls each, so a slow spell of the machine hits them all alike."""
    for fn in candidates.values():
        fn()  # warm up: first calls page memory in and take once-only paths
    samples: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(repeats):
        for name, fn in candidates.items():
            start = time.perf_counter()
            for _ in range(number):
                fn()
            samples[name].append((time.perf_counter() - start) / number)
    return {name: float(np.median(times)) for name, times in samples.items()}


def copy_floor(arrays: int, n: int, dtype=np.float32) -> Callable[[], None]:
    """``np.copyto`` of ``arrays * n / 2`` elements: ``arrays * n`` elements read plus written."""
    src = np.ones(math.ceil(arrays * n / 2), dtype=dtype)
    dst = np.empty_like(src)
    return lambda: np.copyto(dst, src)


def reference_path(fn: Callable[[], None]) -> Callable[[], None]:
    """``fn`` with the blocked fast path switched off (whole-array operations)."""

    def run() -> None:
        with blocked.block_bytes(None):
            fn()

    return run


def numpy_step(name: str, kwargs: dict, shape: tuple, dtype) -> Callable[[], None]:
    rng = np.random.default_rng(0)
    params = [rng.standard_normal(shape).astype(dtype)]
    grads = [rng.standard_normal(shape).astype(dtype)]
    opt = optimizers.create(name, **kwargs)
    state = opt.init(params)
    opt.step(params, grads, state)  # past SGD's first-step copy
    return lambda: opt.step(params, grads, state)


def torch_step(name: str, kwargs: dict, shape: tuple, **mode: bool) -> Callable[[], None] | None:
    """The same step in ``torch.optim`` (``foreach=True`` or ``fused=True``); None if either
    torch or that mode is missing."""
    try:
        import torch
    except ImportError:
        return None
    if name not in TORCH_CLASS:
        return None
    param = torch.zeros(shape, dtype=torch.float32, requires_grad=True)
    param.grad = torch.randn(shape, generator=torch.Generator().manual_seed(0))
    hyper = optimizers.create(name, **kwargs).hyperparameters()
    try:
        opt = getattr(torch.optim, TORCH_CLASS[name])([param], **hyper, **mode)
        opt.step()
    except (RuntimeError, TypeError, ValueError):  # e.g. no fused kernel for this rule
        return None
    return opt.step


def step_rows(n: int, target: float, repeats: int, number: int) -> list[Row]:
    """Each rule of ``STEP_RULES`` at ``n`` float32 parameters against its copy floor."""
    rows = []
    for name, (kwargs, arrays) in STEP_RULES.items():
        ours = numpy_step(name, kwargs, (1, n), np.float32)
        candidates = {
            "ours": ours,
            "floor": copy_floor(arrays, n),
            "reference": reference_path(ours),
        }
        for mode in ("foreach", "fused"):
            step = torch_step(name, kwargs, (1, n), **{mode: True})
            if step is not None:
                candidates[f"torch {mode}"] = step
        times = with_torch_threads(1, lambda c=candidates: side_by_side(c, repeats, number))
        label = name + (" (momentum 0.9)" if name == "sgd" else "")
        rows.append(
            Row(
                f"{label}, {arrays} arrays",
                times["ours"],
                times["floor"],
                target,
                {
                    "reference path": times["reference"] / times["floor"],
                    "ours / torch foreach": ratio_to(times, "torch foreach"),
                    "ours / torch fused": ratio_to(times, "torch fused"),
                },
            )
        )
    return rows


def ratio_to(times: dict[str, float], other: str) -> float | None:
    return times["ours"] / times[other] if other in times else None


def with_torch_threads(threads: int, fn: Callable[[], dict]) -> dict:
    """Run ``fn`` with torch's intra-op pool at ``threads`` (if torch is installed)."""
    try:
        import torch
    except ImportError:
        return fn()
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return fn()
    finally:
        torch.set_num_threads(previous)


def mlp_row(repeats: int, batch: int = 128) -> Row:
    """One epoch of ``mnist_mlp`` (784-128-10, float32) against its matmuls alone."""
    prob = problems.create("mnist_mlp")
    rng = np.random.default_rng(0)
    params = prob.init_params(rng, 1)
    order = rng.permutation(prob.train_size)
    batches = [order[i : i + batch][None, :] for i in range(0, prob.train_size, batch)]

    def epoch() -> None:
        for indices in batches:
            prob.loss_and_grad(params, indices)

    inputs = [prob.X_train[indices] for indices in batches]
    W1, _, W2, _ = params

    def matmuls() -> None:
        for X in inputs:
            h = np.matmul(X, W1)  # forward, hidden layer
            z = np.matmul(h, W2)  # forward, logits (z stands in for dloss/dz: same shape)
            np.matmul(h.swapaxes(-1, -2), z)  # dW2 = h^T dz
            dh = np.matmul(z, W2.swapaxes(-1, -2))  # dh = dz W2^T
            np.matmul(X.swapaxes(-1, -2), dh)  # dW1 = X^T dh

    candidates = {"ours": epoch, "floor": matmuls}
    torch_epoch = torch_mlp_epoch(prob, batches)
    if torch_epoch is not None:
        candidates["torch"] = torch_epoch
    with threadpool_limits(1):
        times = with_torch_threads(1, lambda: side_by_side(candidates, repeats, 1))
    return Row(
        f"mnist_mlp epoch ({len(batches)} batches of {batch})",
        times["ours"],
        times["floor"],
        1.25,
        {"ours / torch": ratio_to(times, "torch")},
    )


def torch_mlp_epoch(prob, batches) -> Callable[[], None] | None:
    """The same model in torch: forward, cross-entropy and backward per batch (no step)."""
    try:
        import torch
    except ImportError:
        return None
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(prob.sizes[0], prob.sizes[1]),
        torch.nn.ReLU(),
        torch.nn.Linear(prob.sizes[1], prob.sizes[2]),
    )
    X = torch.tensor(prob.X_train)  # a copy: the problem's arrays are read-only
    y = torch.tensor(prob.y_train)
    index = [torch.from_numpy(b[0]) for b in batches]

    def epoch() -> None:
        for rows in index:
            model.zero_grad(set_to_none=True)
            loss = torch.nn.functional.cross_entropy(model(X[rows]), y[rows])
            loss.backward()

    return epoch


def stacked_row(repeats: int, runs: int = 1000) -> Row:
    """Adam on ``runs`` stacked 2-D runs (float64, the small problems' dtype) against one run."""
    many = numpy_step("adam", {}, (runs, 2), np.float64)
    one = numpy_step("adam", {}, (1, 2), np.float64)
    times = side_by_side({"ours": many, "floor": one}, repeats, 2000)
    return Row(f"adam step, {runs:,} stacked 2-D runs vs 1", times["ours"], times["floor"], 2.0)


def engine_row(repeats: int, seeds: int = 100, steps: int = 1000) -> Row:
    """``run_cell`` of a Rosenbrock cell with ``seeds`` seeds against the same cell with one."""
    from bench.grid.cell import Cell
    from bench.run.engine import run_cell

    def cell(n: int) -> Cell:
        return Cell(
            problem="rosenbrock",
            problem_params={"dim": 2, "start_noise": 0.0, "noise": 0.0},
            optimizer="adam",
            optimizer_params={"lr": 1e-3},
            steps=steps,
            seeds=tuple(range(n)),
        )

    many, one = cell(seeds), cell(1)
    times = side_by_side(
        {"ours": lambda: run_cell(many), "floor": lambda: run_cell(one)}, repeats, 1
    )
    return Row(
        f"rosenbrock cell, {seeds} seeds x {steps:,} adam steps vs 1 seed",
        times["ours"],
        times["floor"],
        3.0,
    )


def describe_machine() -> list[str]:
    """Lines naming the CPU, the BLAS library and kernel, thread counts and versions."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            model = next(line.split(":", 1)[1].strip() for line in cpuinfo if "model name" in line)
    except (OSError, StopIteration):
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    lines = [
        f"machine: {model}, {os.cpu_count()} logical CPUs ({usable} usable), {platform.system()}"
    ]
    for pool in threadpool_info():
        info = {key: pool.get(key, "?") for key in ("user_api", "internal_api", "version")}
        lines.append(
            f"{info['user_api']}: {info['internal_api']} {info['version']}"
            f" ({pool.get('prefix', '?')}), kernel {pool.get('architecture', '?')}, "
            f"{pool.get('num_threads', '?')} threads by default"
        )
    lines.append(f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}")
    versions = [f"Python {platform.python_version()}", f"NumPy {np.__version__}"]
    try:
        import torch

        versions.append(f"torch {torch.__version__} ({torch.get_num_threads()} threads by default)")
    except ImportError:
        versions.append("torch not installed (no torch columns)")
    lines.append(", ".join(versions))
    lines.append(
        "threads while timing: 1 for the optimizer and MLP rows (NumPy ufuncs are single-threaded;"
        " BLAS pools and torch are held to 1); the default for the stacked and engine rows"
    )
    return lines


def format_rows(title: str, rows: list[Row]) -> list[str]:
    extras = list(dict.fromkeys(k for row in rows for k in row.extra))
    width = max(len(row.what) for row in rows)
    head = f"  {'':<{width}}  {'time':>9}  {'floor':>9}  {'ratio':>6}  {'target':>7}  result"
    head += "".join(f"  {k:>{max(len(k), 6)}}" for k in extras)
    lines = [title, head]
    for row in rows:
        line = (
            f"  {row.what:<{width}}  {seconds(row.ours):>9}  {seconds(row.floor):>9}  "
            f"{row.ratio:>5.2f}x  {'<=' + format(row.target, 'g') + 'x':>7}  {row.verdict:<6}"
        )
        for k in extras:
            value = row.extra.get(k)
            text = "n/a" if value is None else f"{value:.2f}x"
            line += f"  {text:>{max(len(k), 6)}}"
        lines.append(line)
    return lines


def seconds(value: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if value >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{value / 1e-9:.3g} ns"


SECTIONS = ("steps", "mlp", "stacked", "engine")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.speed.perf", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--repeats", type=int, default=9, help="interleaved rounds (default 9)")
    parser.add_argument(
        "--only", choices=SECTIONS, action="append", help="run only these sections (repeatable)"
    )
    args = parser.parse_args(argv)
    sections = args.only or SECTIONS
    repeats = max(args.repeats, 1)
    out = describe_machine()
    out.append(f"each figure: median of {repeats} interleaved repeats; ratio = time / floor")
    print("\n".join(out), flush=True)
    plan: list[tuple[str, Callable[[], list[Row]]]] = []
    copy_note = "1 thread; floor = np.copyto of the arrays moved"
    if "steps" in sections:
        plan.append(
            (
                f"optimizer step, float32, N = 10^7, {copy_note}",
                lambda: step_rows(10**7, 1.5, repeats, 1),
            )
        )
        plan.append(
            (
                f"optimizer step, float32, N = 10^5, {copy_note}",
                lambda: step_rows(10**5, 2.0, repeats, 50),
            )
        )
    if "mlp" in sections:
        plan.append(
            (
                "mnist_mlp 784-128-10, float32, 1 BLAS thread; floor = its matmuls alone",
                lambda: [mlp_row(repeats)],
            )
        )
    if "stacked" in sections:
        plan.append(("stacked runs; floor = one run", lambda: [stacked_row(repeats)]))
    if "engine" in sections:
        plan.append(
            ("engine (issue 4); floor = the same cell with one seed", lambda: [engine_row(repeats)])
        )
    met = total = 0
    for title, measure in plan:
        rows = measure()
        print("\n" + "\n".join(format_rows(title, rows)), flush=True)
        total += len(rows)
        met += sum(row.verdict == "PASS" for row in rows)
    print(f"\n{met} of {total} targets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
