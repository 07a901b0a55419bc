"""bench: the harness, one sub-package per pipeline stage.

grid (TOML -> cells) -> run (cells -> results) -> store (SQLite <-> frames) -> analysis (numbers)
-> report (figures, HTML, Markdown); speed tracks the optimizers' own speed; commands holds one
module per CLI subcommand. ``bench.load`` is imported lazily so that importing the engine in a
worker pulls in no pandas.
"""

from __future__ import annotations

from typing import Any

__all__ = ["load"]


def __getattr__(name: str) -> Any:
    if name == "load":
        from bench.store import load

        return load
    raise AttributeError(f"module 'bench' has no attribute {name!r}")
