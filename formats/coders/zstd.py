"""Coder 1, ``zstd``: the raw coder's bytes in one zstd frame (SPEC.md §7.1).

zstd comes from the standard library's ``compression.zstd`` (Python 3.14+) or its backport,
``backports.zstd``: one small binding, where the ``zstandard`` package ships two 12 MB ones.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Sequence

if sys.version_info >= (3, 14):
    from compression import zstd
else:
    from backports import zstd

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
        return zstd.compress(raw, level=self.level)  # one-shot: the frame declares its content size

    def decode(self, payload: bytes, shape: Shape, previous: Sequence[np.ndarray]) -> np.ndarray:
        expected = packed_size(shape)
        if payload[:4] != spec.ZSTD_MAGIC:
            raise ValueError("payload is not a zstd frame (bad magic number)")
        try:
            frame = zstd.get_frame_info(payload)
        except zstd.ZstdError:
            raise ValueError("bad zstd frame header (truncated or invalid)") from None
        if frame.decompressed_size != expected:
            declared = "no size" if frame.decompressed_size is None else f"{frame.decompressed_size} bytes"
            raise ValueError(f"zstd frame declares {declared}, expected {expected} bytes")
        if frame.dictionary_id:
            raise ValueError(f"zstd frame needs dictionary {frame.dictionary_id}")
        decompressor = zstd.ZstdDecompressor()
        try:
            raw = decompressor.decompress(payload, max_length=expected)
        except zstd.ZstdError as exc:
            raise ValueError(f"zstd frame does not decode ({exc})") from None
        if not decompressor.eof or decompressor.unused_data or len(raw) != expected:
            raise ValueError("zstd frame does not decode (truncated, or data after the frame)")
        return _RAW.decode(raw, shape, previous)


_RAW = RawCoder()
