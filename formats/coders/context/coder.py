"""Coder 2, ``context``: a code tensor coded bit by bit with a logistic model (SPEC.md §7.2).

The payload is one rANS stream of ``constriction`` (``stack.AnsCoder``: 32-bit words, 64-bit
state, 24-bit probabilities) with a Bernoulli model per symbol.  Its symbols are, in decoding
order: the model's weights (:mod:`.weights`), which the encoder fits to the iteration
(:mod:`.fit`), then the code's bits group by group (:mod:`.model`), each with the
probability of its logit.  A group is one vectorised call of the coder.  Iteration *t* reads only
iteration *t−1*, so any prefix of iterations decodes.  ``numpy`` and ``constriction`` are
imported when a payload is coded, keeping ``import rnncodec.formats`` light.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ... import spec
from ..base import Coder, Shape
from .fit import fit_weights, windows
from .model import (BIAS, CROSS, CROSS_CHANNELS, PHASES, PREVIOUS, SPATIAL, Weights, logit_bound, phase_grid,
                    probability_table, signed, signed_padded, spatial_sums)
from .weights import WINDOW_BITS, read_weights, weight_symbols

if TYPE_CHECKING:
    import numpy as np

__all__ = ["ContextCoder", "max_payload_bytes", "open_stream", "weighted", "ans_payload", "STRIP_SYMBOLS"]

#: Bits decoded per call of the rANS coder (at most): the decoder's working set is a few such strips.
STRIP_SYMBOLS = 1 << 16


def max_payload_bytes(shape: Shape, decisions: int = 0) -> int:
    """Largest payload for ``shape``: 25 bits per symbol (every probability is ≥ 2⁻²⁴) — the
    ``decisions`` (coder 3), the code's bits, the flag, the window and the bits of the most
    weights — and the final state (8 bytes), in whole words."""
    bits, rows, cols = shape
    weight_bits = spec.CONTEXT_WEIGHT_BITS * sum(CROSS + min(c, CROSS_CHANNELS) for c in range(bits))
    symbols = decisions + bits * rows * cols + 1 + WINDOW_BITS + weight_bits
    return 4 * -(-(25 * symbols + 64) // 32)


def _probability_of_one(weight_of_zero: np.ndarray) -> np.ndarray:
    """``1 − m/2²⁴`` as float64: exact, and quantised by constriction to exactly SPEC.md's weights."""
    import numpy as np

    return 1.0 - np.asarray(weight_of_zero, dtype=np.float64) / (1 << spec.CONTEXT_PRECISION)


def _last_code(previous: Sequence[np.ndarray], shape: Shape) -> np.ndarray | None:
    """The previous iteration's code ``L`` (all the coder reads), or ``None``."""
    if not previous:
        return None
    if previous[-1].shape != shape:
        raise ValueError(f"previous code has shape {previous[-1].shape}, expected {shape}")
    return previous[-1]


def _last_signed(previous: Sequence[np.ndarray], shape: Shape) -> np.ndarray | None:
    """``s(L)`` (int8, 0 where stopped) of the previous iteration ``L``, or ``None``."""
    last = _last_code(previous, shape)
    return None if last is None else signed(last)


class ContextCoder(Coder):
    """Coder 2: per-bit probabilities from a logistic model sent in the payload, coded with rANS."""

    id = spec.CODER_CONTEXT
    name = "context"
    uses_history = True

    def encode(self, bits: np.ndarray, previous: Sequence[np.ndarray]) -> bytes:
        import numpy as np

        head, active = self._stop_symbols(bits, previous)
        last_signed = _last_signed(previous, bits.shape)
        padded = signed_padded(bits)
        places = bits.shape[1] * bits.shape[2] if active is None else int(active.sum())
        plan, cost = None, 1 + bits.shape[0] * places  # without a model: a flag, then a bit per bit
        for window in windows(bits.shape, places):
            weights = fit_weights(bits, padded, last_signed, window, active)
            candidate = _symbols(bits, weights, padded, last_signed, active)
            candidate_cost = _ideal_bits(*candidate)
            if candidate_cost < cost:
                plan, cost = candidate, candidate_cost
        symbols, probabilities = plan or _symbols(bits, None, padded, last_signed, active)
        if len(head[0]):
            symbols = np.concatenate([head[0].astype(np.int32), symbols])
            probabilities = np.concatenate([_probability_of_one(head[1]), probabilities])
        return ans_payload(symbols, probabilities)

    def decode(self, payload: bytes, shape: Shape, previous: Sequence[np.ndarray]) -> np.ndarray:
        import numpy as np

        last = _last_code(previous, shape)
        stream, read = open_stream(payload, self.max_payload_bytes(shape))

        active = self._read_stops(weighted(read), previous)
        weights = read_weights(weighted(read), shape[0], last is not None)
        bits = np.zeros(shape, dtype=np.uint8)
        if active is not None:
            bits[:, ~active] = spec.STOPPED
        if weights is None:
            _decode_flat(read, stream.is_empty, bits, active)
        else:
            _decode_bits(read, stream.is_empty, weights, bits, last, active)
        if stream.num_words():  # the state is not 0, or words were never read
            raise ValueError("payload does not end where the code does (data left over)")
        return bits

    def max_payload_bytes(self, shape: Shape) -> int:
        return max_payload_bytes(shape)

    def _stop_symbols(self, bits: np.ndarray, previous: Sequence[np.ndarray]) -> tuple[tuple, np.ndarray | None]:
        """The symbols before the model's (and their ``m``), and the map of the blocks with bits
        (``None``: all of them).  Coder 2 has neither; coder 3 (:mod:`.adaptive`) its stops."""
        import numpy as np

        return (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)), None

    def _read_stops(self, read, previous: Sequence[np.ndarray]) -> np.ndarray | None:
        """What :meth:`_stop_symbols` wrote, read back with ``read(m)``: the map of the blocks with bits."""
        return None


