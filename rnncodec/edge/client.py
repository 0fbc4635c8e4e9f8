"""The client of ``rnc serve``: send an image or a ``.rnc`` file, get the answer and what it cost.

::

    >>> from rnncodec.edge.client import EdgeClient
    >>> with EdgeClient("http://127.0.0.1:8000", codec_weights="tiny.pt") as client:   # doctest: +SKIP
    ...     answer = client.send("photo.png", task="classify", progressive=True, stop_at_confidence=0.9)
    ...     print(answer.result.top[0].label, answer.bytes_sent, answer.payload.original_bytes)

:meth:`EdgeClient.send` encodes an image first (with ``codec_weights``, by default the shipped weights
for recognition, :data:`~rnncodec.weights.RECOGNITION_WEIGHTS`), then
either POSTs the file (:meth:`EdgeClient.recognize`) or streams it an iteration at a time over the
WebSocket and stops as soon as the server is sure (:meth:`EdgeClient.stream`).  ``bytes_sent``
counts the file bytes that crossed the network (not HTTP or WebSocket framing).
"""

from __future__ import annotations

import http.client
import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Union
from urllib.parse import urlencode

from ..formats import read, spec, truncate
from ..recognition.results import Classification, ClassScore, Detection, Detections, Result
from ..weights import RECOGNITION_WEIGHTS
from . import protocol
from .errors import EdgeConnectionError, ServerError

__all__ = ["EdgeClient", "Payload", "Answer", "STREAM_ITERATIONS", "split_iterations", "result_from_record"]

Source = Union[str, os.PathLike, bytes]

#: Iterations an image is encoded with for a stream: the server takes what it needs of them.
STREAM_ITERATIONS = 8


@dataclass(frozen=True)
class Payload:
    """What a client sends.

    Attributes:
        data: the bytes (a ``.rnc`` file, or a plain image when sending the original).
        kind: ``"rnc"`` or ``"image"``.
        name: the input's name (the record's ``file``).
        file_bytes: size of the whole ``.rnc`` file (``data`` may be cut to fewer iterations).
        original_bytes: size of the original image file, when known (for a ``.rnc`` input, the
            ``source_bytes`` its metadata records).
    """

    data: bytes
    kind: str
    name: str
    file_bytes: int
    original_bytes: Optional[int] = None


@dataclass(frozen=True)
class Answer:
    """The server's answer and what it cost.

    Attributes:
        record: the record of ``rnc classify/detect --json`` (``progressive`` for a stream).
        bytes_sent: file bytes sent to the server.
        payload: what was (or could have been) sent.
        steps: a stream's ``step`` messages, one per iteration; empty for a POST.
        reason: why a stream ended (``confident``, ``complete``, ``end``); ``None`` for a POST.
    """

    record: dict[str, Any]
    bytes_sent: int
    payload: Payload
    steps: list[dict[str, Any]] = field(default_factory=list)
    reason: Optional[str] = None

    @property
    def result(self) -> Result:
        """The final result, typed."""
        return result_from_record(self.record)


def result_from_record(record: dict[str, Any]) -> Result:
    """The :class:`Classification` or :class:`Detections` whose ``results`` a record (or step) holds."""
    if record["task"] == Classification.task:
        return Classification(tuple(ClassScore(r["index"], r["label"], r["probability"]) for r in record["results"]))
    return Detections(tuple(Detection(tuple(r["box"]), r["index"], r["label"], r["score"]) for r in record["results"]))


def split_iterations(data: bytes) -> tuple[bytes, list[bytes]]:
    """A ``.rnc`` file as the stream sends it: the bytes before the first iteration, then each
    iteration's chunk (the end chunk is not needed: the server stops at the declared count)."""
    rnc = read(data, strict=False)
    chunks = [chunk for chunk in rnc.chunks if chunk.type == spec.CHUNK_ITERATION]
    start = chunks[0].offset if chunks else rnc.file_bytes
    return data[:start], [data[chunk.offset:chunk.offset + chunk.size] for chunk in chunks]


