"""Slow clients: a connection must send a request's headers within ``--header-timeout`` or be closed.

uvicorn's HTTP/1.1 protocol (h11) waits for a request's headers as long as the client keeps the
connection open: a client that trickles a byte now and then holds a file descriptor and a buffer
forever, and a few thousand such clients hold the server.  :class:`HeadTimeoutProtocol` arms a timer
whenever the connection waits for a request head — when it opens, and after each answer (where
uvicorn's keep-alive timer stops at the first byte) — and closes the connection if the head is not
complete when it fires.  Bodies have their own pause limit (:func:`rnncodec.edge.app`'s reader).
The timeout is uvicorn's ``timeout_keep_alive``, which ``rnc serve`` sets to ``--header-timeout``.
"""

from __future__ import annotations

import asyncio
from typing import Any, Optional

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["HeadTimeoutProtocol"]


class HeadTimeoutProtocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline on each request head."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_timer: Optional[asyncio.TimerHandle] = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._watch_head()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._watch_head()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._watch_head()

    def connection_lost(self, exc: Optional[Exception]) -> None:
        self._stop_head_timer()
        super().connection_lost(exc)

    def _watch_head(self) -> None:
        """Arm the timer while the connection waits for a head; stop it once the head is in."""
        waiting = self.conn.their_state is h11.IDLE and not self.transport.is_closing()
        if waiting and self._head_timer is None:
            self._head_timer = self.loop.call_later(self.timeout_keep_alive, self._head_timed_out)
        elif not waiting:
            self._stop_head_timer()

    def _stop_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()
