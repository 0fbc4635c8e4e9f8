"""``rnc serve``: the edge server — decode ``.rnc`` files (or images) sent over HTTP and recognise them.

Importing this module stays cheap (no torch, no FastAPI): the server loads inside the command.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import click

from rnncodec.edge.config import DEFAULT_RECOGNIZERS, RecognizerSpec, ServerConfig
from rnncodec.edge.protocol import TASKS

from .options import (device_option, no_download_option, precision_option, recognition_codec_weights_option,
                      threads_option)

__all__ = ["serve_command"]

_DEFAULTS = ServerConfig()


def _per_task(values: tuple[str, ...], option: str) -> dict[str, str]:
    """``TASK=VALUE`` options as a dict; a usage error for a bad one."""
    found: dict[str, str] = {}
    for value in values:
        task, sep, setting = value.partition("=")
        if not sep or task not in TASKS or not setting:
            raise click.BadParameter(f"{value!r}: expected TASK=VALUE with TASK one of {', '.join(TASKS)}",
                                     param_hint=f"'{option}'")
        found[task] = setting
    return found


@click.command("serve", short_help="Serve recognition of .rnc files over HTTP and WebSocket.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: every interface).")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Worker processes; each loads the models once.")
@click.option("--task", "tasks", type=click.Choice(list(TASKS)), multiple=True,
              help="Task to serve (repeat for both). Default: classify and detect.")
@click.option("--recognizer", "recognizers", multiple=True, metavar="TASK=NAME",
              help=f"Recognizer of a task (see 'rnc recognizers'). Default: "
                   f"{', '.join(f'{t}={n}' for t, n in DEFAULT_RECOGNIZERS.items())}.")
@click.option("--weights", "weights", multiple=True, metavar="TASK=FILE",
              help="Local state dict for a task's recognizer. Default: torchvision's DEFAULT weights from the "
                   "torch hub cache.")
@click.option("--labels", default=None, metavar="SET", help="Label set of the detector: coco (default) or voc.")
@recognition_codec_weights_option
@no_download_option
@device_option
@precision_option
@threads_option
@click.option("--max-body-bytes", type=click.IntRange(min=1024), default=_DEFAULTS.max_body_bytes, show_default=True,
              help="Largest request body, and most bytes one stream may send.")
@click.option("--max-pixels", type=click.IntRange(min=1), default=_DEFAULTS.max_pixels, show_default=True,
              help="Largest image (width × height), .rnc or plain.")
@click.option("--max-iterations", type=click.IntRange(1, 255), default=_DEFAULTS.max_iterations, show_default=True,
              help="Most iterations a .rnc body or stream may declare.")
@click.option("--max-pixels-in-flight", type=click.IntRange(min=1), default=None,
              help="Pixels decoded at once over all requests and streams of a worker; more are refused "
                   "(503 busy, Retry-After) instead of queued. Default: 1.5 × --max-pixels.")
@click.option("--max-requests", type=click.IntRange(min=1), default=_DEFAULTS.max_requests, show_default=True,
              help="HTTP requests in progress at once per worker; more are refused (503 busy).")
@click.option("--header-timeout", type=click.FloatRange(min=0.1), default=_DEFAULTS.header_timeout,
              show_default=True, help="Seconds a connection has to send a request's headers (and may pause "
                                      "in a body, or stay idle between requests); slower clients are closed.")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=_DEFAULTS.timeout, show_default=True,
              help="Seconds a request may take (its decoding is then cancelled); for a stream, seconds to wait "
                   "for each message.")
@click.option("--stream-timeout", type=click.FloatRange(min=0.1), default=_DEFAULTS.stream_timeout,
              show_default=True, help="Seconds a whole stream may take.")
@click.option("--max-streams", type=click.IntRange(min=1), default=_DEFAULTS.max_streams, show_default=True,
              help="Streams open at once per worker; more are refused (busy, close code 1013).")
@click.option("--batch-size", type=click.IntRange(min=1), default=None,
              help="Most images per forward pass (default: the recognizer's).")
@click.option("--batch-wait-ms", type=click.FloatRange(min=0), default=_DEFAULTS.batch_wait_ms, show_default=True,
              help="How long a lone request waits for others to batch with.")
@click.option("--stop-at-confidence", type=click.FloatRange(0, 1), default=None, metavar="P",
              help="Default confidence at which streams stop (a client may set its own).")
@click.option("--log-level", type=click.Choice(["critical", "error", "warning", "info", "debug"]), default="info",
              show_default=True)
def serve_command(host: str, port: int, workers: int, tasks: tuple[str, ...], recognizers: tuple[str, ...],
                  weights: tuple[str, ...], labels: Optional[str], codec_weights: Optional[str], no_download: bool,
                  device: str, precision: str, threads: Optional[int], max_body_bytes: int, max_pixels: int,
                  max_iterations: int, max_pixels_in_flight: Optional[int], max_requests: int, header_timeout: float,
                  timeout: float, stream_timeout: float, max_streams: int, batch_size: Optional[int],
                  batch_wait_ms: float, stop_at_confidence: Optional[float], log_level: str) -> None:
    """Serve POST /v1/classify and /v1/detect (a .rnc file or an image in the body; the JSON record
    of 'rnc classify/detect --json' back), the progressive WebSocket /v1/{classify,detect}/stream,
    GET /v1/health and /v1/models; OpenAPI at /openapi.json, docs at /docs.

    \b
    Examples:
      rnc serve --codec-weights tiny.pt                       # both tasks, 127.0.0.1:8000
      rnc serve --task classify --weights classify=ft.pth     # a fine-tuned ResNet-50
      rnc serve --host 0.0.0.0 --workers 4 --stop-at-confidence 0.9

    The service is stateless: run several workers, or several machines behind a load balancer
    (docs/server.md).
    """
    names = _per_task(recognizers, "--recognizer")
    files = _per_task(weights, "--weights")
    served = tasks or tuple(TASKS)
    for task in {*names, *files} - set(served):
        raise click.UsageError(f"{task} is not served (--task {' --task '.join(served)})")
    for task, file in files.items():
        if not Path(file).is_file():
            raise click.BadParameter(f"{task}: no such file {file!r}", param_hint="'--weights'")
    config = ServerConfig(
        recognizers={task: RecognizerSpec(names.get(task, DEFAULT_RECOGNIZERS[task]), files.get(task),
                                          labels if task == "detect" else None) for task in served},
        codec_weights=codec_weights, device=device, precision=precision, download=False if no_download else None,
        threads=threads, max_body_bytes=max_body_bytes, max_pixels=max_pixels, max_iterations=max_iterations,
        max_pixels_in_flight=max_pixels_in_flight, max_requests=max_requests, header_timeout=header_timeout,
        timeout=timeout,
        stream_timeout=stream_timeout, max_streams=max_streams, batch_size=batch_size, batch_wait_ms=batch_wait_ms,
        stop_at_confidence=stop_at_confidence)

    from rnncodec.edge.runner import serve

    serve(config, host=host, port=port, workers=workers, log_level=log_level)
