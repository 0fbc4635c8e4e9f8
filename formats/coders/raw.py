"""Coder 0, ``raw``: the bits packed 8 to a byte (SPEC.md §7.1)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from .. import spec
from .base import Coder, Shape, packed_size

if TYPE_CHECKING:
    import numpy as np

__all__ = ["RawCoder"]


class RawCoder(Coder):
    """Coder 0: the bits packed in C order, most significant bit first (``np.packbits``)."""

    id = spec.CODER_RAW
    name = "raw"

    def encode(self, bits: np.ndarray, previous: Sequence[np.ndarray]) -> bytes:
        import numpy as np

        return np.packbits(bits, axis=None).tobytes()

    def decode(self, payload: bytes, shape: Shape, previous: Sequence[np.ndarray]) -> np.ndarray:
        import numpy as np

        expected = packed_size(shape)
        if len(payload) != expected:
            raise ValueError(f"payload has {len(payload)} bytes, expected {expected}")
        count = shape[0] * shape[1] * shape[2]
        packed = np.frombuffer(payload, dtype=np.uint8)
        if count % 8 and packed[-1] & (0xFF >> (count % 8)):
            raise ValueError("padding bits of the last payload byte are not zero")
        return np.unpackbits(packed, count=count).reshape(shape)

    def max_payload_bytes(self, shape: Shape) -> int:
        return packed_size(shape)
