"""The store's one error type."""

from bench.text import one_line

__all__ = ["StoreError", "one_line"]


class StoreError(Exception):
    """A store file cannot be used: not SQLite, a newer schema, read-only, missing...

    The message is one line naming the file and the cause (the CLI prints it and exits with 2).
    """
