"""Typed errors of the ``.rnc`` container.

:class:`RNCError` is the root of every error the project raises (the codec's errors subclass it
too).  Each concrete error also derives from the builtin exception a caller would expect (as in
rasterio), so ``except ValueError`` or ``except EOFError`` keep working.  Messages are one line and
say what went wrong and where (chunk type and byte offset).
"""

from __future__ import annotations

__all__ = [
    "RNCError",
    "NotRNCError",
    "CorruptChunkError",
    "TruncatedFileError",
    "UnsupportedVersionError",
    "UnsupportedCoderError",
    "UnknownCriticalChunkError",
    "LimitExceededError",
    "UnreachableTargetError",
]


def _where(chunk_type: bytes | None, offset: int | None, index: int | None = None) -> str:
    """`` in chunk RITR #2 at byte 1234``-style location (leading space), or ``""``."""
    where = ""
    if chunk_type is not None:
        name = chunk_type.decode("ascii", "backslashreplace")
        where = f" in chunk {name}" + (f" #{index}" if index is not None else "")
    if offset is not None:
        where += f" at byte {offset}"
    return where


class RNCError(Exception):
    """Root of all errors raised by rnncodec."""


class NotRNCError(RNCError, ValueError):
    """The data does not start with the RNC signature."""

    def __init__(self, detail: str = "bad signature") -> None:
        super().__init__(f"not an RNC file ({detail})")


class CorruptChunkError(RNCError, ValueError):
    """A chunk is damaged: bad CRC, bad field, wrong place, inconsistent with the header.

    Attributes:
        chunk_type: the 4-byte type of the chunk (``None`` when the damage is outside a chunk).
        offset: byte offset of the chunk's length field (or of the damage) in the file.
        index: 1-based iteration index for RITR chunks, else ``None``.
    """

    def __init__(
        self,
        detail: str,
        *,
        chunk_type: bytes | None = None,
        offset: int | None = None,
        index: int | None = None,
    ) -> None:
        self.chunk_type = chunk_type
        self.offset = offset
        self.index = index
        super().__init__(f"broken RNC file: {detail}{_where(chunk_type, offset, index)}")


class TruncatedFileError(RNCError, EOFError):
    """The data ends before the file does.

    Attributes:
        offset: number of bytes present (where the data ends).
        complete_iterations: iterations whose RITR chunk was read whole before the end.
    """

    def __init__(self, offset: int, complete_iterations: int, inside: str = "") -> None:
        self.offset = offset
        self.complete_iterations = complete_iterations
        inside = f" inside {inside}" if inside else ""
        super().__init__(
            f"truncated RNC file: data ends at byte {offset}{inside} "
            f"({complete_iterations} complete iterations)"
        )


class UnsupportedVersionError(RNCError, ValueError):
    """The RHDR declares a format version this implementation does not read."""

    def __init__(self, version: int, supported: int, offset: int) -> None:
        self.version = version
        self.offset = offset
        super().__init__(
            f"unsupported RNC format version {version} (this reader supports {supported}) "
            f"in chunk RHDR at byte {offset}"
        )


class UnsupportedCoderError(RNCError, ValueError):
    """The RHDR names a payload coder this implementation does not have."""

    def __init__(self, coder_id: int, offset: int) -> None:
        self.coder_id = coder_id
        self.offset = offset
        super().__init__(f"unsupported payload coder id {coder_id} in chunk RHDR at byte {offset}")


class UnknownCriticalChunkError(RNCError, ValueError):
    """A critical chunk type this reader does not know (ancillary ones are skipped instead)."""

    def __init__(self, chunk_type: bytes, offset: int) -> None:
        self.chunk_type = chunk_type
        self.offset = offset
        name = chunk_type.decode("ascii", "backslashreplace")
        super().__init__(f"unknown critical chunk {name} at byte {offset}")


class LimitExceededError(RNCError, ValueError):
    """A declared size is over a reader limit (or under ``min_tile_size``); raised before
    anything that size is allocated or any work is done.

    Attributes:
        limit: name of the :class:`~rnncodec.formats.limits.Limits` field (or format bound).
        value: the declared value.
        maximum: the limit it exceeds (the minimum it is under, when ``below``).
        below: the value is under a minimum rather than over a maximum.
    """

    def __init__(
        self,
        limit: str,
        value: int,
        maximum: int,
        *,
        below: bool = False,
        chunk_type: bytes | None = None,
        offset: int | None = None,
    ) -> None:
        self.limit = limit
        self.value = value
        self.maximum = maximum
        self.below = below
        self.chunk_type = chunk_type
        self.offset = offset
        relation = f"under a limit: {value} < {limit} = {maximum}" if below else f"over a limit: {limit} = {value} > {maximum}"
        super().__init__(f"RNC file {relation}{_where(chunk_type, offset)}")


class UnreachableTargetError(RNCError, ValueError):
    """A size target below the smallest file there can be (one iteration); raised by ``rnc encode
    --max-bytes`` / ``--target-bpp`` (:mod:`rnncodec.rate`) and ``rnc truncate --max-bytes``.

    Attributes:
        smallest: the size in bytes of the smallest file (one iteration), or ``None`` if there is none.
    """

    def __init__(self, message: str, *, smallest: int | None) -> None:
        self.smallest = smallest
        super().__init__(message)
