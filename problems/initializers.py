"""Weight initializers, looked up by name, following the ``torch.nn.init`` distributions.

Weights are stored ``(fan_in, fan_out)`` and used as ``x @ W`` (torch stores ``(fan_out, fan_in)``;
the fans are the same). A stack of ``R`` independent runs is ``(R, fan_in, fan_out)``; the fans
always come from the last two axes.

=================  ===============================  ==============================================
name               distribution                     variance of one entry
=================  ===============================  ==============================================
``zeros``          0                                0
``normal``         N(0, 0.01**2)                    1e-4
``uniform``        U(-0.05, 0.05)                   0.05**2 / 3 = 8.33e-4
``xavier_uniform`` U(-a, a), a = sqrt(6/(fi+fo))    2 / (fan_in + fan_out)
``xavier_normal``  N(0, 2/(fi+fo))                  2 / (fan_in + fan_out)
``he_uniform``     U(-a, a), a = sqrt(6/fi)         2 / fan_in
``he_normal``      N(0, 2/fi)                       2 / fan_in
``lecun_uniform``  U(-a, a), a = sqrt(3/fi)         1 / fan_in
``lecun_normal``   N(0, 1/fi)                       1 / fan_in
``orthogonal``     Q from QR of a Gaussian          1 / max(fan_in, fan_out)
=================  ===============================  ==============================================

Choices where torch has no sensible default or no initializer at all:

- ``normal`` uses std 0.01 (torch's ``normal_`` defaults to std 1, far too large for a weight).
- ``uniform`` uses U(-0.05, 0.05), Keras' ``RandomUniform`` default. torch's ``uniform_``
  defaults to U(0, 1): every weight positive with mean 0.5, so the pre-activations of a wide layer
  grow with its width and all units start nearly identical. A symmetric range keeps the mean 0.
- ``lecun_*`` are ``kaiming_*_(mode="fan_in", nonlinearity="linear")`` (gain 1), i.e. variance
  ``1/fan_in``, with a plain (not truncated) normal. torch has no ``lecun_*``; its truncated-normal
  variant (Keras' ``LecunNormal``) is not used.
- ``he_*`` are ``kaiming_*_(mode="fan_in", nonlinearity="relu")`` (gain sqrt(2)).
- ``orthogonal`` is ``orthogonal_`` with gain 1, drawn independently for each run of a stack.

References
----------
.. [1] PyTorch, ``torch.nn.init``. https://pytorch.org/docs/stable/nn.init.html
.. [2] X. Glorot and Y. Bengio, "Understanding the difficulty of training deep feedforward neural
   networks", AISTATS 2010.
.. [3] K. He, X. Zhang, S. Ren and J. Sun, "Delving deep into rectifiers: surpassing human-level
   performance on ImageNet classification", ICCV 2015.
.. [4] Y. LeCun, L. Bottou, G. Orr and K.-R. Müller, "Efficient BackProp", in Neural Networks:
   Tricks of the Trade, 1998.
.. [5] A. M. Saxe, J. L. McClelland and S. Ganguli, "Exact solutions to the nonlinear dynamics of
   learning in deep linear neural networks", ICLR 2014.
"""

from __future__ import annotations

import dataclasses
import math
import operator

import numpy as np
from numpy.typing import DTypeLike

from problems.registry import Description, Registry

NORMAL_STD = 0.01
UNIFORM_BOUND = 0.05

_REGISTRY = Registry("initializer")


def _uniform(rng: np.random.Generator, shape: tuple[int, ...], bound: float) -> np.ndarray:
    return rng.uniform(-bound, bound, size=shape)


def _normal(rng: np.random.Generator, shape: tuple[int, ...], std: float) -> np.ndarray:
    return rng.normal(0.0, std, size=shape)


def _check_shape(shape: object) -> tuple[int, ...]:
    try:
        dims = tuple(operator.index(d) for d in shape)  # type: ignore[union-attr]
    except TypeError:
        raise ValueError(f"initialize: shape must be a tuple of integers, got {shape!r}") from None
    if not 2 <= len(dims) <= 3:
        raise ValueError(
            f"initialize: shape must be (fan_in, fan_out) or (runs, fan_in, fan_out), got {shape!r}"
        )
    if min(dims) < 1:
        raise ValueError(f"initialize: every dimension of shape must be >= 1, got {shape!r}")
    return dims


