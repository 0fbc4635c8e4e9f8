"""``rnc eval classify|detect``: the paper's evaluation — accuracy against bytes, per setting."""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional, Union

import click

from rnncodec.recognition.datasets import ANNOTATION_FORMATS

from .options import (ITERATIONS, atomic_output, check_output, file_progress, force_option, ray_options,
                      ray_target, recognizer_options, show_progress, stacked)
from .recognize import open_recognizer

if TYPE_CHECKING:
    from rnncodec.recognition import Recognizer
    from rnncodec.recognition.decoded_cache import CachedPhoto
    from rnncodec.recognition.evaluation import Report, SettingsReport

__all__ = ["eval_command"]


@click.group("eval", short_help="Accuracy vs bytes: originals, .rnc files, same-size JPEG.")
def eval_command() -> None:
    """Evaluate recognition on a data set: the original files, the .rnc files at 1…N iterations, and
    JPEG files of the same size as each .rnc file; report mean file size, size reduction and
    accuracy (top-1/top-5, or mAP@0.5 and mAP@[.5:.95]) per setting.

    With --settings, the paper's comparison instead: the recognizer trained on originals and the
    same recognizer adapted to decoded images (--adapted-weights, e.g. from 'rnc finetune'), each
    on the originals and on the .rnc files.

    Images are encoded with the codec (--codec-weights) in memory, or into a decoded-image cache
    (--cache DIR, and always with --ray / --ray-address, which code them on Ray Data); nothing else
    is written but the reports asked for (--json, --plot) and, with --keep DIR, the .rnc and JPEG files.
    """


def _eval_options(default_recognizer: str) -> Callable:
    return stacked([
        click.option("--data", type=click.Path(exists=True, file_okay=False, path_type=Path), required=True,
                     help="Folder of images."),
        click.option("-n", "--iterations", type=ITERATIONS, default=3, show_default=True,
                     help="Evaluate .rnc files at 1…N iterations."),
        click.option("--limit", type=click.IntRange(min=1), default=None, help="Only the first N images."),
        click.option("--settings", is_flag=True,
                     help="Print the paper's settings side by side instead of the JPEG comparison: "
                          "1 trained on originals / tested on originals, 2 trained on originals / tested on "
                          ".rnc, 3 trained on decoded .rnc (--adapted-weights) / tested on .rnc, 4 the adapted "
                          "recognizer on originals; with bytes per image and data reduction."),
        click.option("--adapted-weights", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     default=None, metavar="FILE",
                     help="With --settings: the recognizer adapted to decoded images, a state dict for the "
                          "same --recognizer (as 'rnc finetune' writes; it loads as --weights does). "
                          "--weights (or the default weights) is the recognizer trained on originals."),
        click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
                     metavar="FILE", help="Write the report as JSON."),
        click.option("--plot", type=click.Path(dir_okay=False, path_type=Path), default=None, metavar="FILE",
                     help="Write a PNG plot of accuracy against mean file size (not with --settings)."),
        click.option("--keep", type=click.Path(file_okay=False, path_type=Path), default=None, metavar="DIR",
                     help="Also write each image's .rnc file (and JPEGs) into DIR."),
        click.option("--cache", type=click.Path(file_okay=False, path_type=Path), default=None, metavar="DIR",
                     help="Code the images into this decoded-image cache (each photo coded once, reused by "
                          "later runs and by 'rnc finetune'; an interrupted run resumes) instead of in memory. "
                          "--ray without --cache uses a temporary folder."),
        ray_options,
        force_option,
        recognizer_options(default_recognizer),
    ])


def _check_settings(settings: bool, adapted_weights: Optional[Path], plot: Optional[Path]) -> None:
    """Usage errors (exit 2) of --settings and --adapted-weights, before anything is loaded."""
    if settings and adapted_weights is None:
        raise click.UsageError("--settings needs --adapted-weights FILE: the recognizer adapted to decoded "
                               "images (e.g. written by 'rnc finetune')")
    if adapted_weights is not None and not settings:
        raise click.UsageError("--adapted-weights is used with --settings")
    if settings and plot:
        raise click.UsageError("--plot draws the .rnc/JPEG comparison, which --settings does not make")


def _finish(report: Union["Report", "SettingsReport"], json_path: Optional[Path], plot: Optional[Path],
            force: bool) -> None:
    """Print the table and a note on JPEG sizes; write the JSON and plot files asked for."""
    from rnncodec.recognition.evaluation import plot_report

    click.echo(report.table())
    short = [row for row in report.rows if getattr(row, "codec", None) == "jpeg" and row.jpeg_fit < row.images]
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


def _open(task: str, options: dict, labels: Optional[str] = None) -> tuple["Recognizer", Optional["Recognizer"]]:
    """The recognizer (trained on originals) and, with --settings, the adapted one; takes the
    loading options out of ``options``."""
    loading = {key: options.pop(key) for key in ("device", "precision", "no_download")}
    recognizer, weights = options.pop("recognizer"), options["weights"]
    model = open_recognizer(recognizer, task, weights=weights, labels=labels, **loading)
    adapted = (open_recognizer(recognizer, task, weights=options["adapted_weights"], labels=labels, **loading)
               if options["settings"] else None)
    return model, adapted


