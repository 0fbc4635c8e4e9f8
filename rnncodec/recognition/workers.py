"""Decoding in worker processes, so that decoding overlaps recognition.

Decoding a ``.rnc`` file costs more than classifying it, and the codec's small element-wise
operations scale poorly over threads (a second thread that waits at every operation for a busy
core costs more than it brings).  :func:`decode_in_workers` runs :class:`~.inputs.InputDecoder`
in ``workers`` processes of one torch thread each, while the calling process recognises what
they have decoded.  At most ``ahead`` files are decoded before they are consumed, so memory
stays bounded on any number of files.
"""

from __future__ import annotations

import itertools
import os
from collections import deque
from pathlib import Path
from typing import Iterable, Iterator, Optional, Union

from .inputs import Decoded, InputDecoder

__all__ = ["decode_in_workers"]

_decoder: Optional[InputDecoder] = None  # one per worker process


def decode_in_workers(paths: Iterable[Path], *, iterations: Optional[int] = None,
                      codec_weights: Union[None, str, os.PathLike] = None, lenient: bool = False, workers: int = 1,
                      ahead: int = 32) -> Iterator[tuple[Path, Union[Decoded, str]]]:
    """``(path, decoded)`` for each path, in order; ``decoded`` is the error message (one line)
    when the file could not be decoded (exceptions do not all survive the trip between processes).

    Args:
        iterations, codec_weights, lenient: as for :class:`InputDecoder`.
        workers: decoding processes (one torch thread each).
        ahead: how many files may be decoded before they are consumed.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    paths = iter(paths)
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"), initializer=_start,
                             initargs=(codec_weights, lenient)) as pool:
        pending = deque((path, pool.submit(_decode, path, iterations)) for path in itertools.islice(paths, ahead))
        while pending:
            path, future = pending.popleft()
            following = next(paths, None)
            if following is not None:
                pending.append((following, pool.submit(_decode, following, iterations)))
            yield path, future.result()


def _start(codec_weights: Union[None, str, os.PathLike], lenient: bool) -> None:
    import torch

    global _decoder
    torch.set_num_threads(1)
    _decoder = InputDecoder(codec_weights, lenient=lenient)


def _decode(path: Path, iterations: Optional[int]) -> Union[Decoded, str]:
    try:
        return _decoder.decode(path, iterations)
    except Exception as exc:  # sent back as text: not every exception can be pickled
        return " ".join(str(exc).split()) or type(exc).__name__
