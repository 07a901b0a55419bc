"""Per-run hyperparameters: one optimizer (schedule, clipping) for a group of configurations.

Configurations that differ only in continuous hyperparameters run as one array program: their runs
are concatenated on the leading runs axis, and every continuous hyperparameter becomes a float64
array of shape (R,), one value per run. This module holds what the optimizers, schedules and
clipping strategies share to do so:

- which fields are continuous (a float, or a float64 array, alone or inside a tuple such as
  ``betas``) and which are structural (booleans, ints, strings, None);
- :func:`signature`, the structural fields plus whether each continuous one is zero (a reference
  that skips work for a zero weight decay or momentum does different arithmetic), and
  :func:`stack_fields`, which concatenates the continuous fields of configurations of one
  signature;
- :func:`power` and :func:`sqrt`, the ``x ** y`` and square root of every coefficient, so that a
  number and a per-run array give the same bits as today's Python arithmetic (NumPy's SIMD
  ``power`` is not libm's ``pow`` on every machine);
- :func:`settle` and :func:`broadcast`: a coefficient array whose values are all equal becomes a
  Python float (the one-configuration path: fused kernels, blocks), any other becomes an
  (R, 1, ..., 1) array of the parameter's dtype, as NumPy's weak Python floats would be;
- :func:`scalar_twin`: a configuration stacked alone, as Python numbers, whose coefficients
  ``Optimizer.settled_coefficients`` computes once instead of once per run.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

ZERO, NONZERO, MIXED = True, False, "mixed"


def is_continuous(value: Any) -> bool:
    """A float, or a float64 array of per-run values."""
    return isinstance(value, float) or (isinstance(value, np.ndarray) and value.dtype == np.float64)


def nonzero(value: Any) -> bool:
    """Whether any value is nonzero (a Python number or an array); branches of the rules use it."""
    if isinstance(value, np.ndarray):
        return bool(value.any())
    return bool(value)


def zero_state(value: Any) -> bool | str:
    """``True`` if every value is zero, ``False`` if none is, ``"mixed"`` otherwise."""
    zeros = np.asarray(value) == 0
    if zeros.all():
        return ZERO
    return NONZERO if not zeros.any() else MIXED


def power(base: Any, exponent: Any) -> Any:
    """``base ** exponent`` by Python's ``**`` (libm's ``pow``), elementwise over per-run arrays.

    NumPy's ``np.power`` is not libm's ``pow`` on every machine (AVX-512 builds differ in the last
    bit), so arrays are not given to it: each stretch of runs sharing (base, exponent) -- a
    configuration's runs -- gets one ``**``, the very one its configuration alone computes.
    """
    if type(base) is not np.ndarray and type(exponent) is not np.ndarray:
        return base**exponent
    if np.ndim(base) == 0 and np.ndim(exponent) == 0:
        return float(base) ** float(exponent)
    broadcast = np.broadcast_arrays(np.asarray(base, np.float64), np.asarray(exponent, np.float64))
    shape = broadcast[0].shape
    bases, exponents = (a.reshape(-1) for a in broadcast)
    change = (bases[1:] != bases[:-1]) | (exponents[1:] != exponents[:-1])
    starts = np.flatnonzero(np.concatenate(([True], change)))
    values = [b**e for b, e in zip(bases[starts].tolist(), exponents[starts].tolist(), strict=True)]
    stretches = np.diff(np.append(starts, bases.size))
    return np.repeat(np.array(values, dtype=np.float64), stretches).reshape(shape)


def sqrt(x: Any) -> Any:
    """The square root, correctly rounded (``math.sqrt`` and ``np.sqrt`` agree bit for bit): a
    Python float for a Python float, so that the one-configuration path stays in Python floats."""
    return math.sqrt(x) if type(x) is float else np.sqrt(x)


def _items(value: Any) -> list[tuple[str, Any]]:
    """The field's parts: itself, or each element of a tuple or list (``betas[0]``...)."""
    if isinstance(value, tuple | list):
        return [(f"[{k}]", v) for k, v in enumerate(value)]
    return [("", value)]


def signature(obj: Any, kind: str) -> tuple:
    """``(kind, structural (field, value) pairs, continuous (field, zero_state) pairs)``."""
    structural, zeros = [], []
    for f in dataclasses.fields(obj):
        for suffix, value in _items(getattr(obj, f.name)):
            if is_continuous(value):
                zeros.append((f.name + suffix, zero_state(value)))
            else:
                structural.append((f.name + suffix, value))
    return kind, tuple(structural), tuple(zeros)


def check_same_signature(what: str, signatures: Sequence[tuple]) -> None:
    """Raise a one-line ``ValueError`` naming the first configuration that cannot join the first."""
    first = signatures[0]
    for i, other in enumerate(signatures[1:], start=1):
        if other == first:
            continue
        if other[0] != first[0]:
            reason = f"{first[0]!r} and {other[0]!r} differ"
        else:  # a field may be structural in one and continuous in the other (None or a number)
            mine, theirs = _fields(first), _fields(other)
            key = next(k for k in {**mine, **theirs} if mine.get(k) != theirs.get(k))
            reason = (
                f"{key} is {_said(mine.get(key))} in one and {_said(theirs.get(key))} in the other"
            )
        raise ValueError(f"{what}: configurations 0 and {i} cannot share a group: {reason}")


