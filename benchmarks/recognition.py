"""Recognition at equal bytes, measured with real pretrained recognizers.

Classification: ImageNet top-1 / top-5 of a MobileNetV2 (int8 TFLite, run by LiteRT) on
``imagenet-sample-100``; detection: COCO mAP@0.5 (VOC-style all-point AP, averaged over the classes
present) of Yolo-Fastest-XL (Darknet, run by OpenCV) on ``coco128-train``.  Both recognizers are
measuring instruments from ``../shared/recognizers`` (see its README), not product dependencies.

Inputs per photo, all real file bytes:

- ``original``: the photo's own file;
- ``rnc W k``: the ``.rnc`` file of weights W cut after k = 1…N iterations (what ``rnc encode -n k`` writes);
- ``jpeg W k`` / ``webp W k``: JPEG (4:2:0, optimize) / WebP (method 6) at the largest quality whose
  file fits that ``.rnc`` file's bytes, *per image*; when even the lowest quality does not fit, its
  file is used and counted (``over``: how many photos, and their mean size);
- ``webp smallest`` (quality 0), ``jpeg 0.25 bpp`` / ``webp 0.25 bpp`` (largest quality within 0.25 bpp);
- ``--budgets B1,B2,…``: ``rnc W @B``, what ``rnc encode --max-bytes B --downscale-to-fit`` writes (the
  largest size whose file fits), and ``webp @B``, WebP the same way (the largest size whose quality-0
  file fits, then its highest quality that fits) — budgets below the photos' 1-iteration files.

``--strip``: the ``.rnc`` files without the metadata the encoder adds (``rnc encode --strip``), as the
edge client sends them — 70–130 bytes fewer a photo; JPEG and WebP files from pixels carry none anyway.

``--shorter-side PX`` / ``--longer-side PX``: every codec (rnc, JPEG, WebP) codes the photo downscaled
as ``rnc encode --shorter-side`` does — the size a recognizer sees, more iterations for the bytes —
while the originals stay full size (the 0.25 bpp budgets count the original's pixels).

Label-free agreement (``--tasks agree``, on ``--agree-data``, default ``bsds500/val``: photos that are
no benchmark and carry no labels): how often the classifier's top-1 on a setting is its top-1 on the
original photo — a check that a codec decision holds beyond the benchmark's 100 ImageNet photos — and
how much probability it keeps for that answer (``kept``, continuous); every weights after the first is
also compared with the first photo by photo at the same iteration or budget (paired intervals, far
narrower).
``--tasks agree-detect`` does the same for the detector, which no training loss sees: mAP@0.5 of its
boxes on each setting against its own boxes on the original (score ≥ 0.3), and the F1 of the boxes
scoring ≥ 0.3 (every box weighing the same: steadier than mAP on few photos), paired against the first
weights over the same resampled photos.

Every accuracy comes with the number of photos and a 95 % bootstrap interval over photos; with several
weights, each one's top-1 after the first is also compared with the first's photo by photo at every
iteration and budget both have (a line each: the mean difference and its paired 95 % interval).  The
converter check (``--check-reference``, on by default) runs our torch copy of the classifier
(:mod:`rnncodec.recognition.tflite_torch`) next to the interpreter on the originals and reports
top-1 agreement and both top-1s.

Adapted classifiers (issue 14, the paper's "compressed-image model"): ``--adapted NAME=FILE`` (repeatable)
runs our torch copy of the classifier with the state dict FILE (made by ``rnc finetune`` /
``scripts/adapt_reference.py``) on the originals and on every ``.rnc`` setting, next to the unadapted
torch copy (``copy``) — same runtime, so the difference is the adaptation alone — and prints a second
table with paired 95 % bootstrap intervals of the difference.

    pip install -e '.[bench]'
    python benchmarks/recognition.py --codec-weights GRU_S_V4 --codec-weights runs/m1/gru-s-machine.pt
    python benchmarks/recognition.py --codec-weights runs/x.pt --images 20 --tasks classify   # a quick look
    python benchmarks/recognition.py --tasks classify --no-baselines --adapted v4=runs/adapted-v4.pt
    python benchmarks/recognition.py --tasks agree,agree-detect --no-baselines --codec-weights GRU_S_MACHINE_V2 --codec-weights runs/x.pt

(``--weights`` is accepted for ``--codec-weights``.)

Writes ``results/recognition/<weights>.json`` (one per weights, with the originals and the baselines
matched to it; ``results/recognition/agreement/`` for a run of the label-free tasks alone) and
``docs/img/recognition.png`` (accuracy against kB per photo, one curve per codec); prints a table.
Runs the photos in ``--workers`` processes (default: one per core).
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import Optional

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
CLASSIFIER = "tf2_mobilenet_v2_1.0_224_ptq.tflite"
DETECTOR_CFG, DETECTOR_WEIGHTS, DETECTOR_NAMES = "yolo-fastest-1.1-xl.cfg", "yolo-fastest-1.1-xl.weights", "coco.names"
JPEG_QUALITIES = list(range(1, 101))
WEBP_QUALITIES = list(range(0, 101))
DETECTOR_SIDE, DETECTION_THRESHOLD, NMS_IOU, MAX_DETECTIONS = 320, 0.005, 0.45, 100
BASELINE_BPP = 0.25
AGREE_DETECTION_SCORE = 0.3  # the detector's boxes on an original that count as its truth (--tasks agree-detect)

# -- per-process state (each worker loads the recognizers and codecs once) ----------------------------

_STATE: dict = {}


def _init_worker(options: dict) -> None:
    import cv2
    import torch

    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    _STATE.clear()
    _STATE["options"] = options


@lru_cache(maxsize=None)
def _codec(weights: str):
    from rnncodec.codec import Codec

    return Codec(weights)


@lru_cache(maxsize=None)
def _interpreter():
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(Path(_STATE["options"]["recognizers"]) / CLASSIFIER), num_threads=1)
    interpreter.allocate_tensors()
    return interpreter


@lru_cache(maxsize=None)
def _reference(state_dict: str | None = None):
    from rnncodec.recognition.tflite_torch import load_tflite_classifier

    return load_tflite_classifier(Path(_STATE["options"]["recognizers"]) / CLASSIFIER, state_dict)


@lru_cache(maxsize=None)
def _detector():
    import cv2

    folder = Path(_STATE["options"]["recognizers"])
    net = cv2.dnn.readNetFromDarknet(str(folder / DETECTOR_CFG), str(folder / DETECTOR_WEIGHTS))
    return net, net.getUnconnectedOutLayersNames()


def class_probabilities(rgb: np.ndarray) -> np.ndarray:
    """The classifier's probability of each ImageNet class (0-based: the model's index 0, 'background',
    dropped), dequantised from its uint8 output (steps of 1/256)."""
    from rnncodec.recognition.tflite_torch import classifier_input

    interpreter = _interpreter()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], classifier_input(rgb)[None])
    interpreter.invoke()
    output = interpreter.get_output_details()[0]
    scale, zero = output["quantization"]
    return (interpreter.get_tensor(output["index"])[0].astype(np.float64) - zero)[1:] * scale


def top5(probabilities: np.ndarray) -> list[int]:
    return [int(i) for i in np.argsort(-probabilities, kind="stable")[:5]]


def classify_reference(rgb: np.ndarray, state_dict: str | None = None) -> list[int]:
    """Top-5 of our torch copy of the classifier (``state_dict``: an adapted copy's weights)."""
    import torch

    from rnncodec.recognition.tflite_torch import classifier_input

    with torch.no_grad():
        pixels = torch.from_numpy(classifier_input(rgb)).permute(2, 0, 1)[None].float()
        return [int(i) - 1 for i in _reference(state_dict)(pixels)[0].topk(5).indices]


def classify_adapted(rgb: np.ndarray) -> dict[str, list[int]]:
    """Top-5 of the unadapted torch copy (``copy``) and of every ``--adapted`` one."""
    adapted = _STATE["options"]["adapted"]
    return {"copy": classify_reference(rgb), **{name: classify_reference(rgb, path) for name, path in adapted.items()}}


def detect(rgb: np.ndarray,
           size: tuple[int, int] | None = None) -> list[tuple[int, float, tuple[float, float, float, float]]]:
    """Yolo-Fastest detections ``(class, score, (x0, y0, x1, y1) pixels)``, per-class NMS; the pixels
    of an image of ``size`` (width, height; default ``rgb``'s own — the original's for a downscaled coding)."""
    import cv2

    net, outputs = _detector()
    w, h = size or (rgb.shape[1], rgb.shape[0])
    blob = cv2.dnn.blobFromImage(np.ascontiguousarray(rgb[..., ::-1]), 1 / 255, (DETECTOR_SIDE, DETECTOR_SIDE),
                                 swapRB=True, crop=False)
    net.setInput(blob)
    rows = np.concatenate([o.reshape(-1, o.shape[-1]) for o in net.forward(outputs)])
    scores = rows[:, 4:5] * rows[:, 5:]
    detections = []
    for cls in np.unique(np.nonzero(scores >= DETECTION_THRESHOLD)[1]):
        keep = np.nonzero(scores[:, cls] >= DETECTION_THRESHOLD)[0]
        cx, cy, bw, bh = (rows[keep, i] for i in range(4))
        boxes = np.stack([(cx - bw / 2) * w, (cy - bh / 2) * h, bw * w, bh * h], 1)
        chosen = cv2.dnn.NMSBoxes(boxes.tolist(), scores[keep, cls].tolist(), DETECTION_THRESHOLD, NMS_IOU)
        for i in np.asarray(chosen).reshape(-1):
            x, y, bw_, bh_ = boxes[i]
            detections.append((int(cls), float(scores[keep[i], cls]), (float(x), float(y), float(x + bw_), float(y + bh_))))
    detections.sort(key=lambda d: -d[1])
    return detections[:MAX_DETECTIONS]


# -- one photo in every setting ---------------------------------------------------------------------

def _pillow(rgb: np.ndarray, fmt: str):
    cache: dict[int, bytes] = {}

    def encode(quality: int) -> bytes:
        if quality not in cache:
            out = io.BytesIO()
            if fmt == "JPEG":
                Image.fromarray(rgb).save(out, "JPEG", quality=quality, optimize=True, subsampling="4:2:0")
            else:
                Image.fromarray(rgb).save(out, "WEBP", quality=quality, method=6)
            cache[quality] = out.getvalue()
        return cache[quality]

    return encode


def _webp_within(source, budget: int):
    """WebP within ``budget`` bytes as ``--downscale-to-fit`` does it for rnc: the photo at the largest
    size whose quality-0 file fits (longer side searched by bisection), then the highest quality
    that fits at that size (the photo's own size when its quality-0 file fits)."""
    from rnncodec.imageio import Downscale, downscaled
    from rnncodec.recognition.scoring import largest_within

    @lru_cache(maxsize=None)  # the bisection's last size is the one the quality search codes again
    def at(side: int):
        size = Downscale("longer", side).size(source.width, source.height)
        return _pillow(downscaled(source, size).rgb if size != (source.width, source.height) else source.rgb,
                       "WEBP")

    longest = max(source.width, source.height)
    if len(at(longest)(0)) > budget:
        low, high = 1, longest  # low fits (or is the smallest there is), high does not
        while high - low > 1:
            middle = (low + high) // 2
            low, high = (middle, high) if len(at(middle)(0)) <= budget else (low, middle)
        longest = low
    return largest_within(at(longest), WEBP_QUALITIES, budget)


def _decoded(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"))


def photo_settings(path: Path) -> dict[str, dict]:
    """Every setting of one photo: ``{name: {"bytes", "fits", "prediction"}}`` (runs in a worker)."""
    from rnncodec.file_metadata import stripped
    from rnncodec.imageio import Downscale, load_image
    from rnncodec.recognition.scoring import largest_within

    options = _STATE["options"]
    source = load_image(path, alpha="drop")
    rgb = source.rgb
    coded = source if options["downscale"] is None else load_image(path, alpha="drop",
                                                                   downscale=Downscale(*options["downscale"]))
    on_original = None if options["task"] == "detect" else class_probabilities(rgb)
    answer = None if on_original is None else int(np.argmax(on_original))

    def recognise(image: np.ndarray, probabilities: Optional[np.ndarray] = None) -> dict:
        """``prediction``; for classification also ``kept``: the probability the classifier gives, on
        this image, to its top-1 on the original — a continuous measure of what survived, paired per photo."""
        if on_original is None:
            return {"prediction": detect(image, (source.width, source.height))}
        probabilities = class_probabilities(image) if probabilities is None else probabilities
        return {"prediction": top5(probabilities), "kept": float(probabilities[answer])}

    out = {"original": {"bytes": path.stat().st_size, "fits": True, **recognise(rgb, on_original)}}
    adapted = options["task"] == "classify" and bool(options["adapted"])
    if adapted:
        out["original"]["adapted"] = classify_adapted(rgb)
    if options["task"] == "classify" and options["check_reference"]:  # the unadapted copy's answer, once
        out["original"]["reference"] = (out["original"]["adapted"]["copy"] if adapted else classify_reference(rgb))[0]
    jpeg, webp = _pillow(coded.rgb, "JPEG"), _pillow(coded.rgb, "WEBP")

    def baseline(name: str, encode, qualities, budget: int) -> None:
        fit = largest_within(encode, qualities, budget)
        out[name] = {"bytes": len(fit.data), "fits": fit.fits, "quality": fit.quality,
                     **recognise(_decoded(fit.data))}

    metadata = stripped(None) if options["strip"] else None
    for weights in options["weights"]:
        codec = _codec(weights)
        codes, images = zip(*codec.iter_codes_and_images(coded, options["iterations"]))  # decoded while encoded
        files = list(codec.prefix_files(coded, codes, len(codes), metadata=metadata))
        for k, (size, decoded) in enumerate(zip(map(len, files), images), 1):
            image = np.asarray(decoded.convert("RGB"))
            out[f"rnc {weights} {k}"] = {"bytes": size, "fits": True, **recognise(image)}
            if adapted:
                out[f"rnc {weights} {k}"]["adapted"] = classify_adapted(image)
            if not options["baselines"]:
                continue
            baseline(f"jpeg {weights} {k}", jpeg, JPEG_QUALITIES, size)
            baseline(f"webp {weights} {k}", webp, WEBP_QUALITIES, size)
    for budget in options["budgets"]:
        for weights in options["weights"]:
            codec = _codec(weights)  # decodes too: a weights file is no shipped weights a file could name
            data = codec.encode(coded.rgb, max_bytes=budget, downscale_to_fit=True, strip_metadata=options["strip"])
            decoded = np.asarray(codec.decode(data).convert("RGB"))
            out[f"rnc {weights} @{budget}"] = {"bytes": len(data), "fits": True, **recognise(decoded)}
        if options["baselines"]:
            fit = _webp_within(coded, budget)
            out[f"webp @{budget}"] = {"bytes": len(fit.data), "fits": fit.fits, "quality": fit.quality,
                                      **recognise(_decoded(fit.data))}
    if not options["baselines"]:
        return out
    smallest = webp(0)
    out["webp smallest"] = {"bytes": len(smallest), "fits": True, "quality": 0,
                            **recognise(_decoded(smallest))}
    budget = int(BASELINE_BPP * source.width * source.height / 8)  # the original's pixels, downscaled or not
    baseline("jpeg 0.25 bpp", jpeg, JPEG_QUALITIES, budget)
    baseline("webp 0.25 bpp", webp, WEBP_QUALITIES, budget)
    return out


# -- data sets ----------------------------------------------------------------------------------------

def imagenet_sample(folder: Path) -> tuple[list[Path], list[int]]:
    rows = [line.split("\t") for line in (folder / "labels.tsv").read_text().splitlines()[1:] if line.strip()]
    return [folder / row[3] for row in rows], [int(row[0]) for row in rows]


def coco_sample(folder: Path, names_file: Path) -> tuple[list[Path], list[list[tuple[int, tuple]]]]:
    from rnncodec.recognition.datasets import list_images, read_annotations

    names = [n.strip() for n in names_file.read_text().splitlines() if n.strip()]
    images = list_images(folder / "images")
    truth = read_annotations("yolo", folder / "labels", images, names)
    index = {n: i for i, n in enumerate(names)}
    return images, [[(index[b.label], b.box) for b in truth[p.name]] for p in images]


# -- scoring ------------------------------------------------------------------------------------------

def score_classification(per_photo: list[dict], labels: list[int], resamples: int,
                         weights: list[str] = ()) -> dict[str, dict]:
    """Top-1 and top-5 against ``labels`` per setting; each weights after the first also against the first,
    paired per photo at the same iteration or byte budget (``against_first``)."""
    from rnncodec.recognition.scoring import bootstrap_interval

    summary = {}
    for name in per_photo[0]:
        entries = [p[name] for p in per_photo]
        top1 = [float(e["prediction"][0] == y) for e, y in zip(entries, labels)]
        top5 = [float(y in e["prediction"]) for e, y in zip(entries, labels)]
        summary[name] = {**_bytes(entries), "images": len(entries), "top1": 100 * float(np.mean(top1)),
                         "top1_ci": [100 * v for v in bootstrap_interval(top1, np.mean, resamples=resamples)],
                         "top5": 100 * float(np.mean(top5))}
        if "kept" in entries[0]:
            kept = [e["kept"] for e in entries]
            summary[name]["kept"] = 100 * float(np.mean(kept))
            summary[name]["kept_ci"] = [100 * v for v in bootstrap_interval(kept, np.mean, resamples=resamples)]
        if "reference" in entries[0]:
            ref = [e["reference"] for e in entries]
            summary[name]["reference"] = {
                "top1_agreement": 100 * float(np.mean([r == e["prediction"][0] for r, e in zip(ref, entries)])),
                "top1": 100 * float(np.mean([r == y for r, y in zip(ref, labels)]))}
        if "adapted" in entries[0]:
            summary[name]["adapted"] = score_adapted([e["adapted"] for e in entries], labels, resamples)
    for name, paired in paired_against_first(per_photo, labels, list(weights), resamples).items():
        summary[name]["against_first"] = paired
    return summary


def score_agreement(per_photo: list[dict], resamples: int, weights: list[str] = ()) -> dict[str, dict]:
    """Top-1 agreement with the classifier's answer on the original photo (its own top-1 is the label)
    and the probability kept for that answer; each weights after the first also against the first,
    paired per photo at the same iteration or budget (``against_first``) and at the same bytes."""
    answers = [p["original"]["prediction"][0] for p in per_photo]
    summary = score_classification(per_photo, answers, resamples, weights)
    for name, paired in paired_at_same_bytes(per_photo, list(weights), resamples).items():
        summary[name]["same_bytes"] = paired
    return summary


def paired_against_first(per_photo: list[dict], labels: list[int], weights: list[str],
                         resamples: int) -> dict[str, dict]:
    """``rnc W k`` minus ``rnc F k`` (F: the first weights; and ``rnc W @B`` minus ``rnc F @B`` at a byte
    budget) photo by photo: the kept probability and top-1 against ``labels`` (points of %) with 95 %
    bootstrap intervals of the mean difference, and the mean ratio of their files' bytes — two codecs on
    the same photos, so the photos' own spread cancels and an interval is several times narrower than
    the two unpaired ones."""
    out = {}
    for name, first in [*_pairs_with_first(per_photo[0], weights), *_budget_pairs(per_photo[0], weights)]:
        pairs = [(p[name], p[first], y) for p, y in zip(per_photo, labels)]
        kept = [100 * (a["kept"] - b["kept"]) for a, b, _ in pairs]
        agree = [100 * (float(a["prediction"][0] == y) - float(b["prediction"][0] == y)) for a, b, y in pairs]
        out[name] = {"against": weights[0], "bytes_ratio": _bytes_ratio(per_photo, name, first),
                     **_mean_differences(kept, agree, resamples)}
    return out


def _mean_differences(kept: list[float], agree: list[float], resamples: int) -> dict:
    """The mean paired differences of kept probability and agreement with their 95 % bootstrap intervals."""
    from rnncodec.recognition.scoring import bootstrap_interval

    return {"kept": float(np.mean(kept)), "kept_ci": list(bootstrap_interval(kept, np.mean, resamples=resamples)),
            "top1": float(np.mean(agree)), "top1_ci": list(bootstrap_interval(agree, np.mean, resamples=resamples))}


def paired_at_same_bytes(per_photo: list[dict], weights: list[str], resamples: int) -> dict[str, dict]:
    """``rnc W k`` minus the first weights F *at the same bytes*, photo by photo (:func:`_at_same_bytes`):
    the kept probability and top-1 agreement, with 95 % bootstrap intervals of the mean difference.
    Where weights change the bytes an iteration costs (a rate term), this is the comparison a user
    meets; photos that neither way covers are left out and counted."""
    def values(setting: str, index: int) -> tuple[float, float]:
        photo = per_photo[index]
        return photo[setting]["kept"], float(photo[setting]["prediction"][0] == photo["original"]["prediction"][0])

    out = {}
    for name, first in _pairs_with_first(per_photo[0], weights):
        pairs = _at_same_bytes(per_photo, name, first, values)
        if pairs:
            kept = [100 * (a[0] - b[0]) for a, b in pairs]
            agree = [100 * (a[1] - b[1]) for a, b in pairs]
            out[name] = {"against": weights[0], "photos": len(pairs), **_mean_differences(kept, agree, resamples)}
    return out


def _at_same_bytes(per_photo: list[dict], name: str, first: str, values) -> list[tuple[tuple, tuple]]:
    """Per photo, ``values(setting, index)`` (a tuple of numbers; ``index`` in ``per_photo``) of ``name``
    (``rnc W k``) and of the first weights F at the same bytes: F's interpolated in log(bytes) over that
    photo's own F files (1, 2, … iterations) at the size of its W file — or, where that size lies outside
    them, W's over its own files at the size of F's ``k``-iteration file ``first`` (W's files much
    smaller or larger than F's); photos neither way covers are left out."""
    w, f = name.split()[1], first.split()[1]

    def at(index: int, weights: str, size: int) -> tuple | None:
        curve, k = [], 1
        while (setting := f"rnc {weights} {k}") in per_photo[index]:
            curve.append((per_photo[index][setting]["bytes"], values(setting, index)))
            k += 1
        if not curve:
            return None
        found = [interpolate_at([(b, v[j]) for b, v in curve], size) for j in range(len(curve[0][1]))]
        return None if found[0] is None else tuple(found)

    pairs = []
    for index, photo in enumerate(per_photo):
        if (theirs := at(index, f, photo[name]["bytes"])) is not None:
            pairs.append((values(name, index), theirs))
        elif (ours := at(index, w, photo[first]["bytes"])) is not None:
            pairs.append((ours, values(first, index)))
    return pairs


def score_detection_agreement(per_photo: list[dict], resamples: int, weights: list[str] = ()) -> dict[str, dict]:
    """mAP@0.5 and box F1 (:func:`box_f1`) against the detector's own boxes on the original photo
    (those scoring at least ``AGREE_DETECTION_SCORE`` are the truth); each weights after the first
    also against the first, at the same iteration, with bootstrap intervals of both differences over
    the same resampled photos (``against_first``)."""
    from rnncodec.recognition.scoring import bootstrap_interval, mean_average_precision

    truth = [[(cls, box) for cls, score, box in p["original"]["prediction"] if score >= AGREE_DETECTION_SCORE]
             for p in per_photo]
    matches = detection_matches(per_photo, truth)
    summary = score_detection(per_photo, truth, resamples, matches)
    for name, entry in summary.items():
        entry["f1"] = 100 * box_f1(matches[name])
        entry["f1_ci"] = [100 * v for v in bootstrap_interval(matches[name], box_f1, resamples=resamples)]

    def difference(metric):
        return lambda pairs: 100 * (metric([a for a, _ in pairs]) - metric([b for _, b in pairs]))

    for name, first in _pairs_with_first(per_photo[0], list(weights)):
        pairs = list(zip(matches[name], matches[first]))
        summary[name]["against_first"] = {
            "against": weights[0], "bytes_ratio": _bytes_ratio(per_photo, name, first),
            "map50": difference(mean_average_precision)(pairs),
            "map50_ci": list(bootstrap_interval(pairs, difference(mean_average_precision),
                                                resamples=max(100, resamples // 5))),
            "f1": difference(box_f1)(pairs),
            "f1_ci": list(bootstrap_interval(pairs, difference(box_f1), resamples=resamples))}
    def counts(setting: str, index: int) -> tuple[int, int, int]:
        return box_counts(matches[setting][index])

    def f1_difference(pairs: list) -> float:
        return 100 * (f1_of(np.sum([a for a, _ in pairs], axis=0)) - f1_of(np.sum([b for _, b in pairs], axis=0)))

    for name, first in _pairs_with_first(per_photo[0], list(weights)):
        if pairs := _at_same_bytes(per_photo, name, first, counts):
            summary[name]["same_bytes"] = {"against": weights[0], "photos": len(pairs), "f1": f1_difference(pairs),
                                           "f1_ci": list(bootstrap_interval(pairs, f1_difference, resamples=resamples))}
    return summary


def box_f1(images: list) -> float:
    """F1 of the boxes scoring at least ``AGREE_DETECTION_SCORE`` against the truth, over all the
    images' boxes together (matched as for mAP: same class, IoU ≥ 0.5): one operating point, every box
    weighing the same — steadier on few photos than mAP, which averages classes seen once or twice."""
    return f1_of(np.sum([box_counts(image) for image in images], axis=0))


def box_counts(image) -> tuple[int, int, int]:
    """One image's boxes scoring at least ``AGREE_DETECTION_SCORE``: (matched, detected, true boxes)."""
    matched = detected = 0
    for cls, scores in image.scores.items():
        kept = scores >= AGREE_DETECTION_SCORE
        matched += int(image.true_positive[cls][kept].sum())
        detected += int(kept.sum())
    return matched, detected, sum(image.positives.values())


def f1_of(counts) -> float:
    """F1 of summed (matched, detected, true boxes) counts."""
    matched, detected, truth = counts
    return 2 * matched / (detected + truth) if detected + truth else float("nan")


def _pairs_with_first(settings: dict, weights: list[str]):
    """(``rnc W k``, ``rnc F k``) for every weights W after the first, F, and every iteration k both have."""
    for w in weights[1:]:
        k = 1
        while f"rnc {w} {k}" in settings and f"rnc {weights[0]} {k}" in settings:
            yield f"rnc {w} {k}", f"rnc {weights[0]} {k}"
            k += 1


def _budget_pairs(settings: dict, weights: list[str]):
    """(``rnc W @B``, ``rnc F @B``) for every weights W after the first, F, and every budget B both have."""
    for w in weights[1:]:
        for name in settings:
            budget = name.removeprefix(f"rnc {w} @")
            if budget != name and (first := f"rnc {weights[0]} @{budget}") in settings:
                yield name, first


def _bytes_ratio(per_photo: list[dict], name: str, first: str) -> float:
    return float(np.mean([p[name]["bytes"] / p[first]["bytes"] for p in per_photo]))


def score_adapted(per_photo: list[dict[str, list[int]]], labels: list[int], resamples: int) -> dict[str, dict]:
    """Top-1/top-5 of each adapted classifier, and its top-1 minus the unadapted copy's (paired interval)."""
    from rnncodec.recognition.scoring import bootstrap_interval

    copy = [float(p["copy"][0] == y) for p, y in zip(per_photo, labels)]
    out = {}
    for name in per_photo[0]:
        top1 = [float(p[name][0] == y) for p, y in zip(per_photo, labels)]
        diff = [a - b for a, b in zip(top1, copy)]
        out[name] = {"top1": 100 * float(np.mean(top1)),
                     "top1_ci": [100 * v for v in bootstrap_interval(top1, np.mean, resamples=resamples)],
                     "top5": 100 * float(np.mean([y in p[name] for p, y in zip(per_photo, labels)]))}
        if name != "copy":
            out[name]["gain"] = 100 * float(np.mean(diff))
            out[name]["gain_ci"] = [100 * v for v in bootstrap_interval(diff, np.mean, resamples=resamples)]
    return out


def detection_matches(per_photo: list[dict], truth: list[list]) -> dict[str, list]:
    """Each setting's detections matched to the truth, photo by photo."""
    from rnncodec.recognition.scoring import match_detections

    return {name: [match_detections(p[name]["prediction"], t) for p, t in zip(per_photo, truth)]
            for name in per_photo[0]}


def score_detection(per_photo: list[dict], truth: list[list], resamples: int,
                    matches: Optional[dict[str, list]] = None) -> dict[str, dict]:
    """mAP@0.5 of each setting (``matches``: :func:`detection_matches`' of these photos, when made already)."""
    from rnncodec.recognition.scoring import bootstrap_interval, mean_average_precision

    matches = detection_matches(per_photo, truth) if matches is None else matches
    summary = {}
    for name in per_photo[0]:
        entries = [p[name] for p in per_photo]
        summary[name] = {**_bytes(entries), "images": len(entries),
                         "map50": 100 * mean_average_precision(matches[name]),
                         "map50_ci": [100 * v for v in bootstrap_interval(matches[name], mean_average_precision,
                                                                          resamples=max(100, resamples // 5))]}
    return summary


def _bytes(entries: list[dict]) -> dict:
    sizes = np.array([e["bytes"] for e in entries], float)
    over = [e["bytes"] for e in entries if not e["fits"]]
    return {"mean_bytes": float(sizes.mean()), "over": len(over),
            "over_mean_bytes": float(np.mean(over)) if over else None}


def interpolate_at(points: list[tuple[float, float]], x: float) -> float | None:
    """Linear interpolation of (bytes, accuracy) points in log(bytes); None outside their range."""
    points = sorted(points)
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        if x0 <= x <= x1:
            t = (math.log(x) - math.log(x0)) / (math.log(x1) - math.log(x0)) if x1 > x0 else 0.0
            return y0 + t * (y1 - y0)
    return None


# -- running and reporting ----------------------------------------------------------------------------

def run_task(task: str, images: list[Path], options: dict, workers: int) -> list[dict]:
    from tqdm import tqdm

    task_options = {**options, "task": task}
    if workers <= 1:
        _init_worker(task_options)
        return [photo_settings(p) for p in tqdm(images, desc=task, unit="photo")]
    with ProcessPoolExecutor(workers, initializer=_init_worker, initargs=(task_options,)) as pool:
        return list(tqdm(pool.map(photo_settings, images, chunksize=2), total=len(images), desc=task, unit="photo"))


def _label(name: str) -> str:
    """'rnc GRU_S_V4 2' → 'rnc GRU_S_V4, 2 it'; other names as they are."""
    words = name.split()
    return f"{words[0]} {words[1]}, {words[2]} it" if len(words) == 3 and words[2].isdigit() else name


def table(results: dict[str, dict], weights: list[str], iterations: int) -> str:
    names = ["original"]
    for w in weights:
        names += [f"{codec} {w} {k}" for codec in ("rnc", "jpeg", "webp") for k in range(1, iterations + 1)]
    names += ["webp smallest", "jpeg 0.25 bpp", "webp 0.25 bpp"]
    budgets = sorted({int(n.split("@")[1]) for task in results.values() for n in task if "@" in n})
    for b in budgets:
        names += [f"rnc {w} @{b}" for w in weights] + [f"webp @{b}"]
    lines = ["| input | ImageNet kB/photo | top-1 % [95 % CI] | top-5 % | over | COCO kB/photo | mAP@0.5 [95 % CI] | over |",
             "|---|---|---|---|---|---|---|---|"]
    cls, det = results.get("classify", {}), results.get("detect", {})
    for name in names:
        c, d = cls.get(name), det.get(name)
        if not (c or d):
            continue
        cells = [_label(name)]
        cells += [f"{c['mean_bytes'] / 1000:.1f}", f"{c['top1']:.1f} [{c['top1_ci'][0]:.0f}–{c['top1_ci'][1]:.0f}]",
                  f"{c['top5']:.1f}", _over(c)] if c else ["—"] * 4
        cells += [f"{d['mean_bytes'] / 1000:.1f}", f"{d['map50']:.1f} [{d['map50_ci'][0]:.1f}–{d['map50_ci'][1]:.1f}]",
                  _over(d)] if d else ["—"] * 3
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def agreement_table(results: dict[str, dict]) -> str:
    """Top-1 agreement with the original's top-1 and the probability kept for it, per setting
    (``--tasks agree``); against the first weights, paired, where a setting has it."""
    rows = results.get("agree", {})
    lines = ["| input | kB/photo | top-1 agreement % [95 % CI] | kept % [95 % CI] | over "
             "| against the first weights, same iteration or budget: bytes, agreement, kept [paired 95 % CI] "
             "| same bytes, photo by photo: agreement, kept [paired 95 % CI] (photos) |",
             "|---|---|---|---|---|---|---|"]
    for name, entry in rows.items():
        if name == "original":
            continue
        kept = f"{entry['kept']:.1f} [{entry['kept_ci'][0]:.1f}–{entry['kept_ci'][1]:.1f}]" if "kept" in entry else "—"
        paired = entry.get("against_first")
        versus = (f"{paired['against']}: ×{paired['bytes_ratio']:.3f}, {_paired(paired)}") if paired else ""
        same = entry.get("same_bytes")
        at_bytes = f"{_paired(same)} ({same['photos']})" if same else ""
        lines.append(f"| {_label(name)} | {entry['mean_bytes'] / 1000:.1f} | {entry['top1']:.1f} "
                     f"[{entry['top1_ci'][0]:.0f}–{entry['top1_ci'][1]:.0f}] | {kept} | {_over(entry)} | {versus} "
                     f"| {at_bytes} |")
    return "\n".join(lines) if len(lines) > 2 else ""


def _paired(difference: dict) -> str:
    """A paired difference of agreement and kept probability with their intervals, as the tables print it."""
    return f"{_signed(difference, 'top1')}, {_signed(difference, 'kept', 2)}"


def _signed(difference: dict, key: str, digits: int = 1) -> str:
    """``difference[key]`` and its interval ``difference[key + '_ci']``, signed: ``+1.0 [-2.0, +4.0]``."""
    low, high = difference[f"{key}_ci"]
    return f"{difference[key]:+.{digits}f} [{low:+.{digits}f}, {high:+.{digits}f}]"


def detection_agreement_table(results: dict[str, dict]) -> str:
    """mAP@0.5 against the detector's boxes on the originals, per setting (``--tasks agree-detect``)."""
    rows = results.get("agree-detect", {})
    lines = [f"| input | kB/photo | mAP@0.5 [95 % CI] | box F1 % at score ≥ {AGREE_DETECTION_SCORE:g} [95 % CI] "
             "| against the first weights, same iteration: bytes, mAP, box F1 [paired 95 % CI] "
             "| same bytes, photo by photo: box F1 [paired 95 % CI] (photos) |", "|---|---|---|---|---|---|"]
    for name, entry in rows.items():
        if name == "original":
            continue
        paired = entry.get("against_first")
        versus = (f"{paired['against']}: ×{paired['bytes_ratio']:.3f}, {_signed(paired, 'map50')}, "
                  f"{_signed(paired, 'f1')}") if paired else ""
        same = entry.get("same_bytes")
        at_bytes = f"{_signed(same, 'f1')} ({same['photos']})" if same else ""
        lines.append(f"| {_label(name)} | {entry['mean_bytes'] / 1000:.1f} | {entry['map50']:.1f} "
                     f"[{entry['map50_ci'][0]:.1f}–{entry['map50_ci'][1]:.1f}] | {entry['f1']:.1f} "
                     f"[{entry['f1_ci'][0]:.1f}–{entry['f1_ci'][1]:.1f}] | {versus} | {at_bytes} |")
    return "\n".join(lines) if len(lines) > 2 else ""


def adapted_table(results: dict[str, dict]) -> str:
    """Adapted classifiers against the unadapted torch copy, per setting that has them."""
    rows = {name: entry["adapted"] for name, entry in results.get("classify", {}).items() if "adapted" in entry}
    if not rows:
        return ""
    names = [n for n in next(iter(rows.values())) if n != "copy"]
    lines = ["| input | kB/photo | copy top-1 % [95 % CI] | " + " | ".join(
                 f"{n} top-1 % [95 % CI] | {n} − copy [paired 95 % CI]" for n in names) + " |",
             "|---|---|---|" + "---|---|" * len(names)]
    for setting, adapted in rows.items():
        copy = adapted["copy"]
        cells = [_label(setting), f"{results['classify'][setting]['mean_bytes'] / 1000:.1f}",
                 f"{copy['top1']:.1f} [{copy['top1_ci'][0]:.0f}–{copy['top1_ci'][1]:.0f}]"]
        for n in names:
            a = adapted[n]
            cells += [f"{a['top1']:.1f} [{a['top1_ci'][0]:.0f}–{a['top1_ci'][1]:.0f}]",
                      f"{a['gain']:+.1f} [{a['gain_ci'][0]:+.0f} – {a['gain_ci'][1]:+.0f}]"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _over(entry: dict) -> str:
    return f"{entry['over']} ({entry['over_mean_bytes'] / 1000:.1f} kB)" if entry["over"] else "0"


def headline(results: dict[str, dict], weights: list[str], iterations: int) -> dict[str, dict]:
    """Per weights: rnc top-1 interpolated at WebP's smallest files' mean bytes, minus WebP's top-1 there."""
    cls = results.get("classify")
    if not cls or "webp smallest" not in cls:
        return {}
    webp = cls["webp smallest"]
    out = {}
    for w in weights:
        points = [(cls[f"rnc {w} {k}"]["mean_bytes"], cls[f"rnc {w} {k}"]["top1"]) for k in range(1, iterations + 1)]
        at = interpolate_at(points, webp["mean_bytes"])
        out[w] = {"webp_smallest_bytes": webp["mean_bytes"], "webp_smallest_top1": webp["top1"],
                  "rnc_top1_at_those_bytes": at, "lead_points": None if at is None else at - webp["top1"]}
    return out


def against_first(results: dict[str, dict], weights: list[str]) -> dict[str, dict[str, list]]:
    """Per weights after the first, per task: its accuracy at each iteration minus the first weights'
    at the same bytes (their curve interpolated in log(bytes), over every iteration measured; None
    outside it) — the issue's "at no more bytes" comparison."""
    out: dict[str, dict[str, list]] = {}
    for task, metric in (("classify", "top1"), ("detect", "map50"), ("agree", "top1"), ("agree-detect", "map50")):
        data = results.get(task, {})

        def curve(w: str) -> list[tuple[float, float]]:
            points, k = [], 1
            while f"rnc {w} {k}" in data:
                points.append((data[f"rnc {w} {k}"]["mean_bytes"], data[f"rnc {w} {k}"][metric]))
                k += 1
            return points

        reference = curve(weights[0]) if weights else []
        for w in weights[1:]:
            deltas = []
            for size, value in curve(w):
                at = interpolate_at(reference, size)
                deltas.append(None if at is None else value - at)
            if deltas:
                out.setdefault(w, {})[task] = deltas
    return out


def plot(results: dict[str, dict], weights: list[str], iterations: int, out: Path) -> bool:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    tasks = [t for t in ("classify", "detect") if t in results]
    if not tasks:
        return False  # agreement alone: its table is the record
    fig, axes = plt.subplots(1, len(tasks), figsize=(6.4 * len(tasks), 4.6), squeeze=False)
    for ax, task in zip(axes[0], tasks):
        data, metric = results[task], ("top1" if task == "classify" else "map50")
        for w in weights:
            for codec, style in (("rnc", "o-"), ("jpeg", "s--"), ("webp", "^--")):
                if codec != "rnc" and w != weights[0]:
                    continue  # one baseline curve (matched to the first weights) keeps the plot readable
                if f"{codec} {w} 1" not in data:
                    continue  # a run without baselines (--no-baselines)
                pts = [data[f"{codec} {w} {k}"] for k in range(1, iterations + 1)]
                label = f"rnc {w}" if codec == "rnc" else f"{codec.upper()} (bytes matched to {w})"
                ax.plot([p["mean_bytes"] / 1000 for p in pts], [p[metric] for p in pts], style, label=label)
        original = data["original"]
        ax.axhline(original[metric], color="gray", lw=0.8, ls=":",
                   label=f"original ({original['mean_bytes'] / 1000:.0f} kB)")
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
        ax.xaxis.set_minor_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
        ax.set_xlabel("kB per photo")
        ax.set_ylabel("ImageNet top-1 % (MobileNetV2)" if task == "classify" else "COCO mAP@0.5 (Yolo-Fastest)")
        ax.set_title(f"{'imagenet-sample-100' if task == 'classify' else 'coco128-train'}, "
                     f"{original['images']} photos")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    return True


def _weights_name(weights: str) -> str:
    return Path(weights).stem if os.sep in weights or weights.endswith(".pt") else weights


def record_names(weights: list[str]) -> dict[str, str]:
    """Each weights' record name (``NAME.json``): a registry name as it is, a file's stem — and where
    two files share a stem (``runs/c2/q.pt``, ``runs/c3/q.pt``), their folder's name too (``c2-q``),
    so that no record is written over another.  ``ValueError`` when that still does not tell them apart."""
    names = {w: _weights_name(w) for w in weights}
    stems = list(names.values())
    for w in weights:
        if stems.count(names[w]) > 1 and names[w] != w and Path(w).parent.name:
            names[w] = f"{Path(w).parent.name}-{names[w]}"
    clashes = sorted(w for w in weights if list(names.values()).count(names[w]) > 1)
    if clashes:
        raise ValueError(f"{' and '.join(clashes)} would write the same record {names[clashes[0]]}.json")
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--codec-weights", "--weights", dest="weights", action="append", metavar="WEIGHTS",
                        help="codec weights: registry name or file (repeatable; default: the default weights)")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--recognizers", type=Path, default=ROOT.parent / "shared" / "recognizers")
    parser.add_argument("--iterations", type=int, default=4, help="rnc iterations 1…N (default 4)")
    parser.add_argument("--tasks", default="classify,detect",
                        help="classify, detect (default: both), agree and/or agree-detect (label-free: the "
                             "classifier's answer / the detector's boxes on the originals of --agree-data as the truth)")
    parser.add_argument("--agree-data", type=Path, default=None,
                        help="unlabelled photos for --tasks agree / agree-detect (default: DATA/bsds500/val, "
                             "no benchmark's photos)")
    parser.add_argument("--images", type=int, default=None, help="only the first N photos of each set")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples (mAP: a fifth)")
    parser.add_argument("--no-check-reference", dest="check_reference", action="store_false",
                        help="skip the torch copy of the classifier (converter check)")
    parser.add_argument("--no-baselines", dest="baselines", action="store_false",
                        help="only the originals and rnc (no JPEG/WebP): a quicker look at a run")
    parser.add_argument("--adapted", action="append", default=[], metavar="NAME=FILE",
                        help="also classify the originals and .rnc files with our torch copy of the classifier "
                             "adapted to decoded images (FILE: its state dict), next to the unadapted copy "
                             "(repeatable)")
    parser.add_argument("--budgets", default="", metavar="B1,B2,…",
                        help="also byte budgets per photo: rnc --max-bytes B --downscale-to-fit (the largest size "
                             "that fits) and, with the baselines, WebP the same way")
    parser.add_argument("--strip", action="store_true",
                        help="code the .rnc files without the metadata the encoder adds (rnc encode --strip), as "
                             "the edge client sends them; records named NAME-stripped.json")
    sizes = parser.add_mutually_exclusive_group()
    sizes.add_argument("--shorter-side", type=int, metavar="PX",
                       help="code the photos downscaled to this shorter side (rnc encode --shorter-side), JPEG and "
                            "WebP too; the originals stay as they are")
    sizes.add_argument("--longer-side", type=int, metavar="PX", help="as --shorter-side, for the longer side")
    parser.add_argument("--out", type=Path, default=None,
                        help="folder of the JSON records (default results/recognition, or "
                             "results/recognition/agreement when the tasks are label-free only)")
    parser.add_argument("--plot", type=Path, default=ROOT / "docs" / "img" / "recognition.png")
    parser.add_argument("--report", type=Path, nargs="+", metavar="JSON",
                        help="measure nothing: print the table and write the plot from earlier runs' JSON files "
                             "(runs of other weights or tasks, e.g. made in parallel, are merged)")
    parser.add_argument("--rename", action="append", default=[], metavar="OLD=NEW",
                        help="with --report: call weights OLD (as a run named them) NEW")
    args = parser.parse_args(argv)
    if args.report:
        return report(args.report, dict(r.split("=", 1) for r in args.rename), args.out, args.plot)
    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    args.out = args.out or records_folder(tasks)
    from rnncodec.weights import RNCWeights

    weights = list(dict.fromkeys(args.weights or [RNCWeights.DEFAULT.name]))  # each once
    try:
        record_names(weights)
    except ValueError as exc:
        parser.error(f"--codec-weights: {exc}")
    adapted = {}
    for item in args.adapted:
        name, _, path = item.partition("=")
        if not (name and path and Path(path).is_file()) or name == "copy":
            parser.error(f"--adapted {item}: expected NAME=FILE with an existing state dict file (NAME not 'copy')")
        adapted[name] = str(Path(path).resolve())
    if not tasks or not set(tasks) <= {"classify", "detect", "agree", "agree-detect"}:
        parser.error("--tasks takes classify, detect, agree and/or agree-detect")
    agree_data = args.agree_data or args.data / "bsds500" / "val"
    if {"agree", "agree-detect"} & set(tasks) and not agree_data.is_dir():
        parser.error(f"--agree-data {agree_data}: not a folder")
    for needed in (args.recognizers / CLASSIFIER, args.recognizers / DETECTOR_WEIGHTS):
        if not needed.is_file():
            parser.error(f"{needed}: not found (point --recognizers at the folder with the reference recognizers)")
    try:
        import ai_edge_litert  # noqa: F401
        import cv2  # noqa: F401
    except ImportError as exc:
        print(f"error: {exc.name} is missing: pip install 'rnncodec[bench]'", file=sys.stderr)
        return 1

    try:
        budgets = sorted({int(b) for b in args.budgets.split(",") if b.strip()})
    except ValueError:
        parser.error(f"--budgets {args.budgets}: expected whole numbers of bytes, e.g. 500,1000")
    if any(b < 1 for b in budgets):
        parser.error("--budgets: each budget is at least 1 byte")
    downscale = (("shorter", args.shorter_side) if args.shorter_side else
                 ("longer", args.longer_side) if args.longer_side else None)
    if downscale and downscale[1] < 1:
        parser.error(f"--{downscale[0]}-side takes a number of pixels ≥ 1")
    options = {"weights": weights, "iterations": args.iterations, "recognizers": str(args.recognizers),
               "check_reference": args.check_reference, "baselines": args.baselines, "adapted": adapted,
               "downscale": downscale, "budgets": budgets, "strip": args.strip}
    started = time.perf_counter()
    results, counts = {}, {}
    if "classify" in tasks:
        images, labels = imagenet_sample(args.data / "imagenet-sample-100")
        images, labels = images[:args.images], labels[:args.images]
        results["classify"] = score_classification(run_task("classify", images, options, args.workers), labels,
                                                   args.resamples, weights)
        counts["classify"] = len(images)
    if "detect" in tasks:
        images, truth = coco_sample(args.data / "coco128-train", args.recognizers / DETECTOR_NAMES)
        images, truth = images[:args.images], truth[:args.images]
        results["detect"] = score_detection(run_task("detect", images, options, args.workers), truth, args.resamples)
        counts["detect"] = len(images)
    if {"agree", "agree-detect"} & set(tasks):
        from rnncodec.data import find_images

        images = find_images([agree_data])[:args.images]
    if "agree" in tasks:
        results["agree"] = score_agreement(run_task("classify", images, options, args.workers), args.resamples,
                                           weights)
        counts["agree"] = len(images)
    if "agree-detect" in tasks:
        results["agree-detect"] = score_detection_agreement(run_task("detect", images, options, args.workers),
                                                            args.resamples, weights)
        counts["agree-detect"] = len(images)
    seconds = round(time.perf_counter() - started, 1)

    lead = print_summary(results, weights, args.iterations)
    print(f"{seconds:.0f} s, {args.workers} worker(s)")
    write_records(results, weights, args.iterations, counts, seconds, lead, args.out, downscale, args.strip)
    if args.plot and plot(results, weights, args.iterations, args.plot):
        print(f"wrote {args.plot}")
    return 0


def print_summary(results: dict, weights: list[str], iterations: int) -> dict:
    if "classify" in results or "detect" in results:
        print(table(results, weights, iterations))
    if agreement := agreement_table(results):
        print(f"\nTop-1 agreement with the originals' top-1 ({results['agree']['original']['images']} unlabelled photos):")
        print(agreement)
    if detection := detection_agreement_table(results):
        print(f"\nDetections against the detector's own on the originals "
              f"({results['agree-detect']['original']['images']} unlabelled photos):")
        print(detection)
    if adapted := adapted_table(results):
        print("\nAdapted classifiers (our torch copy of the classifier, unadapted = copy):")
        print(adapted)
    lead = headline(results, weights, iterations)
    for w, h in lead.items():
        if h["rnc_top1_at_those_bytes"] is not None:
            print(f"{w}: at WebP's smallest files ({h['webp_smallest_bytes'] / 1000:.1f} kB, top-1 "
                  f"{h['webp_smallest_top1']:.1f} %) rnc reaches {h['rnc_top1_at_those_bytes']:.1f} % "
                  f"({h['lead_points']:+.1f} points)")
        else:
            print(f"{w}: WebP's smallest files ({h['webp_smallest_bytes'] / 1000:.1f} kB) lie outside rnc's byte range")
    for w, tasks in against_first(results, weights).items():
        for task, deltas in tasks.items():
            figures = " / ".join("—" if d is None else f"{d:+.1f}" for d in deltas)
            metric = {"classify": "top-1", "detect": "mAP@0.5", "agree": "top-1 agreement",
                      "agree-detect": "mAP@0.5 against the originals' boxes"}[task]
            print(f"{w} against {weights[0]} at the same bytes, {metric} at 1…{len(deltas)} iterations: {figures}")
    for name, entry in results.get("classify", {}).items():
        if paired := entry.get("against_first"):
            print(f"{_label(name)} against {paired['against']}, photo by photo: top-1 {_signed(paired, 'top1')} "
                  f"points (paired 95 % CI), files ×{paired['bytes_ratio']:.3f}")
    reference = results.get("classify", {}).get("original", {}).get("reference")
    if reference:
        print(f"torch copy of the classifier on the originals: top-1 agreement {reference['top1_agreement']:.1f} %, "
              f"top-1 {reference['top1']:.1f} % (interpreter {results['classify']['original']['top1']:.1f} %)")
    return lead


def write_records(results: dict, weights: list[str], iterations: int, counts: dict, seconds, lead: dict,
                  out: Path, downscale: tuple[str, int] | None = None, strip: bool = False) -> None:
    """One record per weights; a run with ``downscale`` (side, pixels) or ``strip`` says so in its
    records and their names (``GRU_S_V4-shorter256.json``, ``GRU_S_V4-stripped.json``), which then
    replace no record of the usual files."""
    out.mkdir(parents=True, exist_ok=True)
    names = record_names(weights)
    downscaling = {"side": downscale[0], "pixels": downscale[1]} if downscale else None
    suffix = variant_suffix(downscaling, strip)
    for w in weights:
        keep = lambda name: len(name.split()) < 2 or name.split()[1] not in weights or name.split()[1] == w  # noqa: E731
        record = {"weights": w, "iterations": iterations, "images": counts, "seconds": seconds,
                  "recognizers": {"classify": CLASSIFIER, "detect": DETECTOR_WEIGHTS},
                  "downscale": downscaling, "strip": strip,
                  "results": {task: {n: v for n, v in data.items() if keep(n)} for task, data in results.items()},
                  "webp_smallest_lead": lead.get(w)}
        path = out / f"{names[w]}{suffix}.json"
        path.write_text(json.dumps(record, indent=1) + "\n")
        print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


def variant_suffix(downscale: dict | None, strip: bool) -> str:
    """What a run's record names and weights carry after the weights' name: ``-shorter256``, ``-stripped``."""
    return (f"-{downscale['side']}{downscale['pixels']}" if downscale else "") + ("-stripped" if strip else "")


def records_folder(tasks: list[str]) -> Path:
    """Where a run's records go by default: agreement alone has its own folder (its records hold no
    classification or detection, and must not replace the records that do)."""
    return ROOT / "results" / "recognition" / ("agreement" if set(tasks) <= {"agree", "agree-detect"} else "")


def report(files: list[Path], rename: dict[str, str], out: Path | None, plot_path: Path | None) -> int:
    """Merge earlier runs' records (per weights and task) and report them as one run would."""
    results: dict[str, dict] = {}
    weights, counts, seconds, iterations = [], {}, {}, None
    for path in files:
        record = json.loads(path.read_text())
        old = record["weights"]
        new = old + variant_suffix(record.get("downscale"), record.get("strip", False))  # named apart
        new = rename.get(new, new)
        iterations = record["iterations"] if iterations is None else min(iterations, record["iterations"])
        if new not in weights:
            weights.append(new)
        for task, data in record["results"].items():
            counts[task] = record["images"][task]
            took = record["seconds"]  # a measuring run's whole time, or a report's per weights and task
            seconds[f"{new} {task}"] = took.get(f"{old} {task}") if isinstance(took, dict) else took
            for name, value in data.items():
                words = name.split()
                if len(words) == 3 and words[1] == old:
                    name = f"{words[0]} {new} {words[2]}"
                results.setdefault(task, {}).setdefault(name, value)
    lead = print_summary(results, weights, iterations)
    write_records(results, weights, iterations, counts, seconds, lead, out or records_folder(list(results)))
    if plot_path and plot(results, weights, iterations, plot_path):
        print(f"wrote {plot_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
