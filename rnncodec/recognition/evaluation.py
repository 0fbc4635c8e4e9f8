"""The paper's evaluation: recognition accuracy against bytes sent.

Each image is recognised in ``2N + 1`` *settings*: the original file (``original``), the ``.rnc``
file cut to k = 1…N iterations (``rnc-k``: one encoding at N iterations, decoded progressively, its
size the size of the file truncated to k iterations), and a JPEG of the same size (``jpeg-k``: the
highest Pillow quality, ``optimize=True``, whose file is no larger than the ``rnc-k`` file; found
by bisection, as JPEG size grows with quality).  When even quality 1 is larger, the quality-1 file
is used and counted as not fitting: ``jpeg_fit`` says how many images fit.

Per setting the report gives the mean file size, the size reduction against the mean original
size (``100 · (1 − mean / mean original)``), and top-1/top-5 accuracy or mAP@0.5 and mAP@[.5:.95]
(torchmetrics' ``MeanAveragePrecision``, COCO evaluation by pycocotools), all as fractions.
Nothing is written to disk unless ``keep`` names a folder.

The paper's own comparison (``rnc eval … --settings``, :func:`evaluate_settings`) sets two
recognizers side by side, the one trained on originals and the same network adapted to decoded
images (the "compressed-image model"): :data:`SETTINGS` 1-3 are the paper's (trained on originals /
tested on originals, trained on originals / tested on compressed, trained on compressed / tested on
compressed), 4 the adapted recognizer on the originals.

The photos are coded here, one at a time, or read from a decoded-image cache built beforehand
(``cached``, :mod:`.decoded_cache`: in this process or on Ray Data).
"""

from __future__ import annotations

import io
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Callable, Iterable, Mapping, NamedTuple, Optional, Sequence

from .base import Recognizer
from .datasets import Box
from .scoring import largest_within

if TYPE_CHECKING:
    import torch
    from PIL import Image

    from ..codec import Codec
    from ..imageio import SourceImage
    from .decoded_cache import CachedPhoto, CodedPhoto
    from .results import Result

__all__ = ["Variant", "Row", "Report", "settings", "jpeg_within", "variants", "evaluate_classification",
           "evaluate_detection", "plot_report", "SETTINGS", "SettingRow", "SettingsReport", "evaluate_settings"]

#: Metrics of each task: key in ``Row.metrics`` → column title.
METRICS = {"classification": {"top1": "top-1", "top5": "top-5"},
           "detection": {"map50": "mAP@0.5", "map": "mAP@[.5:.95]"}}

Progress = Callable[[Sequence[Path]], Iterable[Path]]


@dataclass(frozen=True)
class Variant:
    """One image in one setting: the pixels the recognizer sees and the bytes they cost."""

    setting: str
    image: "Image.Image"
    size: int
    quality: Optional[int] = None
    fits: bool = True


class Cost(NamedTuple):
    """What one image cost in one setting (a :class:`Variant` without its pixels)."""

    size: int
    quality: Optional[int]
    fits: bool


@dataclass
class Row:
    """One setting's results over the data set."""

    setting: str
    codec: str
    iterations: Optional[int]
    images: int
    mean_bytes: float
    reduction_pct: float
    metrics: dict[str, float]
    jpeg_fit: Optional[int] = None
    jpeg_mean_quality: Optional[float] = None


@dataclass
class Report:
    """What ``rnc eval`` reports: one :class:`Row` per setting, plus what was evaluated."""

    task: str
    recognizer: str
    data: str
    images: int
    iterations: int
    codec_weights: str
    rows: list[Row] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def table(self) -> str:
        """A Markdown table of the rows."""
        metrics = METRICS[self.task]
        lines = ["| setting | mean size (bytes) | reduction | " + " | ".join(metrics.values()) + " | JPEG fit |",
                 "|---|---:|---:|" + "---:|" * len(metrics) + "---|"]
        for row in self.rows:
            reduction = "—" if row.codec == "original" else f"{row.reduction_pct:.1f} %"
            fit = (f"{row.jpeg_fit}/{row.images} (mean q {row.jpeg_mean_quality:.0f})"
                   if row.jpeg_fit is not None else "")
            values = " | ".join(f"{100 * row.metrics[key]:.1f} %" for key in metrics)
            lines.append(f"| {row.setting} | {row.mean_bytes:,.0f} | {reduction} | {values} | {fit} |")
        return "\n".join(lines)


