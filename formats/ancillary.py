"""Data of the ancillary chunks this implementation knows: mETa (metadata) and aLPh (alpha).

Decoders raise :class:`ValueError` with a short reason; the parser adds the chunk and offset.
"""

from __future__ import annotations

import json
import zlib
from typing import TYPE_CHECKING, Any, Mapping, Optional

from . import spec

if TYPE_CHECKING:  # numpy is imported when a plane is coded, keeping ``rnc info`` fast
    import numpy as np

__all__ = [
    "encode_metadata",
    "decode_metadata",
    "metadata_source_size",
    "encode_alpha",
    "decode_alpha",
    "max_alpha_bytes",
]


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def encode_metadata(metadata: Mapping[str, Any]) -> bytes:
    """Compact UTF-8 JSON of ``metadata`` (keys sorted); :class:`ValueError` if over 64 KiB."""
    if not isinstance(metadata, Mapping):
        raise ValueError(f"metadata must be a mapping, not {type(metadata).__name__}")
    data = json.dumps(
        dict(metadata), ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
    ).encode("utf-8")
    if len(data) > spec.DEFAULT_MAX_METADATA_BYTES:
        raise ValueError(
            f"metadata is {len(data)} bytes of JSON, more than {spec.DEFAULT_MAX_METADATA_BYTES}"
        )
    return data


def decode_metadata(data: bytes) -> dict[str, Any]:
    """The JSON object in a mETa chunk (strict JSON: no NaN or Infinity)."""
    try:
        value = json.loads(data.decode("utf-8"), parse_constant=_reject_constant)
    except RecursionError:
        raise ValueError("metadata JSON is nested too deeply") from None
    except ValueError as exc:  # also UnicodeDecodeError and json.JSONDecodeError
        raise ValueError(f"metadata is not UTF-8 JSON ({exc})") from None
    if not isinstance(value, dict):
        raise ValueError(f"metadata JSON is a {type(value).__name__}, not an object")
    return value


def metadata_source_size(metadata: Optional[Mapping[str, Any]]) -> Optional[tuple[int, int]]:
    """The ``source_size`` a file's metadata records — ``(width, height)`` of the photo before the
    encoder downscaled it — or ``None``: absent, or not two whole numbers from 1 to
    ``MAX_DIMENSION`` (a reader ignores what it cannot use)."""
    value = (metadata or {}).get("source_size")
    if (isinstance(value, list) and len(value) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= spec.MAX_DIMENSION for v in value)):
        return value[0], value[1]
    return None


def max_alpha_bytes(width: int, height: int) -> int:
    """Largest aLPh data for a ``width × height`` plane: method byte + zlib's compressBound."""
    n = width * height
    return 1 + n + (n >> 12) + (n >> 14) + (n >> 25) + 13


def encode_alpha(alpha: np.ndarray, width: int, height: int) -> bytes:
    """aLPh data for an ``(height, width)`` uint8 plane: method 0 then its zlib stream."""
    import numpy as np

    alpha = np.asarray(alpha)
    if alpha.shape != (height, width) or alpha.dtype != np.uint8:
        raise ValueError(
            f"alpha must be a uint8 array of shape {(height, width)}, "
            f"not {alpha.dtype} {alpha.shape}"
        )
    return bytes([spec.ALPHA_METHOD_ZLIB]) + zlib.compress(np.ascontiguousarray(alpha).tobytes(), 9)


def decode_alpha(data: bytes, width: int, height: int) -> np.ndarray:
    """The ``(height, width)`` uint8 plane in aLPh ``data``; never inflates past ``width·height``."""
    import numpy as np

    if not data or data[0] != spec.ALPHA_METHOD_ZLIB:
        raise ValueError(f"unknown alpha coding method {data[0] if data else None}")
    size = width * height
    inflater = zlib.decompressobj()
    try:
        plane = inflater.decompress(data[1:], size)
    except zlib.error as exc:
        raise ValueError(f"alpha plane does not inflate ({exc})") from None
    if len(plane) != size or not inflater.eof or inflater.unconsumed_tail or inflater.unused_data:
        raise ValueError(f"alpha plane does not inflate to exactly {size} bytes")
    return np.frombuffer(plane, dtype=np.uint8).reshape(height, width)
