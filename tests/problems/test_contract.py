"""The problem registry and contract details that ``problems.testing.check_problem`` leaves out.

Shapes, metrics, targets, runs independence and gradients of every case are checked by
``test_conformance.py``; this module covers the registry, ``describe``, the defaults and
validation.
"""

import numpy as np
import pytest

import problems
from problems.classification import Classifier
from problems.functions import FunctionProblem
from problems.registry import Parameter
from tests.problems.cases import CASES


def test_every_registered_problem_has_a_case():
    assert {name for name, _ in CASES} == set(problems.names())


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
        if issubclass(cls, FunctionProblem | Classifier):
            assert cls.uses_initializer == (not issubclass(cls, FunctionProblem))
    for name in ("rosenbrock", "noisy_quadratic"):  # a fixed start, though noisy_quadratic has data
        with pytest.raises(ValueError, match="initializer must be None"):
            problems.create(name).init_params(np.random.default_rng(0), 2, "xavier_uniform")


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


def test_register_create_get_and_describe():
    @problems.register("constant")
    class Constant(problems.Problem):
        """A constant function of no parameters."""

        description = "A constant."
        targets = (1.0,)

        def __init__(self, *, value: float = 1.0):
            self.value = value

    assert "constant" in problems.names() and Constant.name == "constant"
    assert problems.create("constant", value=2.0).config() == {"value": 2.0}
    description = problems.describe("constant")
    assert description.summary == "A constant function of no parameters."
    assert description.parameters == (Parameter("value", 1.0, False, float),)
    assert description.extra["targets"] == (1.0,) and not description.extra["has_data"]
    with pytest.raises(TypeError):
        problems.register("bad")(object)
    assert problems.register("direct", Constant) is Constant and problems.get("direct") is Constant


@pytest.mark.parametrize("name", problems.names())
def test_describe_agrees_with_the_built_problem(name):
    description = problems.describe(name)
    assert (description.kind, description.name) == ("problem", name)
    assert description.summary and "\n" not in description.summary
    prob = problems.create(name)
    assert [p.name for p in description.parameters] == list(prob.config())
    defaults = {p.name: p.default for p in description.parameters}
    assert problems.create(name, **defaults).config() == prob.config()
    assert not any(p.required for p in description.parameters)
    extra = description.extra
    assert (extra["targets"], extra["target_metric"]) == (prob.targets, prob.target_metric)
    assert extra["higher_is_better"] == prob.higher_is_better
    assert extra["has_weights"] == prob.uses_initializer
    assert extra["has_data"] == (prob.train_size is not None)
    params = prob.init_params(np.random.default_rng(0), 1)
    assert set(extra["metrics"]) == set(prob.evaluate(params))


def test_mnist_ladder_depends_on_the_source_and_needs_no_data():
    cls = problems.get("mnist_mlp")
    assert cls.target_ladder() == problems.TargetLadder((0.8, 0.9, 0.93), "test_accuracy")
    assert cls.target_ladder(source="idx:/anywhere").targets == (0.9, 0.95, 0.98)
    assert cls.target_ladder(source="idx:/anywhere").higher_is_better
    assert problems.get("mnist_logreg").target_ladder(source="idx:x").targets == (0.85, 0.9, 0.92)
    assert problems.get("rosenbrock").target_ladder(dim=7).targets == (1e-1, 1e-3, 1e-6)


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
