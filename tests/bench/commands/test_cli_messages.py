"""What the CLI says: unknown commands, each command's exit codes, store paths, errors that
rerun, the demo's learning rates, and tables that fit an 80-column terminal."""

import importlib
import textwrap

import pytest

from bench.cli import COMMANDS, build_parser, main
from bench.store.store import load

from ..conftest import TINY_GRID


def run(*argv):
    return main([str(a) for a in argv])


def one_line(err: str) -> str:
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


# --- 1. an unknown subcommand ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "meant"), [("rn", "run"), ("stauts", "status"), ("lsit", "list")]
)
def test_an_unknown_command_suggests_the_closest_on_one_line(capsys, typed, meant):
    assert run(typed) == 2
    err = one_line(capsys.readouterr().err)
    assert f"unknown command {typed!r}" in err and f"did you mean {meant!r}?" in err


# --- 2. exit codes -----------------------------------------------------------------------------


def help_text(command: str) -> str:
    (sub,) = [a for a in build_parser()._subparsers._actions if a.choices]  # noqa: SLF001
    return sub.choices[command].format_help()


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_command_has_its_own_exit_codes(command):
    module = importlib.import_module(COMMANDS[command])
    assert module.EXIT_CODES.startswith("exit codes:")
    assert module.EXIT_CODES in help_text(command)
    if command != "run":
        run_codes = importlib.import_module(COMMANDS["run"]).EXIT_CODES
        assert run_codes != module.EXIT_CODES
        assert "ended in 'error'" not in module.EXIT_CODES


def test_exit_codes_say_what_1_means_for_each_command():
    codes = {name: importlib.import_module(m).EXIT_CODES for name, m in COMMANDS.items()}
    assert "regression" in codes["speed"].split("  1 ")[1].splitlines()[0]
    assert "regression" in codes["compare"].split("  1 ")[1].splitlines()[0]
    assert "'error'" in codes["run"].split("  1 ")[1].splitlines()[0]
    for name in ("list", "status", "demo", "report", "copy"):
        assert "\n  1 " not in codes[name], name  # these never exit 1


# --- 4. a store path without its .sqlite ---------------------------------------------------


@pytest.mark.parametrize("command", ["report", "status"])
def test_a_store_path_without_sqlite_suggests_it(tmp_path, capsys, command):
    (tmp_path / "quick.sqlite").write_bytes(b"")
    assert run(command, tmp_path / "quick") == 2
    err = one_line(capsys.readouterr().err)
    assert f"did you mean '{tmp_path / 'quick.sqlite'}'?" in err
    assert run(command, tmp_path / "other") == 2
    assert "did you mean" not in one_line(capsys.readouterr().err)


# --- 6. --store in a folder that does not exist -------------------------------------------------


def test_a_store_in_a_missing_folder_is_refused_and_nothing_is_made(tiny_grid, tmp_path, capsys):
    store = tmp_path / "no" / "such" / "dir" / "x.sqlite"
    for extra in ([], ["--dry-run"]):
        assert run("run", tiny_grid, "--store", store, "--jobs", 1, *extra) == 2
        err = one_line(capsys.readouterr().err)
        assert str(tmp_path / "no" / "such" / "dir") in err and "does not exist" in err
        assert not (tmp_path / "no").exists()


@pytest.mark.parametrize("env", [False, True])
def test_the_default_results_folder_is_still_made(tmp_path, monkeypatch, capsys, env):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tiny.toml").write_text(TINY_GRID)
    folder = "elsewhere" if env else "results"
    if env:
        monkeypatch.setenv("OPTBENCH_RESULTS", folder)
    else:
        monkeypatch.delenv("OPTBENCH_RESULTS", raising=False)
    store = f"{folder}/tiny.sqlite"
    assert run("run", "tiny.toml", "--store", store, "--jobs", 1, "--no-report") == 0
    assert (tmp_path / store).is_file()


# --- 7. runs that ended in error run again; the distinct errors are shown --------------------

FLAKY_PLUGIN = """
import dataclasses
from pathlib import Path
import optimizers

FLAG = Path(__file__).with_name("still_broken")

@optimizers.register("flaky_opt")
@dataclasses.dataclass(frozen=True)
class Flaky(optimizers.Optimizer):
    lr: float = 0.01
    def init(self, params):
        return None
    def step(self, params, grads, state, lr=None):
        if FLAG.exists():
            raise ValueError("flaky on purpose")
        for p, g in zip(params, grads):
            p -= self.lr * g

@optimizers.register("other_bug_opt")
@dataclasses.dataclass(frozen=True)
class OtherBug(Flaky):
    def step(self, params, grads, state, lr=None):
        if FLAG.exists():
            raise KeyError("another bug")
        super().step(params, grads, state, lr)
"""

