"""The fused numba kernels (optimizers.fused): bit for bit the NumPy path, also in machine code.

Every rule with a kernel runs 50 steps on each row of a table of hyperparameters (the rule's rows
of CASES and the extra rows below), fused and NumPy, in float32 and float64, on gradients whose
scale wanders over decades, with zeros, signed zeros and subnormals; params and every state array
must be equal bit for bit. The generated machine code is checked for what could break that: FMA
instructions, fast-math flags, float32 values widened to float64.
"""

import importlib.util
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import optimizers
from optimizers import blocked, fused
from tests.optimizers.cases import CASES, case_id

needs_numba = pytest.mark.skipif(
    not fused.available(),
    reason="no fused kernels to test: numba is not installed (pip install -e '.[fast]')"
    if importlib.util.find_spec("numba") is None
    else f"no fused kernels to test: {fused.ENV_SWITCH} is set",
)

# Options the CASES rows leave out, per rule family.
EXTRA = [
    ("adam", {"weight_decay": 0.5, "betas": (0.0, 0.5), "eps": 1e-3, "lr": 0.1}),
    ("adam", {"amsgrad": True, "decoupled_weight_decay": True, "weight_decay": 0.3}),
    ("adamw", {"weight_decay": 0.0}),
    ("amsgrad", {"betas": (0.5, 0.9), "eps": 1e-12}),
    ("sgd", {"lr": 0.1, "weight_decay": 0.3}),
    ("sgd", {"lr": 0.01, "momentum": 0.5, "dampening": 1.0}),
    ("sgd", {"lr": 0.01, "momentum": 0.99, "nesterov": True}),
    ("momentum", {"lr": 0.01, "dampening": 0.5, "weight_decay": 0.1}),
    ("adagrad", {"lr": 0.3, "eps": 1e-3, "lr_decay": 0.5}),
    ("rmsprop", {"alpha": 0.5, "eps": 1e-3, "weight_decay": 0.2}),
    ("rmsprop", {"centered": True, "momentum": 0.3}),
    ("lion", {"weight_decay": 1.0, "betas": (0.0, 0.5), "lr": 0.01}),
    ("adamax", {"weight_decay": 0.5, "eps": 1e-3, "lr": 0.1}),
    ("nadam", {"betas": (0.0, 0.5), "eps": 1e-3, "momentum_decay": 0.5}),
    ("radam", {"betas": (0.9, 0.5), "weight_decay": 0.1}),  # never rectified (rho_inf < 5)
    ("radam", {"betas": (0.5, 0.9), "eps": 1e-3, "decoupled_weight_decay": True}),
    ("adadelta", {"rho": 0.0, "eps": 1e-3}),
    ("rprop", {"etas": (0.1, 3.0), "step_sizes": (1e-3, 1e-2), "lr": 1.0}),
]


def fused_rows():
    names = set(fused.fused_rules())
    return [case for case in CASES + EXTRA if case[0] in names]


def run(name, hyper, dtype, kernels, steps=50, seed=0, shape=(3, 257)):
    """Params and state after ``steps`` steps; the gradients hold zeros, -0.0 and subnormals."""
    rng = np.random.default_rng(seed)
    tiny = np.finfo(dtype).smallest_subnormal
    params = [rng.standard_normal(shape).astype(dtype), np.zeros((3, 5), dtype)]
    params[0][:, :8] = tiny * np.arange(-4, 4)  # subnormal params, both zeros
    opt = optimizers.create(name, **hyper)
    state = opt.init(params)
    with fused.kernels(kernels), blocked.block_bytes(None):
        for _ in range(steps):
            grads = [(rng.standard_normal(p.shape) * np.exp(3 * rng.normal())) for p in params]
            grads = [g.astype(dtype) for g in grads]
            grads[0][:, -20:] *= tiny  # subnormal (or zero) gradients
            grads[0][:, -3:] = [0.0, -0.0, tiny]
            opt.step(params, grads, state)
    return params, state


@needs_numba
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("case", fused_rows() if fused.available() else [], ids=case_id)
def test_fifty_fused_steps_equal_the_numpy_path_bit_for_bit(case, dtype):
    name, hyper = case
    got, got_state = run(name, hyper, dtype, kernels=True)
    want, want_state = run(name, hyper, dtype, kernels=False)
    for k, (a, b) in enumerate(zip(got, want, strict=True)):
        assert a.dtype == b.dtype == dtype
        assert np.array_equal(a, b), f"{name}{hyper}: parameter array {k} differs"
        assert np.array_equal(np.signbit(a), np.signbit(b)), f"{name}: signs of zeros differ"
    assert got_state.buffers.keys() == want_state.buffers.keys()
    for buffer in want_state.buffers:
        for a, b in zip(got_state.buffers[buffer], want_state.buffers[buffer], strict=True):
            assert np.array_equal(a, b), f"{name}{hyper}: state {buffer} differs"


