"""The probability model of coder 2 (SPEC.md §7.2): logits, probabilities and the order of the bits.

Every bit ``b[c][y][x]`` of an iteration gets a logit, in quarter bits of log-odds
(``4·log2 P(1)/P(0)``), from a logistic model with integer weights per channel (:class:`Weights`,
sent in the payload by :mod:`.weights`, chosen by the encoder, :mod:`.fit`)::

    z = bias + Σ_j cross_j·s(b[j][y][x]) + spatial·S + previous·s(L[c][y][x])

with ``s(v) = 2v − 1``, ``j`` over the ``window`` channels before ``c``, ``S`` the signed sum of the
bit's already-coded neighbours in its own channel and ``L`` the previous iteration's code.  The
logit, clamped to ``±CONTEXT_LOGIT_LIMIT``, gives the probability through :data:`SQUASH`, an integer table.
The bits are coded channel by channel, each channel in the four phases of the 2×2 grid (0 = even
row and column, 1 = odd and odd, 2 = even row and odd column, 3 = odd row and even column): a
*group*, whose logits depend only on earlier groups and are computed in one vectorised step.
Products are taken in float64 on exact small integers, so every result is an exact integer.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from ... import spec

if TYPE_CHECKING:  # imported when a payload is coded, keeping ``import rnncodec.formats`` light
    import numpy as np

__all__ = ["PHASES", "BIAS", "SPATIAL", "PREVIOUS", "CROSS", "CROSS_CHANNELS", "WEIGHT_LIMITS", "SQUASH",
           "Weights", "signed", "signed_padded", "spatial_sums", "phase_grid", "logit_bound",
           "probability_table"]

Offsets = tuple[tuple[int, int], ...]

_DIAGONAL: Offsets = ((-1, -1), (-1, 1), (1, -1), (1, 1))
_DIRECT: Offsets = ((-1, 0), (1, 0), (0, -1), (0, 1))
#: Phases of the 2×2 polyphase grid in coding order: (row offset, column offset, neighbours in S).
PHASES: tuple[tuple[int, int, Offsets], ...] = ((0, 0, ()), (1, 1, _DIAGONAL), (0, 1, _DIRECT), (1, 0, _DIRECT))

#: Columns of a channel's weights; column ``CROSS + j`` is the cross weight of channel ``j``.
BIAS, SPATIAL, PREVIOUS, CROSS = 0, 1, 2, 3
#: The largest window: a channel has cross weights for at most this many channels before it.
CROSS_CHANNELS = spec.CONTEXT_CROSS_CHANNELS
#: Smallest and largest weight (``CONTEXT_WEIGHT_BITS`` bits, offset binary).
WEIGHT_LIMITS = (-(1 << (spec.CONTEXT_WEIGHT_BITS - 1)), (1 << (spec.CONTEXT_WEIGHT_BITS - 1)) - 1)

_LIMIT = spec.CONTEXT_LOGIT_LIMIT
#: ``round(2^(16 + r/4))`` for r = 0 … 3: the fractional powers of two of the logit scale.
ROOTS = (65536, 77936, 92682, 110218)


def _weight_of_zero(z: int) -> int:
    """``m`` of the logit ``z``: ``2^40 // (2^16 + ROOTS[z mod 4]·2^(z div 4))`` for ``z ≥ 0``
    (about ``2^24 / (1 + 2^(z/4))``), and ``2^24 − m(−z)`` for ``z < 0``."""
    if z < 0:
        return (1 << spec.CONTEXT_PRECISION) - _weight_of_zero(-z)
    return (1 << 40) // ((1 << 16) + (ROOTS[z % 4] << (z // 4)))


#: ``m`` (the weight of a 0, out of 2^24) of each logit ``−LIMIT … LIMIT`` (index ``z + LIMIT``).
SQUASH: tuple[int, ...] = tuple(_weight_of_zero(z) for z in range(-_LIMIT, _LIMIT + 1))


def signed(code: np.ndarray, dtype: str = "int8") -> np.ndarray:
    """``s(v)``: ``2v − 1`` of each value, and 0 where it is ``STOPPED`` (coder 3: no bit there)."""
    import numpy as np

    values = code.astype(dtype)
    return 2 * values - 1 - 3 * (values >> 1)  # 0 → −1, 1 → +1, STOPPED = 2 → 0


def signed_padded(bits: np.ndarray) -> np.ndarray:
    """:func:`signed` of ``bits`` (int8), with a border of zeros one wide around each channel."""
    import numpy as np

    channels, rows, cols = bits.shape
    out = np.zeros((channels, rows + 2, cols + 2), dtype=np.int8)
    out[:, 1:-1, 1:-1] = signed(bits)
    return out


def phase_grid(array: np.ndarray, phase: int) -> np.ndarray:
    """The view of ``array``'s last two axes on ``phase``'s grid."""
    row0, col0, _ = PHASES[phase]
    return array[..., row0::2, col0::2]


def _neighbours(padded: np.ndarray, phase: int) -> np.ndarray:
    """``S`` on ``phase``'s grid of the channels of ``padded`` (:func:`signed_padded`, int8)."""
    import numpy as np

    row0, col0, offsets = PHASES[phase]
    rows, cols = padded.shape[-2] - 2, padded.shape[-1] - 2
    total = np.zeros(phase_grid(padded[..., 1:-1, 1:-1], phase).shape, dtype=np.int8)
    for dy, dx in offsets:
        total += padded[..., 1 + row0 + dy: rows + 1 + dy: 2, 1 + col0 + dx: cols + 1 + dx: 2]
    return total


