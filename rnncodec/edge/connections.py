"""Slow clients: a connection must send a request's headers within ``--header-timeout`` or be closed.

uvicorn's HTTP/1.1 protocol (h11) waits for a request's headers as long as the client keeps the
connection open: a client that trickles a byte now and then holds a file descriptor and a buffer
forever, and a few thousand such clients hold the server.  :class:`HeadTimeoutProtocol` arms a timer
whenever the connection waits for a request head — when it opens, and after each answer (where
uvicorn's keep-alive timer stops at the first byte) — and closes the connection if the head is not
complete when it fires.  Bodies have their own pause limit (:func:`rnncodec.edge.app`'s reader).
The timeout is uvicorn's ``timeout_keep_alive``, which ``rnc serve`` sets to ``--header-timeout``.

A new connection's time is counted from when the kernel took its first bytes, not from when the
server accepted it: during a burst, connections wait in the kernel's accept queue (2,000 opened in
0.3 s waited up to 0.45 s here), and a timer started at accept would close them that much later than
the client's clock says.  On Linux the kernel tells (``TCP_INFO``'s ``tcpi_last_data_recv``, in
milliseconds); elsewhere the clock starts at accept.  The timer fires :data:`CLOSE_LEAD` early, so
that the close has left the server by the deadline even when the event loop runs late under load
(measured: timers fired up to ~20 ms late with 2,000 connections on a loaded 2-core machine).
"""

from __future__ import annotations

import asyncio
import socket
import struct
from typing import Any, Optional

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["HeadTimeoutProtocol", "queued_seconds", "CLOSE_LEAD"]

#: Seconds before the header timeout at which the timer fires (event-loop lateness, see above).
CLOSE_LEAD = 0.025

#: ``struct tcp_info`` (linux/tcp.h) up to ``tcpi_last_data_recv``: 8 one-byte fields, then 32-bit
#: ``rto, ato, snd_mss, rcv_mss, unacked, sacked, lost, retrans, fackets, last_data_sent,
#: last_ack_sent, last_data_recv`` — a layout Linux has kept since 2.6.
_TCP_INFO = struct.Struct("8B12I")


def queued_seconds(sock: Optional[socket.socket]) -> float:
    """Seconds since the kernel last received data on the TCP socket ``sock`` (for a connection just
    accepted: its first bytes, or its handshake when none came yet); 0 where the kernel cannot tell."""
    if sock is None or not hasattr(socket, "TCP_INFO") or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return 0.0
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, _TCP_INFO.size)
    except OSError:
        return 0.0
    if len(info) < _TCP_INFO.size:
        return 0.0
    return _TCP_INFO.unpack(info)[-1] / 1000


class HeadTimeoutProtocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline on each request head."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_timer: Optional[asyncio.TimerHandle] = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._watch_head(already_waited=queued_seconds(transport.get_extra_info("socket")))

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._watch_head()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._watch_head()

    def connection_lost(self, exc: Optional[Exception]) -> None:
        self._stop_head_timer()
        super().connection_lost(exc)

    def _watch_head(self, already_waited: float = 0.0) -> None:
        """Arm the timer while the connection waits for a head (for what is left of the timeout after
        ``already_waited`` seconds); stop it once the head is in."""
        waiting = self.conn.their_state is h11.IDLE and not self.transport.is_closing()
        if waiting and self._head_timer is None:
            delay = max(0.0, self.timeout_keep_alive - already_waited - CLOSE_LEAD)
            self._head_timer = self.loop.call_later(delay, self._head_timed_out)
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
