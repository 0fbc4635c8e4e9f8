"""``rnc decode FILE.rnc... [-n K] [-o OUT | --out-dir D]``: decompress ``.rnc`` files to images."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from rnncodec.formats import DEFAULT_LIMITS

from .main import describe_file_error
from .options import (atomic_output, backend_option, check_outputs, codec_weights_option, deprecated_weights_alias,
                      display_name, file_progress, force_option, inputs_argument, is_stdio, iterations_text, json_option,
                      read_input, report, threads_option)

__all__ = ["decode_command", "LOSSY_FORMATS", "DEFAULT_QUALITY"]

log = logging.getLogger(__name__)

#: Pillow formats whose ``quality`` --quality sets.
LOSSY_FORMATS = ("JPEG", "WEBP", "AVIF")
#: Their quality when --quality is not given (Pillow's own default, 75, visibly adds its artefacts).
DEFAULT_QUALITY = 90


@click.command("decode", short_help="Decompress .rnc files to images (png, jpg, webp, …).")
@inputs_argument(suffixes=(".rnc",))
@click.option("-n", "--iterations", type=click.IntRange(min=1), default=None,
              help="Decode only the first K iterations (default: all in the file).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
              help="Output image (one input only; - for stdout, with --format); its extension picks the format.")
@click.option("--out-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Write every output into this folder (created if missing).")
@click.option("-f", "--format", "fmt", default=None,
              help="Output extension when no -o is given, or for -o - (png, jpg, webp, bmp, tif, …). "
                   "Default: png.")
@click.option("--quality", type=click.IntRange(1, 100), default=None,
              help=f"Quality of JPEG, WebP and AVIF outputs. Default: {DEFAULT_QUALITY}.")
@click.option("--source-size", is_flag=True,
              help="For a file the encoder downscaled (rnc encode --shorter-side, --downscale-to-fit, …): "
                   "decode at the photo's size before, which the file records (Lanczos upscaling).")
@click.option("--lenient", is_flag=True,
              help="Decode the complete iterations of a cut or still-arriving file instead of failing "
                   "(and at most the iterations there are, whatever -n asks).")
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
@json_option
def decode_command(inputs: list[Path], iterations: int | None, output: Path | None, out_dir: Path | None,
                   fmt: str | None, quality: int | None, source_size: bool, lenient: bool, max_pixels: int,
                   max_iterations: int,
                   max_code_bits: int, codec_weights: str | None, backend: str, threads: int | None, force: bool,
                   as_json: bool) -> None:
    """Decompress FILES (.rnc files, folders or globs) to images.

    \b
    Examples:
      rnc decode photo.rnc                   # photo.png, every iteration in the file
      rnc decode photo.rnc -n 1 -o preview.jpg
      rnc decode coded/ --out-dir decoded/ -f webp --quality 95
      cat photo.rnc | rnc decode - -o - --format png > photo.png

    The decoder finds the shipped weights the file was made with; --codec-weights decodes with others
    (they must be the ones the file names). What a file may ask for is known from its header and
    bounded before any work (--max-pixels, --max-iterations, --max-code-bits; tiles under 128
    px are refused); lower the limits for files you do not trust.
    """
    if output and out_dir:
        raise click.UsageError("give -o/--output or --out-dir, not both")
    if output and len(inputs) > 1:
        raise click.UsageError(f"-o/--output takes one input, got {len(inputs)}; use --out-dir")
    if any(is_stdio(src) for src in inputs) and (len(inputs) > 1 or not output):
        raise click.UsageError("reading stdin (-) takes it as the only input, with -o FILE or -o -")
    if is_stdio(output) and not fmt:
        raise click.UsageError("writing to stdout (-o -) needs --format (png, jpg, webp, …)")
    extension = "." + (fmt or "png").lower().lstrip(".")
    targets = [output or (out_dir or src.parent) / (src.stem + extension) for src in inputs]
    from PIL import Image

    extensions = Image.registered_extensions()
    formats = [extensions.get(extension if is_stdio(target) else target.suffix.lower()) for target in targets]
    for target, image_format in zip(targets, formats):
        if image_format is None:
            suffix = extension if is_stdio(target) else target.suffix or "(none)"
            raise click.BadParameter(f"{display_name(target, output=True)}: unknown image extension {suffix!r}",
                                     param_hint="output")
    check_outputs(inputs, targets, force)
    if quality is not None and not set(formats) & set(LOSSY_FORMATS):
        report("Warning: --quality applies to JPEG, WebP and AVIF outputs only", to_stdout=False)
    sources = [read_input(src) for src in inputs]
    if iterations is not None and not lenient:
        _check_iterations(inputs, sources, iterations)
    if out_dir:
        out_dir.mkdir(parents=True, exist_ok=True)

    from rnncodec.codec import decode
    from rnncodec.formats import LimitExceededError, Limits, read

    limits = Limits(max_pixels=max_pixels, max_iterations=max_iterations, max_code_bits=max_code_bits)
    failures, to_stdout = 0, not is_stdio(output)
    for src, source, target, image_format in file_progress(list(zip(inputs, sources, targets, formats)),
                                                           "decoding"):
        try:
            rnc = read(source, strict=not lenient, limits=limits)
            count = rnc.iterations if iterations is None else min(iterations, rnc.iterations)
            image = decode(rnc, count, weights=codec_weights, backend=backend, limits=limits,
                           at_source_size=source_size)
            save_image(image, target, image_format, force, quality)
        except Exception as exc:
            failures += 1
            option = f"--{exc.limit.replace('_', '-')}" if isinstance(exc, LimitExceededError) else ""
            hint = f" ({option})" if option in ("--max-pixels", "--max-iterations", "--max-code-bits") else ""
            message = describe_file_error(src, exc) + hint
            click.echo(f"Error: {message}", err=True)
            report(record={"file": str(src), "error": message} if as_json else None, to_stdout=to_stdout)
            log.debug("decoding failed", exc_info=True)
            continue
        report(f"{display_name(src)} → {display_name(target, output=True)}: {image.width}×{image.height} {image.mode}",
               record={"file": str(src), "output": str(target), "format": image_format, "width": image.width,
                       "height": image.height, "mode": image.mode, "iterations": count}
               if as_json else None, to_stdout=to_stdout)
    if failures:
        raise SystemExit(1)


def _check_iterations(inputs: list[Path], sources: list, iterations: int) -> None:
    """-n beyond a file's iterations is a usage error, as for ``rnc truncate`` (files that cannot be read
    fail later, each with its own message)."""
    from rnncodec.formats import read_header
    from rnncodec.formats.errors import RNCError

    for src, source in zip(inputs, sources):
        try:
            available = read_header(source).iterations
        except (RNCError, OSError):
            continue
        if iterations > available:
            raise click.BadParameter(f"{display_name(src)} has only {iterations_text(available)} "
                                     "(--lenient decodes those there are)", param_hint="'-n' / '--iterations'")


def save_image(image, target: Path, image_format: str, force: bool, quality: int | None = None) -> None:
    """Save ``image`` as ``image_format``; formats without alpha get it dropped with a warning,
    lossy ones get ``quality`` (default :data:`DEFAULT_QUALITY`)."""
    if image_format in ("JPEG", "BMP", "PPM") and image.mode in ("LA", "RGBA"):
        report(f"Warning: {display_name(target, output=True)}: {image_format} has no alpha channel; dropping it",
               to_stdout=False)
        image = image.convert(image.mode[:-1])
    options = {"quality": quality or DEFAULT_QUALITY} if image_format in LOSSY_FORMATS else {}
    with atomic_output(target, force=force) as out:
        image.save(out, format=image_format, **options)
