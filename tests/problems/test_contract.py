"""The problem contract, over the whole registry: shapes, runs independence, targets, validation."""

import warnings

import numpy as np
import pytest

import problems
from problems import base
from problems.classification import Classifier
from problems.functions import FunctionProblem
from tests.problems.cases import CASES, IDS

RUNS = 4


def test_every_registered_problem_has_a_case():
    assert {name for name, _ in CASES} == set(problems.names())
    assert problems.names() == sorted(
        ["beale", "mnist_logreg", "mnist_mlp", "quadratic", "rastrigin", "rosenbrock"]
        + ["spirals", "xor"]
    )


@pytest.mark.parametrize("name", problems.names())
def test_defaults_build_and_describe_themselves(name):
    prob = problems.create(name)
    assert prob.name == name
    assert problems.get(name) is type(prob)
    assert prob.description and "\n" not in prob.description and len(prob.description) <= 100
    assert len(prob.targets) >= 1
    assert prob.target_metric in ("train_loss", "train_accuracy", "test_accuracy")
    ladder = np.asarray(prob.targets)
    # ordered easiest to hardest: losses decrease, accuracies increase
    assert np.all(np.diff(ladder) > 0) if prob.higher_is_better else np.all(np.diff(ladder) < 0)
    assert isinstance(prob.uses_initializer, bool)
    assert problems.create(name, **prob.config()).config() == prob.config()
    assert repr(prob).startswith(type(prob).__name__ + "(")


@pytest.mark.parametrize(("name", "kwargs"), CASES, ids=IDS)
def test_shapes_dtypes_and_metrics(name, kwargs):
    prob = problems.create(name, **kwargs)
    rng = np.random.default_rng(0)
    params = prob.init_params(rng, RUNS)
    assert all(p.shape[0] == RUNS and p.dtype == prob.dtype for p in params)
    batch = prob.sample_batch(rng, RUNS, 3 if prob.train_size else None)
    loss, grads = prob.loss_and_grad(params, batch)
    assert loss.shape == (RUNS,) and np.all(np.isfinite(loss))
    assert [g.shape for g in grads] == [p.shape for p in params]
    assert all(g.dtype == prob.dtype for g in grads)
    metrics = prob.evaluate(params)
    assert "train_loss" in metrics and prob.target_metric in metrics
    assert all(v.shape == (RUNS,) for v in metrics.values())
    if isinstance(prob, Classifier):
        expected = {"train_loss", "train_accuracy"}
        if name != "xor":
            expected |= {"test_loss", "test_accuracy"}
        assert set(metrics) == expected
        assert prob.train_size == prob.X_train.shape[0]
        full_loss, _ = prob.loss_and_grad(params)
        np.testing.assert_allclose(full_loss, metrics["train_loss"], rtol=1e-12)
    else:
        assert set(metrics) == {"train_loss"} and prob.train_size is None
        np.testing.assert_array_equal(metrics["train_loss"], loss)
    assert prob.reached(metrics).shape == (RUNS, len(prob.targets))


@pytest.mark.parametrize(("name", "kwargs"), CASES, ids=IDS)
@pytest.mark.parametrize("full_batch", [False, True])
def test_stacked_runs_equal_separate_runs(name, kwargs, full_batch):
    """Bitwise: every per-run product is its own BLAS call with the same shapes (the quadratic
    multiplies (1, dim) @ (dim, dim) per run for this reason), and reductions run along each run's
    own axis, so a run's numbers do not depend on how many runs are stacked with it."""
    prob = problems.create(name, **kwargs)
    rng = np.random.default_rng(3)
    params = [p + 0.1 * rng.standard_normal(p.shape) for p in prob.init_params(rng, RUNS)]
    batch = None if full_batch else prob.sample_batch(rng, RUNS, 5 if prob.train_size else None)
    loss, grads = prob.loss_and_grad([p.copy() for p in params], batch)
    metrics = prob.evaluate(params)
    for r in range(RUNS):
        one = [p[r : r + 1].copy() for p in params]
        loss_r, grads_r = prob.loss_and_grad(one, None if batch is None else batch[r : r + 1])
        np.testing.assert_array_equal(loss_r, loss[r : r + 1])
        for g, g_r in zip(grads, grads_r, strict=True):
            np.testing.assert_array_equal(g_r, g[r : r + 1])
        for key, value in prob.evaluate(one).items():
            np.testing.assert_array_equal(value, metrics[key][r : r + 1])


