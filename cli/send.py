"""``rnc send IMG|FILE.rnc --server URL``: have ``rnc serve`` recognise a file; show what it cost.

Thin glue over :class:`rnncodec.edge.client.EdgeClient`; importing this module stays cheap.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import click

from rnncodec.edge.protocol import TASKS

from .options import ITERATIONS, check_downscale, downscale_options, iterations_text, recognition_codec_weights_option
from .recognize import describe_result

if TYPE_CHECKING:
    from rnncodec.edge.client import Answer

__all__ = ["send_command", "describe_answer"]


@click.command("send", short_help="Send an image or .rnc file to rnc serve: answer, bytes sent.")
@click.argument("source", metavar="IMG|FILE.rnc", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--server", required=True, envvar="RNC_SERVER", metavar="URL",
              help="The server, e.g. http://127.0.0.1:8000 (also: RNC_SERVER).")
@click.option("--task", type=click.Choice(list(TASKS)), default="classify", show_default=True)
@click.option("-n", "--iterations", type=ITERATIONS, default=None,
              help="Iterations: an image is encoded with N (default 2; progressive: 8), a .rnc file is cut to N "
                   "(default: all).")
@click.option("--progressive", is_flag=True,
              help="Stream one iteration at a time; the server answers after each and says when to stop.")
@click.option("--stop-at-confidence", type=click.FloatRange(0, 1), default=None, metavar="P",
              help="Progressive: stop once the answer's confidence reaches P (default: the server's). Implies "
                   "--progressive.")
@click.option("--max-bytes", type=click.IntRange(min=1), metavar="N",
              help="Encode an image to the largest file of at most N bytes (-n: the most iterations; see "
                   "rnc encode --max-bytes).")
@downscale_options
@click.option("--original", is_flag=True, help="Send the image itself, not encoded (a baseline).")
@recognition_codec_weights_option
@click.option("--top-k", type=click.IntRange(min=1), default=None, help="classify: classes to report.")
@click.option("--threshold", type=click.FloatRange(0, 1), default=None, help="detect: lowest score kept.")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=60.0, show_default=True,
              help="Seconds to wait for the server.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object: the record, the bytes sent and what the "
                                                        "file and the original would have cost.")
def send_command(source: Path, server: str, task: str, iterations: Optional[int], progressive: bool,
                 stop_at_confidence: Optional[float], max_bytes: Optional[int], shorter_side: Optional[int],
                 longer_side: Optional[int], downscale_to_fit: bool, original: bool, codec_weights: Optional[str],
                 top_k: Optional[int], threshold: Optional[float], timeout: float, as_json: bool) -> None:
    """Send IMG (encoded first) or FILE.rnc to an 'rnc serve' server; print its answer and the
    bytes actually sent, next to what the whole .rnc file and the original image would cost.

    \b
    Examples:
      rnc send photo.png --server http://127.0.0.1:8000 --codec-weights tiny.pt
      rnc send photo.rnc --server $URL --stop-at-confidence 0.9   # bytes on demand
      rnc send street.rnc --server $URL --task detect -n 3
      rnc send photo.png --server $URL --original                 # the baseline
      rnc send big.jpg --server $URL --max-bytes 4000 --downscale-to-fit   # a byte budget

    An image is encoded first (-n, --max-bytes and the downscaling options as for rnc encode),
    with the shipped weights for recognition unless --codec-weights names others; they do not
    apply to a .rnc file, which is sent as it is (cut to -n).
    """
    from rnncodec.edge.client import EdgeClient
    from rnncodec.edge.errors import ServerError
    from rnncodec.choices import RECOGNITION_WEIGHTS

    if original and (progressive or stop_at_confidence is not None):
        raise click.UsageError("--original sends the image as it is; it cannot be streamed progressively")
    check_downscale(shorter_side, longer_side, downscale_to_fit, max_bytes)
    encoding = {"max_bytes": max_bytes, "shorter_side": shorter_side, "longer_side": longer_side,
                "downscale_to_fit": downscale_to_fit}
    try:
        with EdgeClient(server, timeout=timeout, codec_weights=codec_weights, encode_options=encoding) as client:
            answer = client.send(source, task, progressive=progressive, stop_at_confidence=stop_at_confidence,
                                 iterations=iterations, original=original, top_k=top_k, threshold=threshold)
    except ServerError as error:
        if error.code == "weights_mismatch" and codec_weights is None and not _is_rnc(source):
            raise click.ClickException(f"{error}; this server decodes other weights than {RECOGNITION_WEIGHTS}, "
                                       "which rnc send encodes with unless told: name its weights with "
                                       "--codec-weights") from None
        raise
    if as_json:
        click.echo(json.dumps({"server": server, "bytes_sent": answer.bytes_sent,
                               "file_bytes": answer.payload.file_bytes,
                               "original_bytes": answer.payload.original_bytes, "stopped": answer.reason,
                               "record": answer.record}, ensure_ascii=False))
    else:
        click.echo(describe_answer(answer))


def _is_rnc(path: Path) -> bool:
    from rnncodec.formats import spec
    from rnncodec.recognition.inputs import is_rnc

    with open(path, "rb") as file:
        return is_rnc(file.read(len(spec.SIGNATURE)))


def describe_answer(answer: "Answer") -> str:
    """The readable lines: the answer (after each iteration, for a stream) and the bytes sent."""
    from rnncodec.edge.client import result_from_record

    record, payload = answer.record, answer.payload
    name = click.format_filename(payload.name)
    if answer.reason is None:
        amount = f"{record['iterations']}/{record['iterations_in_file']} it" if record["iterations"] else "image"
        lines = [f"{name}  {amount}  {describe_result(answer.result)}"]
    else:
        lines = [f"{name}  streamed, {iterations_text(record['iterations_in_file'])} in the file"]
        for step in answer.steps:
            result = result_from_record({**step, "task": record["task"]})
            lines.append(f"  {step['iterations']:>2} it  {step['bytes_read']:>9,} B  {describe_result(result)}")
        if answer.reason == "confident":
            lines.append(f"  stopped at iteration {record['iterations']}: confidence {record['confidence']:.3f}")
        elif record.get("target_reached") is False:
            lines.append(f"  confidence target not reached in {iterations_text(record['iterations'])}")
    costs = [f"sent {answer.bytes_sent:,} bytes"]
    if payload.kind == "rnc" and answer.bytes_sent < payload.file_bytes:
        costs.append(f"{100 * answer.bytes_sent / payload.file_bytes:.0f}% of the whole .rnc file "
                     f"({payload.file_bytes:,} bytes)")
    if payload.original_bytes and payload.kind == "rnc":
        costs.append(f"1/{payload.original_bytes / answer.bytes_sent:.1f} of the original image "
                     f"({payload.original_bytes:,} bytes)")
    lines.append(", ".join(costs))
    return "\n".join(lines)
