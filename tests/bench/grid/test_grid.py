"""Tests for bench.grid: TOML -> validated spec -> cells."""

import math
import sys
import textwrap
from pathlib import Path

import pytest

import optimizers
import problems
from bench.grid import MAX_CELLS, GridError, load_grid, parse_grid, preset_names

HEAD = """
[[problems]]
name = "rosenbrock"
"""
ADAM = """
[[optimizers]]
name = "adam"
"""


def grid(text: str, **kw):
    return parse_grid(textwrap.dedent(text), label="grid.toml", **kw)


def grid_error(text: str) -> str:
    with pytest.raises(GridError) as info:
        grid(text)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("grid.toml: ")
    assert info.value.__cause__ is None and info.value.__suppress_context__
    return message


# --- errors ---------------------------------------------------------------------------------

BAD = [
    # (grid text, expected fragments of the one-line message)
    (
        HEAD + "[[optimizers]]\nname='adam'\n[[optimizers]]\nname = 'adamm'",
        ["optimizers[1].name: unknown optimizer 'adamm' (did you mean 'adam'"],
    ),
    ("[[problems]]\nname = 'rosenbrok'" + ADAM, ["problems[0].name", "'rosenbrock'"]),
    ("initializers = ['xavier']" + HEAD + ADAM, ["initializers[0]", "'xavier_normal'"]),
    (HEAD + ADAM + "[[clipping]]\nname = 'global'", ["clipping[0].name", "'global_norm'"]),
    (HEAD + ADAM + "[[schedules]]\nname = 'cosin'", ["schedules[0].name", "'cosine'"]),
    (HEAD + ADAM + "[[regularizers]]\nname = 'l3'", ["regularizers[0].name", "'l2'"]),
    (HEAD + ADAM + "lrr = 0.1", ["optimizers[0].lrr: unknown parameter 'lrr'", "'lr'"]),
    (HEAD + "dims = 3" + ADAM, ["problems[0].dims", "'dim'"]),
    (HEAD + ADAM + "lr = [0.1, -1.0]", ["optimizers[0].lr[1]", "-1.0", "out of range"]),
    (HEAD + ADAM + "lr = 'fast'", ["optimizers[0].lr", "'fast'"]),
    (HEAD + ADAM + "lr = nan", ["optimizers[0].lr", "nan"]),
    (HEAD + ADAM + "lr = []", ["optimizers[0].lr", "empty"]),
    (HEAD + ADAM + "betas = [0.9, 2.0]", ["optimizers[0].betas", "2.0"]),
    ("seeds = -1" + HEAD + ADAM, ["seeds", "-1"]),
    ("seeds = [1, 1]" + HEAD + ADAM, ["seeds", "repeats [1]"]),
    ("steps = 0" + HEAD + ADAM, ["steps", "0 is out of range"]),
    ("steps = 1.5" + HEAD + ADAM, ["steps", "integer", "1.5"]),
    ("batch_size = 'half'" + HEAD + ADAM, ["batch_size", "'half'", '"full"']),
    ("timeout = -3" + HEAD + ADAM, ["timeout", "-3"]),
    ("optimizers = []" + HEAD, ["optimizers: empty"]),
    (HEAD, ["optimizers: missing"]),
    ("optimiser = 'adam'" + HEAD + ADAM, ["optimiser: unknown key", "'optimizers'"]),
    ("name = 'a b'" + HEAD + ADAM, ["name", "'a b'"]),
    ("steps = 10\nepochs = 1" + HEAD + ADAM, ["epochs", "not both"]),
    ("epochs = 1" + HEAD + ADAM, ["epochs", "rosenbrock", "add steps = N to problems[0]"]),
    (HEAD + "batch_size = 8" + ADAM, ["problems[0].batch_size", "no training data"]),
    (HEAD + ADAM + "[[clipping]]\nname = 'global_norm'", ["clipping[0].max_norm", "missing"]),
    (HEAD + ADAM + "[[clipping]]\nname = 'value'\nclip_value = [1, -1]", ["clip_value[1]"]),
    (HEAD + ADAM + "[[regularizers]]\nname = 'l2'", ["regularizers[0].strength", "missing"]),
    (
        HEAD + ADAM + "[[regularizers]]\nname = 'l2'\nstrength = -1.0",
        ["regularizers[0].strength", "-1.0"],
    ),
    (
        HEAD + ADAM + "[[regularizers]]\nname = 'l2'\nstrength = 1.0\nl1_ratio = 0.5",
        ["regularizers[0].l1_ratio", "unknown parameter"],
    ),
    (
        "steps = 20" + HEAD + ADAM + "[[schedules]]\nname = 'warmup_cosine'\n"
        "warmup_steps = 50\nT_max = 'steps'",
        ["schedules[0].warmup_steps", "50", "with steps = 20"],
    ),
    (HEAD + ADAM + "[[schedules]]\nname = 'step'\nstep_sise = 5", ["step_sise", "'step_size'"]),
    (HEAD + ADAM + "lr = 2024-01-01", ["optimizers[0].lr", "date"]),
    (HEAD + ADAM + "initializers = ['he_normal']", ["optimizers[0].initializers", "top-level"]),
    ("plugins = ['no_such_module_xyz']" + HEAD + ADAM, ["plugins[0]", "'no_such_module_xyz'"]),
    ("steps = = 3", ["not valid TOML", "line 1, column"]),
]


