"""The user's cache folder.

``$RNC_CACHE_DIR``, else ``$XDG_CACHE_HOME/rnncodec``, else ``~/.cache/rnncodec``.  It holds what
is worth keeping between processes and can be made again from the package: unpacked weights
(``weights/``, :mod:`rnncodec.weights_pack`).  Deleting it loses nothing but time.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["CACHE_ENV", "cache_root"]

#: The cache folder, when set (else ``$XDG_CACHE_HOME/rnncodec``, else ``~/.cache/rnncodec``).
CACHE_ENV = "RNC_CACHE_DIR"


def cache_root() -> Path:
    """The cache folder (read from the environment at each call; not created)."""
    root = os.environ.get(CACHE_ENV) or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "rnncodec"
    return Path(root)
