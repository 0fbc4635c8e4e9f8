"""Typed recognition results, and the one JSON record that carries them.

:func:`build_record` is the only place the record is built: ``rnc classify/detect --json`` writes
one per input (JSON Lines), and a server can return the same object.  Schema (version
:data:`SCHEMA_VERSION`)::

    {
      "schema": 1,
      "file": "photo.rnc",                 # the input as given
      "kind": "rnc",                       # "rnc" (decoded .rnc file) or "image" (plain image)
      "width": 500, "height": 375,         # of the image recognised
      "source_width": 4000,                # only for a file the encoder downscaled (rnc encode
      "source_height": 3000,               # --shorter-side …): the photo's size before
      "iterations": 2,                     # iterations decoded (null for a plain image)
      "iterations_in_file": 4,             # complete iterations in the file (null for an image)
      "bytes_read": 6268,                  # .rnc: bytes through the last decoded iteration's chunk;
                                           # image: the file size
      "file_bytes": 12498,                 # size of the whole file
      "recognizer": "resnet50",
      "task": "classification",            # or "detection"
      "confidence": 0.93,                  # top-1 probability, or the lowest kept detection score
                                           # (0 when nothing is detected)
      "results": [...],                    # see below
      "progressive": [                     # only for progressive recognition: one entry per
        {"iterations": 1, "bytes_read": 3163, "confidence": 0.41, "results": [...]},  # iteration
        ...
      ],
      "target_reached": true               # only with a confidence target: whether the last
    }                                      # iteration decoded reached it (and so stopped there)

``results`` holds, for classification, ``{"index", "label", "probability"}`` objects, most
probable first (``index`` is the class index in the recognizer's label set); for detection,
``{"index", "label", "score", "box": [x0, y0, x1, y1]}`` objects, highest score first, boxes in
pixels of the recognised image — and, for a file the encoder downscaled, ``"source_box"``: the same
box in pixels of the photo it was made from.  With progressive recognition the top-level fields are those of
the last iteration decoded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Optional, Sequence, Union

__all__ = ["SCHEMA_VERSION", "ClassScore", "Classification", "Detection", "Detections", "Result", "Sample",
           "Step", "build_record"]

#: Version of the record :func:`build_record` makes; bumped when a field changes meaning.
SCHEMA_VERSION = 1


@dataclass(frozen=True)
class ClassScore:
    """One class of a classification: its index in the label set, name and probability."""

    index: int
    label: str
    probability: float

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "label": self.label, "probability": round(self.probability, 6)}


@dataclass(frozen=True)
class Classification:
    """The top-k classes of one image, most probable first."""

    top: tuple[ClassScore, ...]
    task: ClassVar[str] = "classification"

    @property
    def confidence(self) -> float:
        """The top-1 probability."""
        return self.top[0].probability if self.top else 0.0

    def to_list(self) -> list[dict[str, Any]]:
        return [score.to_dict() for score in self.top]


@dataclass(frozen=True)
class Detection:
    """One detected object: box ``(x0, y0, x1, y1)`` in pixels, class index and name, score."""

    box: tuple[float, float, float, float]
    index: int
    label: str
    score: float

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "label": self.label, "score": round(self.score, 6),
                "box": [round(v, 2) for v in self.box]}


@dataclass(frozen=True)
class Detections:
    """The objects kept in one image (score at or over the threshold), highest score first."""

    objects: tuple[Detection, ...]
    task: ClassVar[str] = "detection"

    @property
    def confidence(self) -> float:
        """The lowest score of the kept objects; 0 when none is kept."""
        return min((d.score for d in self.objects), default=0.0)

    def to_list(self) -> list[dict[str, Any]]:
        return [d.to_dict() for d in self.objects]


Result = Union[Classification, Detections]


@dataclass(frozen=True)
class Sample:
    """What was recognised: an input and how much of it was used (see the module schema)."""

    file: str
    kind: str
    width: int
    height: int
    bytes_read: int
    file_bytes: int
    iterations: Optional[int] = None
    iterations_in_file: Optional[int] = None
    source_size: Optional[tuple[int, int]] = None  # (width, height) before the encoder downscaled it


@dataclass(frozen=True)
class Step:
    """Progressive recognition after one more iteration."""

    iterations: int
    bytes_read: int
    result: Result


def build_record(sample: Sample, result: Result, *, recognizer: str, steps: Optional[Sequence[Step]] = None,
                 stop_at: Optional[float] = None) -> dict[str, Any]:
    """The JSON-serialisable record of one recognised input (schema in the module docstring).

    Args:
        sample: the input, as decoded (for progressive recognition: at its last step).
        result: the recognizer's result on it.
        recognizer: the recognizer's name.
        steps: progressive recognition, one per iteration decoded (adds ``progressive``).
        stop_at: the confidence target, when one was set (adds ``target_reached``).
    """
    record: dict[str, Any] = {
        "schema": SCHEMA_VERSION,
        "file": sample.file,
        "kind": sample.kind,
        "width": sample.width,
        "height": sample.height,
        "iterations": sample.iterations,
        "iterations_in_file": sample.iterations_in_file,
        "bytes_read": sample.bytes_read,
        "file_bytes": sample.file_bytes,
        "recognizer": recognizer,
        "task": result.task,
        "confidence": round(result.confidence, 6),
        "results": _with_source_boxes(result.to_list(), sample),
    }
    if sample.source_size is not None:
        record["source_width"], record["source_height"] = sample.source_size
    if steps is not None:
        record["progressive"] = [
            {"iterations": step.iterations, "bytes_read": step.bytes_read,
             "confidence": round(step.result.confidence, 6),
             "results": _with_source_boxes(step.result.to_list(), sample)}
            for step in steps
        ]
    if stop_at is not None:
        record["target_reached"] = result.confidence >= stop_at
    return record


def _with_source_boxes(results: list[dict[str, Any]], sample: Sample) -> list[dict[str, Any]]:
    """``results`` with each box also in pixels of the photo a downscaled file was made from."""
    if sample.source_size is None:
        return results
    sx, sy = sample.source_size[0] / sample.width, sample.source_size[1] / sample.height
    for item in results:
        if "box" in item:
            x0, y0, x1, y1 = item["box"]
            item["source_box"] = [round(x0 * sx, 2), round(y0 * sy, 2), round(x1 * sx, 2), round(y1 * sy, 2)]
    return results