@pytest.mark.parametrize(("name", "kwargs"), CASES, ids=IDS)
def test_diverged_params_raise_no_warnings(name, kwargs):
    """Divergence is a result for the runner to record, not a RuntimeWarning (an error here)."""
    prob = problems.create(name, **kwargs)
    params = prob.init_params(np.random.default_rng(0), 2)
    huge = [np.full_like(p, np.finfo(p.dtype).max / 4) for p in params]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss, grads = prob.loss_and_grad(huge)
        metrics = prob.evaluate(huge)
    assert loss.shape == metrics["train_loss"].shape == (2,)
    if not prob.uses_initializer:
        assert not np.any(np.isfinite(loss))


def test_init_params_is_seeded_and_independent_per_run():
    prob = problems.create("spirals")
    a = prob.init_params(np.random.default_rng(5), 3)
    b = prob.init_params(np.random.default_rng(5), 3)
    for p, q in zip(a, b, strict=True):
        np.testing.assert_array_equal(p, q)
    assert not np.array_equal(a[0][0], a[0][1])
    assert all(np.all(bias == 0) for bias in a[1::2])


def test_default_initializer_follows_the_activation():
    for activation, expected in [("relu", "he_uniform"), ("tanh", "xavier_uniform")]:
        prob = problems.create("spirals", activation=activation, hidden=3)
        params = prob.init_params(np.random.default_rng(0), 2)
        rng = np.random.default_rng(0)
        for W, (fan_in, fan_out) in zip(params[::2], [(2, 3), (3, 3), (3, 1)], strict=True):
            np.testing.assert_array_equal(
                W, problems.initialize(expected, rng, (2, fan_in, fan_out))
            )
    logreg = problems.create("mnist_logreg").init_params(np.random.default_rng(0), 2)
    assert all(np.all(p == 0) for p in logreg)
    named = problems.create("mnist_logreg").init_params(np.random.default_rng(0), 2, "normal")
    assert named[0].std() > 0 and named[0].dtype == np.float32


def test_test_functions_take_no_initializer():
    assert all(not issubclass(problems.get(n), Classifier) for n in ["rosenbrock", "beale"])
    for name in problems.names():
        cls = problems.get(name)
        assert cls.uses_initializer == (not issubclass(cls, FunctionProblem))
    prob = problems.create("rosenbrock")
    with pytest.raises(ValueError, match="initializer must be None"):
        prob.init_params(np.random.default_rng(0), 2, initializer="xavier_uniform")


def test_reached_follows_the_direction_of_the_metric():
    loss_problem = problems.create("rosenbrock")
    assert loss_problem.targets == (1e-1, 1e-3, 1e-6)
    reached = loss_problem.reached({"train_loss": np.array([1.0, 1e-2, 1e-7, np.nan, 1e-3])})
    expected = [[0, 0, 0], [1, 0, 0], [1, 1, 1], [0, 0, 0], [1, 1, 0]]
    np.testing.assert_array_equal(reached, np.array(expected, dtype=bool))
    accuracy_problem = problems.create("spirals", points=5)
    assert accuracy_problem.higher_is_better
    reached = accuracy_problem.reached({"test_accuracy": np.array([0.5, 0.9, 1.0])})
    np.testing.assert_array_equal(reached, [[0, 0, 0], [1, 1, 0], [1, 1, 1]])


def test_xor_hand_made_solution_is_solved():
    """h1 = tanh(k(x1 + x2 - 1/2)), h2 = tanh(k(x1 + x2 - 3/2)), logit = 5 (h1 - h2) - 5."""
    prob = problems.create("xor")
    k = 10.0
    params = [
        np.array([[[k, k], [k, k]]]),
        np.array([[-0.5 * k, -1.5 * k]]),
        np.array([[[5.0], [-5.0]]]),
        np.array([[-5.0]]),
    ]
    metrics = prob.evaluate(params)
    np.testing.assert_array_equal(metrics["train_accuracy"], [1.0])
    assert metrics["train_loss"][0] < 0.01
    np.testing.assert_array_equal(prob.reached(metrics), [[True]])
    assert prob.sample_batch(np.random.default_rng(0), 3, 2) is None
    assert prob.train_size == 4


