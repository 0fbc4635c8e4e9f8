"""What the encoder writes in a file's metadata chunk (mETa, formats/SPEC.md §8.1).

By default: ``tool_version``, and what is known of the source — ``source_name``, ``source_bytes``
(the size of the file it came from) and, for an image coded downscaled, ``source_size`` — then the
caller's own keys.  **Stripped** (``strip_metadata=True`` of :func:`rnncodec.encode`, ``rnc encode
--strip``, what the edge client sends): the caller's keys and ``source_size`` only — decoding at the
source size and a recognition record's boxes in the photo's pixels need it; no chunk at all when
that leaves nothing.  The default keys take 70–130 bytes of JSON, 2–5 % of a photo's 1-iteration
file and a tenth of a 1 kB budget, and they say the file's name to whoever receives it.
"""

from __future__ import annotations

import dataclasses
from typing import Optional

from . import __version__
from .formats import spec
from .formats.ancillary import encode_metadata
from .imageio import SourceImage

__all__ = ["file_metadata", "stripped", "chunk_bytes", "downscaled_chunk_growth"]


class _Stripped(dict):
    """The caller's metadata keys, to which the encoder adds nothing but ``source_size``."""


def stripped(metadata: Optional[dict]) -> dict:
    """``metadata`` (the caller's keys, or none) marked to be written stripped."""
    return _Stripped(metadata or {})


def file_metadata(source: SourceImage, extra: Optional[dict]) -> Optional[dict]:
    """The mETa contents of a file coded from ``source`` with the caller's keys ``extra`` (a dict,
    or :func:`stripped` of one); ``None``: no chunk."""
    if isinstance(extra, _Stripped):
        metadata = {} if source.source_size is None else {"source_size": list(source.source_size)}
        metadata.update(extra)
        return metadata or None
    metadata = {"tool_version": f"rnncodec {__version__}"}
    if source.name:
        metadata["source_name"] = source.name
    if source.source_bytes is not None:
        metadata["source_bytes"] = source.source_bytes
    if source.source_size is not None:
        metadata["source_size"] = list(source.source_size)
    metadata.update(extra or {})
    return metadata


def chunk_bytes(metadata: Optional[dict]) -> int:
    """Bytes the mETa chunk of ``metadata`` (:func:`file_metadata`'s) takes in a file; 0 for none."""
    return 0 if metadata is None else spec.CHUNK_FRAMING_BYTES + len(encode_metadata(metadata))


def downscaled_chunk_growth(source: SourceImage, extra: Optional[dict]) -> int:
    """How many bytes more the mETa chunk of ``source`` coded downscaled takes than coded at its own
    size (the ``source_size`` key, and the chunk's framing when it had none)."""
    size = source.source_size or (source.width, source.height)
    return (chunk_bytes(file_metadata(dataclasses.replace(source, source_size=size), extra))
            - chunk_bytes(file_metadata(source, extra)))
