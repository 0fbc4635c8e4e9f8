"""What ``rnc classify``, ``rnc detect`` and ``rnc eval`` share: recognizer loading, the run, output.

Importing this module stays cheap (no torch): the recognizer and the codec load inside the commands.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional

import click

from .main import describe_error
from .options import (IMAGE_SUFFIXES, atomic_output, check_outputs, file_progress, inputs_argument, iterations_text,
                      recognizer_options, stacked)

if TYPE_CHECKING:
    from rnncodec.recognition import Decoded, InputDecoder, Recognizer, Result

__all__ = ["recognition_command", "recognizer_loader", "open_recognizer", "draw_targets", "run_recognition",
           "describe_result"]

log = logging.getLogger(__name__)


def recognizer_loader(name: str, task: str, *, weights: Optional[Path], device: str, precision: str,
                      no_download: bool, labels: Optional[str] = None) -> Callable[[], "Recognizer"]:
    """What loads recognizer ``name``, checked now: a wrong name, task or label set is a usage
    error (exit 2) before anything is loaded or decoded."""
    import functools

    from rnncodec.recognition import UnknownRecognizerError, recognizer_class

    try:
        cls = recognizer_class(name)
    except UnknownRecognizerError as exc:
        raise click.BadParameter(str(exc), param_hint="'--recognizer'") from None
    if cls.task != task:
        raise click.BadParameter(f"{name} is a {cls.task} recognizer, not {task}", param_hint="'--recognizer'")
    if labels is not None and labels not in cls.label_sets:
        offered = ", ".join(cls.label_sets) or "none"
        raise click.BadParameter(f"{name} has no label set {labels!r} (offered: {offered})",
                                 param_hint="'--labels'")
    return functools.partial(cls, name=name, weights=weights, device=device, precision=precision,
                             download=False if no_download else None, labels=labels)


def open_recognizer(name: str, task: str, **options) -> "Recognizer":
    """Recognizer ``name`` loaded (options as for :func:`recognizer_loader`)."""
    return recognizer_loader(name, task, **options)()


def recognition_command(name: str, task: str, default_recognizer: str, short_help: str) -> Callable:
    """The decorators of ``rnc classify`` / ``rnc detect``: inputs and the options they share."""
    options = [
        click.command(name, short_help=short_help),
        inputs_argument(suffixes=(".rnc", *IMAGE_SUFFIXES)),
        click.option("-n", "--iterations", type=click.IntRange(min=1), default=None,
                     help="Decode .rnc files from their first K iterations only (default: all)."),
        click.option("--progressive", is_flag=True,
                     help="Decode iteration by iteration and report the result after each."),
        click.option("--stop-at-confidence", type=click.FloatRange(0, 1), default=None, metavar="P",
                     help=("Progressive: stop at the first iteration where the top class reaches P."
                           if task == "classification" else
                           "Progressive: stop at the first iteration where every kept object reaches P.")),
        click.option("--json", "as_json", is_flag=True, help="JSON Lines: one record per input."),
        click.option("--lenient", is_flag=True, help="Use the complete iterations of cut .rnc files."),
        click.option("--decode-workers", type=click.IntRange(min=0), default=None, metavar="N",
                     help="Decode N files at a time, in threads of one torch thread each, while recognising. "
                          "Default: one per --threads (torch's default: one per core) for several inputs; "
                          "0: one file at a time on every thread. Not with --progressive."),
        recognizer_options(default_recognizer),
    ]
    return stacked(options)


def draw_targets(inputs: list[Path], draw: Path, force: bool) -> list[Path]:
    """Where ``--draw`` writes each input's picture: ``draw`` itself for one input (unless it is a
    folder), else ``draw/<stem>-<suffix>.png`` (the folder is created)."""
    from PIL import Image

    if len(inputs) == 1 and not draw.is_dir():
        if draw.suffix.lower() not in Image.registered_extensions():
            raise click.BadParameter(f"{click.format_filename(draw)}: unknown image extension "
                                     f"{draw.suffix or '(none)'!r}", param_hint="'--draw'")
        targets = [draw]
    else:
        targets = [draw / f"{src.stem}-{src.suffix.lstrip('.').lower() or 'image'}.png" for src in inputs]
    check_outputs(inputs, targets, force)
    if len(targets) > 1:
        draw.mkdir(parents=True, exist_ok=True)
    return targets


def run_recognition(load_recognizer: Callable[[], "Recognizer"], decoder: "InputDecoder", inputs: list[Path], *,
                    iterations: Optional[int], progressive: bool, stop_at: Optional[float], as_json: bool,
                    batch_size: Optional[int], top_k: int = 5, threshold: float = 0.5,
                    draw: Optional[list[Path]] = None, force: bool = False,
                    decode_workers: Optional[int] = None) -> int:
    """Recognise every input (:func:`rnncodec.recognition.recognize_inputs`), print a table row or a
    JSON line for each and draw what ``draw`` asks for; returns the failures, reported on stderr."""
    from rnncodec.recognition import build_record, draw_detections, recognize_inputs

    if decode_workers and (progressive or stop_at is not None):
        raise click.UsageError("--decode-workers does not apply to progressive recognition")
    failures = 0
    width = min(max(len(str(p)) for p in inputs), 48)
    targets = dict(zip(inputs, draw or []))
    recognizer_name = None

    def load() -> "Recognizer":
        nonlocal recognizer_name
        recognizer = load_recognizer()
        recognizer_name = recognizer.name
        return recognizer

    for outcome in recognize_inputs(load, decoder, inputs, iterations=iterations, progressive=progressive,
                                    stop_at=stop_at, batch_size=batch_size, top_k=top_k, threshold=threshold,
                                    decode_workers=decode_workers,
                                    progress=lambda paths: file_progress(paths, "recognising")):
        if outcome.error is not None:
            failures += 1
            click.echo(f"Error: {click.format_filename(outcome.path)}: {describe_error(outcome.error)}", err=True)
            log.debug("recognition failed", exc_info=outcome.error)
            continue
        item, result = outcome.decoded, outcome.result
        if as_json:
            record = build_record(item.sample, result, recognizer=recognizer_name, steps=outcome.steps,
                                  stop_at=stop_at)
            click.echo(json.dumps(record, ensure_ascii=False))
        else:
            click.echo(_describe(item, result, outcome.steps, stop_at, width))
        if outcome.path in targets:
            with atomic_output(targets[outcome.path], force=force) as out:
                draw_detections(item.image, result).save(out, format="PNG")
    return failures


def _describe(item: "Decoded", result: "Result", steps, stop_at: Optional[float], width: int) -> str:
    """The readable lines of one input."""
    sample = item.sample
    name = click.format_filename(sample.file).ljust(width)
    if steps is None or sample.kind != "rnc":
        return f"{name}  {_amount(sample.iterations, sample.iterations_in_file, sample.bytes_read)}  {describe_result(result)}"
    lines = [f"{name}  {iterations_text(sample.iterations_in_file)} in the file, {sample.file_bytes:,} bytes"]
    for step in steps:
        lines.append(f"  {_amount(step.iterations, None, step.bytes_read)}  {describe_result(step.result)}")
    if stop_at is not None:
        used = sample.bytes_read / sample.file_bytes
        share = f"{sample.bytes_read:,} of {sample.file_bytes:,} bytes ({100 * used:.0f}%)"
        if result.confidence >= stop_at:
            lines.append(f"  confidence {result.confidence:.3f} ≥ {stop_at} at iteration {sample.iterations}: "
                         f"{share}")
        else:
            lines.append(f"  confidence {stop_at} not reached in {iterations_text(sample.iterations)}: {share}")
    return "\n".join(lines)


def _amount(iterations: Optional[int], in_file: Optional[int], bytes_read: int) -> str:
    if iterations is None:
        return f"{'image':>7}  {bytes_read:>9,} B"
    done = f"{iterations}/{in_file}" if in_file is not None else str(iterations)
    return f"{done + ' it':>7}  {bytes_read:>9,} B"


def describe_result(result: "Result") -> str:
    """A one-line (detections: one line per object) summary of a result for the table output."""
    if result.task == "classification":
        return " · ".join(f"{c.label} {100 * c.probability:.1f}%" for c in result.top)
    if not result.objects:
        return "no objects"
    head = f"{len(result.objects)} object{'s' if len(result.objects) > 1 else ''}"
    return head + "".join(f"\n    {d.label:<16} {d.score:.3f}  [{', '.join(f'{v:.0f}' for v in d.box)}]"
                          for d in result.objects)

