"""The report: every section from a small real grid (the ``report`` fixture of conftest.py),
escaped grid names, and a real browser."""

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

# The static figures the HTML draws interactively instead (report.md keeps their PNGs).
INTERACTIVE = ("convergence_step", "convergence_time", "accuracy", "performance_profile",
               "runtime_ecdf")  # fmt: skip


def test_html_has_every_section_and_embeds_every_figure(report):
    page = (report / "report.html").read_text()
    for anchor in ("setup", "overall", "problems", "problem.1", "problem.2", "robustness",
                   "failures", "methodology"):  # fmt: skip
        assert f"id='{anchor}'" in page, anchor
    images = re.findall(r"<img [^>]*src='([^']*)'", page)
    pngs = sorted(report.glob("*.png"))
    static = [png for png in pngs if not png.stem.endswith(INTERACTIVE)]
    assert len(images) == len(static) >= 5
    assert all(src.startswith("data:image/png;base64,") for src in images)
    # Interactive: the profile, the ECDF, each problem's convergence, and xor's accuracy.
    assert page.count("<figure class='interactive'") == 5
    for name in ("convergence_step", "lr_sensitivity", "trajectories", "accuracy",
                 "performance_profile", "runtime_ecdf", "clip_"):  # fmt: skip
        assert any(name in png.name for png in pngs), name
    # Each problem has its loss-vs-time figure, or the note saying why not (the timer rule):
    # report.md shows the PNG or the note, the interactive figure says it in its caption, and
    # offers time as an x axis exactly where the PNG was drawn.
    timed = [png for png in pngs if "convergence_time" in png.name]
    markdown = (report / "report.md").read_text()
    assert len(timed) + markdown.count("No loss-vs-time figure") == 2
    captions = re.findall(r"<figcaption>(convergence \(interactive\)[^<]*)</figcaption>", page)
    assert len(captions) == 2
    assert sum("Time is an x axis because" in text for text in captions) == len(timed)
    assert sum("No loss-vs-time figure" in text for text in captions) == 2 - len(timed)
    assert all("Line: median training loss over seeds; band: interquartile" in text
               and "panels" not in text for text in captions)  # fmt: skip
    assert "<p>No loss-vs-time figure" not in page  # the captions say it, not a note again


def test_html_loads_nothing_from_outside_the_page(report):
    """The static half of the offline check (the browser test counts the requests)."""
    page = (report / "report.html").read_text()
    markup = re.sub(r"<script>.*?</script>", "", page, flags=re.DOTALL)  # inline code
    assert "<script>" in page and not re.search(r"<script[^>]+src=", page)
    assert not re.search(r"(src|href)=['\"]?(https?:)?//", markup)
    assert "<link" not in markup and "@import" not in markup


def test_every_figure_is_also_exported_in_the_format_asked_for(report):
    """`optbench report --format svg` (the fixture's) writes an SVG beside every PNG."""
    pngs = sorted(report.glob("*.png"))
    svgs = sorted(report.glob("*.svg"))
    assert [p.stem for p in pngs] == [s.stem for s in svgs]
    assert all(b"<svg" in svg.read_bytes()[:2000] for svg in svgs)


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
    images = (report / "report.html").read_text().count("<img ")
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
