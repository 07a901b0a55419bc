"""optimizers: update rules, learning-rate schedules and gradient clipping. Pure NumPy, no I/O.

Each kind of named thing is a :class:`~optimizers.registry.Registry` with ``names``, ``get``,
``create`` and ``describe``: the update rules here, the schedules in ``optimizers.schedules`` and
the clipping strategies in ``optimizers.clipping``. ``optimizers.testing.check_optimizer`` is what
a new rule must pass.

Per-run hyperparameters (run groups): ``stack(configs, runs)`` builds one optimizer whose continuous
hyperparameters are (R,) arrays for configurations of one ``group_signature``; ``stack_schedules``
and ``stack_clipping`` do the same for schedules and clipping strategies.

>>> import numpy as np, optimizers
>>> opt = optimizers.create("adam", lr=1e-3)
>>> params = [np.ones((4, 3))]          # 4 runs of a 3-vector
>>> state = opt.init(params)
>>> opt.step(params, [np.ones((4, 3))], state)
"""

from optimizers import adapters, clipping, schedules
from optimizers import rules as _rules  # noqa: F401  (registers the built-in update rules)
from optimizers.base import (
    RULES,
    Optimizer,
    State,
    create,
    describe,
    get,
    group_signature,
    names,
    register,
    stack,
    takes_per_run,
)
from optimizers.clipping import clip, clipper
from optimizers.clipping import group_signature as clipping_signature
from optimizers.clipping import stack as stack_clipping
from optimizers.registry import Description, Parameter, Registry
from optimizers.schedules import StackedSchedule, schedule
from optimizers.schedules import stack as stack_schedules

adapters.install(RULES)  # "torch:..." and "optax:..." names resolve on demand

__all__ = [
    "RULES",
    "Description",
    "Optimizer",
    "Parameter",
    "Registry",
    "StackedSchedule",
    "adapters",
    "State",
    "clip",
    "clipper",
    "clipping",
    "clipping_signature",
    "create",
    "describe",
    "get",
    "group_signature",
    "names",
    "register",
    "schedule",
    "schedules",
    "stack",
    "stack_clipping",
    "stack_schedules",
    "takes_per_run",
]
