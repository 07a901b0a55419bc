"""Resolve each axis of a grid into canonical options.

Every option is checked by building the real object (``optimizers.create``,
``optimizers.schedule``, ``optimizers.clip`` on a dummy array, ``problems.create``,
``problems.regularize`` on a dummy array), and its parameters are stored fully resolved, defaults
included, as plain JSON data: two spellings of one configuration resolve to the same option.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
from typing import Any

import numpy as np

import optimizers
import problems
from bench.grid.budget import Budget, problem_budget, read_budget
from bench.grid.sweep import combinations, dedupe, is_sequence_type
from bench.grid.values import (
    BUDGET_KEYS,
    InvalidKeyError,
    Option,
    ProblemOption,
    as_plain,
    check_keys,
    describe_value,
    lookup,
    plain,
    string,
)
from optimizers import clipping as _clipping
from optimizers import schedules as _schedules

STEPS_PLACEHOLDER = "steps"  # a schedule parameter spelled "steps" is the cell's step budget


DEFAULT_INITIALIZER = "default"  # in `initializers`: the problem's own default (None in a Cell)


# Schedule keywords whose single value is a list (a flat list is one value, not a sweep).
LIST_VALUED_SCHEDULE_KEYS = frozenset({"milestones"})


# Regularizer keywords besides `strength`, by regularizer.
REGULARIZER_EXTRAS = {"elastic_net": ("l1_ratio",)}


_DUMMY_SHAPE = (1, 2, 2)  # one run of a 2x2 weight: enough for clipping and regularizers to check


def optimizer_options(entries: list[dict[str, Any]]) -> tuple[Option, ...]:
    """Each ``[[optimizers]]`` entry expanded and built: ``hyperparameters()`` with defaults."""
    options = []
    for i, entry in enumerate(entries):
        path = f"optimizers[{i}]"
        name = lookup(f"{path}.name", entry["name"], optimizers.names(), "optimizer")
        fields = dataclasses.fields(optimizers.get(name))
        check_keys(path, entry, [f.name for f in fields], f"optimizer {name!r}")
        params = {k: v for k, v in entry.items() if k != "name"}
        list_valued = [f.name for f in fields if is_sequence_type(f.type, f.default)]
        for combo in combinations(path, params, list_valued):
            try:
                optimizer = optimizers.create(name, **combo.kwargs)
            except Exception as error:  # noqa: BLE001 - a plugin may raise anything
                raise combo.blame(error) from None
            params_out = as_plain(
                combo.path, f"{name}.hyperparameters()", optimizer.hyperparameters()
            )
            options.append(Option(name, params_out))
    return dedupe(options)


def clipping_options(entries: list[dict[str, Any]] | None) -> tuple[Option, ...]:
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
    return dedupe(options)


def schedule_options(
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
    return dedupe(options)


def regularizer_options(entries: list[dict[str, Any]] | None) -> tuple[Option, ...]:
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
    return dedupe(options)


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
    valid = [DEFAULT_INITIALIZER, *problems.initializer_names()]
    names = []
    for i, name in enumerate(value):
        lookup(f"initializers[{i}]", string(f"initializers[{i}]", name), valid, "initializer")
        names.append(None if name == DEFAULT_INITIALIZER else name)
    return tuple(dict.fromkeys(names))


def problem_options(entries: list[dict[str, Any]], budget: Budget) -> tuple[ProblemOption, ...]:
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
        list_valued = [p.name for p in arguments if is_sequence_type(p.annotation, p.default)]
        for combo in combinations(path, params, list_valued):
            cache_key = json.dumps([name, plain(combo.kwargs)], sort_keys=True)
            if cache_key not in built:
                try:
                    built[cache_key] = problems.create(name, **combo.kwargs)
                except Exception as error:  # noqa: BLE001 - a plugin may raise anything
                    raise combo.blame(error) from None
            problem = built[cache_key]
            config = as_plain(path, f"{name}.config()", problem.config())
            steps, batch = problem_budget(path, entry, own_budget, problem.train_size, name)
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
    return dedupe(options)  # type: ignore[return-value]