def settings(iterations: int) -> list[str]:
    """The setting names, in report order."""
    return ["original", *(f"rnc-{k}" for k in range(1, iterations + 1)),
            *(f"jpeg-{k}" for k in range(1, iterations + 1))]


def jpeg_within(image: "Image.Image", budget: int) -> tuple[bytes, int, bool]:
    """``(data, quality, fits)``: the highest-quality JPEG of ``image`` of at most ``budget`` bytes,
    or the quality-1 JPEG with ``fits=False`` when none is that small."""

    def encode(quality: int) -> bytes:
        out = io.BytesIO()
        image.save(out, format="JPEG", quality=quality, optimize=True)
        return out.getvalue()

    fit = largest_within(encode, range(1, 101), budget)
    return fit.data, fit.quality, fit.fits


def variants(path: Path, codec: Optional["Codec"], iterations: int, keep: Optional[Path] = None,
             coded: Optional["CodedPhoto"] = None) -> list[Variant]:
    """``path`` in every setting (see :func:`settings`); ``keep``: also write the ``.rnc`` file
    and the JPEGs there (``<stem>.rnc``, ``<stem>-jpeg-<k>.jpg``).  ``coded``: the photo already
    coded and decoded at 1…``iterations`` (from a decoded-image cache), else ``codec`` codes it."""
    from PIL import Image

    source, coded = _coded(path, codec, iterations, keep, coded)
    original = _pil(source.rgb)
    out = [Variant("original", original, path.stat().st_size)]
    jpegs = []
    for k in range(1, iterations + 1):
        size = coded.sizes[k]
        out.append(Variant(f"rnc-{k}", _pil(coded.decoded[k]), size))
        jpeg, quality, fits = jpeg_within(original, size)
        jpegs.append(Variant(f"jpeg-{k}", Image.open(io.BytesIO(jpeg)).convert("RGB"), len(jpeg), quality, fits))
        if keep is not None:
            (keep / f"{path.stem}-jpeg-{k}.jpg").write_bytes(jpeg)
    return out + jpegs


def _coded(path: Path, codec: Optional["Codec"], iterations: int, keep: Optional[Path],
           coded: Optional["CodedPhoto"]) -> tuple["SourceImage", "CodedPhoto"]:
    """The photo's pixels (alpha dropped) and the photo coded and decoded at 1…``iterations``
    (``coded``, or made with ``codec``); ``keep``: its ``.rnc`` file written there."""
    from ..imageio import load_image
    from .decoded_cache import code_photo

    source = load_image(path, alpha="drop")
    if coded is None:
        if codec is None:
            raise ValueError("variants need a codec or the photo already coded")
        coded = code_photo(codec, source, range(1, iterations + 1))
    if keep is not None:
        (keep / f"{path.stem}.rnc").write_bytes(coded.data)
    return source, coded


class _Batches:
    """Images queued for one recognizer, recognised a batch at a time; each result goes to
    ``score(setting, image name, result)``."""

    def __init__(self, recognizer: Recognizer, score: Callable[[str, str, "Result"], None], batch_size: int,
                 threshold: float = 0.0):
        self.recognizer, self.score, self.batch_size, self.threshold = recognizer, score, batch_size, threshold
        self.pending: list[tuple[str, str, "Image.Image"]] = []

    def add(self, setting: str, name: str, image: "Image.Image") -> None:
        self.pending.append((setting, name, image))
        if len(self.pending) >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            results = self.recognizer.predict([image for *_, image in self.pending], top_k=5, threshold=self.threshold)
            for (setting, name, _), result in zip(self.pending, results):
                self.score(setting, name, result)
            self.pending.clear()


def _run(recognizer: Recognizer, codec: Optional["Codec"], images: Sequence[Path], iterations: int, *,
         score: Callable[[str, str, "Result"], None], batch_size: int, keep: Optional[Path], progress: Progress,
         cached: Optional[Mapping[Path, "CachedPhoto"]]) -> dict[str, list[Cost]]:
    """Recognise every image in every setting, calling ``score(setting, image name, result)``;
    returns what each image cost in each setting."""
    seen: dict[str, list[Cost]] = {name: [] for name in settings(iterations)}
    batches = _Batches(recognizer, score, batch_size)
    for path in progress(images):
        coded = cached[path].coded(range(1, iterations + 1)) if cached is not None else None
        for variant in variants(path, codec, iterations, keep, coded):
            seen[variant.setting].append(Cost(variant.size, variant.quality, variant.fits))
            batches.add(variant.setting, path.name, variant.image)
    batches.flush()
    return seen


