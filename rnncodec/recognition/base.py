"""The recognizer interface: load a network once, run it on batches of decoded images.

A recognizer is a subclass of :class:`Recognizer` registered under the entry-point group
``rnncodec.recognizers`` (the built-ins are registered the same way, in rnncodec's own
``pyproject.toml``)::

    [project.entry-points."rnncodec.recognizers"]
    my-net = "my_package.recognizers:MyNet"

    class MyNet(Recognizer):
        task = "classification"
        summary = "My network, 10 classes"

        def load(self):                       # once, from __init__; self.weights, self.device, …
            self.model = ...
            self._labels = [...]

        @property
        def labels(self):
            return self._labels

        def predict(self, images, *, top_k=5, threshold=0.5):
            return [Classification(...) for image in images]

``predict`` takes PIL images of any size and mode (use :func:`to_rgb`) and returns one
:class:`~rnncodec.recognition.results.Classification` or
:class:`~rnncodec.recognition.results.Detections` per image, in order.
"""

from __future__ import annotations

import abc
import contextlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, ContextManager, Optional, Sequence, Union

from ..choices import PRECISIONS
from .errors import NotTrainableError, RecognitionError
from .hub import downloads_allowed

if TYPE_CHECKING:
    from PIL import Image

    from .results import Result
    from .trainable import Trainable

__all__ = ["Recognizer", "TASKS", "PRECISIONS", "to_rgb"]

#: The tasks a recognizer can have.
TASKS = ("classification", "detection")
# ``precision=`` values (:data:`rnncodec.choices.PRECISIONS`): ``auto`` is bfloat16 on CPUs with
# native support (AVX-512 BF16 / AMX) for recognizers that gain from it, float32 elsewhere.


def to_rgb(image: "Image.Image") -> "Image.Image":
    """``image`` as 8-bit RGB (grayscale replicated, alpha dropped)."""
    return image if image.mode == "RGB" else image.convert("RGB")


class Recognizer(abc.ABC):
    """A recognition network, loaded once by the constructor.

    Args:
        name: the name it is registered under (shown in results).
        weights: a local state dict file for the network; ``None``: the recognizer's default
            weights (for the built-ins, torchvision's ``DEFAULT``, from the torch hub cache).
        device: torch device to run on (``"cpu"``, ``"cuda"``, ``"cuda:1"``, …).
        precision: one of :data:`PRECISIONS`.
        download: whether missing default weights may be downloaded; ``None``: yes unless the
            environment variable ``RNC_OFFLINE`` is set (to anything but ``0``).
        labels: a label set from :attr:`label_sets` (``None``: the first).

    Class attributes to set in subclasses: :attr:`task`, :attr:`summary`, and optionally
    :attr:`label_sets` and :attr:`batch_size`.
    """

    #: ``"classification"`` or ``"detection"``.
    task: ClassVar[str]
    #: One line for listings: the network, its data and classes.
    summary: ClassVar[str] = ""
    #: Names accepted by ``labels=``; the first is the default.  Empty: no choice.
    label_sets: ClassVar[tuple[str, ...]] = ()
    #: Images per call to :meth:`predict` that runs well on a CPU.
    batch_size: ClassVar[int] = 8

    def __init__(self, *, name: Optional[str] = None, weights: Union[None, str, os.PathLike] = None,
                 device: str = "cpu", precision: str = "auto", download: Optional[bool] = None,
                 labels: Optional[str] = None) -> None:
        if precision not in PRECISIONS:
            raise RecognitionError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
        if labels is not None and labels not in self.label_sets:
            offered = ", ".join(self.label_sets) or "no choice of label set"
            raise RecognitionError(f"{name or type(self).__name__} has no label set {labels!r} ({offered})")
        self.name = name or type(self).__name__.lower()
        self.weights = Path(weights) if weights is not None else None
        self.device = device
        self.precision = precision
        self.download = downloads_allowed() if download is None else download
        self.label_set = labels or (self.label_sets[0] if self.label_sets else None)
        self.load()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} {self.task} on {self.device}>"

    @abc.abstractmethod
    def load(self) -> None:
        """Load the network (called once, by the constructor)."""

    @property
    @abc.abstractmethod
    def labels(self) -> Sequence[str]:
        """Class names; a result's ``index`` is a position in this list."""

    @abc.abstractmethod
    def predict(self, images: Sequence["Image.Image"], *, top_k: int = 5,
                threshold: float = 0.5) -> list["Result"]:
        """One result per image, in order.

        Args:
            images: decoded images, any size and mode.
            top_k: classification: how many classes to return.
            threshold: detection: the lowest score kept.
        """

    def trainable(self) -> "Trainable":
        """The network as a :class:`~rnncodec.recognition.trainable.Trainable` (for ``rnc finetune``):
        its torch module (shared with this recognizer, trained in place), input normalisation and
        training size; its state dict is what ``weights=`` loads.

        Raises:
            NotTrainableError: this recognizer cannot be fine-tuned (the default).
        """
        raise NotTrainableError(f"{self.name} cannot be fine-tuned: it exposes no trainable torch module")

    def autocast(self) -> ContextManager:
        """A bfloat16 autocast context when :attr:`precision` asks for it, else a no-op.

        ``auto`` is bfloat16 on a CPU that supports it natively (as the codec does), float32 on
        other devices; recognizers for which bfloat16 does not pay override this.
        """
        import torch

        from ..backends.torch_backend import bf16_native

        device = torch.device(self.device).type
        if self.precision == "bf16" or (self.precision == "auto" and device == "cpu" and bf16_native()):
            return torch.autocast(device, dtype=torch.bfloat16)
        return contextlib.nullcontext()
