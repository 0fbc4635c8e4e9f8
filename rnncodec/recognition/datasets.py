"""Ground truth for ``rnc eval``: class labels for classification, boxes for detection.

Classification: a TSV or CSV file with a header row, a ``file`` column and either an ``index``
column (class index in the recognizer's label set; ImageNet's is the sorted-wnid order torchvision
uses) or a ``label`` column (class name; case, spaces and underscores do not matter).

Detection, ``--format``:

- ``yolo``: one ``<image stem>.txt`` per image in the annotation folder, a line ``class cx cy w h``
  per object (normalised to the image size); class indices name ``names`` (default: the 80 COCO
  classes, the YOLO convention).  No file: no object.
- ``voc``: one PASCAL VOC ``<image stem>.xml`` per image (``object/name``, ``bndbox``); objects
  marked ``difficult`` are ignored by the metric (neither found nor missed).
- ``coco``: a COCO ``instances`` JSON file (or a folder holding exactly one ``.json``); images are
  matched by ``file_name``, ``iscrowd`` objects are ignored like VOC's difficult ones.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

from .errors import DatasetError

__all__ = ["Box", "ANNOTATION_FORMATS", "list_images", "read_class_labels", "read_annotations", "read_names"]

#: Detection annotation formats :func:`read_annotations` reads.
ANNOTATION_FORMATS = ("yolo", "voc", "coco")


@dataclass(frozen=True)
class Box:
    """A ground-truth object: class name, ``(x0, y0, x1, y1)`` in pixels, and whether to ignore it."""

    label: str
    box: tuple[float, float, float, float]
    ignore: bool = False


def list_images(folder: Path) -> list[Path]:
    """The image files directly in ``folder`` (any extension Pillow reads), sorted by name."""
    from PIL import Image

    if not folder.is_dir():
        raise DatasetError(f"{folder}: not a folder")
    extensions = Image.registered_extensions()
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in extensions)


def _key(name: str) -> str:
    return re.sub(r"[\s_]+", " ", name.strip().lower())


def read_class_labels(path: Path, classes: Sequence[str]) -> dict[str, int]:
    """Image file name → class index, from a TSV/CSV file (see the module docstring)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise DatasetError(f"{path}: not a text file") from None
    rows = list(csv.DictReader(text.splitlines(), delimiter="\t" if "\t" in text.partition("\n")[0] else ","))
    columns = set(rows[0]) if rows else set()
    if "file" not in columns or not columns & {"index", "label"}:
        raise DatasetError(f"{path}: needs a header row with a 'file' column and an 'index' or 'label' column")
    by_name = {_key(name): i for i, name in enumerate(classes)}
    labels = {}
    for line, row in enumerate(rows, 2):
        try:
            index = int(row["index"]) if "index" in columns else by_name[_key(row["label"])]
        except (KeyError, TypeError, ValueError):
            raise DatasetError(f"{path}, line {line}: no class {row.get('index', row.get('label'))!r} "
                               f"among the recognizer's {len(classes)}") from None
        if not 0 <= index < len(classes):
            raise DatasetError(f"{path}, line {line}: class index {index} is not in 0…{len(classes) - 1}")
        labels[row["file"]] = index
    return labels


def read_names(path: Path) -> list[str]:
    """Class names: a YOLO data YAML file's ``names`` (mapping or list), or a text file, one per line."""
    lines = path.read_text(encoding="utf-8").splitlines()
    if path.suffix.lower() not in (".yaml", ".yml"):
        return [line.strip() for line in lines if line.strip()]
    names: dict[int, str] = {}
    inside = False
    for line in lines:
        if re.match(r"names\s*:", line):
            inline = line.partition(":")[2].strip()
            if inline.startswith("["):
                return [n.strip().strip("'\"") for n in inline.strip("[]").split(",") if n.strip()]
            inside = True
        elif inside and (entry := re.match(r"\s+(?:(\d+)\s*:|-)\s*(.+?)\s*$", line)):
            names[int(entry[1]) if entry[1] is not None else len(names)] = entry[2].strip("'\"")
        elif inside and line.strip() and not line[0].isspace():
            break
    if not names or sorted(names) != list(range(len(names))):
        raise DatasetError(f"{path}: no 'names' list or mapping 0…N-1")
    return [names[i] for i in range(len(names))]


