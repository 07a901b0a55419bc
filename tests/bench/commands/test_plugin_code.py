"""An edited plugin reruns its cells (its source enters their keys), the store records the code
of each run, and a ``problems/`` or ``optimizers/`` folder that would shadow optbench's packages
is refused at start-up."""

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

import optimizers
from bench.cli import main
from bench.grid import load_grid
from bench.grid.code import module_digest
from bench.shadowing import optbench_package, shadowing

ROOT = Path(__file__).parents[3]

PLUGIN = '''
from dataclasses import dataclass
import numpy as np
import optimizers


@optimizers.register("{rule}")
@dataclass(frozen=True)
class SignSGD(optimizers.Optimizer):
    """signSGD: p -= lr * sign(g)."""

    lr: float = 0.01

    def init(self, params):
        return [np.empty_like(p) for p in params]

    def step(self, params, grads, state, lr=None):
        for p, g, scratch in zip(params, grads, state):
            np.sign(g, out=scratch)
            scratch *= {scale} * self._lr(lr)
            p -= scratch
'''

GRID = """
name = "plugged"
seeds = 2
steps = 20
log_every = 10
plugins = ["{module}"]

[[problems]]
name = "rosenbrock"

[[problems]]
name = "beale"

[[optimizers]]
name = "{rule}"
lr = [0.01, 0.001]

[[optimizers]]
name = "adam"
lr = 0.01
"""


def write_plugin(folder: Path, module: str, rule: str, scale: float) -> Path:
    path = folder / f"{module}.py"
    path.write_text(PLUGIN.format(rule=rule, scale=scale))
    sys.modules.pop(module, None)  # as a new `optbench run` process would import it afresh
    return path


@pytest.fixture
def plugged(tmp_path):
    module, rule = f"plug_{tmp_path.name[-12:].replace('-', '_')}", "sign_sgd_edited"
    plugin = write_plugin(tmp_path, module, rule, 1.0)
    grid = tmp_path / "grid.toml"
    grid.write_text(GRID.format(module=module, rule=rule))
    return grid, plugin, module, rule


def test_only_cells_that_use_a_plugin_carry_its_code(plugged):
    grid, plugin, module, rule = plugged
    cells = load_grid(str(grid)).cells()
    digest = hashlib.sha256(plugin.read_bytes()).hexdigest()[:16]
    assert module_digest(module) == digest
    for cell in cells:
        expected = {module: digest} if cell.optimizer == rule else None
        assert cell.code == expected
        assert ("code" in cell.identity()) == (expected is not None)


def test_editing_the_plugin_changes_its_cells_keys_only(plugged):
    grid, plugin, module, rule = plugged
    before = {c.optimizer + str(c.lr) + c.problem: c.key for c in load_grid(str(grid)).cells()}
    write_plugin(grid.parent, module, rule, 0.5)
    after = {c.optimizer + str(c.lr) + c.problem: c.key for c in load_grid(str(grid)).cells()}
    assert before.keys() == after.keys()
    for name, key in before.items():
        assert (after[name] != key) == name.startswith(rule), name


def test_builtin_presets_carry_no_code():
    assert all(cell.code is None for cell in load_grid("quick").cells())


def stored(store: Path) -> list[tuple]:
    with sqlite3.connect(store) as conn:
        return conn.execute("SELECT optimizer, cell_key, code FROM runs ORDER BY id").fetchall()


def test_run_reruns_the_cells_of_an_edited_plugin_and_says_so(plugged, capsys):
    grid, plugin, module, rule = plugged
    store = grid.parent / "s.sqlite"
    argv = ["run", str(grid), "--store", str(store), "--jobs", "1", "--no-report"]
    assert main(argv) == 0
    first = stored(store)
    assert len(first) == 12  # 2 problems x 3 optimizer configurations x 2 seeds
    old_digest = module_digest(module)
    for optimizer, _, code in first:
        assert (json.loads(code) if code else None) == (
            {module: old_digest} if optimizer == rule else None
        )
    capsys.readouterr()
    write_plugin(grid.parent, module, rule, 0.5)
    optimizers.base._REGISTRY.pop(rule)  # the registration of the old code, as a new process
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert f"rerunning 4 cells: plugin {module} changed" in out
    second = stored(store)
    assert len(second) == 12  # the old code's runs are gone, not mixed with the new
    new_digest = module_digest(module)
    assert new_digest != old_digest
    plugin_rows = [row for row in second if row[0] == rule]
    assert {json.loads(code)[module] for _, _, code in plugin_rows} == {new_digest}
    assert {row[1] for row in plugin_rows}.isdisjoint(row[1] for row in first)
    builtin = [row for row in first if row[0] != rule]
    assert builtin == [row for row in second if row[0] != rule]  # adam was not rerun
    assert main(argv) == 0
    assert "nothing to run" in capsys.readouterr().out


# --- shadowing ---------------------------------------------------------------------------------


def test_a_project_problems_package_is_refused_at_start_up(tmp_path):
    (tmp_path / "problems").mkdir()
    (tmp_path / "problems" / "__init__.py").write_text("")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "bench.cli", "list"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert str(tmp_path / "problems") in done.stderr
    assert str(optbench_package("problems")) in done.stderr
    assert "rename your folder" in done.stderr


def test_a_folder_without_init_does_not_shadow_a_regular_install(tmp_path, monkeypatch):
    (tmp_path / "optimizers").mkdir()  # a namespace package loses to optbench's regular one
    monkeypatch.chdir(tmp_path)
    assert shadowing() is None


def without_optbench_on_the_path(monkeypatch):
    """As with an editable install, whose import hook runs after the path search."""
    monkeypatch.setattr(sys, "path", [p for p in sys.path if Path(p or ".").resolve() != ROOT])


def test_with_an_editable_install_a_plain_folder_shadows_too(tmp_path, monkeypatch):
    (tmp_path / "optimizers").mkdir()
    monkeypatch.chdir(tmp_path)
    without_optbench_on_the_path(monkeypatch)
    message = shadowing()
    assert message.startswith(f"{tmp_path / 'optimizers'} shadows optbench's package")


def test_a_grid_folder_with_optimizers_is_refused_by_run(tmp_path, monkeypatch, capsys):
    project = tmp_path / "project"
    (project / "optimizers").mkdir(parents=True)
    (project / "optimizers" / "__init__.py").write_text("")
    grid = project / "grid.toml"
    grid.write_text('[[problems]]\nname = "beale"\n[[optimizers]]\nname = "adam"\n')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    without_optbench_on_the_path(monkeypatch)
    assert main(["run", str(grid), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert str(project / "optimizers") in err and str(optbench_package("optimizers")) in err
