"""The FastAPI application of ``rnc serve``: routes, error answers, the models' life cycle.

:func:`create_app` builds the application; uvicorn calls it once in each worker process (as a
factory, reading :class:`~.config.ServerConfig` from the environment), so the models load once per
worker, when the application starts.  CPU work — decoding bodies, running the recognizers — runs
in the engine's thread pool, never on the event loop; the recognizers see micro-batches
(:mod:`.batcher`).  The service keeps nothing between requests: each request or stream carries all
it needs, so any worker of any machine can take any of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Callable, Optional, TypeVar

from fastapi import FastAPI, Query, Request, WebSocket
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.requests import ClientDisconnect
from starlette.exceptions import HTTPException

from .. import __version__
from ..cancel import Cancellation
from ..formats.errors import RNCError
from ..recognition import build_record
from . import protocol
from .batcher import MicroBatcher
from .config import ServerConfig
from .engine import Engine
from .errors import (BodyTimeoutError, BodyTooLargeError, InvalidParameterError, RequestError, RequestTimeoutError,
                     as_request_error)
from .page import add_page_routes
from .streaming import serve_stream

__all__ = ["create_app", "ServerState"]

log = logging.getLogger(__name__)
T = TypeVar("T")

#: The request body of POST /v1/classify and /v1/detect in the OpenAPI schema: raw bytes.
_RAW_BODY = {"requestBody": {"required": True, "description": "A .rnc file, or a plain image (PNG, JPEG, …)",
                             "content": {"application/octet-stream": {"schema": {"type": "string",
                                                                                 "format": "binary"}}}}}
_ERROR_SCHEMA = {"type": "object", "properties": {"error": {"type": "object", "properties": {
    "code": {"type": "string"}, "message": {"type": "string"}}}}}
_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The record of `rnc classify/detect --json` (schema 1; see docs/server.md)"},
    **{status: {"description": text, "content": {"application/json": {"schema": _ERROR_SCHEMA}}}
       for status, text in ((400, "Empty, truncated or corrupt .rnc body, or a bad stream"),
                            (404, "The server does not serve this task"),
                            (413, "Body over --max-body-bytes, or image over --max-pixels"),
                            (408, "The client paused its body for more than --header-timeout"),
                            (415, "Neither a .rnc file nor an image"),
                            (422, "Bad parameter, unsupported .rnc file, or codec weights that do not match"),
                            (503, "Busy: more than the worker takes at once (--max-requests, "
                                  "--max-pixels-in-flight); see Retry-After"),
                            (504, "The request took more than --timeout (its work is cancelled)"))}}


@dataclass
class ServerState:
    """What one worker holds while it runs: models, batchers, open streams."""

    engine: Engine
    batchers: dict[str, MicroBatcher] = field(default_factory=dict)
    streams: int = 0

    async def run(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``function(*args, **kwargs)`` in the engine's thread pool."""
        call = functools.partial(function, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self.engine.executor, call)


def create_app(config: Optional[ServerConfig] = None, *, engine: Optional[Engine] = None) -> FastAPI:
    """The application.

    Args:
        config: the settings; default: those ``rnc serve`` put in the environment (or the
            defaults), or ``engine``'s.
        engine: models already loaded (the caller closes it); default: loaded when the
            application starts, closed when it stops.
    """
    config = engine.config if engine is not None else config or ServerConfig.from_env()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = ServerState(engine or await asyncio.to_thread(Engine, config))
        for task, recognizer in state.engine.recognizers.items():
            batcher = MicroBatcher(recognizer, state.engine.executor, wait_s=config.batch_wait_ms / 1000,
                                   max_batch=config.batch_size or recognizer.batch_size)
            batcher.start()
            state.batchers[task] = batcher
        app.state.server = state
        try:
            yield
        finally:
            for batcher in state.batchers.values():
                await batcher.stop()
            if engine is None:
                state.engine.close()

    app = FastAPI(title="rnncodec edge server", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Decode progressive .rnc files (or plain images) and recognise them. "
                              "Streaming: WebSocket /v1/{task}/stream (see docs/server.md). The page at / "
                              "uploads a photo and shows it sharpen iteration by iteration.")
    _add_error_handlers(app)
    for task in protocol.TASKS:
        _add_task_routes(app, task, config)
    add_page_routes(app)  # GET / and /docs, served offline from the package

    @app.get(protocol.HEALTH_PATH, summary="Liveness and load of this worker")
    async def health(request: Request) -> dict[str, Any]:
        state: ServerState = request.app.state.server
        return {"status": "ok", "version": __version__, "pid": os.getpid(), "tasks": list(state.engine.recognizers),
                "streams": state.streams, "asyncio_tasks": len(asyncio.all_tasks()),
                **state.engine.admission.describe(),
                "queued": sum(b.queued for b in state.batchers.values()),
                "batches": sum(b.batches for b in state.batchers.values()),
                "images": sum(b.images for b in state.batchers.values())}

    @app.get(protocol.MODELS_PATH, summary="The recognizer of each task and the codec weights")
    async def models(request: Request) -> dict[str, Any]:
        return request.app.state.server.engine.describe()

    return app


