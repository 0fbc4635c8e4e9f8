"""``info``: what a file holds, from its chunks alone (no payload is decompressed; coder 3's stop
decisions, at the start of its payloads, are)."""

from __future__ import annotations

from typing import Any

from . import spec
from .limits import Limits
from .reader import Source, read

__all__ = ["info"]


def info(source: Source, *, strict: bool = False, limits: Limits | None = None) -> dict[str, Any]:
    """A JSON-ready summary of an ``.rnc`` file.

    Every chunk's CRC and the header are checked; payloads and the alpha plane are not decoded.
    Reading is lenient by default, so a cut file is described (``truncated: true``) rather than
    refused.

    Keys: ``format_version``, ``width``, ``height``, ``mode``, ``has_alpha``,
    ``bits_per_block``, ``code_shape`` (``[bits, grid_h, grid_w]``), ``tile_size`` (0 = whole
    image), ``coder``, ``architecture``, ``weights_sha256`` (hex of the stored 16-byte prefix of
    the weights' SHA-256), ``iterations`` (whole ones present), ``iterations_declared``,
    ``bytes_per_iteration`` (list; RITR chunk sizes, framing included), ``file_bytes``,
    ``truncated``, ``metadata`` (object or null); for files whose coder stops blocks (``adaptive``)
    also ``active_blocks`` (list; blocks with bits in each iteration, of ``grid_h · grid_w``: only the
    stop decisions at the start of each payload are decoded).

    Raises:
        RNCError: the file is not a readable ``.rnc`` file.
        OSError: the source cannot be read.
    """
    rnc = read(source, strict=strict, limits=limits)
    header = rnc.header
    active = rnc.active_blocks()
    summary = {
        "format_version": spec.FORMAT_VERSION,
        "width": header.width,
        "height": header.height,
        "mode": header.mode,
        "has_alpha": rnc.has_alpha,
        "bits_per_block": header.bits_per_block,
        "code_shape": list(header.code_shape),
        "tile_size": header.tile_size,
        "coder": header.coder,
        "architecture": header.architecture,
        "weights_sha256": header.weights_id.hex(),
        "iterations": rnc.iterations,
        "iterations_declared": header.iterations,
        "bytes_per_iteration": rnc.bytes_per_iteration,
        "file_bytes": rnc.file_bytes,
        "truncated": rnc.truncated,
        "metadata": rnc.metadata,
    }
    if active is not None:
        summary["active_blocks"] = active
    return summary
