"""Stopping long work from another thread: :class:`Cancellation`, checked between tiles and iterations.

A server that gives up on a request (it timed out, or its client left) must also stop the work it
started, or the thread pool keeps decoding what nobody will read::

    cancel = Cancellation(deadline_s=30)
    image = codec.decode(data, cancel=cancel)      # in a worker thread
    cancel.cancel()                                # from any thread: the decode raises soon after

The codec calls :meth:`Cancellation.check` before each tile and each iteration, so work stops
within one tile-iteration of the network (a fraction of a second for the default tiles).
"""

from __future__ import annotations

import threading
import time
from typing import Optional

from .errors import CancelledError

__all__ = ["Cancellation", "CancelledError"]


class Cancellation:
    """A flag another thread sets, and an optional deadline, that long work checks as it goes.

    Args:
        deadline_s: seconds from now after which :meth:`check` raises (``None``: no deadline).
    """

    def __init__(self, deadline_s: Optional[float] = None) -> None:
        self._event = threading.Event()
        self._deadline = None if deadline_s is None else time.monotonic() + deadline_s
        self.reason = ""

    def cancel(self, reason: str = "cancelled") -> None:
        """Ask the work to stop (thread-safe; the work raises at its next check)."""
        self.reason = reason
        self._event.set()

    @property
    def cancelled(self) -> bool:
        """Whether :meth:`cancel` was called or the deadline has passed."""
        if self._deadline is not None and not self._event.is_set() and time.monotonic() > self._deadline:
            self.cancel("deadline passed")
        return self._event.is_set()

    def check(self) -> None:
        """Raise :class:`CancelledError` if the work should stop."""
        if self.cancelled:
            raise CancelledError(f"decoding stopped: {self.reason}")
