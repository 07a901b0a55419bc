"""Grids: a TOML file -> a validated :class:`GridSpec` -> a list of :class:`~bench.cell.Cell`.

>>> spec = load_grid("quick")               # a preset shipped in bench/presets/, or a path
>>> cells, runs = spec.count()              # counted without building anything
>>> cells_list = spec.cells()               # GridError above max_cells (default 20,000)

The format
----------
A grid is a TOML file. Top-level keys come first: in TOML every key written after a ``[[table]]``
header belongs to that table. A complete example::

    name = "my-grid"              # the store defaults to results/<name>.sqlite (default: file stem)
    description = "Adam vs SGD"   # optional, one line
    seed = 0                      # grid seed (default 0); keys every run's random numbers
    seeds = 5                     # runs per cell: a count (seeds 0..4) or a list, [0, 3, 7]
    steps = 500                   # budget per run, or epochs = 3 (problems with data only)
    log_every = 10                # curve logging interval in steps (default 10)
    batch_size = "full"           # or 64; problems with data only (default "full")
    timeout = 60                  # optional: wall-clock seconds per cell
    plugins = ["my_optimizers"]   # optional: modules that register optimizers or problems
    initializers = ["default", "he_normal"]   # default ["default"]: each problem's own choice

    [[problems]]
    name = "rosenbrock"
    dim = [2, 10]                 # a list sweeps: two rosenbrock problems

    [[problems]]
    name = "mnist_mlp"
    hidden = [64]                 # ONE value: hidden's default is a tuple (see below)
    epochs = 1                    # per-problem override of the budget: steps or epochs,
    batch_size = 128              # batch_size, log_every and timeout

    [[optimizers]]
    name = "adam"
    lr = [1e-3, 1e-2, 1e-1]       # 3 adam configurations
    betas = [[0.9, 0.999], [0.5, 0.9]]   # a sweep of pairs: 3 x 2 = 6 adam configurations

    [[optimizers]]
    name = "sgd"
    lr = [0.01, 0.1]
    momentum = [0.0, 0.9]         # cartesian product: 2 x 2 = 4 sgd configurations

    [[clipping]]                  # default: none
    name = "global_norm"
    max_norm = [1.0, 10.0]

    [[schedules]]                 # default: constant
    name = "cosine"
    T_max = "steps"               # the string "steps" is the cell's step budget

    [[regularizers]]              # default: none; problems with weights only
    name = "l2"
    strength = [1e-4, 1e-3]

``problems`` and ``optimizers`` are required; ``clipping``, ``schedules`` and ``regularizers`` are
optional axes of tables with a ``name`` and that entry's parameters (defaults fill the rest). Any
axis may also be written inline, as names or inline tables:
``clipping = ["none", {name = "value", clip_value = 1.0}]``. ``initializers`` is a list of names
from ``problems.initializer_names()``; ``"default"`` is the problem's own initializer.

Sweeps
    Within an entry, a list of values sweeps, and the entry expands to the cartesian product of
    its keys' values. Some parameters are themselves lists (``betas``, ``etas``,
    ``step_sizes``, ``hidden``, ``milestones``). The rule: a list of lists always sweeps
    (``betas = [[0.9, 0.999], [0.5, 0.9]]``); for a list-valued parameter -- its default is a
    tuple or list, its annotation a tuple, list or Sequence, or it is a schedule's
    ``milestones`` -- a flat list is ONE value (``betas = [0.9, 0.999]``); otherwise a flat list
    sweeps (``lr = [1e-3, 1e-2]``). An empty sweep (``lr = []``) is an error.

What applies to which problem
    The axes expand in the order problems, optimizers, initializers, clipping, schedules,
    regularizers (deterministic). Initializers and regularizers apply only to problems with
    weights (``uses_initializer``); for the test functions they collapse to None and ``none``.
    ``batch_size`` applies only to problems with data (``train_size`` not None; the others get
    None); a batch at least the training-set size is full batch (None). A budget in epochs needs
    data: ``steps = ceil(epochs * train_size / batch_size)``, full batch ``ceil(epochs)``.
    Configurations that resolve to the same parameters (an explicit default, a repeated entry)
    are kept once.

Errors
    The whole grid is validated, by building every optimizer, schedule, clipping strategy,
    regularizer and problem, before anything runs. A bad grid raises :class:`GridError` with one
    line naming the file, the key path (0-based: ``optimizers[1].lr[2]`` is the third value of
    the second optimizer's lr sweep), the bad value and the closest valid names::

        grid.toml: optimizers[1].name: unknown optimizer 'adamm' (did you mean 'adam', ...?)

    NaN is never a valid value. One entry may sweep at most ``spec.MAX_COMBINATIONS``
    (100,000) combinations; a grid of more than ``MAX_CELLS`` cells is refused by
    :meth:`GridSpec.cells` unless allowed (``optbench run --yes``; ``--dry-run`` shows the count).

Plugins
    Each module in ``plugins`` (and in ``load_grid(..., plugins=)``, e.g. from the command
    line) is imported with :func:`importlib.import_module` before any name is checked; a module
    not found on ``sys.path`` is looked for in the grid file's directory. Workers that run the
    cells must import ``GridSpec.plugins`` too. Grid files are data: nothing in them is evaluated.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.resources
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench import spec as _spec
from bench.cell import Cell
from bench.spec import GridError, InvalidKeyError, Option, ProblemOption

__all__ = ["MAX_CELLS", "GridError", "GridSpec", "load_grid", "parse_grid", "preset_names"]

MAX_CELLS = 20_000
_PRESETS = "presets"


@dataclasses.dataclass(frozen=True)
class GridSpec:
    """A validated grid: its settings, its source text and its resolved axes.

    Attributes
    ----------
    name : str
        The grid's name (default: the file's stem); the store defaults to
        ``results/<name>.sqlite``.
    description : str
    seed : int
        The grid seed, ``Cell.grid_seed`` of every cell.
    seeds : tuple of int
        The seed indices every cell runs.
    source : str
        Where the grid came from: a path or ``bench/presets/<name>.toml``.
    text : str
        The TOML text, as read (the store keeps it).
    data : dict
        The parsed TOML.
    plugins : tuple of str
        The modules imported before validation; import them in workers too.
    """

    name: str
    description: str
    seed: int
    seeds: tuple[int, ...]
    source: str
    text: str
    data: dict[str, Any]
    plugins: tuple[str, ...]
    problems: tuple[ProblemOption, ...] = dataclasses.field(repr=False)
    optimizers: tuple[Option, ...] = dataclasses.field(repr=False)
    initializers: tuple[str | None, ...] = dataclasses.field(repr=False)
    clipping: tuple[Option, ...] = dataclasses.field(repr=False)
    schedules: dict[int, tuple[Option, ...]] = dataclasses.field(repr=False)  # by step budget
    regularizers: tuple[Option, ...] = dataclasses.field(repr=False)

    def _axes(self, problem: ProblemOption) -> tuple[tuple, tuple, tuple]:
        """The initializers, schedules and regularizers that apply to ``problem``."""
        weights = problem.uses_weights
        initializers = self.initializers if weights else (None,)
        regularizers = self.regularizers if weights else (Option("none", {}),)
        return initializers, self.schedules[problem.steps], regularizers

    def count(self) -> tuple[int, int]:
        """The number of cells and of runs (cells x seeds), without building any cell.

        Returns
        -------
        cells, runs : int
        """
        cells = 0
        for problem in self.problems:
            initializers, schedules, regularizers = self._axes(problem)
            per_optimizer = len(initializers) * len(self.clipping) * len(schedules)
            cells += len(self.optimizers) * per_optimizer * len(regularizers)
        return cells, cells * len(self.seeds)

    def cells(self, max_cells: int | None = MAX_CELLS) -> list[Cell]:
        """Expand the grid, in the order problems, optimizers, initializers, clipping, schedules,
        regularizers.

        Parameters
        ----------
        max_cells : int or None, optional
            Refuse larger grids (counted first, nothing is built); None allows any size.

        Returns
        -------
        list of Cell

        Raises
        ------
        GridError
            When the grid has more than ``max_cells`` cells.
        """
        count, runs = self.count()
        if max_cells is not None and count > max_cells:
            raise GridError(
                f"{self.source}: {count:,} cells ({runs:,} runs) exceed the limit of "
                f"{max_cells:,}; shrink the grid, or allow it (optbench run --yes, "
                "or GridSpec.cells(max_cells=None))"
            )
        out = []
        for problem in self.problems:
            initializers, schedules, regularizers = self._axes(problem)
            for optimizer in self.optimizers:
                for initializer in initializers:
                    for clip in self.clipping:
                        for schedule in schedules:
                            for regularizer in regularizers:
                                out.append(
                                    Cell(
                                        problem=problem.name,
                                        problem_params=problem.params,
                                        optimizer=optimizer.name,
                                        optimizer_params=optimizer.params,
                                        initializer=initializer,
                                        clip=clip.name,
                                        clip_params=clip.params,
                                        schedule=schedule.name,
                                        schedule_params=schedule.params,
                                        regularizer=regularizer.name,
                                        regularizer_params=regularizer.params,
                                        batch_size=problem.batch_size,
                                        steps=problem.steps,
                                        log_every=problem.log_every,
                                        seeds=self.seeds,
                                        grid_seed=self.seed,
                                        timeout=problem.timeout,
                                    )
                                )
        return out


def preset_names() -> list[str]:
    """The sorted names of the presets shipped in ``bench/presets/``."""
    folder = importlib.resources.files("bench") / _PRESETS
    return sorted(
        p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml")
    )


def load_grid(source: str | Path, plugins: Sequence[str] = ()) -> GridSpec:
    """Read and validate a grid: a preset name (``"quick"``) or the path of a TOML file.

    A source ending in ``.toml`` or containing a path separator is a file; anything else is a
    preset name.

    Parameters
    ----------
    source : str or pathlib.Path
    plugins : sequence of str, optional
        Extra plugin modules (e.g. from the command line), imported after the grid's own.

    Returns
    -------
    GridSpec

    Raises
    ------
    GridError
        For an unknown preset or a missing file (listing the presets) and for any invalid grid.
    """
    text = str(source)
    presets = preset_names()
    if isinstance(source, Path) or text.endswith(".toml") or "/" in text or "\\" in text:
        path = Path(source)
        try:
            content = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise GridError(
                f"{text}: cannot read the grid file ({_spec.one_line(error)}); "
                f"presets: {', '.join(presets)}"
            ) from None
        return parse_grid(content, label=text, plugins=plugins, directory=path.parent)
    if text not in presets:
        raise GridError(
            f"{text}: no such preset{_spec.closest(text, presets)} "
            f"(presets: {', '.join(presets)}; a file path must end in .toml or contain a '/')"
        )
    resource = importlib.resources.files("bench") / _PRESETS / f"{text}.toml"
    content = resource.read_text(encoding="utf-8")
    return parse_grid(content, label=f"bench/presets/{text}.toml", plugins=plugins)


def parse_grid(
    text: str,
    label: str = "<grid>",
    plugins: Sequence[str] = (),
    directory: str | Path | None = None,
) -> GridSpec:
    """Parse and validate the TOML ``text`` of a grid (e.g. the copy kept in a store).

    Parameters
    ----------
    text : str
    label : str, optional
        How errors name the grid, e.g. its path.
    plugins : sequence of str, optional
        Extra plugin modules, imported after those the grid names.
    directory : str or pathlib.Path, optional
        Where to look for plugin modules that are not on ``sys.path``.

    Returns
    -------
    GridSpec

    Raises
    ------
    GridError
        One line: the label, the key path, the bad value and the closest valid names.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise GridError(f"{label}: not valid TOML: {_spec.one_line(error)}") from None
    try:
        own = _spec.plugin_names(data)
        modules = own + [m for m in plugins if m not in own]
        _import_plugins(modules, len(own), directory)
        return _resolve(data, text, label, tuple(modules))
    except InvalidKeyError as error:
        raise GridError(f"{label}: {error.path}: {error.message}") from None