@needs_numba
def test_every_fused_rule_has_rows_and_the_promised_rules_are_fused():
    assert fused.available()
    covered = {name for name, _ in fused_rows()}
    assert covered == set(fused.fused_rules())
    promised = {"adam", "adamw", "amsgrad", "sgd", "momentum", "nesterov", "rmsprop", "adagrad"}
    assert promised | {"lion", "adamax", "adadelta", "nadam", "radam", "rprop"} <= covered


@needs_numba
def test_the_kernels_compile_without_fma_fast_math_or_float64_widening():
    """Recompile every specialization the rows used, uncached, and read its LLVM IR and assembly."""
    import numba

    from optimizers import kernels

    for case in fused_rows():
        for dtype in (np.float32, np.float64):
            run(*case, dtype, kernels=True, steps=2)
    dispatchers = [
        obj.dispatcher
        for module in kernels.launchers().values()
        for obj in vars(sys.modules[module.__module__]).values()
        if hasattr(obj, "dispatcher")
    ]
    dispatchers = list({id(d): d for d in dispatchers}.values())  # a module's, once
    checked = 0
    for dispatcher in dispatchers:
        fresh = numba.njit(**{**kernels.OPTIONS, "cache": False})(dispatcher.py_func)
        for signature in dispatcher.signatures:
            fresh.compile(signature)
            ir, asm = fresh.inspect_llvm(signature), fresh.inspect_asm(signature)
            where = f"{dispatcher.py_func.__name__}{signature}"
            assert not re.search(r"\bvfn?m(add|sub)", asm), f"{where}: FMA instruction"
            assert not re.search(r"llvm\.fma|fmuladd", ir), f"{where}: FMA intrinsic"
            flags = r"\b(fadd|fsub|fmul|fdiv)\s+(fast|contract|reassoc|nnan|ninf|nsz|arcp|afn)\b"
            assert not re.search(flags, ir), f"{where}: fast-math flag"
            if str(signature[0].dtype) == "float32":
                assert "fpext" not in ir, f"{where}: a float32 value widened to float64"
            checked += 1
    assert checked >= 2 * len(dispatchers)


@needs_numba
def test_arrays_a_kernel_cannot_take_go_the_numpy_way():
    opt = optimizers.create("adam")
    launcher = fused.launcher_for(type(opt).update)
    p = np.ones((4, 6), np.float32)
    coefficients = {"lr": 1e-3, "step_size": 1e-3, "eps": 1e-8}
    mixed = (p, np.ones((4, 6)), np.zeros_like(p), np.zeros_like(p), None)
    assert not fused.try_launch(launcher, opt, mixed, coefficients)
    strided = (p[:, ::2], p[:, 1::2].copy(), *[np.zeros((4, 3), np.float32)] * 2, None)
    assert not fused.try_launch(launcher, opt, strided, coefficients)
    assert np.array_equal(p, np.ones((4, 6), np.float32))  # untouched
    float16 = (p.astype(np.float16),) * 4 + (None,)
    assert not fused.try_launch(launcher, opt, float16, coefficients)


@needs_numba
def test_first_call_seconds_are_reported_per_kernel_and_dtype():
    run("adam", {}, np.float32, kernels=True, steps=1)
    seconds = fused.compile_seconds()
    assert "adam[float32]" in seconds and seconds["adam[float32]"] >= 0.0


def test_a_subclass_that_overrides_update_does_not_get_its_parents_kernel():
    class Mine(type(optimizers.create("adam"))):
        def update(self, *args, **kwargs):
            return super().update(*args, **kwargs)

    assert fused.launcher_for(Mine.update) is None


def test_importing_optimizers_does_not_import_numba():
    code = "import sys, optimizers; print('numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr


def test_the_environment_switch_turns_the_kernels_off():
    code = (
        "import numpy as np, optimizers; from optimizers import fused;"
        "opt = optimizers.create('adam'); p = [np.ones((2, 3))]; s = opt.init(p);"
        "opt.step(p, [np.ones((2, 3))], s);"
        "print(fused.available(), fused.compile_seconds())"
    )
    env = {**os.environ, fused.ENV_SWITCH: "1"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "{}"]
