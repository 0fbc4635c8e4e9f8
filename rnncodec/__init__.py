"""rnncodec: a progressive neural image codec (residual recurrent auto-encoder).

Importing the package is cheap: it does not import torch.  The codec entry points
:func:`encode` and :func:`decode` are loaded from :mod:`rnncodec.codec` the first time they are
used; the torch-free container lives in :mod:`rnncodec.formats`.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "encode", "decode"]

_CODEC_API = frozenset({"encode", "decode"})


def __getattr__(name: str):
    """Import :mod:`rnncodec.codec` (and so torch) only when ``encode``/``decode`` are asked for."""
    if name in _CODEC_API:
        from . import codec

        return getattr(codec, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
