"""What a recognizer exposes to be fine-tuned: its torch module, how to feed it, how to save it.

:meth:`Recognizer.trainable() <rnncodec.recognition.base.Recognizer.trainable>` returns a
:class:`Trainable`; :mod:`.finetune` trains it on decoded images.  The built-in ResNet-50 and
SSDlite implement it; any torch classifier can be wrapped by hand, for example our TFLite→torch
copy of the reference MobileNetV2, which takes pixels in ``[0, 255]``::

    >>> from rnncodec.recognition.tflite_torch import load_tflite_classifier      # doctest: +SKIP
    >>> net = load_tflite_classifier("mobilenet_v2.tflite").trainable_()           # doctest: +SKIP
    >>> trainable = Trainable(net, normalize=pixels_255, input_size=224)           # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Optional, Sequence

from .datasets import _key
from .errors import DatasetError
from .labels import COCO_TO_VOC

if TYPE_CHECKING:
    import torch

__all__ = ["Trainable", "TASKS", "pixels_255", "imagenet_normalize", "class_index"]

#: What a :class:`Trainable` can be: a classifier (logits out) or a torchvision-style detector.
TASKS = ("classification", "detection")

_VOC_TO_COCO = {voc: coco for coco, voc in COCO_TO_VOC.items()}


def pixels_255(batch: "torch.Tensor") -> "torch.Tensor":
    """``[0, 1]`` RGB as ``[0, 255]`` pixels (what the TFLite copy takes)."""
    return batch * 255


def imagenet_normalize(mean: Sequence[float] = (0.485, 0.456, 0.406),
                       std: Sequence[float] = (0.229, 0.224, 0.225)) -> Callable[["torch.Tensor"], "torch.Tensor"]:
    """The usual ``(x − mean) / std`` per channel of a ``[0, 1]`` NCHW batch."""

    def normalize(batch: "torch.Tensor") -> "torch.Tensor":
        m = batch.new_tensor(mean).view(1, -1, 1, 1)
        s = batch.new_tensor(std).view(1, -1, 1, 1)
        return (batch - m) / s

    return normalize


def _identity(batch: "torch.Tensor") -> "torch.Tensor":
    return batch


@dataclass
class Trainable:
    """A recognition network to fine-tune, and how to use it.

    Attributes:
        module: the ``torch.nn.Module``, trained in place.  Classification: takes a normalised
            NCHW float batch, returns logits ``(N, classes)``.  Detection: a torchvision detection
            model (``model(images, targets)`` returns a dict of losses in train mode, and
            ``[{"boxes", "labels", "scores"}]`` in eval mode; images as ``[0, 1]`` tensors).
        normalize: maps a float ``[0, 1]`` RGB NCHW batch to the module's input.
        input_size: side of the square training crops (the network's training resolution).
        labels: class names, index = output position (``None``: unnamed classes).
        task: ``"classification"`` or ``"detection"``.
    """

    module: "torch.nn.Module"
    normalize: Callable[["torch.Tensor"], "torch.Tensor"] = field(default=_identity)
    input_size: int = 224
    labels: Optional[Sequence[str]] = None
    task: str = "classification"

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, got {self.task!r}")

    def state_dict(self) -> dict:
        """The module's state dict on the CPU, contiguous: what ``--weights FILE`` loads."""
        return {k: v.detach().to("cpu").contiguous() for k, v in self.module.state_dict().items()}


def class_index(labels: Sequence[str], name: str) -> int:
    """Position of class ``name`` in ``labels``: the name (case, spaces and underscores do not
    matter), a PASCAL VOC name for its COCO class, or a plain index.

    Raises:
        DatasetError: no such class.
    """
    by_name = {_key(label): i for i, label in enumerate(labels)}
    for candidate in (name, _VOC_TO_COCO.get(_key(name).replace(" ", ""), "")):
        if _key(candidate) in by_name:
            return by_name[_key(candidate)]
    if name.strip().isdigit() and int(name) < len(labels):
        return int(name)
    raise DatasetError(f"no class {name!r} among the recognizer's {len(labels)}")
