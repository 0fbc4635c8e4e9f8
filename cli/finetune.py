"""``rnc finetune classify|detect``: adapt a recognizer to decoded images, with or without labels."""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Callable, Optional

import click

from rnncodec.recognition.datasets import ANNOTATION_FORMATS

from rnncodec.choices import MAX_ITERATIONS

from .options import (check_output, codec_weights_option, device_option, force_option,
                      no_download_option, ray_options, ray_target, report, stacked, threads_option)

__all__ = ["finetune_command", "finetune_classify_command", "finetune_detect_command", "IterationRange"]


class IterationRange(click.ParamType):
    """``K`` or ``A-B``: the iteration counts to train on (one drawn per sample from a range)."""

    name = "K|A-B"

    def convert(self, value, param, ctx) -> list[int]:
        if isinstance(value, list):
            return value
        match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", str(value))
        low, high = (int(match[1]), int(match[2] or match[1])) if match else (0, 0)
        if not match or not 1 <= low <= high <= MAX_ITERATIONS:
            self.fail(f"{value!r} is not an iteration count or a range A-B within 1…{MAX_ITERATIONS}", param, ctx)
        return list(range(low, high + 1))


def _defaults(function: Callable) -> dict:
    """The library's defaults (the one place they live), for the options to show and pass."""
    return {name: p.default for name, p in inspect.signature(function).parameters.items()}


def _library():
    from rnncodec.recognition import finetune

    return finetune


_CLASSIFY = _defaults(_library().finetune_classifier)
_DETECT = _defaults(_library().finetune_detector)


@click.group("finetune", short_help="Adapt a recognizer to decoded images (labels optional).")
def finetune_command() -> None:
    """Fine-tune a recognizer on photos decoded from .rnc files, so that it recognises decoded
    images as well as originals (the paper's "compressed-image model").

    \b
    Without labels (any folder of photos): the recognizer on the original photo is the teacher
    and the copy being trained learns to give the same answer on the decoded photo.
    With labels: an image-folder tree or a TSV/CSV (classify), YOLO/VOC/COCO boxes (detect).

    The photos are coded once and their decodings cached (--cache), a checkpoint (OUT.ckpt) is
    saved as it goes and on Ctrl-C (--resume continues it), a held-out share is validated every
    --val-every steps.  The written state dict loads as it is: rnc classify/detect/serve --weights OUT.
    """


def _common(default_recognizer: str, defaults: dict) -> Callable:
    _D = defaults  # noqa: N806
    return stacked([
        click.option("--data", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
                     help="Folder of photos (originals; searched recursively without labels)."),
        click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
                     help="State dict file to write (its checkpoint: OUT.ckpt beside it)."),
        click.option("-n", "--iterations", type=IterationRange(), default="2", show_default=True,
                     help="Train on photos decoded from K iterations, or from a range A-B (one K drawn per "
                          "photo and step: one model for all of them)."),
        click.option("--steps", type=click.IntRange(min=1), default=_D["steps"], show_default=True,
                     help="Training steps."),
        click.option("--batch-size", type=click.IntRange(min=1), default=_D["batch_size"], show_default=True,
                     help="Photos per step."),
        click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=_D["lr"], show_default=True,
                     help="Adam's learning rate (cosine decay to 5 %)."),
        click.option("--original-share", type=click.FloatRange(0, 1), default=_D["original_share"],
                     show_default=True, help="Share of samples shown as the original (keeps accuracy there)."),
        click.option("--size", "input_size", type=click.IntRange(min=16), default=None,
                     help="Side of the training crops (default: the network's, 224 for ResNet-50)."),
        click.option("--val-fraction", type=click.FloatRange(0, 1, max_open=True), default=_D["val_fraction"],
                     show_default=True, help="Share of the photos held out for validation."),
        click.option("--val-every", type=click.IntRange(min=0), default=_D["val_every"], show_default=True,
                     help="Validate every N steps (0: never)."),
        click.option("--checkpoint-every", type=click.IntRange(min=1), default=_D["checkpoint_every"],
                     show_default=True, help="Save the checkpoint every N steps (and every 10 minutes, on Ctrl-C)."),
        click.option("--cache", type=click.Path(file_okay=False, path_type=Path), default=None,
                     help="Folder of the decoded-image cache (default: decoded-cache beside OUT)."),
        ray_options,
        click.option("--recognizer", default=default_recognizer, show_default=True, metavar="NAME",
                     help="Recognizer to adapt (see 'rnc recognizers'; it must expose a trainable network)."),
        click.option("--weights", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
                     help="Start from this state dict (default: the recognizer's own weights)."),
        no_download_option,
        device_option,
        codec_weights_option,
        threads_option,
        click.option("--seed", type=int, default=_D["seed"], show_default=True),
        click.option("--resume", is_flag=True, help="Continue from OUT.ckpt (same photos and settings)."),
        force_option,
        click.option("--progress/--no-progress", default=True, show_default=True, help="tqdm progress bar."),
    ])


