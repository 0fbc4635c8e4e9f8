"""Small, dependency-free scoring helpers for recognition benchmarks.

- :func:`largest_within`: the highest quality whose encoding fits a byte budget (binary search over
  a monotone quality scale, the encoder memoised by the caller), used to match JPEG/WebP to the
  bytes of an ``.rnc`` file *per image*;
- :func:`match_detections` + :func:`mean_average_precision`: VOC-style mAP at one IoU threshold
  (all-point interpolated AP per class, averaged over the classes that have ground truth), with the
  per-image matching done once so that :func:`bootstrap_interval` can resample images cheaply;
- :func:`bootstrap_interval`: a percentile bootstrap over images.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

__all__ = ["largest_within", "Fit", "ImageMatches", "match_detections", "mean_average_precision",
           "bootstrap_interval"]


@dataclass(frozen=True)
class Fit:
    """The chosen encoding: its quality, its bytes, and whether it fits the budget (when even the
    lowest quality is larger, ``fits`` is False and the lowest quality's file is returned)."""

    quality: int
    data: bytes
    fits: bool


def largest_within(encode: Callable[[int], bytes], qualities: Sequence[int], budget: int) -> Fit:
    """The highest of ``qualities`` (ascending; file size non-decreasing in quality is assumed, as for
    JPEG and WebP) whose ``encode(quality)`` is at most ``budget`` bytes."""
    if not qualities:
        raise ValueError("no qualities to choose from")
    lowest = encode(qualities[0])
    if len(lowest) > budget:
        return Fit(qualities[0], lowest, False)
    best = Fit(qualities[0], lowest, True)
    low, high = 1, len(qualities) - 1
    while low <= high:
        middle = (low + high) // 2
        data = encode(qualities[middle])
        if len(data) <= budget:
            best, low = Fit(qualities[middle], data, True), middle + 1
        else:
            high = middle - 1
    return best


def _iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    x0 = np.maximum(box[0], boxes[:, 0])
    y0 = np.maximum(box[1], boxes[:, 1])
    x1 = np.minimum(box[2], boxes[:, 2])
    y1 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-12)


@dataclass(frozen=True)
class ImageMatches:
    """One image's detections, matched to its ground truth: per class, the detections' scores and
    whether each is a true positive, and the number of ground-truth objects."""

    scores: dict[int, np.ndarray]
    true_positive: dict[int, np.ndarray]
    positives: dict[int, int]


def match_detections(detections: Sequence[tuple[int, float, Sequence[float]]],
                     truth: Sequence[tuple[int, Sequence[float]]], iou_threshold: float = 0.5) -> ImageMatches:
    """Greedy VOC matching in one image: detections ``(class, score, (x0, y0, x1, y1))`` by falling
    score; each is a true positive when it overlaps a not-yet-matched ground-truth box
    ``(class, box)`` of its class with IoU ≥ ``iou_threshold`` (the best-overlapping one)."""
    positives: dict[int, int] = {}
    gt_boxes: dict[int, list] = {}
    for cls, box in truth:
        positives[cls] = positives.get(cls, 0) + 1
        gt_boxes.setdefault(cls, []).append(box)
    scores: dict[int, list] = {}
    flags: dict[int, list] = {}
    order = sorted(range(len(detections)), key=lambda i: -detections[i][1])
    used = {cls: np.zeros(len(b), bool) for cls, b in gt_boxes.items()}
    arrays = {cls: np.asarray(b, float).reshape(-1, 4) for cls, b in gt_boxes.items()}
    for i in order:
        cls, score, box = detections[i]
        hit = False
        if cls in arrays:
            overlaps = _iou(np.asarray(box, float), arrays[cls])
            overlaps[used[cls]] = -1
            best = int(np.argmax(overlaps))
            if overlaps[best] >= iou_threshold:
                used[cls][best] = True
                hit = True
        scores.setdefault(cls, []).append(score)
        flags.setdefault(cls, []).append(hit)
    return ImageMatches({c: np.asarray(s, float) for c, s in scores.items()},
                        {c: np.asarray(f, bool) for c, f in flags.items()}, positives)


def _average_precision(scores: np.ndarray, true_positive: np.ndarray, positives: int) -> float:
    order = np.argsort(-scores, kind="stable")
    tp = np.cumsum(true_positive[order])
    fp = np.cumsum(~true_positive[order])
    recall = tp / positives
    precision = tp / np.maximum(tp + fp, 1e-12)
    recall = np.concatenate([[0.0], recall, [1.0]])
    precision = np.concatenate([[0.0], precision, [0.0]])
    precision = np.maximum.accumulate(precision[::-1])[::-1]  # the precision envelope
    changes = np.where(recall[1:] != recall[:-1])[0]
    return float(np.sum((recall[changes + 1] - recall[changes]) * precision[changes + 1]))


def mean_average_precision(images: Sequence[ImageMatches]) -> float:
    """mAP over the classes with at least one ground-truth object in ``images`` (which may repeat
    an image, as a bootstrap resample does); 0 for a class never detected."""
    positives: dict[int, int] = {}
    for image in images:
        for cls, n in image.positives.items():
            positives[cls] = positives.get(cls, 0) + n
    if not positives:
        return float("nan")
    aps = []
    for cls, n in positives.items():
        parts = [(image.scores[cls], image.true_positive[cls]) for image in images if cls in image.scores]
        if not parts:
            aps.append(0.0)
            continue
        aps.append(_average_precision(np.concatenate([p[0] for p in parts]),
                                      np.concatenate([p[1] for p in parts]), n))
    return float(np.mean(aps))


def bootstrap_interval(items: Sequence, statistic: Callable[[Sequence], float], *, resamples: int = 1000,
                       level: float = 0.95, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of ``statistic`` over ``items`` (resampled with replacement)."""
    if not len(items):
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(resamples):
        draw = rng.integers(0, len(items), len(items))
        values.append(statistic([items[i] for i in draw]))
    tail = (1 - level) / 2 * 100
    low, high = np.nanpercentile(values, [tail, 100 - tail])
    return float(low), float(high)
