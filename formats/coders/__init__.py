"""Payload coders: how one iteration's code tensor becomes the data of its RITR chunk — and their registry.

Each coder (:class:`.base.Coder`) is identified in files by its RHDR ``coder`` byte and in the API by
its name: :mod:`.raw` (0), :mod:`.zstd` (1), :mod:`.context` (2, the context-adaptive rANS coder,
SPEC.md §7.2, and 3, ``adaptive``, the same with blocks that stop, §7.3).  Register another under a new id with :func:`register_coder` and the writer and
reader use it with no other change.
"""

from __future__ import annotations

from .base import Coder, Shape, packed_size
from .context import AdaptiveCoder, ContextCoder
from .raw import RawCoder
from .zstd import ZstdCoder

__all__ = [
    "Coder",
    "RawCoder",
    "ZstdCoder",
    "ContextCoder",
    "AdaptiveCoder",
    "register_coder",
    "get_coder",
    "coder_by_id",
    "coder_names",
    "packed_size",
    "Shape",
]

_BY_ID: dict[int, Coder] = {}
_BY_NAME: dict[str, Coder] = {}


def register_coder(coder: Coder) -> Coder:
    """Add ``coder`` to the registry; a duplicate id or name raises :class:`ValueError`."""
    if not 0 <= coder.id <= 255:
        raise ValueError(f"coder id {coder.id} does not fit the RHDR coder byte")
    if coder.id in _BY_ID or coder.name in _BY_NAME:
        raise ValueError(f"coder id {coder.id} or name {coder.name!r} is already registered")
    _BY_ID[coder.id] = coder
    _BY_NAME[coder.name] = coder
    return coder


def get_coder(name: str) -> Coder:
    """The coder called ``name``; :class:`ValueError` listing the known names if none is."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ValueError(f"unknown coder {name!r}; known: {', '.join(coder_names())}") from None


def coder_by_id(coder_id: int) -> Coder | None:
    """The coder with RHDR id ``coder_id``, or ``None``."""
    return _BY_ID.get(coder_id)


def coder_names() -> list[str]:
    """Registered coder names, in id order."""
    return [_BY_ID[i].name for i in sorted(_BY_ID)]


register_coder(RawCoder())
register_coder(ZstdCoder())
register_coder(ContextCoder())
register_coder(AdaptiveCoder())
