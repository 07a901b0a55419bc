"""A small self-contained demo: every registered optimizer on an ill-conditioned quadratic.

Each optimizer runs at the learning rate the quick preset gives it (``bench/grid/presets/
quick.toml``: one rate per optimizer, the best average rank over the preset's problems), so that
no optimizer looks good or bad because of an arbitrary rate; one the preset does not name (a
plugin's) runs at its own default.
"""

from __future__ import annotations

import importlib.resources
import tomllib

import numpy as np

import optimizers

LR_SOURCE = "bench/grid/presets/quick.toml"
LR_NOTE = (
    "lr: each optimizer's rate in the quick preset (bench/grid/presets/quick.toml), the best "
    "average rank over the preset's problems; 'default' marks an optimizer it does not name, "
    "run at its own default. One rate, one problem: a first look, not a verdict."
)


def preset_lrs() -> dict[str, float]:
    """Optimizer name -> the ``lr`` the quick preset runs it at."""
    text = (importlib.resources.files("bench.grid") / "presets" / "quick.toml").read_text("utf-8")
    entries = tomllib.loads(text)["optimizers"]
    return {entry["name"]: float(entry["lr"]) for entry in entries if "lr" in entry}


def quadratic_demo(steps: int = 500, runs: int = 5, dim: int = 20, seed: int = 0) -> list[dict]:
    """Run each optimizer ``steps`` times on f(x) = 0.5 sum(d_i x_i^2), d_i in [1, 10].

    Returns one dict per optimizer: its name, ``lr``, where the lr came from (``"quick"`` or
    ``"default"``) and the median and worst final loss over the runs, best median first.
    """
    curvature = np.linspace(1.0, 10.0, dim)
    start = np.random.default_rng(seed).standard_normal((runs, dim))
    tuned = preset_lrs()
    rows = []
    for name in optimizers.names():
        opt = optimizers.create(name, **({"lr": tuned[name]} if name in tuned else {}))
        params = [start.copy()]
        state = opt.init(params)
        for _ in range(steps):
            opt.step(params, [curvature * params[0]], state)
        loss = 0.5 * np.sum(curvature * params[0] ** 2, axis=1)
        rows.append({"optimizer": name, "lr": opt.lr, "lr_from": "quick" if name in tuned else
                     "default", "median": np.median(loss), "worst": loss.max()})  # fmt: skip
    return sorted(rows, key=lambda row: row["median"])


def format_table(rows: list[dict]) -> str:
    """A plain-text table of ``quadratic_demo`` rows, under the note that says where each lr
    comes from."""
    lines = [f"{'optimizer':<10} {'lr':>8} {'lr from':<8} {'median loss':>12} {'worst loss':>12}"]
    lines += [
        f"{r['optimizer']:<10} {r['lr']:>8.2g} {r['lr_from']:<8} {r['median']:>12.3e} "
        f"{r['worst']:>12.3e}"
        for r in rows
    ]
    return "\n".join(lines)
