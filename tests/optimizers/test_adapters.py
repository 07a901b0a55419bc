"""The torch and optax adapters through the public API: same numbers as the native rules, runs
independent, closures counted, schedule-free's evaluation point, one-line errors."""

import subprocess
import sys

import numpy as np
import pytest

import optimizers

torch = pytest.importorskip("torch")
pytest.importorskip("pytorch_optimizer")

SHAPES = ((3, 4), (3, 2, 3))  # 3 runs of a 4-vector and of a 2x3 matrix


def problem(seed, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape).astype(dtype) for shape in SHAPES], rng


def run(opt, params, rng, steps=100, dtype=np.float64, rates=None):
    """``steps`` steps on random grads of varying scale, each at its own lr (rates[t])."""
    state = opt.init(params)
    for t in range(steps):
        grads = [
            (rng.standard_normal(p.shape) * np.exp(rng.normal())).astype(dtype) for p in params
        ]
        opt.step(params, grads, state, lr=None if rates is None else rates[t])
    return params


def test_an_adapter_updates_the_callers_arrays_without_copying():
    params, rng = problem(0)
    arrays = [p for p in params]
    opt = optimizers.create("torch:torch.optim.SGD", lr=0.1)
    state = opt.init(params)
    before = [p.copy() for p in params]
    opt.step(params, [np.ones_like(p) for p in params], state)
    for p, a, b in zip(params, arrays, before, strict=True):
        assert p is a
        np.testing.assert_allclose(p, b - 0.1, rtol=1e-15)
    assert np.shares_memory(state.tensors[1][0].numpy(), params[0])


