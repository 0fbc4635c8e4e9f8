"""Reader limits: the largest declared sizes a reader accepts before it allocates anything."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

from . import spec
from .errors import LimitExceededError

if TYPE_CHECKING:
    from .header import Header

__all__ = ["Limits", "DEFAULT_LIMITS"]


@dataclass(frozen=True)
class Limits:
    """Caps a reader checks against declared sizes, before reading or allocating.

    The defaults take a 100-megapixel photo with 16 iterations of 32 bits per block, and never
    bind on a photo the encoder writes; they refuse files whose header alone asks for hours of
    work.  Pass a ``Limits`` with other
    values to :func:`~rnncodec.formats.read` (or :class:`~rnncodec.formats.StreamReader`) to
    accept larger files or to be stricter, e.g. on a server::

        Limits(max_pixels=4096 * 4096, max_iterations=16)

    Attributes:
        max_width, max_height: largest image side in pixels.
        max_pixels: largest ``width * height``.
        max_iterations: largest RHDR ``iterations`` (and the RITR indices tried when a CRC fails).
        max_metadata_bytes: largest mETa chunk.
        max_unknown_chunk_bytes: largest unknown ancillary chunk.
        max_ancillary_chunks: most ancillary chunks (known or not) in one file.
        max_code_bits: the work budget — code bits the header declares over all its iterations,
            ``bits_per_block · ceil(height/16) · ceil(width/16) · iterations``; a decoder's time
            and memory grow with it.
        min_tile_size: smallest tile side (``tile_size`` 0, no tiling, is always accepted).
    """

    max_width: int = spec.DEFAULT_MAX_WIDTH
    max_height: int = spec.DEFAULT_MAX_HEIGHT
    max_pixels: int = spec.DEFAULT_MAX_PIXELS
    max_iterations: int = spec.DEFAULT_MAX_ITERATIONS
    max_metadata_bytes: int = spec.DEFAULT_MAX_METADATA_BYTES
    max_unknown_chunk_bytes: int = spec.DEFAULT_MAX_UNKNOWN_CHUNK_BYTES
    max_ancillary_chunks: int = spec.DEFAULT_MAX_ANCILLARY_CHUNKS
    max_code_bits: int = spec.DEFAULT_MAX_CODE_BITS
    min_tile_size: int = spec.DEFAULT_MIN_TILE_SIZE

    def check(self, header: Header, *, offset: Optional[int] = None) -> None:
        """Raise :class:`LimitExceededError` if ``header`` asks for more than these limits allow.

        Readers call it on every RHDR (``offset``: the chunk's position); an encoder calls it before
        coding, so that it never writes a file a reader with these limits refuses.
        """

        def over(limit: str, value: int, maximum: int, below: bool = False) -> None:
            if value < maximum if below else value > maximum:
                raise LimitExceededError(limit, value, maximum, below=below, chunk_type=spec.CHUNK_HEADER,
                                         offset=offset)

        over("max_width", header.width, self.max_width)
        over("max_height", header.height, self.max_height)
        over("max_pixels", header.width * header.height, self.max_pixels)
        over("max_iterations", header.iterations, self.max_iterations)
        if header.tile_size:
            over("min_tile_size", header.tile_size, self.min_tile_size, below=True)
        over("max_code_bits", header.code_bits, self.max_code_bits)


DEFAULT_LIMITS = Limits()
