"""The report of a small real grid, written once for every report test that reads one."""

import re
import subprocess
import sys

import pytest

PLUGIN = """
import dataclasses
import numpy as np
import optimizers

@optimizers.register("<script>alert(1)</script>")
@dataclasses.dataclass(frozen=True)
class Sneaky(optimizers.Optimizer):
    lr: float = 0.01
    def init(self, params):
        return None
    def step(self, params, grads, state, lr=None):
        for p, g in zip(params, grads):
            p -= (self.lr if lr is None else lr) * g
"""

GRID = """\
name = "report-test"
seeds = 3
steps = 80
log_every = 10
plugins = ["sneaky_plugin"]

[[problems]]
name = "rosenbrock"
start_noise = 0.1

[[problems]]
name = "xor"

[[optimizers]]
name = "adam"
lr = [0.01, 0.1]

[[optimizers]]
name = "sgd"
lr = [0.001, 1.0]

[[optimizers]]
name = "<script>alert(1)</script>"
lr = 0.001

[[clipping]]
name = "none"

[[clipping]]
name = "global_norm"
max_norm = 1.0
"""


@pytest.fixture(scope="session")
def report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    (folder / "sneaky_plugin.py").write_text(PLUGIN)
    (folder / "grid.toml").write_text(GRID)
    store = folder / "grid.sqlite"
    # In subprocesses, so the plugin's registration stays out of this test process.
    optbench = [sys.executable, "-m", "bench.cli"]
    for args in (["run", "grid.toml", "--store", str(store), "--jobs", "1", "--no-report"],
                 ["report", str(store), "-o", str(folder / "out"), "--format", "svg"]):  # fmt: skip
        done = subprocess.run([*optbench, *args], cwd=folder, capture_output=True, timeout=240)
        assert done.returncode == 0, done.stderr.decode()[-3000:]
    # report prints a progress line per figure on stderr, numbered, with the time so far
    progress = re.findall(r"^figure (\d+): (\S+)", done.stderr.decode(), re.MULTILINE)
    assert [int(n) for n, _ in progress] == list(range(1, len(progress) + 1))
    assert sum(name.endswith(".png") for _, name in progress) == len(list(folder.glob("out/*.png")))
    return folder / "out"
