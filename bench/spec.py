"""Validate a parsed grid file and resolve each axis into canonical options, for ``bench.grid``.

Every option is checked by building the real object (``optimizers.create``,
``optimizers.schedule``, ``optimizers.clip`` on a dummy array, ``problems.create``,
``problems.regularize`` on a dummy array), and its parameters are stored fully resolved, defaults
included, as plain JSON data: two spellings of one configuration resolve to the same option.
Errors are raised as :class:`InvalidKeyError` (a key path and a message); ``bench.grid`` adds the
file name and turns them into a one-line :class:`GridError`.
"""

from __future__ import annotations

import dataclasses
import datetime
import difflib
import inspect
import itertools
import json
import math
import numbers
import re
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

import optimizers
import problems
from optimizers import clipping as _clipping
from optimizers import schedules as _schedules

BUDGET_KEYS = ("steps", "epochs", "batch_size", "log_every", "timeout")
TOP_LEVEL_KEYS = (
    "name",
    "description",
    "seed",
    "seeds",
    *BUDGET_KEYS,
    "plugins",
    "problems",
    "optimizers",
    "initializers",
    "clipping",
    "schedules",
    "regularizers",
)
AXES = ("problems", "optimizers", "clipping", "schedules", "regularizers")
# Top-level keys no problem or optimizer would take as a parameter: inside a table, misplaced.
_NEVER_PARAMETERS = frozenset(TOP_LEVEL_KEYS) - {"name", "description", "seed", *BUDGET_KEYS}
DEFAULT_STEPS = 100
DEFAULT_LOG_EVERY = 10
DEFAULT_SEEDS = 5
STEPS_PLACEHOLDER = "steps"  # a schedule parameter spelled "steps" is the cell's step budget
DEFAULT_INITIALIZER = "default"  # in `initializers`: the problem's own default (None in a Cell)
# Schedule keywords whose single value is a list (a flat list is one value, not a sweep).
LIST_VALUED_SCHEDULE_KEYS = frozenset({"milestones"})
# Regularizer keywords besides `strength`, by regularizer.
REGULARIZER_EXTRAS = {"elastic_net": ("l1_ratio",)}
_NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_DUMMY_SHAPE = (1, 2, 2)  # one run of a 2x2 weight: enough for clipping and regularizers to check
# One entry's sweep is built value by value to validate it: cap it so that validation stays quick
# (the whole grid's cell count has its own limit, bench.grid.MAX_CELLS, lifted by --yes).
MAX_COMBINATIONS = 100_000


class GridError(Exception):
    """A grid that cannot run; the message is one line naming the file, the key and the value."""


class InvalidKeyError(Exception):
    """A bad value at ``path`` (e.g. ``optimizers[1].lr``); ``bench.grid`` adds the file name."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


@dataclasses.dataclass(frozen=True)
class Option:
    """One resolved value of an axis: a registry name and its full parameters as plain data."""

    name: str
    params: dict[str, Any]

    @property
    def identity(self) -> str:
        return json.dumps([self.name, self.params], sort_keys=True)


@dataclasses.dataclass(frozen=True)
class ProblemOption(Option):
    """A resolved problem with its budget; ``batch_size`` None is full batch (or no data)."""

    uses_weights: bool = True
    steps: int = DEFAULT_STEPS
    batch_size: int | None = None
    log_every: int = DEFAULT_LOG_EVERY
    timeout: float | None = None
    path: str = ""  # the entry it came from, e.g. "problems[2]", for messages

    @property
    def identity(self) -> str:
        budget = [self.steps, self.batch_size, self.log_every]
        return json.dumps([self.name, self.params, budget], sort_keys=True)


@dataclasses.dataclass(frozen=True)
class Budget:
    """How long and how each problem trains: top-level values, overridden per problem."""

    steps: int | None = None
    epochs: float | None = None
    batch_size: int | None = None  # None: full batch
    log_every: int = DEFAULT_LOG_EVERY
    timeout: float | None = None
    budget_key: str = "steps"  # where steps or epochs was set, for error messages


# ---------------------------------------------------------------------------------------------
# Plain values and messages


def closest(name: str, valid: Iterable[str]) -> str:
    """A ``" (did you mean 'x', 'y'?)"`` hint, or the list of valid names if none is close."""
    valid = sorted(valid)
    matches = difflib.get_close_matches(str(name), valid, n=3, cutoff=0.5)
    if matches:
        return " (did you mean " + ", ".join(repr(m) for m in matches) + "?)"
    return " (valid: " + ", ".join(valid) + ")"


def one_line(error: BaseException) -> str:
    """An exception's message on one line."""
    return " ".join(str(error).split()) or type(error).__name__