def _rows(seen: dict[str, list[Cost]], metrics: dict[str, dict[str, float]]) -> list[Row]:
    original = sum(v.size for v in seen["original"]) / len(seen["original"])
    rows = []
    for name, done in seen.items():
        codec, _, k = name.partition("-")
        mean = sum(v.size for v in done) / len(done)
        row = Row(name, codec, int(k) if k else None, len(done), mean, 100 * (1 - mean / original), metrics[name])
        if codec == "jpeg":
            row.jpeg_fit = sum(v.fits for v in done)
            row.jpeg_mean_quality = sum(v.quality for v in done) / len(done)
        rows.append(row)
    return rows


class _ClassificationScores:
    """Top-1 and top-5 hits per setting; ``truth`` maps image file names to class indices."""

    def __init__(self, names: Iterable[str], truth: dict[str, int]):
        self.truth, self.images = truth, 0
        self.hits = {name: {"top1": 0, "top5": 0} for name in names}

    def __call__(self, setting: str, name: str, result: "Result") -> None:
        indices = [c.index for c in result.top]
        self.hits[setting]["top1"] += indices[:1] == [self.truth[name]]
        self.hits[setting]["top5"] += self.truth[name] in indices[:5]

    def metrics(self, images: int) -> dict[str, dict[str, float]]:
        return {name: {key: count / images for key, count in counts.items()} for name, counts in self.hits.items()}


class _DetectionScores:
    """mAP@0.5 and mAP@[.5:.95] per setting over every detection the recognizer returns;
    ``truth`` maps image file names to their objects (class names must match the recognizer's)."""

    def __init__(self, names: Iterable[str], truth: dict[str, list[Box]]):
        from torchmetrics.detection import MeanAveragePrecision

        self.truth = truth
        self.metric = {name: MeanAveragePrecision(box_format="xyxy", iou_type="bbox") for name in names}
        self.ids: dict[str, int] = {}

    def _labels(self, names: Iterable[str]) -> "torch.Tensor":
        import torch

        return torch.tensor([self.ids.setdefault(label, len(self.ids)) for label in names], dtype=torch.int64)

    def __call__(self, setting: str, name: str, result: "Result") -> None:
        import torch

        def boxes(values: list) -> torch.Tensor:
            return torch.tensor(values, dtype=torch.float32).reshape(-1, 4)

        objects = self.truth[name]
        prediction = {"boxes": boxes([d.box for d in result.objects]),
                      "scores": torch.tensor([d.score for d in result.objects], dtype=torch.float32),
                      "labels": self._labels(d.label for d in result.objects)}
        target = {"boxes": boxes([o.box for o in objects]), "labels": self._labels(o.label for o in objects),
                  "iscrowd": torch.tensor([o.ignore for o in objects], dtype=torch.int64)}
        self.metric[setting].update([prediction], [target])

    def metrics(self, images: int) -> dict[str, dict[str, float]]:
        out = {}
        for name, computed in self.metric.items():
            values = computed.compute()
            out[name] = {"map50": max(float(values["map_50"]), 0.0), "map": max(float(values["map"]), 0.0)}
        return out


_SCORES = {"classification": _ClassificationScores, "detection": _DetectionScores}


def _evaluate(task: str, recognizer: Recognizer, codec: Optional["Codec"], images: Sequence[Path], truth: dict,
              iterations: int, *, batch_size: int, keep: Optional[Path], progress: Progress, data: str,
              codec_weights: str, cached: Optional[Mapping[Path, "CachedPhoto"]]) -> Report:
    scores = _SCORES[task](settings(iterations), truth)
    seen = _run(recognizer, codec, images, iterations, score=scores, batch_size=batch_size, keep=keep,
                progress=progress, cached=cached)
    return Report(task, recognizer.name, data, len(images), iterations, codec_weights,
                  _rows(seen, scores.metrics(len(images))))


