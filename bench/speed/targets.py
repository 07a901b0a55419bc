"""The rows of ``python -m bench.speed.perf``: each target timed against its floor.

See :mod:`bench.speed.perf` for what each floor is and why.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
from threadpoolctl import threadpool_limits

import problems
from bench.speed.timing import (
    copy_floor,
    numpy_step,
    ratio_to,
    reference_path,
    side_by_side,
    torch_step,
    with_torch_threads,
)
from optimizers import fused

# rule -> (hyperparameters, arrays the step must read and write)
STEP_RULES: dict[str, tuple[dict, int]] = {
    "adam": ({}, 7),  # reads p, g, m, v; writes p, m, v
    "sgd": ({"momentum": 0.9}, 5),  # reads p, g, b; writes p, b
    "rmsprop": ({}, 5),  # reads p, g, v; writes p, v
    "adagrad": ({}, 5),  # reads p, g, sum; writes p, sum
    "lion": ({}, 5),  # reads p, g, m; writes p, m
}
# The fused rows' targets: at most 1.1x torch's fused kernel where torch has one,
# otherwise at most FUSED_COPY_TARGET[n] times the copy floor.
FUSED_TORCH_TARGET = 1.1
FUSED_COPY_TARGET = {10**7: 0.8, 10**5: 2.0}


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


def step_rows(n: int, target: float, repeats: int, number: int) -> list[Row]:
    """Each rule of ``STEP_RULES`` at ``n`` float32 parameters against its copy floor: the
    blocked NumPy path, then (with numba) the fused kernel, all timed side by side."""
    rows, fused_rows = [], []
    kernels = fused.available()
    if kernels:
        print(fused_compile_line(n), flush=True)
    for name, (kwargs, arrays) in STEP_RULES.items():
        kernel = numpy_step(name, kwargs, (1, n), np.float32)
        ours = numpy_only(kernel)
        candidates = {
            "ours": ours,
            "floor": copy_floor(arrays, n),
            "reference": reference_path(ours),
        }
        if kernels:
            candidates["fused"] = kernel
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
        if kernels:
            fused_rows.append(fused_row(f"{label}, {arrays} arrays", n, times))
    return rows + fused_rows


def fused_row(label: str, n: int, times: dict[str, float]) -> Row:
    """The fused kernel against torch's fused step where torch has one, else the copy floor."""
    versus_torch = "torch fused" in times
    floor = times["torch fused"] if versus_torch else times["floor"]
    return Row(
        f"fused {label}" + (" (floor: torch fused)" if versus_torch else ""),
        times["fused"],
        floor,
        FUSED_TORCH_TARGET if versus_torch else FUSED_COPY_TARGET.get(n, 2.0),
        {
            "fused / copy floor": times["fused"] / times["floor"],
            "fused / numpy": times["fused"] / times["ours"],
        },
    )


def numpy_only(step: Callable[[], None]) -> Callable[[], None]:
    """``step`` with the fused kernels switched off (the blocked NumPy path)."""

    def run() -> None:
        with fused.kernels(False):
            step()

    return run


def fused_compile_line(n: int) -> str:
    """numba's version and each kernel's first-call seconds (compile, or load from numba's cache)
    for the rules of ``STEP_RULES`` at ``n`` float32 parameters."""
    before = fused.compile_seconds()
    for name, (kwargs, _) in STEP_RULES.items():
        numpy_step(name, kwargs, (1, 8), np.float32)  # its first steps compile the kernel
    seconds = {key: value - before.get(key, 0.0) for key, value in fused.compile_seconds().items()}
    listed = ", ".join(f"{key} {value:.2f} s" for key, value in seconds.items() if value) or (
        "all compiled earlier in this run"
    )
    return f"fused kernels: numba {fused.numba_version()}; first call (compile or cache): {listed}"


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
