"""Optimizers of other libraries, named in a grid like built-in rules: ``torch:module.Class``
(any ``torch.optim.Optimizer`` subclass: torch.optim, pytorch_optimizer, schedulefree) and
``optax:module.factory`` (any factory of an optax ``GradientTransformation``).

``optimizers.get("torch:pytorch_optimizer.Lamb")`` resolves such a name on demand (the registry's
prefix resolvers, see :meth:`optimizers.registry.Registry.add_resolver`): it imports the library
then, never before, so the core install and ``import optimizers`` need neither torch nor JAX.
The resolved class is an :class:`~optimizers.Optimizer` dataclass whose fields are the library's
keywords, so ``create``, ``describe`` and the grid's checks treat it like any rule.

>>> import optimizers
>>> opt = optimizers.create("torch:torch.optim.AdamW", lr=1e-3)  # doctest: +SKIP
"""

from __future__ import annotations

import functools
import importlib
from typing import Any

# prefix -> (the adapter module, the pip extra that installs its library)
ADAPTERS = {
    "torch": ("optimizers.adapters.torch_adapter", "torch"),
    "optax": ("optimizers.adapters.optax_adapter", "optax"),
}


def is_adapted(name: object) -> bool:
    """Whether ``name`` is spelled ``prefix:...`` with a known adapter prefix."""
    return isinstance(name, str) and name.partition(":")[0] in ADAPTERS and ":" in name


def adapter(prefix: str) -> Any:
    """The adapter module of ``prefix``; ``ValueError`` naming the extra if its library is
    missing."""
    module_name, extra = ADAPTERS[prefix]
    try:
        return importlib.import_module(module_name)
    except ImportError as error:
        raise ValueError(
            f"the {prefix} adapter needs {error.name or prefix}: pip install 'optbench[{extra}]'"
        ) from None


@functools.cache
def resolve(full_name: str) -> type:
    """The adapted optimizer class of ``prefix:module.name`` (made once per process)."""
    return adapter(full_name.partition(":")[0]).resolve(full_name)


def catalogue(prefix: str, module_name: str) -> list[str]:
    """The full names of the optimizers ``module_name`` offers through the ``prefix`` adapter."""
    return adapter(prefix).catalogue(module_name)


def install(registry: Any) -> None:
    """Let ``registry`` resolve every adapter prefix on demand."""
    for prefix in ADAPTERS:
        registry.add_resolver(prefix, resolve)
