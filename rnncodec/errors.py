"""Errors raised by the codec (the container's errors live in :mod:`rnncodec.formats.errors`).

Every error of the project derives from :class:`rnncodec.formats.errors.RNCError`, so a program (or
the ``rnc`` command) can catch one class; the dual bases let callers also catch the builtin kind.
"""

from __future__ import annotations

from .formats.errors import RNCError, UnreachableTargetError

__all__ = [
    "RNCError",
    "CodecError",
    "UnknownArchitectureError",
    "UnknownWeightsError",
    "PackedWeightsBaseError",
    "WeightsMismatchError",
    "UnsupportedImageError",
    "ImageTooLargeError",
    "CancelledError",
    "MultiFrameWarning",
    "UnreachableTargetError",
]


class CodecError(RNCError):
    """Root of the codec's own errors."""


class UnknownArchitectureError(CodecError, KeyError):
    """No architecture with that name is registered."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class UnknownWeightsError(CodecError, KeyError):
    """No shipped weights with that name, or a weights file that cannot be loaded."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class PackedWeightsBaseError(UnknownWeightsError):
    """Packed weights (``NAME.ptpack``) whose base cannot be had: not shipped, missing from the
    install, a chain of packs that comes back to itself, or one longer than the limit."""


class WeightsMismatchError(CodecError, ValueError):
    """A file was encoded with other weights than the ones asked to decode it."""


class UnsupportedImageError(CodecError, ValueError):
    """An input the codec cannot take (unreadable image, alpha where it is refused, …)."""


class ImageTooLargeError(UnsupportedImageError):
    """An image over the pixel limit (``max_pixels``, or Pillow's decompression-bomb limit),
    refused from its header before its pixels are decoded."""


class CancelledError(CodecError):
    """Work stopped by a :class:`~rnncodec.cancel.Cancellation` (cancelled, or past its deadline)."""


class MultiFrameWarning(UserWarning):
    """An animated or multi-page image: only its first frame is encoded."""
