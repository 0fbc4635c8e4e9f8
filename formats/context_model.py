"""The probability model of coder 2 (SPEC.md §7.2): coding order, contexts and adaptive counts.

Everything here is computed alike by the encoder and the decoder, from bits already coded and
with integers only, so both sides derive the same probability for every bit:

* **order** — the code ``(C, H, W)`` is cut into *groups*: channel blocks ``[0,1) [1,2) [2,4)
  [4,8) …`` (doubling, so the counts adapt early), and inside a block the four phases of the 2×2
  grid: 0 = (even row, even column), 1 = (odd, odd), 2 = (even, odd), 3 = (odd, even).  A group's
  contexts depend only on earlier groups, so it is coded in one vectorised call.
* **context** of a bit — its phase; the signed sum (+1 for a 1, −1 for a 0) of its already-coded
  neighbours in the same channel (phase 1: the 4 diagonal ones; phases 2 and 3: the 4 direct
  ones; phase 0: none); the previous iteration's bit at the same place and the signed sum of that
  bit's 8 neighbours; and the bit predicted by the channel's *reference* (an earlier-block channel
  chosen by the encoder and sent in the payload, :class:`References`) at the same place.
* **counts** — per context, the zeros and ones seen so far in this iteration, starting from the
  counts of a replay of the previous iteration (with this iteration's references) shifted right
  by ``CONTEXT_INIT_SHIFT``; updated after every group.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator, Sequence

from . import spec

if TYPE_CHECKING:  # imported when a payload is coded, keeping ``import rnncodec.formats`` light
    import numpy as np

__all__ = ["PHASES", "CONTEXTS", "groups", "References", "Model", "signed_padded"]

Shape = tuple[int, int, int]
Offsets = tuple[tuple[int, int], ...]

_DIAGONAL: Offsets = ((-1, -1), (-1, 1), (1, -1), (1, 1))
_DIRECT: Offsets = ((-1, 0), (1, 0), (0, -1), (0, 1))
#: Phases of the 2×2 polyphase grid in coding order: (row offset, column offset, neighbours).
PHASES: tuple[tuple[int, int, Offsets], ...] = ((0, 0, ()), (1, 1, _DIAGONAL), (0, 1, _DIRECT), (1, 0, _DIRECT))
_SPATIAL_VALUES = 9  # a signed sum of at most 4 neighbours, −4 … 4
_PREVIOUS_VALUES = 2 * 17 + 1  # previous bit (0, 1) × signed sum of 8 neighbours (−8 … 8), or none
_NO_PREVIOUS = _PREVIOUS_VALUES - 1
_REFERENCE_VALUES = 3  # none, predicts 0, predicts 1
#: Number of contexts (the size of the count tables).
CONTEXTS = len(PHASES) * _SPATIAL_VALUES * _PREVIOUS_VALUES * _REFERENCE_VALUES


def groups(channels: int) -> Iterator[tuple[int, int, int]]:
    """``(first channel, end channel, phase index)`` of each group, in coding order."""
    start = 0
    while start < channels:
        end = min(2 * start or 1, channels)
        for phase in range(len(PHASES)):
            yield start, end, phase
        start = end


def signed_padded(bits: np.ndarray) -> np.ndarray:
    """``2·bits − 1`` as int8, with a border of zeros one wide around each channel."""
    import numpy as np

    channels, rows, cols = bits.shape
    out = np.zeros((channels, rows + 2, cols + 2), dtype=np.int8)
    out[:, 1:-1, 1:-1] = 2 * bits.astype(np.int8) - 1
    return out


def neighbour_sum(padded: np.ndarray, lo: int, hi: int, row0: int, col0: int, offsets: Offsets,
                  step: int) -> np.ndarray:
    """Sum of ``padded`` over ``offsets`` around the grid ``[lo:hi, row0::step, col0::step]``."""
    import numpy as np

    rows, cols = padded.shape[1] - 2, padded.shape[2] - 2
    total = np.zeros((hi - lo, -(-(rows - row0) // step), -(-(cols - col0) // step)), dtype=np.int8)
    for dy, dx in offsets:
        total += padded[lo:hi, 1 + row0 + dy: rows + 1 + dy: step, 1 + col0 + dx: cols + 1 + dx: step]
    return total


def phase_grid(array: np.ndarray, lo: int, hi: int, phase: int) -> np.ndarray:
    """The view of channels lo…hi of ``array`` on ``phase``'s grid."""
    row0, col0, _ = PHASES[phase]
    return array[lo:hi, row0::2, col0::2]