def plain(value: Any) -> Any:
    """``value`` as JSON data: tuples become lists, NumPy scalars and dtypes Python values."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, np.dtype):
        return value.name
    if isinstance(value, np.ndarray):
        return plain(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise TypeError(f"{value!r} ({type(value).__name__}) is not plain data")


def as_plain(path: str, source: str, value: Any) -> Any:
    """:func:`plain`, raising :class:`InvalidKeyError` for what a plugin class cannot log."""
    try:
        return plain(value)
    except TypeError as error:
        raise InvalidKeyError(path, f"{source}: {error}") from None


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, datetime.date | datetime.time):
        return f"a date/time ({value})"
    return repr(value)


def _check_data(path: str, value: Any) -> None:
    """Reject TOML values that are not hyperparameters: tables, dates and NaN."""
    if isinstance(value, list):
        for i, item in enumerate(value):
            _check_data(f"{path}[{i}]", item)
    elif not isinstance(value, bool | int | float | str):
        raise InvalidKeyError(
            path, f"expected a number, string, boolean or list, got {_describe(value)}"
        )
    elif isinstance(value, float) and math.isnan(value):
        raise InvalidKeyError(path, "nan is not a valid value")


def integer(path: str, value: Any, low: int) -> int:
    """``value`` as an int ``>= low``, else :class:`InvalidKeyError`."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidKeyError(path, f"expected an integer >= {low}, got {_describe(value)}")
    if value < low:
        raise InvalidKeyError(path, f"{value!r} is out of range; allowed >= {low}")
    return value


def positive(path: str, value: Any) -> float:
    """``value`` as a finite float ``> 0``, else :class:`InvalidKeyError`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidKeyError(path, f"expected a number > 0, got {_describe(value)}")
    if not (math.isfinite(value) and value > 0):
        raise InvalidKeyError(path, f"{value!r} is out of range; allowed a finite number > 0")
    return float(value)


def string(path: str, value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidKeyError(path, f"expected a string, got {_describe(value)}")
    return value


def table_list(data: dict[str, Any], key: str, required: bool) -> list[dict[str, Any]] | None:
    """The entries of an axis such as ``[[optimizers]]``; a bare string means ``{name = ...}``."""
    if key not in data:
        if required:
            raise InvalidKeyError(key, f"missing: add at least one [[{key}]] table with a name")
        return None
    value = data[key]
    if not isinstance(value, list):
        raise InvalidKeyError(key, f"expected a list of [[{key}]] tables, got {_describe(value)}")
    if not value:
        raise InvalidKeyError(key, "empty: give at least one entry")
    entries = []
    for i, entry in enumerate(value):
        entry = {"name": entry} if isinstance(entry, str) else entry
        if not isinstance(entry, dict):
            raise InvalidKeyError(
                f"{key}[{i}]", f"expected a table or a name, got {_describe(entry)}"
            )
        if "name" not in entry:
            raise InvalidKeyError(f"{key}[{i}]", "missing key 'name'")
        string(f"{key}[{i}].name", entry["name"])
        entries.append(entry)
    return entries


def check_keys(path: str, entry: dict[str, Any], valid: Iterable[str], owner: str) -> None:
    """Raise for a key of ``entry`` that is not ``name`` or in ``valid``, naming the closest."""
    valid = list(valid)
    for key in entry:
        if key == "name" or key in valid:
            continue
        if key in TOP_LEVEL_KEYS:
            raise misplaced(path, key)
        hint = closest(key, valid) if valid else f" ({owner} takes no parameters)"
        raise InvalidKeyError(f"{path}.{key}", f"unknown parameter {key!r} of {owner}{hint}")


def lookup(path: str, name: str, valid: Iterable[str], kind: str) -> str:
    if name not in valid:
        raise InvalidKeyError(path, f"unknown {kind} {name!r}{closest(name, valid)}")
    return name


# ---------------------------------------------------------------------------------------------
# Sweeps: a list of values expands to a cartesian product


def sweep(path: str, value: Any, list_valued: bool) -> list[Any]:
    """The values a key takes; see the rule in ``bench.grid``'s docstring."""
    _check_data(path, value)
    if isinstance(value, list) and value and all(isinstance(v, list) for v in value):
        return [tuple(v) for v in value]  # a list of lists is always a sweep
    if list_valued:
        return [tuple(value) if isinstance(value, list) else value]
    if isinstance(value, list):
        if not value:
            raise InvalidKeyError(path, "empty list: give at least one value to sweep over")
        return list(value)
    return [value]


