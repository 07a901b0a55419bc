"""One vectorized multilayer perceptron for every classification problem (xor, spirals, MNIST).

Parameters are ``[W1, b1, W2, b2, ...]`` with weights ``(R, fan_in, fan_out)`` used as
``x @ W`` and biases ``(R, fan_out)``. Inputs are either one shared data matrix ``(N, in)`` (the
full training set, broadcast against the runs by ``np.matmul`` without copying) or one minibatch
per run ``(R, B, in)``. Every layer is one batched matmul ``(R, B, in) @ (R, in, out)``: no Python
loop over samples or runs, only over layers. Hidden layers use ``relu``, ``tanh`` or ``sigmoid``;
the last layer gives logits, and the loss is computed from the logits with a numerically stable
log-sum-exp (softmax cross-entropy) or softplus (binary cross-entropy, one output unit). The
backward pass is written by hand and reuses the activations of the forward pass.

References
----------
.. [1] D. E. Rumelhart, G. E. Hinton and R. J. Williams, "Learning representations by
   back-propagating errors", Nature 323, 1986.
.. [2] I. Goodfellow, Y. Bengio and A. Courville, "Deep Learning", MIT Press, 2016, sections 6.2
   (output units and losses) and 6.5 (back-propagation).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import DTypeLike

from problems.initializers import initialize

Params = list[np.ndarray]

ACTIVATIONS = ("relu", "sigmoid", "tanh")
LOSSES = ("binary_cross_entropy", "cross_entropy")


def default_initializer(activation: str) -> str:
    """``he_uniform`` for relu, ``xavier_uniform`` for tanh and sigmoid (as torch advises)."""
    return "he_uniform" if activation == "relu" else "xavier_uniform"


def init_params(
    rng: np.random.Generator,
    runs: int,
    sizes: Sequence[int],
    initializer: str,
    dtype: DTypeLike = np.float64,
) -> Params:
    """Draw ``runs`` independent networks.

    Parameters
    ----------
    rng : numpy.random.Generator
    runs : int
    sizes : sequence of int
        Layer widths from input to output, e.g. ``(784, 128, 10)``.
    initializer : str
        A name from ``problems.initializers.names()``, used for every weight matrix.
    dtype : numpy dtype, optional

    Returns
    -------
    list of numpy.ndarray
        ``[W1, b1, ...]``; weights drawn layer by layer from ``rng``, biases zero.
    """
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=False):
        params.append(initialize(initializer, rng, (runs, fan_in, fan_out), dtype))
        params.append(np.zeros((runs, fan_out), dtype=dtype))
    return params


def _activate(z: np.ndarray, activation: str) -> None:
    """Apply the activation in place."""
    if activation == "relu":
        np.maximum(z, 0, out=z)
    elif activation == "tanh":
        np.tanh(z, out=z)
    else:  # sigmoid(z) = (1 + tanh(z / 2)) / 2 never overflows, unlike 1 / (1 + exp(-z))
        z *= 0.5
        np.tanh(z, out=z)
        z += 1
        z *= 0.5


def _derivative(h: np.ndarray, activation: str) -> np.ndarray:
    """The activation's derivative, written in terms of its output ``h``."""
    if activation == "relu":
        return h > 0
    if activation == "tanh":
        return 1 - h * h
    return h * (1 - h)


def forward(params: Params, X: np.ndarray, activation: str) -> list[np.ndarray]:
    """The outputs of every layer: ``[h1, ..., logits]``, each ``(R, B, width)``.

    Parameters
    ----------
    params : list of numpy.ndarray
        ``[W1, b1, ...]``.
    X : numpy.ndarray
        ``(N, in)`` shared by all runs, or ``(R, B, in)``.
    activation : str
        One of ``ACTIVATIONS``, for the hidden layers.
    """
    outputs = []
    h = X
    layers = len(params) // 2
    for layer in range(layers):
        z = np.matmul(h, params[2 * layer])
        z += params[2 * layer + 1][:, None, :]
        if layer < layers - 1:
            _activate(z, activation)
        outputs.append(z)
        h = z
    return outputs


