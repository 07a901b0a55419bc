"""How long and how each problem trains: steps or epochs, batch size, logging, timeout."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from bench.grid.values import (
    DEFAULT_LOG_EVERY,
    DEFAULT_STEPS,
    InvalidKeyError,
    describe_value,
    integer,
    positive,
)

# A run loops over its steps in Python and logs every log_every of them: a billion steps is
# days of work, and a bound keeps epochs = 1e300 from becoming an integer no store can hold.
MAX_STEPS = 10**9


@dataclasses.dataclass(frozen=True)
class Budget:
    """How long and how each problem trains: top-level values, overridden per problem."""

    steps: int | None = None
    epochs: float | None = None
    batch_size: int | None = None  # None: full batch
    log_every: int = DEFAULT_LOG_EVERY
    timeout: float | None = None
    budget_key: str = "steps"  # where steps or epochs was set, for error messages


def batch_size(path: str, value: Any) -> int | None:
    """``"full"`` (None) or an int ``>= 1``."""
    if value == "full":
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidKeyError(
            path, f'expected "full" or an integer >= 1, got {describe_value(value)}'
        )
    return integer(path, value, 1)


def read_budget(table: dict[str, Any], path: str, base: Budget | None) -> Budget:
    """The budget keys of ``table`` (top level or one problem), over ``base``."""

    def where(key: str) -> str:
        return f"{path}.{key}" if path else key

    if "steps" in table and "epochs" in table:
        raise InvalidKeyError(where("epochs"), "give steps or epochs, not both")
    changes: dict[str, Any] = {}
    if "steps" in table:
        steps = integer(where("steps"), table["steps"], 1, MAX_STEPS)
        changes |= {"steps": steps, "epochs": None, "budget_key": where("steps")}
    if "epochs" in table:
        epochs = positive(where("epochs"), table["epochs"])
        changes |= {"epochs": epochs, "steps": None, "budget_key": where("epochs")}
    if "batch_size" in table:
        changes["batch_size"] = batch_size(where("batch_size"), table["batch_size"])
    if "log_every" in table:
        changes["log_every"] = integer(where("log_every"), table["log_every"], 1, MAX_STEPS)
    if "timeout" in table:
        changes["timeout"] = positive(where("timeout"), table["timeout"])
    return dataclasses.replace(base or Budget(), **changes)


def problem_budget(
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
    steps = budget.epochs * train_size / (batch or train_size)
    if steps > MAX_STEPS:
        raise InvalidKeyError(
            budget.budget_key,
            f"{budget.epochs:g} epochs of {name} ({path}) are {steps:.3g} steps, more than "
            f"{MAX_STEPS:,}",
        )
    return max(math.ceil(steps - 1e-9), 1), batch