@pytest.mark.parametrize(("text", "fragments"), BAD)
def test_bad_grid_gives_one_line_error_naming_key_and_value(text, fragments):
    message = grid_error(text)
    for fragment in fragments:
        assert fragment in message


def test_errors_name_the_file(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(HEAD + "[[optimizers]]\nname = 'adamm'\n")
    with pytest.raises(GridError, match=r"bad\.toml: optimizers\[0\]\.name: unknown optimizer"):
        load_grid(str(path))


def test_unknown_preset_or_missing_file_lists_presets(tmp_path):
    with pytest.raises(GridError, match="quick") as info:
        load_grid("quik")
    assert "did you mean 'quick'" in str(info.value)
    with pytest.raises(GridError, match="cannot read.*presets: full, quick, standard"):
        load_grid(str(tmp_path / "missing.toml"))


# --- expansion ------------------------------------------------------------------------------

SWEEP = """
seeds = 3
steps = 20
batch_size = 64
initializers = ["default", "he_normal"]

[[problems]]
name = "rosenbrock"
dim = [2, 3]

[[problems]]
name = "xor"
steps = 50               # per-problem override

[[optimizers]]
name = "adam"
lr = [1e-3, 1e-2]

[[optimizers]]
name = "sgd"
lr = 0.1
momentum = [0.0, 0.9]

[[clipping]]
name = "none"

[[clipping]]
name = "global_norm"
max_norm = [1.0, 10.0]

[[schedules]]
name = "constant"

[[schedules]]
name = "cosine"
T_max = "steps"

[[regularizers]]
name = "none"

[[regularizers]]
name = "l2"
strength = [1e-4, 1e-3]
"""


def test_expansion_count_by_hand():
    spec = grid(SWEEP)
    # 4 optimizer configurations (adam x 2 lr, sgd x 2 momentum), 3 clippings, 2 schedules.
    # rosenbrock (2 dims): no initializer, no regularizer axes -> 2 * 4 * 3 * 2 = 48.
    # xor: 2 initializers, 3 regularizers -> 4 * 2 * 3 * 2 * 3 = 144.
    assert spec.count() == (48 + 144, (48 + 144) * 3)
    cells = spec.cells()
    assert len(cells) == 192
    assert len({c.key for c in cells}) == 192
    rosenbrock = [c for c in cells if c.problem == "rosenbrock"]
    assert {c.initializer for c in rosenbrock} == {None}
    assert {c.regularizer for c in rosenbrock} == {"none"}
    assert {c.batch_size for c in rosenbrock} == {None}  # no data: batch_size does not apply
    assert {c.steps for c in rosenbrock} == {20}
    xor = [c for c in cells if c.problem == "xor"]
    assert {c.initializer for c in xor} == {None, "he_normal"}
    assert {c.steps for c in xor} == {50}
    assert {c.batch_size for c in xor} == {None}  # 64 >= 4 training points: full batch
    assert {c.seeds for c in cells} == {(0, 1, 2)}


def test_expansion_order_is_problems_then_optimizers_then_axes():
    cells = grid(SWEEP).cells()
    assert [c.problem_params.get("dim") for c in cells[:72:24]] == [2, 3, None]
    assert [c.problem for c in cells[47:49]] == ["rosenbrock", "xor"]
    first = cells[:12]
    assert [c.optimizer_params["lr"] for c in first[::6]] == [1e-3, 1e-2]
    assert [(c.clip, c.clip_params) for c in first[:6:2]] == [
        ("none", {}),
        ("global_norm", {"max_norm": 1.0}),
        ("global_norm", {"max_norm": 10.0}),
    ]
    assert [c.schedule for c in first[:2]] == ["constant", "cosine"]


def test_params_are_resolved_plain_json():
    cell = grid(SWEEP).cells()[-1]
    assert cell.problem == "xor" and cell.optimizer == "sgd"
    assert cell.optimizer_params == {
        "lr": 0.1,
        "momentum": 0.9,
        "dampening": 0.0,
        "weight_decay": 0.0,
        "nesterov": False,
    }
    assert cell.problem_params == {"hidden": 2, "activation": "tanh", "dtype": "float64"}
    assert cell.regularizer_params == {"strength": 1e-3}
    assert cell.schedule_params == {"T_max": 50, "min_factor": 0.0}


def test_t_max_steps_is_each_cells_budget():
    cells = grid(SWEEP).cells()
    cosine = [c for c in cells if c.schedule == "cosine"]
    assert cosine and all(c.schedule_params["T_max"] == c.steps for c in cosine)
    assert {c.schedule_params["T_max"] for c in cosine} == {20, 50}


def test_identical_specs_give_identical_keys_and_spellings_collapse():
    assert [c.key for c in grid(SWEEP).cells()] == [c.key for c in grid(SWEEP).cells()]
    explicit = grid(HEAD + ADAM + "lr = 1e-3\nbetas = [0.9, 0.999]\neps = 1e-8").cells()
    implicit = grid(HEAD + ADAM).cells()
    assert [c.key for c in explicit] == [c.key for c in implicit]
    repeated = grid(HEAD + ADAM + "lr = [0.001, 0.001]" + ADAM).cells()
    assert len(repeated) == 1


def test_betas_flat_list_is_one_value_and_list_of_lists_sweeps():
    single = grid(HEAD + ADAM + "betas = [0.5, 0.9]").cells()
    assert [c.optimizer_params["betas"] for c in single] == [[0.5, 0.9]]
    sweep = grid(HEAD + ADAM + "betas = [[0.9, 0.999], [0.5, 0.9]]").cells()
    assert [c.optimizer_params["betas"] for c in sweep] == [[0.9, 0.999], [0.5, 0.9]]
    milestones = grid(HEAD + ADAM + "[[schedules]]\nname = 'multistep'\nmilestones = [5, 8]")
    assert [c.schedule_params["milestones"] for c in milestones.cells()] == [[5, 8]]


def test_problem_parameters_sweep_and_list_valued_ones_do_not():
    spirals = grid("[[problems]]\nname = 'spirals'\nhidden = [4, 8]" + ADAM).cells()
    assert [c.problem_params["hidden"] for c in spirals] == [4, 8]
    mlp = grid("[[problems]]\nname = 'mnist_mlp'\nhidden = [16, 8]" + ADAM).cells()
    assert [c.problem_params["hidden"] for c in mlp] == [[16, 8]]


@pytest.mark.parametrize(
    ("budget", "train_size", "steps", "batch"),
    [
        ("epochs = 1.5\nbatch_size = 50", 194, math.ceil(1.5 * 194 / 50), 50),
        ("epochs = 3", 194, 3, None),  # full batch: one step per epoch
        ("epochs = 2\nbatch_size = 500", 194, 2, None),  # a batch >= the data is full batch
        ("steps = 7\nbatch_size = 16", 194, 7, 16),
    ],
)
def test_budget_in_epochs_becomes_steps(budget, train_size, steps, batch):
    spec = grid(f"[[problems]]\nname = 'spirals'\n{budget}" + ADAM)
    assert problems.create("spirals").train_size == train_size
    (cell,) = spec.cells()
    assert (cell.steps, cell.batch_size) == (steps, batch)


def test_top_level_epochs_with_per_problem_steps_override():
    text = "epochs = 2\nbatch_size = 128\n" + HEAD + "steps = 30\n[[problems]]\nname = 'spirals'"
    cells = grid(text + ADAM).cells()
    assert [(c.problem, c.steps, c.batch_size) for c in cells] == [
        ("rosenbrock", 30, None),
        ("spirals", math.ceil(2 * 194 / 128), 128),
    ]


def test_inline_axes_and_explicit_seeds():
    spec = grid(
        "seeds = [3, 1]\noptimizers = ['sgd', {name = 'adam', lr = 0.1}]\n"
        "clipping = ['none', {name = 'normalize'}]\n" + HEAD
    )
    cells = spec.cells()
    assert [(c.optimizer, c.clip) for c in cells] == [
        ("sgd", "none"),
        ("sgd", "normalize"),
        ("adam", "none"),
        ("adam", "normalize"),
    ]
    assert cells[1].clip_params == {"eps": 1e-8}
    assert spec.seeds == (3, 1) and cells[0].seeds == (3, 1)


def test_max_cells_counts_before_building():
    spec = grid(HEAD + ADAM + "lr = [0.1, 0.2, 0.3]\n[[optimizers]]\nname = 'sgd'\nlr = [1, 2]")
    assert spec.count() == (5, 25)
    with pytest.raises(GridError, match=r"5 cells \(25 runs\) exceed the limit of 4.*--yes"):
        spec.cells(max_cells=4)
    assert len(spec.cells(max_cells=None)) == 5


# --- presets --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["quick", "standard", "full"])
def test_presets_load_and_validate(name):
    spec = load_grid(name)
    assert spec.name == name and spec.description
    cells, runs = spec.count()
    assert cells > 0 and runs == cells * len(spec.seeds)
    if cells <= MAX_CELLS:
        assert len(spec.cells()) == cells


def test_preset_names():
    assert preset_names() == ["full", "quick", "standard"]


def test_quick_covers_every_problem_and_optimizer_with_5_seeds():
    spec = load_grid("quick")
    cells = spec.cells()
    assert {c.problem for c in cells} == set(problems.names())
    assert {c.optimizer for c in cells} == set(optimizers.names())
    assert len(cells) == len(problems.names()) * len(optimizers.names())
    assert spec.seeds == tuple(range(5))


def test_standard_sweeps_lr_and_full_needs_permission():
    standard = load_grid("standard").cells()
    per_optimizer = {}
    for cell in standard:
        per_optimizer.setdefault(cell.optimizer, set()).add(cell.lr)
    assert all(len(lrs) >= 4 for lrs in per_optimizer.values())
    assert set(per_optimizer) == set(optimizers.names())
    full = load_grid("full")
    assert full.count()[0] > MAX_CELLS
    with pytest.raises(GridError, match="exceed the limit"):
        full.cells()


# --- plugins --------------------------------------------------------------------------------

PLUGIN = """
from dataclasses import dataclass
import numpy as np
import optimizers

@optimizers.register("{name}")
@dataclass(frozen=True)
class SignSGD(optimizers.Optimizer):
    lr: float = 0.01

    def init(self, params):
        return None

    def step(self, params, grads, state, lr=None):
        for p, g in zip(params, grads):
            p -= (self.lr if lr is None else lr) * np.sign(g)
"""


def test_plugin_registers_an_optimizer(tmp_path, monkeypatch):
    (tmp_path / "grid_plugin_a.py").write_text(PLUGIN.format(name="sign_sgd_grid_a"))
    monkeypatch.syspath_prepend(str(tmp_path))
    text = "plugins = ['grid_plugin_a']" + HEAD + "[[optimizers]]\nname = 'sign_sgd_grid_a'"
    spec = grid(text + "\nlr = [0.1, 0.2]")
    assert spec.plugins == ("grid_plugin_a",)
    assert [(c.optimizer, c.lr) for c in spec.cells()] == [
        ("sign_sgd_grid_a", 0.1),
        ("sign_sgd_grid_a", 0.2),
    ]


def test_plugin_next_to_the_grid_file_and_from_the_caller(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "path", list(sys.path))
    (tmp_path / "grid_plugin_b.py").write_text(PLUGIN.format(name="sign_sgd_grid_b"))
    path = tmp_path / "g.toml"
    path.write_text(HEAD + "[[optimizers]]\nname = 'sign_sgd_grid_b'\n")
    spec = load_grid(str(path), plugins=["grid_plugin_b"])
    assert spec.plugins == ("grid_plugin_b",)
    assert spec.cells()[0].optimizer == "sign_sgd_grid_b"


def test_plugin_that_fails_to_import_is_named(tmp_path, monkeypatch):
    (tmp_path / "grid_plugin_c.py").write_text("raise RuntimeError('boom')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    message = grid_error("plugins = ['grid_plugin_c']" + HEAD + ADAM)
    assert "plugins[0]: cannot import plugin 'grid_plugin_c': RuntimeError: boom" in message


def test_the_documented_example_parses():
    readme = (Path(__file__).parents[3] / "README.md").read_text()
    example = readme.split("## Grids", 1)[1].split("```toml\n", 1)[1].split("```", 1)[0]
    text = example.replace('plugins = ["my_optimizers"]', "")
    spec = grid(text)
    # 10 optimizer configurations (adam 3 lr x 2 betas, sgd 2 x 2), 2 clippings, 1 schedule;
    # mnist_mlp adds 2 initializers and 2 regularizers: 2 * 10 * 2 + 10 * 2 * 2 * 2 = 120.
    assert spec.count() == (120, 600)
    assert [(p.name, p.steps, p.batch_size) for p in spec.problems][-1] == ("mnist_mlp", 32, 128)