def _fields(signature: tuple) -> dict[str, tuple]:
    """A signature's fields by name: ``("value", v)`` if structural, ``("zero", state)`` if
    continuous (a field may be either: SOAP's shampoo_beta is None or a number)."""
    return {
        **{k: ("value", v) for k, v in signature[1]},
        **{k: ("zero", z) for k, z in signature[2]},
    }


def _said(field: tuple | None) -> str:
    if field is None:
        return "absent"
    kind, value = field
    if kind == "value":
        return repr(value)
    return {ZERO: "zero", NONZERO: "nonzero", MIXED: "mixed zero and nonzero"}[value]


def stack_fields(configs: Sequence[Any], runs: Sequence[int], what: str) -> dict[str, Any]:
    """The continuous fields of ``configs`` concatenated into (sum(runs),) float64 arrays.

    A configuration's value is a number (repeated for its runs) or an array of its runs' values.
    """
    runs = [int(n) for n in runs]
    if len(runs) != len(configs) or not configs:
        raise ValueError(f"{what}: {len(configs)} configurations but {len(runs)} run counts")
    if min(runs) < 1:
        raise ValueError(f"{what}: every configuration needs at least one run, got {runs}")
    fields = {}
    for f in dataclasses.fields(configs[0]):
        values = [getattr(c, f.name) for c in configs]
        parts = [_items(v) for v in values]
        if not any(is_continuous(v) for _, v in parts[0]):
            continue
        stacked = []
        for k, (_, v) in enumerate(parts[0]):
            if is_continuous(v):
                stacked.append(_concatenate([p[k][1] for p in parts], runs, what, f.name))
            else:
                stacked.append(v)
        single = not isinstance(values[0], tuple | list)
        fields[f.name] = stacked[0] if single else tuple(stacked)
    return fields


def _concatenate(values: list, runs: list[int], what: str, field: str) -> np.ndarray:
    pieces = []
    for value, n in zip(values, runs, strict=True):
        piece = np.asarray(value, dtype=np.float64)
        if piece.ndim and piece.shape != (n,):
            raise ValueError(f"{what}: {field} has {piece.shape[0]} values for {n} runs")
        pieces.append(np.broadcast_to(piece, (n,)))
    return np.concatenate(pieces)


PLAIN = frozenset((float, bool, int, type(None)))


def plain(coefficients: dict[str, Any]) -> bool:
    """Whether every coefficient is a Python number (or None): nothing to settle or broadcast."""
    return all(map(PLAIN.__contains__, map(type, coefficients.values())))


def settle(value: Any) -> Any:
    """A coefficient as ``step`` passes it on: uniform arrays and NumPy scalars become Python
    scalars, other (R,) arrays stay arrays."""
    if type(value) in PLAIN:  # the common case first: this runs for every coefficient per step
        return value
    if isinstance(value, np.ndarray):
        if value.ndim == 0:
            return value.item()
        if uniform(value):
            return value[0].item()
        return value
    if isinstance(value, np.generic):
        return value.item()
    return value


def uniform(values: np.ndarray) -> bool:
    """Whether every value of a 1-D array equals the first (NaN never does)."""
    return bool((values == values[0]).all())


def scalar_twin(obj: Any) -> Any:
    """``obj`` with every per-run field holding one value across its runs as a Python float;
    ``obj`` itself if it holds no arrays, None if some field's values differ across runs."""
    scalars = {}
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        parts = [v for _, v in _items(value)]
        if not any(isinstance(v, np.ndarray) for v in parts):
            continue
        if not all(uniform(v) for v in parts if isinstance(v, np.ndarray)):
            return None
        settled = [v[0].item() if isinstance(v, np.ndarray) else v for v in parts]
        scalars[f.name] = tuple(settled) if isinstance(value, tuple | list) else settled[0]
    return dataclasses.replace(obj, **scalars) if scalars else obj


def broadcast(value: Any, p: np.ndarray, owner: str = "optimizer") -> Any:
    """A settled coefficient for the array ``p``: (R,) arrays become (R, 1, ..., 1) arrays of
    ``p``'s dtype (booleans stay boolean), anything else is returned as is."""
    if not isinstance(value, np.ndarray):
        return value
    if value.shape[0] != p.shape[0]:
        raise ValueError(
            f"{owner}: a per-run hyperparameter has {value.shape[0]} values but the params have "
            f"{p.shape[0]} runs"
        )
    shaped = value.reshape((value.shape[0],) + (1,) * (p.ndim - 1))
    return shaped if value.dtype == np.bool_ else shaped.astype(p.dtype)


def segments(coefficients: dict[str, Any]) -> list[tuple[int, int]]:
    """Maximal runs ``[start, stop)`` over which every per-run coefficient is constant."""
    arrays = [v for v in coefficients.values() if isinstance(v, np.ndarray)]
    size = arrays[0].shape[0]
    change = np.zeros(size - 1, dtype=bool)
    for a in arrays:
        change |= a[1:] != a[:-1]
    bounds = [0, *(np.flatnonzero(change) + 1).tolist(), size]
    return list(zip(bounds[:-1], bounds[1:], strict=True))


def at(coefficients: dict[str, Any], run: int) -> dict[str, Any]:
    """The coefficients of one run, as Python scalars."""
    return {k: v[run].item() if isinstance(v, np.ndarray) else v for k, v in coefficients.items()}
