"""Payload coders: how one iteration's code tensor becomes the data of its RITR chunk.

A coder turns a ``{0,1}`` ``uint8`` array of shape ``(bits_per_block, grid_h, grid_w)`` into bytes
and back.  Both directions receive the earlier iterations' bit arrays (``previous``), so a
context-adaptive coder that predicts iteration *t* from iterations 1…t−1 fits the same interface:
register it under its RHDR id with :func:`register_coder` and the writer and reader use it with no
other change.  Coders raise :class:`ValueError` for a payload they cannot decode; the reader turns
that into a :class:`~rnncodec.formats.errors.CorruptChunkError` naming the chunk.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Sequence

import zstandard

from . import spec

if TYPE_CHECKING:  # numpy is imported when a payload is coded, keeping ``rnc info`` fast
    import numpy as np

__all__ = [
    "Coder",
    "RawCoder",
    "ZstdCoder",
    "register_coder",
    "get_coder",
    "coder_by_id",
    "coder_names",
    "packed_size",
]

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
    """

    id: int
    name: str
    uses_history: bool = False

    @abstractmethod
    def encode(self, bits: np.ndarray, previous: Sequence[np.ndarray]) -> bytes:
        """Payload bytes for ``bits`` (a checked ``{0,1}`` uint8 array of the code shape)."""

    @abstractmethod
    def decode(self, payload: bytes, shape: Shape, previous: Sequence[np.ndarray]) -> np.ndarray:
        """The ``{0,1}`` uint8 array of ``shape`` coded in ``payload``; ``ValueError`` if invalid."""

    def max_payload_bytes(self, shape: Shape) -> int:
        """Largest payload a reader accepts for ``shape``; checked before the payload is read."""
        return packed_size(shape) + spec.ITERATION_PAYLOAD_SLACK


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


class ZstdCoder(Coder):
    """Coder 1: one zstd frame (RFC 8878) of the raw coder's bytes.

    The frame must declare its content size, equal to the packed size; it is checked before
    decompressing, so a frame declaring a huge size (a decompression bomb) allocates nothing.
    """

    id = spec.CODER_ZSTD
    name = "zstd"
    #: Compression level the writer uses (any level decodes the same).
    level = 10

    def encode(self, bits: np.ndarray, previous: Sequence[np.ndarray]) -> bytes:
        raw = _RAW.encode(bits, previous)
        return zstandard.ZstdCompressor(level=self.level, write_content_size=True).compress(raw)

    def decode(self, payload: bytes, shape: Shape, previous: Sequence[np.ndarray]) -> np.ndarray:
        expected = packed_size(shape)
        if payload[:4] != spec.ZSTD_MAGIC:
            raise ValueError("payload is not a zstd frame (bad magic number)")
        try:
            params = zstandard.get_frame_parameters(payload)
        except zstandard.ZstdError as exc:
            raise ValueError(f"bad zstd frame header ({exc})") from None
        if params.content_size != expected:
            declared = "no size" if params.content_size == zstandard.CONTENTSIZE_UNKNOWN else (
                f"{params.content_size} bytes"
            )
            raise ValueError(f"zstd frame declares {declared}, expected {expected} bytes")
        if params.dict_id:
            raise ValueError(f"zstd frame needs dictionary {params.dict_id}")
        try:
            raw = zstandard.ZstdDecompressor().decompress(payload, allow_extra_data=False)
        except zstandard.ZstdError as exc:
            raise ValueError(f"zstd frame does not decode ({exc})") from None
        return _RAW.decode(raw, shape, previous)


_RAW = RawCoder()
_BY_ID: dict[int, Coder] = {}
_BY_NAME: dict[str, Coder] = {}


def register_coder(coder: Coder) -> Coder:
    """Add ``coder`` to the registry; a duplicate id or name raises :class:`ValueError`."""
    if not 0 <= coder.id <= 255:
        raise ValueError(f"coder id {coder.id} does not fit the RHDR coder byte")
    if coder.id in _BY_ID or coder.name in _BY_NAME:
        raise ValueError(f"coder id {coder.id} or name {coder.name!r} is already registered")
    _BY_ID[coder.id] = coder
    _BY_NAME[coder.name] = coder
    return coder


def get_coder(name: str) -> Coder:
    """The coder called ``name``; :class:`ValueError` listing the known names if none is."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ValueError(f"unknown coder {name!r}; known: {', '.join(coder_names())}") from None


def coder_by_id(coder_id: int) -> Coder | None:
    """The coder with RHDR id ``coder_id``, or ``None``."""
    return _BY_ID.get(coder_id)


def coder_names() -> list[str]:
    """Registered coder names, in id order."""
    return [_BY_ID[i].name for i in sorted(_BY_ID)]


register_coder(_RAW)
register_coder(ZstdCoder())

from .context_coder import ContextCoder  # noqa: E402 (it subclasses Coder, defined above)

register_coder(ContextCoder())
