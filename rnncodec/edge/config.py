"""What a server worker needs to start: :class:`ServerConfig`, passed to worker processes as JSON.

``rnc serve --workers N`` starts N processes, each loading the models once; uvicorn imports the
application in each of them, so the configuration travels in the environment variable
:data:`CONFIG_ENV` (:meth:`ServerConfig.to_json` / :meth:`ServerConfig.from_json`).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from typing import Any, Optional

from ..formats import Limits
from .protocol import TASKS

__all__ = ["CONFIG_ENV", "DEFAULT_RECOGNIZERS", "RecognizerSpec", "ServerConfig"]

#: The environment variable that carries the configuration to uvicorn's worker processes.
CONFIG_ENV = "RNC_SERVE_CONFIG"

#: The recognizer each task loads unless told otherwise (those of ``rnc classify`` / ``rnc detect``).
DEFAULT_RECOGNIZERS = {"classify": "resnet50", "detect": "mobilenet-ssd"}


@dataclass(frozen=True)
class RecognizerSpec:
    """The recognizer of one task: its registered name, a local state dict, a label set."""

    name: str
    weights: Optional[str] = None
    labels: Optional[str] = None


def _default_recognizers() -> dict[str, RecognizerSpec]:
    return {task: RecognizerSpec(name) for task, name in DEFAULT_RECOGNIZERS.items()}


@dataclass(frozen=True)
class ServerConfig:
    """Settings of one server worker (every worker of a server has the same).

    Attributes:
        recognizers: task (``classify``/``detect``) → its recognizer; the tasks served.
        codec_weights: codec weights for ``.rnc`` bodies (shipped name or file); ``None``: the
            shipped weights each file names.
        device, precision: for the recognizers (as ``rnc classify``).
        download: whether missing default recognizer weights may be downloaded (``None``: unless
            ``RNC_OFFLINE`` is set).
        threads: torch threads (``None``: torch's default).
        max_body_bytes: largest request body, and most bytes one stream may send.
        max_pixels: largest image (``width × height``), ``.rnc`` or plain.
        max_iterations: most iterations a ``.rnc`` body or stream may declare.
        max_pixels_in_flight: pixels decoded at once over all requests and streams; more are
            refused (503 ``busy``, ``Retry-After``) instead of queued.  Default: 1.5 × ``max_pixels``.
        max_requests: HTTP requests in progress at once; more are refused (503 ``busy``).
        header_timeout: seconds a connection has to send a request's headers (from its opening or
            its previous answer), and may pause while sending a body; slower clients are closed.
        timeout: seconds a request may take (its work is then cancelled); for a stream, seconds to
            wait for each message.
        stream_timeout: seconds a whole stream may take.
        max_streams: streams open at once per worker; more are refused (``busy``).
        batch_size: most images per ``predict`` call (``None``: the recognizer's own).
        batch_wait_ms: how long the first request of a batch waits for others to join it.
        stop_at_confidence: default confidence at which a stream stops (a client may set its own).
        top_k, threshold: defaults of the request parameters of the same names.
    """

    recognizers: dict[str, RecognizerSpec] = field(default_factory=_default_recognizers)
    codec_weights: Optional[str] = None
    device: str = "cpu"
    precision: str = "auto"
    download: Optional[bool] = None
    threads: Optional[int] = None
    max_body_bytes: int = 16 << 20
    max_pixels: int = 2048 * 2048
    max_iterations: int = 16
    max_pixels_in_flight: Optional[int] = None
    max_requests: int = 64
    header_timeout: float = 10.0
    timeout: float = 30.0
    stream_timeout: float = 300.0
    max_streams: int = 16
    batch_size: Optional[int] = None
    batch_wait_ms: float = 2.0
    stop_at_confidence: Optional[float] = None
    top_k: int = 5
    threshold: float = 0.5

    def __post_init__(self) -> None:
        unknown = set(self.recognizers) - set(TASKS)
        if unknown or not self.recognizers:
            raise ValueError(f"tasks must be some of {', '.join(TASKS)}, got {', '.join(self.recognizers) or 'none'}")

    @property
    def limits(self) -> Limits:
        """Reader limits for ``.rnc`` bodies and streams: the per-request budget."""
        return Limits(max_pixels=self.max_pixels, max_iterations=self.max_iterations)

    @property
    def pixels_in_flight(self) -> int:
        """:attr:`max_pixels_in_flight`, or its default."""
        return self.max_pixels_in_flight or self.max_pixels * 3 // 2

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> "ServerConfig":
        fields: dict[str, Any] = json.loads(text)
        fields["recognizers"] = {task: RecognizerSpec(**spec) for task, spec in fields["recognizers"].items()}
        return cls(**fields)

    @classmethod
    def from_env(cls) -> "ServerConfig":
        """The configuration ``rnc serve`` put in :data:`CONFIG_ENV`, or the defaults."""
        text = os.environ.get(CONFIG_ENV)
        return cls.from_json(text) if text else cls()
