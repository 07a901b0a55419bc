"""How much memory each optimizer keeps: its state in numbers and bytes per parameter."""

from __future__ import annotations

import json

import pandas as pd

import optimizers
from bench.report.style import optimizer_order

CAPTION = (
    "Optimizer state per parameter of the model, for the configurations this report ran "
    "(Optimizer.state_floats_per_param), and the bytes they take at float64 and float32. "
    "A range means the configurations differ (amsgrad keeps a third buffer); "
    "scratch arrays used inside a step are not counted."
)
UNKNOWN = "unknown"  # a plugin this process cannot import


def _floats(name: str, params: object) -> int | None:
    """The state numbers per parameter of ``name`` configured with ``params`` (JSON text or
    a dict); None when it cannot be built here."""
    try:
        settings = json.loads(params) if isinstance(params, str) else dict(params or {})
        return optimizers.create(name, **settings).state_floats_per_param()
    except (KeyError, ValueError, TypeError):
        return None


def _span(values: list[int], scale: int) -> str:
    low, high = min(values) * scale, max(values) * scale
    return f"{low}" if low == high else f"{low}–{high}"


def state_size_table(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per optimizer of ``runs`` (style order): its state numbers per parameter and
    the bytes they take at float64 and float32, over its configurations in ``runs``."""
    configs = runs.drop_duplicates(["optimizer", "optimizer_params"])
    rows = []
    for name in optimizer_order(configs["optimizer"]):
        params = configs.loc[configs["optimizer"] == name, "optimizer_params"]
        found = [_floats(name, p) for p in params]
        known = [n for n in found if n is not None]
        if not known:
            rows.append((name, UNKNOWN, UNKNOWN, UNKNOWN))
            continue
        rows.append((name, _span(known, 1), _span(known, 8), _span(known, 4)))
    columns = ["optimizer", "state numbers", "bytes (float64)", "bytes (float32)"]
    return pd.DataFrame(rows, columns=columns)
