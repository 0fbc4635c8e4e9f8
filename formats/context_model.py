"""The probability model of coder 2 (SPEC.md §7.2): coding order, contexts and adaptive counts.

Everything here is computed alike by the encoder and the decoder, from bits already coded and
with integers only, so both sides derive the same probability for every bit:

* **order** — the code ``(C, H, W)`` is cut into *groups*: channel blocks ``[0,1) [1,2) [2,4)
  [4,8) …`` (doubling, so the counts adapt early), and inside a block the four phases of the 2×2
  grid: 0 = (even row, even column), 1 = (odd, odd), 2 = (even, odd), 3 = (odd, even).  A group's
  contexts depend only on earlier groups, so it is coded in one vectorised call.
* **context** of a bit — its phase; the signed sum (+1 for a 1, −1 for a 0) of its already-coded
  neighbours in the same channel (phase 1: the 4 diagonal ones; phases 2 and 3: the 4 direct
  ones; phase 0: none); the previous iteration's bit at the same place and the level (of 5) of
  the signed sum of that bit's 8 neighbours; and the signed sum of the bits predicted at the same
  place by the channel's *references* (earlier-block channels chosen by the encoder and sent in
  the payload, :class:`References`).
* **counts** — per context, the zeros and ones seen so far in this iteration, starting from the
  counts of a replay of the previous iteration (with this iteration's references) shifted right
  by ``CONTEXT_INIT_SHIFT``; updated after every group.  Iteration 1 has no previous-iteration
  feature, so when iteration 2 replays it, its counts seed every value of that feature.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterator, Sequence

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
_PREVIOUS_VALUES = 1 + 2 * 5  # none, or previous bit (0, 1) × level of the signed sum of its 8 neighbours
#: Level of a signed sum of 8 neighbours (index: sum + 8): ≤−5, −4…−2, −1…1, 2…4, ≥5.
_LEVELS = (0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 4)
_REFERENCE_VALUES = 2 * 3 + 1  # signed sum of up to References.MAX predicted bits, −3 … 3
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
    """Each channel's references: earlier-block channels whose bits (inverted or not) predict it.

    ``of[c]`` lists up to :attr:`MAX` pairs ``(channel, invert)`` with ``channel < block_start(c)``;
    each predicts ``bits[channel] XOR invert`` at the same place.  Channel 0 has none.
    """

    of: tuple[tuple[tuple[int, bool], ...], ...]

    #: References a channel may have (their count is sent in 2 bits).
    MAX = 3

    def __post_init__(self) -> None:
        for channel, refs in enumerate(self.of):
            if len(refs) > self.MAX or any(not 0 <= ref < self.block_start(channel) for ref, _ in refs):
                raise ValueError(f"channel {channel} cannot have the references {refs}")

    @staticmethod
    def block_start(channel: int) -> int:
        """First channel of ``channel``'s block: the largest power of two ≤ channel (0 for 0)."""
        return 1 << (channel.bit_length() - 1) if channel else 0

    @classmethod
    def choose(cls, bits: np.ndarray, most: int = 2, threshold: float = 0.1) -> "References":
        """The encoder's choice: per channel, the ``most`` earlier-block channels that agree (or
        disagree) most often with it, each if it does so for a fraction ``threshold`` beyond one
        half and beyond chance (three standard deviations)."""
        import numpy as np

        channels = bits.shape[0]
        signed = 2.0 * bits.reshape(channels, -1) - 1.0
        agreement = signed @ signed.T  # integers, exact in float64
        needed = max(threshold * signed.shape[1], 3.0 * signed.shape[1] ** 0.5)
        of = []
        for channel in range(channels):
            row = agreement[channel, : cls.block_start(channel)]
            best = np.argsort(-np.abs(row), kind="stable")[:most]
            of.append(tuple((int(j), bool(row[j] < 0)) for j in best if abs(row[j]) >= needed))
        return cls(tuple(of))

    def to_symbols(self) -> list[int]:
        """The references as flat bits (SPEC.md §7.2): for each channel 1…C−1 its count in 2 bits;
        then for each reference of each channel, its invert bit and its channel in
        ``bit_length(c) − 1`` bits, most significant first."""
        symbols = []
        for refs in self.of[1:]:
            symbols += [len(refs) >> 1, len(refs) & 1]
        for channel, refs in enumerate(self.of):
            width = channel.bit_length() - 1
            for reference, invert in refs:
                symbols += [int(invert)] + [(reference >> (width - 1 - i)) & 1 for i in range(width)]
        return symbols

    @classmethod
    def read(cls, read_bits: Callable[[int], list[int]], channels: int) -> "References":
        """Parse :meth:`to_symbols`' bits, taken ``read_bits(count)`` at a time (two calls)."""
        pairs = read_bits(2 * (channels - 1))
        counts = [0] + [2 * high + low for high, low in zip(pairs[::2], pairs[1::2])]
        extra = iter(read_bits(sum(n * c.bit_length() for c, n in enumerate(counts))))
        of = []
        for channel, count in enumerate(counts):
            refs = []
            for _ in range(count):
                invert, reference = bool(next(extra)), 0
                for _ in range(channel.bit_length() - 1):
                    reference = 2 * reference + next(extra)
                refs.append((reference, invert))
            of.append(tuple(refs))
        return cls(tuple(of))