@dataclasses.dataclass(frozen=True)
class Combination:
    """One point of an entry's sweep, and how to blame a key when building it fails."""

    path: str
    kwargs: dict[str, Any]
    axes: dict[str, list[Any]]
    known: tuple[str, ...] = ()  # other keys an error may name (e.g. a missing one)

    def blame(self, error: Exception, context: str = "") -> InvalidKeyError:
        """An :class:`InvalidKeyError` at the key the error message names first (else the entry)."""
        message = one_line(error)
        detail = message.split(": ", 1)[-1]  # skip the owner ("adam: lr=...")
        if not isinstance(error, ValueError | TypeError):  # a plugin's own error, or memory
            message = f"{type(error).__name__}: {message}"
        found = []
        for key in dict.fromkeys([*self.kwargs, *self.known]):
            match = re.search(rf"(?<![\w.]){re.escape(key)}(?!\w)", detail)
            if match:
                found.append((match.start(), key))
        path = self.path
        if found:
            key = min(found)[1]
            path = f"{path}.{key}"
            values = self.axes.get(key, ())
            if len(values) > 1:
                path += f"[{values.index(self.kwargs[key])}]"
        return InvalidKeyError(path, message + context)


def combinations(
    path: str,
    params: dict[str, Any],
    list_valued: Iterable[str] = (),
    known: Iterable[str] = (),
) -> Iterator[Combination]:
    """Every combination of ``params``' values, in key order then value order.

    ``known`` are the entry's other valid keys, which an error message may name.
    """
    list_valued = set(list_valued)
    axes = {key: sweep(f"{path}.{key}", value, key in list_valued) for key, value in params.items()}
    total = math.prod(len(values) for values in axes.values())
    if total > MAX_COMBINATIONS:
        sizes = " x ".join(f"{len(v)} {k}" for k, v in axes.items() if len(v) > 1)
        raise InvalidKeyError(
            path,
            f"sweeps {sizes} = {total:,} combinations, more than {MAX_COMBINATIONS:,} for one "
            "entry; shrink the sweep",
        )
    for values in itertools.product(*axes.values()):
        yield Combination(path, dict(zip(axes, values, strict=True)), axes, tuple(known))


def _is_sequence_type(annotation: Any, default: Any) -> bool:
    if isinstance(default, tuple | list):
        return True
    text = annotation if isinstance(annotation, str) else repr(annotation)
    return bool(re.search(r"\b(tuple|list|Sequence)\b", text))


def _dedupe(options: Iterable[Option]) -> tuple[Option, ...]:
    seen: dict[str, Option] = {}
    for option in options:
        seen.setdefault(option.identity, option)
    return tuple(seen.values())


# ---------------------------------------------------------------------------------------------
# Axes