def spatial_sums(padded: np.ndarray) -> np.ndarray:
    """``S`` at every place of every channel (int8), when every bit is known (the encoder)."""
    import numpy as np

    out = np.zeros(padded[:, 1:-1, 1:-1].shape, dtype=np.int8)
    for phase in range(len(PHASES)):
        phase_grid(out, phase)[...] = _neighbours(padded, phase)
    return out


@dataclass
class Weights:
    """The integer weights of every channel: ``table[c, column]`` (zero where not sent)."""

    table: np.ndarray  # int64 (C, CROSS + C)
    has_previous: bool  # iteration ≥ 2: the PREVIOUS weights are sent
    window: int  # channels before a channel that have cross weights, 0 … CROSS_CHANNELS

    def present(self) -> np.ndarray:
        """Which entries of :attr:`table` are sent: the bias, spatial and (from iteration 2)
        previous weights of every channel, and ``CROSS + j`` for ``c − window ≤ j < c``."""
        import numpy as np

        channels = self.table.shape[0]
        offset = np.arange(channels)[:, None] - np.arange(channels)[None, :]  # c − j
        mask = np.concatenate([np.ones((channels, CROSS), dtype=bool),
                               (offset >= 1) & (offset <= self.window)], axis=1)
        mask[:, PREVIOUS] = self.has_previous
        return mask

    def channel_logits(self, c: int, padded: np.ndarray, spatial: np.ndarray,
                       last_signed: np.ndarray | None) -> np.ndarray:
        """``z`` (int32, before the clamp) of every bit of channel ``c``, when every bit is known
        (the encoder); ``spatial`` is :func:`spatial_sums` of ``padded``.  Exact integers, and
        memory for one channel."""
        import numpy as np

        row = self.table[c]
        z = np.full(padded.shape[1:], int(row[BIAS]), dtype=np.int32)[1:-1, 1:-1]
        for j in np.flatnonzero(row[CROSS:]):
            z += np.int32(row[CROSS + j]) * padded[j, 1:-1, 1:-1]
        if row[SPATIAL]:
            z += np.int32(row[SPATIAL]) * spatial[c]
        if last_signed is not None and row[PREVIOUS]:
            z += np.int32(row[PREVIOUS]) * last_signed[c]
        return z


def logit_bound(channels: int) -> int:
    """A bound on ``|z|`` before the clamp: 32 per term, 32·4 for ``spatial·S``."""
    return -WEIGHT_LIMITS[0] * (min(channels, CROSS_CHANNELS) + 6)


@lru_cache(maxsize=8)
def probability_table(channels: int) -> np.ndarray:
    """constriction's probability of a 1, ``1 − SQUASH[clamp(z)] / 2²⁴`` (float64, exact), for
    every ``|z| ≤`` :func:`logit_bound`, indexed by ``z + logit_bound(channels)``."""
    import numpy as np

    bound = logit_bound(channels)
    z = np.clip(np.arange(-bound, bound + 1), -_LIMIT, _LIMIT)
    out = 1.0 - np.array(SQUASH, dtype=np.float64)[z + _LIMIT] / (1 << spec.CONTEXT_PRECISION)
    out.flags.writeable = False
    return out
