"""Reader limits: the largest declared sizes a reader accepts before it allocates anything."""

from __future__ import annotations

from dataclasses import dataclass

from . import spec

__all__ = ["Limits", "DEFAULT_LIMITS"]


@dataclass(frozen=True)
class Limits:
    """Caps a reader checks against declared sizes, before reading or allocating.

    The defaults take a 100-megapixel photo with 64 iterations.  Pass a ``Limits`` with other
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
    """

    max_width: int = spec.DEFAULT_MAX_WIDTH
    max_height: int = spec.DEFAULT_MAX_HEIGHT
    max_pixels: int = spec.DEFAULT_MAX_PIXELS
    max_iterations: int = spec.DEFAULT_MAX_ITERATIONS
    max_metadata_bytes: int = spec.DEFAULT_MAX_METADATA_BYTES
    max_unknown_chunk_bytes: int = spec.DEFAULT_MAX_UNKNOWN_CHUNK_BYTES
    max_ancillary_chunks: int = spec.DEFAULT_MAX_ANCILLARY_CHUNKS


DEFAULT_LIMITS = Limits()
