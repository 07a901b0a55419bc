"""The report against hostile names and unusable output paths: escaped, refused in one line, or
written whole; never a traceback, never a half-written file."""

import errno
import io
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from bench.cli import main
from bench.report import render, writer
from tests.bench.analysis.test_regression import write_store

LINK = "[x](javascript:alert(1))"
DOLLAR = "cost $x^$"  # not valid mathtext: matplotlib raises ValueError if it parses it
PLUGIN = f"""
import dataclasses
import optimizers


def _step(self, params, grads, state, lr=None):
    for p, g in zip(params, grads):
        p -= (self.lr if lr is None else lr) * g


@optimizers.register({LINK!r})
@dataclasses.dataclass(frozen=True)
class Linked(optimizers.Optimizer):
    lr: float = 0.01

    def init(self, params):
        return None

    step = _step


@optimizers.register({DOLLAR!r})
@dataclasses.dataclass(frozen=True)
class Dollar(optimizers.Optimizer):
    lr: float = 0.01
    note: str = "$x^2$"

    def init(self, params):
        return None

    step = _step
"""
GRID = f"""\
name = "safety"
seeds = 3
steps = 40
log_every = 10
plugins = ["hostile_plugin"]

[[problems]]
name = "rosenbrock"
start_noise = 0.1

[[problems]]
name = "xor"

[[optimizers]]
name = "sgd"
lr = [0.001, 0.01]

[[optimizers]]
name = {LINK!r}
lr = 0.01

[[optimizers]]
name = {DOLLAR!r}
lr = [0.001, 0.01]
note = ['$\\nocommand$', '$x_$']  # swept, so that each tuned configuration names it

[[clipping]]
name = "none"

[[clipping]]
name = "global_norm"
max_norm = 1.0
"""


def optbench(folder: Path, *args: str) -> subprocess.CompletedProcess:
    """``optbench ARGS`` in a subprocess (the plugin's registrations stay out of this one)."""
    return subprocess.run([sys.executable, "-m", "bench.cli", *args], cwd=folder,
                          capture_output=True, text=True, timeout=240)  # fmt: skip


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    """A small store whose optimizer names and string parameters hold ``$`` and a link."""
    folder = tmp_path_factory.mktemp("hostile")
    (folder / "hostile_plugin.py").write_text(PLUGIN)
    (folder / "grid.toml").write_text(GRID)
    done = optbench(folder, "run", "grid.toml", "--store", "hostile.sqlite", "--jobs", "1",
                    "--no-report")  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return folder / "hostile.sqlite"


@pytest.fixture(scope="module")
def plain_store(tmp_path_factory) -> Path:
    """Two built-in optimizers on Rosenbrock, 8 seeds: the store the path tests report."""
    return write_store(tmp_path_factory.mktemp("plain") / "plain.sqlite")


@pytest.fixture(scope="module")
def report(store) -> tuple[subprocess.CompletedProcess, Path]:
    """``optbench report`` of :func:`store`, as a user runs it."""
    out = store.parent / "report"
    return optbench(store.parent, "report", str(store), "-o", str(out)), out


def test_dollar_signs_in_names_and_parameters_do_not_break_the_report(report):
    done, out = report
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    assert len(list(out.glob("*.png"))) >= 8
    page = (out / "report.html").read_text()
    assert "cost $x^$" in page and "note=$" in page  # drawn and tabled as written


def test_every_text_matplotlib_draws_from_a_name_is_literal(store):
    """Each figure is drawn in full; a name's ``$`` never reaches matplotlib unescaped."""
    from matplotlib import cbook
    from matplotlib.text import Text

    from bench.report.figures import figures
    from bench.store.store import Store

    with Store(store, create=False, readonly=True) as db:
        runs, curves = db.runs(), db.curves()
    drawn = 0
    for _, _, figure in figures(runs, curves, trajectories=False):
        if isinstance(figure, str):  # a figure left out: a note, nothing drawn
            continue
        figure.savefig(io.BytesIO(), format="png")  # lays out every text, ticks included
        for text in figure.findobj(Text):
            if re.search(r"x\^|x_|nocommand", text.get_text()):
                assert not cbook.is_math_text(text.get_text()), text.get_text()
                drawn += 1
        figure.clear()
    assert drawn >= 10


def test_markdown_links_from_names_are_escaped_in_both_pages(report):
    done, out = report
    assert done.returncode == 0, done.stderr[-3000:]
    markdown = (out / "report.md").read_text()
    # The only links are the figures': an unescaped "[...](" elsewhere would be a name's link.
    links = re.findall(r"(?<!\\)\[((?:[^\]\\]|\\.)*)\]\(([^)]*)\)", markdown)
    assert links and all((out / target).is_file() for _, target in links), links
    assert "\\[x\\](javascript:alert(1))" in markdown
    page = (out / "report.html").read_text()
    assert not re.search(r"href\s*=\s*['\"]?\s*javascript:", page, re.IGNORECASE)
    assert "[x](javascript:alert(1))" in page  # as text: HTML gives link syntax no meaning


