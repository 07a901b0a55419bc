"""Datasets: XOR, the two spirals, the stratified split, minibatch sampling, MNIST and IDX files."""

import gzip

import numpy as np
import pytest

import problems
from problems import datasets


def test_xor_points():
    X, y = datasets.xor_points()
    np.testing.assert_array_equal(y, X[:, 0] != X[:, 1])
    assert X.shape == (4, 2)


def test_two_spirals_reproduce_lang_and_witbrock():
    X, y = datasets.two_spirals(97, 3.0, 0.0, np.random.default_rng(0), False)
    assert X.shape == (194, 2)
    np.testing.assert_array_equal(y, np.repeat([0.0, 1.0], 97))
    # the original point i: angle i pi / 16, radius 6.5 (104 - i) / 104 (here divided by 6.5)
    i = np.arange(97)
    original = np.stack([np.sin(i * np.pi / 16), np.cos(i * np.pi / 16)], 1) * (104 - i)[:, None]
    np.testing.assert_allclose(X[:97], original / 104, atol=1e-14)
    np.testing.assert_array_equal(X[97:], -X[:97])
    assert np.abs(X).max() <= 1.0


def test_spirals_test_set_lies_on_the_same_curves():
    prob = problems.create("spirals", turns=2.0)
    assert prob.X_test.shape == prob.X_train.shape == (194, 2)
    assert not np.allclose(prob.X_test, prob.X_train)
    first = prob.X_test[prob.y_test == 0]
    radius = np.hypot(first[:, 0], first[:, 1])
    t = (104 - 104 * radius) / 96
    angle = np.arctan2(first[:, 0], first[:, 1])
    np.testing.assert_allclose(np.cos(angle), np.cos(2 * np.pi * 2.0 * t), atol=1e-10)
    np.testing.assert_allclose(np.sin(angle), np.sin(2 * np.pi * 2.0 * t), atol=1e-10)


def test_spirals_noise_and_data_seed():
    clean = problems.create("spirals")
    noisy = problems.create("spirals", noise=0.05)
    again = problems.create("spirals", noise=0.05)
    np.testing.assert_array_equal(noisy.X_train, again.X_train)
    np.testing.assert_allclose((noisy.X_train - clean.X_train).std(), 0.05, rtol=0.15)
    other = problems.create("spirals", noise=0.05, data_seed=1)
    assert not np.array_equal(other.X_train, noisy.X_train)
    assert problems.create("spirals", points=50).train_size == 100


def test_stratified_split():
    labels = np.repeat(np.arange(3), [10, 20, 30])
    train, test = datasets.stratified_split(labels, 0.2, np.random.default_rng(0))
    np.testing.assert_array_equal(np.bincount(labels[test]), [2, 4, 6])
    np.testing.assert_array_equal(np.sort(np.concatenate([train, test])), np.arange(60))


def test_mnist_5k_subset():
    images, labels = datasets.mnist_5k()
    assert images.shape == (5000, 784) and images.dtype == np.uint8
    np.testing.assert_array_equal(np.bincount(labels), np.full(10, 500))
    assert not images.flags.writeable
    assert datasets.mnist_5k() is datasets.mnist_5k()  # cached per process


@pytest.mark.parametrize("data_seed", [0, 1])
def test_mnist_split_is_stratified(data_seed):
    prob = problems.create("mnist_logreg", data_seed=data_seed)
    assert prob.X_train.shape == (4000, 784) and prob.X_test.shape == (1000, 784)
    assert prob.X_train.dtype == np.float32 and prob.train_size == 4000
    assert prob.X_train.min() == 0.0 and prob.X_train.max() == 1.0
    np.testing.assert_array_equal(np.bincount(prob.y_train), np.full(10, 400))
    np.testing.assert_array_equal(np.bincount(prob.y_test), np.full(10, 100))
    rows = {row.tobytes() for row in prob.X_train}
    assert not any(row.tobytes() in rows for row in prob.X_test[:50])


def test_mnist_split_depends_on_the_data_seed_only():
    a, b = problems.create("mnist_mlp"), problems.create("mnist_logreg")
    np.testing.assert_array_equal(a.X_train, b.X_train)
    assert not np.array_equal(problems.create("mnist_logreg", data_seed=1).X_train, a.X_train)


# A tiny IDX writer, independent of the module: magic 0 0 type ndim, sizes, big-endian data.
IDX_CODES = {np.dtype("u1"): 0x08, np.dtype("i1"): 0x09, np.dtype(">i2"): 0x0B}
IDX_CODES |= {np.dtype(">i4"): 0x0C, np.dtype(">f4"): 0x0D, np.dtype(">f8"): 0x0E}


