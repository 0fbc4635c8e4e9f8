"""The coder interface: how one iteration's code tensor becomes the data of its RITR chunk.

A coder turns a ``{0,1}`` ``uint8`` array of shape ``(bits_per_block, grid_h, grid_w)`` (and, for a
coder with :attr:`Coder.codes_stops`, ``STOPPED`` over whole blocks) into bytes
and back.  Both directions receive the earlier iterations' bit arrays (``previous``), so a
context-adaptive coder that predicts iteration *t* from iterations 1…t−1 fits the same interface.
Coders raise :class:`ValueError` for a payload they cannot decode; the reader turns that into a
:class:`~rnncodec.formats.errors.CorruptChunkError` naming the chunk.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Sequence

from .. import spec

if TYPE_CHECKING:  # numpy is imported when a payload is coded, keeping ``rnc info`` fast
    import numpy as np

__all__ = ["Coder", "Shape", "packed_size"]

Shape = tuple[int, int, int]


def packed_size(shape: Shape) -> int:
    """Bytes of a code tensor of ``shape`` packed 8 bits to a byte: ``ceil(b·h·w / 8)``."""
    bits, rows, cols = shape
    return (bits * rows * cols + 7) // 8


class Coder(ABC):
    """One payload coder, identified in files by :attr:`id` and in the API by :attr:`name`.

    Attributes:
        id: the RHDR ``coder`` byte.
        name: the short name used by :class:`~rnncodec.formats.Header` and the CLI.
        uses_history: whether :meth:`encode`/:meth:`decode` read ``previous``; when false, the
            writer does not keep earlier iterations in memory.
        codes_stops: whether codes may hold ``STOPPED`` (blocks that sent no bits, SPEC.md §7.3);
            only such a coder's :meth:`decode` yields it.
    """

    id: int
    name: str
    uses_history: bool = False
    codes_stops: bool = False

    @abstractmethod
    def encode(self, bits: np.ndarray, previous: Sequence[np.ndarray]) -> bytes:
        """Payload bytes for ``bits`` (a checked ``{0,1}`` uint8 array of the code shape, with
        ``STOPPED`` blocks if :attr:`codes_stops`)."""

    @abstractmethod
    def decode(self, payload: bytes, shape: Shape, previous: Sequence[np.ndarray]) -> np.ndarray:
        """The ``{0,1}`` (``STOPPED`` too if :attr:`codes_stops`) uint8 array of ``shape`` coded in ``payload``; ``ValueError`` if invalid."""

    def active_map(self, payload: bytes, shape: Shape, last_active: np.ndarray | None) -> np.ndarray:
        """The ``(grid_h, grid_w)`` bool map of the blocks that hold bits in the iteration coded in
        ``payload``, given ``last_active`` (the previous iteration's map, ``None`` for the first),
        decoding no more of the payload than that takes; ``ValueError`` if it cannot tell.  Every
        block, for a coder without :attr:`codes_stops`."""
        import numpy as np

        return np.ones(shape[1:], dtype=bool)

    def max_payload_bytes(self, shape: Shape) -> int:
        """Largest payload a reader accepts for ``shape``; checked before the payload is read."""
        return packed_size(shape) + spec.ITERATION_PAYLOAD_SLACK
