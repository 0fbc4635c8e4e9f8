"""How coder 2 sends its model (SPEC.md §7.2): a flag, the window, then each weight bit by bit.

The flag (probability ½) is 0 when the code's bits are sent without a model, each with
probability ½; the window takes ``WINDOW_BITS`` bits of probability ½, most significant first.
A weight ``w`` is sent as ``u = w + 32`` in ``CONTEXT_WEIGHT_BITS`` bits, most significant first;
a bit's context is the weight's kind (bias, spatial, previous or cross) and its node in the bit
tree, 1 followed by the bits of ``u`` before it (1 … 63).  A context counts the zeros ``n0`` and ones ``n1`` coded
in it; a bit has ``P(0) = (2·n0 + 1) / (2·n0 + 2·n1 + 2)`` (the Krichevsky–Trofimov estimator)
with the counts as they were before its *group*: one bit level of the weights of one channel
block ``[0,1) [1,2) [2,4) [4,8) …`` (channel by channel, column by column), coded in one step.
A 768×512 image has 592 weights; they take about 3 bits each, 3.6 % of the iteration.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from ... import spec
from .model import CROSS, CROSS_CHANNELS, WEIGHT_LIMITS, Weights

if TYPE_CHECKING:
    import numpy as np

__all__ = ["WINDOW_BITS", "weight_symbols", "read_weights"]

#: Bits of the window (0 … CROSS_CHANNELS).
WINDOW_BITS = CROSS_CHANNELS.bit_length()
_BITS = spec.CONTEXT_WEIGHT_BITS
_HALF = 1 << (spec.CONTEXT_PRECISION - 1)


def _groups(channels: int) -> Iterator[tuple[int, int, int]]:
    """``(first channel, end channel, bit level)`` of each group, in coding order."""
    start = 0
    while start < channels:
        end = min(2 * start or 1, channels)
        for level in range(_BITS):
            yield start, end, level
        start = end


class _Counts:
    """The adaptive counts of the weight bits, per context ``kind·2^6 + node``."""

    def __init__(self, present: np.ndarray):
        import numpy as np

        self.present = present
        self.kind = np.minimum(np.arange(present.shape[1]), CROSS)  # every cross weight is of kind CROSS
        self.counts = np.zeros(((CROSS + 1) << _BITS, 2), dtype=np.int64)  # zeros, ones

    def contexts(self, node: np.ndarray, lo: int, hi: int) -> np.ndarray:
        """Contexts of the sent weights of channels lo…hi, in order, from their tree ``node``."""
        return ((self.kind << _BITS) + node[lo:hi])[self.present[lo:hi]]

    def weights_of_zero(self, contexts: np.ndarray) -> np.ndarray:
        """``m = floor(2²⁴·(2·n0 + 1) / (2·n0 + 2·n1 + 2))`` of each context."""
        zeros, ones = self.counts[:, 0], self.counts[:, 1]
        return (((2 * zeros + 1) << spec.CONTEXT_PRECISION) // (2 * (zeros + ones) + 2))[contexts]

    def update(self, contexts: np.ndarray, bits: np.ndarray) -> None:
        """Count ``bits`` (``{0,1}``) in their ``contexts``."""
        import numpy as np

        self.counts += np.bincount(2 * contexts + bits, minlength=self.counts.size).reshape(-1, 2)


def weight_symbols(weights: Weights | None) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The symbols that send ``weights`` (``None``: no model) and their ``m`` (the weight of a 0)."""
    import numpy as np

    if weights is None:
        return [np.zeros(1, dtype=np.int64)], [np.full(1, _HALF)]
    window = [1] + [(weights.window >> (WINDOW_BITS - 1 - i)) & 1 for i in range(WINDOW_BITS)]
    symbols, weights_of_zero = [np.array(window, dtype=np.int64)], [np.full(1 + WINDOW_BITS, _HALF)]
    counts = _Counts(weights.present())
    unsigned = weights.table - WEIGHT_LIMITS[0]
    node = np.ones_like(unsigned)
    for lo, hi, level in _groups(unsigned.shape[0]):
        contexts = counts.contexts(node, lo, hi)
        bits = (unsigned[lo:hi] >> (_BITS - 1 - level)) & 1
        sent = bits[counts.present[lo:hi]]
        symbols.append(sent)
        weights_of_zero.append(counts.weights_of_zero(contexts))
        counts.update(contexts, sent)
        node[lo:hi] = 2 * node[lo:hi] + bits
    return symbols, weights_of_zero


def read_weights(read: Callable[[np.ndarray], np.ndarray], channels: int, has_previous: bool) -> Weights | None:
    """The weights (``None``: no model), from ``read(m)``: the next ``len(m)`` symbols, decoded
    with those ``m``.  ``ValueError`` if the window is over ``CROSS_CHANNELS``."""
    import numpy as np

    if not read(np.full(1, _HALF))[0]:
        return None
    window = 0
    for bit in read(np.full(WINDOW_BITS, _HALF)):
        window = 2 * window + int(bit)
    if window > CROSS_CHANNELS:
        raise ValueError(f"window of {window} channels, over {CROSS_CHANNELS}")
    weights = Weights(np.zeros((channels, CROSS + channels), dtype=np.int64), has_previous, window)
    counts = _Counts(weights.present())
    node = np.ones_like(weights.table)
    for lo, hi, level in _groups(channels):
        contexts = counts.contexts(node, lo, hi)
        sent = read(counts.weights_of_zero(contexts)).astype(np.int64)
        counts.update(contexts, sent)
        node[lo:hi][counts.present[lo:hi]] = 2 * node[lo:hi][counts.present[lo:hi]] + sent
    weights.table[counts.present] = node[counts.present] - (1 << _BITS) + WEIGHT_LIMITS[0]
    return weights
