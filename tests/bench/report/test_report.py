"""The report: every section from a small real grid, escaped grid names, and a real browser."""

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

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


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    (folder / "sneaky_plugin.py").write_text(PLUGIN)
    (folder / "grid.toml").write_text(GRID)
    store = folder / "grid.sqlite"
    # In subprocesses, so the plugin's registration stays out of this test process.
    optbench = [sys.executable, "-m", "bench.cli"]
    for args in (["run", "grid.toml", "--store", str(store), "--jobs", "1", "--no-report"],
                 ["report", str(store), "-o", str(folder / "out")]):  # fmt: skip
        done = subprocess.run([*optbench, *args], cwd=folder, capture_output=True, timeout=240)
        assert done.returncode == 0, done.stderr.decode()[-3000:]
    # report prints a progress line per figure on stderr, numbered, with the time so far
    progress = re.findall(r"^figure (\d+): (\S+)", done.stderr.decode(), re.MULTILINE)
    assert [int(n) for n, _ in progress] == list(range(1, len(progress) + 1))
    assert sum(name.endswith(".png") for _, name in progress) == len(list(folder.glob("out/*.png")))
    return folder / "out"


def test_html_has_every_section_and_embeds_every_figure(report):
    page = (report / "report.html").read_text()
    for anchor in ("setup", "overall", "problems", "problem.1", "problem.2", "robustness",
                   "failures", "methodology"):  # fmt: skip
        assert f"id='{anchor}'" in page, anchor
    images = re.findall(r"<img [^>]*src='([^']*)'", page)
    pngs = sorted(report.glob("*.png"))
    assert len(images) == len(pngs) >= 8
    assert all(src.startswith("data:image/png;base64,") for src in images)
    assert "http://" not in page and "https://" not in page  # nothing fetched from the network
    for name in ("convergence_step", "lr_sensitivity", "trajectories", "accuracy",
                 "performance_profile", "runtime_ecdf", "clip_"):  # fmt: skip
        assert any(name in png.name for png in pngs), name
    # Each problem has its loss-vs-time figure, or the note saying why not (the timer rule).
    timed = [png for png in pngs if "convergence_time" in png.name]
    assert len(timed) + page.count("No loss-vs-time figure") == 2
    assert page.count("<figcaption>Line: median training loss over seeds; band: interquartile") >= 2


def test_markdown_links_the_pngs_written_beside_it(report):
    text = (report / "report.md").read_text()
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert links and all((report / link).is_file() for link in links)
    assert "## 5. Divergence and errors" in text


def test_grid_names_reach_html_and_markdown_escaped(report):
    page = (report / "report.html").read_text()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert" not in (report / "report.md").read_text()


def test_a_diverging_configuration_is_listed_in_the_failures_section(report):
    page = (report / "report.html").read_text()
    failures = page.split("id='failures'")[1].split("id='methodology'")[0]
    assert "sgd" in failures and "No run diverged" not in failures


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)"
)
@pytest.mark.timeout(120)
def test_headless_chromium_renders_the_page_with_every_image_decoded(report):
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update",
             "--disable-sync"]  # fmt: skip
    url = (report / "report.html").resolve().as_uri()
    with tempfile.TemporaryDirectory() as profile:
        dom = subprocess.run(
            [CHROMIUM, *flags, f"--user-data-dir={profile}", "--virtual-time-budget=10000",
             "--dump-dom", url],
            capture_output=True, text=True, timeout=90,
        )  # fmt: skip
    images = len(list(report.glob("*.png")))
    assert f'data-images-decoded="{images}/{images}"' in dom.stdout, dom.stderr[-2000:]
    with tempfile.TemporaryDirectory() as profile:
        shot = Path(profile) / "page.png"
        subprocess.run(
            [CHROMIUM, *flags, f"--user-data-dir={profile}", "--window-size=1100,2000",
             f"--screenshot={shot}", url],
            capture_output=True, timeout=90,
        )  # fmt: skip
        from matplotlib.image import imread

        pixels = imread(shot)
    assert pixels.shape[0] == 2000 and pixels.std() > 0.05  # a rendered page, not a blank one


def test_leaderboard_p_values_below_1e_4_read_as_a_bound():
    import pandas as pd

    from bench.report.writer import problem_section

    group = pd.DataFrame(
        {"rank": [1.0, 2.0, 3.0], "optimizer": ["adam", "sgd", "rprop"],
         "mark": ["best", "*", ""], "config": ["lr=0.01"] * 3, "median": [0.1, 0.5, 0.2],
         "q1": [0.1] * 3, "q3": [0.6] * 3, "ci_low": [0.1] * 3, "ci_high": [0.6] * 3,
         "success": [1.0] * 3, "divergence": [0.0] * 3, "median_steps": [10.0] * 3,
         "ert": [10.0] * 3, "p_holm": [float("nan"), 0.0, 0.32], "n_seeds": [10] * 3,
         "target": [1e-3] * 3}
    )  # fmt: skip
    table = problem_section(1, "rosenbrock", group).blocks[0].content
    assert list(table["p (Holm)"]) == ["–", "< 1e-4", "0.32"]  # it read "0"


def test_setup_counts_agree_with_their_nouns():
    import pandas as pd

    from bench.report.writer import setup_section

    runs = pd.DataFrame({"cell_key": ["k"] * 3, "seed": [0, 1, 2], "problem": ["xor"] * 3,
                         "steps": [60] * 3})  # fmt: skip
    experiments = pd.DataFrame([{"name": "tiny", "blas": [{"internal_api": "openblas",
                                 "version": "0.3", "architecture": "Haswell",
                                 "num_threads": 1}]}])  # fmt: skip
    table = setup_section(runs, experiments, "final_train_loss").blocks[0].content
    values = dict(zip(table[""], table["value"], strict=True))
    assert values["runs"] == "3 in 1 configuration"  # it read "1 configurations"
    assert values["BLAS"].endswith("1 thread available; every cell runs on 1")


def test_setup_says_cells_run_on_one_blas_thread_whatever_the_pool():
    """The BLAS pool's size is not what a cell uses: every cell runs on one thread."""
    import pandas as pd

    from bench.report.writer import setup_section

    runs = pd.DataFrame({"cell_key": ["k"], "seed": [0], "problem": ["xor"], "steps": [60]})
    experiments = pd.DataFrame([{"name": "t", "blas": [{"internal_api": "openblas",
                                 "version": "0.3", "architecture": "Haswell",
                                 "num_threads": 2}]}])  # fmt: skip
    table = setup_section(runs, experiments, "final_train_loss").blocks[0].content
    blas = dict(zip(table[""], table["value"], strict=True))["BLAS"]
    assert "2 threads available; every cell runs on 1" in blas
