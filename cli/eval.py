"""``rnc eval classify|detect``: the paper's evaluation — accuracy against bytes, per setting."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional

import click

from rnncodec.recognition.datasets import ANNOTATION_FORMATS

from .options import ITERATIONS, atomic_output, check_output, file_progress, force_option, recognizer_options, stacked
from .recognize import open_recognizer

if TYPE_CHECKING:
    from rnncodec.recognition.evaluation import Report

__all__ = ["eval_command"]


@click.group("eval", short_help="Accuracy vs bytes: originals, .rnc files, same-size JPEG.")
def eval_command() -> None:
    """Evaluate recognition on a data set: the original files, the .rnc files at 1…N iterations, and
    JPEG files of the same size as each .rnc file; report mean file size, size reduction and
    accuracy (top-1/top-5, or mAP@0.5 and mAP@[.5:.95]) per setting.

    Images are encoded with the codec (--codec-weights) in memory; nothing is written but the
    reports asked for (--json, --plot) and, with --keep DIR, the .rnc and JPEG files.
    """


def _eval_options(default_recognizer: str) -> Callable:
    return stacked([
        click.option("--data", type=click.Path(exists=True, file_okay=False, path_type=Path), required=True,
                     help="Folder of images."),
        click.option("-n", "--iterations", type=ITERATIONS, default=3, show_default=True,
                     help="Evaluate .rnc files at 1…N iterations."),
        click.option("--limit", type=click.IntRange(min=1), default=None, help="Only the first N images."),
        click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
                     metavar="FILE", help="Write the report as JSON."),
        click.option("--plot", type=click.Path(dir_okay=False, path_type=Path), default=None, metavar="FILE",
                     help="Write a PNG plot of accuracy against mean file size."),
        click.option("--keep", type=click.Path(file_okay=False, path_type=Path), default=None, metavar="DIR",
                     help="Also write each image's .rnc file and JPEGs into DIR."),
        force_option,
        recognizer_options(default_recognizer),
    ])


def _finish(report: "Report", json_path: Optional[Path], plot: Optional[Path], force: bool) -> None:
    """Print the table and a note on JPEG sizes; write the JSON and plot files asked for."""
    from rnncodec.recognition.evaluation import plot_report

    click.echo(report.table())
    short = [row for row in report.rows if row.codec == "jpeg" and row.jpeg_fit < row.images]
    if short:
        click.echo("\nJPEG could not be made as small as the .rnc file for some images: "
                   + ", ".join(f"{row.setting} {row.images - row.jpeg_fit}/{row.images}" for row in short)
                   + " (their quality-1 JPEG, larger than the .rnc file, is used).")
    if json_path:
        with atomic_output(json_path, force=force) as out:
            out.write((json.dumps(report.to_dict(), indent=2) + "\n").encode())
    if plot:
        buffer = io.BytesIO()
        plot_report(report, buffer)
        with atomic_output(plot, force=force) as out:
            out.write(buffer.getvalue())


def _prepare(json_path: Optional[Path], plot: Optional[Path], keep: Optional[Path], force: bool) -> None:
    for path in (json_path, plot):
        if path:
            check_output(path, force)
    if keep:
        keep.mkdir(parents=True, exist_ok=True)


def _codec(codec_weights: Optional[str]):
    from rnncodec.codec import Codec

    return Codec(codec_weights)


def _common(codec_weights: Optional[str], data: Path, keep: Optional[Path]) -> dict:
    """The keyword arguments both evaluations take from the command line."""
    return dict(keep=keep, progress=lambda images: file_progress(images, "evaluating"), data=str(data),
                codec_weights=str(codec_weights or "default"))


@eval_command.command("classify", short_help="Top-1/top-5 accuracy vs bytes (ResNet-50).")
@click.option("--labels", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="TSV/CSV with a header: 'file' and 'index' (class index) or 'label' (class name).")
@_eval_options("resnet50")
def eval_classify_command(labels: Path, data: Path, iterations: int, limit: Optional[int],
                          json_path: Optional[Path], plot: Optional[Path], keep: Optional[Path], force: bool,
                          recognizer: str, weights: Optional[Path], no_download: bool, device: str,
                          precision: str, batch_size: Optional[int], codec_weights: Optional[str],
                          threads: Optional[int]) -> None:
    """Classification accuracy on the images in --data whose files --labels lists.

    \b
    Example (the 100 ImageNet photos of the shared data):
      rnc eval classify --data ../shared/data/imagenet-sample-100 \\
          --labels ../shared/data/imagenet-sample-100/labels.tsv -n 3 \\
          --codec-weights gru-s.pt --json eval.json --plot eval.png
    """
    from rnncodec.recognition import DatasetError
    from rnncodec.recognition.datasets import list_images, read_class_labels
    from rnncodec.recognition.evaluation import evaluate_classification

    _prepare(json_path, plot, keep, force)
    model = open_recognizer(recognizer, "classification", weights=weights, device=device, precision=precision,
                            no_download=no_download)
    truth = read_class_labels(labels, model.labels)
    present = {path.name: path for path in list_images(data)}
    missing = [name for name in truth if name not in present]
    if missing:
        raise DatasetError(f"{len(missing)} files listed in {labels} are not in {data} (first: {missing[0]})")
    images = [present[name] for name in sorted(truth)][:limit]
    if not images:
        raise DatasetError(f"{labels} lists no images")
    report = evaluate_classification(model, _codec(codec_weights), images, truth, iterations,
                                     batch_size=batch_size or model.batch_size,
                                     **_common(codec_weights, data, keep))
    _finish(report, json_path, plot, force)


@eval_command.command("detect", short_help="mAP@0.5 and mAP@[.5:.95] vs bytes (SSDlite).")
@click.option("--annotations", type=click.Path(exists=True, path_type=Path), required=True,
              help="Annotation folder (yolo: <stem>.txt, voc: <stem>.xml) or COCO JSON file.")
@click.option("--format", "fmt", type=click.Choice(ANNOTATION_FORMATS), required=True,
              help="Annotation format.")
@click.option("--names", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="yolo: class names, a data YAML ('names:') or one per line (default: the 80 COCO classes).")
@click.option("--labels", default=None, metavar="SET",
              help="Recognizer label set whose names the annotations use (default: voc for --format voc, "
                   "else the recognizer's default, coco for mobilenet-ssd).")
@_eval_options("mobilenet-ssd")
def eval_detect_command(annotations: Path, fmt: str, names: Optional[Path], labels: Optional[str], data: Path,
                        iterations: int, limit: Optional[int], json_path: Optional[Path], plot: Optional[Path],
                        keep: Optional[Path], force: bool, recognizer: str, weights: Optional[Path],
                        no_download: bool, device: str, precision: str, batch_size: Optional[int],
                        codec_weights: Optional[str], threads: Optional[int]) -> None:
    """Detection mAP on the images in --data, against --annotations.

    \b
    Example (COCO128 with its YOLO labels):
      rnc eval detect --data ../shared/data/coco128-train/images \\
          --annotations ../shared/data/coco128-train/labels --format yolo \\
          --codec-weights gru-s.pt --json det.json --plot det.png
    """
    from rnncodec.recognition import DatasetError
    from rnncodec.recognition.datasets import list_images, read_annotations, read_names
    from rnncodec.recognition.evaluation import evaluate_detection

    _prepare(json_path, plot, keep, force)
    model = open_recognizer(recognizer, "detection", weights=weights, device=device, precision=precision,
                            no_download=no_download, labels=labels or ("voc" if fmt == "voc" else None))
    images = list_images(data)[:limit]
    if not images:
        raise DatasetError(f"no images in {data}")
    truth = read_annotations(fmt, annotations, images, read_names(names) if names else None)
    report = evaluate_detection(model, _codec(codec_weights), images, truth, iterations,
                                batch_size=batch_size or model.batch_size,
                                **_common(codec_weights, data, keep))
    _finish(report, json_path, plot, force)