def resolve_optimizers(entries: list[dict[str, Any]]) -> tuple[Option, ...]:
    """Each ``[[optimizers]]`` entry expanded and built: ``hyperparameters()`` with defaults."""
    options = []
    for i, entry in enumerate(entries):
        path = f"optimizers[{i}]"
        name = lookup(f"{path}.name", entry["name"], optimizers.names(), "optimizer")
        fields = dataclasses.fields(optimizers.get(name))
        check_keys(path, entry, [f.name for f in fields], f"optimizer {name!r}")
        params = {k: v for k, v in entry.items() if k != "name"}
        list_valued = [f.name for f in fields if _is_sequence_type(f.type, f.default)]
        for combo in combinations(path, params, list_valued):
            try:
                optimizer = optimizers.create(name, **combo.kwargs)
            except Exception as error:  # noqa: BLE001 - a plugin may raise anything
                raise combo.blame(error) from None
            params_out = as_plain(
                combo.path, f"{name}.hyperparameters()", optimizer.hyperparameters()
            )
            options.append(Option(name, params_out))
    return _dedupe(options)


def resolve_clipping(entries: list[dict[str, Any]] | None) -> tuple[Option, ...]:
    """Each ``[[clipping]]`` entry expanded and checked on a dummy gradient; defaults filled."""
    if entries is None:
        return (Option("none", {}),)
    options = []
    for i, entry in enumerate(entries):
        path = f"clipping[{i}]"
        name = lookup(f"{path}.name", entry["name"], optimizers.clip_names(), "clipping strategy")
        defaults = _clipping.keywords(name)
        check_keys(path, entry, defaults, f"clipping {name!r}")
        params = {k: v for k, v in entry.items() if k != "name"}
        for combo in combinations(path, params, known=defaults):
            grads, weights = [np.zeros(_DUMMY_SHAPE)], [np.ones(_DUMMY_SHAPE)]
            try:
                optimizers.clip(name, grads, params=weights, **combo.kwargs)
            except Exception as error:  # noqa: BLE001 - a plugin may raise anything
                raise combo.blame(error) from None
            resolved = {k: float(combo.kwargs.get(k, d)) for k, d in defaults.items()}
            options.append(Option(name, resolved))
    return _dedupe(options)


def resolve_schedules(
    entries: list[dict[str, Any]] | None, steps: int, used_by: str
) -> tuple[Option, ...]:
    """Each ``[[schedules]]`` entry for a cell of ``steps`` steps (``"steps"`` replaced)."""
    if entries is None:
        return (Option("constant", {}),)
    options = []
    for i, entry in enumerate(entries):
        path = f"schedules[{i}]"
        name = lookup(f"{path}.name", entry["name"], optimizers.schedule_names(), "schedule")
        keywords = _schedules.keywords(name)
        check_keys(path, entry, keywords, f"schedule {name!r}")
        params = {k: v for k, v in entry.items() if k != "name"}
        for combo in combinations(path, params, LIST_VALUED_SCHEDULE_KEYS, keywords):
            kwargs = {k: steps if v == STEPS_PLACEHOLDER else v for k, v in combo.kwargs.items()}
            uses_steps = kwargs != combo.kwargs
            try:
                built = optimizers.schedule(name, **kwargs)
            except Exception as error:  # noqa: BLE001 - a plugin may raise anything
                context = f" (with steps = {steps}, the budget of {used_by})" if uses_steps else ""
                raise combo.blame(error, context) from None
            params_out = dataclasses.asdict(built) if dataclasses.is_dataclass(built) else kwargs
            options.append(Option(name, plain(params_out)))
    return _dedupe(options)


def resolve_regularizers(entries: list[dict[str, Any]] | None) -> tuple[Option, ...]:
    """Each ``[[regularizers]]`` entry expanded (``strength`` sweeps) and checked on a dummy."""
    if entries is None:
        return (Option("none", {}),)
    extras_defaults = {
        p.name: p.default
        for p in inspect.signature(problems.regularize).parameters.values()
        if p.default is not inspect.Parameter.empty
    }
    options = []
    for i, entry in enumerate(entries):
        path = f"regularizers[{i}]"
        name = lookup(f"{path}.name", entry["name"], problems.regularizer_names(), "regularizer")
        extras = REGULARIZER_EXTRAS.get(name, ())
        valid = () if name == "none" else ("strength", *extras)
        check_keys(path, entry, valid, f"regularizer {name!r}")
        if name == "none":
            options.append(Option("none", {}))
            continue
        if "strength" not in entry:
            raise InvalidKeyError(
                path, f"regularizer {name!r} needs a strength, e.g. strength = [1e-4]"
            )
        params = {k: v for k, v in entry.items() if k != "name"}
        for combo in combinations(path, params):
            try:
                problems.regularize(
                    name, [np.ones(_DUMMY_SHAPE)], [np.zeros(_DUMMY_SHAPE)], **combo.kwargs
                )
            except Exception as error:  # noqa: BLE001 - a plugin may raise anything
                raise combo.blame(error) from None
            resolved = {"strength": float(combo.kwargs["strength"])}
            for key in extras:
                resolved[key] = float(combo.kwargs.get(key, extras_defaults.get(key)))
            options.append(Option(name, resolved))
    return _dedupe(options)


