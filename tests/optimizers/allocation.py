"""What a steady-state optimizer step allocates (shared by the rule and fast-path tests)."""

import tracemalloc


def steady_state_peak(opt, params, grads, warmup: int = 3, steps: int = 3) -> int:
    """Peak bytes traced over ``steps`` steps, after ``warmup`` steps took any once-only paths."""
    state = opt.init(params)
    for _ in range(warmup):
        opt.step(params, grads, state, lr=1e-3)
    tracemalloc.start()
    try:
        for _ in range(steps):
            opt.step(params, grads, state, lr=1e-3)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
