"""Grids: a TOML file -> a validated :class:`GridSpec` -> a list of :class:`~bench.grid.cell.Cell`.

>>> spec = load_grid("quick")               # a preset in bench/grid/presets/, or a path
>>> cells, runs = spec.count()              # counted without building anything
>>> cells_list = spec.cells()               # GridError above max_cells (default 20,000)

The grid format is documented once, in the README's "Grids" section.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.resources
import itertools
import math
import re
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.grid import resolve, settings, values
from bench.grid.axes import WEIGHTS_ONLY, Axis, axes, resolver
from bench.grid.budget import read_budget
from bench.grid.cell import Cell
from bench.grid.code import CodeIdentity
from bench.grid.values import GridError, InvalidKeyError, Option, ProblemOption
from bench.text import closest, one_line

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
        Where the grid came from: a path or ``bench/grid/presets/<name>.toml``.
    text : str
        The TOML text, as read (the store keeps it).
    data : dict
        The parsed TOML.
    plugins : tuple of str
        The modules imported before validation; import them in workers too.
    problems : tuple of ProblemOption
        The problems, each with its budget.
    options : dict
        Axis key -> its resolved options, for every axis of ``bench.grid.axes`` but problems
        and schedules.
    schedules : dict
        Step budget -> the resolved schedules (``"steps"`` in a schedule means the budget).
    warnings : tuple of str
        Valid settings that were probably meant as others (``seed = 10`` for ``seeds``), each a
        one-line message starting with its key; ``optbench run`` prints them and goes on.
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
    options: dict[str, tuple[Option, ...]] = dataclasses.field(repr=False)
    schedules: dict[int, tuple[Option, ...]] = dataclasses.field(repr=False)
    warnings: tuple[str, ...] = ()

    def _values(self, problem: ProblemOption) -> list[tuple[Axis, tuple[Option, ...]]]:
        """Each axis with the values it takes for ``problem``, in expansion order."""
        values = []
        for entry in axes():
            if entry.key == "problems":
                options: tuple[Option, ...] = (problem,)
            elif entry.key == "schedules":
                options = self.schedules[problem.steps]
            elif entry.applies_to == WEIGHTS_ONLY and not problem.uses_weights:
                options = (Option(entry.default, {}),)  # type: ignore[arg-type]
            else:
                options = self.options[entry.key]
            values.append((entry, options))
        return values

    def count(self) -> tuple[int, int]:
        """The number of cells and of runs (cells x seeds), without building any cell.

        Returns
        -------
        cells, runs : int
        """
        cells = sum(
            math.prod(len(options) for _, options in self._values(problem))
            for problem in self.problems
        )
        return cells, cells * len(self.seeds)

    def cells(self, max_cells: int | None = MAX_CELLS) -> list[Cell]:
        """Expand the grid: for each problem, the product of every axis in ``axes()`` order.

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
        code = CodeIdentity(self.plugins)
        for problem in self.problems:
            values = self._values(problem)
            budget = {"batch_size": problem.batch_size, "steps": problem.steps,
                      "log_every": problem.log_every, "timeout": problem.timeout,
                      "seeds": self.seeds, "grid_seed": self.seed}  # fmt: skip
            for combination in itertools.product(*(options for _, options in values)):
                choices = {}
                for (entry, _), option in zip(values, combination, strict=True):
                    choices[entry.column] = option.name
                    if entry.params:
                        choices[entry.params] = option.params
                out.append(Cell(**choices, **budget, code=code.of(choices)))
        return out


def preset_names() -> list[str]:
    """The sorted names of the presets shipped in ``bench/presets/``."""
    folder = importlib.resources.files("bench.grid") / _PRESETS
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
                f"{text}: cannot read the grid file ({one_line(error)}); "
                f"presets: {', '.join(presets)}"
            ) from None
        return parse_grid(content, label=text, plugins=plugins, directory=path.parent)
    if text not in presets:
        raise GridError(
            f"{text}: no such preset{closest(text, presets)} "
            f"(presets: {', '.join(presets)}; a file path must end in .toml or contain a '/')"
        )
    resource = importlib.resources.files("bench.grid") / _PRESETS / f"{text}.toml"
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
    text = text.removeprefix("\ufeff")  # a UTF-8 byte-order mark, as some editors write
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise GridError(f"{label}: not valid TOML: {one_line(error)}") from None
    except RecursionError:  # tomllib recurses once per nested list or inline table
        raise GridError(
            f"{label}: {_deepest_key(text)}: lists and tables nested more than "
            f"{values.MAX_DEPTH} deep"
        ) from None
    try:
        values.check_depth(data)
        own = settings.plugin_names(data)
        modules = own + [m for m in plugins if m not in own]
        _import_plugins(modules, len(own), directory)
        return _resolve(data, text, label, tuple(modules))
    except InvalidKeyError as error:
        raise GridError(f"{label}: {error.path}: {error.message}") from None


def _deepest_key(text: str) -> str:
    """The key on the line that opens the most brackets, e.g. ``dim (line 4)``."""
    lines = text.splitlines() or [""]
    number = max(range(len(lines)), key=lambda i: lines[i].count("[") + lines[i].count("{"))
    key = re.match(r"\s*([^=\s]+)\s*=", lines[number])
    return f"{key.group(1) if key else 'value'} (line {number + 1})"


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
    return f"cannot import plugin {module!r}: {type(error).__name__}: {one_line(error)}"


def _resolve(data: dict[str, Any], text: str, label: str, plugins: tuple[str, ...]) -> GridSpec:
    settings.check_top_level(data)
    stem = Path(label).stem if label.endswith(".toml") else "grid"
    name = settings.grid_name(data.get("name", stem))
    description = values.string("description", data.get("description", ""))
    seed = values.integer("seed", data.get("seed", 0), 0)
    seeds = settings.seeds(data.get("seeds", values.DEFAULT_SEEDS))
    budget = read_budget(data, "", None)
    problem_entries = values.table_list(data, "problems", required=True)
    options = {}
    for entry in axes():
        if entry.key not in ("problems", "schedules"):
            options[entry.key] = resolver(entry)(data)
    schedule_entries = values.table_list(data, "schedules", required=False)
    problem_options = resolve.problem_options(problem_entries, budget)
    schedules: dict[int, tuple[Option, ...]] = {}
    for problem in problem_options:
        if problem.steps not in schedules:
            schedules[problem.steps] = resolve.schedule_options(
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
        options=options,
        schedules=schedules,
        warnings=tuple(settings.near_misses(data)),
    )
