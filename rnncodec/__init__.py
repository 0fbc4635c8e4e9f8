"""rnncodec: a progressive neural image codec (residual recurrent auto-encoder).

Importing the package is cheap: it does not import torch.  The names below are loaded from their
modules the first time they are used::

    rnncodec.encode, rnncodec.decode, rnncodec.Codec, rnncodec.ProgressiveDecoder   # rnncodec.codec
    rnncodec.RNCWeights                                                              # rnncodec.weights
    rnncodec.RNCError      # the root of every error of the project (rnncodec.formats.errors)
    rnncodec.CodecError, rnncodec.RecognitionError, rnncodec.EdgeError              # its branches

The torch-free container lives in :mod:`rnncodec.formats`.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

#: Public name → the module that defines it (imported on first use).
_LAZY = {
    "encode": "rnncodec.codec",
    "decode": "rnncodec.codec",
    "Codec": "rnncodec.codec",
    "ProgressiveDecoder": "rnncodec.codec",
    "RNCWeights": "rnncodec.weights",
    "RNCError": "rnncodec.formats.errors",
    "CodecError": "rnncodec.errors",
    "RecognitionError": "rnncodec.recognition.errors",
    "EdgeError": "rnncodec.edge.errors",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str):
    """Import the module of a public name only when the name is asked for (torch: only the torch backend)."""
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
