"""``rnc encode IMG... [-n N | --max-bytes N | --target-bpp B | --quality DB] [-o OUT | --out-dir D]``: compress
images to ``.rnc`` files."""

from __future__ import annotations

import logging
import math
import warnings
from pathlib import Path

import click

from rnncodec.choices import (ALPHA_POLICIES, CODER_AUTO, DEFAULT_ITERATIONS, DEFAULT_TILE_SIZE, MAX_ITERATIONS,
                              TILE_SIZES)
from rnncodec.formats import DEFAULT_LIMITS, coder_names

from .main import describe_file_error
from .options import (IMAGE_SUFFIXES, ITERATIONS, atomic_output, backend_option, check_downscale, check_outputs,
                      codec_weights_option, deprecated_weights_alias, display_name, downscale_options, file_progress,
                      force_option, inputs_argument, is_stdio, iterations_text, json_option, read_input, report,
                      threads_option)

__all__ = ["encode_command"]

log = logging.getLogger(__name__)


def describe_size(size: int, width: int, height: int, source_bytes: int | None) -> str:
    """``12,346 bytes, 0.251 bpp, 1/48.1 of the source`` — the one line users read."""
    text = f"{size:,} bytes, {8 * size / (width * height):.3f} bpp"
    if source_bytes:
        text += f", 1/{source_bytes / size:.1f} of the source ({source_bytes:,} bytes)"
    return text


def describe_choice(iterations: int, psnr: float | None, budget: int | None, block_iterations: float) -> str:
    """``; 3 iterations (budget 4,000 bytes)``, ``; 3 iterations, 2.46 per block (budget 4,000 bytes)`` or
    ``; 5 iterations, 3.12 per block, 30.21 dB`` — what a target chose."""
    text = f"; {iterations_text(iterations)}"
    if block_iterations != iterations:  # blocks stopped early (spatially adaptive)
        text += f", {block_iterations:.2f} per block"
    if budget is not None:
        return text + f" (budget {budget:,} bytes)"
    return text + f", {psnr:.2f} dB" if psnr is not None else text


@click.command("encode", short_help="Compress images to .rnc files.")
@inputs_argument(suffixes=IMAGE_SUFFIXES)
@click.option("-n", "--iterations", type=ITERATIONS, default=None,
              help=f"Iterations to code (default {DEFAULT_ITERATIONS}); each adds 0.125 bpp before entropy "
                   f"coding. The default weights were trained on 8: past 8 their images get worse. With a "
                   f"target: the most to use (default {MAX_ITERATIONS}; a size target stops where the image "
                   f"stops getting better).")
@click.option("--max-bytes", type=click.IntRange(min=1), metavar="N",
              help="Target: the largest file of at most N bytes (container included): whole iterations while "
                   "they fit, then one more for the 16×16 blocks with the largest error, as many as fit; "
                   "smaller where one more iteration would make the image no better.")
@click.option("--target-bpp", type=click.FloatRange(min=0, min_open=True), metavar="B",
              help="Target: the largest file of at most B bits per pixel (B·W·H/8 bytes), as --max-bytes.")
@click.option("--quality", type=click.FloatRange(min=0, min_open=True), metavar="DB",
              help="Target: every 16×16 block gets iterations while each one lowers its error (its MSE and "
                   "the image's MS-SSIM counted alike) by at least the MSE of DB dB PSNR, at most -n; then it stops "
                   "(spatially adaptive). Typical: 24 (small files) to 38 (fine detail). A higher DB never "
                   "gives a smaller file.")
@click.option("--allow-larger", is_flag=True,
              help="With --max-bytes/--target-bpp below the 1-iteration file: write that file, with a warning.")
@downscale_options
@click.option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
              help="Output file (one input only; - for stdout). Default: the input's name with .rnc.")
