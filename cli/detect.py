"""``rnc detect FILE...``: detect objects in decoded ``.rnc`` files (or plain images) with SSDlite."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import click

from .options import force_option
from .recognize import draw_targets, recognition_command, recognizer_loader, run_recognition

__all__ = ["detect_command"]


@recognition_command("detect", "detection", "mobilenet-ssd", "Detect objects in .rnc files (or images): boxes.")
@click.option("--threshold", type=click.FloatRange(0, 1), default=0.5, show_default=True,
              help="Lowest score of the objects kept.")
@click.option("--labels", default=None, metavar="SET",
              help="Label set of the recognizer: coco (default) or voc (the 20 PASCAL VOC classes).")
@click.option("--draw", type=click.Path(path_type=Path), default=None, metavar="OUT",
              help="Write the decoded image with labelled boxes: a file for one input, else a folder "
                   "(OUT/<name>-<suffix>.png).")
@force_option
def detect_command(inputs: list[Path], iterations: Optional[int], progressive: bool,
                   stop_at_confidence: Optional[float], as_json: bool, lenient: bool, decode_workers: Optional[int],
                   recognizer: str, weights: Optional[Path], no_download: bool, device: str, precision: str,
                   batch_size: Optional[int], codec_weights: Optional[str], threads: Optional[int],
                   threshold: float, labels: Optional[str], draw: Optional[Path], force: bool) -> None:
    """Detect objects in FILES (.rnc files, plain images as baselines, folders or globs).

    \b
    Examples:
      rnc detect street.rnc                          # boxes in pixels, score ≥ 0.5
      rnc detect coded/ -n 3 --labels voc --json     # the 20 PASCAL VOC classes
      rnc detect street.rnc --draw boxes.png         # the decoded image with labelled boxes
      rnc detect street.rnc --stop-at-confidence 0.8 # stop once every kept object scores 0.8

    The default recognizer is torchvision's SSDlite320 MobileNetV3-Large (COCO, DEFAULT weights from
    the torch hub cache, downloaded when missing unless --no-download or RNC_OFFLINE=1).
    --stop-at-confidence implies --progressive; an iteration with no object kept does not stop.
    """
    from rnncodec.recognition import InputDecoder

    targets = draw_targets(inputs, draw, force) if draw else None
    load = recognizer_loader(recognizer, "detection", weights=weights, device=device, precision=precision,
                             no_download=no_download, labels=labels)
    failures = run_recognition(load, InputDecoder(codec_weights, lenient=lenient), inputs, iterations=iterations,
                               progressive=progressive, stop_at=stop_at_confidence, as_json=as_json,
                               batch_size=batch_size, threshold=threshold, draw=targets, force=force,
                               decode_workers=decode_workers)
    if failures:
        raise SystemExit(1)
