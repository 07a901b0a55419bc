"""Tests for problems.initializers: moments, bounds, torch agreement, orthogonality, determinism."""

import math

import numpy as np
import pytest

from problems.initializers import initialize, names

FAN_IN, FAN_OUT, RUNS = 400, 300, 4

# The variance of one entry, written out independently of the module, for (fan_in, fan_out).
VARIANCE = {
    "normal": lambda fi, fo: 0.01**2,
    "uniform": lambda fi, fo: 0.05**2 / 3,
    "xavier_uniform": lambda fi, fo: 2 / (fi + fo),
    "xavier_normal": lambda fi, fo: 2 / (fi + fo),
    "he_uniform": lambda fi, fo: 2 / fi,
    "he_normal": lambda fi, fo: 2 / fi,
    "lecun_uniform": lambda fi, fo: 1 / fi,
    "lecun_normal": lambda fi, fo: 1 / fi,
    "orthogonal": lambda fi, fo: 1 / max(fi, fo),
}

# Half-width of the support of the uniform initializers.
BOUND = {
    "uniform": lambda fi, fo: 0.05,
    "xavier_uniform": lambda fi, fo: math.sqrt(6 / (fi + fo)),
    "he_uniform": lambda fi, fo: math.sqrt(6 / fi),
    "lecun_uniform": lambda fi, fo: math.sqrt(3 / fi),
}


def torch_init(torch, name, tensor):
    """Apply the torch.nn.init counterpart of ``name`` to a (fan_out, fan_in) tensor."""
    init = torch.nn.init
    counterparts = {
        "zeros": lambda t: init.zeros_(t),
        "normal": lambda t: init.normal_(t, 0.0, 0.01),
        "uniform": lambda t: init.uniform_(t, -0.05, 0.05),
        "xavier_uniform": lambda t: init.xavier_uniform_(t),
        "xavier_normal": lambda t: init.xavier_normal_(t),
        "he_uniform": lambda t: init.kaiming_uniform_(t, mode="fan_in", nonlinearity="relu"),
        "he_normal": lambda t: init.kaiming_normal_(t, mode="fan_in", nonlinearity="relu"),
        "lecun_uniform": lambda t: init.kaiming_uniform_(t, mode="fan_in", nonlinearity="linear"),
        "lecun_normal": lambda t: init.kaiming_normal_(t, mode="fan_in", nonlinearity="linear"),
        "orthogonal": lambda t: init.orthogonal_(t),
    }
    return counterparts[name](tensor)


def test_names_sorted_and_complete():
    assert names() == sorted(names())
    assert set(names()) == set(VARIANCE) | {"zeros"}


@pytest.mark.parametrize("name", sorted(VARIANCE))
def test_moments_match_formula(name):
    W = initialize(name, np.random.default_rng(0), (RUNS, FAN_IN, FAN_OUT))
    expected = VARIANCE[name](FAN_IN, FAN_OUT)
    np.testing.assert_allclose(W.var(axis=(1, 2)), expected, rtol=0.03)
    np.testing.assert_allclose(W.mean(axis=(1, 2)), 0.0, atol=0.01 * math.sqrt(expected))


@pytest.mark.parametrize("name", sorted(BOUND))
def test_uniform_within_bounds(name):
    W = initialize(name, np.random.default_rng(1), (RUNS, FAN_IN, FAN_OUT))
    bound = BOUND[name](FAN_IN, FAN_OUT)
    assert np.abs(W).max() <= bound
    assert np.abs(W).max() > 0.99 * bound  # the whole support is used


@pytest.mark.parametrize("name", names())
def test_variance_matches_torch(name):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    tensor = torch.empty(FAN_OUT, FAN_IN, dtype=torch.float64)  # torch stores (fan_out, fan_in)
    torch_var = torch_init(torch, name, tensor).var().item()
    ours = initialize(name, np.random.default_rng(2), (FAN_IN, FAN_OUT))
    if name == "zeros":
        assert torch_var == 0.0
    else:
        np.testing.assert_allclose(ours.var(), torch_var, rtol=0.03)
        np.testing.assert_allclose(VARIANCE[name](FAN_IN, FAN_OUT), torch_var, rtol=0.03)


