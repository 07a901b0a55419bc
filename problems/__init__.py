"""problems: the problem zoo (objectives, data, models), initializers and regularizers.

>>> import numpy as np, problems
>>> prob = problems.create("rosenbrock", dim=2)
>>> params = prob.init_params(np.random.default_rng(0), runs=8)
>>> loss, grads = prob.loss_and_grad(params)          # loss (8,), grads [(8, 2)]
>>> sorted(prob.evaluate(params))
['train_loss']

``problems`` never imports ``optimizers`` or ``bench``.
"""

from problems import classification as _classification  # noqa: F401  (registers the problems)
from problems import functions as _functions  # noqa: F401  (registers the problems)
from problems.base import Problem, create, get, names, register
from problems.initializers import initialize
from problems.initializers import names as initializer_names
from problems.regularizers import names as regularizer_names
from problems.regularizers import regularize

__all__ = [
    "Problem",
    "create",
    "get",
    "initialize",
    "initializer_names",
    "names",
    "register",
    "regularize",
    "regularizer_names",
]
