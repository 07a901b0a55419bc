"""torch and optax optimizers named in a grid, end to end: the same numbers as the native rules
through a real grid run (schedule and clipping included), one-line errors before anything runs,
an adapter that raises is an ``error`` result, the libraries' versions are recorded."""

import json
import sqlite3
import textwrap

import numpy as np
import pytest

import optimizers
from bench.cli import main
from bench.store.store import load

pytest.importorskip("torch")
pytest.importorskip("pytorch_optimizer")

HEADER = """\
name = "adapters"
seeds = 2
steps = 100
log_every = 1

[[problems]]
name = "quadratic"
dim = 6
condition_number = 100.0
start_noise = 0.3

[[clipping]]
name = "global_norm"
max_norm = 5.0

[[schedules]]  # factor 1 at step 0: Rprop takes its initial step size from the first step's lr
name = "cosine"
T_max = "steps"
"""


def native_and_torch_pairs():
    """(native name, its configuration, the adapter's name and keywords) for every rule with a
    torch counterpart, plus pytorch_optimizer's Lion against native lion."""
    pairs = []
    for name in optimizers.names():
        opt = optimizers.create(name)
        if opt.torch_reference:
            adapter = f"torch:{opt.torch_reference}"
            pairs.append((name, adapter, plain(opt.torch_arguments())))
    pairs.append(("lion", "torch:pytorch_optimizer.Lion", {"lr": 1e-4}))
    return pairs


def plain(arguments):
    """The arguments as TOML can spell them: tuples as lists; those holding None (Adafactor's
    eps=(None, 1e-3)) left out, as the torch class's defaults are the same."""
    spelled = {k: list(v) if isinstance(v, tuple) else v for k, v in arguments.items()}
    return {k: v for k, v in spelled.items() if v is not None and None not in np.ravel(v)}


def toml_entry(name, arguments):
    lines = [f'[[optimizers]]\nname = "{name}"']
    lines += [f"{k} = {json.dumps(v)}" for k, v in arguments.items()]
    return "\n".join(lines) + "\n"


def test_every_torch_optim_rule_through_the_adapter_equals_the_native_rule(tmp_path, capsys):
    """Final and per-step losses (100 steps, every step logged) agree to 1e-12 relative."""
    pairs = native_and_torch_pairs()
    assert {"adam", "sgd", "adafactor", "lion"} <= {native for native, _, _ in pairs}
    entries = [toml_entry(native, {}) for native in dict.fromkeys(n for n, _, _ in pairs)]
    entries += [toml_entry(adapter, arguments) for _, adapter, arguments in pairs]
    grid = tmp_path / "pairs.toml"
    grid.write_text(HEADER + "\n" + "\n".join(entries))
    store = tmp_path / "pairs.sqlite"
    assert main(["run", str(grid), "--store", str(store), "--jobs", "1", "--no-report"]) == 0
    runs, curves = load(store)
    assert set(runs["status"]) == {"done"}
    for native, adapter, arguments in pairs:
        np.testing.assert_allclose(
            losses_of(runs, curves, adapter, arguments),
            losses_of(runs, curves, native, {}),
            rtol=1e-12,
            err_msg=f"{adapter} {arguments} vs {native}",
        )


def losses_of(runs, curves, optimizer, arguments):
    """The training losses, seed by seed and step by step, of the one cell of ``optimizer``
    whose stored parameters include ``arguments``."""
    stored = runs["optimizer_params"].map(json.loads)
    match = (runs["optimizer"] == optimizer) & stored.map(
        lambda params: all(params.get(k) == v for k, v in arguments.items())
    )
    (cell,) = set(runs.loc[match, "cell_key"])
    points = curves[curves["cell_key"] == cell].sort_values(["seed", "step"])
    assert len(points) == 2 * 101
    return points["train_loss"].to_numpy()


OPTAX_GRID = (
    HEADER
    + """
[[optimizers]]
name = "adam"
lr = 0.01

[[optimizers]]
name = "optax:optax.adam"
learning_rate = 0.01
"""
)


