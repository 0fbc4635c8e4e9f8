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
"""

from __future__ import annotations

import io
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Callable, Iterable, NamedTuple, Optional, Sequence

from .base import Recognizer
from .datasets import Box
from .scoring import largest_within

if TYPE_CHECKING:
    from PIL import Image

    from ..codec import Codec
    from .results import Result

__all__ = ["Variant", "Row", "Report", "settings", "jpeg_within", "variants", "evaluate_classification",
           "evaluate_detection", "plot_report"]

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


def variants(path: Path, codec: "Codec", iterations: int, keep: Optional[Path] = None) -> list[Variant]:
    """``path`` in every setting (see :func:`settings`); ``keep``: also write the ``.rnc`` file
    and the JPEGs there (``<stem>.rnc``, ``<stem>-jpeg-<k>.jpg``)."""
    from PIL import Image

    from ..formats import read, truncate
    from ..imageio import load_image

    source = load_image(path, alpha="drop")
    original = Image.fromarray(source.rgb, "RGB")
    data = codec.encode(source.rgb, iterations, alpha="drop")
    rnc = read(data)
    decoder = codec.progressive_decoder(rnc.header)
    out = [Variant("original", original, path.stat().st_size)]
    jpegs = []
    for k, bits in enumerate(rnc.codes(), 1):
        size = len(truncate(data, iterations=k))
        out.append(Variant(f"rnc-{k}", decoder.add(bits), size))
        jpeg, quality, fits = jpeg_within(original, size)
        jpegs.append(Variant(f"jpeg-{k}", Image.open(io.BytesIO(jpeg)).convert("RGB"), len(jpeg), quality, fits))
        if keep is not None:
            (keep / f"{path.stem}-jpeg-{k}.jpg").write_bytes(jpeg)
    if keep is not None:
        (keep / f"{path.stem}.rnc").write_bytes(data)
    return out + jpegs


def _run(recognizer: Recognizer, codec: "Codec", images: Sequence[Path], iterations: int, *,
         score: Callable[[str, str, "Result"], None], batch_size: int, keep: Optional[Path], progress: Progress,
         threshold: float) -> dict[str, list[Cost]]:
    """Recognise every image in every setting, calling ``score(setting, image name, result)``;
    returns what each image cost in each setting."""
    seen: dict[str, list[Cost]] = {name: [] for name in settings(iterations)}
    pending: list[tuple[str, Variant]] = []

    def flush() -> None:
        results = recognizer.predict([variant.image for _, variant in pending], top_k=5, threshold=threshold)
        for (name, variant), result in zip(pending, results):
            score(variant.setting, name, result)
        pending.clear()

    for path in progress(images):
        for variant in variants(path, codec, iterations, keep):
            seen[variant.setting].append(Cost(variant.size, variant.quality, variant.fits))
            pending.append((path.name, variant))
            if len(pending) >= batch_size:
                flush()
    if pending:
        flush()
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


def evaluate_classification(recognizer: Recognizer, codec: "Codec", images: Sequence[Path], truth: dict[str, int],
                            iterations: int, *, batch_size: int = 16, keep: Optional[Path] = None,
                            progress: Progress = lambda images: images, data: str = "",
                            codec_weights: str = "") -> Report:
    """Top-1 and top-5 accuracy per setting; ``truth`` maps image file names to class indices."""
    hits = {name: {"top1": 0, "top5": 0} for name in settings(iterations)}

    def score(setting: str, name: str, result: "Result") -> None:
        indices = [c.index for c in result.top]
        hits[setting]["top1"] += indices[:1] == [truth[name]]
        hits[setting]["top5"] += truth[name] in indices[:5]

    seen = _run(recognizer, codec, images, iterations, score=score, batch_size=batch_size, keep=keep,
                progress=progress, threshold=0.0)
    metrics = {name: {key: count / len(images) for key, count in counts.items()} for name, counts in hits.items()}
    return Report("classification", recognizer.name, data, len(images), iterations, codec_weights,
                  _rows(seen, metrics))


def evaluate_detection(recognizer: Recognizer, codec: "Codec", images: Sequence[Path], truth: dict[str, list[Box]],
                       iterations: int, *, batch_size: int = 8, keep: Optional[Path] = None,
                       progress: Progress = lambda images: images, data: str = "",
                       codec_weights: str = "") -> Report:
    """mAP@0.5 and mAP@[.5:.95] per setting over every detection the recognizer returns;
    ``truth`` maps image file names to their objects (class names must match the recognizer's)."""
    import torch
    from torchmetrics.detection import MeanAveragePrecision

    metric = {name: MeanAveragePrecision(box_format="xyxy", iou_type="bbox") for name in settings(iterations)}
    ids: dict[str, int] = {}

    def tensor(boxes: list) -> torch.Tensor:
        return torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4)

    def score(setting: str, name: str, result: "Result") -> None:
        objects = truth[name]
        prediction = {"boxes": tensor([d.box for d in result.objects]),
                      "scores": torch.tensor([d.score for d in result.objects], dtype=torch.float32),
                      "labels": torch.tensor([ids.setdefault(d.label, len(ids)) for d in result.objects],
                                             dtype=torch.int64)}
        target = {"boxes": tensor([o.box for o in objects]),
                  "labels": torch.tensor([ids.setdefault(o.label, len(ids)) for o in objects], dtype=torch.int64),
                  "iscrowd": torch.tensor([o.ignore for o in objects], dtype=torch.int64)}
        metric[setting].update([prediction], [target])

    seen = _run(recognizer, codec, images, iterations, score=score, batch_size=batch_size, keep=keep,
                progress=progress, threshold=0.0)
    metrics = {}
    for name, computed in metric.items():
        values = computed.compute()
        metrics[name] = {"map50": max(float(values["map_50"]), 0.0), "map": max(float(values["map"]), 0.0)}
    return Report("detection", recognizer.name, data, len(images), iterations, codec_weights, _rows(seen, metrics))


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
