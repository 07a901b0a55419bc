"""Speed tracking across commits: run the pytest-benchmark suite, find saved runs, compare two.

The comparison follows asv's rule: a benchmark changed only when its median moved by more than
the threshold *and* a Mann-Whitney U test over the rounds says the move is real. optbench applies
that rule twice, to the seconds and to each round's ratio to the benchmark's control (an
``np.copyto`` of the benchmark's bytes timed just before each round; see
``tests/speed/conftest.py``), and reports a regression only when both agree, in every process
that timed the benchmark (the suite runs in two processes by default, as asv's benchmarks do).
A machine that is slower as a whole slows the control too, so the ratio stays put; one process's
bad luck shows in that process only; a change in the code moves everything.

The functions that compare and format are pure (no benchmark runs), so they are tested on
synthetic rounds; :func:`run_suite` is the one that runs pytest.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import math
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from scipy.stats import mannwhitneyu

ALPHA = 0.05  # significance level of the one-sided Mann-Whitney U tests
SUITE = Path(__file__).resolve().parents[1] / "tests" / "speed"
VERDICTS = ("regression", "improvement", "same", "new", "gone")


class SpeedError(Exception):
    """Bad input (``optbench speed`` exits 2) or a suite that could not run (exits 1, showing the
    end of pytest's output)."""


@dataclasses.dataclass(frozen=True)
class Benchmark:
    """One benchmark of one run: seconds per round and the control's seconds per round."""

    name: str
    times: np.ndarray
    control: np.ndarray | None = None  # None when the run has no control timings
    extra: dict = dataclasses.field(default_factory=dict)

    @property
    def median(self) -> float:
        return float(np.median(self.times))

    def processes(self) -> list[slice]:
        """The rounds of each process that timed this benchmark (one slice if unknown)."""
        counts = self.extra.get("process_rounds") or [len(self.times)]
        if sum(counts) != len(self.times):
            return [slice(None)]
        edges = np.cumsum([0, *counts])
        return [slice(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:], strict=True) if b > a]

    @property
    def ratios(self) -> np.ndarray | None:
        """Each round's time over its own control's, timed just before it: a slow spell of the
        machine inflates both and cancels out."""
        if self.control is None or len(self.control) != len(self.times):
            return None
        return self.times / self.control


@dataclasses.dataclass(frozen=True)
class Change:
    """How one benchmark moved between a saved run (``before``) and a new one (``after``)."""

    name: str
    verdict: str  # one of VERDICTS
    before: float | None = None  # median seconds
    after: float | None = None
    time_factor: float | None = None  # after / before, medians
    ratio_factor: float | None = None  # the same for the time / control ratios
    p_value: float | None = None  # the larger of the two one-sided tests' p-values


def parse_threshold(text: str) -> float:
    """``"10%"`` or ``"0.1"`` -> 0.1; the change a regression must exceed."""
    cleaned = text.strip()
    try:
        value = float(cleaned[:-1]) / 100 if cleaned.endswith("%") else float(cleaned)
    except ValueError:
        raise SpeedError(
            f"--threshold {text!r}: give a percentage like 10% or a fraction like 0.1"
        ) from None
    if not 0 < value < 10:
        raise SpeedError(f"--threshold {text!r} is out of range; allowed (0%, 1000%)")
    return value


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
        raise SpeedError(f"{path}: not a pytest-benchmark result ({error})") from error
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
        name = entry.get("fullname") or entry["name"]
        run[name] = Benchmark(
            name,
            np.asarray(stats["data"], dtype=float),
            None if control is None else np.asarray(control, dtype=float),
            extra,
        )
    return run


