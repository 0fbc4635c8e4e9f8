"""``rnc truncate FILE (-n K | --max-bytes N) (-o OUT | --in-place)``: keep the first K iterations
(or the most that fit in N bytes), byte for byte."""

from __future__ import annotations

from pathlib import Path

import click

from rnncodec.formats import UnreachableTargetError, iterations_within, read_header, truncate_to

from .options import (atomic_output, check_outputs, display_name, force_option, is_stdio, iterations_text, json_option,
                      read_input, report)

__all__ = ["truncate_command"]


@click.command("truncate", short_help="Keep the first K iterations of a file (no re-encoding).")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=True, path_type=Path))
@click.option(
    "-n", "--iterations", type=click.IntRange(min=0), metavar="K",
    help="Iterations to keep (0 … those in FILE).",
)
@click.option("--max-bytes", type=click.IntRange(min=1), metavar="N",
              help="Keep the most iterations whose file is at most N bytes.")
@click.option("--allow-larger", is_flag=True,
              help="With --max-bytes below the 1-iteration file: keep 1 iteration, with a warning.")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    help="Write the result here (- for stdout).",
)
@click.option("--in-place", is_flag=True, help="Replace FILE with the result.")
@force_option
@json_option
def truncate_command(file: Path, iterations: int | None, max_bytes: int | None, allow_larger: bool,
                     output: Path | None, in_place: bool, force: bool, as_json: bool) -> None:
    """Cut FILE to its first K iterations: a smaller, lower-quality but complete .rnc file.

    Chunks are copied, not re-encoded; the result is the file the encoder would have written
    with K iterations.  Exactly one of -n and --max-bytes, and one of -o/--output and --in-place,
    is required.
    """
    if (output is None) != in_place:
        raise click.UsageError("give exactly one of -o/--output and --in-place")
    if in_place and is_stdio(file):
        raise click.UsageError("--in-place needs a file, not stdin")
    if (iterations is None) == (max_bytes is None):
        raise click.UsageError("give exactly one of -n/--iterations and --max-bytes")
    if allow_larger and max_bytes is None:
        raise click.UsageError("--allow-larger goes with --max-bytes")
    source = read_input(file)
    if max_bytes is not None:
        try:
            iterations = iterations_within(source, max_bytes)
        except UnreachableTargetError as exc:
            if not allow_larger or exc.smallest is None:
                hint = "; --allow-larger keeps 1 iteration anyway" if exc.smallest else ""
                raise click.ClickException(f"{display_name(file)}: {exc}{hint}") from None
            report(f"Warning: {display_name(file)}: {exc}; kept 1 iteration", to_stdout=False)
            iterations = 1
    header = read_header(source)
    if iterations > header.iterations:
        raise click.BadParameter(
            f"{display_name(file)} has only {iterations_text(header.iterations)}",
            param_hint="'-n' / '--iterations'",
        )
    if output is not None:
        check_outputs([file], [output], force)  # -o FILE: use --in-place
    target = file if in_place else output
    with atomic_output(target, force=force or in_place) as out:
        size = truncate_to(source, out, iterations)
    report(f"{display_name(file)} → {display_name(target, output=True)}: {iterations_text(iterations)}, {size:,} bytes",
           record={"file": str(file), "output": str(target), "iterations": iterations, "bytes": size}
           if as_json else None, to_stdout=not is_stdio(target))
