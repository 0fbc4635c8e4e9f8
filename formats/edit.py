"""Byte-level truncation: keep the first k iterations of a file without re-encoding anything.

``truncate(source, iterations=k)`` gives the signature, the RHDR with ``iterations = k`` (CRC
recomputed), the ancillary chunks, the first k RITR chunks copied byte for byte, and REND — the
same bytes a writer produces when given only the first k iterations.  Unknown ancillary chunks
that are not safe to copy (PNG's rule: bit 5 of the type's last byte clear) are dropped, since
the header they may depend on changes.

``truncation_sizes(source)`` gives the size of that file for every k (one pass, nothing written),
and ``iterations_within(source, max_bytes)`` the most iterations whose file fits a byte budget.
"""

from __future__ import annotations

import io
from typing import BinaryIO

from . import spec
from .chunks import is_safe_to_copy, pack_chunk
from .errors import TruncatedFileError, UnreachableTargetError
from .limits import Limits
from .parser import EndEvent, Event, HeaderEvent, IterationEvent, StreamReader
from .reader import Source, parse_source

__all__ = ["truncate", "truncate_to", "truncation_sizes", "iterations_within"]

_END = pack_chunk(spec.CHUNK_END, b"")


def _kept(event: Event, iterations: int) -> bytes:
    """The bytes ``event``'s chunk contributes to the file cut to ``iterations`` iterations."""
    if isinstance(event, HeaderEvent):
        header = event.header.replace(iterations=iterations)
        return spec.SIGNATURE + pack_chunk(spec.CHUNK_HEADER, header.to_bytes())
    if isinstance(event, IterationEvent):
        return event.chunk.to_bytes() if event.index <= iterations else b""
    if isinstance(event, EndEvent):
        return event.chunk.to_bytes()
    return event.chunk.to_bytes() if is_safe_to_copy(event.chunk.type) else b""


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
        if isinstance(event, HeaderEvent) and iterations > event.header.iterations:
            raise ValueError(f"cannot keep {iterations} iterations: the file has {event.header.iterations}")
        data = _kept(event, iterations)
        fileobj.write(data)
        written += len(data)
    if not reader.ended:  # lenient reading of a cut file
        if reader.complete_iterations < iterations:
            raise TruncatedFileError(reader.received, reader.complete_iterations)
        fileobj.write(_END)
        written += len(_END)
    return written


def truncate(
    source: Source, iterations: int, *, strict: bool = True, limits: Limits | None = None
) -> bytes:
    """The bytes of ``source`` cut to its first ``iterations`` iterations (see :func:`truncate_to`)."""
    out = io.BytesIO()
    truncate_to(source, out, iterations, strict=strict, limits=limits)
    return out.getvalue()


def truncation_sizes(source: Source, *, strict: bool = True, limits: Limits | None = None) -> list[int]:
    """The byte size of ``truncate(source, k)`` for every k from 0 to the iterations present.

    One pass over ``source`` (one chunk in memory at a time), nothing written.  Sizes strictly
    increase with k: each iteration adds one chunk.

    Raises:
        RNCError: a problem with the source (as :func:`truncate_to`).
    """
    reader = StreamReader(strict=strict, limits=limits)
    fixed, per_iteration = 0, []
    for event in parse_source(source, reader):
        if isinstance(event, IterationEvent):
            per_iteration.append(event.chunk.size)
        else:  # the header chunk's size does not depend on its iteration count
            fixed += len(_kept(event, 0))
    if not reader.ended:
        fixed += len(_END)
    sizes = [fixed]
    for size in per_iteration:
        sizes.append(sizes[-1] + size)
    return sizes


def iterations_within(source: Source, max_bytes: int, *, strict: bool = True, limits: Limits | None = None) -> int:
    """The most iterations (at least one) whose truncated file is at most ``max_bytes`` bytes.

    Raises:
        UnreachableTargetError: one iteration is over ``max_bytes`` (``.smallest`` holds its
            size), or the file has no iteration (``.smallest`` is ``None``).
        RNCError: a problem with the source.
    """
    sizes = truncation_sizes(source, strict=strict, limits=limits)
    if len(sizes) < 2:
        raise UnreachableTargetError("the file has no iteration to keep", smallest=None)
    fitting = sum(1 for size in sizes[1:] if size <= max_bytes)
    if fitting == 0:
        raise UnreachableTargetError(
            f"{max_bytes:,} bytes is below the smallest file, {sizes[1]:,} bytes (1 iteration)", smallest=sizes[1])
    return fitting
