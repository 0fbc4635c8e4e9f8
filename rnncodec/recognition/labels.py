"""Label sets: PASCAL VOC's 20 classes, and their COCO names.

The detector is trained on COCO; the paper's detection results are on PASCAL VOC 2007, whose 20
classes are all COCO classes under other names.  :data:`COCO_TO_VOC` maps a COCO name to its VOC
name for those 20 classes (``labels="voc"`` keeps only them).
"""

from __future__ import annotations

__all__ = ["VOC_CLASSES", "COCO_TO_VOC", "coco80"]

#: The 20 PASCAL VOC classes in their usual order (index 0 … 19).
VOC_CLASSES = (
    "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
    "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor",
)

#: The VOC classes that COCO names differently.
_COCO_NAMES = {"aeroplane": "airplane", "diningtable": "dining table", "motorbike": "motorcycle",
               "pottedplant": "potted plant", "sofa": "couch", "tvmonitor": "tv"}

#: COCO class name → VOC class name, for the 20 VOC classes.
COCO_TO_VOC = {_COCO_NAMES.get(voc, voc): voc for voc in VOC_CLASSES}


def coco80() -> list[str]:
    """The 80 COCO class names in category-id order (the YOLO class indices 0 … 79)."""
    from torchvision.models.detection import SSDLite320_MobileNet_V3_Large_Weights

    categories = SSDLite320_MobileNet_V3_Large_Weights.DEFAULT.meta["categories"]
    return [name for name in categories if name not in ("__background__", "N/A")]
