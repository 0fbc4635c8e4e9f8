"""The page a person uses (``GET /``), its assets, and the offline Swagger UI of ``/docs``.

A browser cannot run the encoder, so the page uploads a photo to ``POST /v1/{task}/progressive``
and the server does what an edge client and server would do together: it encodes the photo one
iteration at a time (the ``.rnc`` file a client would stream), decodes each iteration
progressively, recognises it, and streams back one JSON line per iteration — the decoded image,
the answer and its confidence, and the bytes of the file so far next to the original's size —
until the answer is sure (``stop_at_confidence``) or the iterations run out.  Every asset (the
page and Swagger UI) is served from the package: nothing is fetched from a CDN.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import json
import logging
from importlib import resources
from typing import TYPE_CHECKING, Any, AsyncIterator, Optional

from fastapi import FastAPI, Query, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles

from . import protocol
from .errors import BusyError, RequestError, RequestTimeoutError, as_request_error

if TYPE_CHECKING:
    from PIL import Image

    from .app import ServerState

__all__ = ["add_page_routes", "progressive_lines", "STATIC_PATH", "MEDIA_TYPE"]

log = logging.getLogger(__name__)

STATIC_PATH = "/static"
SWAGGER_PATH = "/static/swagger"
#: One JSON object per line (what the page reads as it arrives).
MEDIA_TYPE = "application/x-ndjson"
#: Iterations the page asks for at most (each adds 0.125 bpp before entropy coding).
MAX_PAGE_ITERATIONS = 16


def _static_folder() -> str:
    return str(resources.files("rnncodec.edge") / "static")


def add_page_routes(app: FastAPI) -> None:
    """``GET /`` (the page), ``/static/…`` (its assets and Swagger UI's), ``GET /docs``, and
    ``POST /v1/{task}/progressive`` for each task."""
    swagger_assets = str(resources.files("fastapi_offline") / "static")  # Swagger UI 5 (OpenAPI 3.1)
    app.mount(SWAGGER_PATH, StaticFiles(directory=swagger_assets), name="swagger-ui")
    app.mount(STATIC_PATH, StaticFiles(directory=_static_folder()), name="static")

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(f"{_static_folder()}/index.html", media_type="text/html")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url=app.openapi_url or "/openapi.json", title=f"{app.title} — API",
                                   swagger_js_url=f"{SWAGGER_PATH}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{SWAGGER_PATH}/swagger-ui.css",
                                   swagger_favicon_url=f"{SWAGGER_PATH}/favicon.png",
                                   swagger_ui_parameters={"validatorUrl": None})  # no badge from swagger.io

    for task in protocol.TASKS:
        _add_progressive_route(app, task)


def _add_progressive_route(app: FastAPI, task: str) -> None:
    async def progressive(request: Request,
                          iterations: int = Query(8, ge=1, le=MAX_PAGE_ITERATIONS,
                                                  description="Iterations to encode at most"),
                          stop_at_confidence: Optional[float] = Query(
                              None, ge=0, le=1.01, description="Stop once the answer's confidence reaches this "
                              "(default: the server's --stop-at-confidence; none: every iteration)"),
                          top_k: int = Query(3, ge=1, le=1000, description="classify: classes returned"),
                          threshold: float = Query(0.5, ge=0, le=1, description="detect: lowest score kept"),
                          ) -> StreamingResponse:
        from .app import _read_body

        state: "ServerState" = request.app.state.server
        config = state.engine.config
        state.engine.recognizer(task)  # TaskNotServedError before anything is read
        if state.streams >= config.max_streams:
            raise BusyError(f"{state.streams} streams are open, the most this worker takes (--max-streams); "
                            "try again later")
        body = await _read_body(request, config.max_body_bytes, config.header_timeout)
        decoded = await state.run(state.engine.decode, body, name="upload")  # a plain image (or a .rnc file)
        image = decoded.image
        stop_at = stop_at_confidence if stop_at_confidence is not None else config.stop_at_confidence
        lines = progressive_lines(state, task, image, len(body), iterations=iterations, stop_at=stop_at,
                                  top_k=top_k, threshold=threshold)
        return StreamingResponse(lines, media_type=MEDIA_TYPE)

    app.post(protocol.task_path(task) + "/progressive", name=f"{task}-progressive",
             summary=f"Encode an image here and {task} it iteration by iteration (the page's stream)",
             description="The body is a plain image (or a .rnc file, decoded first). The answer is one JSON "
                         'object per line and iteration: `{"type": "step", "iterations", "bytes_sent", '
                         '"original_bytes", "image" (a PNG data URL), "confidence", "results", "stop"}`, then '
                         '`{"type": "done", "reason"}` (`confident` or `iterations`). See docs/server.md.')(progressive)


async def progressive_lines(state: "ServerState", task: str, image: "Image.Image", original_bytes: int, *,
                            iterations: int, stop_at: Optional[float], top_k: int,
                            threshold: float) -> AsyncIterator[bytes]:
    """Encode ``image`` one iteration at a time and yield each step's JSON line, then ``done``."""
    reason, codes = "iterations", None
    loop = asyncio.get_running_loop()
    deadline = loop.time() + state.engine.config.stream_timeout
    state.streams += 1
    budget = contextlib.ExitStack()  # the image's pixels in the worker's decoding budget, while it is coded
    try:
        budget.enter_context(state.engine.admission.decoding(image.width * image.height))
        codes, writer, decoder, sent = await state.run(_start_encoding, state, image, iterations, original_bytes)
        for count in range(1, iterations + 1):
            if loop.time() > deadline:
                raise RequestTimeoutError(f"the stream took more than {state.engine.config.stream_timeout:g} s "
                                          "(--stream-timeout)")
            bits = await state.run(next, codes)
            await state.run(writer.write_iteration, bits)
            decoded = await state.run(decoder.add, bits)
            result = await state.batchers[task].predict(decoded, top_k=top_k, threshold=threshold)
            stop = stop_at is not None and result.confidence >= stop_at
            step: dict[str, Any] = {"type": "step", "iterations": count, "iterations_max": iterations,
                                    "bytes_sent": sent.tell(), "original_bytes": original_bytes,
                                    "width": decoded.width, "height": decoded.height,
                                    "image": await state.run(_png_data_url, decoded),
                                    "confidence": round(result.confidence, 6), "results": result.to_list(),
                                    "stop": stop or count == iterations}
            yield (json.dumps(step) + "\n").encode()
            if stop:
                reason = "confident"
                break
            await asyncio.sleep(0)
        yield (json.dumps({"type": "done", "reason": reason, "stop_at_confidence": stop_at}) + "\n").encode()
    except Exception as exc:  # the status line has gone: the error is the stream's last line
        error = as_request_error(exc)
        if error is None:
            log.error("progressive request failed", exc_info=exc)
            error = RequestError("internal error (see the server's log)", status=500, code="internal_error")
        yield (json.dumps({"type": "error", **error.body()}) + "\n").encode()
    finally:
        budget.close()
        state.streams -= 1
        if codes is not None:
            with contextlib.suppress(ValueError):  # still running in the pool after a cancellation
                codes.close()


def _start_encoding(state: "ServerState", image: "Image.Image", iterations: int, original_bytes: int) -> tuple:
    """The codes generator, the writer of the file a client would stream (into a buffer), its
    progressive decoder and the buffer: what :func:`progressive_lines` advances step by step."""
    from ..codec import codec_for
    from ..formats import RNCWriter
    from ..imageio import load_image
    from ..weights import RECOGNITION_WEIGHTS

    codec = state.engine.codec or codec_for(weights=RECOGNITION_WEIGHTS)
    source = load_image(image)
    header = codec.header_for(source, iterations, "context")
    sent = io.BytesIO()
    writer = RNCWriter(sent, header, {"source_bytes": original_bytes}, source.alpha)
    return codec.iter_codes(source.rgb, iterations), writer, codec.progressive_decoder(header, source.alpha), sent


def _png_data_url(image: "Image.Image") -> str:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
