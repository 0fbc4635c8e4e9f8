"""Coder 3, ``adaptive``: coder 2 with blocks that stop (spatially adaptive iterations, SPEC.md §7.3).

Its payload is coder 2's rANS stream (:mod:`.coder`) preceded, from iteration 2 on, by the stop
decisions of the blocks still active at *t*−1 (:mod:`.stops`); the model's symbols and the code's
bits then cover the active blocks only, and a stopped place counts ``s = 0`` wherever coder 2
reads a neighbour or the previous iteration.  A code without ``STOPPED`` values costs what coder
2's does plus its decisions (all 0, a few bits an iteration).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ... import spec
from ..base import Shape
from .coder import ContextCoder, max_payload_bytes, open_stream, weighted
from .stops import active_blocks, check_stops, read_stops, stop_symbols

if TYPE_CHECKING:
    import numpy as np

__all__ = ["AdaptiveCoder"]


class AdaptiveCoder(ContextCoder):
    """Coder 3: coder 2 over the blocks still active, after the iteration's stop decisions."""

    id = spec.CODER_ADAPTIVE
    name = "adaptive"
    codes_stops = True

    def max_payload_bytes(self, shape: Shape) -> int:
        """Coder 2's cap for ``shape``, with a decision for every block."""
        return max_payload_bytes(shape, decisions=shape[1] * shape[2])

    def _stop_symbols(self, bits: np.ndarray, previous: Sequence[np.ndarray]):
        import numpy as np

        last = previous[-1] if previous else None
        active = check_stops(bits, last)
        if last is None:
            return (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)), None
        head = stop_symbols(active, active_blocks(last))
        return head, None if active.all() else active

    def _read_stops(self, read, previous: Sequence[np.ndarray]) -> np.ndarray | None:
        if not previous:
            return None
        active = read_stops(read, active_blocks(previous[-1]))
        return None if active.all() else active

    def active_map(self, payload: bytes, shape: Shape, last_active: np.ndarray | None) -> np.ndarray:
        """The blocks with bits, from the payload's stop decisions alone (the rest is not decoded)."""
        if last_active is None:
            return super().active_map(payload, shape, None)
        _, read = open_stream(payload, self.max_payload_bytes(shape))
        return read_stops(weighted(read), last_active)
