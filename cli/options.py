"""Helpers shared by the ``rnc`` commands: input expansion, overwrite policy, atomic writes.

Overwriting policy: an output that already exists is refused (exit status 1, "Error: … exists;
use --force to overwrite") unless ``--force`` is given.  Outputs are written to a temporary
file in the same folder and renamed over the target only when complete, so a failed or
interrupted command never leaves a partial output behind.
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator

import click

__all__ = [
    "OutputExistsError",
    "force_option",
    "inputs_argument",
    "expand_inputs",
    "check_output",
    "atomic_output",
]

_GLOB_CHARS = frozenset("*?[")

#: ``--force``: allow replacing existing outputs.
force_option = click.option(
    "--force", is_flag=True, help="Overwrite output files that already exist."
)


class OutputExistsError(click.ClickException):
    """An output file exists and ``--force`` was not given (exit status 1)."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"{click.format_filename(path)} exists; use --force to overwrite it")


def expand_inputs(patterns: Iterable[str], *, suffixes: Iterable[str] = (".rnc",)) -> list[Path]:
    """Paths named by ``patterns``, in order, without repeats.

    A file is taken as it is (whatever its suffix); a directory gives the files directly in it
    whose suffix is in ``suffixes`` (sorted); a pattern with ``*``, ``?`` or ``[`` that is not an
    existing path is a glob (``**`` recurses) giving the files it matches (sorted).

    Raises:
        click.BadParameter: a path that does not exist, or a glob or directory with no files.
    """
    suffixes = {s.lower() for s in suffixes}
    found: dict[Path, None] = {}
    for pattern in patterns:
        path = Path(pattern)
        if path.is_dir():
            matches = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in suffixes)
            what = f"folder {pattern!r} has no {'/'.join(sorted(suffixes))} files"
        elif path.exists():
            matches, what = [path], ""
        elif _GLOB_CHARS & set(pattern):
            matches = sorted(Path(p) for p in glob.glob(pattern, recursive=True) if Path(p).is_file())
            what = f"{pattern!r} matches no files"
        else:
            matches, what = [], f"{pattern!r}: no such file or folder"
        if not matches:
            raise click.BadParameter(what)
        found.update(dict.fromkeys(matches))
    return list(found)


def inputs_argument(*, suffixes: Iterable[str] = (".rnc",)):
    """A ``FILES...`` argument (one or more) expanded by :func:`expand_inputs` to ``list[Path]``."""
    suffixes = tuple(suffixes)
    return click.argument(
        "inputs",
        nargs=-1,
        required=True,
        metavar="FILES...",
        callback=lambda ctx, param, value: expand_inputs(value, suffixes=suffixes),
    )


def check_output(path: Path, force: bool) -> None:
    """Refuse an existing ``path`` unless ``force`` (:class:`OutputExistsError`)."""
    if not force and os.path.lexists(path):
        raise OutputExistsError(path)


@contextmanager
def atomic_output(path: str | os.PathLike, *, force: bool = False) -> Iterator[BinaryIO]:
    """Write ``path`` atomically: yield a binary file; the target appears only if the block ends.

    The data goes to a hidden temporary file in the target's folder, which is flushed, synced
    and renamed over the target (``os.replace``) when the block exits normally, and removed
    when it raises.  A replaced file keeps its permission bits; a new one gets the umask's.

    Raises:
        OutputExistsError: the target exists and ``force`` is false (checked before and after).
        click.FileError: the target's folder does not exist.
    """
    path = Path(path)
    check_output(path, force)
    if not path.parent.is_dir():
        raise click.FileError(str(path), hint="its folder does not exist")
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        check_output(path, force)
        if path.exists():
            shutil.copymode(path, tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
