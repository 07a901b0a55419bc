"""The store's one error type."""


class StoreError(Exception):
    """A store file cannot be used: not SQLite, a newer schema, read-only, missing...

    The message is one line naming the file and the cause (the CLI prints it and exits with 2).
    """


def one_line(exc: BaseException) -> str:
    """An exception's message on one line (its type's name when it has none)."""
    return " ".join(str(exc).split()) or type(exc).__name__
