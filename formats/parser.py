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
from typing import TYPE_CHECKING, Any, Sequence, Union

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
        """The ``{0,1}`` uint8 code tensor of shape ``header.code_shape``.

        Args:
            previous: the decoded codes of iterations 1 … index−1 (needed by context coders).

        Raises:
            CorruptChunkError: the payload does not decode to the code shape.
        """
        coder = get_coder(self.header.coder)
        try:
            return coder.decode(self.chunk.data, self.header.code_shape, previous[: self.index - 1])
        except ValueError as exc:
            raise CorruptChunkError(
                str(exc), chunk_type=self.chunk.type, offset=self.chunk.offset, index=self.index
            ) from None


@dataclass(frozen=True)
class EndEvent:
    """The REND chunk was read: the file is complete."""

    chunk: Chunk


Event = Union[HeaderEvent, MetadataEvent, AlphaEvent, AncillaryEvent, IterationEvent, EndEvent]


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

        def corrupt(detail: str) -> CorruptChunkError:
            index = self.complete_iterations + 1 if ctype == spec.CHUNK_ITERATION else None
            return CorruptChunkError(detail, chunk_type=ctype, offset=offset, index=index)

        def cap(maximum: int, what: str) -> None:
            if length > maximum:
                raise corrupt(f"length {length} is more than the {maximum} bytes {what} may take")

        def limit(name: str, value: int, maximum: int) -> None:
            if value > maximum:
                raise LimitExceededError(name, value, maximum, chunk_type=ctype, offset=offset)

        if not is_valid_type(ctype):
            raise CorruptChunkError(f"invalid chunk type {ctype!r}", offset=offset)
        cap(spec.MAX_CHUNK_LENGTH, "any chunk")
        header = self.header
        if header is None:
            if ctype != spec.CHUNK_HEADER:
                raise corrupt("the first chunk is not RHDR")
            cap(spec.MAX_HEADER_BYTES, "a header")
        elif ctype == spec.CHUNK_ITERATION:
            if self.complete_iterations >= header.iterations:
                raise corrupt(f"more RITR chunks than the {header.iterations} the header declares")
            cap(get_coder(header.coder).max_payload_bytes(header.code_shape), "an iteration")
        elif ctype == spec.CHUNK_END:
            cap(0, "REND")
            if self.complete_iterations != header.iterations:
                raise corrupt(
                    f"REND after {self.complete_iterations} of the {header.iterations} "
                    "iterations the header declares"
                )
        elif ctype == spec.CHUNK_HEADER:
            raise corrupt("a second RHDR")
        elif not is_ancillary(ctype):
            raise UnknownCriticalChunkError(ctype, offset)
        else:
            limit("max_ancillary_chunks", self._ancillary + 1, self.limits.max_ancillary_chunks)
            if ctype in self._seen:
                raise corrupt("a second chunk of this type")
            if ctype == spec.CHUNK_METADATA:
                limit("max_metadata_bytes", length, self.limits.max_metadata_bytes)
            elif ctype == spec.CHUNK_ALPHA:
                if self.complete_iterations:
                    raise corrupt("aLPh after the first RITR")
                cap(max_alpha_bytes(header.width, header.height), "an alpha plane")
            else:
                limit("max_unknown_chunk_bytes", length, self.limits.max_unknown_chunk_bytes)

    def _dispatch(self, chunk: Chunk) -> Event:
        """Check the CRC of a whole chunk and turn it into an event."""
        ctype, offset = chunk.type, chunk.offset
        if ctype == spec.CHUNK_ITERATION:
            index = self.complete_iterations + 1
            self._check_iteration_crc(chunk, index)
            self.complete_iterations = index
            return IterationEvent(index, chunk, self.header)
        if chunk_crc(ctype, chunk.data) != chunk.crc:
            raise CorruptChunkError("bad CRC", chunk_type=ctype, offset=offset)
        if ctype == spec.CHUNK_HEADER:
            self.header = Header.parse(chunk.data, offset=offset, limits=self.limits)
            return HeaderEvent(self.header, chunk)
        if ctype == spec.CHUNK_END:
            self.ended = True
            return EndEvent(chunk)
        self._ancillary += 1
        if ctype == spec.CHUNK_METADATA:
            self._seen.add(ctype)
            try:
                return MetadataEvent(decode_metadata(chunk.data), chunk)
            except ValueError as exc:
                raise CorruptChunkError(str(exc), chunk_type=ctype, offset=offset) from None
        if ctype == spec.CHUNK_ALPHA:
            self._seen.add(ctype)
            return AlphaEvent(chunk, self.header)
        return AncillaryEvent(chunk)

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
