"""Run the speed suite (``bench/speed/suite``, pytest-benchmark) in fresh processes and pool them.

The suite ships inside the package, so an installed wheel runs it as a checkout does. pytest is
given the suite's own ``pytest.ini`` and the suite folder as its rootdir: the project's test
settings stay out, and benchmark names (``test_step_speed.py::test_step[adam-1e3]``) are the
same wherever optbench is installed, so runs saved from a checkout and from a wheel compare.
"""

from __future__ import annotations

import collections
import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from bench.speed.compare import Benchmark
from bench.speed.errors import SpeedError
from bench.speed.saved import load_run, merge_documents

SUITE = Path(__file__).resolve().parent / "suite"
# pytest -v's line for a finished benchmark: "test_step_speed.py::test_step[adam-1e3] PASSED [ 5%]"
FINISHED = re.compile(
    r"::(?P<name>\S+) (?P<outcome>PASSED|FAILED|ERROR|SKIPPED)\s+\[\s*(?P<percent>\d+)%\]"
)
TAIL_LINES = 30  # of pytest's output, kept for the error message of a failed suite


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
    command = [sys.executable, "-m", "pytest", str(suite)]
    command += ["-c", str(suite / "pytest.ini"), "--rootdir", str(suite)]
    command += ["-o", "addopts=", "-p", "no:cacheprovider", "-v"]  # -v: a line per benchmark
    command += ["--benchmark-only", "--benchmark-disable-gc"]
    command += [f"--benchmark-json={json_path}", "--benchmark-sort=fullname"]
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


def keyword_for(names: Iterable[str]) -> str:
    """A ``-k`` expression selecting exactly the benchmarks ``names`` (full or short names)."""
    return " or ".join(name.rsplit("::", 1)[-1] for name in sorted(names))


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
    progress: Callable[[str], None] | None = None,
) -> dict[str, Benchmark]:
    """Run the speed suite in ``processes`` fresh Pythons, one after the other, and pool them.

    As asv does, each benchmark is timed in several processes (``max_time / processes`` each):
    array placement, and the load the machine happens to carry while one process runs, differ
    from process to process, and a single process would take its luck for the benchmark's
    speed. With ``save``, the first process saves the run through pytest-benchmark's storage and
    the rounds of the others are then added to that file.

    The current directory is put on the children's ``PYTHONPATH`` so that ``plugins`` next to
    where optbench was started are found, as ``optbench run`` finds them. ``progress``, if
    given (and without ``echo``), is called with a line per finished benchmark:
    ``process 1/2  5%  test_step[adam-1e3] (3.2 s)``.

    Raises
    ------
    SpeedError
        The suite is missing, pytest-benchmark is not installed, or pytest failed; the error
        carries the end of pytest's output.
    """
    if not (suite / "conftest.py").is_file():
        raise SpeedError(f"speed suite not found at {suite}: is optbench installed completely?")
    if importlib.util.find_spec("pytest_benchmark") is None:
        raise SpeedError("pytest-benchmark is not installed: pip install 'optbench[speed]'")
    saved_before = set(Path(storage).glob("*/*.json"))
    options = {"storage": storage, "keyword": keyword, "plugins": tuple(plugins)}
    with tempfile.TemporaryDirectory(prefix="optbench-speed-") as tmp:
        documents = [
            _run_process(
                pytest_command(
                    suite,
                    Path(tmp) / f"run{index}.json",
                    save=save if index == 0 else None,
                    max_time=max_time / processes,
                    **options,
                ),
                Path(tmp) / f"run{index}.json",
                echo,
                None if progress is None else _reporter(progress, index, processes),
            )
            for index in range(processes)
        ]
        merged = merge_documents(documents)
        if save:  # the first process saved its own rounds only: give the file all of them
            for path in set(Path(storage).glob("*/*.json")) - saved_before:
                path.write_text(json.dumps(merged, indent=4))
        json_path = Path(tmp) / "merged.json"
        json_path.write_text(json.dumps(merged))
        return load_run(json_path)


def finished_benchmark(line: str) -> tuple[str, str, int] | None:
    """``(name, outcome, percent)`` of a pytest ``-v`` line for a finished test, else None."""
    found = FINISHED.search(line)
    if found is None:
        return None
    return found["name"], found["outcome"], int(found["percent"])


def _reporter(progress: Callable[[str], None], index: int, processes: int):
    """A callback for each output line of process ``index`` that reports finished benchmarks."""
    started = time.perf_counter()
    progress(f"process {index + 1}/{processes}: starting pytest and collecting the suite")

    def report(line: str) -> None:
        found = finished_benchmark(line)
        if found is not None:
            name, outcome, percent = found
            result = "" if outcome == "PASSED" else f" {outcome}"
            elapsed = time.perf_counter() - started
            progress(f"process {index + 1}/{processes} {percent:3d}%  {name}{result} "
                     f"({elapsed:.1f} s)")  # fmt: skip

    return report


def _run_process(
    command: list[str], json_path: Path, echo: bool, on_line: Callable[[str], None] | None = None
) -> dict:
    """Run one pytest process of the suite; its pytest-benchmark JSON document. Its output is
    shown as it comes (``echo``), or read line by line into ``on_line`` and kept for an error."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (os.getcwd(), env.get("PYTHONPATH", "")) if p)
    tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
    with subprocess.Popen(
        command,
        env=env,
        cwd=json_path.parent,  # a scratch folder: nothing of the caller's is picked up or written
        stdout=None if echo else subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as child:
        for line in child.stdout if child.stdout is not None else ():
            tail.append(line.rstrip("\n"))
            if on_line is not None:
                on_line(line)
        returncode = child.wait()
    if returncode != 0 or not json_path.is_file():
        raise SpeedError(f"the speed suite failed (pytest exit {returncode}):\n" + "\n".join(tail))
    return json.loads(json_path.read_text())