def compare(
    before: dict[str, Benchmark],
    after: dict[str, Benchmark],
    threshold: float = 0.10,
    alpha: float = ALPHA,
) -> list[Change]:
    """Classify every benchmark of either run; see the module docstring for the rule.

    A benchmark is a ``regression`` when, in every process of the new run, its median seconds
    and its median ratio to the control both exceed the saved run's by a factor above
    ``1 + threshold``, and one-sided Mann-Whitney U tests of those rounds against the saved
    rounds give p < ``alpha``; an ``improvement`` is the mirror image (before / after above
    ``1 + threshold``). Asking every process keeps one process's bad luck (a neighbour's busy
    spell, an unlucky placement of its arrays) from reading as a change of the code. Without
    control timings on both sides only the seconds are judged. Benchmarks in only one run are
    ``new`` or ``gone``. The factors reported are those of the pooled rounds.
    """
    changes = []
    for name in sorted(before.keys() | after.keys()):
        if name not in before:
            changes.append(Change(name, "new", after=after[name].median))
            continue
        if name not in after:
            changes.append(Change(name, "gone", before=before[name].median))
            continue
        old, new = before[name], after[name]
        measures = [(old.times, new.times)]
        if old.ratios is not None and new.ratios is not None:
            measures.append((old.ratios, new.ratios))
        factors = [float(np.median(b) / np.median(a)) for a, b in measures]
        verdict, p_value = "same", None
        for direction, alternative in (("regression", "greater"), ("improvement", "less")):
            evidence = [
                (float(np.median(b[part]) / np.median(a)), _mann_whitney(b[part], a, alternative))
                for a, b in measures
                for part in new.processes()
            ]
            moved = [f > 1 + threshold if direction == "regression" else 1 / f > 1 + threshold
                     for f, _ in evidence]  # fmt: skip
            if all(moved):
                p_value = max(p for _, p in evidence)
                if p_value < alpha:
                    verdict = direction
                break
        changes.append(
            Change(
                name,
                verdict,
                old.median,
                new.median,
                factors[0],
                factors[1] if len(factors) > 1 else None,
                p_value,
            )
        )
    return changes


def _mann_whitney(after: np.ndarray, before: np.ndarray, alternative: str) -> float:
    if len(after) < 2 or len(before) < 2:
        return 1.0  # too few rounds to call anything real
    return float(mannwhitneyu(after, before, alternative=alternative).pvalue)


def short_name(name: str) -> str:
    """``tests/speed/test_step_speed.py::test_step[adam-1e3]`` -> ``test_step[adam-1e3]``."""
    return name.rsplit("::", 1)[-1]


