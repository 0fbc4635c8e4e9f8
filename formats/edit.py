"""Byte-level truncation: keep the first k iterations of a file without re-encoding anything.

``truncate(source, iterations=k)`` gives the signature, the RHDR with ``iterations = k`` (CRC
recomputed), the ancillary chunks, the first k RITR chunks copied byte for byte, and REND — the
same bytes a writer produces when given only the first k iterations.  Unknown ancillary chunks
that are not safe to copy (PNG's rule: bit 5 of the type's last byte clear) are dropped, since
the header they may depend on changes.
"""

from __future__ import annotations

import io
from typing import BinaryIO

from . import spec
from .chunks import is_safe_to_copy, pack_chunk
from .errors import TruncatedFileError
from .limits import Limits
from .parser import EndEvent, HeaderEvent, IterationEvent, StreamReader
from .reader import Source, parse_source

__all__ = ["truncate", "truncate_to"]


def truncate_to(
    source: Source,
    fileobj: BinaryIO,
    iterations: int,
    *,
    strict: bool = True,
    limits: Limits | None = None,
) -> int:
    """Write ``source`` cut to its first ``iterations`` iterations to ``fileobj``, chunk by chunk.

    The whole source is checked as it streams through (one chunk in memory at a time); on an
    error, ``fileobj`` holds a partial file, so write to a temporary file and rename it.

    Args:
        source: bytes, a path or a binary file object.
        fileobj: a writable binary file object.
        iterations: how many iterations to keep, from 0 to the number in the file.
        strict: with ``False``, a cut source is accepted if it holds ``iterations`` whole ones.
        limits: caps on declared sizes.

    Returns:
        The number of bytes written.

    Raises:
        ValueError: ``iterations`` is negative or more than the header declares.
        TruncatedFileError: the source (read leniently) has fewer whole iterations than asked.
        RNCError: any other problem with the source.
    """
    if iterations < 0:
        raise ValueError(f"cannot keep {iterations} iterations")
    reader = StreamReader(strict=strict, limits=limits)
    written = 0
    for event in parse_source(source, reader):
        if isinstance(event, HeaderEvent):
            if iterations > event.header.iterations:
                raise ValueError(
                    f"cannot keep {iterations} iterations: the file has {event.header.iterations}"
                )
            header = event.header.replace(iterations=iterations)
            data = spec.SIGNATURE + pack_chunk(spec.CHUNK_HEADER, header.to_bytes())
        elif isinstance(event, IterationEvent):
            data = event.chunk.to_bytes() if event.index <= iterations else b""
        elif isinstance(event, EndEvent):
            data = event.chunk.to_bytes()
        else:
            data = event.chunk.to_bytes() if is_safe_to_copy(event.chunk.type) else b""
        fileobj.write(data)
        written += len(data)
    if not reader.ended:  # lenient reading of a cut file
        if reader.complete_iterations < iterations:
            raise TruncatedFileError(reader.received, reader.complete_iterations)
        end = pack_chunk(spec.CHUNK_END, b"")
        fileobj.write(end)
        written += len(end)
    return written


def truncate(
    source: Source, iterations: int, *, strict: bool = True, limits: Limits | None = None
) -> bytes:
    """The bytes of ``source`` cut to its first ``iterations`` iterations (see :func:`truncate_to`)."""
    out = io.BytesIO()
    truncate_to(source, out, iterations, strict=strict, limits=limits)
    return out.getvalue()