@pytest.mark.parametrize(
    "name",
    [LINK, "![img](https://example.com/x.png)", "<img src=x onerror=alert(1)>", "a|b",
     "$x^2$", "`code`", "*em* _em_", "# head", "line\nbreak", "<https://e.com>"],
)  # fmt: skip
def test_markdown_cells_carry_no_markup_from_names(name):
    table = render.markdown_table(pd.DataFrame({"optimizer": [name]}))
    cell = table.splitlines()[-1].removeprefix("| ").removesuffix(" |")
    plain = re.sub(r"\\[!-/:-@\[-`{-~]", "", cell)  # take out every backslash-escaped mark
    assert not re.search(r"[\[\]`*_$|<>\n]", plain), cell
    assert "\n" not in table.splitlines()[-1]


def test_a_report_onto_an_existing_file_is_refused_in_one_line(plain_store, tmp_path, capsys):
    taken = tmp_path / "notes.txt"
    taken.write_text("keep me")
    assert main(["report", str(plain_store), "-o", str(taken)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "notes.txt" in err and "not a folder" in err
    assert taken.read_text() == "keep me"


def test_a_report_onto_the_store_itself_is_refused(plain_store, capsys):
    before = plain_store.read_bytes()
    assert main(["report", str(plain_store), "-o", str(plain_store)]) == 2
    assert "not a folder" in capsys.readouterr().err
    assert plain_store.read_bytes() == before


def _fail_savefig(monkeypatch):
    from matplotlib.figure import Figure

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Figure, "savefig", full)


def _fail_mkdir(monkeypatch, out: Path):
    real = Path.mkdir

    def read_only(self, *args, **kwargs):
        if self == out:
            raise OSError(errno.EROFS, "Read-only file system", str(self))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", read_only)


@pytest.mark.parametrize(
    ("inject", "cause"),
    [(_fail_savefig, "No space left on device"), (_fail_mkdir, "Read-only file system")],
)
def test_an_os_error_while_writing_is_one_line_exit_2(
    plain_store, tmp_path, monkeypatch, capsys, inject, cause
):
    out = tmp_path / "out"
    inject(monkeypatch, *([out] if inject is _fail_mkdir else []))
    assert main(["report", str(plain_store), "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and cause in err and err.startswith("optbench report:")
    assert not out.exists() or not any(p.name.endswith(".tmp") for p in out.iterdir())


def test_an_interrupted_write_leaves_the_previous_report_intact(plain_store, tmp_path, monkeypatch):
    out = tmp_path / "out"
    writer.write_report(plain_store, out)
    before = {path.name: path.read_bytes() for path in out.iterdir()}
    assert before["report.html"]
    # A page that cannot be encoded: the write fails after the file was opened.
    monkeypatch.setattr(writer, "render_html", lambda *a, **k: "<p>" * 100_000 + "\ud800")
    with pytest.raises(UnicodeEncodeError):
        writer.write_report(plain_store, out)
    after = {path.name: path.read_bytes() for path in out.iterdir()}
    assert after["report.html"] == before["report.html"]
    assert after["report.md"] == before["report.md"]
    assert set(after) == set(before)  # no temporary file left behind


KILLED_MID_WRITE = """
import os, pathlib, signal, sys
from bench.report import writer

real = pathlib.Path.write_text

def half_then_kill(self, text, *args, **kwargs):
    if "report.html" in self.name:  # the page, or a temporary file standing in for it
        real(self, text[: len(text) // 2], *args, **kwargs)
        os.kill(os.getpid(), signal.SIGKILL)
    return real(self, text, *args, **kwargs)

pathlib.Path.write_text = half_then_kill
writer.write_report(sys.argv[1], sys.argv[2])
"""


def test_a_kill_mid_write_leaves_the_previous_report_intact(plain_store, tmp_path):
    out = tmp_path / "out"
    writer.write_report(plain_store, out)
    before = (out / "report.html").read_bytes()
    done = subprocess.run([sys.executable, "-c", KILLED_MID_WRITE, str(plain_store), str(out)],
                          capture_output=True, timeout=120)  # fmt: skip
    assert done.returncode == -9, done.stderr[-2000:]
    assert (out / "report.html").read_bytes() == before


def test_temporary_files_of_a_killed_report_are_removed_by_the_next(plain_store, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / ".report.html.0badf00d.tmp").write_text("<p>half")
    (out / ".convergence.png.12345678.tmp").write_bytes(b"\x89PNG")
    (out / ".notes.tmp").write_text("not the report's")
    writer.write_report(plain_store, out)
    assert sorted(p.name for p in out.glob(".*")) == [".notes.tmp"]
