"""``rnc info FILES... [--json]``: describe .rnc files from their chunks (nothing is decoded)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from rnncodec.formats import info, metadata_source_size
from rnncodec.formats.errors import RNCError
from rnncodec.weights import RNCWeights

from .main import describe_file_error
from .options import display_name, inputs_argument, read_input, report

__all__ = ["info_command", "format_summary"]


def format_summary(path: Path, summary: dict[str, Any]) -> str:
    """The human-readable table ``rnc info`` prints for one file."""
    s = summary
    bits, grid_h, grid_w = s["code_shape"]
    tiling = f"tiles of {s['tile_size']} px" if s["tile_size"] else "whole image"
    state = " (truncated file)" if s["truncated"] else ""
    source = metadata_source_size(s["metadata"])
    downscaled = f", downscaled from {source[0]} x {source[1]}" if source else ""
    rows = [
        ("image", f"{s['width']} x {s['height']} {s['mode']}" + (" + alpha" if s["has_alpha"] else "") + downscaled),
        ("code", f"{grid_w} x {grid_h} blocks of {bits} bits per iteration, {tiling}"),
        ("coder", s["coder"]),
        ("architecture", s["architecture"]),
        ("weights", _weights_text(s["weights_sha256"])),
        ("iterations", f"{s['iterations']} of {s['iterations_declared']}{state}"),
        ("file", f"{s['file_bytes']:,} bytes"),
    ]
    if s["metadata"] is not None:
        rows.append(("metadata", json.dumps(s["metadata"], ensure_ascii=False, sort_keys=True)))
    lines = [display_name(path)] + [f"  {name:<13} {value}" for name, value in rows]
    if s["bytes_per_iteration"]:
        active = s.get("active_blocks")  # files whose blocks stop (coder adaptive)
        lines.append(f"  {'iteration':>9} {'bytes':>9} {'cum. bpp':>9}" + (f" {'active blocks':>13}" if active else ""))
        total, pixels = 0, s["width"] * s["height"]
        for k, size in enumerate(s["bytes_per_iteration"], start=1):
            total += size
            blocks = f" {active[k - 1]:>13}" if active else ""
            lines.append(f"  {k:>9} {size:>9,} {8 * total / pixels:>9.4f}{blocks}")
    return "\n".join(lines)


def _weights_text(sha256_prefix: str) -> str:
    """``GRU_S_V4 (sha256 cc7e79a7…)`` for shipped weights, else the stored digest alone: what decodes the file."""
    shipped = RNCWeights.for_id(bytes.fromhex(sha256_prefix))
    digest = f"sha256 {sha256_prefix}..."
    return f"{shipped.name} ({digest})" if shipped else f"{digest} (not shipped: decode with --codec-weights FILE)"


@click.command("info", short_help="Describe .rnc files (sizes, iterations, weights).")
@inputs_argument()
@click.option("--json", "as_json", is_flag=True, help="One JSON object per file and line (keys: docs/format.md).")
@click.option("--strict", is_flag=True, help="Refuse a truncated file instead of describing it.")
def info_command(inputs: list[Path], as_json: bool, strict: bool) -> None:
    """Describe each .rnc file in FILES (files, folders or glob patterns; - reads stdin).

    Every chunk is checksummed but no payload is decoded.  The JSON keys are listed in
    docs/format.md; "iterations" counts the whole iterations present, "truncated" tells a file
    cut short (lenient reading; --strict refuses it instead).  A file that cannot be read is
    reported (with --json, as {"file", "error"}) and the others are still described; the exit
    status is then 1.
    """
    failures = 0
    for number, path in enumerate(inputs):
        try:
            summary = info(read_input(path), strict=strict)
        except (RNCError, OSError) as exc:
            failures += 1
            message = describe_file_error(path, exc)
            click.echo(f"Error: {message}", err=True)
            if as_json:
                report(record={"file": str(path), "error": message})
            continue
        if as_json:
            report(record={"file": str(path), **summary})
        else:
            click.echo(("\n" if number else "") + format_summary(path, summary))
    if failures:
        raise SystemExit(1)
