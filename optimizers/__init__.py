"""optimizers: update rules, learning-rate schedules and gradient clipping. Pure NumPy, no I/O.

>>> import numpy as np, optimizers
>>> opt = optimizers.create("adam", lr=1e-3)
>>> params = [np.ones((4, 3))]          # 4 runs of a 3-vector
>>> state = opt.init(params)
>>> opt.step(params, [np.ones((4, 3))], state)
"""

from optimizers import rules as _rules  # noqa: F401  (registers the built-in update rules)
from optimizers.base import Optimizer, create, get, names, register
from optimizers.clipping import clip
from optimizers.clipping import names as clip_names
from optimizers.schedules import names as schedule_names
from optimizers.schedules import schedule

__all__ = [
    "Optimizer",
    "clip",
    "clip_names",
    "create",
    "get",
    "names",
    "register",
    "schedule",
    "schedule_names",
]
