"""optimizers: update rules, learning-rate schedules and gradient clipping. Pure NumPy, no I/O.

Each kind of named thing is a :class:`~optimizers.registry.Registry` with ``names``, ``get``,
``create`` and ``describe``: the update rules here, the schedules in ``optimizers.schedules`` and
the clipping strategies in ``optimizers.clipping``. ``optimizers.testing.check_optimizer`` is what
a new rule must pass.

>>> import numpy as np, optimizers
>>> opt = optimizers.create("adam", lr=1e-3)
>>> params = [np.ones((4, 3))]          # 4 runs of a 3-vector
>>> state = opt.init(params)
>>> opt.step(params, [np.ones((4, 3))], state)
"""

from optimizers import adapters, clipping, schedules
from optimizers import rules as _rules  # noqa: F401  (registers the built-in update rules)
from optimizers.base import RULES, Optimizer, State, create, describe, get, names, register
from optimizers.clipping import clip, clipper
from optimizers.registry import Description, Parameter, Registry
from optimizers.schedules import schedule

adapters.install(RULES)  # "torch:..." and "optax:..." names resolve on demand

__all__ = [
    "RULES",
    "Description",
    "Optimizer",
    "Parameter",
    "Registry",
    "adapters",
    "State",
    "clip",
    "clipper",
    "clipping",
    "create",
    "describe",
    "get",
    "names",
    "register",
    "schedule",
    "schedules",
]