def _previous_feature(previous: Sequence[np.ndarray], shape: Shape) -> np.ndarray:
    """Per position: 0 without a previous iteration, else ``1 + 5·bit + level`` of the last
    iteration's bit and the level of the signed sum of its 8 neighbours."""
    import numpy as np

    if not previous:
        return np.zeros(shape, dtype=np.int32)
    level_of_sum = np.array(_LEVELS, dtype=np.int32)
    last = previous[-1]
    around = neighbour_sum(signed_padded(last), 0, shape[0], 0, 0, _DIAGONAL + _DIRECT, 1)
    return 1 + 5 * last.astype(np.int32) + level_of_sum[around + 8]


class Model:
    """Contexts and counts for one iteration of ``shape``, given the earlier iterations' bits
    (only the last two are used) and this iteration's references."""

    def __init__(self, shape: Shape, previous: Sequence[np.ndarray], references: References, *,
                 replay: bool = True):
        import numpy as np

        slots = max((len(refs) for refs in references.of), default=0)
        self.reference = np.full((shape[0], slots), -1, dtype=np.intp)  # channel per slot, or −1
        self.invert = np.zeros((shape[0], slots, 1, 1), dtype=np.uint8)
        for channel, refs in enumerate(references.of):
            for slot, (reference, invert) in enumerate(refs):
                self.reference[channel, slot], self.invert[channel, slot] = reference, invert
        self.references = references
        self.feature = _previous_feature(previous, shape)
        self.counts = np.zeros((CONTEXTS, 2), dtype=np.int64)  # zeros, ones
        if previous and replay:
            self.counts = self._replayed(previous) >> spec.CONTEXT_INIT_SHIFT

    def _replayed(self, previous: Sequence[np.ndarray]) -> np.ndarray:
        """Counts of the last iteration's bits in their contexts (with this iteration's references)."""
        last = previous[-1]
        model = Model(last.shape, previous[-2:-1], self.references, replay=False)
        padded = signed_padded(last)
        for phase in range(len(PHASES)):
            model.update(model.contexts(padded, last, 0, last.shape[0], phase),
                         phase_grid(last, 0, last.shape[0], phase).ravel())
        if len(previous) == 1:  # iteration 1 had no previous one: seed every previous-feature value
            by_feature = model.counts.reshape(-1, _PREVIOUS_VALUES, _REFERENCE_VALUES, 2)
            by_feature[:, 1:] = by_feature[:, :1]
        return model.counts

    def contexts(self, padded: np.ndarray, bits: np.ndarray, lo: int, hi: int, phase: int) -> np.ndarray:
        """Context of each bit of group (lo, hi, phase), in coding order (C order of its grid).

        ``padded`` (:func:`signed_padded`) and ``bits`` must hold every bit of the earlier groups.
        """
        import numpy as np

        row0, col0, offsets = PHASES[phase]
        spatial = neighbour_sum(padded, lo, hi, row0, col0, offsets, 2).astype(np.int32) + 4
        previous = phase_grid(self.feature, lo, hi, phase)
        reference = self.predicted_sum(bits, lo, hi, phase) + References.MAX
        return (((phase * _SPATIAL_VALUES + spatial) * _PREVIOUS_VALUES + previous) * _REFERENCE_VALUES
                + reference).ravel()

    def predicted_sum(self, bits: np.ndarray, lo: int, hi: int, phase: int) -> np.ndarray:
        """Signed sum of the bits the references of channels lo…hi predict on ``phase``'s grid."""
        import numpy as np

        reference = self.reference[lo:hi]
        predicted = phase_grid(bits, 0, bits.shape[0], phase)[np.maximum(reference, 0)] ^ self.invert[lo:hi]
        signed = np.where((reference >= 0)[:, :, None, None], 2 * predicted.astype(np.int32) - 1, 0)
        return signed.sum(axis=1, dtype=np.int32)

    def weights_of_zero(self, contexts: np.ndarray) -> np.ndarray:
        """``m = floor(2²⁴·(zeros + 1) / (zeros + ones + 2))`` of each context (SPEC.md §7.2)."""
        zeros, ones = self.counts[:, 0], self.counts[:, 1]
        return (((zeros + 1) << spec.CONTEXT_PRECISION) // (zeros + ones + 2))[contexts]

    def update(self, contexts: np.ndarray, bits: np.ndarray) -> None:
        """Count ``bits`` (``{0,1}``) in their ``contexts``."""
        import numpy as np

        self.counts += np.bincount(2 * contexts + bits, minlength=2 * CONTEXTS).reshape(CONTEXTS, 2)
