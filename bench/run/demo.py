"""A small self-contained demo: every registered optimizer on an ill-conditioned quadratic."""

from __future__ import annotations

import numpy as np

import optimizers

DEMO_LR = {"sgd": 0.05, "momentum": 0.02, "nesterov": 0.02, "adagrad": 0.5, "adadelta": 1.0}


def quadratic_demo(steps: int = 500, runs: int = 5, dim: int = 20, seed: int = 0) -> list[dict]:
    """Run each optimizer ``steps`` times on f(x) = 0.5 sum(d_i x_i^2), d_i in [1, 10].

    Returns one dict per optimizer with the median and worst final loss over the runs.
    """
    curvature = np.linspace(1.0, 10.0, dim)
    start = np.random.default_rng(seed).standard_normal((runs, dim))
    rows = []
    for name in optimizers.names():
        opt = optimizers.create(name, **({"lr": DEMO_LR[name]} if name in DEMO_LR else {}))
        params = [start.copy()]
        state = opt.init(params)
        for _ in range(steps):
            opt.step(params, [curvature * params[0]], state)
        loss = 0.5 * np.sum(curvature * params[0] ** 2, axis=1)
        rows.append(
            {"optimizer": name, "lr": opt.lr, "median": np.median(loss), "worst": loss.max()}
        )
    return sorted(rows, key=lambda row: row["median"])


def format_table(rows: list[dict]) -> str:
    """A plain-text table of ``quadratic_demo`` rows."""
    lines = [f"{'optimizer':<10} {'lr':>8} {'median loss':>12} {'worst loss':>12}"]
    lines += [
        f"{r['optimizer']:<10} {r['lr']:>8.0e} {r['median']:>12.3e} {r['worst']:>12.3e}"
        for r in rows
    ]
    return "\n".join(lines)