def read_annotations(fmt: str, annotations: Path, images: Sequence[Path],
                     names: Optional[Sequence[str]] = None) -> dict[str, list[Box]]:
    """Image file name → its objects, for every image in ``images``.

    Args:
        fmt: one of :data:`ANNOTATION_FORMATS`.
        annotations: the annotation folder (``coco``: the JSON file, or a folder with one).
        names: ``yolo`` class names (default: the 80 COCO classes).
    """
    if fmt == "yolo":
        return _read_yolo(annotations, images, names)
    if fmt == "voc":
        return {image.name: _read_voc(annotations / f"{image.stem}.xml") for image in images}
    if fmt == "coco":
        return _read_coco(annotations, images)
    raise DatasetError(f"unknown annotation format {fmt!r} (known: {', '.join(ANNOTATION_FORMATS)})")


def _read_yolo(folder: Path, images: Sequence[Path], names: Optional[Sequence[str]]) -> dict[str, list[Box]]:
    from PIL import Image

    from .labels import coco80

    names = list(names) if names is not None else coco80()
    truth = {}
    for image in images:
        path = folder / f"{image.stem}.txt"
        boxes = []
        if path.is_file():
            with Image.open(image) as opened:
                width, height = _oriented_size(opened)
            for number, line in enumerate(path.read_text().splitlines(), 1):
                fields = line.split()
                if not fields:
                    continue
                try:
                    cls, cx, cy, w, h = int(fields[0]), *map(float, fields[1:5])
                    label = names[cls]
                except (ValueError, IndexError):
                    raise DatasetError(f"{path}, line {number}: expected 'class cx cy w h' with a class in "
                                       f"0…{len(names) - 1}") from None
                boxes.append(Box(label, ((cx - w / 2) * width, (cy - h / 2) * height,
                                         (cx + w / 2) * width, (cy + h / 2) * height)))
        truth[image.name] = boxes
    return truth


def _oriented_size(image) -> tuple[int, int]:
    """Size after EXIF orientation (what the codec and the recognizer see)."""
    orientation = image.getexif().get(0x0112, 1)
    return (image.height, image.width) if orientation in (5, 6, 7, 8) else image.size


def _read_voc(path: Path) -> list[Box]:
    import xml.etree.ElementTree as ElementTree

    if not path.is_file():
        raise DatasetError(f"{path}: no such annotation file")
    try:
        root = ElementTree.parse(path).getroot()
        return [Box(obj.findtext("name").strip(),
                    tuple(float(obj.find("bndbox").findtext(k)) for k in ("xmin", "ymin", "xmax", "ymax")),
                    obj.findtext("difficult", "0").strip() == "1")
                for obj in root.iter("object")]
    except (ElementTree.ParseError, AttributeError, TypeError, ValueError):
        raise DatasetError(f"{path}: not a PASCAL VOC annotation (object/name, bndbox/xmin…ymax)") from None


def _read_coco(path: Path, images: Sequence[Path]) -> dict[str, list[Box]]:
    if path.is_dir():
        found = sorted(path.glob("*.json"))
        if len(found) != 1:
            raise DatasetError(f"{path}: expected one COCO .json file, found {len(found)}")
        path = found[0]
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        categories = {c["id"]: c["name"] for c in data["categories"]}
        ids = {entry["file_name"].rsplit("/", 1)[-1]: entry["id"] for entry in data["images"]}
        objects: dict[int, list[Box]] = {}
        for ann in data["annotations"]:
            x, y, w, h = map(float, ann["bbox"])
            objects.setdefault(ann["image_id"], []).append(
                Box(categories[ann["category_id"]], (x, y, x + w, y + h), bool(ann.get("iscrowd", 0))))
    except (ValueError, KeyError, TypeError):
        raise DatasetError(f"{path}: not a COCO instances file (images, annotations, categories)") from None
    missing = [image.name for image in images if image.name not in ids]
    if missing:
        raise DatasetError(f"{path}: {len(missing)} images are not in the annotations (first: {missing[0]})")
    return {image.name: objects.get(ids[image.name], []) for image in images}
