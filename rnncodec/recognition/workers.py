"""Decoding in threads, so that decoding overlaps recognition and uses every core.

Decoding a ``.rnc`` file costs more than classifying it, and the codec's small element-wise
operations scale poorly over torch's intra-op threads (every operation waits for the slowest
thread).  Independent files scale better: :class:`ConcurrentDecoding` decodes ``workers`` files at
once in threads while the caller recognises what they have decoded; run with one torch thread
per operation (``torch.set_num_threads(1)``), each thread keeps one core busy, and torch releases
the GIL inside its operations.  Threads, not processes: no second copy of torch and the codec to
start, and nothing to pickle.  At most ``ahead`` files are decoded before they are consumed, so
memory stays bounded on any number of files.
"""

from __future__ import annotations

import itertools
from collections import deque
from pathlib import Path
from typing import Iterable, Optional, Union

from .inputs import Decoded, InputDecoder

__all__ = ["ConcurrentDecoding"]


class ConcurrentDecoding:
    """``(path, decoded)`` for each path, in order; ``decoded`` is the exception raised when the
    file could not be decoded.  Decoding starts at the call, not at the first ``next()``, so the
    caller can load its recognizer meanwhile; :meth:`close` stops early (files not yet started
    are dropped).  Also a context manager that closes.

    Args:
        decoder: decodes each path (:meth:`InputDecoder.decode`); its codecs are shared by the threads.
        paths: the files.
        iterations: as for :meth:`InputDecoder.decode`.
        workers: decoding threads.
        ahead: how many files may be decoded before they are consumed (at least ``workers``).
    """

    def __init__(self, decoder: InputDecoder, paths: Iterable[Path], *, iterations: Optional[int] = None,
                 workers: int = 2, ahead: int = 32) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self._decoder, self._iterations = decoder, iterations
        self._paths = iter(paths)
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="rnc-decode")
        self._pending = deque((path, self._pool.submit(self._decode, path))
                              for path in itertools.islice(self._paths, max(ahead, workers)))

    def _decode(self, path: Path) -> Union[Decoded, Exception]:
        try:
            return self._decoder.decode(path, self._iterations)
        except Exception as exc:  # noqa: BLE001 - reported per file by the caller
            return exc

    def __iter__(self) -> "ConcurrentDecoding":
        return self

    def __next__(self) -> tuple[Path, Union[Decoded, Exception]]:
        if not self._pending:
            self.close()
            raise StopIteration
        path, future = self._pending.popleft()
        following = next(self._paths, None)
        if following is not None:
            self._pending.append((following, self._pool.submit(self._decode, following)))
        return path, future.result()

    def close(self) -> None:
        """Drop the files not started, wait for those being decoded."""
        self._pending.clear()
        self._pool.shutdown(cancel_futures=True)

    def __enter__(self) -> "ConcurrentDecoding":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
