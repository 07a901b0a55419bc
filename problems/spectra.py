"""Fixed random matrices with a chosen spectrum, shared by the quadratic and matrix problems.

Every draw takes a ``numpy.random.Generator`` seeded from the problem's ``data_seed``, so the
matrices are part of the problem's definition: every run of a grid sees the same ones.
"""

from __future__ import annotations

import numpy as np


def haar_orthogonal(rng: np.random.Generator, dim: int) -> np.ndarray:
    """A Haar-random orthogonal matrix ``(dim, dim)``.

    The Q of a QR factorization of a standard Gaussian matrix, with the signs of its columns
    fixed by the diagonal of R (Mezzadri 2007): without that fix the distribution is biased by
    QR's sign convention.
    """
    q, r = np.linalg.qr(rng.standard_normal((dim, dim)))
    q *= np.where(np.diagonal(r) < 0, -1.0, 1.0)
    return q


def symmetric_with_eigenvalues(rng: np.random.Generator, eigenvalues: np.ndarray) -> np.ndarray:
    """``Q diag(eigenvalues) Q^T``, Q Haar-random; exactly symmetric and read-only."""
    q = haar_orthogonal(rng, len(eigenvalues))
    matrix = (q * eigenvalues) @ q.T
    matrix = (matrix + matrix.T) / 2  # exactly symmetric, so x @ A is the gradient of x'Ax/2
    matrix.flags.writeable = False
    return matrix


def with_singular_values(
    rng: np.random.Generator, rows: int, cols: int, singular_values: np.ndarray
) -> np.ndarray:
    """``U diag(singular_values) V^T`` of shape ``(rows, cols)`` with Haar-random singular vectors.

    ``U`` and ``V`` are the first ``len(singular_values)`` columns of Haar-random orthogonal
    matrices, so the rank is the number of nonzero ``singular_values``. Read-only.
    """
    rank = len(singular_values)
    left = haar_orthogonal(rng, rows)[:, :rank]
    right = haar_orthogonal(rng, cols)[:, :rank]
    matrix = (left * singular_values) @ right.T
    matrix.flags.writeable = False
    return matrix
