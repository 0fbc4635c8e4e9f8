"""Incremental (push) parser: feed bytes as they arrive, get one event per complete chunk.

A server can parse an upload while it is received::

    reader = StreamReader()
    for block in connection:
        for event in reader.feed(block):
            if isinstance(event, IterationEvent):
                codes.append(event.decode(codes))   # iteration k is usable now
    reader.close()                                   # TruncatedFileError if the upload was cut

Every check happens as early as the bytes allow: a chunk's type, place and length are checked as
soon as its 8-byte head is in, before its data is buffered, so a hostile length never makes the
parser hold more than the limits allow.  The parser holds at most one chunk plus what was fed.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Sequence, Union

from . import spec
from .ancillary import decode_alpha, decode_metadata, max_alpha_bytes
from .chunks import Chunk, chunk_crc, is_ancillary, is_valid_type
from .coders import get_coder
from .errors import (
    CorruptChunkError,
    LimitExceededError,
    NotRNCError,
    TruncatedFileError,
    UnknownCriticalChunkError,
)
from .header import Header
from .limits import DEFAULT_LIMITS, Limits

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "StreamReader",
    "Event",
    "HeaderEvent",
    "MetadataEvent",
    "AlphaEvent",
    "AncillaryEvent",
    "IterationEvent",
    "EndEvent",
]

_HEAD = struct.Struct(">I4s")
_CRC = struct.Struct(">I")
_SIG_LEN = len(spec.SIGNATURE)


@dataclass(frozen=True)
class HeaderEvent:
    """The RHDR chunk was read."""

    header: Header
    chunk: Chunk


@dataclass(frozen=True)
class MetadataEvent:
    """The mETa chunk was read; ``metadata`` is its JSON object."""

    metadata: dict[str, Any]
    chunk: Chunk


@dataclass(frozen=True)
class AlphaEvent:
    """The aLPh chunk was read; :meth:`decode` inflates the plane."""

    chunk: Chunk
    header: Header

    def decode(self) -> np.ndarray:
        """The ``(height, width)`` uint8 alpha plane.

        Raises:
            CorruptChunkError: the plane does not inflate to exactly width × height bytes.
        """
        try:
            return decode_alpha(self.chunk.data, self.header.width, self.header.height)
        except ValueError as exc:
            raise CorruptChunkError(
                str(exc), chunk_type=self.chunk.type, offset=self.chunk.offset
            ) from None


@dataclass(frozen=True)
class AncillaryEvent:
    """An ancillary chunk this reader does not know; its CRC was checked and it is skipped."""

    chunk: Chunk


@dataclass(frozen=True)
class IterationEvent:
    """RITR chunk number ``index`` (1-based) was read; :meth:`decode` gives its bits."""

    index: int
    chunk: Chunk
    header: Header

    @property
    def payload(self) -> bytes:
        """The coded payload, as stored."""
        return self.chunk.data

    def decode(self, previous: Sequence[np.ndarray] = ()) -> np.ndarray:
        """The uint8 code tensor of shape ``header.code_shape``: values 0 and 1 (and ``STOPPED`` over
        the blocks that stopped, with coder 3).

        Args:
            previous: the decoded codes of iterations 1 … index−1 (needed by context coders).

        Raises:
            CorruptChunkError: the payload does not decode to the code shape.
        """
        coder = get_coder(self.header.coder)
        try:
            return coder.decode(self.chunk.data, self.header.code_shape, previous[: self.index - 1])
        except ValueError as exc:
            raise self._corrupt(exc) from None

    def active_map(self, last_active: np.ndarray | None) -> np.ndarray:
        """The ``(grid_h, grid_w)`` bool map of the blocks with bits in this iteration, given the
        previous iteration's (``None`` for the first): coder 3 decodes its stop decisions alone.

        Raises:
            CorruptChunkError: the payload's decisions do not decode.
        """
        try:
            return get_coder(self.header.coder).active_map(self.chunk.data, self.header.code_shape, last_active)
        except ValueError as exc:
            raise self._corrupt(exc) from None

    def _corrupt(self, exc: ValueError) -> CorruptChunkError:
        return CorruptChunkError(str(exc), chunk_type=self.chunk.type, offset=self.chunk.offset, index=self.index)


@dataclass(frozen=True)
class EndEvent:
    """The REND chunk was read: the file is complete."""

    chunk: Chunk


Event = Union[HeaderEvent, MetadataEvent, AlphaEvent, AncillaryEvent, IterationEvent, EndEvent]


@dataclass(frozen=True)
class _Head:
    """A chunk's 8-byte head (its length and type) at ``offset``, with the errors it may raise."""

    length: int
    type: bytes
    offset: int
    index: int | None  # the iteration number of a RITR chunk

    def corrupt(self, detail: str) -> CorruptChunkError:
        return CorruptChunkError(detail, chunk_type=self.type, offset=self.offset, index=self.index)

    def cap(self, maximum: int, what: str) -> None:
        if self.length > maximum:
            raise self.corrupt(f"length {self.length} is more than the {maximum} bytes {what} may take")

    def limit(self, name: str, value: int, maximum: int) -> None:
        if value > maximum:
            raise LimitExceededError(name, value, maximum, chunk_type=self.type, offset=self.offset)