def _prepare(out: Path, force: bool, resume: bool) -> None:
    """Refuse to overwrite a run's files unless --force (or --resume, for that run's own files)."""
    from rnncodec.recognition.finetune import checkpoint_path

    if not out.parent.is_dir():
        raise click.FileError(str(out), hint="its folder does not exist")
    if resume:
        if force:
            raise click.UsageError("--resume continues OUT.ckpt; --force would start over: give one")
        return
    check_output(out, force)
    checkpoint = checkpoint_path(out)
    if checkpoint.exists() and not force:
        raise click.ClickException(f"{click.format_filename(checkpoint)} exists: --resume to continue that run, "
                                   "--force to start over")


def _trainable(recognizer: str, task: str, weights: Optional[Path], device: str, no_download: bool):
    from .recognize import open_recognizer

    model = open_recognizer(recognizer, task, weights=weights, device=device, precision="fp32",
                            no_download=no_download)
    return model.trainable()


def _run(function: Callable, trainable, photos: list[Path], options: dict) -> None:
    out = options["out"]
    cache = options.pop("cache") or out.parent / "decoded-cache"
    options.pop("threads", None)
    options["ray"] = ray_target(options.pop("use_ray"), options.pop("ray_address"))
    try:
        result = function(trainable, photos, cache, log=lambda line: click.echo(line), **options)
    except KeyboardInterrupt as exc:
        raise click.ClickException(f"{exc}; continue with --resume") from None
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    last = result.history[-1] if result.history else None
    summary = f", last validation at step {last['step']}" if last else ""
    steps = f"{result.steps} step{'' if result.steps == 1 else 's'}"
    report(f"wrote {click.format_filename(result.out)} ({steps}, {result.seconds:.0f} s of training"
           f"{summary}); checkpoint {click.format_filename(result.checkpoint)}")


def _photos_in(folder: Path) -> list[Path]:
    from rnncodec.data import find_images
    from rnncodec.recognition import DatasetError

    photos = find_images([folder])
    if not photos:
        raise DatasetError(f"{folder}: no photos (any image format Pillow reads, searched recursively)")
    return photos


@finetune_command.command("classify", short_help="Adapt a classifier (ResNet-50) to decoded images.")
@click.option("--labels", type=click.Path(exists=True, path_type=Path), default=None,
              help="Labelled training: a folder tree with one folder per class (folder name = class name or "
                   "index of the recognizer's labels, or all 1000 ImageNet wnids; then no --data), or a TSV/CSV "
                   "as 'rnc eval' reads "
                   "('file' and 'index' or 'label' columns; photos in --data). Default: label-free.")
@click.option("--distill-weight", type=click.FloatRange(min=0), default=None,
              help="Weight of the distillation loss (default: 1 without labels, 0 with them; set it to mix).")
@click.option("--temperature", type=click.FloatRange(min=0, min_open=True), default=_CLASSIFY["temperature"],
              show_default=True, help="Softening of the class distributions in the distillation loss.")
@_common("resnet50", _CLASSIFY)
def finetune_classify_command(labels: Optional[Path], data: Optional[Path], recognizer: str, weights: Optional[Path],
                              no_download: bool, **options) -> None:
    """Adapt a classifier to decoded images.

    \b
    Examples:
      rnc finetune classify --data photos/ -n 2 -o resnet50-n2.pth             # label-free
      rnc finetune classify --labels train/ -n 1-3 --steps 5000 -o mine.pth    # train/<class>/*.jpg
      rnc finetune classify --data imgs/ --labels labels.tsv -o mine.pth --device cuda
      rnc classify photo.rnc --weights resnet50-n2.pth                        # use it
    """
    from rnncodec.recognition.finetune import finetune_classifier

    _prepare(options["out"], options["force"], options["resume"])
    options.pop("force")
    if labels is not None and labels.is_dir():
        if data is not None:
            raise click.UsageError("--labels FOLDER holds the photos (one folder per class): drop --data")
    elif data is None:
        raise click.UsageError("give --data (the photos), or --labels FOLDER (one folder per class)")
    photos = _photos_in(data) if labels is None else None  # before loading the network: fail fast
    trainable = _trainable(recognizer, "classification", weights, options["device"], no_download)
    if labels is None:
        truth = None
    elif labels.is_dir():
        photos, truth = _class_folders(labels, trainable.labels)
    else:
        photos, truth = _listed(labels, data, trainable.labels)
    _run(finetune_classifier, trainable, photos, {**options, "labels": truth})


