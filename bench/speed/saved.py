"""pytest-benchmark's JSON files: read one into benchmarks, find a saved run, pool processes."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bench.speed.compare import Benchmark
from bench.speed.errors import SpeedError
from bench.text import closest, one_line


def load_run(path: str | os.PathLike) -> dict[str, Benchmark]:
    """The benchmarks of a pytest-benchmark JSON file (saved or ``--benchmark-json``), by name.

    Raises
    ------
    SpeedError
        The file is unreadable, not a pytest-benchmark file, or holds no rounds (it was saved
        without ``--benchmark-save-data``).
    """
    try:
        document = json.loads(Path(path).read_text())
        entries = document["benchmarks"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise SpeedError(f"{path}: not a pytest-benchmark result ({one_line(error)})") from error
    run = {}
    for entry in entries:
        stats = entry.get("stats", {})
        if "data" not in stats:
            raise SpeedError(
                f"{path}: {entry.get('fullname')} has no rounds; save with `optbench speed "
                "--save NAME` (pytest-benchmark's --benchmark-save-data)"
            )
        extra = dict(entry.get("extra_info") or {})
        control = extra.pop("control", None)
        preempted = extra.pop("preempted", None)
        name = entry.get("fullname") or entry["name"]
        run[name] = Benchmark(
            name,
            np.asarray(stats["data"], dtype=float),
            None if control is None else np.asarray(control, dtype=float),
            extra,
            None if preempted is None else np.asarray(preempted, dtype=bool),
        )
    return run


def find_saved(storage: str | os.PathLike, name: str) -> Path:
    """The newest run saved as ``name`` in pytest-benchmark's ``storage`` folder.

    pytest-benchmark files a run saved with ``--benchmark-save=NAME`` as
    ``STORAGE/<machine id>/<counter>_NAME.json``; ``name`` may also be a counter (``0003``),
    a ``<counter>_NAME`` id, or the path of a JSON file.

    Raises
    ------
    SpeedError
        Nothing is saved under that name; the message names the closest saved names, or all.
    """
    if name.endswith(".json") and Path(name).is_file():
        return Path(name)
    root = Path(storage)
    found = [
        path
        for path in root.glob("*/*.json")
        if re.fullmatch(r"\d{4}_" + re.escape(name), path.stem)
        or path.stem == name
        or (name.isdigit() and path.stem.startswith(name + "_"))
    ]
    if not found:
        saved = {p.stem.split("_", 1)[-1] for p in root.glob("*/*.json")}
        hint = closest(name, saved) if saved else " (nothing is saved there yet)"
        raise SpeedError(f"no run saved as {name!r} in {root}{hint}")
    return max(found, key=lambda p: (p.stem.split("_", 1)[0], p.stat().st_mtime))


def merge_documents(documents: Sequence[dict]) -> dict:
    """One pytest-benchmark document holding the rounds of all ``documents`` (runs of the same
    suite in separate processes): rounds, control timings and preemption marks are concatenated
    per benchmark and the summary statistics recomputed; everything else is the first
    document's."""
    merged = json.loads(json.dumps(documents[0]))
    others = [{b["fullname"]: b for b in doc["benchmarks"]} for doc in documents[1:]]
    for entry in merged["benchmarks"]:
        parts = [entry] + [o[entry["fullname"]] for o in others if entry["fullname"] in o]
        counts = [len(part["stats"].get("data", [])) for part in parts]
        data = [x for part in parts for x in part["stats"].get("data", [])]
        for key in ("control", "preempted"):  # per-round lists of extra_info
            rounds = [x for part in parts for x in (part.get("extra_info") or {}).get(key, [])]
            if rounds:
                entry["extra_info"][key] = rounds
        if data:
            entry["stats"].update(_summary(np.asarray(data)), data=data)
            entry["extra_info"]["process_rounds"] = counts
    return merged


def _summary(data: np.ndarray) -> dict[str, float]:
    q1, median, q3 = np.quantile(data, [0.25, 0.5, 0.75])
    total = float(data.sum())
    return {
        "min": float(data.min()),
        "max": float(data.max()),
        "mean": float(data.mean()),
        "stddev": float(data.std(ddof=1)) if len(data) > 1 else 0.0,
        "median": float(median),
        "q1": float(q1),
        "q3": float(q3),
        "iqr": float(q3 - q1),
        "rounds": len(data),
        "total": total,
        "ops": len(data) / total if total > 0 else 0.0,
    }