@dataclass(frozen=True)
class References:
    """Each channel's reference: an earlier-block channel whose bit (inverted or not) predicts it.

    ``reference[c]`` is −1 (none) or a channel below ``block_start(c)``; the predicted bit is
    ``bits[reference[c]] XOR invert[c]``.  Channel 0 has none.
    """

    reference: tuple[int, ...]
    invert: tuple[bool, ...]

    @staticmethod
    def block_start(channel: int) -> int:
        """First channel of ``channel``'s block: the largest power of two ≤ channel (0 for 0)."""
        return 1 << (channel.bit_length() - 1) if channel else 0

    @classmethod
    def none(cls, channels: int) -> "References":
        return cls((-1,) * channels, (False,) * channels)

    @classmethod
    def choose(cls, bits: np.ndarray, threshold: float = 0.25) -> "References":
        """The encoder's choice: per channel, the earlier-block channel that agrees (or disagrees)
        most often with it, if it does so for a fraction at least ``threshold`` beyond one half."""
        import numpy as np

        channels = bits.shape[0]
        signed = 2.0 * bits.reshape(channels, -1) - 1.0
        agreement = signed @ signed.T  # integers, exact in float64
        reference, invert = [-1] * channels, [False] * channels
        for channel in range(1, channels):
            row = agreement[channel, : cls.block_start(channel)]
            best = int(np.argmax(np.abs(row)))
            if abs(row[best]) >= 2 * threshold * signed.shape[1]:
                reference[channel], invert[channel] = best, bool(row[best] < 0)
        return cls(tuple(reference), tuple(invert))

    def feature(self, bits: np.ndarray, lo: int, hi: int, phase: int) -> np.ndarray:
        """0 (no reference) or 1 + predicted bit, for channels lo…hi on ``phase``'s grid."""
        import numpy as np

        reference = np.array(self.reference[lo:hi])
        if not (reference >= 0).any():
            return np.zeros(phase_grid(bits, lo, hi, phase).shape, dtype=np.int32)
        invert = np.array(self.invert[lo:hi], dtype=np.uint8)[:, None, None]
        predicted = phase_grid(bits, 0, bits.shape[0], phase)[np.maximum(reference, 0)] ^ invert
        return np.where((reference >= 0)[:, None, None], 1 + predicted.astype(np.int32), 0)


def _previous_feature(previous: Sequence[np.ndarray], shape: Shape) -> np.ndarray:
    """Per position: ``17·bit + (signed sum of its 8 neighbours) + 8`` in the last iteration, or none."""
    import numpy as np

    if not previous:
        return np.full(shape, _NO_PREVIOUS, dtype=np.int32)
    last = previous[-1]
    around = neighbour_sum(signed_padded(last), 0, shape[0], 0, 0, _DIAGONAL + _DIRECT, 1)
    return 17 * last.astype(np.int32) + around + 8


class Model:
    """Contexts and counts for one iteration of ``shape``, given the earlier iterations' bits
    (only the last two are used) and this iteration's references."""

    def __init__(self, shape: Shape, previous: Sequence[np.ndarray], references: References):
        import numpy as np

        self.references = references
        self.feature = _previous_feature(previous, shape)
        self.counts = np.zeros((CONTEXTS, 2), dtype=np.int64)  # zeros, ones
        if previous:
            last = previous[-1]
            replay = Model(shape, previous[-2:-1], references)
            padded = signed_padded(last)
            for phase in range(len(PHASES)):
                replay.update(replay.contexts(padded, last, 0, shape[0], phase),
                              phase_grid(last, 0, shape[0], phase).ravel())
            self.counts = replay.counts >> spec.CONTEXT_INIT_SHIFT

    def contexts(self, padded: np.ndarray, bits: np.ndarray, lo: int, hi: int, phase: int) -> np.ndarray:
        """Context of each bit of group (lo, hi, phase), in coding order (C order of its grid).

        ``padded`` (:func:`signed_padded`) and ``bits`` must hold every bit of the earlier groups.
        """
        import numpy as np

        row0, col0, offsets = PHASES[phase]
        spatial = neighbour_sum(padded, lo, hi, row0, col0, offsets, 2).astype(np.int32) + 4
        previous = phase_grid(self.feature, lo, hi, phase)
        reference = self.references.feature(bits, lo, hi, phase)
        return (((phase * _SPATIAL_VALUES + spatial) * _PREVIOUS_VALUES + previous) * _REFERENCE_VALUES
                + reference).ravel()

    def weights_of_zero(self, contexts: np.ndarray) -> np.ndarray:
        """``m = floor(2²⁴·(zeros + 1) / (zeros + ones + 2))`` of each context (SPEC.md §7.2)."""
        zeros, ones = self.counts[:, 0], self.counts[:, 1]
        return (((zeros + 1) << spec.CONTEXT_PRECISION) // (zeros + ones + 2))[contexts]

    def update(self, contexts: np.ndarray, bits: np.ndarray) -> None:
        """Count ``bits`` (``{0,1}``) in their ``contexts``."""
        import numpy as np

        self.counts += np.bincount(2 * contexts + bits, minlength=2 * CONTEXTS).reshape(CONTEXTS, 2)
