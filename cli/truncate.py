"""``rnc truncate FILE -n K (-o OUT | --in-place)``: keep the first K iterations, byte for byte."""

from __future__ import annotations

from pathlib import Path

import click

from rnncodec.formats import read_header, truncate_to

from .options import (atomic_output, check_outputs, display_name, force_option, is_stdio, json_option, read_input,
                      report)

__all__ = ["truncate_command"]


@click.command("truncate", short_help="Keep the first K iterations of a file (no re-encoding).")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=True, path_type=Path))
@click.option(
    "-n", "--iterations", type=click.IntRange(min=0), required=True, metavar="K",
    help="Iterations to keep (0 … those in FILE).",
)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    help="Write the result here (- for stdout).",
)
@click.option("--in-place", is_flag=True, help="Replace FILE with the result.")
@force_option
@json_option
def truncate_command(file: Path, iterations: int, output: Path | None, in_place: bool,
                     force: bool, as_json: bool) -> None:
    """Cut FILE to its first K iterations: a smaller, lower-quality but complete .rnc file.

    Chunks are copied, not re-encoded; the result is the file the encoder would have written
    with K iterations.  Exactly one of -o/--output and --in-place is required.
    """
    if (output is None) != in_place:
        raise click.UsageError("give exactly one of -o/--output and --in-place")
    if in_place and is_stdio(file):
        raise click.UsageError("--in-place needs a file, not stdin")
    source = read_input(file)
    header = read_header(source)
    if iterations > header.iterations:
        raise click.BadParameter(
            f"{display_name(file)} has only {header.iterations} iterations",
            param_hint="'-n' / '--iterations'",
        )
    if output is not None:
        check_outputs([file], [output], force)  # -o FILE: use --in-place
    target = file if in_place else output
    with atomic_output(target, force=force or in_place) as out:
        size = truncate_to(source, out, iterations)
    report(f"{display_name(file)} → {display_name(target, output=True)}: {iterations} iterations, {size:,} bytes",
           record={"file": str(file), "output": str(target), "iterations": iterations, "bytes": size}
           if as_json else None, to_stdout=not is_stdio(target))
