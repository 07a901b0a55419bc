"""The README stays true: its Python examples run, and its Quick start has exactly two commands."""

import re
from pathlib import Path

import pytest

import optimizers.base

README = (Path(__file__).parents[1] / "README.md").read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", README, re.S)


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_python_examples_run(index, monkeypatch, tmp_path):
    monkeypatch.setattr(optimizers.base, "_REGISTRY", dict(optimizers.base._REGISTRY))
    code = BLOCKS[index]
    if "results/quick.sqlite" in code:
        from bench.cli import main

        store = tmp_path / "quick.sqlite"
        grid = tmp_path / "g.toml"
        grid.write_text('seeds = 2\nsteps = 20\n[[problems]]\nname = "xor"\n'
                        '[[optimizers]]\nname = "adam"\n')  # fmt: skip
        assert main(["run", str(grid), "--store", str(store), "--jobs", "1"]) == 0
        code = code.replace("results/quick.sqlite", str(store))
    exec(compile(code, f"README block {index}", "exec"), {})


def test_quick_start_holds_exactly_two_commands():
    section = README.split("## Quick start", 1)[1]
    block = section.split("```", 2)[1]
    commands = [line for line in block.strip().splitlines() if line.strip()]
    assert len(commands) == 2
    assert "optbench run" in commands[0] and "pytest" in commands[1]