def write_idx(path, array, compress=False):
    array = np.asarray(array)
    big = array.astype(array.dtype.newbyteorder(">"))
    header = bytes([0, 0, IDX_CODES[big.dtype], array.ndim])
    header += np.array(array.shape, dtype=">u4").tobytes()
    raw = header + big.tobytes()
    path.write_bytes(gzip.compress(raw) if compress else raw)
    return path


@pytest.mark.parametrize("dtype", ["u1", "i1", "<i2", "<i4", "<f4", "<f8"])
@pytest.mark.parametrize("compress", [False, True])
def test_read_idx_round_trip(tmp_path, dtype, compress):
    array = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    if dtype == "u1":
        array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    path = write_idx(tmp_path / "data.idx", array, compress)
    read = datasets.read_idx(path)
    np.testing.assert_array_equal(read, array)
    assert read.dtype == array.dtype and read.dtype.isnative


def test_read_idx_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.idx"):
        datasets.read_idx(tmp_path / "missing.idx")
    bad_magic = tmp_path / "bad_magic.idx"
    bad_magic.write_bytes(b"\x01\x02\x08\x01\x00\x00\x00\x01\x05")
    with pytest.raises(ValueError, match="bad_magic.idx.*magic"):
        datasets.read_idx(bad_magic)
    truncated = write_idx(tmp_path / "truncated.idx", np.zeros((3, 4), np.uint8))
    truncated.write_bytes(truncated.read_bytes()[:-2])
    with pytest.raises(ValueError, match="truncated.idx.*does not match"):
        datasets.read_idx(truncated)
    corrupt = tmp_path / "corrupt.gz"
    corrupt.write_bytes(gzip.compress(b"\x00\x00\x08\x01" + b"\x00" * 40)[:-10])
    with pytest.raises(ValueError, match="corrupt.gz.*gzip"):
        datasets.read_idx(corrupt)
    short = tmp_path / "short.idx"
    short.write_bytes(b"\x00\x00\x08\x03\x00\x00")
    with pytest.raises(ValueError, match="short.idx.*header"):
        datasets.read_idx(short)


def _fake_mnist(directory, compress, n_train=30, n_test=10):
    rng = np.random.default_rng(0)
    suffix = ".gz" if compress else ""
    for stem, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = (np.arange(n) % 10).astype(np.uint8)
        write_idx(directory / f"{stem}-images-idx3-ubyte{suffix}", images, compress)
        write_idx(directory / f"{stem}-labels-idx1-ubyte{suffix}", labels, compress)


@pytest.mark.parametrize("compress", [False, True])
def test_mnist_from_idx_files(tmp_path, compress):
    _fake_mnist(tmp_path, compress)
    prob = problems.create("mnist_mlp", source=f"idx:{tmp_path}", hidden=4)
    assert prob.train_size == 30 and prob.X_test.shape == (10, 784)
    assert prob.targets == (0.9, 0.95, 0.98)  # the full-MNIST ladder
    assert prob.X_train.max() <= 1.0 and prob.X_train.dtype == np.float32
    raw = datasets.read_idx(tmp_path / f"train-images-idx3-ubyte{'.gz' if compress else ''}")
    np.testing.assert_array_equal(prob.X_train, raw.reshape(30, 784).astype(np.float32) / 255)
    np.testing.assert_array_equal(prob.y_test, np.arange(10))
    params = prob.init_params(np.random.default_rng(0), 2)
    metrics = prob.evaluate(params)
    assert set(metrics) == {"train_loss", "train_accuracy", "test_loss", "test_accuracy"}


def test_mnist_idx_missing_or_corrupt_file(tmp_path):
    _fake_mnist(tmp_path, compress=False)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte"):
        problems.create("mnist_logreg", source=f"idx:{tmp_path}")
    with pytest.raises(ValueError, match="t10k-labels-idx1-ubyte"):  # also a ValueError
        problems.create("mnist_logreg", source=f"idx:{tmp_path}")
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(b"not an idx file")
    with pytest.raises(ValueError, match="t10k-labels-idx1-ubyte.*magic"):
        problems.create("mnist_logreg", source=f"idx:{tmp_path}")
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.arange(9, dtype=np.uint8))
    with pytest.raises(ValueError, match="9 labels for 10 images"):
        problems.create("mnist_logreg", source=f"idx:{tmp_path}")
