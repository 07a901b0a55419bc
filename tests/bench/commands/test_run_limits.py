"""Issue 16 through `optbench run`: one line and exit 2 for bad input, nothing written; the
memory estimate, the worker count and the report folder checked before anything runs."""

from __future__ import annotations

import pytest

from bench.cli import main
from bench.grid import load_grid
from bench.run import estimate

BODY = '[[problems]]\nname = "{problem}"\n{extra}\n[[optimizers]]\nname = "{optimizer}"\n{opt}\n'


def write(tmp_path, problem="rosenbrock", extra="", optimizer="sgd", opt="", top="steps = 5"):
    path = tmp_path / "g.toml"
    text = f"{top}\nseeds = 2\n" + BODY.format(
        problem=problem, extra=extra, optimizer=optimizer, opt=opt
    )
    path.write_text(text)
    return path


def run(*argv):
    return main([str(a) for a in argv])


def refused(capsys, argv, store, words):
    assert run(*argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert all(word in err for word in words), err
    assert not store.exists() and not store.with_suffix("").exists()


@pytest.mark.parametrize(
    "optimizer, key", [("adam", "amsgrad"), ("rmsprop", "centered"), ("sgd", "nesterov")]
)
def test_string_booleans_exit_2(tmp_path, capsys, optimizer, key):
    path = write(tmp_path, optimizer=optimizer, opt=f'{key} = "false"')
    store = tmp_path / "s.sqlite"
    refused(capsys, ["run", path, "--store", store], store, [f"optimizers[0].{key}", "'false'"])


def test_a_seed_beyond_64_bits_exits_2(tmp_path, capsys):
    path = write(tmp_path, top="steps = 5\nseed = 0\nseeds = [1, 9223372036854775808]")
    path.write_text(path.read_text().replace("seeds = 2\n", ""))
    store = tmp_path / "s.sqlite"
    refused(capsys, ["run", path, "--store", store], store, ["seeds[1]", "at most"])


@pytest.mark.parametrize("dry", [False, True])
def test_a_cell_too_big_for_memory_exits_2_without_allocating(tmp_path, capsys, dry):
    path = write(tmp_path, problem="mnist_mlp", extra="hidden = 100000000")
    store = tmp_path / "s.sqlite"
    argv = ["run", path, "--store", store, *(["--dry-run"] if dry else [])]
    refused(capsys, argv, store, ["g.toml: problems[0]: ", "mnist_mlp", "memory"])


def test_the_memory_check_counts_every_worker(tmp_path, capsys, monkeypatch):
    path = write(tmp_path, problem="rosenbrock", extra="dim = [2, 3]")
    sizes = [estimate.cell_bytes(cell) for cell in load_grid(path).cells()]
    room = estimate.WORKER_BASELINE + max(sizes) + 1  # one cell at a time fits, two do not
    monkeypatch.setattr(estimate, "machine_memory", lambda: room)
    monkeypatch.setattr("bench.commands.run.cpu_count", lambda: 2)
    store = tmp_path / "s.sqlite"
    refused(capsys, ["run", path, "--store", store, "--jobs", 2], store, ["--jobs", "2 at once"])
    assert run("run", path, "--store", store, "--jobs", 1, "--dry-run") == 0
    assert "memory: about" in capsys.readouterr().out


def test_dry_run_reports_the_workers_that_would_start(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("bench.commands.run.cpu_count", lambda: 8)
    path = write(tmp_path, extra="dim = [2, 3, 4]")
    assert run("run", path, "--store", tmp_path / "s.sqlite", "--jobs", 2, "--dry-run") == 0
    out = capsys.readouterr().out
    assert "on 2 worker processes" in out and "on 2 workers" in out and "8 workers" not in out


def test_jobs_above_the_cores_warns_once(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("bench.commands.run.cpu_count", lambda: 2)
    path = write(tmp_path, extra="dim = [2, 3, 4]")
    assert run("run", path, "--store", tmp_path / "s.sqlite", "--jobs", 3, "--dry-run") == 0
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and "--jobs 3" in captured.err
    assert "on 3 worker processes" in captured.out


def test_a_store_without_suffix_is_refused_unless_no_report(tmp_path, capsys):
    path = write(tmp_path)
    store = tmp_path / "nosuffix"
    refused(capsys, ["run", path, "--store", store, "--jobs", 1], store, ["--no-report"])
    assert run("run", path, "--store", store, "--jobs", 1, "--no-report") == 0
    assert store.is_file()


def test_a_file_where_the_report_folder_goes_is_refused(tmp_path, capsys):
    path = write(tmp_path)
    (tmp_path / "s").write_text("mine")
    store = tmp_path / "s.sqlite"
    assert run("run", path, "--store", store, "--jobs", 1) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "existing file" in err and not store.exists()


def test_a_bom_grid_runs(tmp_path, capsys):
    path = write(tmp_path)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert run("run", path, "--store", tmp_path / "s.sqlite", "--dry-run") == 0


def test_a_deeply_nested_list_exits_2_in_one_line(tmp_path, capsys):
    path = write(tmp_path, extra="dim = " + "[" * 500 + "2" + "]" * 500)
    store = tmp_path / "s.sqlite"
    refused(capsys, ["run", path, "--store", store], store, ["g.toml: dim", "nested"])