def resolve_initializers(value: Any) -> tuple[str | None, ...]:
    """The ``initializers`` list; ``"default"`` (the problem's own choice) becomes None."""
    if value is None:
        return (None,)
    if not isinstance(value, list):
        raise InvalidKeyError("initializers", f"expected a list of names, got {_describe(value)}")
    if not value:
        raise InvalidKeyError("initializers", 'empty list: give at least one name (or "default")')
    valid = [DEFAULT_INITIALIZER, *problems.initializer_names()]
    names = []
    for i, name in enumerate(value):
        lookup(f"initializers[{i}]", string(f"initializers[{i}]", name), valid, "initializer")
        names.append(None if name == DEFAULT_INITIALIZER else name)
    return tuple(dict.fromkeys(names))


def batch_size(path: str, value: Any) -> int | None:
    """``"full"`` (None) or an int ``>= 1``."""
    if value == "full":
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidKeyError(path, f'expected "full" or an integer >= 1, got {_describe(value)}')
    return value


def read_budget(table: dict[str, Any], path: str, base: Budget | None) -> Budget:
    """The budget keys of ``table`` (top level or one problem), over ``base``."""

    def where(key: str) -> str:
        return f"{path}.{key}" if path else key

    if "steps" in table and "epochs" in table:
        raise InvalidKeyError(where("epochs"), "give steps or epochs, not both")
    changes: dict[str, Any] = {}
    if "steps" in table:
        steps = integer(where("steps"), table["steps"], 1)
        changes |= {"steps": steps, "epochs": None, "budget_key": where("steps")}
    if "epochs" in table:
        epochs = positive(where("epochs"), table["epochs"])
        changes |= {"epochs": epochs, "steps": None, "budget_key": where("epochs")}
    if "batch_size" in table:
        changes["batch_size"] = batch_size(where("batch_size"), table["batch_size"])
    if "log_every" in table:
        changes["log_every"] = integer(where("log_every"), table["log_every"], 1)
    if "timeout" in table:
        changes["timeout"] = positive(where("timeout"), table["timeout"])
    return dataclasses.replace(base or Budget(), **changes)


def _problem_budget(
    path: str, entry: dict[str, Any], budget: Budget, train_size: int | None, name: str
) -> tuple[int, int | None]:
    """(steps, batch_size) of one built problem; epochs become steps."""
    if train_size is None:
        if "batch_size" in entry:
            raise InvalidKeyError(
                f"{path}.batch_size", f"{name} has no training data, so batch_size does not apply"
            )
        if budget.epochs is not None:
            raise InvalidKeyError(
                budget.budget_key,
                f"{name} ({path}) has no training data, so its budget must be in steps: "
                f"add steps = N to {path}",
            )
        return budget.steps or DEFAULT_STEPS, None
    batch = budget.batch_size
    if batch is not None and batch >= train_size:
        batch = None  # a batch of the whole training set is full batch
    if budget.epochs is None:
        return budget.steps or DEFAULT_STEPS, batch
    steps = math.ceil(budget.epochs * train_size / (batch or train_size) - 1e-9)
    return max(steps, 1), batch


