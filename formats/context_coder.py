"""Coder 2, ``context``: context-adaptive binary entropy coding of a code tensor (SPEC.md §7.2).

The payload is one rANS stream of ``constriction`` (``stack.AnsCoder``: 32-bit words, 64-bit
state, 24-bit probabilities) with a Bernoulli model per symbol.  Its symbols are, in decoding
order: the channels' references (:class:`~.context_model.References`, flat bits of probability ½),
then the code's bits group by group, each with the probability of its context
(:mod:`.context_model`).  A group is one vectorised call of the coder: about 6–8 ms to encode or
decode one iteration of a 768×512 image.  Iteration *t* reads only iterations *t−1* and *t−2*, so
any prefix of iterations decodes.  ``numpy`` and ``constriction`` are imported when a payload is
coded, keeping ``import rnncodec.formats`` light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from . import spec
from .coders import Coder, Shape
from .context_model import Model, References, groups, phase_grid, signed_padded

if TYPE_CHECKING:
    import numpy as np

__all__ = ["ContextCoder", "max_payload_bytes"]

_ONE = 1 << spec.CONTEXT_PRECISION
_HALF = _ONE >> 1


def max_payload_bytes(shape: Shape) -> int:
    """Largest payload for ``shape``: 25 bits per code bit (every probability is ≥ 2⁻²⁴), the
    references (≤ 2 + 3·8 bits per channel) and the final state (8 bytes), in whole words."""
    bits, rows, cols = shape
    return 4 * -(-(25 * bits * rows * cols + 26 * bits + 64) // 32)


def _probability_of_one(weight_of_zero: np.ndarray) -> np.ndarray:
    """``1 − m/2²⁴`` as float64: exact, and quantised by constriction to exactly SPEC.md's weights."""
    import numpy as np

    return 1.0 - np.asarray(weight_of_zero, dtype=np.float64) / _ONE


def _check_previous(previous: Sequence[np.ndarray], shape: Shape) -> list[np.ndarray]:
    """The last two earlier iterations (all the coder reads), checked to have the code shape."""
    last = list(previous[-2:])
    for bits in last:
        if bits.shape != shape:
            raise ValueError(f"previous code has shape {bits.shape}, expected {shape}")
    return last


class ContextCoder(Coder):
    """Coder 2: adaptive per-bit probabilities from contexts, coded with rANS (SPEC.md §7.2)."""

    id = spec.CODER_CONTEXT
    name = "context"
    uses_history = True

    def encode(self, bits: np.ndarray, previous: Sequence[np.ndarray]) -> bytes:
        import constriction
        import numpy as np

        references = References.choose(bits)
        model = Model(bits.shape, _check_previous(previous, bits.shape), references)
        padded = signed_padded(bits)  # a group's contexts never read a later group's bits
        head = references.to_symbols()
        symbols, weights = [np.array(head, dtype=np.int32)], [np.full(len(head), _HALF)]
        for lo, hi, phase in groups(bits.shape[0]):
            contexts = model.contexts(padded, bits, lo, hi, phase)
            group_bits = phase_grid(bits, lo, hi, phase).ravel()
            weights.append(model.weights_of_zero(contexts))
            symbols.append(group_bits.astype(np.int32))
            model.update(contexts, group_bits)
        coder = constriction.stream.stack.AnsCoder()
        coder.encode_reverse(np.concatenate(symbols), _bernoulli(),
                             _probability_of_one(np.concatenate(weights)))
        return coder.get_compressed().astype("<u4").tobytes()

    def decode(self, payload: bytes, shape: Shape, previous: Sequence[np.ndarray]) -> np.ndarray:
        import constriction
        import numpy as np

        if len(payload) % 4 or len(payload) > max_payload_bytes(shape):
            raise ValueError(f"payload of {len(payload)} bytes is not whole 32-bit words within "
                             f"the {max_payload_bytes(shape)}-byte cap")
        last = _check_previous(previous, shape)
        try:
            coder = constriction.stream.stack.AnsCoder(np.frombuffer(payload, dtype="<u4").astype(np.uint32))
        except ValueError:
            raise ValueError("payload ends in a zero word") from None
        bernoulli = _bernoulli()

        def flat_bits(count: int) -> list[int]:
            return coder.decode(bernoulli, _probability_of_one(np.full(count, _HALF))).tolist() if count else []

        model = Model(shape, last, References.read(flat_bits, shape[0]))
        bits = np.zeros(shape, dtype=np.uint8)
        padded = signed_padded(bits)
        for lo, hi, phase in groups(shape[0]):
            contexts = model.contexts(padded, bits, lo, hi, phase)
            if not contexts.size:
                continue
            group_bits = coder.decode(bernoulli, _probability_of_one(model.weights_of_zero(contexts)))
            grid = phase_grid(bits, lo, hi, phase)
            grid[...] = group_bits.reshape(grid.shape)
            phase_grid(padded[:, 1:-1, 1:-1], lo, hi, phase)[...] = 2 * grid.astype(np.int8) - 1
            model.update(contexts, grid.ravel())
        if coder.num_words():  # the state is not 0, or words were never read
            raise ValueError("payload does not end where the code does (data left over)")
        return bits

    def max_payload_bytes(self, shape: Shape) -> int:
        return max_payload_bytes(shape)


def _bernoulli():
    """constriction's Bernoulli model family, with the "fast" (not "perfect") quantisation."""
    import constriction

    return constriction.stream.model.Bernoulli(perfect=False)