def test_sample_batch_draws_distinct_indices_per_run():
    prob = problems.create("spirals")
    batch = prob.sample_batch(np.random.default_rng(0), 6, 50)
    assert batch.shape == (6, 50)
    assert all(np.unique(row).size == 50 for row in batch)
    assert not np.array_equal(batch[0], batch[1])
    assert prob.sample_batch(np.random.default_rng(0), 6, None) is None
    for bad in (0, prob.train_size + 1, 2.5):
        with pytest.raises(ValueError, match="batch_size"):
            prob.sample_batch(np.random.default_rng(0), 2, bad)


def test_register_create_and_get(monkeypatch):
    monkeypatch.setattr(base, "_REGISTRY", dict(base._REGISTRY))

    @problems.register("constant")
    class Constant(problems.Problem):
        description = "A constant."

        def __init__(self, *, value: float = 1.0):
            self.value = value

    assert "constant" in problems.names() and Constant.name == "constant"
    assert problems.create("constant", value=2.0).config() == {"value": 2.0}
    with pytest.raises(TypeError):
        problems.register("bad")(object)


def test_unknown_names_and_keywords_suggest_the_closest():
    with pytest.raises(ValueError, match="did you mean 'rosenbrock'"):
        problems.create("rosenbrok")
    with pytest.raises(ValueError, match="did you mean 'rastrigin'"):
        problems.get("rastrigen")
    with pytest.raises(ValueError, match="unknown keyword 'dimm'.*'dim'"):
        problems.create("rosenbrock", dimm=3)
    with pytest.raises(ValueError, match="did you mean 'tanh'"):
        problems.create("xor", activation="tanhh")
    with pytest.raises(ValueError, match="unknown initializer"):
        problems.create("xor").init_params(np.random.default_rng(0), 2, "xavier")


BAD_ARGUMENTS = [
    ("rosenbrock", {"dim": 1}, "dim"),
    ("rosenbrock", {"dim": 2.0}, "dim"),
    ("rosenbrock", {"dim": True}, "dim"),
    ("rosenbrock", {"noise": -1.0}, "noise"),
    ("rosenbrock", {"start_noise": float("nan")}, "start_noise"),
    ("quadratic", {"condition_number": 0.5}, "condition_number"),
    ("quadratic", {"condition_number": float("inf")}, "condition_number"),
    ("quadratic", {"dim": 1}, "dim"),
    ("quadratic", {"data_seed": -1}, "data_seed"),
    ("rastrigin", {"dim": 0}, "dim"),
    ("beale", {"noise": "0.1"}, "noise"),
    ("xor", {"hidden": 0}, "hidden"),
    ("xor", {"dtype": "int32"}, "dtype"),
    ("xor", {"dtype": None}, "dtype"),
    ("spirals", {"points": 1}, "points"),
    ("spirals", {"turns": 0}, "turns"),
    ("spirals", {"noise": -0.1}, "noise"),
    ("spirals", {"hidden": -2}, "hidden"),
    ("spirals", {"activation": "gelu"}, "activation"),
    ("mnist_mlp", {"hidden": ()}, "hidden"),
    ("mnist_mlp", {"hidden": (128, 0)}, r"hidden\[1\]"),
    ("mnist_mlp", {"hidden": "128"}, "hidden"),
    ("mnist_mlp", {"source": "web"}, "source"),
    ("mnist_mlp", {"source": "idx:"}, "source"),
    ("mnist_mlp", {"source": "idx:/no/such/directory"}, "/no/such/directory"),
    ("mnist_logreg", {"dtype": "float16"}, "dtype"),
    ("mnist_logreg", {"data_seed": 1.5}, "data_seed"),
]


@pytest.mark.parametrize(("name", "kwargs", "message"), BAD_ARGUMENTS)
def test_bad_arguments_raise_a_clear_value_error(name, kwargs, message):
    with pytest.raises(ValueError, match=message):
        problems.create(name, **kwargs)
