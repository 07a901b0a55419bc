"""The CLI's error for bad input that a command finds itself (one line, exit code 2).

Stage-specific errors live with their stage (``bench.grid.GridError``,
``bench.store.StoreError``); ``bench.cli`` turns all three into the same one-line message.
"""


class UsageError(Exception):
    """Bad input found by a command itself: printed as one line, exit code 2."""