def _import_plugins(modules: list[str], own: int, directory: str | Path | None) -> None:
    """Import each module; ``own`` of them come from the grid (the rest from the caller)."""
    for i, module in enumerate(modules):
        path = f"plugins[{i}]" if i < own else "plugins (given with the grid)"
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as error:
            folder = None if directory is None else str(Path(directory).resolve())
            if folder is None or error.name != module.split(".")[0] or folder in sys.path:
                raise InvalidKeyError(path, _import_failure(module, error)) from None
            sys.path.append(folder)  # a module next to the grid file
            try:
                importlib.import_module(module)
            except Exception as retry:
                raise InvalidKeyError(path, _import_failure(module, retry)) from None
        except Exception as error:
            raise InvalidKeyError(path, _import_failure(module, error)) from None


def _import_failure(module: str, error: BaseException) -> str:
    return f"cannot import plugin {module!r}: {type(error).__name__}: {_spec.one_line(error)}"


def _resolve(data: dict[str, Any], text: str, label: str, plugins: tuple[str, ...]) -> GridSpec:
    _spec.check_top_level(data)
    stem = Path(label).stem if label.endswith(".toml") else "grid"
    name = _spec.grid_name(data.get("name", stem))
    description = _spec.string("description", data.get("description", ""))
    seed = _spec.integer("seed", data.get("seed", 0), 0)
    seeds = _spec.resolve_seeds(data.get("seeds", _spec.DEFAULT_SEEDS))
    budget = _spec.read_budget(data, "", None)
    problem_entries = _spec.table_list(data, "problems", required=True)
    optimizer_entries = _spec.table_list(data, "optimizers", required=True)
    optimizer_options = _spec.resolve_optimizers(optimizer_entries)
    initializers = _spec.resolve_initializers(data.get("initializers"))
    clipping = _spec.resolve_clipping(_spec.table_list(data, "clipping", required=False))
    schedule_entries = _spec.table_list(data, "schedules", required=False)
    regularizers = _spec.resolve_regularizers(_spec.table_list(data, "regularizers", False))
    problem_options = _spec.resolve_problems(problem_entries, budget)
    schedules: dict[int, tuple[Option, ...]] = {}
    for problem in problem_options:
        if problem.steps not in schedules:
            schedules[problem.steps] = _spec.resolve_schedules(
                schedule_entries, problem.steps, problem.path
            )
    return GridSpec(
        name=name,
        description=description,
        seed=seed,
        seeds=seeds,
        source=label,
        text=text,
        data=data,
        plugins=plugins,
        problems=problem_options,
        optimizers=optimizer_options,
        initializers=initializers,
        clipping=clipping,
        schedules=schedules,
        regularizers=regularizers,
    )
