"""Running a rule beside its reference optimizer (torch.optim or pytorch-optimizer) in float64.

Each run is its own model: run r's slice of each parameter array is a torch parameter of the
r-th reference optimizer. A per-tensor norm of the reference is then a per-run norm of ours, and a
reduction over all of a reference's params (Prodigy's) one over all of a run's arrays.
"""

import importlib
import math

import numpy as np

import optimizers

SHAPES = ((2, 5), (2, 3, 4))  # two runs of a vector and of a 3x4 matrix


def reference_class(dotted: str):
    """The class named ``torch.optim.Adam`` or ``pytorch_optimizer.Lamb``, or its adapter
    (:mod:`tests.optimizers.reference_adapters`) where the class alone is not the reference."""
    from tests.optimizers.reference_adapters import ADAPTERS

    if dotted in ADAPTERS:
        return ADAPTERS[dotted]
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


def build_reference(opt: optimizers.Optimizer, reference: str, tensors: list, **options):
    """``reference`` over ``tensors`` with ``opt``'s arguments; a wrapper rule (Lookahead, with an
    ``inner_optimizer``) wraps the reference of its inner rule, built the same way."""
    inner = getattr(opt, "inner_optimizer", None)
    if inner is not None:
        inner_reference = inner.reference or inner.torch_reference
        wrapped = build_reference(inner, inner_reference, tensors, **options)
        return reference_class(reference)(wrapped, **opt.torch_arguments())
    ref = reference_class(reference)(tensors, **opt.torch_arguments(), **options)
    if callable(getattr(ref, "train", None)):
        ref.train()  # schedulefree's optimizers step only in train mode
    return ref


def lr_schedule(base_lr: float, t: int, steps: int) -> float:
    """A cosine from ``base_lr`` (t = 0) down to a tenth of it, so every step's lr differs."""
    return base_lr * (0.1 + 0.45 * (1.0 + math.cos(math.pi * t / steps)))


def max_relative_difference(
    opt: optimizers.Optimizer,
    reference: str,
    *,
    steps: int = 100,
    schedule: bool = True,
    rtol: float = 1e-9,
    seed: int = 5,
    shapes=SHAPES,
    **reference_options,
) -> float:
    """Step ``opt`` and ``reference`` on the same gradients; assert each step agrees to ``rtol``.

    With ``schedule``, step t's lr follows :func:`lr_schedule`: passed to ``opt.step`` and set
    as the reference's param-group lr. Returns the largest relative difference seen.
    """
    import torch

    rng = np.random.default_rng(seed)
    params = [rng.standard_normal(s) for s in shapes]
    tensors = [
        [
            torch.tensor(p[run].copy(), dtype=torch.float64, requires_grad=True)
            for run in range(len(p))
        ]
        for p in params
    ]
    # each run is its own model: one reference optimizer per run index, holding slice r of every
    # array that has one (a reference reducing over all its params, as Prodigy, reduces per run)
    refs = [
        build_reference(
            opt, reference, [t[run] for t in tensors if run < len(t)], **reference_options
        )
        for run in range(max(len(p) for p in params))
    ]
    state = opt.init(params)
    worst = 0.0
    for t in range(steps):
        lr = lr_schedule(opt.lr, t, steps) if schedule else None
        grads = [rng.standard_normal(p.shape) * np.exp(rng.normal()) for p in params]
        opt.step(params, grads, state, lr=lr)
        for per_run, g in zip(tensors, grads, strict=True):
            for run, tensor in enumerate(per_run):
                tensor.grad = torch.tensor(g[run].copy())
        for ref in refs:
            if lr is not None:
                for group in ref.param_groups:
                    group["lr"] = lr
            ref.step()
        for p, per_run in zip(params, tensors, strict=True):
            expected = np.stack([tensor.detach().numpy() for tensor in per_run])
            np.testing.assert_allclose(p, expected, rtol=rtol, atol=0.0, err_msg=f"step {t + 1}")
            worst = max(worst, float(np.max(np.abs(p - expected) / np.abs(expected))))
    return worst