class StreamReader:
    """Push parser for ``.rnc`` bytes.

    Args:
        strict: when true, :meth:`close` raises :class:`TruncatedFileError` for a file without
            its REND chunk, and bytes after REND raise :class:`CorruptChunkError`.  When false
            (lenient), a file cut after its RHDR is accepted with the iterations read whole
            (:attr:`truncated` is then true) and bytes after REND are ignored.  A cut inside the
            signature or the RHDR is an error in both modes.
        limits: caps on declared sizes (:class:`~rnncodec.formats.limits.Limits`).

    Attributes:
        header: the :class:`Header` once its chunk is read, else ``None``.
        complete_iterations: RITR chunks read whole so far.
        ended: whether REND was read.
        trailing_bytes: bytes fed after REND (lenient mode ignores them).
    """

    def __init__(self, *, strict: bool = True, limits: Limits | None = None) -> None:
        self.strict = strict
        self.limits = limits or DEFAULT_LIMITS
        self.header: Header | None = None
        self.complete_iterations = 0
        self.ended = False
        self.trailing_bytes = 0
        self._closed = False
        self._buf = bytearray()
        self._pos = 0  # next unparsed byte in _buf
        self._base = 0  # file offset of _buf[0]
        self._signed = False  # signature checked
        self._seen: set[bytes] = set()  # known ancillary types already read
        self._ancillary = 0
        self._next_length = -1  # length of the chunk whose head was checked, or -1

    # -- public ------------------------------------------------------------------------------
    @property
    def offset(self) -> int:
        """Bytes parsed so far (the file offset of the first byte not yet consumed)."""
        return self._base + self._pos

    @property
    def received(self) -> int:
        """Bytes fed so far, trailing bytes included."""
        return self._base + len(self._buf) + self.trailing_bytes

    @property
    def bytes_needed(self) -> int:
        """Bytes still missing before the parser can take its next step (0 once ended)."""
        if self.ended:
            return 0
        have = len(self._buf) - self._pos
        if not self._signed:
            return _SIG_LEN - have
        if self._next_length < 0:
            return 8 - have
        return spec.CHUNK_FRAMING_BYTES + self._next_length - have

    @property
    def truncated(self) -> bool:
        """True after a lenient :meth:`close` of a file that had no REND."""
        return self._closed and not self.ended

    def feed(self, data: bytes) -> list[Event]:
        """Parse ``data`` (the next bytes of the file); return the events of the chunks it completes.

        Raises:
            NotRNCError, CorruptChunkError, UnsupportedVersionError, UnsupportedCoderError,
            UnknownCriticalChunkError, LimitExceededError: as soon as the bytes show the problem.
        """
        if self._closed:
            raise ValueError("feed() after close()")
        if self.ended:
            self._trailing(len(data))
            return []
        self._buf += data
        events: list[Event] = []
        while not self.ended:
            event = self._step()
            if event is None:
                break
            events.append(event)
        if self.ended:
            self._trailing(len(self._buf) - self._pos)
        self._compact()
        return events

    def close(self) -> None:
        """Declare the end of the data.

        Raises:
            TruncatedFileError: the data ended inside the signature or RHDR, or (strict mode)
                before REND.
        """
        self._closed = True
        if self.ended or (self.header is not None and not self.strict):
            return
        raise TruncatedFileError(self.received, self.complete_iterations, self._where_cut())

    # -- parsing -----------------------------------------------------------------------------
    def _step(self) -> Event | None:
        """Consume one signature or chunk if all its bytes are in; return its event, if any."""
        buf, pos = self._buf, self._pos
        have = len(buf) - pos
        if not self._signed:
            if buf[pos : pos + _SIG_LEN] != spec.SIGNATURE[:have]:
                raise NotRNCError()
            if have < _SIG_LEN:
                return None
            self._signed = True
            self._pos += _SIG_LEN
            return self._step()
        if have < 8:
            return None
        length, ctype = _HEAD.unpack_from(buf, pos)
        if self._next_length < 0:
            self._check_head(length, bytes(ctype), self.offset)
            self._next_length = length
        if have < spec.CHUNK_FRAMING_BYTES + length:
            return None
        data = bytes(buf[pos + 8 : pos + 8 + length])
        (crc,) = _CRC.unpack_from(buf, pos + 8 + length)
        chunk = Chunk(bytes(ctype), data, crc, self.offset)
        event = self._dispatch(chunk)
        self._pos += spec.CHUNK_FRAMING_BYTES + length
        self._next_length = -1
        return event

    def _check_head(self, length: int, ctype: bytes, offset: int) -> None:
        """Check a chunk's type, place and length before its data is read."""
        if not is_valid_type(ctype):
            raise CorruptChunkError(f"invalid chunk type {ctype!r}", offset=offset)
        index = self.complete_iterations + 1 if ctype == spec.CHUNK_ITERATION else None
        head = _Head(length, ctype, offset, index)
        head.cap(spec.MAX_CHUNK_LENGTH, "any chunk")
        if self.header is None and ctype != spec.CHUNK_HEADER:
            raise head.corrupt("the first chunk is not RHDR")
        handler = _HANDLERS.get(ctype)
        if handler is None:
            if not is_ancillary(ctype):
                raise UnknownCriticalChunkError(ctype, offset)
            handler = _UNKNOWN_ANCILLARY
        handler.check(self, head)

    def _dispatch(self, chunk: Chunk) -> Event:
        """Turn a whole chunk, its head already checked, into an event (its CRC checked first)."""
        return _HANDLERS.get(chunk.type, _UNKNOWN_ANCILLARY).read(self, chunk)

    # -- one check (before the data is read) and one reader per chunk type: see _HANDLERS --------
    def _check_header(self, head: _Head) -> None:
        if self.header is not None:
            raise head.corrupt("a second RHDR")
        head.cap(spec.MAX_HEADER_BYTES, "a header")

    def _read_header(self, chunk: Chunk) -> HeaderEvent:
        self._check_crc(chunk)
        self.header = Header.parse(chunk.data, offset=chunk.offset, limits=self.limits)
        return HeaderEvent(self.header, chunk)

    def _check_iteration(self, head: _Head) -> None:
        header = self.header
        if self.complete_iterations >= header.iterations:
            raise head.corrupt(f"more RITR chunks than the {header.iterations} the header declares")
        head.cap(get_coder(header.coder).max_payload_bytes(header.code_shape), "an iteration")

    def _read_iteration(self, chunk: Chunk) -> IterationEvent:
        index = self.complete_iterations + 1
        self._check_iteration_crc(chunk, index)
        self.complete_iterations = index
        return IterationEvent(index, chunk, self.header)

    def _check_end(self, head: _Head) -> None:
        head.cap(0, "REND")
        if self.complete_iterations != self.header.iterations:
            raise head.corrupt(
                f"REND after {self.complete_iterations} of the {self.header.iterations} "
                "iterations the header declares"
            )

    def _read_end(self, chunk: Chunk) -> EndEvent:
        self._check_crc(chunk)
        self.ended = True
        return EndEvent(chunk)

    def _check_ancillary(self, head: _Head) -> None:
        """What every ancillary chunk must respect: the count limit, one chunk of a known type."""
        head.limit("max_ancillary_chunks", self._ancillary + 1, self.limits.max_ancillary_chunks)
        if head.type in self._seen:
            raise head.corrupt("a second chunk of this type")

    def _read_ancillary(self, chunk: Chunk) -> None:
        self._check_crc(chunk)
        self._ancillary += 1

    def _check_metadata(self, head: _Head) -> None:
        self._check_ancillary(head)
        head.limit("max_metadata_bytes", head.length, self.limits.max_metadata_bytes)

    def _read_metadata(self, chunk: Chunk) -> MetadataEvent:
        self._read_ancillary(chunk)
        self._seen.add(chunk.type)
        try:
            return MetadataEvent(decode_metadata(chunk.data), chunk)
        except ValueError as exc:
            raise CorruptChunkError(str(exc), chunk_type=chunk.type, offset=chunk.offset) from None

    def _check_alpha(self, head: _Head) -> None:
        self._check_ancillary(head)
        if self.complete_iterations:
            raise head.corrupt("aLPh after the first RITR")
        head.cap(max_alpha_bytes(self.header.width, self.header.height), "an alpha plane")

    def _read_alpha(self, chunk: Chunk) -> AlphaEvent:
        self._read_ancillary(chunk)
        self._seen.add(chunk.type)
        return AlphaEvent(chunk, self.header)

    def _check_unknown(self, head: _Head) -> None:
        self._check_ancillary(head)
        head.limit("max_unknown_chunk_bytes", head.length, self.limits.max_unknown_chunk_bytes)

    def _read_unknown(self, chunk: Chunk) -> AncillaryEvent:
        self._read_ancillary(chunk)
        return AncillaryEvent(chunk)

    def _check_crc(self, chunk: Chunk) -> None:
        """Verify the CRC of a chunk other than RITR (whose CRC also covers its index)."""
        if chunk_crc(chunk.type, chunk.data) != chunk.crc:
            raise CorruptChunkError("bad CRC", chunk_type=chunk.type, offset=chunk.offset)

    def _check_iteration_crc(self, chunk: Chunk, index: int) -> None:
        """Verify a RITR CRC for ``index``; name the index it carries if it is out of place."""
        if chunk_crc(chunk.type, chunk.data, index) == chunk.crc:
            return
        for other in range(1, self.limits.max_iterations + 1):
            if other != index and chunk_crc(chunk.type, chunk.data, other) == chunk.crc:
                detail = f"iteration chunk out of order (expected #{index}, found #{other})"
                break
        else:
            detail = "bad CRC"
        raise CorruptChunkError(detail, chunk_type=chunk.type, offset=chunk.offset, index=index)

    def _trailing(self, count: int) -> None:
        """Account for ``count`` bytes after REND: an error when strict."""
        if count and self.strict:
            raise CorruptChunkError(
                f"{count} bytes of trailing data after REND", offset=self.offset + self.trailing_bytes
            )
        self.trailing_bytes += count

    def _compact(self) -> None:
        """Drop the consumed bytes from the buffer."""
        if self.ended:
            self._buf.clear()
        elif self._pos:
            del self._buf[: self._pos]
        self._base += self._pos
        self._pos = 0

    def _where_cut(self) -> str:
        """Which part of the file the data ends in, for a TruncatedFileError."""
        if not self._signed:
            return "the signature"
        if self.header is None:
            return "chunk RHDR"
        if self._next_length >= 0:
            ctype = bytes(self._buf[self._pos + 4 : self._pos + 8]).decode("ascii")
            index = f" #{self.complete_iterations + 1}" if ctype == "RITR" else ""
            return f"chunk {ctype}{index} at byte {self.offset}"
        if len(self._buf) > self._pos:
            return f"the chunk head at byte {self.offset}"
        return ""


@dataclass(frozen=True)
class _ChunkHandler:
    """What the parser does with one chunk type: ``check`` its head before the data is buffered,
    ``read`` the whole chunk (CRC first) into an event."""

    check: Callable[[StreamReader, _Head], None]
    read: Callable[[StreamReader, Chunk], Event]


#: The one place a chunk type meets its handling (SPEC.md §5); any other ancillary type is skipped.
_HANDLERS: dict[bytes, _ChunkHandler] = {
    spec.CHUNK_HEADER: _ChunkHandler(StreamReader._check_header, StreamReader._read_header),
    spec.CHUNK_METADATA: _ChunkHandler(StreamReader._check_metadata, StreamReader._read_metadata),
    spec.CHUNK_ALPHA: _ChunkHandler(StreamReader._check_alpha, StreamReader._read_alpha),
    spec.CHUNK_ITERATION: _ChunkHandler(StreamReader._check_iteration, StreamReader._read_iteration),
    spec.CHUNK_END: _ChunkHandler(StreamReader._check_end, StreamReader._read_end),
}
_UNKNOWN_ANCILLARY = _ChunkHandler(StreamReader._check_unknown, StreamReader._read_unknown)
