"""Grid messages that point at the fix: numbers written as strings, and ``seed`` for ``seeds``."""

import textwrap

import pytest

from bench.grid import GridError, parse_grid

GRID = """\
name = "hints"
{top}
[[problems]]
name = "xor"

[[optimizers]]
name = "adam"
{optimizer}
"""


def grid(top: str = "", optimizer: str = ""):
    return parse_grid(GRID.format(top=top, optimizer=optimizer), label="grid.toml")


def error(top: str = "", optimizer: str = "") -> str:
    with pytest.raises(GridError) as info:
        grid(top, optimizer)
    message = str(info.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize(
    ("line", "hint"),
    [
        ('lr = "1e-3, 1e-2"', "write a TOML list, without quotes: lr = [1e-3, 1e-2]"),
        ('lr = "1e-3 1e-2 0.1"', "lr = [1e-3, 1e-2, 0.1]"),
        ('lr = "1e-3"', "write the number without quotes: 1e-3"),
        ('lr = [1e-3, "1e-2"]', "write the number without quotes: 1e-2"),
    ],
)
def test_numbers_in_a_string_suggest_the_toml_spelling(line, hint):
    message = error(optimizer=line)
    assert "optimizers[0].lr" in message and hint in message


@pytest.mark.parametrize("line", ['steps = "100"', 'seeds = "1, 2"'])
def test_integers_in_a_string_suggest_the_toml_spelling(line):
    assert "without quotes" in error(top=line)


def test_a_word_in_a_string_gets_no_number_hint():
    message = error(optimizer='lr = "fast"')
    assert "expected a number, got 'fast'" in message and "quotes" not in message


def test_seed_without_seeds_warns_that_seeds_was_probably_meant():
    spec = grid(top="seed = 10")
    assert spec.seeds == (0, 1, 2, 3, 4) and spec.seed == 10  # the grid still means what it says
    (warning,) = spec.warnings
    assert warning.startswith("seed: ") and "seeds = 10" in warning and "\n" not in warning


@pytest.mark.parametrize("top", ["seed = 10\nseeds = 3", "seeds = 3", "", "seed = 0"])
def test_no_warning_when_seed_is_not_a_likely_slip(top):
    assert grid(top=top).warnings == ()


def test_run_prints_the_seed_warning_on_one_line_and_goes_on(tmp_path, capsys):
    from bench.cli import main

    path = tmp_path / "g.toml"
    path.write_text(GRID.format(top="seed = 3\nsteps = 5", optimizer=""))
    assert main(["run", str(path), "--store", str(tmp_path / "g.sqlite"), "--dry-run"]) == 0
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("optbench run: warning: ")
    assert "seeds = 3" in lines[0]
    assert "cells" in captured.out


def test_presets_draw_no_warning():
    from bench.grid import load_grid, preset_names

    for name in preset_names():
        assert load_grid(name).warnings == (), textwrap.shorten(name, 20)