def _evaluate(task: str, model: "Recognizer", adapted: Optional["Recognizer"], images: list[Path], truth: dict, *,
              iterations: int, settings: bool, adapted_weights: Optional[Path], keep: Optional[Path],
              cache: Optional[Path], use_ray: bool, ray_address: Optional[str], data: Path,
              codec_weights: Optional[str], weights: Optional[Path],
              batch_size: Optional[int]) -> Union["Report", "SettingsReport"]:
    """Code the images (in memory, or into a decoded-image cache) and run the evaluation asked for."""
    from rnncodec.codec import Codec
    from rnncodec.recognition.evaluation import evaluate_classification, evaluate_detection, evaluate_settings

    with contextlib.ExitStack() as stack:
        cached = _cached(images, iterations, codec_weights, cache, ray_target(use_ray, ray_address), stack)
        codec = None if cached else Codec(codec_weights)
        common = dict(cached=cached, keep=keep, progress=lambda items: file_progress(items, "evaluating"),
                      data=str(data), codec_weights=str(codec_weights or "default"),
                      batch_size=batch_size or model.batch_size)
        if settings:
            return evaluate_settings(task, model, adapted, images, truth, iterations, codec=codec,
                                     weights=str(weights or "default"), adapted_weights=str(adapted_weights),
                                     **common)
        evaluate = evaluate_classification if task == "classification" else evaluate_detection
        return evaluate(model, codec, images, truth, iterations, **common)


def _cached(images: list[Path], iterations: int, codec_weights: Optional[str], cache: Optional[Path],
            ray: Optional[str], stack: contextlib.ExitStack) -> Optional[dict[Path, "CachedPhoto"]]:
    """Each image's entry in the decoded-image cache, built now (in this process or on Ray): with
    --cache DIR or Ray; a Ray run without --cache uses a temporary folder, removed at the end."""
    from rnncodec.recognition.decoded_cache import build_decoded_cache

    if cache is None and ray is None:
        return None
    folder = cache or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="rnc-eval-")))
    entries = build_decoded_cache(images, folder, range(1, iterations + 1), codec_weights=codec_weights, ray=ray,
                                  progress=show_progress())
    return dict(zip(images, entries))


@eval_command.command("classify", short_help="Top-1/top-5 accuracy vs bytes (ResNet-50).")
@click.option("--labels", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="TSV/CSV with a header: 'file' and 'index' (class index) or 'label' (class name).")
@_eval_options("resnet50")
def eval_classify_command(labels: Path, data: Path, limit: Optional[int], json_path: Optional[Path],
                          plot: Optional[Path], force: bool, threads: Optional[int], **options) -> None:
    """Classification accuracy on the images in --data whose files --labels lists.

    \b
    Example (the 100 ImageNet photos of the shared data):
      rnc eval classify --data ../shared/data/imagenet-sample-100 \\
          --labels ../shared/data/imagenet-sample-100/labels.tsv -n 3 \\
          --codec-weights gru-s.pt --json eval.json --plot eval.png
    \b
    The paper's settings, with a recognizer adapted by 'rnc finetune':
      rnc eval classify --data DIR --labels labels.tsv -n 2 --settings \\
          --adapted-weights resnet50-decoded.pth
    """
    from rnncodec.recognition import DatasetError
    from rnncodec.recognition.datasets import list_images, read_class_labels

    _check_settings(options["settings"], options["adapted_weights"], plot)
    _prepare(json_path, plot, options["keep"], force)
    model, adapted = _open("classification", options)
    truth = read_class_labels(labels, model.labels)
    present = {path.name: path for path in list_images(data)}
    missing = [name for name in truth if name not in present]
    if missing:
        raise DatasetError(f"{len(missing)} files listed in {labels} are not in {data} (first: {missing[0]})")
    images = [present[name] for name in sorted(truth)][:limit]
    if not images:
        raise DatasetError(f"{labels} lists no images")
    report = _evaluate("classification", model, adapted, images, truth, data=data, **options)
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
                        limit: Optional[int], json_path: Optional[Path], plot: Optional[Path], force: bool,
                        threads: Optional[int], **options) -> None:
    """Detection mAP on the images in --data, against --annotations.

    \b
    Example (COCO128 with its YOLO labels):
      rnc eval detect --data ../shared/data/coco128-train/images \\
          --annotations ../shared/data/coco128-train/labels --format yolo \\
          --codec-weights gru-s.pt --json det.json --plot det.png
    """
    from rnncodec.recognition import DatasetError
    from rnncodec.recognition.datasets import list_images, read_annotations, read_names

    _check_settings(options["settings"], options["adapted_weights"], plot)
    _prepare(json_path, plot, options["keep"], force)
    model, adapted = _open("detection", options, labels=labels or ("voc" if fmt == "voc" else None))
    images = list_images(data)[:limit]
    if not images:
        raise DatasetError(f"no images in {data}")
    truth = read_annotations(fmt, annotations, images, read_names(names) if names else None)
    report = _evaluate("detection", model, adapted, images, truth, data=data, **options)
    _finish(report, json_path, plot, force)
