"""Streaming writer: the header goes out at once, then one flushed RITR chunk per iteration.

Iteration 1 can be sent before iteration 2 exists::

    with RNCWriter(sock_file, header, metadata={"source_name": "cat.png"}) as writer:
        for bits in encoder.iterations():        # each a {0,1} uint8 array of header.code_shape
            writer.write_iteration(bits)         # written and flushed now
    # leaving the block writes REND (not after an exception: the file then stays truncated,
    # which a lenient reader still opens with the iterations written so far)
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any, BinaryIO, Iterable, Mapping

from . import spec
from .ancillary import encode_alpha, encode_metadata
from .chunks import pack_chunk
from .coders import get_coder
from .coders.context.stops import check_stops
from .header import Header

if TYPE_CHECKING:  # numpy is imported when a code is written, keeping ``rnc info`` fast
    import numpy as np

__all__ = ["RNCWriter", "write_bytes", "check_code"]


def check_code(bits: np.ndarray, shape: tuple[int, int, int], coder: str = "raw",
               last: np.ndarray | None = None, first: bool = True) -> np.ndarray:
    """``bits`` as a C-contiguous uint8 array of ``shape``; :class:`ValueError` if not.

    Boolean arrays and integer arrays holding only 0 and 1 are accepted, and ``STOPPED`` (2) with
    the coder ``adaptive`` only, by the rules of SPEC.md §7.3 (whole blocks, none in iteration 1
    (``first``), none active again after it stopped in ``last``, the previous iteration's code).
    """
    import numpy as np

    bits = np.asarray(bits)
    if bits.shape != shape:
        raise ValueError(f"code has shape {bits.shape}, expected {shape}")
    stops = get_coder(coder).codes_stops
    if bits.dtype != np.bool_:
        if not np.issubdtype(bits.dtype, np.integer):
            raise ValueError(f"code has dtype {bits.dtype}, expected uint8 or bool")
        if bits.size and (bits.min() < 0 or bits.max() > (spec.STOPPED if stops else 1)):
            if stops or bits.max() != spec.STOPPED:
                raise ValueError(f"code values must be 0 or 1{' or STOPPED (2)' if stops else ''}")
            raise ValueError(f"code values must be 0 or 1 with the coder {coder!r}: STOPPED (2), a block "
                             f"that sent no bits, needs the coder 'adaptive'")
    bits = np.ascontiguousarray(bits, dtype=np.uint8)
    if stops:
        check_stops(bits, None if first else last)
    return bits


class RNCWriter:
    """Write an ``.rnc`` file to a binary file object, one iteration at a time.

    The signature, RHDR and the optional mETa and aLPh chunks are written and flushed by the
    constructor.  The file object is not closed by the writer.

    Args:
        fileobj: a writable binary file object (a file, a socket's ``makefile("wb")``, BytesIO).
        header: the :class:`Header`; ``header.iterations`` is the number of iterations that
            :meth:`write_iteration` must be called for before :meth:`close`.
        metadata: an optional JSON-serialisable mapping (e.g. ``source_name``,
            ``source_bytes``, ``tool_version``), stored in a mETa chunk (≤ 64 KiB of JSON).
        alpha: an optional ``(height, width)`` uint8 alpha plane, stored in an aLPh chunk.

    Raises:
        ValueError: metadata or alpha that cannot be stored.
    """

    def __init__(
        self,
        fileobj: BinaryIO,
        header: Header,
        metadata: Mapping[str, Any] | None = None,
        alpha: np.ndarray | None = None,
    ) -> None:
        self.header = header
        self.iterations_written = 0
        self.closed = False
        self._file = fileobj
        self._coder = get_coder(header.coder)
        self._previous: list[np.ndarray] = []
        parts = [spec.SIGNATURE, pack_chunk(spec.CHUNK_HEADER, header.to_bytes())]
        if metadata is not None:
            parts.append(pack_chunk(spec.CHUNK_METADATA, encode_metadata(metadata)))
        if alpha is not None:
            alpha_data = encode_alpha(alpha, header.width, header.height)
            parts.append(pack_chunk(spec.CHUNK_ALPHA, alpha_data))
        self._emit(b"".join(parts))

    def write_iteration(self, bits: np.ndarray) -> int:
        """Code ``bits`` (shape ``header.code_shape``, values 0/1, and ``STOPPED`` blocks from the
        second iteration on with the coder ``adaptive``) as the next RITR chunk.

        Returns:
            The bytes written (payload + 12 bytes of framing).

        Raises:
            ValueError: the writer is closed, all declared iterations were written already, or
                ``bits`` has the wrong shape or values (or stops that break SPEC.md §7.3's rules).
        """
        if self.closed:
            raise ValueError("write_iteration() on a closed RNCWriter")
        if self.iterations_written >= self.header.iterations:
            raise ValueError(f"the header declares {self.header.iterations} iterations")
        shape = self.header.code_shape
        last = self._previous[-1] if self._previous else None
        bits = check_code(bits, shape, self.header.coder, last, first=not self.iterations_written)
        payload = self._coder.encode(bits, self._previous)
        if len(payload) > self._coder.max_payload_bytes(shape):
            raise ValueError(
                f"coder {self._coder.name} made a {len(payload)}-byte payload, more than the "
                f"{self._coder.max_payload_bytes(shape)} a reader accepts"
            )
        self.iterations_written += 1
        chunk = pack_chunk(spec.CHUNK_ITERATION, payload, index=self.iterations_written)
        self._emit(chunk)
        if self._coder.uses_history:
            self._previous.append(bits)
        return len(chunk)

    def close(self) -> None:
        """Write REND.  Does nothing when already closed.

        Raises:
            ValueError: fewer iterations were written than the header declares.
        """
        if self.closed:
            return
        if self.iterations_written != self.header.iterations:
            raise ValueError(
                f"{self.iterations_written} iterations written, "
                f"the header declares {self.header.iterations}"
            )
        self._emit(pack_chunk(spec.CHUNK_END, b""))
        self.closed = True
        self._previous.clear()

    def __enter__(self) -> RNCWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:  # leave the file without REND: a truncated file, not a wrong one
            self.closed = True

    def _emit(self, data: bytes) -> None:
        self._file.write(data)
        self._file.flush()


def write_bytes(
    header: Header,
    iterations: Iterable[np.ndarray],
    metadata: Mapping[str, Any] | None = None,
    alpha: np.ndarray | None = None,
) -> bytes:
    """A whole ``.rnc`` file in memory; ``iterations`` must hold ``header.iterations`` codes."""
    out = io.BytesIO()
    with RNCWriter(out, header, metadata, alpha) as writer:
        for bits in iterations:
            writer.write_iteration(bits)
    return out.getvalue()
