"""``rnc recognizers``: the installed recognizers (entry-point group ``rnncodec.recognizers``)."""

from __future__ import annotations

import json

import click

__all__ = ["recognizers_command"]


@click.command("recognizers", short_help="List the recognizers classify/detect can use.")
@click.option("--json", "as_json", is_flag=True, help="JSON (one object per recognizer) instead of a table.")
def recognizers_command(as_json: bool) -> None:
    """List the installed recognizers: name, task, what they recognise, and where they come from.

    Recognizers are entry points in the group 'rnncodec.recognizers': rnncodec's own (resnet50,
    mobilenet-ssd) and those of any installed distribution that declares one.
    """
    from rnncodec.recognition import describe_recognizers

    rows = describe_recognizers()
    if as_json:
        for row in rows:
            click.echo(json.dumps(row, sort_keys=True))
        return
    width = max((len(row["name"]) for row in rows), default=0)
    for row in rows:
        if "error" in row:
            click.echo(f"{row['name']:<{width}}  (cannot load: {row['error']})")
            continue
        origin = f" [{row['distribution']}]" if row["distribution"] != "rnncodec" else ""
        click.echo(f"{row['name']:<{width}}  {row['task']:<14}  {row['summary']}{origin}")