@pytest.mark.parametrize("fan_in, fan_out", [(7, 5), (5, 7), (6, 6), (9, 1), (1, 9)])
def test_orthogonal_per_run(fan_in, fan_out):
    W = initialize("orthogonal", np.random.default_rng(3), (5, fan_in, fan_out))
    Wt = np.swapaxes(W, 1, 2)
    gram = Wt @ W if fan_in >= fan_out else W @ Wt
    identity = np.broadcast_to(np.eye(min(fan_in, fan_out)), gram.shape)
    np.testing.assert_allclose(gram, identity, rtol=0, atol=1e-10)
    assert not np.allclose(W[0], W[1])


@pytest.mark.parametrize("fan_in, fan_out", [(7, 5), (5, 7)])
def test_orthogonal_same_orientation_as_torch(fan_in, fan_out):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    W_torch = torch.nn.init.orthogonal_(torch.empty(fan_out, fan_in, dtype=torch.float64))
    W_torch = W_torch.numpy().T  # to our (fan_in, fan_out) layout
    W = initialize("orthogonal", np.random.default_rng(4), (fan_in, fan_out))
    side = 0 if fan_in >= fan_out else 1  # the axis that is summed over in the identity
    for M in (W, W_torch):
        gram = np.tensordot(M, M, axes=(side, side))
        np.testing.assert_allclose(gram, np.eye(min(fan_in, fan_out)), rtol=0, atol=1e-10)


def test_orthogonal_sign_fix_makes_first_entry_symmetric():
    # Without torch's sign(diag(R)) fix, LAPACK's Householder QR makes W[0, 0] always negative.
    W = initialize("orthogonal", np.random.default_rng(5), (400, 4, 3))
    positive = np.mean(W[:, 0, 0] > 0)
    assert 0.4 < positive < 0.6


def test_zeros():
    W = initialize("zeros", np.random.default_rng(0), (2, 3, 4))
    np.testing.assert_array_equal(W, np.zeros((2, 3, 4)))


@pytest.mark.parametrize("name", names())
def test_deterministic_for_a_seed(name):
    first = initialize(name, np.random.default_rng(7), (3, 6, 5))
    second = initialize(name, np.random.default_rng(7), (3, 6, 5))
    np.testing.assert_array_equal(first, second)


@pytest.mark.parametrize("name", sorted(VARIANCE))
def test_runs_are_independent_draws(name):
    W = initialize(name, np.random.default_rng(8), (3, 6, 5))
    assert not np.allclose(W[0], W[1])
    assert not np.allclose(W[1], W[2])


@pytest.mark.parametrize("name", names())
def test_dtype_honoured(name):
    W32 = initialize(name, np.random.default_rng(9), (2, 6, 5), dtype=np.float32)
    W64 = initialize(name, np.random.default_rng(9), (2, 6, 5))
    assert W32.dtype == np.float32 and W64.dtype == np.float64
    np.testing.assert_array_equal(W32, W64.astype(np.float32))


def test_two_dimensional_shape_uses_the_same_fans():
    W = initialize("he_normal", np.random.default_rng(10), (FAN_IN, FAN_OUT))
    assert W.shape == (FAN_IN, FAN_OUT)
    np.testing.assert_allclose(W.var(), 2 / FAN_IN, rtol=0.03)


def test_unknown_name_suggests_closest():
    with pytest.raises(ValueError, match=r"unknown initializer 'xavier' \(did you mean") as info:
        initialize("xavier", np.random.default_rng(0), (3, 3))
    assert "'xavier_uniform'" in str(info.value) and "'xavier_normal'" in str(info.value)


@pytest.mark.parametrize("shape", [(5,), (), (2, 3, 4, 5), (0, 3), (2, 3, 0), (2.5, 3), "ab"])
def test_bad_shape(shape):
    with pytest.raises(ValueError, match="shape"):
        initialize("normal", np.random.default_rng(0), shape)


def test_bad_rng_and_dtype():
    with pytest.raises(TypeError, match="Generator"):
        initialize("normal", 0, (3, 3))
    with pytest.raises(ValueError, match="floating dtype"):
        initialize("normal", np.random.default_rng(0), (3, 3), dtype=np.int64)
