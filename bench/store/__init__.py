"""store: results <-> one SQLite file per experiment <-> tidy pandas frames."""

from bench.store.store import Store, StoreError, export, load

__all__ = ["Store", "StoreError", "export", "load"]
