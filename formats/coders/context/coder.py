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

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ... import spec
from ..base import Coder, Shape
from .fit import fit_weights, windows
from .model import (CROSS, CROSS_CHANNELS, PHASES, SPATIAL, Weights, logit_bound, phase_grid,
                            probability_table, signed_padded, spatial_sum)
from .weights import WINDOW_BITS, read_weights, weight_symbols

if TYPE_CHECKING:
    import numpy as np

__all__ = ["ContextCoder", "max_payload_bytes"]


def max_payload_bytes(shape: Shape) -> int:
    """Largest payload for ``shape``: 25 bits per symbol (every probability is ≥ 2⁻²⁴) — the
    code's bits, the flag, the window and the bits of the most weights — and the final state
    (8 bytes), in whole words."""
    bits, rows, cols = shape
    weight_bits = spec.CONTEXT_WEIGHT_BITS * sum(CROSS + min(c, CROSS_CHANNELS) for c in range(bits))
    return 4 * -(-(25 * (bits * rows * cols + 1 + WINDOW_BITS + weight_bits) + 64) // 32)


def _probability_of_one(weight_of_zero: np.ndarray) -> np.ndarray:
    """``1 − m/2²⁴`` as float64: exact, and quantised by constriction to exactly SPEC.md's weights."""
    import numpy as np

    return 1.0 - np.asarray(weight_of_zero, dtype=np.float64) / (1 << spec.CONTEXT_PRECISION)


def _last_signed(previous: Sequence[np.ndarray], shape: Shape) -> np.ndarray | None:
    """``2L − 1`` (int8) of the previous iteration ``L`` (all the coder reads), or ``None``."""
    import numpy as np

    if not previous:
        return None
    if previous[-1].shape != shape:
        raise ValueError(f"previous code has shape {previous[-1].shape}, expected {shape}")
    return 2 * previous[-1].astype(np.int8) - 1


class ContextCoder(Coder):
    """Coder 2: per-bit probabilities from a logistic model sent in the payload, coded with rANS."""

    id = spec.CODER_CONTEXT
    name = "context"
    uses_history = True

    def encode(self, bits: np.ndarray, previous: Sequence[np.ndarray]) -> bytes:
        last_signed = _last_signed(previous, bits.shape)
        padded = signed_padded(bits)
        plan, cost = None, 1 + bits.size  # without a model: a flag, then a bit per bit
        for window in windows(bits.shape):
            candidate = _symbols(bits, fit_weights(bits, padded, last_signed, window), padded, last_signed)
            candidate_cost = _ideal_bits(*candidate)
            if candidate_cost < cost:
                plan, cost = candidate, candidate_cost
        return ans_payload(*(plan or _symbols(bits, None, padded, last_signed)))

    def decode(self, payload: bytes, shape: Shape, previous: Sequence[np.ndarray]) -> np.ndarray:
        import constriction
        import numpy as np

        if len(payload) % 4 or len(payload) > max_payload_bytes(shape):
            raise ValueError(f"payload of {len(payload)} bytes is not whole 32-bit words within "
                             f"the {max_payload_bytes(shape)}-byte cap")
        last_signed = _last_signed(previous, shape)
        try:
            coder = constriction.stream.stack.AnsCoder(np.frombuffer(payload, dtype="<u4").astype(np.uint32))
        except ValueError:
            raise ValueError("payload ends in a zero word") from None
        bernoulli = _bernoulli()

        def read(probabilities: np.ndarray) -> np.ndarray:
            """The next symbols, one per probability of a 1."""
            if not len(probabilities):
                return np.zeros(0, dtype=np.int32)
            return coder.decode(bernoulli, probabilities)

        weights = read_weights(lambda m: read(_probability_of_one(m)), shape[0], last_signed is not None)
        if weights is None:
            bits = read(np.full(math.prod(shape), 0.5)).astype(np.uint8).reshape(shape)
        else:
            bits = _decode_bits(read, weights, shape, last_signed)
        if coder.num_words():  # the state is not 0, or words were never read
            raise ValueError("payload does not end where the code does (data left over)")
        return bits

    def max_payload_bytes(self, shape: Shape) -> int:
        return max_payload_bytes(shape)


def _symbols(bits: np.ndarray, weights: Weights | None, padded: np.ndarray,
             last_signed: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Every symbol of the payload (int32) and constriction's probability that it is 1."""
    import numpy as np

    symbols, weights_of_zero = weight_symbols(weights)
    probabilities = [_probability_of_one(np.concatenate(weights_of_zero))]
    if weights is None:
        symbols.append(bits.ravel())
        probabilities.append(np.full(bits.size, 0.5))
    else:
        index = weights.all_logits(padded, last_signed).astype(np.intp) + logit_bound(bits.shape[0])
        table = probability_table(bits.shape[0])
        for c in range(bits.shape[0]):
            for phase in range(len(PHASES)):
                symbols.append(phase_grid(bits[c], phase).ravel())
                probabilities.append(table[phase_grid(index[c], phase)].ravel())
    return np.concatenate(symbols).astype(np.int32), np.concatenate(probabilities)


def _ideal_bits(symbols: np.ndarray, probabilities: np.ndarray) -> float:
    """The information content of ``symbols``: about the size of their payload, in bits."""
    import numpy as np

    return float(-np.log2(np.where(symbols == 1, probabilities, 1 - probabilities)).sum())


def _decode_bits(read, weights: Weights, shape: Shape, last_signed: np.ndarray | None) -> np.ndarray:
    """The code's bits, group by group, with ``read(probabilities of a 1)``."""
    import numpy as np

    bits = np.zeros(shape, dtype=np.uint8)
    padded = signed_padded(bits)  # int8, for S
    signed = np.zeros(shape)  # float64, for the products
    table, bound = probability_table(shape[0]), logit_bound(shape[0])
    for c in range(shape[0]):
        base = weights.base_logits(signed, last_signed, c) + bound
        spatial = weights.table[c, SPATIAL]
        for phase in range(len(PHASES)):
            index = phase_grid(base, phase).astype(np.intp)
            if not index.size:
                continue
            if spatial:
                index += spatial * spatial_sum(padded, c, phase)
            grid = phase_grid(bits[c], phase)
            grid[...] = read(table[index].ravel()).reshape(grid.shape)
            value = 2 * grid.astype(np.int8) - 1
            phase_grid(padded[c, 1:-1, 1:-1], phase)[...] = value
            phase_grid(signed[c], phase)[...] = value
    return bits


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
