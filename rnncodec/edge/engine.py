"""The models of one server worker, loaded once, and the decoding of request bodies.

:class:`Engine` holds the recognizer of each task, the codec for ``.rnc`` bodies and the thread
pool that runs the CPU work off the event loop.  Everything here is synchronous and runs in that
pool; :mod:`.app` awaits it.
"""

from __future__ import annotations

import io
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Optional

from .. import __version__
from ..errors import UnknownWeightsError
from ..formats import Header, read, spec
from ..recognition import Decoded, RecognitionError, Sample, load_recognizer, recognizer_class
from ..recognition.inputs import bytes_through, iterations_to_decode
from .config import ServerConfig
from .errors import (EmptyBodyError, TaskNotServedError, TooManyPixelsError, UnknownCodecWeightsError,
                     UnsupportedBodyError)
from .protocol import TASKS

if TYPE_CHECKING:
    from PIL import Image

    from ..codec import Codec
    from ..recognition import Recognizer

__all__ = ["Engine", "EXECUTOR_THREADS", "is_rnc"]

log = logging.getLogger(__name__)

#: Threads of the pool that decodes bodies and runs the recognizers (torch ops release the GIL).
EXECUTOR_THREADS = 4


def is_rnc(data: bytes) -> bool:
    """Whether ``data`` starts like a ``.rnc`` file (a body cut inside the signature counts)."""
    head = data[:len(spec.SIGNATURE)]
    return spec.SIGNATURE.startswith(head)


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

    def codec_for(self, header: Header) -> "Codec":
        """The codec that decodes files with ``header``: the server's, else the shipped weights it names
        (a file made with other weights fails when decoded: ``WeightsMismatchError``)."""
        from ..codec import codec_for

        try:
            return codec_for(header, self.config.codec_weights)
        except UnknownWeightsError as exc:
            raise UnknownCodecWeightsError(f"{exc} (rnc serve --codec-weights FILE)") from None

    def decode(self, data: bytes, *, name: str, iterations: Optional[int] = None, lenient: bool = False) -> Decoded:
        """A request body decoded: a ``.rnc`` file from its first ``iterations`` (all when ``None``),
        or a plain image.

        Raises:
            RNCError: a typed error naming what is wrong with the body (see :mod:`.errors`).
        """
        if not data:
            raise EmptyBodyError("the body is empty: send a .rnc file or an image")
        if not is_rnc(data):
            image = self._open_image(data)
            return Decoded(Sample(file=name, kind="image", width=image.width, height=image.height,
                                  bytes_read=len(data), file_bytes=len(data)), image)
        rnc = read(data, strict=not lenient, limits=self.config.limits)
        count = iterations_to_decode(rnc, iterations)
        image = self.codec_for(rnc.header).decode(rnc, count)
        return Decoded(Sample(file=name, kind="rnc", width=image.width, height=image.height,
                              bytes_read=bytes_through(rnc, count), file_bytes=len(data), iterations=count,
                              iterations_in_file=rnc.iterations), image)

    def _open_image(self, data: bytes) -> "Image.Image":
        """A plain image body as 8-bit RGB, its size checked before its pixels are decoded."""
        from PIL import Image, UnidentifiedImageError

        from ..imageio import load_image

        try:
            width, height = Image.open(io.BytesIO(data)).size
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
            raise UnsupportedBodyError("the body is neither a .rnc file (no RNC signature) nor an image "
                                       "Pillow can read") from None
        if width * height > self.config.max_pixels:
            raise TooManyPixelsError(f"the image has {width}×{height} = {width * height:,} pixels, more than the "
                                     f"{self.config.max_pixels:,} this server accepts (--max-pixels)")
        try:
            source = load_image(data, alpha="drop")
        except OSError as exc:  # a damaged image: Pillow read the size, not the pixels
            raise UnsupportedBodyError(f"the image cannot be decoded: {' '.join(str(exc).split())}") from None
        return Image.fromarray(source.rgb, "RGB")

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
