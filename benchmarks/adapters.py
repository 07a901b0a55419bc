"""What an adapter costs per step, as ratios measured side by side in one process:
native adam, torch:torch.optim.Adam through the adapter, optax:optax.adam through the adapter,
and the optax adapter's crossing alone (NumPy -> JAX for grads and params, JAX -> NumPy back).

    python benchmarks/adapters.py [--runs 5] [--size 100000] [--steps 200]
"""

from __future__ import annotations

import argparse
import time

import jax.numpy as jnp
import numpy as np

import optimizers


def per_step(step, steps: int) -> float:
    step()  # warm
    started = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - started) / steps


def stepper(name: str, params, grads, **hyper):
    opt = optimizers.create(name, **hyper)
    state = opt.init(params)
    return lambda: opt.step(params, grads, state)


def crossing(params, grads):
    def cross():
        arrays = [jnp.asarray(a) for a in (*grads, *params)]
        for p, a in zip(params, arrays[len(grads) :], strict=True):
            np.copyto(p, np.asarray(a))

    return cross


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--steps", type=int, default=200)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    params = [rng.standard_normal((args.runs, args.size))]
    grads = [rng.standard_normal((args.runs, args.size)) * 1e-3]
    times = {
        "native adam": per_step(stepper("adam", params, grads), args.steps),
        "torch:torch.optim.Adam": per_step(
            stepper("torch:torch.optim.Adam", params, grads, foreach=False), args.steps
        ),
        "optax:optax.adam": per_step(
            stepper("optax:optax.adam", params, grads, learning_rate=1e-3), args.steps
        ),
        "optax crossing alone": per_step(crossing(params, grads), args.steps),
    }
    base = times["native adam"]
    print(
        f"{args.runs} runs x {args.size} float64 params, {args.steps} steps; ratio to native adam"
    )
    for name, seconds in times.items():
        print(f"  {name:28s} {seconds * 1e3:8.3f} ms/step  {seconds / base:6.2f}x")


if __name__ == "__main__":
    main()
