"""What the adapters share: importing a named class or factory, and turning its signature into
the keyword-only fields of an :class:`~optimizers.Optimizer` dataclass.

A keyword becomes a field when its default is plain data (a number, a boolean, a string, None, or
a tuple of those) or when it is required; its kind (what a grid may give it) comes from the default,
else from the annotation. A keyword whose default is not plain data (a callable, a torch dtype) is
left at the library's default and is not a field: a grid cannot spell such a value anyway.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import importlib.metadata
import inspect
from collections.abc import Callable, Iterable
from typing import Any

from optimizers._validate import closest
from optimizers.registry import _kind

PLAIN = (bool, int, float, str, type(None))
SKIPPED = ("params", "self")  # the parameters a torch optimizer is given, never a grid key


def import_target(full_name: str, known_modules: Iterable[str]) -> tuple[str, str, Any]:
    """``(module, attribute, object)`` named by ``prefix:module.attribute``.

    Raises ``ValueError`` (one line) for a name without a dot, a module that does not import (the
    closest of ``known_modules`` suggested) and a missing attribute (the closest public names).
    """
    prefix, _, dotted = full_name.partition(":")
    module_name, _, attribute = dotted.rpartition(".")
    if not module_name or not attribute:
        example = f"{prefix}:{next(iter(known_modules))}.Name"
        raise ValueError(f"optimizer {full_name!r}: expected a dotted name such as {example!r}")
    module = import_module(module_name, known_modules, f"unknown optimizer {full_name!r}")
    if not hasattr(module, attribute):
        public = [n for n in dir(module) if not n.startswith("_")]
        raise ValueError(
            f"unknown optimizer {full_name!r}: {module_name} has no {attribute!r}"
            f"{closest_any_case(attribute, public)}"
        )
    return module_name, attribute, getattr(module, attribute)


def import_module(module_name: str, known_modules: Iterable[str], context: str) -> Any:
    """The module ``module_name``; ``ValueError`` (one line, after ``context``) if it does not
    import, suggesting the closest of ``known_modules``."""
    try:
        return importlib.import_module(module_name)
    except ImportError as error:
        hint = closest(module_name, known_modules)
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ValueError(f"{context}: cannot import {module_name!r} ({first}){hint}") from None


def closest_any_case(name: str, valid: Iterable[str]) -> str:
    """:func:`closest`, comparing names without case (``adabelief`` finds ``AdaBelief``)."""
    by_lower = {v.lower(): v for v in valid}
    hint = closest(name.lower(), by_lower)
    if not hint.startswith(" (did you mean"):
        return ""
    for lower, original in by_lower.items():
        hint = hint.replace(repr(lower), repr(original))
    return hint


def is_plain(value: Any) -> bool:
    """Whether a grid (TOML) can spell ``value``: plain scalars and tuples or lists of them."""
    if isinstance(value, tuple | list):
        return all(is_plain(v) for v in value)
    return isinstance(value, PLAIN)


def parameter_kind(parameter: inspect.Parameter) -> type:
    """The kind a grid value must have: from the default, else from the annotation.

    An integer default is a number unless annotated ``int`` (``momentum: float = 0``); an
    unannotated integer default is not checked here (the library checks it).
    """
    annotation = object if parameter.annotation is parameter.empty else parameter.annotation
    default = parameter.default
    if default is parameter.empty or default is None:
        return _kind(annotation, None)
    if isinstance(default, bool):
        return bool
    if isinstance(default, int):
        annotated = _kind(annotation, None)
        return annotated if annotated in (int, float) else object
    if isinstance(default, float | str):
        return type(default)
    return tuple if isinstance(default, tuple | list) else object


def fields_of(target: Callable, skip: Iterable[str] = SKIPPED) -> list[tuple[str, type, Any]]:
    """The dataclass fields ``(name, kind, field)`` of ``target``'s keywords, in order."""
    fields = []
    for parameter in inspect.signature(target).parameters.values():
        if parameter.name in skip or parameter.kind in (
            parameter.VAR_POSITIONAL,
            parameter.VAR_KEYWORD,
        ):
            continue
        default = parameter.default
        if default is parameter.empty:
            fields.append((parameter.name, parameter_kind(parameter), dataclasses.field()))
        elif is_plain(default):
            default = tuple(default) if isinstance(default, list) else default
            field = dataclasses.field(default=default)
            fields.append((parameter.name, parameter_kind(parameter), field))
    return fields


def library_version(module_name: str) -> tuple[str, str | None]:
    """The distribution that provides ``module_name`` and its installed version."""
    return _top_level_version(module_name.split(".")[0])


@functools.cache
def _top_level_version(top: str) -> tuple[str, str | None]:
    # packages_distributions() reads every installed distribution's metadata: once per library
    distributions = importlib.metadata.packages_distributions().get(top, [top])
    distribution = distributions[0]
    try:
        return distribution, importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return distribution, None


def summary(target: Any, fallback: str) -> str:
    """The first line of ``target``'s docstring, else ``fallback``."""
    doc = inspect.getdoc(target) or ""
    lines = [line.strip() for line in doc.strip().splitlines() if line.strip()]
    return lines[0] if lines else fallback
