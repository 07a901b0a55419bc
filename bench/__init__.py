"""bench: the harness. Grid spec -> cells -> parallel runs -> SQLite store -> tables, plots, report.

The only package that does I/O, parallelism and presentation; the CLI lives in ``bench.cli``.
"""

from bench.store import load

__all__ = ["load"]
