"""Coder 1, ``zstd``: the raw coder's bytes in one zstd frame (SPEC.md §7.1)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import zstandard

from .. import spec
from .base import Coder, Shape, packed_size
from .raw import RawCoder

if TYPE_CHECKING:
    import numpy as np

__all__ = ["ZstdCoder"]


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
