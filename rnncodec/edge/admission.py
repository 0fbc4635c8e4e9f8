"""Admission control: what one worker takes on at once; the rest is shed at once (503 + Retry-After).

A server that queues every request lets a few expensive ones (large images, many iterations) make
every cheap one wait until it times out.  :class:`Admission` bounds two things per worker:

* **requests in flight** (``--max-requests``): one more gets ``503 busy`` before its body is read;
* **pixels being decoded** (``--max-pixels-in-flight``): a request or stream is admitted with the
  pixels of its image — known from the ``.rnc`` header or the image's own header before any
  decoding — only while the total stays within the budget, so one image of ``--max-pixels`` is
  decoded alongside ordinary ones and a second large one is refused instead of queued.

Refusals are :class:`~.errors.BusyError` (HTTP 503 with ``Retry-After``, WebSocket close 1013).
The counters are thread-safe: the decoding threads take and give back pixels.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator

from .errors import BusyError

__all__ = ["Admission"]


class Admission:
    """The budgets of one worker.

    Args:
        max_requests: HTTP requests in flight at once.
        max_pixels: pixels decoded at once, over all requests and streams (one image is always
            admitted when nothing else is decoding, whatever its size).
    """

    def __init__(self, *, max_requests: int, max_pixels: int) -> None:
        self.max_requests = max_requests
        self.max_pixels = max_pixels
        self.requests = 0
        self.pixels = 0
        self.shed = 0
        self._lock = threading.Lock()

    @contextmanager
    def request(self) -> Iterator[None]:
        """Hold a request slot for the block; :class:`BusyError` when none is free."""
        with self._lock:
            if self.requests >= self.max_requests:
                self.shed += 1
                raise BusyError(f"{self.requests} requests are in progress, the most this worker takes "
                                "(--max-requests); try again later")
            self.requests += 1
        try:
            yield
        finally:
            with self._lock:
                self.requests -= 1

    def take(self, pixels: int) -> None:
        """Take ``pixels`` of the decoding budget (give them back with :meth:`give`)."""
        with self._lock:
            if self.pixels and self.pixels + pixels > self.max_pixels:
                self.shed += 1
                raise BusyError(f"{self.pixels:,} pixels are being decoded; {pixels:,} more would pass the "
                                f"{self.max_pixels:,} this worker decodes at once (--max-pixels-in-flight); "
                                "try again later")
            self.pixels += pixels

    def give(self, pixels: int) -> None:
        with self._lock:
            self.pixels -= pixels

    @contextmanager
    def decoding(self, pixels: int) -> Iterator[None]:
        """Hold ``pixels`` of the decoding budget for the block."""
        self.take(pixels)
        try:
            yield
        finally:
            self.give(pixels)

    def describe(self) -> dict[str, int]:
        """The counters, for ``GET /v1/health``."""
        return {"requests": self.requests, "pixels_decoding": self.pixels, "shed": self.shed}
