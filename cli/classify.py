"""``rnc classify FILE...``: classify decoded ``.rnc`` files (or plain images) with ResNet-50."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import click

from .recognize import recognition_command, recognizer_loader, run_recognition

__all__ = ["classify_command"]


@recognition_command("classify", "classification", "resnet50", "Classify .rnc files (or images): top-k classes.")
@click.option("--top-k", type=click.IntRange(min=1), default=5, show_default=True, help="Classes to report per input.")
def classify_command(inputs: list[Path], iterations: Optional[int], progressive: bool,
                     stop_at_confidence: Optional[float], as_json: bool, lenient: bool, decode_workers: Optional[int],
                     recognizer: str, weights: Optional[Path], no_download: bool, device: str, precision: str,
                     batch_size: Optional[int], codec_weights: Optional[str], threads: Optional[int],
                     top_k: int) -> None:
    """Classify FILES (.rnc files, plain images as baselines, folders or globs).

    \b
    Examples:
      rnc classify photo.rnc                      # every iteration in the file
      rnc classify coded/ -n 2 --json > out.jsonl # first 2 iterations of each file
      rnc classify photo.rnc --progressive        # the prediction after each iteration
      rnc classify photo.rnc --stop-at-confidence 0.9   # bytes this image really needed
      rnc classify photo.jpg                      # the original, for comparison

    The default recognizer is torchvision's ResNet-50 (ImageNet, DEFAULT weights from the torch hub
    cache, downloaded when missing unless --no-download or RNC_OFFLINE=1). --stop-at-confidence
    implies --progressive.
    """
    from rnncodec.recognition import InputDecoder

    load = recognizer_loader(recognizer, "classification", weights=weights, device=device, precision=precision,
                             no_download=no_download)
    failures = run_recognition(load, InputDecoder(codec_weights, lenient=lenient), inputs, iterations=iterations,
                               progressive=progressive, stop_at=stop_at_confidence, as_json=as_json,
                               batch_size=batch_size, top_k=top_k, decode_workers=decode_workers)
    if failures:
        raise SystemExit(1)
