"""The base of every adapted optimizer: an :class:`~optimizers.Optimizer` dataclass built at run
time from another library's class or factory, whose fields are that library's keywords.

The class is made once per full name (``torch:torch.optim.AdamW``) by :func:`adapted_class`; an
instance is validated when built (the library itself builds it once on a small tensor), so a grid
fails before anything runs. ``hyperparameters()`` are the library's keywords with defaults filled,
so the store records exactly what was passed.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import optimizers.base
from optimizers.adapters import signature
from optimizers.base import Optimizer, Params


@dataclasses.dataclass(frozen=True)
class Adapted(Optimizer):
    """An optimizer of another library (torch, optax) run on optbench's arrays."""

    prefix: ClassVar[str] = ""  # "torch" or "optax"
    full_name: ClassVar[str] = ""  # "torch:pytorch_optimizer.Lamb"
    target: ClassVar[Any] = None  # the library's class or factory
    library: ClassVar[str] = ""  # the distribution providing it ("pytorch-optimizer")
    library_version: ClassVar[str | None] = None
    lr_keyword: ClassVar[str | None] = "lr"  # the library's name for the learning rate, if any
    needs_closure: ClassVar[bool] = False  # step() must be given a closure (L-BFGS)
    # Only the lr may differ per run (each run has its own library optimizer), so every
    # configuration runs alone, with Python numbers (optimizers.takes_per_run).
    per_run: ClassVar[bool] = False

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):  # a stored configuration gives lists: tuples
            value = getattr(self, field.name)
            if isinstance(value, list):
                self._set(field.name, as_tuple(value))
        # A learning rate the library leaves to itself (None: A2Grad) is not scheduled; optbench
        # sees a nominal 1.0 and the library gets None.
        value = getattr(self, self.lr_keyword) if self.lr_keyword else None
        object.__setattr__(self, "_scheduled", isinstance(value, int | float))
        if self.lr_keyword != "lr" or not self._scheduled:
            self._set("lr", float(value) if self._scheduled else 1.0)
        self.validate()

    @property
    def scheduled(self) -> bool:
        """Whether each step's lr reaches the library (it has a numeric learning rate)."""
        return self._scheduled

    def validate(self) -> None:
        """Build the library's optimizer once, so that its own checks run now."""

    def hyperparameters(self) -> dict[str, Any]:
        """The library's keywords (defaults filled), as passed to it."""
        keywords = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.init}
        if self.lr_keyword and not self._scheduled:
            keywords[self.lr_keyword] = None
        return keywords

    def state_floats_per_param(self) -> int:
        raise NotImplementedError(f"{self.full_name}: the adapter does not know its state size")

    def eval_params(self, params: Params, state: Any) -> Params:
        """Where the model is evaluated: the params themselves unless the adapter says otherwise."""
        return params

    @classmethod
    def describe_extra(cls) -> dict[str, Any]:
        return {
            "torch": None,
            "torch_kwargs": {},
            "reference": cls.full_name,
            "adapter": cls.prefix,
            "library": cls.library,
            "library_version": cls.library_version,
            "state_buffers": (),
            "state_floats_per_param": None,
            "uses_lr_per_step": cls.uses_lr_per_step,
            "needs_closure": cls.needs_closure,
        }

    def __reduce__(self):
        # The class is made at run time: rebuild it from its name in the receiving process.
        return (rebuild, (self.full_name, self.hyperparameters()))


def as_tuple(value: Any) -> Any:
    """Lists, nested too, as tuples (TOML and JSON give lists where libraries expect tuples)."""
    return tuple(as_tuple(v) for v in value) if isinstance(value, list | tuple) else value


def rebuild(full_name: str, hyperparameters: dict[str, Any]) -> Adapted:
    """The adapted optimizer ``full_name`` with ``hyperparameters`` (for pickling)."""
    return optimizers.base.create(full_name, **hyperparameters)


def adapted_class(
    base: type[Adapted], full_name: str, module_name: str, target: Any, **facts: Any
) -> type[Adapted]:
    """A frozen dataclass subclass of ``base`` whose keyword-only fields are ``target``'s keywords.

    ``facts`` set class attributes (``needs_closure``, ``lr_keyword``). Without the library's
    own ``lr`` keyword, ``lr`` is not a field: it is 1.0, and a schedule has nothing to scale.
    """
    fields = signature.fields_of(target)
    lr_keyword = facts.get("lr_keyword", "lr")
    names = [name for name, _, _ in fields]
    if lr_keyword not in names:
        lr_keyword = None
    if lr_keyword != "lr":
        fields.append(("lr", float, dataclasses.field(default=1.0, init=False)))
    library, version = signature.library_version(module_name)
    doc = signature.summary(target, f"{full_name} through the {base.prefix} adapter")
    namespace = {
        "__doc__": f"{doc} ({full_name}, {library} {version}, through the {base.prefix} adapter)",
        "__module__": __name__,
        "name": full_name,
        "full_name": full_name,
        "target": staticmethod(target),  # a function must not become a method
        "library": library,
        "library_version": version,
        "uses_lr_per_step": lr_keyword is not None,
        **facts,
        "lr_keyword": lr_keyword,
    }
    class_name = full_name.replace(":", "_").replace(".", "_")
    return dataclasses.make_dataclass(
        class_name, fields, bases=(base,), frozen=True, kw_only=True, namespace=namespace
    )
