"""Atomic writes: a file appears whole under its name, or not at all.

Data goes to a temporary file in the target's own folder (so the rename stays on one file
system), which is renamed over the target (``os.replace``) once it is complete; on any error the
temporary file is removed and the target is left as it was.  The CLI's outputs add overwrite
checks and stdout on top of the same idea (``rnncodec.cli.options.atomic_output``).
"""

from __future__ import annotations

import os
import secrets
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Union

__all__ = ["atomic_path", "write_atomically"]

PathLike = Union[str, "os.PathLike[str]"]


@contextmanager
def atomic_path(path: PathLike) -> Iterator[Path]:
    """Yield a fresh temporary path beside ``path``; rename it over ``path`` when the block ends.

    For writers that want a path rather than bytes (``torch.save``, ``onnx.save``).  If the
    block raises, the temporary file is removed and ``path`` is untouched.  The file gets the
    mode a new file gets (the umask's), as if written in place.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))  # ours alone; the umask's mode
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_atomically(path: PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file beside it and a rename: never half a file."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
