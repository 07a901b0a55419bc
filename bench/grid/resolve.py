"""Resolve each axis of a grid into canonical options.

An axis whose entries name a registered thing (optimizers, clipping, schedules, regularizers) is
resolved by one function, :func:`registered_options`, through the registry protocol: the name is
looked up in ``names()``, the keys are checked against ``describe(name).parameters`` (a parameter
of kind ``tuple`` or ``list`` takes a flat list as one value), every combination of the sweep is
built with ``create(name, **kw)`` to validate it, and its parameters are stored fully resolved,
defaults included, as plain JSON data: two spellings of one configuration resolve to the same
option. Problems are built the same way, each with its budget.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Callable, Iterator
from typing import Any

import optimizers
import problems
from bench.grid.axes import axis
from bench.grid.budget import Budget, problem_budget, read_budget
from bench.grid.footprint import footprint, human, machine_memory
from bench.grid.sweep import Combination, combinations, dedupe, list_valued
from bench.grid.values import (
    BUDGET_KEYS,
    InvalidKeyError,
    Option,
    ProblemOption,
    as_plain,
    check_keys,
    describe_value,
    lookup,
    of_kind,
    plain,
    string,
)
from optimizers import clipping as _clipping
from optimizers import schedules as _schedules
from problems import regularizers as _regularizers

STEPS_PLACEHOLDER = "steps"  # a schedule parameter spelled "steps" is the cell's step budget


DEFAULT_INITIALIZER = "default"  # in `initializers`: the problem's own default (None in a Cell)


# (built object, the keywords given, the keywords with defaults filled) -> the stored parameters
Stored = Callable[[Any, dict[str, Any], dict[str, Any]], Any]
Prepare = Callable[[dict[str, Any]], tuple[dict[str, Any], str]]


@dataclasses.dataclass(frozen=True)
class Registered:
    """An axis whose entries name things of one registry, and what its options store.

    ``registry`` offers ``names()``, ``describe(name)`` and ``create(name, **kw)``; ``stored``
    turns one built combination into its parameters, and ``source.format(name)`` names them in
    messages.
    """

    key: str  # the grid key, e.g. "clipping"
    registry: Any
    stored: Stored
    source: str


def _hyperparameters(built: Any, given: dict[str, Any], filled: dict[str, Any]) -> Any:
    return built.hyperparameters()


def _floats(built: Any, given: dict[str, Any], filled: dict[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in filled.items()}


def _fields(built: Any, given: dict[str, Any], filled: dict[str, Any]) -> Any:
    return dataclasses.asdict(built) if dataclasses.is_dataclass(built) else given


OPTIMIZERS = Registered("optimizers", optimizers, _hyperparameters, "{}.hyperparameters()")
CLIPPING = Registered("clipping", _clipping, _floats, "the keywords of clipping {!r}")
SCHEDULES = Registered("schedules", _schedules, _fields, "the fields of schedule {!r}")
REGULARIZERS = Registered("regularizers", _regularizers, _floats, "the keywords of {!r}")


def registered_options(
    entries: list[dict[str, Any]] | None, kind: Registered, prepare: Prepare | None = None
) -> tuple[Option, ...]:
    """Each entry of ``kind``'s axis looked up, expanded, built and resolved, defaults filled.

    No entries (the grid omits the axis) means the axis's default name. ``prepare(kwargs) ->
    (kwargs, context)`` rewrites a combination before it is built (the schedules' ``"steps"``);
    ``context`` is added to the message when building fails.
    """
    if entries is None:
        entries = [{"name": axis(kind.key).default}]
    options = []
    for i, entry in enumerate(entries):
        path = f"{kind.key}[{i}]"
        name = registered_name(f"{path}.name", entry["name"], kind)
        description = kind.registry.describe(name)
        parameters = description.parameters
        check_keys(path, entry, [p.name for p in parameters], f"{description.kind} {name!r}")
        given = {k: v for k, v in entry.items() if k != "name"}
        for combo in _combinations(path, given, description):
            kwargs, context = prepare(combo.kwargs) if prepare else (combo.kwargs, "")
            check_kinds(combo, kwargs, parameters)
            built = _build(combo, functools.partial(kind.registry.create, name, **kwargs), context)
            filled = {p.name: kwargs.get(p.name, p.default) for p in parameters}
            params = kind.stored(built, kwargs, filled)
            options.append(Option(name, as_plain(combo.path, kind.source.format(name), params)))
    return dedupe(options)


def registered_name(path: str, name: Any, kind: Registered) -> str:
    """``name`` if ``kind``'s registry knows it; a ``prefix:...`` name (``torch:...``, resolved on
    demand by ``optimizers.adapters``) is resolved now, so it imports and is an optimizer."""
    if isinstance(name, str) and ":" in name:
        try:
            kind.registry.get(name)
        except ValueError as error:
            raise InvalidKeyError(path, str(error)) from None
        return name
    return lookup(path, name, kind.registry.names(), axis(kind.key).kind)


def _combinations(path: str, given: dict[str, Any], description: Any) -> Iterator[Combination]:
    """The sweep of an entry's ``given`` keys; a missing required keyword is blamed by name."""
    parameters = description.parameters
    required = [p.name for p in parameters if p.required]
    return combinations(path, given, list_valued(parameters), required)


