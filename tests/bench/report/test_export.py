"""Figures exported for papers: `optbench report --format svg|pdf` writes each beside its PNG."""

import subprocess
import sys

import pytest

from bench.report import canvas


def a_figure():
    fig = canvas.new_figure(2.0)
    fig.add_subplot().plot([0, 1], [1, 0])
    return fig


@pytest.mark.parametrize(("kind", "magic"), [("pdf", b"%PDF"), ("svg", b"<svg"), ("png", b"PNG")])
def test_a_figure_is_saved_as_png_and_in_the_format_asked_for(tmp_path, kind, magic):
    canvas.save(a_figure(), tmp_path / "f.png", formats=(kind,))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted({"f.png", f"f.{kind}"})
    assert magic in (tmp_path / f"f.{kind}").read_bytes()[:400]


def test_an_unknown_format_is_refused(tmp_path):
    with pytest.raises(ValueError, match="not one of png, svg, pdf"):
        canvas.save(a_figure(), tmp_path / "f.png", formats=("jpg",))
    assert list(tmp_path.iterdir()) == []  # refused before anything is written
    done = subprocess.run(
        [sys.executable, "-m", "bench.cli", "report", "x.sqlite", "--format", "jpg"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2 and "invalid choice: 'jpg'" in done.stderr


def test_small_multiples_are_exported_whole(tmp_path):
    """A figure cut into panels (more than five optimizers) is one file per format, every
    panel in it."""
    from bench.report.figures import convergence
    from tests.bench.report.test_figures import many_optimizers

    canvas.save(convergence.draw(many_optimizers(12), "quadratic"), tmp_path / "f.png",
                formats=("svg",))  # fmt: skip
    svg = (tmp_path / "f.svg").read_text()
    assert all(f"ranks {ranks}" in svg for ranks in ("1–4", "5–8", "9–12"))