def evaluate_classification(recognizer: Recognizer, codec: Optional["Codec"], images: Sequence[Path],
                            truth: dict[str, int], iterations: int, *, batch_size: int = 16,
                            keep: Optional[Path] = None, progress: Progress = lambda images: images, data: str = "",
                            codec_weights: str = "", cached: Optional[Mapping[Path, "CachedPhoto"]] = None) -> Report:
    """Top-1 and top-5 accuracy per setting; ``truth`` maps image file names to class indices.
    ``cached``: each image's entry in a decoded-image cache (:mod:`.decoded_cache`) with at least
    1…``iterations`` decoded; the images are then not coded here (``codec`` may be None)."""
    return _evaluate("classification", recognizer, codec, images, truth, iterations, batch_size=batch_size,
                     keep=keep, progress=progress, data=data, codec_weights=codec_weights, cached=cached)


def evaluate_detection(recognizer: Recognizer, codec: Optional["Codec"], images: Sequence[Path],
                       truth: dict[str, list[Box]], iterations: int, *, batch_size: int = 8,
                       keep: Optional[Path] = None, progress: Progress = lambda images: images, data: str = "",
                       codec_weights: str = "", cached: Optional[Mapping[Path, "CachedPhoto"]] = None) -> Report:
    """mAP@0.5 and mAP@[.5:.95] per setting over every detection the recognizer returns;
    ``truth`` maps image file names to their objects (class names must match the recognizer's).
    ``cached``: as :func:`evaluate_classification`'s."""
    return _evaluate("detection", recognizer, codec, images, truth, iterations, batch_size=batch_size, keep=keep,
                     progress=progress, data=data, codec_weights=codec_weights, cached=cached)


#: ``rnc eval --settings``: the paper's three settings and a fourth, number → (recognizer, tested on);
#: the recognizer is the one trained on originals or the one adapted to decoded images.
SETTINGS = {1: ("original", "originals"), 2: ("original", "compressed"), 3: ("adapted", "compressed"),
            4: ("adapted", "originals")}


@dataclass
class SettingRow:
    """One of :data:`SETTINGS` at one iteration count (``None``: tested on the originals)."""

    setting: int
    recognizer: str           #: "original" (trained on originals) or "adapted" (trained on decoded images)
    tested_on: str            #: "originals" or "compressed"
    iterations: Optional[int]
    images: int
    mean_bytes: float         #: mean bytes per image tested: the original files, or the .rnc files at k
    reduction_pct: float      #: 100 · (1 − mean_bytes / mean original bytes)
    metrics: dict[str, float]


@dataclass
class SettingsReport:
    """What ``rnc eval … --settings`` reports: :data:`SETTINGS` side by side."""

    task: str
    recognizer: str
    weights: str              #: the recognizer trained on originals: its weights file, or "default"
    adapted_weights: str      #: the adapted recognizer's weights file
    data: str
    images: int
    iterations: int
    codec_weights: str
    rows: list[SettingRow] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def table(self) -> str:
        """A Markdown table of the rows, then what the settings are."""
        metrics = METRICS[self.task]
        trained = {"original": "originals", "adapted": "decoded .rnc (adapted)"}
        lines = ["| setting | recognizer trained on | tested on | bytes/image | data reduction | "
                 + " | ".join(metrics.values()) + " |",
                 "|---|---|---|---:|---:|" + "---:|" * len(metrics)]
        for row in self.rows:
            tested = ("originals" if row.iterations is None else
                      f".rnc, {row.iterations} iteration{'s' if row.iterations > 1 else ''}")
            reduction = "—" if row.iterations is None else f"{row.reduction_pct:.1f} %"
            values = " | ".join(f"{100 * row.metrics[key]:.1f} %" for key in metrics)
            lines.append(f"| {row.setting} | {trained[row.recognizer]} | {tested} | {row.mean_bytes:,.0f} | "
                         f"{reduction} | {values} |")
        return "\n".join([
            *lines, "",
            "Settings 1-3 are the paper's: 1 trained on originals / tested on originals, 2 trained on originals /",
            "tested on compressed, 3 trained on compressed / tested on compressed (the compressed-image model);",
            "4 is the adapted recognizer on the originals (what adaptation costs there).",
            f"{self.recognizer} trained on originals: weights {self.weights}; adapted: weights {self.adapted_weights}; "
            f"{self.images} images in {self.data or 'the data set'}."])


