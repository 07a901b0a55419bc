"""A store's tidy frames as files to publish: ``.csv`` or ``.parquet``, with their provenance.

Every row says where it came from. Recorded when the run started (one ``experiments`` row per
``optbench run``): ``machine.*`` (host, platform, CPUs), ``version.*`` (Python, optbench, NumPy,
pandas...) and ``blas`` (the thread pools, as JSON). Found at export time, because a store does not
record the code that produced it: ``export.git_commit`` and ``export.git_dirty``, the commit
checked out in the directory the export ran in, empty where that is not a git checkout.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from bench.store import rows
from bench.store.errors import StoreError, one_line

FORMATS = ("csv", "parquet")
EXPORT_PREFIX = "export."  # provenance found at export time; machine.* and version.* at run time


def run_provenance(experiments: pd.DataFrame, git: dict) -> pd.DataFrame:
    """Per ``experiment_id``: its ``machine.*``, ``version.*`` and ``blas`` columns, plus the
    ``export.*`` columns of ``git`` (:func:`bench.store.machine.git_state`)."""
    recorded = [c for c in experiments.columns if c.startswith(("machine.", "version."))]
    provenance = experiments[["experiment_id", *recorded, "blas"]].copy()
    for key, value in git.items():
        provenance[f"{EXPORT_PREFIX}{key}"] = value
    return provenance


def tidy_frames(
    experiments: pd.DataFrame, runs: pd.DataFrame, curves: pd.DataFrame, git: dict
) -> dict[str, pd.DataFrame]:
    """The frames to write: experiments and runs with every provenance column, curves with the
    ``experiment_id`` that joins them to it (repeating a dozen text columns on each logged point
    would triple the size of a CSV file for nothing a join cannot give)."""
    provenance = run_provenance(experiments, git)
    experiments = experiments.assign(**{f"{EXPORT_PREFIX}{k}": v for k, v in git.items()})
    runs = runs.merge(provenance, on="experiment_id", how="left", validate="many_to_one")
    experiment_of = runs.set_index("run_id")["experiment_id"]
    curves = curves.copy()
    curves.insert(1, "experiment_id", curves["run_id"].map(experiment_of).astype("int64"))
    return {"experiments": experiments, "runs": runs, "curves": curves}


def write_frames(
    frames: dict[str, pd.DataFrame], out_dir: str | os.PathLike, fmt: str, *, overwrite: bool
) -> list[Path]:
    """Write ``<name>.<fmt>`` per frame into ``out_dir`` (created if missing), each file whole.

    Lists, tuples and dicts are written as JSON text. Without ``overwrite`` an existing file is
    refused before anything is written, and a failure leaves none of the new files behind.

    Raises
    ------
    StoreError
        A file is in the way (without ``overwrite``), or the disk refused a write.
    """
    out = Path(out_dir)
    files = [out / f"{name}.{fmt}" for name in frames]
    if not overwrite:
        for file in files:
            if os.path.lexists(file):
                raise StoreError(f"{file}: already exists; optbench export never overwrites a file")
    written: list[Path] = []
    try:
        out.mkdir(parents=True, exist_ok=True)
        for file, df in zip(files, frames.values(), strict=True):
            with _whole(file, overwrite) as partial:
                _write(_as_text(df), partial, fmt)
            written.append(file)
    except BaseException as exc:
        if not overwrite:
            for file in written:
                file.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise StoreError(f"{exc.filename or out}: cannot write it ({one_line(exc)})") from exc
        raise
    return written


@contextlib.contextmanager
def _whole(file: Path, overwrite: bool) -> Iterator[Path]:
    """A temporary path beside ``file``, renamed to it once written (linked without
    ``overwrite``, which fails rather than replaces a file that appeared meanwhile)."""
    partial = file.with_name(f".{file.name}.{secrets.token_hex(4)}.tmp")
    try:
        yield partial
        if overwrite:
            os.replace(partial, file)
        else:
            try:
                os.link(partial, file)
            except FileExistsError:
                raise StoreError(
                    f"{file}: already exists; optbench export never overwrites a file"
                ) from None
    finally:
        partial.unlink(missing_ok=True)


def _as_text(df: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    for column in df.columns:
        if pd.api.types.is_object_dtype(df[column]):
            df[column] = df[column].map(rows.json_text)
    return df


def _write(df: pd.DataFrame, file: Path, fmt: str) -> None:
    if fmt == "csv":
        df.to_csv(file, index=False)
    else:
        df.to_parquet(file, index=False)
