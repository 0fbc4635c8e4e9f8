"""``rnc info FILES... [--json]``: describe .rnc files from their chunks (nothing is decoded)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from rnncodec.formats import info

from .options import inputs_argument

__all__ = ["info_command", "format_summary"]


def format_summary(path: Path, summary: dict[str, Any]) -> str:
    """The human-readable table ``rnc info`` prints for one file."""
    s = summary
    bits, grid_h, grid_w = s["code_shape"]
    tiling = f"tiles of {s['tile_size']} px" if s["tile_size"] else "whole image"
    state = " (truncated file)" if s["truncated"] else ""
    rows = [
        ("image", f"{s['width']} x {s['height']} {s['mode']}" + (" + alpha" if s["has_alpha"] else "")),
        ("code", f"{bits} bits x {grid_h} x {grid_w} blocks per iteration, {tiling}"),
        ("coder", s["coder"]),
        ("architecture", s["architecture"]),
        ("weights", f"sha256 {s['weights_sha256']}..."),
        ("iterations", f"{s['iterations']} of {s['iterations_declared']}{state}"),
        ("file", f"{s['file_bytes']} bytes"),
    ]
    if s["metadata"] is not None:
        rows.append(("metadata", json.dumps(s["metadata"], ensure_ascii=False, sort_keys=True)))
    lines = [click.format_filename(path)] + [f"  {name:<13} {value}" for name, value in rows]
    if s["bytes_per_iteration"]:
        lines.append(f"  {'iteration':>9} {'bytes':>9} {'cum. bpp':>9}")
        total, pixels = 0, s["width"] * s["height"]
        for k, size in enumerate(s["bytes_per_iteration"], start=1):
            total += size
            lines.append(f"  {k:>9} {size:>9} {8 * total / pixels:>9.4f}")
    return "\n".join(lines)


@click.command("info", short_help="Describe .rnc files (sizes, iterations, weights).")
@inputs_argument()
@click.option("--json", "as_json", is_flag=True, help="One JSON object per file and line.")
@click.option("--strict", is_flag=True, help="Refuse a truncated file instead of describing it.")
def info_command(inputs: list[Path], as_json: bool, strict: bool) -> None:
    """Describe each .rnc file in FILES (files, folders or glob patterns).

    Every chunk is checksummed but no payload is decoded.  The JSON keys are listed in
    docs/format.md; "iterations" counts the whole iterations present, "truncated" tells a file
    cut short (lenient reading; --strict refuses it instead).
    """
    for number, path in enumerate(inputs):
        summary = info(path, strict=strict)
        if as_json:
            click.echo(json.dumps({"file": str(path), **summary}, sort_keys=True))
        else:
            click.echo(("\n" if number else "") + format_summary(path, summary))