@dataclasses.dataclass(frozen=True)
class Initializer:
    """Base class: calling an initializer draws a weight array (see :func:`initialize`).

    A subclass implements ``draw(rng, shape, fan_in, fan_out)``, returning float64 of ``shape``;
    the fans are the last two axes of ``shape``.
    """

    def draw(
        self, rng: np.random.Generator, shape: tuple[int, ...], fan_in: int, fan_out: int
    ) -> np.ndarray:
        raise NotImplementedError

    def __call__(
        self, rng: np.random.Generator, shape: tuple[int, ...], dtype: DTypeLike = np.float64
    ) -> np.ndarray:
        """Validate the arguments, draw in float64 and cast to ``dtype``."""
        if not isinstance(rng, np.random.Generator):
            raise TypeError(
                f"initialize: rng must be a numpy.random.Generator "
                f"(e.g. np.random.default_rng(seed)), got {type(rng).__name__}"
            )
        dims = _check_shape(shape)
        out_dtype = np.dtype(dtype)
        if out_dtype.kind != "f":
            raise ValueError(f"initialize: dtype must be a floating dtype, got {out_dtype}")
        return self.draw(rng, dims, dims[-2], dims[-1]).astype(out_dtype, copy=False)


@_REGISTRY.register("zeros")
class Zeros(Initializer):
    """All zeros (torch's ``zeros_``)."""

    def draw(self, rng, shape, fan_in, fan_out):
        return np.zeros(shape)


@_REGISTRY.register("normal")
class Normal(Initializer):
    """N(0, 0.01**2): torch's ``normal_`` with std 0.01."""

    def draw(self, rng, shape, fan_in, fan_out):
        return _normal(rng, shape, NORMAL_STD)


@_REGISTRY.register("uniform")
class Uniform(Initializer):
    """U(-0.05, 0.05), Keras' ``RandomUniform`` default."""

    def draw(self, rng, shape, fan_in, fan_out):
        return _uniform(rng, shape, UNIFORM_BOUND)


@_REGISTRY.register("xavier_uniform")
class XavierUniform(Initializer):
    """U(-a, a), a = sqrt(6 / (fan_in + fan_out)) (torch's ``xavier_uniform_``)."""

    def draw(self, rng, shape, fan_in, fan_out):
        return _uniform(rng, shape, math.sqrt(6.0 / (fan_in + fan_out)))


@_REGISTRY.register("xavier_normal")
class XavierNormal(Initializer):
    """N(0, 2 / (fan_in + fan_out)) (torch's ``xavier_normal_``)."""

    def draw(self, rng, shape, fan_in, fan_out):
        return _normal(rng, shape, math.sqrt(2.0 / (fan_in + fan_out)))


@_REGISTRY.register("he_uniform")
class HeUniform(Initializer):
    """U(-a, a), a = sqrt(6 / fan_in) (torch's ``kaiming_uniform_``, relu gain)."""

    def draw(self, rng, shape, fan_in, fan_out):
        return _uniform(rng, shape, math.sqrt(6.0 / fan_in))


@_REGISTRY.register("he_normal")
class HeNormal(Initializer):
    """N(0, 2 / fan_in) (torch's ``kaiming_normal_``, relu gain)."""

    def draw(self, rng, shape, fan_in, fan_out):
        return _normal(rng, shape, math.sqrt(2.0 / fan_in))


@_REGISTRY.register("lecun_uniform")
class LecunUniform(Initializer):
    """U(-a, a), a = sqrt(3 / fan_in) (torch's ``kaiming_uniform_``, linear gain)."""

    def draw(self, rng, shape, fan_in, fan_out):
        return _uniform(rng, shape, math.sqrt(3.0 / fan_in))


@_REGISTRY.register("lecun_normal")
class LecunNormal(Initializer):
    """N(0, 1 / fan_in) (torch's ``kaiming_normal_``, linear gain)."""

    def draw(self, rng, shape, fan_in, fan_out):
        return _normal(rng, shape, math.sqrt(1.0 / fan_in))