def _class_folders(tree: Path, classes) -> tuple[list[Path], dict[Path, int]]:
    """The photos of an image-folder tree and their classes (folder names matched to ``classes``)."""
    from rnncodec.recognition import DatasetError
    from rnncodec.recognition.datasets import list_images
    from rnncodec.recognition.trainable import class_index

    folders = sorted(p for p in tree.iterdir() if p.is_dir())
    # ImageNet's train/ tree: a folder per wnid, all of them; their sorted order is the class index
    by_wnid = len(folders) == len(classes) and all(re.fullmatch(r"n\d{8}", f.name) for f in folders)
    truth: dict[Path, int] = {}
    for position, folder in enumerate(folders):
        try:
            index = position if by_wnid else class_index(classes, folder.name)
        except DatasetError as exc:
            raise DatasetError(f"{folder}: {exc}") from None
        truth.update(dict.fromkeys(list_images(folder), index))
    if not truth:
        raise DatasetError(f"{tree}: no photos in class folders (expected {tree}/<class>/<photo>)")
    return list(truth), truth


def _listed(table: Path, data: Path, classes) -> tuple[list[Path], dict[Path, int]]:
    """The photos in ``data`` that a TSV/CSV lists, and their classes."""
    from rnncodec.recognition import DatasetError
    from rnncodec.recognition.datasets import list_images, read_class_labels

    labels = read_class_labels(table, classes)
    present = {path.name: path for path in list_images(data)}
    missing = [name for name in labels if name not in present]
    if missing:
        raise DatasetError(f"{len(missing)} files listed in {table} are not in {data} (first: {missing[0]})")
    if not labels:
        raise DatasetError(f"{table} lists no photos")
    return [present[name] for name in sorted(labels)], {present[name]: index for name, index in labels.items()}


@finetune_command.command("detect", short_help="Adapt a detector (SSDlite) to decoded images.")
@click.option("--annotations", type=click.Path(exists=True, path_type=Path), default=None,
              help="Labelled training: annotation folder (yolo: <stem>.txt, voc: <stem>.xml) or COCO JSON "
                   "file, for the photos in --data. Default: label-free.")
@click.option("--format", "fmt", type=click.Choice(ANNOTATION_FORMATS), default=None, help="Annotation format.")
@click.option("--names", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="yolo: class names, a data YAML ('names:') or one per line (default: the 80 COCO classes).")
@click.option("--score-threshold", type=click.FloatRange(0, 1), default=_DETECT["score_threshold"], show_default=True,
              help="Label-free: the teacher's detections on the original scoring this much become the boxes.")
@_common("mobilenet-ssd", _DETECT)
def finetune_detect_command(annotations: Optional[Path], fmt: Optional[str], names: Optional[Path],
                            data: Optional[Path], recognizer: str, weights: Optional[Path], no_download: bool,
                            **options) -> None:
    """Adapt a detector to decoded images.

    \b
    Examples:
      rnc finetune detect --data photos/ -n 2 -o ssd-n2.pth                     # label-free
      rnc finetune detect --data voc/JPEGImages --annotations voc/Annotations --format voc -o ssd-voc.pth
      rnc detect street.rnc --weights ssd-n2.pth                               # use it
    """
    from rnncodec.recognition import DatasetError
    from rnncodec.recognition.datasets import list_images, read_annotations, read_names
    from rnncodec.recognition.finetune import finetune_detector

    _prepare(options["out"], options["force"], options["resume"])
    options.pop("force")
    if data is None:
        raise click.UsageError("give --data (the photos)")
    if (annotations is None) != (fmt is None):
        raise click.UsageError("--annotations and --format go together")
    if annotations is None:
        photos, truth = _photos_in(data), None
    else:
        photos = list_images(data)
        if not photos:
            raise DatasetError(f"{data}: no photos")
        by_name = read_annotations(fmt, annotations, photos, read_names(names) if names else None)
        truth = {photo: by_name[photo.name] for photo in photos}
    trainable = _trainable(recognizer, "detection", weights, options["device"], no_download)
    _run(finetune_detector, trainable, photos, {**options, "truth": truth})

