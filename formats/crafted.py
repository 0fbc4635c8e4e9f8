"""Crafted files for hostile-input tests and benchmarks (informative; not used by readers or writers).

:func:`empty_iterations` writes a *valid* file whose iterations carry no payload at all: with the
context coder (§7.2) an empty payload is the coding of an all-zero code, so a file of a few hundred
bytes declares as much work as its header says — the shape of the "decoding bomb" a reader must
bound by its header (``Limits``), not by its length.  Other coders refuse an empty payload.
:func:`crafted_iterations` puts any payload in every iteration (e.g. one context-coder word whose
state never reaches 0: the decoder reads every declared symbol before it can refuse it).
"""

from __future__ import annotations

from . import spec
from .chunks import pack_chunk
from .header import Header

__all__ = ["empty_iterations", "crafted_iterations"]


def empty_iterations(header: Header, iterations: int | None = None) -> bytes:
    """Signature, RHDR, ``iterations`` (default: the header's) empty RITR chunks, and REND when
    every declared iteration is there."""
    return crafted_iterations(header, b"", iterations)


def crafted_iterations(header: Header, payload: bytes, iterations: int | None = None) -> bytes:
    """Signature, RHDR, ``iterations`` (default: the header's) RITR chunks each carrying
    ``payload``, and REND when every declared iteration is there."""
    count = header.iterations if iterations is None else iterations
    parts = [spec.SIGNATURE, pack_chunk(spec.CHUNK_HEADER, header.to_bytes())]
    parts += [pack_chunk(spec.CHUNK_ITERATION, payload, index) for index in range(1, count + 1)]
    if count == header.iterations:
        parts.append(pack_chunk(spec.CHUNK_END, b""))
    return b"".join(parts)
