"""Which of pytorch-optimizer's registered optimizers run on optbench's zoo, and why the others
do not; writes ``examples/pytorch_optimizer.toml``, the grid of those that run.

Each optimizer is built at its defaults through the torch adapter and stepped 20 times on two
problems (Rosenbrock: one 2-vector per run; XOR: an MLP's matrices and biases), 2 runs each, as the
engine does (built from its stored keywords, given a closure if it needs one, evaluated at
``eval_params`` after each step). It
fails if it cannot be named or built at its defaults, or raises (one that
diverges runs: divergence is a result).

    python examples/pytorch_optimizer_survey.py    # about a minute
"""

from __future__ import annotations

import importlib.metadata
import json
import pathlib
import sys
import time

import numpy as np
import pytorch_optimizer
import torch

import optimizers
import problems

HERE = pathlib.Path(__file__).parent
PROBLEMS = (("rosenbrock", {"dim": 2, "start_noise": 0.1}), ("xor", {}))
GRID_HEADER = """\
# Every optimizer pytorch-optimizer {version} registers (pytorch_optimizer.get_supported_optimizers,
# {total} names) that runs on optbench's zoo, at its defaults, with a small budget.
# Written by examples/pytorch_optimizer_survey.py; run with
#     optbench run examples/pytorch_optimizer.toml
# {working} of the {total} run. The {failing} others, and why (the survey's first error, one line):
{failures}
name = "pytorch_optimizer"
description = "pytorch-optimizer's collection at its defaults, small budgets, 3 seeds."
seed = 0
seeds = 3
steps = 200
log_every = 20

[[problems]]
name = "rosenbrock"
dim = 2
start_noise = 0.1

[[problems]]
name = "quadratic"
dim = 10
start_noise = 0.1

[[problems]]
name = "beale"
start_noise = 0.1

[[problems]]
name = "xor"

[[problems]]
name = "spirals"
hidden = 16

"""


def full_names() -> list[str]:
    """``torch:<module>.<Class>`` of every name pytorch-optimizer registers."""
    names = []
    for key in pytorch_optimizer.get_supported_optimizers():
        cls = pytorch_optimizer.load_optimizer(key)
        public = "torch.optim" if cls.__module__.startswith("torch.optim") else "pytorch_optimizer"
        names.append(f"torch:{public}.{cls.__name__}")
    return names


def why_not(name: str) -> str | None:
    """None if ``name`` runs on both problems, else the reason, one line."""
    try:
        stored = json.loads(json.dumps(optimizers.create(name).hyperparameters()))
        opt = optimizers.create(name, **stored)  # as a worker builds it from the store
    except Exception as error:  # noqa: BLE001 - any failure is a reason to report
        return f"cannot be built at its defaults: {first_line(error)}"
    for problem_name, kwargs in PROBLEMS:
        problem = problems.create(problem_name, **kwargs)
        params = problem.init_params(np.random.default_rng(0), runs=2)
        try:
            state = opt.init(params)
            opt.eval_params(params, state)  # the engine evaluates at step 0 too
            for _ in range(20):
                _, grads = problem.loss_and_grad(params)
                closure = {"closure": objective(problem, params)} if opt.needs_closure else {}
                opt.step(params, grads, state, lr=opt.lr, **closure)
                opt.eval_params(params, state)
        except Exception as error:  # noqa: BLE001
            return f"raises on {problem_name}: {first_line(error)}"
    return None  # non-finite params are a divergence: a result the grid records, not a failure


def objective(problem, params):
    """The closure the engine gives an optimizer that needs one: loss and grads, now."""
    return lambda: problem.loss_and_grad(params)


def first_line(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"[:150]


def main() -> int:
    torch.manual_seed(0)
    started = time.perf_counter()
    names = full_names()
    working, failures = [], []
    for name in names:
        reason = why_not(name)
        if reason is None:
            working.append(name)
        else:
            failures.append(f"#   {name}: {reason}")
        print(f"{name}: {reason or 'runs'}", file=sys.stderr)
    header = GRID_HEADER.format(
        version=importlib.metadata.version("pytorch_optimizer"),
        total=len(names),
        working=len(working),
        failing=len(failures),
        failures="\n".join(failures),
    )
    entries = "".join(f'[[optimizers]]\nname = "{name}"\n\n' for name in working)
    (HERE / "pytorch_optimizer.toml").write_text(header + entries.rstrip() + "\n")
    print(f"{len(working)} of {len(names)} run ({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
