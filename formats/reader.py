"""Reading whole files: :func:`read` → :class:`RNCFile`, and :func:`read_header`.

Sources are ``bytes``-like objects, paths, or binary file objects; file objects are read in
blocks of :data:`READ_BLOCK_BYTES`, never with an unbounded ``read()``.
"""

from __future__ import annotations

import io
import os
from functools import cached_property
from typing import TYPE_CHECKING, Any, BinaryIO, Iterator, Union

from .chunks import Chunk
from .coders import get_coder
from .header import Header
from .limits import Limits
from .parser import AlphaEvent, Event, IterationEvent, MetadataEvent, StreamReader

if TYPE_CHECKING:
    import numpy as np

__all__ = ["RNCFile", "Source", "read", "read_header", "iter_blocks", "parse_source", "READ_BLOCK_BYTES"]

#: Size of each ``read()`` on a file object.
READ_BLOCK_BYTES = 1 << 20

Source = Union[bytes, bytearray, memoryview, str, os.PathLike, BinaryIO]


def iter_blocks(source: Source, block_size: int = READ_BLOCK_BYTES) -> Iterator[bytes]:
    """The bytes of ``source`` in blocks: bytes-like as one block, paths and files in pieces."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        yield bytes(source)
    elif isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as fileobj:
            yield from iter_blocks(fileobj, block_size)
    else:
        while block := source.read(block_size):
            yield block


def parse_source(source: Source, reader: StreamReader) -> Iterator[Event]:
    """Feed ``source`` to ``reader`` and yield its events, then close it.

    A lenient reader stops reading at REND (what follows is ignored, unread).
    """
    for block in iter_blocks(source):
        yield from reader.feed(block)
        if reader.ended and not reader.strict:
            break
    reader.close()


class RNCFile:
    """A parsed ``.rnc`` file: header, ancillary data and the (still coded) iterations.

    Attributes:
        header: the :class:`Header` as stored (``header.iterations`` is the declared count).
        metadata: the mETa JSON object, or ``None``.
        chunks: every chunk in file order (``Chunk.offset`` is its position).
        truncated: the file ended before REND (lenient reading only).
        file_bytes: bytes of the file that were parsed (signature through REND or the cut).
    """

    def __init__(self, chunks: list[Chunk], header: Header, metadata: dict[str, Any] | None,
                 iterations: list[IterationEvent], alpha: AlphaEvent | None, truncated: bool,
                 file_bytes: int) -> None:
        self.chunks = chunks
        self.header = header
        self.metadata = metadata
        self.truncated = truncated
        self.file_bytes = file_bytes
        self._iterations = iterations
        self._alpha = alpha

    def __repr__(self) -> str:
        h = self.header
        return (
            f"<RNCFile {h.width}x{h.height} {h.mode} {self.iterations}/{h.iterations} iterations "
            f"{h.coder} {h.architecture}{' truncated' if self.truncated else ''}>"
        )

    @property
    def iterations(self) -> int:
        """Iterations present whole in the file (``header.iterations`` unless truncated)."""
        return len(self._iterations)

    @property
    def payloads(self) -> list[bytes]:
        """Each iteration's coded payload, in order."""
        return [event.payload for event in self._iterations]

    @property
    def bytes_per_iteration(self) -> list[int]:
        """Bytes each RITR chunk takes in the file (payload + 12 bytes of framing)."""
        return [event.chunk.size for event in self._iterations]

    def active_blocks(self) -> list[int] | None:
        """Blocks with bits in each iteration present, for a coder with stopped blocks (coder 3:
        only each payload's stop decisions are decoded); ``None`` for the other coders.

        Raises:
            CorruptChunkError: a payload's decisions do not decode.
        """
        if not get_coder(self.header.coder).codes_stops:
            return None
        counts, active = [], None
        for event in self._iterations:
            active = event.active_map(active)
            counts.append(int(active.sum()))
        return counts

    @property
    def has_alpha(self) -> bool:
        """Whether the file has an aLPh chunk."""
        return self._alpha is not None

    @cached_property
    def alpha(self) -> np.ndarray | None:
        """The ``(height, width)`` uint8 alpha plane (inflated on first use), or ``None``."""
        return self._alpha.decode() if self._alpha else None

    def codes(self, k: int | None = None) -> list[np.ndarray]:
        """The code tensors of the first ``k`` iterations (all when ``None``), decoded now.

        Raises:
            ValueError: ``k`` is more than the iterations present.
            CorruptChunkError: a payload does not decode.
        """
        return list(self.iter_codes(k))

    def iter_codes(self, k: int | None = None) -> Iterator[np.ndarray]:
        """:meth:`codes` one iteration at a time, each decoded when it is asked for (a caller may
        stop between them)."""
        k = self.iterations if k is None else k
        if not 0 <= k <= self.iterations:
            raise ValueError(f"{k} iterations asked, the file has {self.iterations}")
        codes: list[np.ndarray] = []
        for event in self._iterations[:k]:
            codes.append(event.decode(codes))
            yield codes[-1]


def read(source: Source, *, strict: bool = True, limits: Limits | None = None) -> RNCFile:
    """Parse a whole ``.rnc`` file (payloads are decoded later, by :meth:`RNCFile.codes`).

    Args:
        source: bytes, a path, or a binary file object.
        strict: see :class:`StreamReader`; lenient reading returns the complete iterations of a
            cut file with ``truncated=True`` and ignores data after REND.
        limits: caps on declared sizes.

    Raises:
        RNCError: a typed error for any invalid or (strict) incomplete file.
        OSError: the source cannot be read.
    """
    reader = StreamReader(strict=strict, limits=limits)
    chunks: list[Chunk] = []
    iterations: list[IterationEvent] = []
    metadata = alpha = None
    for event in parse_source(source, reader):
        chunks.append(event.chunk)
        if isinstance(event, IterationEvent):
            iterations.append(event)
        elif isinstance(event, MetadataEvent):
            metadata = event.metadata
        elif isinstance(event, AlphaEvent):
            alpha = event
    return RNCFile(chunks, reader.header, metadata, iterations, alpha, reader.truncated,
                   reader.received - reader.trailing_bytes)


def read_header(source: Source, *, limits: Limits | None = None) -> Header:
    """The :class:`Header` of a file, reading only the signature and the RHDR chunk.

    Raises:
        RNCError: a bad signature or RHDR (TruncatedFileError if the data ends before it).
    """
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as fileobj:
            return read_header(fileobj, limits=limits)
    if isinstance(source, (bytes, bytearray, memoryview)):
        source = io.BytesIO(source)
    reader = StreamReader(limits=limits)
    while reader.header is None:
        block = source.read(reader.bytes_needed)
        if not block:
            reader.close()
        reader.feed(block)
    return reader.header
