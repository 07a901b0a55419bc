"""The words of the report: problem labels, metric and axis titles, and the escaping that every
name from a grid or a plugin needs before matplotlib draws it or Markdown carries it. No
matplotlib.

``problem`` in every plot-data frame is a problem *label*: the registry name, followed by its
parameters only when one store holds the same problem with several parameter sets.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

import pandas as pd

from bench.grid.axes import axes

X_LABELS = {
    "step": "step (optimizer updates)",
    "epoch": "epoch (passes over the training set)",
    "time": "optimization time (s, update steps only)",
}
METRIC_LABELS = {
    "train_loss": "training loss",
    "test_loss": "test loss",
    "train_accuracy": "training accuracy",
    "test_accuracy": "test accuracy",
}
ECDF_LABELS = {
    "budget_fraction": "steps to reach the target, as a share of the step budget",
    "seconds": "optimization time to reach the target (s)",
}
LOG_SUFFIX = " (log scale)"
# What a name may not carry into Markdown: links and images ([ ]), code (`), emphasis (* _ ~),
# math ($, rendered by GitHub), table cells (|), headings (#) and the escape itself (backslash).
MARKDOWN_MARKS = re.compile(r"([\\`*_\[\]|~$#])")


def literal(text: object) -> str:
    """``text`` as matplotlib must be given it to draw it as written: every ``$`` escaped, so
    that a name or parameter never starts mathtext (``"$x^$"`` would raise a ValueError when
    the figure is saved, ``"$x$"`` would be set as math). Every text a figure draws passes
    through here."""
    return str(text).replace("$", r"\$")


def markdown_text(value: object) -> str:
    """``value`` as Markdown text that shows it as written, on one line: ``<``, ``>`` and ``&``
    as HTML entities (no raw HTML, no autolinks), Markdown's marks backslash-escaped (no link,
    image, code, emphasis, math or table cell starts in a name)."""
    text = MARKDOWN_MARKS.sub(r"\\\1", html.escape(str(value), quote=False))
    return " ".join(text.splitlines())


def params_dict(value: Any) -> dict[str, Any]:
    """A parameters column's value (JSON text, a dict or nothing) as a dict."""
    return json.loads(value) if isinstance(value, str) else dict(value or {})


def axis_title(column: str | None) -> str:
    """How figures name a grid axis (its ``title`` in ``bench.grid.axes``)."""
    titles = {entry.column: entry.title for entry in axes()}
    return titles.get(column, column or "setting")


def problem_labels(runs: pd.DataFrame) -> pd.Series:
    """A readable problem label per row: the name, plus its parameters when the store holds the
    same problem with several parameter sets (``rosenbrock(dim=4)``)."""
    variants = runs.groupby("problem")["problem_params"].transform("nunique")

    def label(name: str, params: str, several: int) -> str:
        if several <= 1:
            return name
        args = ",".join(f"{k}={v}" for k, v in params_dict(params).items())
        return f"{name}({args})"

    return pd.Series(
        [label(*t) for t in zip(runs["problem"], runs["problem_params"], variants, strict=True)],
        index=runs.index,
        name="problem",
    )


def labelled(runs: pd.DataFrame) -> pd.DataFrame:
    """``runs`` with ``problem`` turned into the label and the name kept as ``problem_name``."""
    return runs.assign(problem_name=runs["problem"], problem=problem_labels(runs))


def with_labels(frame: pd.DataFrame) -> pd.DataFrame:
    """An analysis frame with ``problem`` turned into the problem label (when it can be)."""
    if "problem_params" not in frame:
        return frame.copy()
    return frame.assign(problem=problem_labels(frame))
