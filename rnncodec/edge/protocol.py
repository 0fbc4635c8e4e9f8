"""The wire protocol of ``rnc serve``, shared by the server and the client (no heavy imports).

HTTP (one request, one answer)::

    POST /v1/classify   body: a .rnc file or a plain image   → 200 the record of rnc classify --json
    POST /v1/detect     body: a .rnc file or a plain image   → 200 the record of rnc detect --json
    GET  /v1/health                                          → 200 {"status": "ok", ...}
    GET  /v1/models                                          → 200 the recognizers and codec loaded

Progressive streaming (a WebSocket per image; ``docs/server.md`` has it message by message)::

    WS /v1/classify/stream, WS /v1/detect/stream
    client → server: binary frames with the .rnc bytes in order (the header part first, then one
                     RITR chunk per frame), or the text frame {"type": "end"}
    server → client: {"type": "header", …}, then one {"type": "step", …} per iteration, then
                     {"type": "done", "record": …}; or {"type": "error", "error": {…}}

Every error answer, HTTP or WebSocket, carries ``{"error": {"code": CODE, "message": TEXT}}``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["TASKS", "API_PREFIX", "task_path", "stream_path", "HEALTH_PATH", "MODELS_PATH",
           "HEADER", "STEP", "DONE", "ERROR", "END", "CLOSE_NORMAL", "CLOSE_CLIENT_ERROR",
           "CLOSE_TOO_BIG", "CLOSE_INTERNAL", "CLOSE_BUSY", "error_body"]

#: Task in URLs and on the command line → the recognizer task it runs.
TASKS = {"classify": "classification", "detect": "detection"}

API_PREFIX = "/v1"
HEALTH_PATH = f"{API_PREFIX}/health"
MODELS_PATH = f"{API_PREFIX}/models"


def task_path(task: str) -> str:
    """``/v1/classify`` or ``/v1/detect``."""
    return f"{API_PREFIX}/{task}"


def stream_path(task: str) -> str:
    """The WebSocket of progressive streaming for ``task``: ``/v1/<task>/stream``."""
    return f"{task_path(task)}/stream"


# Message types of the stream (the ``"type"`` field of every text frame).
#: server → client: the header was read; what the image is and the stream's settings.
HEADER = "header"
#: server → client: the answer after one more iteration.
STEP = "step"
#: server → client, last: why the stream ended and the final record (as POST would return).
DONE = "done"
#: server → client, last: the stream failed; ``{"error": {"code", "message"}}``.
ERROR = "error"
#: client → server: no more iterations will come (a cut file, or the client gives up).
END = "end"

# WebSocket close codes the server uses (RFC 6455).
CLOSE_NORMAL = 1000
#: A bad stream: not a .rnc file, corrupt, wrong weights, protocol misuse, timeout.
CLOSE_CLIENT_ERROR = 1008
#: The stream sent more bytes than the server accepts (--max-body-bytes, --max-pixels).
CLOSE_TOO_BIG = 1009
CLOSE_INTERNAL = 1011
#: Too many streams at once (--max-streams): try again later.
CLOSE_BUSY = 1013


def error_body(code: str, message: str) -> dict[str, Any]:
    """The JSON object of every error answer."""
    return {"error": {"code": code, "message": message}}
