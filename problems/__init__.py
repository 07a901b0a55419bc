"""problems: the problem zoo (objectives, data, models), initializers and regularizers.

>>> import numpy as np, problems
>>> prob = problems.create("rosenbrock", dim=2)
>>> params = prob.init_params(np.random.default_rng(0), runs=8)
>>> loss, grads = prob.loss_and_grad(params)          # loss (8,), grads [(8, 2)]
>>> sorted(prob.evaluate(params))
['train_loss']
>>> problems.describe("rosenbrock").extra["targets"]       # without building the problem
(0.1, 0.001, 1e-06)
>>> problems.testing.check_problem("rosenbrock", dim=3)    # the checks a plugin should pass

Every kind of named thing (``problems``, ``problems.initializers``, ``problems.regularizers``)
offers the same registry protocol: ``names()``, ``get(name)``, ``create(name, **kw)``,
``describe(name)``.

``problems`` never imports ``optimizers`` or ``bench``.
"""

from problems import classification as _classification  # noqa: F401  (registers the problems)
from problems import factorizations as _factorizations  # noqa: F401  (registers the problems)
from problems import functions as _functions  # noqa: F401  (registers the problems)
from problems import initializers, regularizers, streams, testing
from problems import quadratics as _quadratics  # noqa: F401  (registers the problems)
from problems.base import (
    METRICS,
    Problem,
    TargetLadder,
    create,
    describe,
    get,
    names,
    register,
)
from problems.initializers import initialize
from problems.registry import Description, Parameter, Registry
from problems.regularizers import regularize
from problems.streams import RunStreams, StepDraws

__all__ = [
    "METRICS",
    "Description",
    "Parameter",
    "Problem",
    "Registry",
    "RunStreams",
    "StepDraws",
    "TargetLadder",
    "create",
    "describe",
    "get",
    "initialize",
    "initializers",
    "names",
    "register",
    "regularize",
    "regularizers",
    "streams",
    "testing",
]
