"""The progressive stream: a WebSocket per image, one answer per iteration, stop when sure.

The client sends the ``.rnc`` bytes as binary frames — the part before the first iteration (the
header), then one iteration chunk per frame — and waits for the answer to each before sending the
next.  Any split of the bytes works (the server parses them as they come); one iteration per
frame is what lets the client stop sending.  The server answers:

1. ``{"type": "header", ...}`` once the header is read (weights checked, decoder ready);
2. ``{"type": "step", ...}`` after each iteration, decoded incrementally and recognised, with
   ``"stop": true`` when the confidence reached ``stop_at_confidence`` or the last iteration the
   header declares has been used;
3. ``{"type": "done", "reason": ..., "record": ...}`` then closes (code 1000).  ``reason`` is
   ``confident``, ``complete`` or ``end`` (the client sent ``{"type": "end"}``: no more iterations).

On an error the server sends ``{"type": "error", "error": {"code", "message"}}`` and closes with the
code of :mod:`.protocol`.  A client that goes away mid-stream — closing, or resetting the
connection — ends the handler at its next ``receive`` or ``send``; whatever way the stream ends, its
decoding is cancelled, its pixels go back to the worker's budget and its state is dropped.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from typing import TYPE_CHECKING, Any, Mapping, Optional, Union

from starlette.websockets import WebSocket, WebSocketDisconnect

from ..cancel import Cancellation
from ..formats import EndEvent, HeaderEvent, IterationEvent
from ..recognition import Step, build_record
from . import protocol
from .config import ServerConfig
from .errors import (BodyTooLargeError, BusyError, InvalidParameterError, RequestError, RequestTimeoutError,
                     StreamProtocolError, as_request_error)

if TYPE_CHECKING:
    from ..recognition import Decoded, Recognizer, Result
    from .app import ServerState

__all__ = ["StreamOptions", "serve_stream"]

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class StreamOptions:
    """The query parameters of a stream: ``stop_at_confidence``, ``top_k``, ``threshold``, ``name``."""

    stop_at_confidence: Optional[float]
    top_k: int
    threshold: float
    name: str

    @classmethod
    def parse(cls, query: Mapping[str, str], defaults: ServerConfig) -> "StreamOptions":
        """From the URL's query, with the server's defaults."""
        def number(key: str, kind: type, default: Any, low: float, high: float) -> Any:
            text = query.get(key)
            if text is None:
                return default
            try:
                value = kind(text)
            except ValueError:
                raise InvalidParameterError(f"{key}: {text!r} is not a {kind.__name__}") from None
            if not low <= value <= high:
                raise InvalidParameterError(f"{key}: {value} is not between {low} and {high}")
            return value

        return cls(stop_at_confidence=number("stop_at_confidence", float, defaults.stop_at_confidence, 0.0, 1.01),
                   top_k=number("top_k", int, defaults.top_k, 1, 1000),
                   threshold=number("threshold", float, defaults.threshold, 0.0, 1.0),
                   name=query.get("name", "stream"))


async def serve_stream(websocket: WebSocket, state: "ServerState", task: str) -> None:
    """Run one stream to its end; never raises for what the client did (it gets an error message)."""
    await websocket.accept()
    config = state.engine.config
    try:
        options = StreamOptions.parse(websocket.query_params, config)
        recognizer = state.engine.recognizer(task)  # TaskNotServedError before a stream slot is taken
        if state.streams >= config.max_streams:
            raise BusyError(f"{state.streams} streams are open, the most this worker takes (--max-streams); "
                            "try again later")
        state.streams += 1
        stream = _Stream(websocket, state, task, recognizer, options)
        try:
            await asyncio.wait_for(stream.run(), config.stream_timeout)
        finally:
            state.streams -= 1
            stream.close()
            del stream  # nothing of the stream outlives it, even in a logged traceback
    except (WebSocketDisconnect, OSError):  # the client closed, or reset the connection (uvicorn's
        log.debug("stream client left")    # ClientDisconnected is an OSError)
    except asyncio.TimeoutError:
        await _refuse(websocket, RequestTimeoutError(f"the stream took more than {config.stream_timeout:g} s "
                                                     "(--stream-timeout)"))
    except Exception as exc:
        error = as_request_error(exc)
        if error is None:
            log.exception("stream failed")
            error = RequestError("internal error (see the server's log)", status=500, code="internal_error",
                                 close_code=protocol.CLOSE_INTERNAL)
        await _refuse(websocket, error)


async def _refuse(websocket: WebSocket, error: RequestError) -> None:
    """Send the error message and close; the client may be gone already."""
    try:
        await websocket.send_json({"type": protocol.ERROR, **error.body()})
        await websocket.close(code=error.close_code, reason=error.code)
    except (WebSocketDisconnect, RuntimeError):  # gone, or closed meanwhile
        pass


class _Stream:
    """One stream's loop: receive, parse, refine, recognise, answer."""

    def __init__(self, websocket: WebSocket, state: "ServerState", task: str, recognizer: "Recognizer",
                 options: StreamOptions) -> None:
        self.websocket = websocket
        self.state = state
        self.options = options
        self.recognizer = recognizer
        self.batcher = state.batchers[task]
        self.session = state.engine.inputs.stream(options.name)
        self.max_bytes = state.engine.config.max_body_bytes
        self.cancel = Cancellation()
        self.steps: list[Step] = []
        self.last: Optional[tuple["Decoded", "Result"]] = None

    def close(self) -> None:
        """Stop the stream's work and free its state (the handler's end, whatever the cause)."""
        self.cancel.cancel("the stream ended")
        self.session.close()
        self.steps, self.last = [], None

    async def run(self) -> None:
        while True:
            message = await self._receive()
            if isinstance(message, dict):
                if self.last is None:
                    raise StreamProtocolError("the stream ended before any iteration was sent")
                return await self._finish("end")
            if self.session.received + len(message) > self.max_bytes:
                raise BodyTooLargeError(f"the stream sent more than the {self.max_bytes:,} bytes this server "
                                        "accepts (--max-body-bytes)")
            for event in await self.state.run(self.session.feed, message):
                if isinstance(event, HeaderEvent):
                    await self.websocket.send_json(self._header_message())
                elif isinstance(event, IterationEvent):
                    if await self._step(event):
                        return
                elif isinstance(event, EndEvent):
                    return await self._finish("complete")

    async def _step(self, event: IterationEvent) -> bool:
        """Refine, recognise and answer; True when the stream is over."""
        decoded = await self.state.run(self.session.refine, event, self.cancel)
        result = await self.batcher.predict(decoded.image, top_k=self.options.top_k, threshold=self.options.threshold)
        self.steps.append(Step(event.index, decoded.sample.bytes_read, result))
        self.last = (decoded, result)
        stop_at = self.options.stop_at_confidence
        confident = stop_at is not None and result.confidence >= stop_at
        complete = event.index == self.session.header.iterations
        await self.websocket.send_json({"type": protocol.STEP, "iterations": event.index,
                          "iterations_in_file": self.session.header.iterations,
                          "bytes_read": decoded.sample.bytes_read, "bytes_received": self.session.received,
                          "confidence": round(result.confidence, 6), "results": result.to_list(),
                          "stop": confident or complete})
        if confident or complete:
            await self._finish("confident" if confident else "complete")
        return confident or complete

    async def _finish(self, reason: str) -> None:
        decoded, result = self.last
        sample = dataclasses.replace(decoded.sample, file_bytes=self.session.received)
        record = build_record(sample, result, recognizer=self.recognizer.name, steps=self.steps,
                              stop_at=self.options.stop_at_confidence)
        await self.websocket.send_json({"type": protocol.DONE, "reason": reason, "record": record})
        await self.websocket.close(code=protocol.CLOSE_NORMAL)

    def _header_message(self) -> dict[str, Any]:
        header = self.session.header
        return {"type": protocol.HEADER, "width": header.width, "height": header.height, "mode": header.mode,
                "iterations": header.iterations, "coder": header.coder, "architecture": header.architecture,
                "bytes_received": self.session.received, "stop_at_confidence": self.options.stop_at_confidence,
                "max_bytes": self.max_bytes}

    async def _receive(self) -> Union[bytes, dict]:
        """The next binary frame, or a text frame's JSON object (only ``{"type": "end"}`` is known)."""
        timeout = self.state.engine.config.timeout
        try:
            message = await asyncio.wait_for(self.websocket.receive(), timeout)
        except asyncio.TimeoutError:
            raise RequestTimeoutError(f"no message for {timeout:g} s (--timeout)") from None
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1006))
        if message.get("bytes") is not None:
            return message["bytes"]
        try:
            body = json.loads(message.get("text") or "")
        except ValueError:
            body = None
        if not isinstance(body, dict) or body.get("type") != protocol.END:
            raise StreamProtocolError('a text frame must be {"type": "end"}; send the .rnc bytes as binary frames')
        return body