class EdgeClient:
    """A client of one server; use it as a context manager, or :meth:`close`.

    HTTP requests go through the standard library (``urllib.request``, one connection each, proxies
    from the environment as usual); streams through ``websockets``.

    Args:
        url: the server, e.g. ``http://127.0.0.1:8000``.
        timeout: seconds to wait for the connection and for each answer.
        codec_weights: codec weights to encode images with (shipped name or file; ``None``: the
            shipped weights for recognition, :data:`rnncodec.weights.RECOGNITION_WEIGHTS`).
        encode_options: more arguments of :func:`rnncodec.encode` for the images it encodes, e.g.
            ``{"max_bytes": 4000}`` — a byte budget per photo (then ``iterations`` is the most used).
            Its files are written with ``strip_metadata=True`` unless this says otherwise: the server
            reads nothing of the metadata but a downscaled photo's ``source_size``, which is kept.
    """

    def __init__(self, url: str, *, timeout: float = 60.0, codec_weights: Union[None, str, os.PathLike] = None,
                 encode_options: Optional[dict[str, Any]] = None):
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.codec_weights = codec_weights
        self.encode_options = dict(encode_options or {})

    def __enter__(self) -> "EdgeClient":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Nothing stays open between requests; kept so that the client is a context manager."""

    # -- information --------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """``GET /v1/health``."""
        return self._get(protocol.HEALTH_PATH)

    def models(self) -> dict[str, Any]:
        """``GET /v1/models``: the recognizer of each task and the codec weights."""
        return self._get(protocol.MODELS_PATH)

    # -- sending ------------------------------------------------------------------------------

    def prepare(self, source: Source, *, iterations: Optional[int] = None, original: bool = False,
                name: Optional[str] = None, default_iterations: int = 2) -> Payload:
        """What :meth:`send` sends for ``source`` (a path, or the bytes of a file).

        An image is encoded with ``iterations`` (default: ``default_iterations``; with a size or
        quality target among the client's ``encode_options``, the most to use, default the
        encoder's), unless ``original``: then it is sent as it is.  A ``.rnc`` file is cut to its first
        ``iterations`` (default: all).
        """
        data = Path(source).read_bytes() if isinstance(source, (str, os.PathLike)) else bytes(source)
        name = name or (Path(source).name if isinstance(source, (str, os.PathLike)) else "upload")
        if data.startswith(spec.SIGNATURE):
            rnc = read(data, strict=False)
            sent = truncate(data, iterations, strict=False) if iterations and iterations < rnc.iterations else data
            return Payload(sent, "rnc", name, len(data), (rnc.metadata or {}).get("source_bytes"))
        if original:
            return Payload(data, "image", name, len(data), len(data))
        from ..codec import encode

        targeted = any(self.encode_options.get(key) is not None for key in ("max_bytes", "target_bpp", "quality"))
        weights = self.codec_weights if self.codec_weights is not None else RECOGNITION_WEIGHTS
        options = {"strip_metadata": True, **self.encode_options}  # the server reads none of it: bytes saved
        encoded = encode(data, iterations or (None if targeted else default_iterations), weights=weights, **options)
        return Payload(encoded, "rnc", name, len(encoded), len(data))

    def send(self, source: Source, task: str = "classify", *, progressive: bool = False,
             stop_at_confidence: Optional[float] = None, iterations: Optional[int] = None, original: bool = False,
             **options: Any) -> Answer:
        """Prepare ``source`` (:meth:`prepare`) and send it: streamed when ``progressive`` or a
        ``stop_at_confidence`` is given (an image is then encoded with :data:`STREAM_ITERATIONS`
        unless told), else in one POST.  ``options``: ``top_k``, ``threshold``."""
        progressive = progressive or stop_at_confidence is not None
        if progressive and original:
            raise ValueError("an original image cannot be streamed progressively; send a .rnc file")
        payload = self.prepare(source, iterations=iterations, original=original,
                               default_iterations=STREAM_ITERATIONS if progressive else 2)
        if progressive:
            return self.stream(payload, task, stop_at_confidence=stop_at_confidence, **options)
        return self.recognize(payload, task, **options)

    def recognize(self, payload: Union[Payload, bytes], task: str = "classify", *, iterations: Optional[int] = None,
                  top_k: Optional[int] = None, threshold: Optional[float] = None, lenient: bool = False) -> Answer:
        """``POST /v1/<task>`` the payload (or raw bytes): one answer."""
        payload = _as_payload(payload)
        params = _params(name=payload.name, iterations=iterations, top_k=top_k, threshold=threshold,
                         lenient="true" if lenient else None)
        record = self._request(protocol.task_path(task), params, payload.data)
        return Answer(record, len(payload.data), payload)

    def stream(self, payload: Union[Payload, bytes], task: str = "classify", *,
               stop_at_confidence: Optional[float] = None, top_k: Optional[int] = None,
               threshold: Optional[float] = None, on_step: Optional[Callable[[dict[str, Any]], None]] = None) -> Answer:
        """Stream a ``.rnc`` payload over ``WS /v1/<task>/stream``, one iteration at a time, until
        the server says stop (confident, or the last iteration) or the iterations run out.

        Args:
            stop_at_confidence: stop once the answer's confidence reaches this (``None``: the
                server's default, if it has one).
            on_step: called with each ``step`` message as it arrives.
        """
        from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI
        from websockets.sync.client import connect

        payload = _as_payload(payload)
        head, chunks = split_iterations(payload.data)
        query = urlencode(_params(name=payload.name, stop_at_confidence=stop_at_confidence, top_k=top_k,
                                  threshold=threshold))
        url = f"{'ws' + self.url[4:] if self.url.startswith('http') else self.url}{protocol.stream_path(task)}"
        steps: list[dict[str, Any]] = []
        try:
            with connect(f"{url}?{query}" if query else url, open_timeout=self.timeout, close_timeout=5,
                         max_size=2 ** 24) as websocket:
                conversation = _Conversation(websocket, self.timeout)
                conversation.send(head)
                conversation.expect(protocol.HEADER)
                for chunk in chunks:
                    conversation.send(chunk)
                    step = conversation.expect(protocol.STEP)
                    steps.append(step)
                    if on_step is not None:
                        on_step(step)
                    if step["stop"]:
                        break
                else:
                    websocket.send(json.dumps({"type": protocol.END}))
                done = conversation.expect(protocol.DONE)
        except (OSError, TimeoutError, ConnectionClosed, InvalidHandshake, InvalidURI) as exc:
            raise EdgeConnectionError(f"stream to {url} failed: {exc or type(exc).__name__}") from None
        return Answer(done["record"], conversation.sent, payload, steps, done["reason"])

    def _get(self, path: str) -> dict[str, Any]:
        return self._request(path)

    def _request(self, path: str, params: Optional[dict[str, Any]] = None, data: Optional[bytes] = None
                 ) -> dict[str, Any]:
        """``GET`` (or ``POST`` of ``data``) ``path`` with the query ``params``: the JSON answer."""
        url = f"{self.url}{path}?{urlencode(params)}" if params else f"{self.url}{path}"
        headers = {} if data is None else {"content-type": "application/octet-stream"}
        request = urllib.request.Request(url, data=data, headers=headers, method="GET" if data is None else "POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                status, content, reason = response.status, response.read(), response.reason
        except urllib.error.HTTPError as answer:  # a non-2xx answer: the server's error
            with answer:
                status, content, reason = answer.code, answer.read(), str(answer.reason)
        except (OSError, http.client.HTTPException, ValueError) as exc:  # URLError, timeouts, resets, a bad URL
            reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
            raise EdgeConnectionError(f"cannot reach {self.url}: {reason or type(exc).__name__}") from None
        return _json_or_raise(status, content, reason)


class _Conversation:
    """The client's side of a stream: bytes sent, and the next message of an expected type."""

    def __init__(self, websocket: Any, timeout: float) -> None:
        self.websocket = websocket
        self.timeout = timeout
        self.sent = 0

    def send(self, data: bytes) -> None:
        self.websocket.send(data)
        self.sent += len(data)

    def expect(self, kind: str) -> dict[str, Any]:
        """The next message, which must be of type ``kind``; an error message raises ServerError."""
        from websockets.exceptions import ConnectionClosed

        try:
            message = json.loads(self.websocket.recv(timeout=self.timeout))
        except ConnectionClosed as exc:  # an error message, if any, came before the close
            raise ServerError(exc.rcvd.code if exc.rcvd else 1006, "closed",
                              f"the server closed the stream ({exc.rcvd or 'no close frame'})") from None
        if message.get("type") == protocol.ERROR:
            error = message["error"]
            raise ServerError(self._close_code(), error["code"], error["message"])
        if message.get("type") != kind:
            raise ServerError(protocol.CLOSE_CLIENT_ERROR, "protocol_error",
                              f"expected a {kind!r} message, got {message.get('type')!r}")
        return message

    def _close_code(self) -> int:
        """The close code that follows an error message."""
        from websockets.exceptions import ConnectionClosed

        try:
            self.websocket.recv(timeout=self.timeout)
        except ConnectionClosed as exc:
            return exc.rcvd.code if exc.rcvd else 1006
        return protocol.CLOSE_CLIENT_ERROR


def _as_payload(payload: Union[Payload, bytes]) -> Payload:
    if isinstance(payload, Payload):
        return payload
    data = bytes(payload)
    return Payload(data, "rnc" if data.startswith(spec.SIGNATURE) else "image", "upload", len(data))


def _params(**values: Any) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


def _json_or_raise(status: int, content: bytes, reason: str) -> dict[str, Any]:
    """The JSON body of a 2xx answer; a :class:`ServerError` with the server's code otherwise."""
    try:
        body = json.loads(content)
    except ValueError:  # not JSON, or not UTF-8
        body = None
    if 200 <= status < 300 and isinstance(body, dict):
        return body
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        raise ServerError(status, error.get("code", "error"), error.get("message", ""))
    raise ServerError(status, "http_error", content[:200].decode("utf-8", "replace") or reason)