def check_kinds(combo: Combination, kwargs: dict[str, Any], parameters: Any) -> None:
    """Refuse values of the wrong type for the parameters' kinds (``Parameter.kind`` of a
    ``describe()``): a string for a boolean, a float for an integer, a string for a number.

    The elements of a list-valued parameter (or its one scalar, as ``hidden = 64``) are checked
    against the type of its default's elements, when they all share one (``hidden = (128,)``).
    """
    for parameter in parameters:
        if parameter.name not in kwargs:
            continue
        path, value = combo.key_path(parameter.name), kwargs[parameter.name]
        if parameter.kind in (bool, int, float):
            of_kind(path, value, parameter.kind)
        elif parameter.kind in (tuple, list) and isinstance(parameter.default, tuple | list):
            kinds = {bool if isinstance(v, bool) else type(v) for v in parameter.default}
            if len(kinds) != 1 or not kinds <= {bool, int, float}:
                continue
            if not isinstance(value, tuple | list):
                of_kind(path, value, kinds.pop())
                continue
            kind = kinds.pop()
            for i, item in enumerate(value):
                of_kind(f"{path}[{i}]", item, kind)


def _build(combo: Combination, build: Callable[[], Any], context: str = "") -> Any:
    """``build()``, its error becoming an :class:`InvalidKeyError` at the key it names."""
    try:
        return build()
    except Exception as error:  # noqa: BLE001 - a plugin may raise anything
        raise combo.blame(error, context) from None


def optimizer_options(entries: list[dict[str, Any]]) -> tuple[Option, ...]:
    """Each ``[[optimizers]]`` entry expanded and built: ``hyperparameters()`` with defaults."""
    return registered_options(entries, OPTIMIZERS)


def clipping_options(entries: list[dict[str, Any]] | None) -> tuple[Option, ...]:
    """Each ``[[clipping]]`` entry expanded and built; its keywords as floats, defaults filled."""
    return registered_options(entries, CLIPPING)


def regularizer_options(entries: list[dict[str, Any]] | None) -> tuple[Option, ...]:
    """Each ``[[regularizers]]`` entry expanded and built; its keywords as floats."""
    return registered_options(entries, REGULARIZERS)


def schedule_options(
    entries: list[dict[str, Any]] | None, steps: int, used_by: str
) -> tuple[Option, ...]:
    """Each ``[[schedules]]`` entry for a cell of ``steps`` steps (``"steps"`` replaced)."""

    def prepare(given: dict[str, Any]) -> tuple[dict[str, Any], str]:
        kwargs = {k: steps if v == STEPS_PLACEHOLDER else v for k, v in given.items()}
        uses_steps = kwargs != given
        return kwargs, f" (with steps = {steps}, the budget of {used_by})" if uses_steps else ""

    return registered_options(entries, SCHEDULES, prepare)


def initializer_options(value: Any) -> tuple[str | None, ...]:
    """The ``initializers`` list; ``"default"`` (the problem's own choice) becomes None."""
    if value is None:
        return (None,)
    if not isinstance(value, list):
        raise InvalidKeyError(
            "initializers", f"expected a list of names, got {describe_value(value)}"
        )
    if not value:
        raise InvalidKeyError("initializers", 'empty list: give at least one name (or "default")')
    valid = [DEFAULT_INITIALIZER, *problems.initializers.names()]
    names = []
    for i, name in enumerate(value):
        lookup(f"initializers[{i}]", string(f"initializers[{i}]", name), valid, "initializer")
        names.append(None if name == DEFAULT_INITIALIZER else name)
    return tuple(dict.fromkeys(names))


def problem_options(entries: list[dict[str, Any]], budget: Budget) -> tuple[ProblemOption, ...]:
    """Each ``[[problems]]`` entry expanded and built once, with its resolved budget."""
    built: dict[str, problems.Problem] = {}  # one build per configuration, shared by entries
    options = []
    for i, entry in enumerate(entries):
        path = f"problems[{i}]"
        name = lookup(f"{path}.name", entry["name"], problems.names(), "problem")
        description = problems.describe(name)
        valid = [*(p.name for p in description.parameters), *BUDGET_KEYS]
        check_keys(path, entry, valid, f"problem {name!r}")
        own_budget = read_budget(entry, path, budget)
        given = {k: v for k, v in entry.items() if k != "name" and k not in BUDGET_KEYS}
        for combo in _combinations(path, given, description):
            check_kinds(combo, combo.kwargs, description.parameters)
            key = json.dumps([name, plain(combo.kwargs)], sort_keys=True)
            if key not in built:
                _check_build_size(combo, name)
                built[key] = _build(combo, functools.partial(problems.create, name, **combo.kwargs))
            options.append(_problem_option(path, entry, own_budget, description, built[key]))
    return dedupe(options)  # type: ignore[return-value]


def _check_build_size(combo: Combination, name: str) -> None:
    """Refuse a problem whose build alone (its data, its matrices) cannot fit in memory."""
    size, memory = footprint(name, combo.kwargs), machine_memory()
    if size is None or memory is None or size.fixed * size.itemsize <= memory:
        return
    key = size.size_key
    path, given = combo.path, ""
    if key in combo.kwargs:
        path, given = combo.key_path(key), f" with {key} = {combo.kwargs[key]}"
    raise InvalidKeyError(
        path,
        f"too big: building {name}{given} needs about {human(size.fixed * size.itemsize)} "
        f"of memory, more than this machine's {human(memory)}",
    )


def _problem_option(
    path: str, entry: dict[str, Any], budget: Budget, description: Any, problem: Any
) -> ProblemOption:
    """A built problem with its budget; ``describe()`` says whether it has weights and data."""
    name = description.name
    train_size = problem.train_size if description.extra["has_data"] else None
    steps, batch = problem_budget(path, entry, budget, train_size, name)
    return ProblemOption(
        name,
        as_plain(path, f"{name}.config()", problem.config()),
        uses_weights=bool(description.extra["has_weights"]),
        steps=steps,
        batch_size=batch,
        log_every=budget.log_every,
        timeout=budget.timeout,
        path=path,
    )
