"""``optbench compare``'s output: a :class:`~bench.analysis.regression.Comparison` rendered for
the terminal (``table``), a pull-request comment (``md``) or other tools (``csv``, ``json``)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from bench.analysis.regression import Comparison
from bench.report.labels import markdown_text
from bench.text import counted, format_p, format_seconds

FORMATS = ("table", "md", "csv", "json")
VERDICTS = ("regression", "improvement", "changed")
_SHOWN = ["verdict", "problem", "optimizer", "config", "metric", "base", "current", "change",
          "p_holm"]  # fmt: skip
_NAMES = ("problem", "optimizer", "config")  # from the stores (grids, plugins): escaped in md
# How table and md name the verdicts (csv and json keep the analysis' own, "" and "changed").
SHOWN_VERDICTS = {"": "no change", "changed": "not significant"}
TIMED = ("time_per_step",)  # metrics in seconds: written with their unit


def verdict_text(verdict: str) -> str:
    """A verdict as the table and md show it."""
    return SHOWN_VERDICTS.get(verdict, verdict)


def value_text(metric: str, value) -> str:
    """A base or current median as shown: seconds with their unit (``58.9 us``), other
    metrics (losses, steps, error counts) as numbers."""
    if pd.isna(value):
        return ""
    return format_seconds(value) if metric in TIMED else f"{value:.4g}"


def caption(threshold: float, alpha: float) -> str:
    """What the change column and the verdicts of a comparison table mean."""
    return (
        "change: the relative change of the median, (current - base) / base; higher is "
        "worse for every metric, so + is worse. base and current: medians over seeds "
        "(final_loss; steps_* in steps), errored runs (errors), or the time of one "
        "optimization step (time_per_step, with its unit; an optimizer's change is net of "
        "the machine-wide drift on the row '*', so it can differ from current / base). "
        f"regression / improvement: a change beyond {threshold:.0%} that is significant "
        f"(Holm-adjusted p < {alpha:g}); not significant: beyond {threshold:.0%} but "
        f"p >= {alpha:g}; no change: within {threshold:.0%}."
    )


def format_comparison(
    comparison: Comparison,
    fmt: str = "table",
    *,
    show_all: bool = False,
    base: str = "base",
    current: str = "current",
) -> str:
    """Render a comparison for the terminal (``table``), a pull request (``md``) or tools.

    ``table`` and ``md`` show the rows with a verdict (every row with ``show_all``), the notes
    and a one-line count; ``csv`` is every row; ``json`` is an object with the settings, the
    notes, the counts and every row (infinities as the strings ``"inf"`` and ``"-inf"``).
    """
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {fmt!r}")
    table = comparison.table
    counts = {v: int((table["verdict"] == v).sum()) for v in VERDICTS}
    if fmt == "csv":
        return table.to_csv(index=False)
    if fmt == "json":
        return _json(comparison, counts, base, current)
    shown = table if show_all else table[table["verdict"] != ""]
    rank = shown["verdict"].map({v: i for i, v in enumerate(VERDICTS)}).fillna(len(VERDICTS))
    shown = shown.assign(_rank=rank).sort_values(["_rank", "problem", "optimizer", "metric"])
    cells = [[_cell(column, row[column], row["metric"]) for column in _SHOWN]
             for _, row in shown.iterrows()]  # fmt: skip
    compared = table.loc[table["cell_key"] != "", "cell_key"].nunique()
    title = (
        f"{base} -> {current}: {counted(compared, 'cell')} compared, "
        f"threshold {comparison.threshold:.0%}, alpha {comparison.alpha:g}"
    )
    summary = (
        f"{counted(counts['regression'], 'regression')}, "
        f"{counted(counts['improvement'], 'improvement')}, "
        f"{counted(counts['changed'], 'change')} above the threshold that "
        f"{'is' if counts['changed'] == 1 else 'are'} not significant"
    )
    lines = [title, *(f"note: {note}" for note in comparison.notes), ""]
    if not cells:
        lines.append(f"no change above {comparison.threshold:.0%}")
    else:
        lines += (_markdown if fmt == "md" else _aligned)(cells)
        lines += ["", caption(comparison.threshold, comparison.alpha)]
    lines += ["", summary]
    return "\n".join(lines)


def _markdown(cells: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(_SHOWN) + " |", "|" + "---|" * len(_SHOWN)]
    escape = [markdown_text if column in _NAMES else _cell_text for column in _SHOWN]
    return lines + [
        "| " + " | ".join(f(c) for f, c in zip(escape, row, strict=True)) + " |" for row in cells
    ]


def _cell_text(text: str) -> str:
    return text.replace("|", "\\|")


def _aligned(cells: list[list[str]]) -> list[str]:
    widths = [max(len(h), *(len(row[i]) for row in cells)) for i, h in enumerate(_SHOWN)]
    return [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in [_SHOWN, *cells]
    ]


def _json(comparison: Comparison, counts: dict[str, int], base: str, current: str) -> str:
    records = [
        {k: _json_value(v) for k, v in row.items()}
        for row in comparison.table.to_dict(orient="records")
    ]
    payload = {
        "base": base,
        "current": current,
        "threshold": comparison.threshold,
        "alpha": comparison.alpha,
        "counts": counts,
        "notes": comparison.notes,
        "rows": records,
    }
    return json.dumps(payload, indent=2)


def _cell(column: str, value, metric: str) -> str:
    if column == "verdict":
        return verdict_text(value)
    if column in ("base", "current"):
        return value_text(metric, value)
    if column == "change":
        return "" if pd.isna(value) else ("+inf" if value == np.inf else f"{value:+.1%}")
    if column == "p_holm":
        return format_p(value, missing="")
    if isinstance(value, float | np.floating):
        return "" if np.isnan(value) else f"{value:.4g}"
    return str(value)


def _json_value(value):
    if isinstance(value, float | np.floating):
        if np.isnan(value):
            return None
        return float(value) if np.isfinite(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, np.integer | np.bool_):
        return value.item()
    return value