FLAKY_GRID = """\
name = "flaky"
seeds = 2
steps = 20
plugins = ["cli_messages_flaky_plugin"]

[[problems]]
name = "quadratic"

[[optimizers]]
name = "flaky_opt"
lr = [0.01, 0.02]

[[optimizers]]
name = "other_bug_opt"

[[optimizers]]
name = "sgd"
"""


def test_error_runs_rerun_next_time_and_their_distinct_errors_are_shown(tmp_path, capsys):
    (tmp_path / "cli_messages_flaky_plugin.py").write_text(FLAKY_PLUGIN)
    (tmp_path / "still_broken").touch()
    grid, store = tmp_path / "flaky.toml", tmp_path / "flaky.sqlite"
    grid.write_text(FLAKY_GRID)
    assert run("run", grid, "--store", store, "--jobs", 1, "--no-report") == 1
    out = capsys.readouterr().out
    assert "6 runs ended in error" in out
    assert "  4 x ValueError: flaky on purpose" in out
    assert "  2 x KeyError: 'another bug'" in out
    assert "Traceback" not in out

    (tmp_path / "still_broken").unlink()  # the bug is fixed
    assert run("run", grid, "--store", store, "--jobs", 1, "--dry-run") == 0
    assert "3 cells (6 runs) to run" in capsys.readouterr().out
    assert run("run", grid, "--store", store, "--jobs", 1, "--no-report") == 0
    out = capsys.readouterr().out
    assert "resuming: 1 of 4 cells" in out and "ended in error" not in out
    runs, _ = load(store)
    assert len(runs) == 8 and set(runs["status"]) == {"done"}


def test_at_most_five_distinct_errors_are_shown():
    from bench.commands.run import _distinct_errors

    errors = [f"Traceback...\n  File x\nValueError: bug {i % 7}" for i in range(70)]
    lines = _distinct_errors(errors).splitlines()
    assert len(lines) == 6 and lines[0] == "  10 x ValueError: bug 0"
    assert lines[-1] == "  ... and 2 other distinct errors"


# --- 9. the demo says which lr it uses -------------------------------------------------------


def test_demo_uses_the_quick_presets_lr_and_says_so(capsys):
    from bench.grid import load_grid
    from bench.run.demo import quadratic_demo

    assert run("demo", "--steps", 5, "--runs", 2) == 0
    out = capsys.readouterr().out
    assert "quick preset" in out and "lr from" in out
    quick = {o.name: o.params["lr"] for o in load_grid("quick").options["optimizers"]}
    rows = {r["optimizer"]: r for r in quadratic_demo(steps=2, runs=1)}
    assert {name: rows[name]["lr"] for name in quick} == pytest.approx(quick)
    for name, row in rows.items():  # an optimizer the preset does not name runs at its default
        assert row["lr_from"] == ("quick" if name in quick else "default")


# --- 8. tables fit 80 columns ------------------------------------------------------------------


def assert_fits(text: str, width: int = 80) -> None:
    long = [line for line in text.splitlines() if len(line) > width]
    assert not long, "\n" + textwrap.indent("\n".join(long), "> ")


@pytest.fixture
def two_tiny_stores(tmp_path_factory):
    folder = tmp_path_factory.mktemp("narrow")
    grid = folder / "tiny.toml"
    grid.write_text(TINY_GRID)
    stores = folder / "a.sqlite", folder / "b.sqlite"
    for store in stores:
        assert run("run", grid, "--store", store, "--jobs", 1, "--no-report") == 0
    return grid, stores


def test_run_list_status_and_compare_fit_80_columns(two_tiny_stores, capsys, monkeypatch):
    grid, (a, b) = two_tiny_stores
    capsys.readouterr()
    monkeypatch.chdir(grid.parent)  # short paths: the prose lines name the store
    grid, a, b = (path.relative_to(grid.parent) for path in (grid, a, b))
    monkeypatch.setenv("COLUMNS", "80")
    assert run("run", grid, "--store", a.with_name("c.sqlite"), "--jobs", 1, "--no-report") == 0
    out = capsys.readouterr().out
    assert "median" in out
    assert_fits(out)
    assert run("list") == 0
    assert_fits(capsys.readouterr().out)
    assert run("status", a, "--grid", grid) == 0
    assert_fits(capsys.readouterr().out)
    assert run("compare", a, b, "--all") == 0
    out = capsys.readouterr().out
    assert "final_loss" in out or "final loss" in out
    assert_fits(out)


def test_wide_terminals_keep_the_wide_summary(two_tiny_stores, capsys, monkeypatch):
    grid, (a, _) = two_tiny_stores
    monkeypatch.setenv("COLUMNS", "160")
    assert run("run", grid, "--store", a, "--jobs", 1, "--no-report") == 0
    assert "best configuration" in capsys.readouterr().out
    assert run("compare", a, a.with_name("b.sqlite"), "--all") == 0
    assert "p_holm" in capsys.readouterr().out
