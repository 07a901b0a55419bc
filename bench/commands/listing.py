"""``optbench list``: every name a grid can use, with its keywords, defaults and facts.

Everything comes from the registry protocol (``names()`` and ``describe(name)`` of each kind), so
a plugin's rule, problem or schedule is listed like the built-in ones.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

import optimizers
import problems
from bench.run.engine import import_plugins

WIDTH = 80
COLUMN = 18  # where the text after a name starts
STATE_DTYPE = np.dtype(np.float64)  # the dtype whose bytes the optimizer state is counted in
# The families of update rules, in the order `optbench list` shows them; a rule names its own in
# its ``family`` class attribute ("other" by default).
FAMILIES = (
    "classic",
    "adaptive",
    "sign-based",
    "parameter-free",
    "schedule-free",
    "matrix",
    "second-order",
    "other",
)

HELP = "list optimizers, problems, initializers, clipping, schedules, regularizers"
EXIT_CODES = """\
exit codes:
  0    everything was listed
  2    a --plugin that cannot be imported, or that registers something broken
  130  interrupted (Ctrl-C)
"""
DESCRIPTION = "Everything a grid can name, with its keywords, their defaults and other facts."


def configure(parser) -> None:
    parser.add_argument(
        "--plugin", action="append", default=[], metavar="MODULE", help="import MODULE first"
    )
    for prefix, example in (("torch", "pytorch_optimizer"), ("optax", "optax")):
        parser.add_argument(
            f"--{prefix}",
            metavar="MODULE",
            help=f"list instead the optimizers MODULE offers as {prefix}:MODULE.Name "
            f"(e.g. {example}), with their keywords",
        )


def execute(args) -> int:
    from bench.errors import UsageError

    try:
        library = [
            (p, getattr(args, p, None)) for p in ("torch", "optax") if getattr(args, p, None)
        ]
        print(list_library(*library[0]) if library else list_everything(tuple(args.plugin)))
    except ValueError as error:
        raise UsageError(str(error)) from None
    return 0


def list_library(prefix: str, module: str) -> str:
    """The optimizers ``module`` offers through the ``prefix`` adapter, each with its keywords
    (or why it cannot be named), from ``describe()``."""
    names = optimizers.adapters.catalogue(prefix, module)
    lines = [f"{len(names)} optimizers in {module}, named in a grid as {prefix}:{module}.Name"]
    for name in names:
        try:
            details = keywords(optimizers.describe(name))
        except ValueError as error:
            details = [str(error)]
        lines.append(f"  {name}")
        lines += [" " * 4 + line for line in _pack(details, WIDTH - 4)]
    return "\n".join(lines)


def keywords(description: Any) -> list[str]:
    """``name=default`` for each keyword of a ``describe()`` result, ``name (required)`` if none."""
    return [
        f"{p.name} (required)" if p.required else f"{p.name}={p.default!r}"
        for p in description.parameters
    ] or ["no keywords"]


def _rule_facts(description: Any) -> list[str]:
    """``torch.optim.SGD(momentum=0.9); state 8 B/param``: its reference and state size."""
    extra = description.extra
    torch = extra.get("torch")
    if torch and extra.get("torch_kwargs"):
        torch += "(" + ", ".join(f"{k}={v!r}" for k, v in extra["torch_kwargs"].items()) + ")"
    reference = torch or extra.get("reference") or "no library counterpart"
    floats = extra.get("state_floats_per_param")
    if floats is None:
        state = "state size unknown"
    else:
        state = f"state {floats * STATE_DTYPE.itemsize} B/param"
    return [f"{reference}; {state}"]


def family_of(description: Any) -> str:
    """The rule's family (``describe().extra["family"]``), ``"other"`` when it declares none."""
    family = description.extra.get("family")
    return family if isinstance(family, str) and family.strip() else "other"


def rules_by_family(registry: Any = optimizers) -> list[tuple[str, list[str]]]:
    """``[(family, [rule names])]`` in the order of ``FAMILIES``. A family not listed there (a
    plugin's own) comes after them, alphabetically, and ``"other"`` last; none is empty."""
    groups: dict[str, list[str]] = {}
    for name in registry.names():
        groups.setdefault(family_of(registry.describe(name)), []).append(name)
    known = [f for f in FAMILIES if f in groups]
    unknown = sorted(f for f in groups if f not in FAMILIES)
    order = known + unknown
    if "other" in order:
        order = [f for f in order if f != "other"] + ["other"]
    return [(family, groups[family]) for family in order]


def _torch_fact(description: Any) -> list[str]:
    facts = [description.extra["torch"]] if description.extra.get("torch") else []
    return facts + (["needs the parameters"] if description.extra.get("needs_params") else [])


# (title, registry, the lines about one name: lists are keyword-like items, strings are prose)
SECTIONS: tuple[tuple[str, Any, Callable[[Any], list]], ...] = (
    (f"optimizers, by family: keywords; reference; state bytes per {STATE_DTYPE} parameter",
     optimizers,
     lambda d: [keywords(d), *_rule_facts(d)]),
    ("problems", problems, lambda d: [d.extra.get("description") or d.summary, keywords(d)]),
    ("initializers (problems with weights only)", problems.initializers, lambda d: [d.summary]),
    ("clipping", optimizers.clipping, lambda d: [keywords(d), *_torch_fact(d)]),
    ("schedules (multiplier of the base lr at step t)", optimizers.schedules,
     lambda d: [keywords(d), *_torch_fact(d)]),
    ("regularizers (weight matrices only)", problems.regularizers, lambda d: [keywords(d)]),
)  # fmt: skip


def _pack(items: Iterable[str], width: int) -> list[str]:
    """Comma-separated ``items`` in lines of at most ``width`` (an item is never split)."""
    lines: list[str] = []
    for item in items:
        if lines and len(lines[-1]) + 2 + len(item) <= width - 1:
            lines[-1] += f", {item}"
        else:
            if lines:
                lines[-1] += ","
            lines.append(item)
    return lines


def entry(name: str, details: list) -> list[str]:
    """The lines of one name: its details from column ``COLUMN``, wrapped at ``WIDTH``."""
    width = WIDTH - COLUMN
    lines = []
    for detail in details:
        if isinstance(detail, str):
            prose = detail.replace("``", "")  # reST literals read as plain text here
            lines += textwrap.wrap(prose, width, break_on_hyphens=False) or [""]
        else:
            lines += _pack(detail, width)
    head = f"  {name}"
    if len(head) >= COLUMN:  # a long plugin name gets a line of its own
        return [head] + [" " * COLUMN + line for line in lines]
    return [head.ljust(COLUMN) + lines[0]] + [" " * COLUMN + line for line in lines[1:]]


def list_everything(plugins: tuple[str, ...] = ()) -> str:
    """A plain-text catalogue of every registered optimizer, problem, initializer, clipping
    strategy, schedule and regularizer, from ``describe()``."""
    try:
        import_plugins(plugins)
    except ImportError as error:
        raise ValueError(f"cannot import plugin: {error}") from None
    blocks = []
    for title, registry, details in SECTIONS:
        lines = [title]
        if registry is optimizers:
            for family, names in rules_by_family(registry):
                lines.append(f"  [{family}]")
                lines += [line for n in names for line in entry(n, details(registry.describe(n)))]
        else:
            for name in registry.names():
                lines += entry(name, details(registry.describe(name)))
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)