def format_seconds(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if value >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{value * 1e9:.3g} ns"


def format_factor(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def format_run(run: dict[str, Benchmark]) -> str:
    """One line per benchmark: median seconds, rounds, median ratio to the control, throughput."""
    names = sorted(run)
    width = max([len(short_name(n)) for n in names] + [9])
    lines = [f"{'benchmark':<{width}}  {'median':>9}  {'rounds':>6}  {'x control':>9}  note"]
    for name in names:
        bench = run[name]
        ratios = bench.ratios
        ratio = "-" if ratios is None else f"{np.median(ratios):.3g}"
        note = ", ".join(
            f"{bench.extra[key] / bench.median:,.0f} {key}/s"
            for key in ("runs", "points")
            if key in bench.extra
        )
        lines.append(
            f"{short_name(name):<{width}}  {format_seconds(bench.median):>9}  "
            f"{len(bench.times):>6}  {ratio:>9}  {note}"
        )
    return "\n".join(lines)


def format_changes(changes: Sequence[Change], threshold: float) -> str:
    """The comparison table, most slowed first, and a closing count of each verdict."""
    order = sorted(
        changes, key=lambda c: (VERDICTS.index(c.verdict), -(c.time_factor or 0.0), c.name)
    )
    width = max([len(short_name(c.name)) for c in changes] + [9])
    lines = [
        f"{'benchmark':<{width}}  {'before':>9}  {'after':>9}  {'time':>6}  {'ratio':>6}  "
        f"{'p':>7}  verdict"
    ]
    for c in order:
        p = "-" if c.p_value is None else f"{c.p_value:.1g}"
        lines.append(
            f"{short_name(c.name):<{width}}  {format_seconds(c.before):>9}  "
            f"{format_seconds(c.after):>9}  {format_factor(c.time_factor):>6}  "
            f"{format_factor(c.ratio_factor):>6}  {p:>7}  {c.verdict}"
        )
    counts = ", ".join(
        f"{sum(c.verdict == v for c in changes)} {v}"
        for v in VERDICTS
        if any(c.verdict == v for c in changes)
    )
    lines.append(
        f"\n{counts} (threshold {threshold:.0%} on both time and time/control, "
        f"Mann-Whitney U p < {ALPHA})"
    )
    return "\n".join(lines)


def find_saved(storage: str | os.PathLike, name: str) -> Path:
    """The newest run saved as ``name`` in pytest-benchmark's ``storage`` folder.

    pytest-benchmark files a run saved with ``--benchmark-save=NAME`` as
    ``STORAGE/<machine id>/<counter>_NAME.json``; ``name`` may also be a counter (``0003``),
    a ``<counter>_NAME`` id, or the path of a JSON file.
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
        saved = sorted({p.stem.split("_", 1)[-1] for p in root.glob("*/*.json")})
        hint = f"; saved names: {', '.join(saved)}" if saved else "; nothing is saved there yet"
        raise SpeedError(f"no run saved as {name!r} in {root}{hint}")
    return max(found, key=lambda p: (p.stem.split("_", 1)[0], p.stat().st_mtime))


def pytest_command(
    suite: Path,
    json_path: Path,
    *,
    save: str | None = None,
    storage: str | os.PathLike = ".benchmarks",
    keyword: str | None = None,
    plugins: Iterable[str] = (),
    max_time: float | None = None,
) -> list[str]:
    """The pytest command line that runs ``suite`` and writes its rounds to ``json_path``."""
    command = [
        sys.executable,
        "-m",
        "pytest",
        str(suite),
        "-o",
        "addopts=",  # the project's addopts skip benchmarks and ignore this folder
        "-p",
        "no:cacheprovider",
        "-q",
        "--benchmark-only",
        "--benchmark-disable-gc",
        f"--benchmark-json={json_path}",
        "--benchmark-sort=fullname",
    ]
    if save:
        storage_path = Path(storage).resolve()
        command += [
            f"--benchmark-save={save}",
            "--benchmark-save-data",
            f"--benchmark-storage=file://{storage_path}",
        ]
    if max_time is not None:
        command.append(f"--benchmark-max-time={max_time}")
    if keyword:
        command += ["-k", keyword]
    command += [f"--optbench-plugin={module}" for module in plugins]
    return command


def merge_documents(documents: Sequence[dict]) -> dict:
    """One pytest-benchmark document holding the rounds of all ``documents`` (runs of the same
    suite in separate processes): rounds and control timings are concatenated per benchmark and
    the summary statistics recomputed; everything else is the first document's."""
    merged = json.loads(json.dumps(documents[0]))
    others = [{b["fullname"]: b for b in doc["benchmarks"]} for doc in documents[1:]]
    for entry in merged["benchmarks"]:
        parts = [entry] + [o[entry["fullname"]] for o in others if entry["fullname"] in o]
        counts = [len(part["stats"].get("data", [])) for part in parts]
        data = [x for part in parts for x in part["stats"].get("data", [])]
        control = [x for part in parts for x in (part.get("extra_info") or {}).get("control", [])]
        if control:
            entry["extra_info"]["control"] = control
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


def run_suite(
    suite: Path = SUITE,
    *,
    processes: int = 2,
    save: str | None = None,
    storage: str | os.PathLike = ".benchmarks",
    keyword: str | None = None,
    plugins: Iterable[str] = (),
    max_time: float = 1.0,
    echo: bool = False,
) -> dict[str, Benchmark]:
    """Run the speed suite in ``processes`` fresh Pythons, one after the other, and pool them.

    As asv does, each benchmark is timed in several processes (``max_time / processes`` each):
    array placement, and the load the machine happens to carry while one process runs, differ
    from process to process, and a single process would take its luck for the benchmark's
    speed. With ``save``, the first process saves the run through pytest-benchmark's storage and
    the rounds of the others are then added to that file.

    The current directory is put on the children's ``PYTHONPATH`` so that ``plugins`` next to
    where optbench was started are found, as ``optbench run`` finds them.

    Raises
    ------
    SpeedError
        The suite is missing (an installed wheel ships no tests), pytest-benchmark is not
        installed, or pytest failed; the error carries the end of pytest's output.
    """
    if not (suite / "conftest.py").is_file():
        raise SpeedError(f"speed suite not found at {suite} (it lives in a source checkout)")
    if importlib.util.find_spec("pytest_benchmark") is None:
        raise SpeedError("pytest-benchmark is not installed: pip install -e '.[test]'")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (os.getcwd(), env.get("PYTHONPATH", "")) if p)
    saved_before = set(Path(storage).glob("*/*.json"))
    documents = []
    with tempfile.TemporaryDirectory(prefix="optbench-speed-") as tmp:
        for index in range(processes):
            json_path = Path(tmp) / f"run{index}.json"
            command = pytest_command(
                suite,
                json_path,
                save=save if index == 0 else None,
                storage=storage,
                keyword=keyword,
                plugins=plugins,
                max_time=max_time / processes,
            )
            completed = subprocess.run(
                command,
                env=env,
                cwd=suite.parents[1],
                stdout=None if echo else subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            if completed.returncode != 0 or not json_path.is_file():
                tail = "\n".join((completed.stdout or "").strip().splitlines()[-30:])
                raise SpeedError(
                    f"the speed suite failed (pytest exit {completed.returncode}):\n{tail}"
                )
            documents.append(json.loads(json_path.read_text()))
        merged = merge_documents(documents)
        if save:
            for path in set(Path(storage).glob("*/*.json")) - saved_before:
                path.write_text(json.dumps(merged, indent=4))
        json_path = Path(tmp) / "merged.json"
        json_path.write_text(json.dumps(merged))
        return load_run(json_path)
