"""Options and helpers shared by the commands that run the network (encode, decode, …).

Importing this module stays cheap (no torch); the heavy work happens inside the commands.
"""

from __future__ import annotations

import os
import sys
from typing import Iterable, Sequence, TypeVar

import click

__all__ = ["IMAGE_SUFFIXES", "weights_option", "threads_option", "file_progress"]

T = TypeVar("T")

#: Suffixes of image files that folder inputs expand to.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".gif")


def _set_threads(ctx: click.Context, param: click.Parameter, value: int | None) -> int | None:
    if value:
        import torch

        torch.set_num_threads(value)
    return value


#: ``--weights NAME|FILE``: shipped weights or a weights file.
weights_option = click.option(
    "--weights", metavar="NAME|FILE", default=None,
    help="Shipped weights (see 'rnc models') or a weights file. Default: the shipped default "
         "(decoding: the weights the file names).")

#: ``--threads N``: torch CPU threads (results are deterministic for a given count).
threads_option = click.option(
    "--threads", type=click.IntRange(min=1), default=None, callback=_set_threads, expose_value=True,
    help="CPU threads for the network (default: torch's, one per core).")


def file_progress(items: Sequence[T], label: str) -> Iterable[T]:
    """A tqdm bar over ``items`` on stderr when there is more than one and stderr is a terminal."""
    if len(items) < 2 or not sys.stderr.isatty() or os.environ.get("RNC_NO_PROGRESS"):
        return items
    from tqdm import tqdm

    return tqdm(items, desc=label, unit="file", leave=False)
