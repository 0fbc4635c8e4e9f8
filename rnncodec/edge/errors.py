"""Typed errors of the edge server and client.

Server side, a :class:`RequestError` is a request the server refuses: it carries the HTTP status,
the error code of the JSON answer and the WebSocket close code.  :func:`as_request_error` turns the
project's own typed errors (a corrupt or truncated ``.rnc`` file, weights that do not match, …)
into one, keeping their message.  Client side, :class:`ServerError` is such an answer received, and
:class:`EdgeConnectionError` a server that could not be reached.
"""

from __future__ import annotations

from typing import Optional

from ..errors import (CancelledError, ImageTooLargeError, UnknownWeightsError, UnsupportedImageError,
                      WeightsMismatchError)
from ..formats.errors import (CorruptChunkError, LimitExceededError, NotRNCError, RNCError, TruncatedFileError,
                              UnknownCriticalChunkError, UnsupportedCoderError, UnsupportedVersionError)
from . import protocol

__all__ = ["EdgeError", "RequestError", "EmptyBodyError", "BodyTooLargeError", "TooManyPixelsError",
           "UnsupportedBodyError", "UnknownCodecWeightsError", "InvalidParameterError", "StreamProtocolError",
           "TaskNotServedError", "BusyError", "RequestTimeoutError", "BodyTimeoutError", "as_request_error", "ServerError",
           "EdgeConnectionError"]


class EdgeError(RNCError):
    """Root of the edge server's and client's errors."""


class RequestError(EdgeError):
    """A request the server refuses.

    Attributes:
        status: the HTTP status of the answer.
        code: the ``error.code`` of the JSON answer (stable; clients may branch on it).
        close_code: the WebSocket close code when it ends a stream.
    """

    status = 400
    code = "bad_request"
    close_code = protocol.CLOSE_CLIENT_ERROR

    def __init__(self, message: str, *, status: Optional[int] = None, code: Optional[str] = None,
                 close_code: Optional[int] = None) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code
        if close_code is not None:
            self.close_code = close_code

    #: Extra HTTP headers of the answer.
    headers: Optional[dict[str, str]] = None

    def body(self) -> dict:
        """``{"error": {"code", "message"}}``."""
        return protocol.error_body(self.code, str(self))


class EmptyBodyError(RequestError):
    """A request without a body."""

    status, code = 400, "empty_body"


class BodyTooLargeError(RequestError):
    """More bytes than ``--max-body-bytes``."""

    status, code, close_code = 413, "body_too_large", protocol.CLOSE_TOO_BIG


class TooManyPixelsError(RequestError):
    """A plain image over ``--max-pixels`` (a ``.rnc`` file over it raises LimitExceededError)."""

    status, code, close_code = 413, "limit_exceeded", protocol.CLOSE_TOO_BIG


class UnsupportedBodyError(RequestError):
    """A body that is neither a ``.rnc`` file nor an image Pillow can read."""

    status, code = 415, "unsupported_body"


class UnknownCodecWeightsError(RequestError):
    """A ``.rnc`` file coded with weights the server does not have."""

    status, code = 422, "unknown_codec_weights"


class InvalidParameterError(RequestError):
    """A query parameter of the wrong type or out of range."""

    status, code = 422, "invalid_parameter"


class StreamProtocolError(RequestError):
    """A stream message out of place (text before the header, an unknown message type, …)."""

    status, code = 400, "protocol_error"


class TaskNotServedError(RequestError):
    """A task the server was not started with (``--task``)."""

    status, code = 404, "task_not_served"


class BusyError(RequestError):
    """More work than the worker takes at once (``--max-streams``, ``--max-requests``,
    ``--max-pixels-in-flight``): shed, not queued; the answer says when to retry."""

    status, code, close_code = 503, "busy", protocol.CLOSE_BUSY
    #: Seconds a client should wait before trying again (the ``Retry-After`` header).
    retry_after_s = 1
    headers = {"Retry-After": str(retry_after_s)}


class RequestTimeoutError(RequestError):
    """A request or stream over ``--timeout`` or ``--stream-timeout``."""

    status, code = 504, "timeout"


class BodyTimeoutError(RequestError):
    """A client that stopped sending its body for ``--header-timeout`` seconds."""

    status, code = 408, "body_timeout"


#: The project's typed errors a request can cause → (HTTP status, error code); first match wins.
_LIBRARY_ERRORS: tuple[tuple[tuple[type[Exception], ...], int, str], ...] = (
    ((LimitExceededError,), 413, "limit_exceeded"),
    ((CancelledError,), 504, "timeout"),
    ((TruncatedFileError,), 400, "truncated_rnc"),
    ((CorruptChunkError,), 400, "corrupt_rnc"),
    ((NotRNCError,), 400, "not_rnc"),
    ((UnsupportedVersionError, UnsupportedCoderError, UnknownCriticalChunkError), 422, "unsupported_rnc"),
    ((WeightsMismatchError,), 422, "weights_mismatch"),
    ((UnsupportedImageError,), 415, "unsupported_body"),
)


#: Library errors with a server-side cause → the refusal, and the server option to name in it.
_SERVER_LIMITS: tuple[tuple[type[Exception], type[RequestError], str], ...] = (
    (ImageTooLargeError, TooManyPixelsError, "--max-pixels"),
    (UnknownWeightsError, UnknownCodecWeightsError, "rnc serve --codec-weights FILE"),
)


def as_request_error(exc: BaseException) -> Optional[RequestError]:
    """The refusal for ``exc`` (its own message, one line), or ``None`` when it is a server fault."""
    if isinstance(exc, RequestError):
        return exc
    for library, refusal, option in _SERVER_LIMITS:
        if isinstance(exc, library):
            return refusal(f"{' '.join(str(exc).split())} ({option})")
    for classes, status, code in _LIBRARY_ERRORS:
        if isinstance(exc, classes):
            return RequestError(" ".join(str(exc).split()), status=status, code=code,
                                close_code=protocol.CLOSE_TOO_BIG if status == 413 else None)
    return None


class ServerError(EdgeError):
    """The server refused a request or a stream (client side).

    Attributes:
        status: the HTTP status (for a stream, the WebSocket close code).
        code: the answer's ``error.code``.
    """

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"server: {message} ({code}, {status})")
        self.status = status
        self.code = code


class EdgeConnectionError(EdgeError, ConnectionError):
    """The server could not be reached, or the connection broke."""
