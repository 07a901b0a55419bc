"""Counter-based random streams, one per run, drawn for all runs at once.

A problem's minibatches and gradient noise come from here. Every number is a function of four
things only: the run's key, the step, which draw of that step it is, and its position in that
draw. No generator state is carried from one run to another. So a run draws the same bits
whether it shares its array with 1 or 1,000 other runs, in any order, and whether the draws of
one step or of many are computed together.

The generator is Philox4x32-10 (Salmon, Moraes, Dror and Shaw, "Parallel random numbers: as
easy as 1, 2, 3", SC 2011). It is written in NumPy over whole arrays, and checked against the
known-answer vectors of Random123. One Philox block maps a 128-bit counter and a 64-bit key to
four 32-bit words. Here the counter is ``(block, draw, step, attempt)`` and the key is the run's.

- :class:`RunStreams` holds the keys of R runs. :meth:`RunStreams.from_seed_sequences` derives
  each key from the run's ``SeedSequence``.
- :meth:`RunStreams.at` gives a :class:`StepDraws`: the draws of one step, for every run.
- :meth:`StepDraws.uniform`, :meth:`StepDraws.normal` and :meth:`StepDraws.indices` return
  arrays of shape ``(R, ...)``.

Computing one step at a time would cost a few hundred NumPy calls per step, whatever R is. So
:class:`RunStreams` computes the draws of up to :data:`LOOKAHEAD` steps at once, and keeps them
until they are asked for. That changes no bit, since every number depends only on its counter.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

ROUNDS = 10
PHILOX_M = (0xD2511F53, 0xCD9E8D57)  # the round multipliers of Philox4x32
PHILOX_W = (0x9E3779B9, 0xBB67AE85)  # the key schedule's increments (golden ratio, sqrt(3) - 1)
WORD = np.uint64(0xFFFFFFFF)
STREAM_CHILD = 0x42415443  # spawn key of a run's batch stream below its SeedSequence ("BATC")
LOOKAHEAD = 64  # steps drawn together, at most
LOOKAHEAD_WORDS = 1 << 18  # 32-bit words drawn together, at most (2 MB of uint64)
MAX_ATTEMPTS = 64  # redraws of a batch that repeats an index: each succeeds with p >= 1/2


def philox4x32(counter: tuple[Any, ...], key: tuple[Any, ...]) -> tuple[np.ndarray, ...]:
    """Philox4x32-10 on whole arrays: four counter words and two key words to four words.

    Parameters
    ----------
    counter : tuple of 4 array_like
        Integers below 2**32, broadcast together with ``key``.
    key : tuple of 2 array_like
        Integers below 2**32.

    Returns
    -------
    tuple of 4 numpy.ndarray of uint64
        The output words (each below 2**32), of the broadcast shape.

    Notes
    -----
    Each round multiplies two words by the constants ``M``. It keeps the low halves of the
    products, and mixes their high halves with the other two words and the round key. Then the
    key grows by ``W``. The 32 x 32-bit products are exact in uint64.
    """
    words = [np.asarray(w, dtype=np.uint64) for w in (*counter, *key)]
    shape = np.broadcast_shapes(*(w.shape for w in words))
    c0, c1, c2, c3 = (np.array(np.broadcast_to(w, shape)) for w in words[:4])
    k0, k1 = words[4:]
    m0, m1 = (np.uint64(m) for m in PHILOX_M)
    p0, p1 = np.empty(shape, np.uint64), np.empty(shape, np.uint64)
    for _ in range(ROUNDS):
        np.multiply(c0, m0, out=p0)
        np.multiply(c2, m1, out=p1)
        np.right_shift(p1, 32, out=c0)
        c0 ^= c1
        c0 ^= k0
        np.right_shift(p0, 32, out=c2)
        c2 ^= c3
        c2 ^= k1
        np.bitwise_and(p1, WORD, out=c1)
        np.bitwise_and(p0, WORD, out=c3)
        k0 = (k0 + np.uint64(PHILOX_W[0])) & WORD
        k1 = (k1 + np.uint64(PHILOX_W[1])) & WORD
    return c0, c1, c2, c3


def _words(rows: tuple[np.ndarray, np.ndarray], draw: int, attempt: int, count: int) -> np.ndarray:
    """``count`` 32-bit words for each row, shape ``(N, count)``.

    ``rows`` is ``(keys (N, 2), steps (N,))``: one (run, step) pair per row.
    """
    keys, steps = rows
    blocks = -(-count // 4)
    counter = (np.arange(blocks, dtype=np.uint64), draw, steps[:, None], attempt)
    out = philox4x32(counter, (keys[:, :1], keys[:, 1:]))
    return np.stack(out, axis=-1).reshape(len(steps), 4 * blocks)[:, :count]


def _uniform(rows, draw: int, attempt: int, count: int) -> np.ndarray:
    """Doubles in [0, 1) with 53 random bits, two words each, shape ``(N, count)``."""
    words = _words(rows, draw, attempt, 2 * count)
    bits = ((words[:, 0::2] << np.uint64(32)) | words[:, 1::2]) >> np.uint64(11)
    return bits * 2.0**-53


def _normal(rows, draw: int, count: int) -> np.ndarray:
    """Standard normals by Box and Muller (1958), two from each pair of uniforms."""
    pairs = -(-count // 2)
    u = _uniform(rows, draw, 0, 2 * pairs)
    radius = np.sqrt(-2.0 * np.log(1.0 - u[:, 0::2]))  # 1 - u is exact and in (0, 1]
    angle = 2.0 * np.pi * u[:, 1::2]
    out = np.empty((len(u), 2 * pairs))
    out[:, 0::2] = radius * np.cos(angle)
    out[:, 1::2] = radius * np.sin(angle)
    return out[:, :count]


def _below(u: np.ndarray, size: Any) -> np.ndarray:
    """``floor(u * size)``: uniform integers below ``size`` (bias below ``size / 2**53``)."""
    return np.minimum((u * size).astype(np.int64), np.asarray(size, dtype=np.int64) - 1)


def _indices(rows, draw: int, size: int, count: int) -> np.ndarray:
    """``count`` distinct indices below ``size`` per row, uniform without replacement.

    When repeats are rare (``count**2 <= size``), the indices are drawn with replacement and a
    row that repeats one is drawn again, from the next ``attempt`` of its own counter
    (rejection, so still uniform). Otherwise a partial Fisher-Yates shuffle of ``arange(size)``
    runs in every row at once: ``count`` swaps, one uniform each.
    """
    if count * count > size:
        return _partial_shuffle(_uniform(rows, draw, 0, count), size)
    keys, steps = rows
    out = _below(_uniform(rows, draw, 0, count), size)
    pending = np.arange(len(steps))
    for attempt in range(1, MAX_ATTEMPTS + 1):
        ordered = np.sort(out[pending], axis=1)
        pending = pending[np.any(ordered[:, 1:] == ordered[:, :-1], axis=1)]
        if pending.size == 0:
            return out
        subset = (keys[pending], steps[pending])
        out[pending] = _below(_uniform(subset, draw, attempt, count), size)
    raise RuntimeError(f"indices: {pending.size} batches still repeat an index")  # p < 2**-64


def _partial_shuffle(u: np.ndarray, size: int) -> np.ndarray:
    """The first ``count`` entries of a Fisher-Yates shuffle of ``arange(size)`` per row."""
    rows, count = u.shape
    dtype = np.int32 if size < 2**31 else np.int64
    order = np.tile(np.arange(size, dtype=dtype), (rows, 1))
    every = np.arange(rows)
    for i in range(count):  # a loop over batch positions, never over runs
        j = i + _below(u[:, i], size - i)
        chosen = order[every, j]
        order[every, j] = order[:, i]
        order[:, i] = chosen
    return order[:, :count].astype(np.int64)


class RunStreams:
    """The random streams of R runs: one 64-bit Philox key per run.

    Parameters
    ----------
    keys : array_like, shape (R, 2)
        Each run's key, as two integers below 2**32.

    Examples
    --------
    >>> streams = RunStreams.from_seed_sequences([np.random.SeedSequence(k) for k in range(3)])
    >>> streams.at(0).indices(10, 4).shape
    (3, 4)
    """

    def __init__(self, keys: Any):
        keys = np.asarray(keys)
        if keys.ndim != 2 or keys.shape[1] != 2 or keys.shape[0] == 0:
            raise ValueError(
                f"RunStreams: keys must have shape (R, 2) with R >= 1, not {keys.shape}"
            )
        if keys.min() < 0 or keys.max() >= 2**32:
            raise ValueError("RunStreams: every key word must be an integer in [0, 2**32)")
        self.keys = keys.astype(np.uint64)
        self._blocks: dict[tuple, tuple[int, np.ndarray]] = {}

    @classmethod
    def from_seed_sequences(cls, sequences: list[np.random.SeedSequence]) -> RunStreams:
        """One key per run from its ``SeedSequence``: the first two words of a child sequence.

        The child's spawn key ends with :data:`STREAM_CHILD`, so the stream does not reuse the
        words that ``np.random.default_rng(sequence)`` starts from.
        """
        keys = [
            np.random.SeedSequence(
                s.entropy, spawn_key=(*s.spawn_key, STREAM_CHILD), pool_size=s.pool_size
            ).generate_state(2, np.uint32)
            for s in sequences
        ]
        return cls(np.array(keys, dtype=np.uint64).reshape(-1, 2))

    @classmethod
    def from_generator(cls, rng: np.random.Generator, runs: int) -> RunStreams:
        """``runs`` keys drawn from ``rng`` (for one-off draws outside the engine)."""
        return cls(rng.integers(0, 2**32, size=(runs, 2), dtype=np.uint64))

    def __len__(self) -> int:
        return len(self.keys)

    def take(self, runs: Any) -> RunStreams:
        """The streams of some runs (an index or a boolean mask over the runs axis)."""
        return RunStreams(np.atleast_2d(self.keys[runs]))

    def at(self, step: int) -> StepDraws:
        """The draws of ``step`` (an integer in [0, 2**32)) for every run."""
        if not 0 <= step < 2**32:
            raise ValueError(f"RunStreams: step={step} is out of range; allowed [0, 2**32)")
        return StepDraws(self, int(step))

    def _draw(self, request: tuple, step: int) -> np.ndarray:
        """The draw ``request`` = (draw, kind, *arguments) of ``step``, shape (R, ...).

        Computes it for up to :data:`LOOKAHEAD` steps from ``step`` on, and keeps them.
        """
        first, block = self._blocks.get(request, (0, None))
        if block is None or not first <= step < first + len(block):
            draw, kind, *arguments = request
            ahead = max(1, min(LOOKAHEAD, LOOKAHEAD_WORDS // (len(self) * _cost(kind, arguments))))
            ahead = min(ahead, 2**32 - step)
            steps = np.repeat(np.arange(step, step + ahead, dtype=np.uint64), len(self))
            rows = (np.tile(self.keys, (ahead, 1)), steps)
            values = _KINDS[kind](rows, draw, *arguments)
            first, block = step, values.reshape(ahead, len(self), *values.shape[1:])
            self._blocks[request] = (first, block)
        return block[step - first]


class StepDraws:
    """The random draws of one step, for every run of a :class:`RunStreams`.

    Each call is a new draw: the first call of a step is draw 0, the next is draw 1, and so on.
    A problem that makes the same calls in the same order at every step gets fresh numbers at
    every step, and the same numbers for a run wherever that run sits.
    """

    def __init__(self, streams: RunStreams, step: int):
        self.streams, self.step = streams, step
        self.runs = len(streams)
        self._draws = 0

    def _next(self, kind: str, *arguments: Any) -> np.ndarray:
        draw, self._draws = self._draws, self._draws + 1
        return self.streams._draw((draw, kind, *arguments), self.step)

    def uniform(self, shape: int | tuple[int, ...]) -> np.ndarray:
        """Doubles uniform in [0, 1), shape ``(R, *shape)``, 53 random bits each."""
        shape = _shape(shape)
        return self._next("uniform", math.prod(shape)).reshape(self.runs, *shape)

    def normal(self, shape: int | tuple[int, ...]) -> np.ndarray:
        """Standard normal doubles, shape ``(R, *shape)`` (Box-Muller on :meth:`uniform` pairs)."""
        shape = _shape(shape)
        return self._next("normal", math.prod(shape)).reshape(self.runs, *shape)

    def indices(self, size: int, count: int) -> np.ndarray:
        """``count`` distinct indices below ``size`` per run, uniform: shape ``(R, count)``."""
        if not 1 <= count <= size:
            raise ValueError(f"indices: count={count} must be in [1, size={size}]")
        return self._next("indices", int(size), int(count))

    def generators(self) -> list[np.random.Generator]:
        """One ``np.random.Generator`` per run, keyed like the draws (a new draw each call).

        For problems that only define ``sample_batch(rng, runs, batch_size)``: they get one
        generator per run, called in a loop over the runs.
        """
        draw, self._draws = self._draws, self._draws + 1
        return [
            np.random.Generator(
                np.random.Philox(key=(int(k0) << 32) | int(k1), counter=[self.step, draw, 0, 0])
            )
            for k0, k1 in self.streams.keys
        ]


def _cost(kind: str, arguments: list) -> int:
    """Words (and index-table entries) one run's draw of one step holds."""
    if kind != "indices":
        return max(2 * arguments[0], 1)
    size, count = arguments
    return 2 * count + (size if count * count > size else 0)


def _shape(shape: int | tuple[int, ...]) -> tuple[int, ...]:
    return (int(shape),) if np.ndim(shape) == 0 else tuple(int(n) for n in shape)


_KINDS = {
    "uniform": lambda rows, draw, count: _uniform(rows, draw, 0, count),
    "normal": _normal,
    "indices": _indices,
}