@pytest.mark.parametrize(
    "name, native",
    [
        ("torch:pytorch_optimizer.Lion", "lion"),
        ("torch:torch.optim.Adam", "adam"),
        ("torch:torch.optim.NAdam", "nadam"),
    ],
)
def test_a_torch_class_equals_the_native_rule_with_a_per_step_lr(name, native):
    """pytorch_optimizer.Lion is native lion; the grid test covers every torch.optim rule."""
    rates = 0.01 * (1 + np.cos(np.arange(100) / 30))
    hyper = {"weight_decay": 0.1}
    expected = run(optimizers.create(native, lr=0.01, **hyper), *problem(1), rates=rates)
    got = run(optimizers.create(name, lr=0.01, **hyper), *problem(1), rates=rates)
    for e, g in zip(expected, got, strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize(
    "dtype, rtol, atol", [(np.float32, 1e-6, 1e-6), (np.float64, 1e-12, 1e-14)]
)
def test_optax_adam_equals_native_adam(dtype, rtol, atol):
    """Params of order one after 100 steps: within 1e-6 in float32 (a few float32 roundings of
    each step's update accumulate); float64 runs with JAX's x64 mode on inside the adapter."""
    pytest.importorskip("optax")
    rates = 1e-2 * np.linspace(1.0, 0.1, 100)
    expected = run(optimizers.create("adam", lr=1e-2), *problem(2, dtype), dtype=dtype, rates=rates)
    opt = optimizers.create("optax:optax.adam", learning_rate=1e-2)
    got = run(opt, *problem(2, dtype), dtype=dtype, rates=rates)
    for e, g in zip(expected, got, strict=True):
        assert g.dtype == dtype
        np.testing.assert_allclose(g, e, rtol=rtol, atol=atol)


@pytest.mark.parametrize(
    "name, hyper",
    [
        ("torch:pytorch_optimizer.Lamb", {"lr": 0.01, "weight_decay": 0.01}),
        ("torch:pytorch_optimizer.Muon", {"lr": 0.02}),  # matrices: Muon; vectors: its AdamW
        ("torch:torch.optim.LBFGS", {"lr": 0.5}),
        ("optax:optax.lamb", {"learning_rate": 0.01, "weight_decay": 0.01}),
        ("optax:optax.adamw", {"learning_rate": 0.01}),
    ],
)
def test_runs_stay_independent(name, hyper):
    """Perturbing run 1's params and grads leaves runs 0 and 2 bit for bit."""
    pytest.importorskip(name.partition(":")[2].split(".")[0])
    opt = optimizers.create(name, **hyper)
    results = []
    for perturb in (False, True):
        params, rng = problem(3)
        if perturb:
            params[0][1] *= 7.0
        state = opt.init(params)
        for _ in range(20):
            grads = [rng.standard_normal(p.shape) for p in params]
            if perturb:
                grads[1][1] += 3.0
            closure = lambda p=params: (  # noqa: E731 - a quadratic's loss and grads
                sum(np.sum(a.reshape(3, -1) ** 2, axis=1) for a in p),
                [2 * a for a in p],
            )
            kwargs = {"closure": closure} if opt.needs_closure else {}
            opt.step(params, grads, state, **kwargs)
        results.append(params)
    for plain, perturbed in zip(*results, strict=True):
        np.testing.assert_array_equal(plain[[0, 2]], perturbed[[0, 2]])
        assert not np.array_equal(plain[1], perturbed[1])


def test_a_schedule_scales_each_param_group_from_its_own_initial_lr():
    """As torch's LambdaLR: Muon's AdamW group starts at adamw_lr and follows the same factor."""
    opt = optimizers.create("torch:pytorch_optimizer.Muon", lr=0.02, adamw_lr=3e-4)
    params, _ = problem(6)
    state = opt.init(params)
    opt.step(params, [np.ones_like(p) for p in params], state, lr=0.01)  # factor 0.5
    rates = {group["use_muon"]: group["lr"] for group in state.optimizers[0].param_groups}
    assert rates == {True: 0.01, False: 3e-4 * 0.01 / 0.02}


def test_lbfgs_gets_a_closure_and_its_evaluations_are_counted_as_torchs():
    params, _ = problem(4)
    opt = optimizers.create("torch:torch.optim.LBFGS", lr=1.0, line_search_fn="strong_wolfe")
    assert (
        opt.needs_closure and optimizers.describe("torch:torch.optim.LBFGS").extra["needs_closure"]
    )
    state = opt.init(params)
    calls = []

    def closure():
        calls.append(1)
        return sum(np.sum(a.reshape(3, -1) ** 2, axis=1) for a in params), [2 * a for a in params]

    with pytest.raises(ValueError, match="needs a closure"):
        opt.step(params, [2 * a for a in params], state)
    for _ in range(3):
        opt.step(params, [2 * a for a in params], state, closure=closure)
    func_evals = [
        instance.state[instance._params[0]]["func_evals"] for instance in state.optimizers
    ]
    np.testing.assert_array_equal(state.evaluations, func_evals)
    assert len(calls) == sum(func_evals) > 3
    assert max(np.abs(p).max() for p in params) < 1e-6  # L-BFGS solves a quadratic


@pytest.fixture
def float64_default():
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


def test_schedule_free_is_evaluated_at_its_eval_params(float64_default):
    """eval_params equals the schedulefree package's own eval() parameters, and training goes on
    from its train() parameters. (The adapter runs float64 params with torch's default dtype
    float64, so the reference does too.)"""
    schedulefree = pytest.importorskip("schedulefree")
    params, rng = problem(5)
    opt = optimizers.create("torch:schedulefree.AdamWScheduleFree", lr=0.05, warmup_steps=2)
    reference = [
        [torch.tensor(run.copy(), requires_grad=True) for run in p] for p in params
    ]  # per run, as the adapter: run r's tensors are their own optimizer's
    by_run = [[reference[i][r] for i in range(len(params))] for r in range(3)]
    torch_opts = [schedulefree.AdamWScheduleFree(ts, lr=0.05, warmup_steps=2) for ts in by_run]
    state = opt.init(params)
    for t in range(10):
        grads = [rng.standard_normal(p.shape) for p in params]
        reference_grads = [g.copy() for g in grads]  # the library may change .grad in place
        opt.step(params, grads, state, lr=0.05)
        for r, torch_opt in enumerate(torch_opts):
            torch_opt.train()
            for tensor, g in zip(by_run[r], reference_grads, strict=True):
                tensor.grad = torch.tensor(g[r].copy())
            torch_opt.step()
        evaluated = opt.eval_params(params, state)
        for torch_opt in torch_opts:
            torch_opt.eval()
        for i, e in enumerate(evaluated):
            expected = np.stack([by_run[r][i].detach().numpy() for r in range(3)])
            np.testing.assert_allclose(e, expected, rtol=1e-13, err_msg=f"step {t + 1}")
            if t > 0:  # after the first step, the averaged x is not the iterate y
                assert np.abs(e - params[i]).max() > 1e-9


@pytest.mark.parametrize(
    "name, kwargs, words",
    [
        ("torch:torch.optim.AdamWW", {}, ["'AdamW'"]),
        ("torch:pytorch_optimizer.adabelief", {}, ["'AdaBelief'"]),
        ("torch:pytorch_optimzer.Lamb", {}, ["cannot import", "'pytorch_optimizer'"]),
        ("torch:torch.nn.Linear", {}, ["not a torch.optim.Optimizer subclass"]),
        ("torch:torch.optim.AdamW", {"betaz": (0.9, 0.9)}, ["'betaz'", "'betas'"]),
        ("optax:optax.adamw", {"learningrate": 0.1}, ["'learning_rate'"]),
        ("optax:optax.adamw", {}, ["missing required keyword 'learning_rate'"]),
        ("optax:optax.GradientTransformation", {}, ["not a factory"]),
        (
            "optax:platform.python_version",
            {},
            ["returned str, not an optax GradientTransformation"],
        ),
    ],
)
def test_bad_names_and_keywords_say_what_and_suggest(name, kwargs, words):
    if name.startswith("optax"):
        pytest.importorskip("optax")
    with pytest.raises(ValueError) as error:
        optimizers.create(name, **kwargs)
    message = str(error.value)
    assert "\n" not in message
    for word in words:
        assert word in message


def test_importing_optimizers_imports_neither_torch_nor_jax():
    code = "import sys, optimizers, bench.grid; print(sorted({'torch', 'jax'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_learning_rate_the_library_leaves_to_itself_is_stored_as_none_and_not_scheduled():
    """A2Grad's lr defaults to None: the library keeps its own step sizes, a schedule does not
    reach it, and the store records lr=None."""
    opt = optimizers.create("torch:pytorch_optimizer.A2Grad")
    assert opt.hyperparameters()["lr"] is None and not opt.scheduled
    results = []
    for rate in (0.5, 2.0):
        params, rng = problem(7)
        results.append(run(opt, params, rng, steps=5, rates=[rate] * 5))
    for a, b in zip(*results, strict=True):
        np.testing.assert_array_equal(a, b)