@_REGISTRY.register("orthogonal")
class Orthogonal(Initializer):
    """Q from the QR of a Gaussian, per run (torch's ``orthogonal_``, gain 1)."""

    def draw(self, rng, shape, fan_in, fan_out):
        # torch.nn.init.orthogonal_: QR of a tall Gaussian matrix, columns multiplied by
        # sign(diag(R)) so that Q is Haar-distributed (Mezzadri 2007) rather than biased by the
        # QR sign convention. Wide matrices are the transpose of a tall one, so the shorter side
        # is always orthonormal.
        tall, short = max(fan_in, fan_out), min(fan_in, fan_out)
        gaussian = rng.standard_normal(size=(*shape[:-2], tall, short))
        q, r = np.linalg.qr(gaussian)
        signs = np.sign(np.diagonal(r, axis1=-2, axis2=-1))
        signs[signs == 0] = 1.0  # a zero pivot has probability 0, but must not zero a column
        q *= signs[..., None, :]
        return q if fan_in >= fan_out else np.swapaxes(q, -1, -2)


def names() -> list[str]:
    """Return the registered initializer names, sorted.

    Returns
    -------
    list of str
        ``["he_normal", "he_uniform", ..., "zeros"]``.
    """
    return _REGISTRY.names()


def get(name: str) -> type[Initializer]:
    """Return the :class:`Initializer` subclass registered as ``name``.

    Raises
    ------
    ValueError
        For an unknown name, listing the closest registered ones.
    """
    return _REGISTRY.get(name)


def create(name: str, **keywords: object) -> Initializer:
    """Build the initializer ``name``: a callable ``(rng, shape, dtype=float64) -> array``.

    No built-in initializer takes keywords; a registered plugin may.

    Examples
    --------
    >>> create("he_normal")(np.random.default_rng(0), (3, 4)).shape
    (3, 4)
    """
    return _REGISTRY.create(name, **keywords)


def describe(name: str) -> Description:
    """Describe the initializer ``name``: its summary (the distribution) and its keywords."""
    return _REGISTRY.describe(name)


def register(name: str, cls: type[Initializer] | None = None) -> object:
    """Register an :class:`Initializer` subclass as ``name`` (a class decorator without ``cls``)."""
    if cls is None:
        return lambda decorated: register(name, decorated)
    if not (isinstance(cls, type) and issubclass(cls, Initializer)):
        raise TypeError(f"register({name!r}) expects a problems.initializers.Initializer subclass")
    return _REGISTRY.register(name, cls)


def initialize(
    name: str,
    rng: np.random.Generator,
    shape: tuple[int, ...],
    dtype: DTypeLike = np.float64,
) -> np.ndarray:
    """Draw a weight array from the named initializer.

    Parameters
    ----------
    name : str
        One of :func:`names`; see the table in the module docstring for each distribution and its
        variance.
    rng : numpy.random.Generator
        The source of randomness. The result is a deterministic function of the generator's state;
        the runs of a stack are independent draws.
    shape : tuple of int
        ``(fan_in, fan_out)`` or ``(runs, fan_in, fan_out)``. Weights are used as ``x @ W``.
    dtype : numpy dtype, optional
        A floating dtype, default ``float64``. Values are drawn in float64 and then cast, so a
        float32 draw equals the float64 draw from the same generator state, rounded.

    Returns
    -------
    numpy.ndarray
        A new array of the given shape and dtype.

    Raises
    ------
    ValueError
        For an unknown name (naming the closest ones), a shape that is not 2- or 3-D or has an
        empty axis, or a non-floating dtype.
    TypeError
        If ``rng`` is not a ``numpy.random.Generator``.

    References
    ----------
    PyTorch ``torch.nn.init``; Glorot & Bengio 2010 (xavier); He et al. 2015 (he);
    LeCun et al. 1998 (lecun); Saxe et al. 2014 (orthogonal). Full citations in the module
    docstring.

    Examples
    --------
    >>> W = initialize("xavier_uniform", np.random.default_rng(0), (8, 784, 128))
    >>> W.shape
    (8, 784, 128)
    """
    return create(name)(rng, shape, dtype)