def _add_task_routes(app: FastAPI, task: str, config: ServerConfig) -> None:
    """``POST /v1/<task>`` and ``WS /v1/<task>/stream``."""

    async def recognize(request: Request,
                        iterations: Optional[int] = Query(None, ge=1, description="Decode only the first K "
                                                          "iterations of a .rnc body (default: all)"),
                        top_k: int = Query(config.top_k, ge=1, le=1000, description="classify: classes returned"),
                        threshold: float = Query(config.threshold, ge=0, le=1,
                                                 description="detect: lowest score kept"),
                        lenient: bool = Query(False, description="Use the complete iterations of a cut .rnc body"),
                        name: str = Query("upload", max_length=1024, description="The record's `file`")
                        ) -> JSONResponse:
        state: ServerState = request.app.state.server
        recognizer = state.engine.recognizer(task)

        async def handle(cancel: Cancellation) -> dict[str, Any]:
            body = await _read_body(request, config.max_body_bytes, config.header_timeout)
            decoded = await state.run(state.engine.decode, body, name=name, iterations=iterations, lenient=lenient,
                                      cancel=cancel)
            result = await state.batchers[task].predict(decoded.image, top_k=top_k, threshold=threshold)
            return build_record(decoded.sample, result, recognizer=recognizer.name)

        with state.engine.admission.request():
            cancel = Cancellation(deadline_s=config.timeout)
            try:
                return JSONResponse(await asyncio.wait_for(handle(cancel), config.timeout))
            except asyncio.TimeoutError:
                raise RequestTimeoutError(f"the request took more than {config.timeout:g} s (--timeout)") from None
            finally:  # a request that timed out or whose client left: its decoding thread stops too
                cancel.cancel("the request ended")

    async def stream(websocket: WebSocket) -> None:
        await serve_stream(websocket, websocket.app.state.server, task)

    verb = "Classify" if task == "classify" else "Detect objects in"
    app.post(protocol.task_path(task), summary=f"{verb} a .rnc file or an image", openapi_extra=_RAW_BODY,
             responses=_RESPONSES, name=task)(recognize)
    app.websocket(protocol.stream_path(task), name=f"{task}-stream")(stream)


async def _read_body(request: Request, limit: int, pause_s: float) -> bytes:
    """The request body; :class:`BodyTooLargeError` as soon as it is known to pass ``limit`` bytes,
    :class:`BodyTimeoutError` when the client sends nothing for ``pause_s`` seconds."""
    def too_large(size: str) -> BodyTooLargeError:
        return BodyTooLargeError(f"the body has {size} bytes, more than the {limit:,} this server accepts "
                                 "(--max-body-bytes)")

    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large(f"{int(declared):,}")
    parts, size = [], 0
    stream = request.stream()
    try:
        while True:
            try:
                part = await asyncio.wait_for(stream.__anext__(), pause_s)
            except StopAsyncIteration:
                break
            except asyncio.TimeoutError:
                raise BodyTimeoutError(f"no body bytes for {pause_s:g} s (--header-timeout)") from None
            size += len(part)
            if size > limit:
                raise too_large("more than that")
            parts.append(part)
    except ClientDisconnect:  # nobody will read the answer; keep it out of the error log
        raise RequestError("the client left before the end of the body", code="client_left") from None
    return b"".join(parts)


def _add_error_handlers(app: FastAPI) -> None:
    """Every error answer is ``{"error": {"code", "message"}}`` (see :mod:`.errors`)."""

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        log.error("request failed", exc_info=exc)
        return JSONResponse(protocol.error_body("internal_error", "internal error (see the server's log)"), 500)

    @app.exception_handler(RNCError)
    async def project_error(request: Request, exc: RNCError) -> JSONResponse:
        error = as_request_error(exc)
        if error is None:
            return await internal_error(request, exc)
        return JSONResponse(error.body(), error.status, headers=error.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_parameter(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:]) or e['loc'][0]}: {e['msg']}"
                             for e in exc.errors())
        return JSONResponse(InvalidParameterError(problems).body(), InvalidParameterError.status)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed"}
        return JSONResponse(protocol.error_body(codes.get(exc.status_code, f"http_{exc.status_code}"), str(exc.detail)),
                            exc.status_code, headers=getattr(exc, "headers", None))