def resolve_problems(entries: list[dict[str, Any]], budget: Budget) -> tuple[ProblemOption, ...]:
    """Each ``[[problems]]`` entry expanded and built once, with its resolved budget."""
    built: dict[str, problems.Problem] = {}
    options = []
    for i, entry in enumerate(entries):
        path = f"problems[{i}]"
        name = lookup(f"{path}.name", entry["name"], problems.names(), "problem")
        signature = inspect.signature(problems.get(name).__init__)
        arguments = list(signature.parameters.values())[1:]
        if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in arguments):
            valid = [p.name for p in arguments] + list(BUDGET_KEYS)
            check_keys(path, entry, valid, f"problem {name!r}")
        own_budget = read_budget(entry, path, budget)
        params = {k: v for k, v in entry.items() if k != "name" and k not in BUDGET_KEYS}
        list_valued = [p.name for p in arguments if _is_sequence_type(p.annotation, p.default)]
        for combo in combinations(path, params, list_valued):
            cache_key = json.dumps([name, plain(combo.kwargs)], sort_keys=True)
            if cache_key not in built:
                try:
                    built[cache_key] = problems.create(name, **combo.kwargs)
                except Exception as error:  # noqa: BLE001 - a plugin may raise anything
                    raise combo.blame(error) from None
            problem = built[cache_key]
            config = as_plain(path, f"{name}.config()", problem.config())
            steps, batch = _problem_budget(path, entry, own_budget, problem.train_size, name)
            options.append(
                ProblemOption(
                    name,
                    config,
                    uses_weights=bool(getattr(problem, "uses_initializer", True)),
                    steps=steps,
                    batch_size=batch,
                    log_every=own_budget.log_every,
                    timeout=own_budget.timeout,
                    path=path,
                )
            )
    return _dedupe(options)  # type: ignore[return-value]


def resolve_seeds(value: Any) -> tuple[int, ...]:
    """``seeds``: a count n (seeds 0..n-1) or an explicit list of distinct integers >= 0."""
    if isinstance(value, list):
        if not value:
            raise InvalidKeyError("seeds", "empty list: give a count (seeds = 5) or some seeds")
        seeds = tuple(integer(f"seeds[{i}]", s, 0) for i, s in enumerate(value))
        repeated = sorted({s for s in seeds if seeds.count(s) > 1})
        if repeated:
            raise InvalidKeyError(
                "seeds", f"{value!r} repeats {repeated}; each seed must be distinct"
            )
        return seeds
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidKeyError(
            "seeds", f"expected a count >= 1 or a list of seeds, got {_describe(value)}"
        )
    return tuple(range(integer("seeds", value, 1)))


def grid_name(value: Any) -> str:
    """A name that is safe as a file name (the default store is ``results/<name>.sqlite``)."""
    name = string("name", value)
    if not _NAME_PATTERN.fullmatch(name):
        raise InvalidKeyError(
            "name", f"{name!r} is not valid; use letters, digits, '.', '_' and '-' only"
        )
    return name


def plugin_names(data: dict[str, Any]) -> list[str]:
    """The ``plugins`` list: module names to import before names are checked."""
    value = data.get("plugins", [])
    if not isinstance(value, list):
        raise InvalidKeyError("plugins", f"expected a list of module names, got {_describe(value)}")
    return [string(f"plugins[{i}]", module) for i, module in enumerate(value)]


def check_top_level(data: dict[str, Any]) -> None:
    """Unknown top-level keys, and top-level keys caught inside the table before them."""
    for key in data:
        if key not in TOP_LEVEL_KEYS:
            raise InvalidKeyError(key, f"unknown key {key!r}{closest(key, TOP_LEVEL_KEYS)}")
    for axis in AXES:
        entries = data.get(axis)
        for i, entry in enumerate(entries if isinstance(entries, list) else []):
            for key in entry if isinstance(entry, dict) else ():
                if key in _NEVER_PARAMETERS:
                    raise misplaced(f"{axis}[{i}]", key)


def misplaced(path: str, key: str) -> InvalidKeyError:
    return InvalidKeyError(
        f"{path}.{key}",
        f"{key!r} is a top-level key but sits inside this table (in TOML every key after a "
        "[[table]] header belongs to that table): move it above the first [[...]] header",
    )
