"""Chunk framing: ``length:u32be | type:4 letters | data | crc:u32be``, as in PNG.

The CRC is CRC-32 (zlib) over ``type ‖ data``; for RITR chunks it is over
``type ‖ u16be(iteration index) ‖ data`` (the index is covered but not stored).  Bit 5 of each
type byte carries PNG's meaning: ancillary, private, reserved, safe-to-copy.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from . import spec

__all__ = ["Chunk", "chunk_crc", "pack_chunk", "is_valid_type", "is_ancillary", "is_safe_to_copy"]

_LENGTH = struct.Struct(">I")
_INDEX = struct.Struct(">H")


def is_valid_type(chunk_type: bytes) -> bool:
    """Four ASCII letters (A–Z, a–z)."""
    return len(chunk_type) == 4 and all(65 <= b <= 90 or 97 <= b <= 122 for b in chunk_type)


def is_ancillary(chunk_type: bytes) -> bool:
    """Bit 5 of the first byte: a reader that does not know the chunk may skip it."""
    return bool(chunk_type[0] & 0x20)


def is_safe_to_copy(chunk_type: bytes) -> bool:
    """Bit 5 of the fourth byte: an editor that changes critical chunks may keep the chunk."""
    return bool(chunk_type[3] & 0x20)


def chunk_crc(chunk_type: bytes, data: bytes, index: int | None = None) -> int:
    """CRC-32 of a chunk; ``index`` (1-based) is mixed in for RITR chunks."""
    crc = zlib.crc32(chunk_type)
    if index is not None:
        crc = zlib.crc32(_INDEX.pack(index), crc)
    return zlib.crc32(data, crc)


def pack_chunk(chunk_type: bytes, data: bytes, index: int | None = None) -> bytes:
    """The framed bytes of one chunk."""
    return (
        _LENGTH.pack(len(data)) + chunk_type + data + _LENGTH.pack(chunk_crc(chunk_type, data, index))
    )


@dataclass(frozen=True)
class Chunk:
    """One chunk as read from a file.

    Attributes:
        type: the 4-byte chunk type.
        data: the chunk data (for RITR, the iteration payload).
        crc: the stored (verified) CRC.
        offset: byte offset of the chunk's length field in the file.
    """

    type: bytes
    data: bytes
    crc: int
    offset: int

    @property
    def size(self) -> int:
        """Bytes the chunk takes in the file, framing included."""
        return len(self.data) + spec.CHUNK_FRAMING_BYTES

    @property
    def end(self) -> int:
        """Byte offset just after the chunk: the bytes a reader must have to hold it whole."""
        return self.offset + self.size

    def to_bytes(self) -> bytes:
        """The chunk exactly as it was in the file."""
        return _LENGTH.pack(len(self.data)) + self.type + self.data + _LENGTH.pack(self.crc)
