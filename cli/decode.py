"""``rnc decode FILE.rnc... [-n K] [-o OUT | --out-dir D]``: decompress ``.rnc`` files to images."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from rnncodec.formats import DEFAULT_LIMITS

from .main import describe_error
from .options import (atomic_output, backend_option, check_outputs, codec_weights_option, deprecated_weights_alias,
                      file_progress, force_option, inputs_argument, threads_option)

__all__ = ["decode_command"]

log = logging.getLogger(__name__)


@click.command("decode", short_help="Decompress .rnc files to images (png, jpg, webp, …).")
@inputs_argument(suffixes=(".rnc",))
@click.option("-n", "--iterations", type=click.IntRange(min=1), default=None,
              help="Decode only the first K iterations (default: all in the file).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Output image (one input only); its extension picks the format.")
@click.option("--out-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Write every output into this folder (created if missing).")
@click.option("-f", "--format", "fmt", default="png", show_default=True,
              help="Output extension when no -o is given (png, jpg, webp, bmp, tif, …).")
@click.option("--lenient", is_flag=True,
              help="Decode the complete iterations of a cut or still-arriving file instead of failing.")
@click.option("--max-pixels", type=click.IntRange(min=1), default=DEFAULT_LIMITS.max_pixels, show_default=True,
              help="Refuse files declaring a larger image (width × height).")
@click.option("--max-iterations", type=click.IntRange(0, 255), default=DEFAULT_LIMITS.max_iterations,
              show_default=True, help="Refuse files declaring more iterations.")
@click.option("--max-code-bits", type=click.IntRange(min=1), default=DEFAULT_LIMITS.max_code_bits,
              show_default=True, help="The work budget: refuse files declaring more code bits "
              "(bits per block × blocks × iterations; a 100-megapixel photo at 16 iterations has 2.0e8).")
@codec_weights_option
@deprecated_weights_alias
@backend_option
@threads_option
@force_option
def decode_command(inputs: list[Path], iterations: int | None, output: Path | None, out_dir: Path | None,
                   fmt: str, lenient: bool, max_pixels: int, max_iterations: int, max_code_bits: int,
                   codec_weights: str | None, backend: str, threads: int | None, force: bool) -> None:
    """Decompress FILES (.rnc files, folders or globs) to images.

    \b
    Examples:
      rnc decode photo.rnc                   # photo.png, every iteration in the file
      rnc decode photo.rnc -n 1 -o preview.jpg
      rnc decode coded/ --out-dir decoded/ -f webp

    The decoder finds the shipped weights the file was made with; --codec-weights decodes with others
    (they must be the ones the file names). What a file may ask for is known from its header and
    bounded before any work (--max-pixels, --max-iterations, --max-code-bits; tiles under 128
    px are refused); lower the limits for files you do not trust.
    """
    if output and out_dir:
        raise click.UsageError("give -o/--output or --out-dir, not both")
    if output and len(inputs) > 1:
        raise click.UsageError(f"-o/--output takes one input, got {len(inputs)}; use --out-dir")
    fmt = fmt.lower().lstrip(".")
    targets = [output or (out_dir or src.parent) / f"{src.stem}.{fmt}" for src in inputs]
    from PIL import Image

    extensions = Image.registered_extensions()
    for target in targets:
        if target.suffix.lower() not in extensions:
            raise click.BadParameter(f"{click.format_filename(target)}: unknown image extension "
                                     f"{target.suffix or '(none)'!r}", param_hint="output")
    check_outputs(inputs, targets, force)
    if out_dir:
        out_dir.mkdir(parents=True, exist_ok=True)

    from rnncodec.codec import decode
    from rnncodec.formats import LimitExceededError, Limits

    limits = Limits(max_pixels=max_pixels, max_iterations=max_iterations, max_code_bits=max_code_bits)
    failures = 0
    for src, target in file_progress(list(zip(inputs, targets)), "decoding"):
        try:
            image = decode(src, iterations, weights=codec_weights, strict=not lenient, backend=backend,
                           limits=limits)
            save_image(image, target, force)
        except Exception as exc:
            failures += 1
            option = f"--{exc.limit.replace('_', '-')}" if isinstance(exc, LimitExceededError) else ""
            hint = f" ({option})" if option in ("--max-pixels", "--max-iterations", "--max-code-bits") else ""
            click.echo(f"Error: {click.format_filename(src)}: {describe_error(exc)}{hint}", err=True)
            log.debug("decoding failed", exc_info=True)
            continue
        click.echo(f"{click.format_filename(src)} → {click.format_filename(target)}: "
                   f"{image.width}×{image.height} {image.mode}")
    if failures:
        raise SystemExit(1)


def save_image(image, target: Path, force: bool) -> None:
    """Save in the format the extension names; formats without alpha get it dropped with a warning."""
    from PIL import Image

    fmt = Image.registered_extensions()[target.suffix.lower()]
    if fmt in ("JPEG", "BMP", "PPM") and image.mode in ("LA", "RGBA"):
        click.echo(f"Warning: {click.format_filename(target)}: {fmt} has no alpha channel; dropping it", err=True)
        image = image.convert(image.mode[:-1])
    with atomic_output(target, force=force) as out:
        image.save(out, format=fmt)
