"""``rnncodec.formats``: the ``.rnc`` container — pure Python, never imports torch.

A ``.rnc`` file is a PNG-like sequence of checksummed chunks: a header (RHDR), optional metadata
(mETa) and alpha (aLPh), one RITR chunk per codec iteration, and an end chunk (REND).  Cutting a
file after any iteration gives a valid file of lower quality.  ``formats/SPEC.md`` is the
normative description; :mod:`.spec` holds its constants.

Writing (streaming)::

    header = Header(width=w, height=h, mode="RGB", iterations=n, weights_id=sha256, architecture="g16")
    with open("x.rnc", "wb") as f, RNCWriter(f, header) as writer:
        for bits in codes:
            writer.write_iteration(bits)

Reading::

    rnc = read("x.rnc")                 # or bytes, or a file object; strict=False for cut files
    codes = rnc.codes(4)                # the first four iterations' bit arrays (values 0, 1;
                                        # and STOPPED over blocks that stopped, coder "adaptive")
    info("x.rnc")                       # a summary dict, no payload decoded
    truncate("x.rnc", iterations=2)     # bytes of the same file with two iterations
    iterations_within("x.rnc", 4000)   # the most iterations whose truncated file is ≤ 4000 bytes
"""

from __future__ import annotations

from . import errors, parser
from .spec import STOPPED
from .chunks import Chunk
from .coders import Coder, coder_names, get_coder, register_coder
from .edit import iterations_within, truncate, truncate_to, truncation_sizes
from .errors import *  # noqa: F403 - every error class
from .header import Header
from .limits import DEFAULT_LIMITS, Limits
from .parser import *  # noqa: F403 - StreamReader and its events
from .ancillary import metadata_source_size
from .reader import RNCFile, read, read_header
from .summary import info
from .writer import RNCWriter, write_bytes

__all__ = [
    "STOPPED",
    "Header",
    "Limits",
    "DEFAULT_LIMITS",
    "RNCWriter",
    "write_bytes",
    "RNCFile",
    "Chunk",
    "read",
    "read_header",
    "truncate",
    "truncate_to",
    "truncation_sizes",
    "iterations_within",
    "info",
    "metadata_source_size",
    "Coder",
    "register_coder",
    "get_coder",
    "coder_names",
    *parser.__all__,
    *errors.__all__,
]
