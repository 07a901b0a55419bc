"""One registry protocol for every kind of named thing: names, get, create, describe.

Update rules, schedules and clipping strategies are each a ``Registry`` of frozen dataclasses whose
fields are their keywords, so the same four calls list them, build them with checked keywords and
describe them (name, summary, parameters with defaults and types, kind-specific facts).

>>> registry = Registry("schedule")
>>> @registry.register("half")
... @dataclasses.dataclass(frozen=True)
... class Half:
...     '''Multiply by 0.5 every ``period`` steps.'''
...     period: int = 10
>>> registry.create("half", period=3)
Half(period=3)
>>> registry.describe("half").parameters
(Parameter(name='period', default=10, required=False, kind=<class 'int'>),)
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import types
import typing
from collections.abc import Iterator
from typing import Any

from optimizers._validate import check_keywords, unknown_name

# The kinds a parameter is reported as; anything else is ``object``.
_KINDS: dict[str, type] = {t.__name__: t for t in (bool, int, float, str, tuple, list)}


@dataclasses.dataclass(frozen=True)
class Parameter:
    """One keyword of a registered thing; ``default`` is None when ``required``."""

    name: str
    default: Any
    required: bool
    kind: type  # bool, int, float, str, tuple, list, or object when unknown


@dataclasses.dataclass(frozen=True)
class Description:
    """What ``Registry.describe`` says about one registered name."""

    kind: str  # "optimizer", "schedule", "clipping"
    name: str
    summary: str  # first line of the docstring
    parameters: tuple[Parameter, ...]
    extra: dict[str, Any]  # kind-specific facts, e.g. {"torch": "torch.optim.Adam"} for rules


class Registry:
    """Named things of one kind, each a class (or callable) built from keyword arguments.

    An entry may define a classmethod ``describe_extra() -> dict`` whose facts go into
    ``describe(name).extra``, and a string attribute ``family`` (an update rule's group:
    "classic", "adaptive", ...), which goes into ``extra["family"]``.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Any] = {}
        self._resolvers: dict[str, Any] = {}

    def _table(self) -> dict[str, Any]:
        """The name -> entry mapping; a subclass may keep it elsewhere (see optimizers.base)."""
        return self._entries

    def register(self, name: str, obj: Any = None) -> Any:
        """Register ``obj`` as ``name`` and return it; without ``obj``, a decorator."""
        if obj is None:
            return functools.partial(self.register, name)
        self._table()[name] = obj
        return obj

    def add_resolver(self, prefix: str, resolve: Any) -> None:
        """Resolve names ``prefix:...`` on demand: ``get(name)`` returns ``resolve(name)``, which
        raises ``ValueError`` for a name it cannot resolve (see ``optimizers.adapters``)."""
        self._resolvers[prefix] = resolve

    def names(self) -> list[str]:
        """The sorted registered names."""
        return sorted(self._table())

    def get(self, name: str) -> Any:
        """The entry registered as ``name``; an unknown name lists the closest ones."""
        table = self._table()
        if isinstance(name, str) and name.partition(":")[0] in self._resolvers and ":" in name:
            return self._resolvers[name.partition(":")[0]](name)
        try:
            return table[name]
        except (KeyError, TypeError):
            raise unknown_name(self.kind, name, table) from None

    def create(self, name: str, /, **kw: Any) -> Any:
        """Build ``name`` from ``kw``, naming any unknown or missing keyword first."""
        entry = self.get(name)
        parameters = _parameters(entry)
        owner = f"{self.kind} {name!r}"
        check_keywords(owner, kw, [p.name for p in parameters])
        for parameter in parameters:
            if parameter.required and parameter.name not in kw:
                raise ValueError(f"{owner}: missing required keyword {parameter.name!r}")
        return entry(**kw)

    def describe(self, name: str) -> Description:
        """Name, summary, parameters and kind-specific facts of ``name``."""
        entry = self.get(name)
        doc = inspect.getdoc(entry) or ""
        extra = getattr(entry, "describe_extra", None)
        facts = dict(extra()) if callable(extra) else {}
        if isinstance(getattr(entry, "family", None), str):
            facts.setdefault("family", entry.family)
        return Description(
            kind=self.kind,
            name=name,
            summary=doc.strip().splitlines()[0] if doc.strip() else "",
            parameters=_parameters(entry),
            extra=facts,
        )

    def __contains__(self, name: object) -> bool:
        try:
            return name in self._table()
        except TypeError:  # an unhashable name (a list, a dict) is not registered
            return False

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._table())

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, names={self.names()})"


def _parameters(entry: Any) -> tuple[Parameter, ...]:
    """The keywords of ``entry``: its dataclass fields, else its call signature."""
    if dataclasses.is_dataclass(entry):
        hints = _type_hints(entry)
        result = []
        for f in dataclasses.fields(entry):
            if not f.init:
                continue
            default = f.default
            if default is dataclasses.MISSING and f.default_factory is not dataclasses.MISSING:
                default = f.default_factory()
            required = default is dataclasses.MISSING
            default = None if required else default
            kind = _kind(hints.get(f.name, f.type), default)
            result.append(Parameter(f.name, default, required, kind))
        return tuple(result)
    result = []
    for p in inspect.signature(entry).parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        required = p.default is p.empty
        default = None if required else p.default
        annotation = object if p.annotation is p.empty else p.annotation
        result.append(Parameter(p.name, default, required, _kind(annotation, default)))
    return tuple(result)


def _type_hints(cls: type) -> dict[str, Any]:
    """Resolved annotations of ``cls``; string annotations that do not resolve stay strings."""
    try:
        return typing.get_type_hints(cls)
    except Exception:  # an annotation naming something not importable here
        return {}


def _kind(annotation: Any, default: Any) -> type:
    """bool, int, float, str, tuple or list from an annotation (or its string), else the default."""
    if isinstance(annotation, str):
        head = annotation.split("|")[0].split("[")[0].strip()
        if head in _KINDS:
            return _KINDS[head]
    else:
        options = [annotation]
        if typing.get_origin(annotation) in (typing.Union, types.UnionType):
            options = [a for a in typing.get_args(annotation) if a is not type(None)]
        for option in options:
            base = typing.get_origin(option) or option
            if base in _KINDS.values():
                return base
    if default is not None and type(default) in _KINDS.values():
        return type(default)
    return object
