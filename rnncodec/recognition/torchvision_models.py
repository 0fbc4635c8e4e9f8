"""The built-in recognizers: torchvision's ResNet-50 (ImageNet) and SSDlite MobileNetV3 (COCO).

Both build the torchvision network without weights and load a state dict into it: torchvision's
``DEFAULT`` file from the torch hub cache (see :mod:`.hub`), or ``weights=`` — for example a
network fine-tuned on decoded images.  Preprocessing is the weights' own: the ImageNet transforms
(resize 232, centre crop 224, normalise) for ResNet-50; the detector resizes to 320×320 itself and
maps its boxes back to the pixels of the image it was given.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ContextManager, Sequence

from .base import Recognizer, to_rgb
from .hub import load_network, resolve_state_dict
from .labels import COCO_TO_VOC, VOC_CLASSES
from .results import Classification, ClassScore, Detection, Detections

if TYPE_CHECKING:
    from PIL import Image

    from .trainable import Trainable

__all__ = ["ResNet50", "MobileNetSSD"]


class ResNet50(Recognizer):
    """ResNet-50 classifier, torchvision ``ResNet50_Weights.DEFAULT`` (IMAGENET1K_V2)."""

    task = "classification"
    summary = "ResNet-50 (torchvision), ImageNet-1K, 1000 classes"
    batch_size = 16

    def load(self) -> None:
        import torch
        from torchvision.models import ResNet50_Weights, resnet50

        default = ResNet50_Weights.DEFAULT
        state_dict = resolve_state_dict(self.name, default.url, self.weights, self.download)
        self._labels = list(default.meta["categories"])
        self.transform = default.transforms()
        model = load_network(lambda: resnet50(weights=None), state_dict, "ResNet-50", skip_init=True)
        self.model = model.to(self.device, memory_format=torch.channels_last)

    @property
    def labels(self) -> Sequence[str]:
        return self._labels

    def trainable(self) -> "Trainable":
        """The ResNet-50 itself (gradients on), ImageNet normalisation, 224-pixel crops."""
        from .trainable import Trainable, imagenet_normalize

        return Trainable(self.model.requires_grad_(True), imagenet_normalize(self.transform.mean, self.transform.std),
                         self.transform.crop_size[0], self._labels, "classification")

    def predict(self, images: Sequence["Image.Image"], *, top_k: int = 5,
                threshold: float = 0.5) -> list[Classification]:
        import torch

        if not images:
            return []
        batch = torch.stack([self.transform(to_rgb(image)) for image in images])
        batch = batch.to(self.device, memory_format=torch.channels_last)
        with torch.inference_mode(), self.autocast():
            logits = self.model(batch)
        probabilities, indices = logits.float().softmax(dim=1).topk(min(top_k, len(self._labels)), dim=1)
        return [Classification(tuple(ClassScore(int(i), self._labels[i], float(p)) for p, i in zip(row_p, row_i)))
                for row_p, row_i in zip(probabilities.tolist(), indices.tolist())]


class MobileNetSSD(Recognizer):
    """SSDlite320 with a MobileNetV3-Large backbone, torchvision ``SSDLite320_MobileNet_V3_Large_Weights.DEFAULT``.

    ``labels="coco"``: the 91-entry COCO category list (index = COCO category id);
    ``labels="voc"``: only the 20 PASCAL VOC classes, under their VOC names (index 0 … 19).
    """

    task = "detection"
    summary = "SSDlite320 MobileNetV3-Large (torchvision), COCO, 80 classes (labels: coco, voc)"
    label_sets = ("coco", "voc")
    batch_size = 8

    def load(self) -> None:
        import torch
        from torchvision.models.detection import SSDLite320_MobileNet_V3_Large_Weights, ssdlite320_mobilenet_v3_large

        default = SSDLite320_MobileNet_V3_Large_Weights.DEFAULT
        state_dict = resolve_state_dict(self.name, default.url, self.weights, self.download)
        categories = list(default.meta["categories"])
        # weights_backbone=None: the full weights include the backbone (no second download)
        model = load_network(lambda: ssdlite320_mobilenet_v3_large(weights=None, weights_backbone=None,
                                                                   num_classes=len(categories)),
                             state_dict, "SSDlite320 MobileNetV3")
        self.model = model.to(self.device, memory_format=torch.channels_last)  # ~1.4× faster on CPU
        self._categories = categories
        if self.label_set == "voc":
            self._labels = list(VOC_CLASSES)
            self._index = {i: VOC_CLASSES.index(COCO_TO_VOC[name])
                           for i, name in enumerate(categories) if name in COCO_TO_VOC}
        else:
            self._labels = categories
            self._index = {i: i for i in range(len(categories))}

    @property
    def labels(self) -> Sequence[str]:
        return self._labels

    def autocast(self) -> ContextManager:
        """float32 unless ``precision="bf16"``: bfloat16 made this network slower on CPU (AMX, measured)."""
        import contextlib

        return super().autocast() if self.precision == "bf16" else contextlib.nullcontext()

    def trainable(self) -> "Trainable":
        """The SSDlite itself (gradients on; it normalises and resizes to 320×320 inside), labels
        = the 91 COCO categories whatever the label set (the network's own outputs)."""
        from .trainable import Trainable

        return Trainable(self.model.requires_grad_(True), input_size=320, labels=self._categories, task="detection")

    def predict(self, images: Sequence["Image.Image"], *, top_k: int = 5,
                threshold: float = 0.5) -> list[Detections]:
        import torch
        from torchvision.transforms.functional import pil_to_tensor

        if not images:
            return []
        tensors = [pil_to_tensor(to_rgb(image)).to(self.device, torch.float32).div_(255) for image in images]
        with torch.inference_mode(), self.autocast():
            outputs = self.model(tensors)
        results = []
        for output in outputs:
            found = [Detection(tuple(float(v) for v in box), self._index[label], self._labels[self._index[label]],
                               float(score))
                     for box, label, score in zip(output["boxes"].float().tolist(), output["labels"].tolist(),
                                                  output["scores"].float().tolist())
                     if score >= threshold and label in self._index]
            results.append(Detections(tuple(sorted(found, key=lambda d: -d.score))))
        return results
