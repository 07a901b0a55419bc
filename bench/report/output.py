"""Where a report is written: the folder checked before anything is written, each file written
whole or not at all, and a failure of the disk turned into one line.

Every file of a report (``report.html``, ``report.md``, the PNGs) is written to a temporary file
in its folder, then renamed over the old one (``os.replace``, atomic on POSIX and Windows): a
kill, a full disk or an exception mid-write leaves the previous file as it was, never a
truncated one.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

from bench.errors import UsageError

# A temporary file of :func:`replace`: left behind only when the process was killed mid-write.
LEFTOVER = re.compile(r"\..+\.[0-9a-f]{8}\.tmp")


class ReportError(UsageError):
    """The report cannot be written where asked (a file in the way, a read-only or full disk):
    one line, exit code 2."""


def check_output(folder: Path) -> None:
    """Refuse, before anything is written, an output folder that cannot hold a report.

    Raises
    ------
    ReportError
        ``folder``, or the nearest of its parents that exists, is not a folder (the store
        file itself, say), or that parent cannot be written to.
    """
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        where = "" if existing == folder else f" ({existing} is a file)"
        raise ReportError(
            f"{folder}: not a folder{where}; give -o a folder for report.html, report.md "
            "and the figures"
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ReportError(f"{folder}: cannot write the report there ({existing} is read-only)")


def make_folder(folder: Path) -> None:
    """Create ``folder`` (and its parents) if needed, and remove the temporary files a killed
    report left in it."""
    with disk_errors(folder):
        folder.mkdir(parents=True, exist_ok=True)
        for leftover in folder.iterdir():
            if LEFTOVER.fullmatch(leftover.name) and leftover.is_file():
                leftover.unlink(missing_ok=True)


@contextlib.contextmanager
def disk_errors(folder: Path) -> Iterator[None]:
    """Turn an ``OSError`` of the body (a full disk, a read-only filesystem, a permission) into
    a :class:`ReportError` naming the file and the cause."""
    try:
        yield
    except OSError as error:
        where = error.filename or folder
        cause = error.strerror or str(error) or type(error).__name__
        raise ReportError(f"{where}: cannot write the report ({cause})") from error


def replace(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(temporary)`` for a new file in ``path``'s folder, then rename it over
    ``path``; on any failure (or interrupt) the temporary file is removed and ``path`` is left
    as it was."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")  # a LEFTOVER
    try:
        write(temporary)
        with open(temporary, "rb") as written:
            os.fsync(written.fileno())  # on disk before it takes the old file's place
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise


def write_text(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` through :func:`replace`."""
    replace(path, lambda temporary: temporary.write_text(text, encoding="utf-8"))