def evaluate_settings(task: str, recognizer: Recognizer, adapted: Recognizer, images: Sequence[Path], truth: dict,
                      iterations: int, *, codec: Optional["Codec"] = None,
                      cached: Optional[Mapping[Path, "CachedPhoto"]] = None, batch_size: int = 16,
                      keep: Optional[Path] = None, progress: Progress = lambda images: images, data: str = "",
                      codec_weights: str = "", weights: str = "default", adapted_weights: str = "") -> SettingsReport:
    """:data:`SETTINGS`: ``recognizer`` (trained on originals) and ``adapted`` (the same network
    adapted to decoded images, e.g. by ``rnc finetune``) each on the original photos and on the
    ``.rnc`` files decoded at 1…``iterations``; settings 2 and 3 once per iteration count.

    ``task``: ``"classification"`` (``truth``: file name → class index) or ``"detection"`` (file
    name → objects).  The photos are coded with ``codec``, or read from ``cached`` (entries of a
    decoded-image cache, see :func:`evaluate_classification`); ``keep``: write the ``.rnc`` files there."""
    tests = ["originals", *(f"rnc-{k}" for k in range(1, iterations + 1))]
    scores = _SCORES[task]([f"{model}:{test}" for model in ("original", "adapted") for test in tests], truth)
    sizes: dict[str, list[int]] = {test: [] for test in tests}
    batches = {"original": _Batches(recognizer, scores, batch_size), "adapted": _Batches(adapted, scores, batch_size)}
    for path in progress(images):
        coded = cached[path].coded(range(1, iterations + 1)) if cached is not None else None
        source, coded = _coded(path, codec, iterations, keep, coded)
        tested = {"originals": (source.rgb, path.stat().st_size),
                  **{f"rnc-{k}": (coded.decoded[k], coded.sizes[k]) for k in range(1, iterations + 1)}}
        for test, (pixels, size) in tested.items():
            sizes[test].append(size)
            image = _pil(pixels)
            for model, batch in batches.items():
                batch.add(f"{model}:{test}", path.name, image)
    for batch in batches.values():
        batch.flush()
    metrics = scores.metrics(len(images))
    original_mean = sum(sizes["originals"]) / len(images)

    def row(setting: int, k: Optional[int]) -> SettingRow:
        model, tested_on = SETTINGS[setting]
        test = "originals" if k is None else f"rnc-{k}"
        mean = sum(sizes[test]) / len(images)
        return SettingRow(setting, model, tested_on, k, len(images), mean, 100 * (1 - mean / original_mean),
                          metrics[f"{model}:{test}"])

    rows = [row(1, None), *(row(s, k) for k in range(1, iterations + 1) for s in (2, 3)), row(4, None)]
    return SettingsReport(task, recognizer.name, weights, adapted_weights, data, len(images), iterations,
                          codec_weights, rows)


def _pil(pixels) -> "Image.Image":
    from PIL import Image

    return Image.fromarray(pixels, "RGB")


def plot_report(report: Report, out: BinaryIO) -> None:
    """Accuracy (or mAP) against mean bytes per image, as PNG (matplotlib, no display needed)."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7, 4.5), layout="constrained")
    axes = figure.add_subplot()
    by_codec: dict[str, list[Row]] = {}
    for row in report.rows:
        by_codec.setdefault(row.codec, []).append(row)
    for (key, title), style in zip(METRICS[report.task].items(), ("-", "--")):
        for codec, marker in (("rnc", "o"), ("jpeg", "s"), ("original", "*")):
            rows = by_codec.get(codec, [])
            axes.plot([r.mean_bytes / 1024 for r in rows], [100 * r.metrics[key] for r in rows], style,
                      marker=marker, markersize=12 if codec == "original" else 6,
                      color={"rnc": "tab:blue", "jpeg": "tab:orange", "original": "tab:green"}[codec],
                      label=f"{'.rnc' if codec == 'rnc' else codec} {title}")
        for row in by_codec.get("rnc", []):
            axes.annotate(str(row.iterations), (row.mean_bytes / 1024, 100 * row.metrics[key]),
                          textcoords="offset points", xytext=(4, 4), fontsize=8)
    axes.set_xscale("log")
    axes.set_xlabel("mean file size per image (KiB, log scale)")
    axes.set_ylabel("accuracy (%)" if report.task == "classification" else "mAP (%)")
    axes.set_title(f"{report.recognizer} on {report.images} images: {report.task} vs bytes "
                   f"(.rnc points: iterations)", fontsize=10)
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=8)
    figure.savefig(out, format="png", dpi=120)
