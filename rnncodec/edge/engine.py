"""The models of one server worker, loaded once, and the decoding of request bodies.

:class:`Engine` holds the recognizer of each task, the recognition input pipeline
(:class:`~rnncodec.recognition.InputDecoder`: the codec for ``.rnc`` bodies and streams, plain
images within ``--max-pixels``) and the thread pool that runs the CPU work off the event loop.
Everything here is synchronous and runs in that pool; :mod:`.app` awaits it.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Optional

from .. import __version__
from ..recognition import Decoded, InputDecoder, RecognitionError, load_recognizer, recognizer_class
from .admission import Admission
from .config import ServerConfig
from .errors import EmptyBodyError, TaskNotServedError
from .protocol import TASKS

if TYPE_CHECKING:
    from ..cancel import Cancellation
    from ..codec import Codec
    from ..recognition import Recognizer

__all__ = ["Engine", "EXECUTOR_THREADS"]

log = logging.getLogger(__name__)

#: Threads of the pool that decodes bodies and runs the recognizers (torch ops release the GIL).
EXECUTOR_THREADS = 4


class Engine:
    """Recognizers and codec of one worker, and the pool they run in.

    Args:
        config: the worker's settings; the recognizers load now (a missing weights file fails here).
    """

    def __init__(self, config: ServerConfig) -> None:
        from ..codec import codec_for

        if config.threads:
            import torch

            torch.set_num_threads(config.threads)
        self.config = config
        self.recognizers: dict[str, "Recognizer"] = {}
        for task, recognizer in config.recognizers.items():
            served = recognizer_class(recognizer.name).task  # checked before the network is loaded
            if served != TASKS[task]:
                raise RecognitionError(f"{recognizer.name} is a {served} recognizer; {task} needs {TASKS[task]}")
            self.recognizers[task] = load_recognizer(
                recognizer.name, weights=recognizer.weights, device=config.device, precision=config.precision,
                download=config.download, labels=recognizer.labels)
        self.codec: Optional["Codec"] = codec_for(weights=config.codec_weights) if config.codec_weights else None
        self.admission = Admission(max_requests=config.max_requests, max_pixels=config.pixels_in_flight)
        self.inputs = InputDecoder(config.codec_weights, limits=config.limits, max_pixels=config.max_pixels,
                                   budget=self.admission)
        self.executor = ThreadPoolExecutor(EXECUTOR_THREADS, thread_name_prefix="rnc-serve")
        log.info("loaded %s", ", ".join(f"{task}: {m.name}" for task, m in self.recognizers.items()))

    def close(self) -> None:
        """Stop the pool (work already started finishes)."""
        self.executor.shutdown(wait=False, cancel_futures=True)

    def recognizer(self, task: str) -> "Recognizer":
        """The recognizer of ``task``; :class:`TaskNotServedError` when this server has none."""
        if task not in self.recognizers:
            raise TaskNotServedError(f"this server does not serve {task} (it serves {', '.join(self.recognizers)})")
        return self.recognizers[task]

    def decode(self, data: bytes, *, name: str, iterations: Optional[int] = None, lenient: bool = False,
               cancel: Optional["Cancellation"] = None) -> Decoded:
        """A request body decoded: a ``.rnc`` file from its first ``iterations`` (all when ``None``),
        or a plain image.  The image's pixels are held in the worker's decoding budget while it is
        decoded (:class:`~.admission.Admission`); ``cancel`` stops the work between tiles and
        iterations.

        Raises:
            RNCError: a typed error naming what is wrong with the body (:func:`.errors.as_request_error`
                turns it into the answer), ``BusyError`` when the decoding budget is spent,
                ``CancelledError``.
        """
        if not data:
            raise EmptyBodyError("the body is empty: send a .rnc file or an image")
        return self.inputs.decode(data, iterations, name=name, lenient=lenient, cancel=cancel)

    def describe(self) -> dict[str, Any]:
        """What ``GET /v1/models`` returns: the recognizer of each task and the codec weights."""
        tasks = {task: {"recognizer": model.name, "task": model.task, "summary": type(model).summary,
                        "label_set": model.label_set, "classes": len(model.labels),
                        "weights": str(model.weights) if model.weights else "default", "device": model.device,
                        "batch_size": self.config.batch_size or model.batch_size}
                 for task, model in self.recognizers.items()}
        codec: dict[str, Any] = {"weights": "shipped: the weights each .rnc file names"}
        if self.codec is not None:
            codec = {"weights": self.codec.weights.name, "architecture": self.codec.weights.architecture,
                     "weights_id": self.codec.weights.weights_id.hex()}
        return {"version": __version__, "tasks": tasks, "codec": codec}
