"""``optbench list``: every name a grid can use, with its hyperparameters and defaults."""

from __future__ import annotations

import dataclasses

import optimizers
import optimizers.clipping
import optimizers.schedules
import problems
from bench.run.engine import import_plugins
from problems.base import constructor_keywords


def _format(params: dict) -> str:
    return ", ".join(f"{k} (required)" if v is None else f"{k}={v!r}" for k, v in params.items())


def _problem_defaults(cls) -> dict:
    import inspect

    signature = inspect.signature(cls.__init__)
    return {
        k: signature.parameters[k].default
        if signature.parameters[k].default is not inspect.Parameter.empty
        else None
        for k in constructor_keywords(cls)
    }


HELP = "list optimizers, problems, initializers, clipping, schedules, regularizers"
DESCRIPTION = "Everything a grid can name, with its hyperparameters and their defaults."


def configure(parser) -> None:
    parser.add_argument(
        "--plugin", action="append", default=[], metavar="MODULE", help="import MODULE first"
    )


def execute(args) -> int:
    from bench.errors import UsageError

    try:
        print(list_everything(tuple(args.plugin)))
    except ValueError as error:
        raise UsageError(str(error)) from None
    return 0


def list_everything(plugins: tuple[str, ...] = ()) -> str:
    """A plain-text catalogue of optimizers, problems, initializers, clipping, schedules and
    regularizers."""
    try:
        import_plugins(plugins)
    except ImportError as error:
        raise ValueError(f"cannot import plugin: {error}") from None
    lines = ["optimizers"]
    for name in optimizers.names():
        fields = {f.name: f.default for f in dataclasses.fields(optimizers.get(name))}
        lines.append(f"  {name:<12} {_format(fields)}")
    lines.append("\nproblems")
    for name in problems.names():
        cls = problems.get(name)
        lines.append(f"  {name:<12} {cls.description}")
        lines.append(f"  {'':<12} {_format(_problem_defaults(cls))}")
    lines.append("\ninitializers (problems with weights only)")
    lines.append("  " + ", ".join(problems.initializer_names()))
    lines.append("\nclipping")
    for name in optimizers.clip_names():
        lines.append(f"  {name:<12} {_format(optimizers.clipping.keywords(name))}")
    lines.append("\nschedules (multiplier of the base lr at step t)")
    for name in optimizers.schedule_names():
        lines.append(f"  {name:<14} {_format(optimizers.schedules.keywords(name))}")
    lines.append("\nregularizers (weight matrices only): strength, l1_ratio for elastic_net")
    lines.append("  " + ", ".join(problems.regularizer_names()))
    return "\n".join(lines)