@click.option("--out-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Write every output into this folder (created if missing).")
@click.option("--coder", type=click.Choice([CODER_AUTO, *coder_names()]), default=CODER_AUTO, show_default=True,
              help="Payload coder: raw packed bits, zstd, or context (adaptive arithmetic coding); "
                   "auto keeps the smallest.")
@click.option("--tile-size", type=click.Choice([str(size) for size in TILE_SIZES]), default=str(DEFAULT_TILE_SIZE),
              show_default=True, help="Tile side for large images (0: no tiling).")
@click.option("--alpha", type=click.Choice(ALPHA_POLICIES), default=ALPHA_POLICIES[0], show_default=True,
              help="Alpha channel: keep it losslessly in the file, drop it, or refuse such images.")
@click.option("--max-pixels", type=click.IntRange(min=1), default=DEFAULT_LIMITS.max_pixels, show_default=True,
              help="Largest image (width × height) to encode, checked before its pixels are read.")
@click.option("--strip", is_flag=True,
              help="Leave out the metadata the encoder adds (tool version, source file name and size): "
                   "70–130 bytes a file, 2–5 % of a photo's 1-iteration file. A downscaled image keeps its "
                   "source size (rnc decode --source-size needs it).")
@codec_weights_option
@deprecated_weights_alias
@backend_option
@threads_option
@force_option
@json_option
def encode_command(inputs: list[Path], iterations: int | None, max_bytes: int | None, target_bpp: float | None,
                   quality: float | None, allow_larger: bool, shorter_side: int | None, longer_side: int | None,
                   downscale_to_fit: bool,
                   output: Path | None, out_dir: Path | None,
                   coder: str, tile_size: str, alpha: str, max_pixels: int, strip: bool, codec_weights: str | None,
                   backend: str, threads: int | None, force: bool, as_json: bool) -> None:
    """Compress IMAGES (files, folders or globs) to progressive .rnc files.

    \b
    Examples:
      rnc encode photo.png -n 2              # photo.rnc, 2 iterations (~0.25 bpp)
      rnc encode shots/ --out-dir coded/ -n 4
      rnc encode 'raw/*.jpg' -n 1 --force
      rnc encode - -o - < photo.png > photo.rnc   # a filter: - is stdin / stdout
      rnc encode photo.png --max-bytes 4000  # the largest file ≤ 4000 bytes
      rnc encode big.jpg --max-bytes 4000 --downscale-to-fit  # at the largest size that fits
      rnc encode photo.png --quality 32 -n 8 # each block while an iteration gains it 32 dB's error
      rnc encode photo.jpg --shorter-side 512 -n 2  # coded at most 512 px on its shorter side

    At most one target (--max-bytes, --target-bpp, --quality). -n alone gives every 16×16 block
    the same iterations (~0.1 bpp steps); --max-bytes hits a size to within a few bytes; --quality
    spends the bits where the image needs them (the best quality for its size).

    Any Pillow-readable image: EXIF orientation is applied, grayscale stays grayscale, alpha is
    kept losslessly (or see --alpha); of an animated or multi-page image, the first frame (with a
    warning). A cut or truncated file (rnc truncate) decodes at lower quality without re-encoding.
    No output may be an input, and no two inputs may share an output: both are refused before
    anything is written, --force or not.
    """
    if output and out_dir:
        raise click.UsageError("give -o/--output or --out-dir, not both")
    targets_given = [name for name, value in (("--max-bytes", max_bytes), ("--target-bpp", target_bpp),
                                              ("--quality", quality)) if value is not None]
    if len(targets_given) > 1:
        raise click.UsageError(f"give one target, not {' and '.join(targets_given)}")
    if allow_larger and max_bytes is None and target_bpp is None:
        raise click.UsageError("--allow-larger goes with --max-bytes or --target-bpp")
    check_downscale(shorter_side, longer_side, downscale_to_fit, max_bytes, allow_larger)
    if output and len(inputs) > 1:
        raise click.UsageError(f"-o/--output takes one input, got {len(inputs)}; use --out-dir")
    if any(is_stdio(src) for src in inputs) and (len(inputs) > 1 or not output):
        raise click.UsageError("reading stdin (-) takes it as the only input, with -o FILE or -o -")
    targets = [output or (out_dir or src.parent) / (src.stem + ".rnc") for src in inputs]
    check_outputs(inputs, targets, force)
    if out_dir:
        out_dir.mkdir(parents=True, exist_ok=True)

    from rnncodec.codec import Codec
    from rnncodec.errors import ImageTooLargeError, MultiFrameWarning
    from rnncodec.formats import UnreachableTargetError, read
    from rnncodec.imageio import Downscale
    from rnncodec.rate import RateTarget, encode_to_target

    rate_target = RateTarget.from_options(max_bytes, target_bpp, quality, allow_larger, downscale_to_fit)
    downscale = Downscale.from_options(shorter_side, longer_side)

    codec = Codec(codec_weights, tile_size=int(tile_size), backend=backend)
    failures = 0
    to_stdout = not is_stdio(output)
    for src, target in file_progress(list(zip(inputs, targets)), "encoding"):
        chosen, choice = "", {}
        try:
            source = read_input(src)
            source_bytes = len(source) if isinstance(source, bytes) else src.stat().st_size
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", MultiFrameWarning)
                if rate_target is None:
                    data = codec.encode(source, iterations, coder=coder, alpha=alpha, max_pixels=max_pixels,
                                        shorter_side=shorter_side, longer_side=longer_side, strip_metadata=strip)
                else:
                    result = encode_to_target(codec, source, rate_target, iterations or MAX_ITERATIONS, coder=coder,
                                              alpha=alpha, max_pixels=max_pixels, downscale=downscale,
                                              strip_metadata=strip)
                    data = result.data
                    chosen = describe_choice(result.iterations, result.psnr, result.budget, result.block_iterations)
                    choice = {"budget": result.budget, "target_met": result.met,
                              "block_iterations": round(result.block_iterations, 4),
                              "psnr": None if result.psnr in (None, math.inf) else round(result.psnr, 3)}
            for warning in caught:
                report(f"Warning: {warning.message}", to_stdout=False)
            if rate_target is not None and result.warning:
                report(f"Warning: {display_name(src)}: {result.warning}", to_stdout=False)
            with atomic_output(target, force=force) as out:
                out.write(data)
        except click.ClickException:
            raise
        except Exception as exc:  # report, go on with the other files, fail at the end
            failures += 1
            hint = (" (--max-pixels)" if isinstance(exc, ImageTooLargeError) else
                    "; --allow-larger writes it anyway, --downscale-to-fit codes it smaller"
                    if isinstance(exc, UnreachableTargetError) and not downscale_to_fit else "")
            message = describe_file_error(src, exc) + hint
            click.echo(f"Error: {message}", err=True)
            report(record={"file": str(src), "error": message} if as_json else None, to_stdout=to_stdout)
            log.debug("encoding failed", exc_info=True)
            continue
        written = read(data)
        header, source_size = written.header, (written.metadata or {}).get("source_size")
        if source_size:
            chosen += f"; coded at {header.width}×{header.height} (from {source_size[0]}×{source_size[1]})"
            choice["source_size"] = source_size
        report(f"{display_name(src)} → {display_name(target, output=True)}: "
               f"{describe_size(len(data), header.width, header.height, source_bytes)}{chosen}",
               record={"file": str(src), "output": str(target), "bytes": len(data),
                       "bpp": round(8 * len(data) / (header.width * header.height), 4),
                       "source_bytes": source_bytes, "width": header.width, "height": header.height,
                       "mode": header.mode, "iterations": header.iterations, "coder": header.coder, **choice}
               if as_json else None, to_stdout=to_stdout)
    if failures:
        raise SystemExit(1)