def weighted(read):
    """``read`` taking the weights of a 0, ``m`` (out of 2²⁴), instead of probabilities of a 1."""
    return lambda weights_of_zero: read(_probability_of_one(weights_of_zero))


def open_stream(payload: bytes, cap: int):
    """The rANS stream of ``payload`` (``ValueError`` if not whole words within ``cap`` bytes, or if
    its last word is 0) and ``read(probabilities of a 1)``, which decodes the next symbols."""
    import constriction
    import numpy as np

    if len(payload) % 4 or len(payload) > cap:
        raise ValueError(f"payload of {len(payload)} bytes is not whole 32-bit words within the {cap}-byte cap")
    try:
        stream = constriction.stream.stack.AnsCoder(np.frombuffer(payload, dtype="<u4").astype(np.uint32))
    except ValueError:
        raise ValueError("payload ends in a zero word") from None
    bernoulli = _bernoulli()

    def read(probabilities: np.ndarray) -> np.ndarray:
        """The next symbols, one per probability of a 1."""
        if not len(probabilities):
            return np.zeros(0, dtype=np.int32)
        return stream.decode(bernoulli, probabilities)

    return stream, read


def _symbols(bits: np.ndarray, weights: Weights | None, padded: np.ndarray, last_signed: np.ndarray | None,
             active: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The model's and the code's symbols (int32) and constriction's probability that each is 1;
    the code's bits at the ``active`` places only (``None``: all).

    Memory: the two arrays (12 bytes a bit) and one channel's logits."""
    import numpy as np

    head, weights_of_zero = weight_symbols(weights)
    start = sum(len(part) for part in head)
    coded = bits.size if active is None else bits.shape[0] * int(active.sum())
    symbols = np.empty(start + coded, dtype=np.int32)
    probabilities = np.empty(start + coded, dtype=np.float64)
    symbols[:start] = np.concatenate(head)
    probabilities[:start] = _probability_of_one(np.concatenate(weights_of_zero))
    if weights is None:
        symbols[start:] = (bits if active is None else bits[:, active]).ravel()
        probabilities[start:] = 0.5
        return symbols, probabilities
    table, bound = probability_table(bits.shape[0]), logit_bound(bits.shape[0])
    spatial = spatial_sums(padded)
    for c in range(bits.shape[0]):
        index = weights.channel_logits(c, padded, spatial, last_signed) + np.int32(bound)
        for phase in range(len(PHASES)):
            group, logits = phase_grid(bits[c], phase), phase_grid(index, phase)
            if active is not None:
                where = phase_grid(active, phase)
                group, logits = group[where], logits[where]
            stop = start + group.size
            symbols[start:stop] = group.ravel()
            probabilities[start:stop] = table[logits.ravel()]
            start = stop
    return symbols, probabilities


def _ideal_bits(symbols: np.ndarray, probabilities: np.ndarray) -> float:
    """The information content of ``symbols``: about the size of their payload, in bits (summed
    in strips, so its temporaries stay small)."""
    import numpy as np

    total = 0.0
    for start in range(0, len(symbols), STRIP_SYMBOLS):
        p, s = probabilities[start:start + STRIP_SYMBOLS], symbols[start:start + STRIP_SYMBOLS]
        total += float(-np.log2(np.where(s == 1, p, 1 - p)).sum())
    return total


def _decode_flat(read, exhausted, bits: np.ndarray, active: np.ndarray | None) -> None:
    """Decode the code's bits sent without a model (probability ½ each) into ``bits`` (zeros, and
    ``STOPPED`` off ``active``), in C order, at most :data:`STRIP_SYMBOLS` a call."""
    import numpy as np

    channels = bits.shape[0]
    places = np.arange(bits[0].size) if active is None else np.flatnonzero(active)
    planes = bits.reshape(channels, -1)
    for c in range(channels):
        for start in range(0, len(places), STRIP_SYMBOLS):
            if exhausted():  # the rest decodes as zeros (SPEC.md §7.2)
                return
            where = places[start:start + STRIP_SYMBOLS]
            planes[c, where] = read(np.full(len(where), 0.5))


def _decode_bits(read, exhausted, weights: Weights, bits: np.ndarray, last: np.ndarray | None,
                 active: np.ndarray | None = None) -> None:
    """Decode the code's bits into ``bits`` (zeros, and ``STOPPED`` off ``active``), group by
    group, each group in strips of whole rows of at most :data:`STRIP_SYMBOLS` places, with
    ``read(probabilities of a 1)``.

    Working memory is a few strips, whatever the code's size: logits are computed from ``bits``
    and ``last`` (the previous iteration's code) strip by strip, in exact int32 arithmetic.  Once
    the stream is ``exhausted()`` (state 0, no words left) every symbol left decodes as a 0, which
    ``bits`` already holds, so decoding stops there: an empty payload costs nothing but the zeros.
    """
    import numpy as np

    channels, rows, cols = bits.shape
    table, bound = probability_table(channels), logit_bound(channels)
    for c in range(channels):
        row = weights.table[c]
        cross = [(j, int(row[CROSS + j])) for j in range(max(c - weights.window, 0), c) if row[CROSS + j]]
        constant = int(row[BIAS]) - sum(w for _, w in cross) + bound  # s(b) = 2b − 1
        spatial, previous = int(row[SPATIAL]), int(row[PREVIOUS]) if last is not None else 0
        for row0, col0, offsets in PHASES:
            width = len(range(col0, cols, 2))
            step = 2 * max(1, STRIP_SYMBOLS // max(width, 1))
            for top in range(row0, rows, step) if width else ():
                if exhausted():
                    return
                place = (slice(top, min(top + step, rows), 2), slice(col0, None, 2))
                index = np.full(bits[c][place].shape, constant, dtype=np.int32)
                for j, w in cross:
                    index += bits[j][place] * np.int32(2 * w)
                if spatial:
                    index += spatial * _strip_spatial_sum(bits[c], place, offsets)
                if previous:
                    index += np.int32(previous) * signed(last[c][place], "int32")
                if active is None:
                    bits[c][place] = read(table[index].ravel()).reshape(index.shape)
                else:  # a stopped place's index is never looked up (its values are not 0 or 1)
                    where = active[place]
                    bits[c][place][where] = read(table[index[where]])


def _strip_spatial_sum(plane: np.ndarray, place: tuple[slice, slice], offsets) -> np.ndarray:
    """``S`` (int32) at the places ``plane[place]`` (a strip of one phase): the signed sum of their
    neighbours at ``offsets`` inside the grid, all from earlier phases."""
    import numpy as np

    total = np.zeros(plane[place].shape, dtype=np.int32)
    for dy, dx in offsets:
        target, source = zip(*(_shifted(axis, delta, size) for axis, delta, size in zip(place, (dy, dx), plane.shape)))
        if all(t.stop > t.start for t in target):
            total[target] += signed(plane[source], "int32")
    return total


def _shifted(axis: slice, delta: int, size: int) -> tuple[slice, slice]:
    """For the positions ``range(size)[axis]`` (step 2): the slice of those whose neighbour at
    ``delta`` is inside ``0 … size−1``, and the slice of those neighbours."""
    positions = range(size)[axis]
    first = 1 if positions and positions[0] + delta < 0 else 0
    stop = len(positions) - (1 if positions and positions[-1] + delta >= size else 0)
    if stop <= first:
        return slice(0, 0), slice(0, 0)
    return slice(first, stop), slice(positions[first] + delta, positions[stop - 1] + delta + 1, 2)


def ans_payload(symbols: np.ndarray, probabilities: np.ndarray) -> bytes:
    """The rANS payload of binary ``symbols``, each with its probability of a 1 (little-endian words)."""
    import constriction

    coder = constriction.stream.stack.AnsCoder()
    coder.encode_reverse(symbols, _bernoulli(), probabilities)
    return coder.get_compressed().astype("<u4").tobytes()


def _bernoulli():
    """constriction's Bernoulli model family, with the "fast" (not "perfect") quantisation."""
    import constriction

    return constriction.stream.model.Bernoulli(perfect=False)
