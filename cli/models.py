"""``rnc models``: the shipped weights, what they were trained on, and what they measure."""

from __future__ import annotations

import json

import click

__all__ = ["models_command"]


@click.command("models", short_help="List the shipped weights and their measured quality.")
@click.option("--json", "as_json", is_flag=True, help="JSON (one object per weights) instead of a table.")
def models_command(as_json: bool) -> None:
    """List the shipped weights: name, architecture, file, Kodak metrics measured with them, and the recipe."""
    from rnncodec.weights import describe_shipped

    rows = describe_shipped()
    if as_json:
        for row in rows:
            click.echo(json.dumps(row, sort_keys=True))
        return
    if not rows:
        click.echo("no weights are shipped")
        return
    for row in rows:
        default = " (default)" if row["default"] else " (default of rnc send)" if row["recognition_default"] else ""
        click.echo(f"{row['name']}{default}: {row['architecture']}, {row['file']}, "
                   f"{row['num_params']:,} parameters, sha256 {row['sha256'][:16]}…")
        if row.get("purpose"):
            click.echo(f"  for: {row['purpose']}")
        kodak = row["metrics"].get("kodak")
        if kodak:
            click.echo("  Kodak, per iteration (bpp / PSNR dB / MS-SSIM):")
            for k, (bpp, db, ssim) in enumerate(zip(kodak["bpp"], kodak["psnr"], kodak["ms_ssim"]), 1):
                click.echo(f"    {k:2d}: {bpp:.3f} / {db:.2f} / {ssim:.4f}")
        recipe = row["recipe"]
        click.echo(f"  recipe: {recipe['command']}, {recipe['steps']:,} steps ({recipe['docs']})")