def test_optax_adam_in_a_grid_equals_native_adam_and_versions_are_recorded(tmp_path):
    pytest.importorskip("optax")
    grid = tmp_path / "optax.toml"
    grid.write_text(OPTAX_GRID)
    store = tmp_path / "optax.sqlite"
    assert main(["run", str(grid), "--store", str(store), "--jobs", "1", "--no-report"]) == 0
    runs, curves = load(store)
    assert set(runs["optimizer"]) == {"adam", "optax:optax.adam"}
    np.testing.assert_allclose(
        losses_of(runs, curves, "optax:optax.adam", {}),
        losses_of(runs, curves, "adam", {}),
        rtol=1e-12,
    )
    with sqlite3.connect(store) as conn:
        versions = json.loads(conn.execute("SELECT versions FROM experiments").fetchone()[0])
    assert versions["optax"] and versions["pytorch-optimizer"] and versions["torch"]


@pytest.mark.parametrize(
    "entry, words",
    [
        ('name = "torch:torch.optim.Adamm"', ["optimizers[0].name", "'Adam'"]),
        ('name = "torch:pytorch_optimizer.Lamb"\nlrr = 0.1', ["optimizers[0].lrr", "'lr'"]),
        ('name = "torch:torch.nn.Linear"', ["not a torch.optim.Optimizer subclass"]),
        ('name = "torch:nonexistent_lib.Opt"', ["cannot import 'nonexistent_lib'"]),
        ('name = "torch:torch.optim.SGD"\nlr = -1.0', ["optimizers[0]", "-1"]),
        ('name = "jax:optax.adam"', ["optimizers[0].name", "'jax:optax.adam'"]),
    ],
)
def test_bad_adapter_names_and_keywords_exit_2_with_one_line(tmp_path, capsys, entry, words):
    grid = tmp_path / "bad.toml"
    grid.write_text(f'name = "bad"\n[[problems]]\nname = "xor"\n[[optimizers]]\n{entry}\n')
    store = tmp_path / "bad.sqlite"
    assert main(["run", str(grid), "--store", str(store), "--jobs", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    for word in words:
        assert word in err
    assert not store.exists()


EXPLODING = """\
import torch


class Exploding(torch.optim.SGD):
    def step(self, closure=None):
        self.count = getattr(self, "count", 0) + 1
        if self.count == 5:
            raise RuntimeError("boom at step 5")
        return super().step(closure)
"""


def test_an_adapter_optimizer_that_raises_mid_run_is_an_error_result(tmp_path, capsys):
    (tmp_path / "exploding_optim.py").write_text(EXPLODING)
    grid = tmp_path / "boom.toml"
    grid.write_text(
        textwrap.dedent(
            """\
            name = "boom"
            seeds = 2
            steps = 20
            plugins = ["exploding_optim"]
            [[problems]]
            name = "rosenbrock"
            [[optimizers]]
            name = "torch:exploding_optim.Exploding"
            lr = 0.001
            """
        )
    )
    store = tmp_path / "boom.sqlite"
    main(["run", str(grid), "--store", str(store), "--jobs", "1", "--no-report"])
    runs, _ = load(store)
    assert list(runs["status"]) == ["error", "error"]
    assert "boom at step 5" in runs["error"].iloc[0]


def test_list_shows_what_a_library_offers_and_how_to_name_it(capsys):
    assert main(["list", "--torch", "pytorch_optimizer"]) == 0
    out = capsys.readouterr().out
    assert "named in a grid as torch:pytorch_optimizer.Name" in out
    assert "torch:pytorch_optimizer.Lamb" in out and "weight_decouple=True" in out
    assert main(["list", "--torch", "pytorch_optimzer"]) == 2
    assert "'pytorch_optimizer'" in capsys.readouterr().err


def test_the_pytorch_optimizer_grid_validates_and_states_its_count():
    """examples/pytorch_optimizer.toml names every optimizer it says runs, each built at its
    defaults by the grid's validation, and lists the others with a reason."""
    from pathlib import Path

    from bench.grid.load import load_grid

    path = Path(__file__).parents[3] / "examples" / "pytorch_optimizer.toml"
    text = path.read_text()
    spec = load_grid(str(path))
    names = {option.name for option in spec.options["optimizers"]}
    header = [line for line in text.splitlines() if " of the " in line and " run." in line]
    stated, total = [int(word) for word in header[0].split() if word.isdigit()][:2]
    failures = [line for line in text.splitlines() if line.startswith("#   torch:")]
    assert len(names) == stated and stated + len(failures) == total
    assert all(name.startswith("torch:") for name in names)