def _head(logits: np.ndarray, y: np.ndarray, loss: str, grad: bool):
    """Per-sample losses ``(R, B)``, then either whether each sample is classified correctly
    (``grad=False``) or the gradient of the per-sample losses with respect to the logits
    (``grad=True``; training needs no accuracy, so it is not computed): the unused one is None."""
    if loss == "binary_cross_entropy":
        z = logits[..., 0]
        # softplus(z) - y z, with softplus(z) = log(1 + exp(z)) computed by logaddexp
        per_sample = np.logaddexp(0, z) - y * z
        if not grad:
            return per_sample, (z > 0) == (y > 0.5), None
        probability = 0.5 * (1 + np.tanh(0.5 * z))
        return per_sample, None, (probability - y)[..., None]
    labels = np.broadcast_to(y, logits.shape[:-1])
    runs, batch = labels.shape
    rows, samples = np.arange(runs)[:, None], np.arange(batch)
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_norm = np.log(np.sum(np.exp(shifted), axis=-1))
    per_sample = log_norm - shifted[rows, samples, labels]
    if not grad:
        return per_sample, logits.argmax(axis=-1) == labels, None
    d_logits = np.exp(shifted - log_norm[..., None])  # softmax
    d_logits[rows, samples, labels] -= 1
    return per_sample, None, d_logits


def loss_and_grad(
    params: Params, X: np.ndarray, y: np.ndarray, activation: str, loss: str
) -> tuple[np.ndarray, Params]:
    """The mean loss over the batch and its gradient, for every run.

    Parameters
    ----------
    params : list of numpy.ndarray
        ``[W1, b1, ...]``.
    X : numpy.ndarray
        ``(N, in)`` shared by all runs, or ``(R, B, in)``.
    y : numpy.ndarray
        ``(N,)`` or ``(R, B)``: integer class labels for ``cross_entropy``, 0/1 floats for
        ``binary_cross_entropy``.
    activation : str
        One of ``ACTIVATIONS``.
    loss : str
        One of ``LOSSES``.

    Returns
    -------
    loss : numpy.ndarray, shape (R,)
    grads : list of numpy.ndarray
        Shaped like ``params``.

    Notes
    -----
    With ``delta_L = dloss/dlogits``, going down the layers: ``dW_l = h_{l-1}^T delta_l``,
    ``db_l = sum_B delta_l`` and ``delta_{l-1} = (delta_l W_l^T) * act'(h_{l-1})``, where ``act'``
    is evaluated from the stored outputs ``h`` (``1 - h**2``, ``h (1 - h)``, ``h > 0``).
    """
    outputs = forward(params, X, activation)
    per_sample, _, delta = _head(outputs[-1], y, loss, grad=True)
    delta /= per_sample.shape[1]
    grads: Params = [np.empty(0)] * len(params)
    for layer in reversed(range(len(params) // 2)):
        inputs = outputs[layer - 1] if layer > 0 else X
        grads[2 * layer] = np.matmul(inputs.swapaxes(-1, -2), delta)
        grads[2 * layer + 1] = delta.sum(axis=1)
        if layer > 0:
            delta = np.matmul(delta, params[2 * layer].swapaxes(-1, -2))
            delta *= _derivative(outputs[layer - 1], activation)
    return per_sample.mean(axis=1), grads


def loss_and_correct(
    params: Params, X: np.ndarray, y: np.ndarray, activation: str, loss: str
) -> tuple[np.ndarray, np.ndarray]:
    """Summed loss and number of correctly classified samples, both ``(R,)`` float64.

    Forward pass only. Sums, not means, so a caller can add them up over chunks of a large set.
    """
    per_sample, correct, _ = _head(forward(params, X, activation)[-1], y, loss, grad=False)
    return per_sample.sum(axis=1, dtype=np.float64), correct.sum(axis=1).astype(np.float64)
