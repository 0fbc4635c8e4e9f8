"""What the ``rnc`` commands share: their common options (the one place they are defined, with
limits, choices and defaults read from the library), input expansion, the overwrite policy and
atomic writes.  Importing this module stays cheap (no torch, no numpy).

Weights: ``--codec-weights`` always names the codec's weights, ``--weights`` a recognizer's
(``rnc encode``/``decode`` still take ``--weights`` for the codec's, hidden, with a deprecation
line, for one release).

Overwriting policy: an output that already exists is refused (exit status 1, "Error: … exists;
use --force to overwrite") unless ``--force`` is given; an output that is one of the command's
inputs, or that two inputs would both write, is refused before anything is written, ``--force``
or not (exit status 2).  Outputs are written to a temporary file in the same folder and renamed
over the target only when complete, so a failed or interrupted command never leaves a partial
output behind; stale temporary files of ours (a killed command's) are removed when the output
next to them is written.

Pipes: the path ``-`` (:data:`STDIO`) is standard input as an input and standard output as an
output (never a terminal: binary data there is refused).  Reports then go to stderr.
"""

from __future__ import annotations

import glob
import json
import os
import re
import secrets
import shutil
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterable, Iterator, Sequence, TypeVar

import click

from rnncodec.choices import BACKENDS, MAX_ITERATIONS, PRECISIONS, RECOGNITION_WEIGHTS

__all__ = [
    "STDIO",
    "OutputExistsError",
    "is_stdio",
    "display_name",
    "read_input",
    "report",
    "json_option",
    "force_option",
    "inputs_argument",
    "expand_inputs",
    "check_output",
    "check_outputs",
    "atomic_output",
    "IMAGE_SUFFIXES",
    "ITERATIONS",
    "stacked",
    "threads_option",
    "backend_option",
    "file_progress",
    "show_progress",
    "ray_options",
    "ray_target",
    "codec_weights_option",
    "recognition_codec_weights_option",
    "deprecated_weights_alias",
    "recognizer_options",
    "no_download_option",
    "device_option",
    "precision_option",
    "STALE_TEMP_S",
]

T = TypeVar("T")

#: Suffixes of image files that folder inputs expand to.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".gif")

#: The iterations the codec codes: 1 … :data:`rnncodec.choices.MAX_ITERATIONS`.
ITERATIONS = click.IntRange(1, MAX_ITERATIONS)

#: A temporary output file of ours untouched this long is a killed command's: removed when its
#: output is next written.  Ours exist only while an output's bytes are written (seconds).
STALE_TEMP_S = 60


_GLOB_CHARS = frozenset("*?[")

#: ``--force``: allow replacing existing outputs.
force_option = click.option(
    "--force", is_flag=True, help="Overwrite output files that already exist."
)


#: The path that stands for standard input (as an input) or standard output (as an output).
STDIO = "-"

#: ``--json``: one JSON object per file on stdout instead of the text lines.
json_option = click.option("--json", "as_json", is_flag=True,
                           help="Print one JSON object per file and line (schema: docs/cli.md).")


def is_stdio(path: str | os.PathLike | None) -> bool:
    """Whether ``path`` is ``-`` (stdin or stdout)."""
    return path is not None and os.fspath(path) == STDIO


def display_name(path: str | os.PathLike, *, output: bool = False) -> str:
    """``path`` as messages show it: ``<stdin>``/``<stdout>`` for ``-``."""
    if is_stdio(path):
        return "<stdout>" if output else "<stdin>"
    return click.format_filename(path)


def iterations_text(count: int) -> str:
    """``1 iteration``, ``3 iterations``: a count of iterations as messages say it."""
    return f"{count} iteration{'' if count == 1 else 's'}"


def read_input(path: Path) -> bytes | Path:
    """What the library reads for input ``path``: the bytes of stdin for ``-``, else the path."""
    return sys.stdin.buffer.read() if is_stdio(path) else path


def report(line: str | None = None, *, record: dict | None = None, to_stdout: bool = True) -> None:
    """Print a command's result: ``record`` as one JSON line when given, else ``line`` unless
    ``rnc -q``.  ``to_stdout=False`` (stdout carries data) sends it to stderr."""
    if record is not None:
        click.echo(json.dumps(record, ensure_ascii=False, sort_keys=True), err=not to_stdout)
        return
    ctx = click.get_current_context(silent=True)
    quiet = bool(ctx and ctx.find_root().params.get("quiet"))
    if line is not None and not quiet:
        click.echo(line, err=not to_stdout)


class OutputExistsError(click.ClickException):
    """An output file exists and ``--force`` was not given (exit status 1)."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"{click.format_filename(path)} exists; use --force to overwrite it")


def expand_inputs(patterns: Iterable[str], *, suffixes: Iterable[str] = (".rnc",)) -> list[Path]:
    """Paths named by ``patterns``, in order, without repeats.

    A file is taken as it is (whatever its suffix); a directory gives the files directly in it
    whose suffix is in ``suffixes`` (sorted); a pattern with ``*``, ``?`` or ``[`` that is not an
    existing path is a glob (``**`` recurses) giving the files it matches (sorted).

    Raises:
        click.BadParameter: a path that does not exist, or a glob or directory with no files.
    """
    suffixes = {s.lower() for s in suffixes}
    found: dict[Path, None] = {}
    for pattern in patterns:
        path = Path(pattern)
        if pattern == STDIO:
            matches, what = [path], ""
        elif path.is_dir():
            matches = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in suffixes)
            what = f"folder {pattern!r} has no {'/'.join(sorted(suffixes))} files"
        elif path.exists():
            matches, what = [path], ""
        elif _GLOB_CHARS & set(pattern):
            matches = sorted(Path(p) for p in glob.glob(pattern, recursive=True) if Path(p).is_file())
            what = f"{pattern!r} matches no files"
        else:
            matches, what = [], f"{pattern!r}: no such file or folder"
        if not matches:
            raise click.BadParameter(what)
        found.update(dict.fromkeys(matches))
    return list(found)


def inputs_argument(*, suffixes: Iterable[str] = (".rnc",)):
    """A ``FILES...`` argument (one or more) expanded by :func:`expand_inputs` to ``list[Path]``."""
    suffixes = tuple(suffixes)
    return click.argument(
        "inputs",
        nargs=-1,
        required=True,
        metavar="FILES...",
        callback=lambda ctx, param, value: expand_inputs(value, suffixes=suffixes),
    )


def check_output(path: Path, force: bool) -> None:
    """Refuse an existing ``path`` unless ``force`` (:class:`OutputExistsError`)."""
    if not force and not is_stdio(path) and os.path.lexists(path):
        raise OutputExistsError(path)


def _same_file_key(path: Path) -> str:
    return os.path.normcase(os.path.realpath(path))


def check_outputs(inputs: Sequence[Path], targets: Sequence[Path], force: bool) -> None:
    """Check every output of a batch before anything is written.

    Raises:
        click.UsageError: an output is one of the inputs (refused even with ``force``), or two
            inputs would write the same output (listed).
        OutputExistsError: an output exists and ``force`` is false.
    """
    sources = {_same_file_key(src) for src in inputs if not is_stdio(src)}
    written: dict[str, list[Path]] = {}
    for src, target in zip(inputs, targets):
        if is_stdio(target):  # stdout: one input only, nothing on disk to clash with
            continue
        key = _same_file_key(target)
        if key in sources or any(os.path.exists(target) and not is_stdio(other) and os.path.samefile(target, other)
                                 for other in inputs):
            raise click.UsageError(f"{click.format_filename(target)} is an input; refusing to write over it "
                                   "(even with --force): choose another -o/--out-dir")
        written.setdefault(key, []).append(src)
    clashes = {key: srcs for key, srcs in written.items() if len(srcs) > 1}
    if clashes:
        listed = "; ".join(f"{click.format_filename(key)} ← {', '.join(click.format_filename(s) for s in srcs)}"
                           for key, srcs in clashes.items())
        raise click.UsageError(f"inputs would write the same output (nothing written): {listed}")
    for target in targets:
        check_output(target, force)


def remove_stale_temps(path: Path) -> None:
    """Remove our temporary files for ``path`` (``.<name>.<16 hex>.tmp``) older than :data:`STALE_TEMP_S`."""
    pattern = re.compile(rf"\.{re.escape(path.name)}\.[0-9a-f]{{16}}\.tmp")
    cutoff = time.time() - STALE_TEMP_S
    for candidate in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        try:
            if pattern.fullmatch(candidate.name) and candidate.lstat().st_mtime < cutoff:
                candidate.unlink()
        except OSError:  # gone meanwhile, or not ours to remove
            pass


@contextmanager
def atomic_output(path: str | os.PathLike, *, force: bool = False) -> Iterator[BinaryIO]:
    """Write ``path`` atomically: yield a binary file; the target appears only if the block ends.

    The data goes to a hidden temporary file in the target's folder, which is flushed, synced
    and renamed over the target (``os.replace``) when the block exits normally, and removed
    when it raises.  A replaced file keeps its permission bits; a new one gets the umask's.
    ``-`` yields standard output (refused when it is a terminal).  Errors name the target,
    never the temporary file.

    Raises:
        OutputExistsError: the target exists and ``force`` is false (checked before and after).
        click.FileError: the target's folder does not exist, or stdout is a terminal.
        OSError: the target cannot be written (its ``filename`` is the target).
    """
    if is_stdio(path):
        if sys.stdout.isatty():
            raise click.FileError("-", hint="standard output is a terminal; redirect it to a file or a pipe")
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    path = Path(path)
    check_output(path, force)
    if not path.parent.is_dir():
        raise click.FileError(str(path), hint="its folder does not exist")
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    except OSError as exc:
        raise type(exc)(exc.errno, exc.strerror, str(path)) from None
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        check_output(path, force)
        if path.exists():
            shutil.copymode(path, tmp)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        if str(exc.filename) != str(tmp):
            raise
        raise type(exc)(exc.errno, exc.strerror, str(path)) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    remove_stale_temps(path)


def stacked(decorators: list[Callable]) -> Callable:
    """One decorator applying ``decorators`` as if written top to bottom above a function."""

    def decorate(function: Callable) -> Callable:
        for decorator in reversed(decorators):
            function = decorator(function)
        return function

    return decorate


#: ``--ray`` / ``--ray-address``: code a data set's photos on Ray Data (``rnc eval``, ``rnc finetune``);
#: :func:`ray_target` turns their values into ``build_decoded_cache``'s ``ray``.
ray_options = stacked([
    click.option("--ray", "use_ray", is_flag=True,
                 help="Code the photos (the decoded-image cache) on Ray Data, on a local Ray instance "
                      "(pip install 'rnncodec[ray]')."),
    click.option("--ray-address", default=None, metavar="ADDR",
                 help="Code them on the Ray cluster at ADDR ('auto', 'host:6379', 'ray://host:10001'); "
                      "implies --ray.  The photos must be readable at the same paths on every worker."),
])


#: ``--shorter-side`` / ``--longer-side`` / ``--downscale-to-fit``: code an image smaller (``rnc encode``,
#: ``rnc send``); :func:`check_downscale` checks how they go together.
downscale_options = stacked([
    click.option("--shorter-side", type=click.IntRange(min=1), metavar="PX",
                 help="Code the image downscaled (never enlarged) so that its shorter side is at most PX "
                      "pixels: fewer pixels, fewer bytes an iteration. Its size before is kept in the file. "
                      "For recognition, the full size with fewer iterations measured better at equal bytes."),
    click.option("--longer-side", type=click.IntRange(min=1), metavar="PX",
                 help="As --shorter-side, for the longer side."),
    click.option("--downscale-to-fit", is_flag=True,
                 help="With --max-bytes below the 1-iteration file: code the image downscaled, at the largest "
                      "size whose file fits (measured, never over)."),
])


def check_downscale(shorter_side: int | None, longer_side: int | None, downscale_to_fit: bool,
                    max_bytes: int | None, allow_larger: bool = False) -> None:
    """Usage errors of :data:`downscale_options`' combinations."""
    if shorter_side is not None and longer_side is not None:
        raise click.UsageError("give --shorter-side or --longer-side, not both")
    if downscale_to_fit and (max_bytes is None or allow_larger):
        raise click.UsageError("--downscale-to-fit goes with --max-bytes, not with --allow-larger")


def ray_target(use_ray: bool, address: str | None) -> str | None:
    """``build_decoded_cache``'s ``ray``: None (this process), ``"local"`` or the cluster's address."""
    return address or ("local" if use_ray else None)


def show_progress() -> bool:
    """Whether to draw progress bars: stderr is a terminal and ``$RNC_NO_PROGRESS`` is not set."""
    return sys.stderr.isatty() and not os.environ.get("RNC_NO_PROGRESS")


def file_progress(items: Sequence[T], label: str) -> Iterable[T]:
    """A progress bar (click's) over ``items`` on stderr when there is more than one and stderr is a terminal."""
    if len(items) < 2 or not show_progress():
        return items
    return _progress_bar(items, label)


def _progress_bar(items: Sequence[T], label: str) -> Iterator[T]:
    with click.progressbar(items, label=label, file=sys.stderr, show_pos=True) as bar:
        yield from bar


def _set_threads(ctx: click.Context, param: click.Parameter, value: int | None) -> int | None:
    from rnncodec.backends import set_threads

    set_threads(value)
    return value


#: ``--threads N``: CPU threads of the network, either backend (results are deterministic for a given count).
threads_option = click.option(
    "--threads", type=click.IntRange(min=1), default=None, callback=_set_threads, expose_value=True,
    help="CPU threads for the network (default: one per core).")

#: ``--backend auto|torch|onnx``: what runs the codec's network (rnncodec.backends); every backend
#: reads and writes the same files.
backend_option = click.option(
    "--backend", type=click.Choice(BACKENDS), envvar="RNC_BACKEND", show_envvar=True, default=BACKENDS[0],
    show_default=True,
    help="What runs the network: torch (bfloat16 where the CPU has it), onnx (ONNX Runtime, float32; "
         "no torch needed), or auto: torch when it is installed, else onnx.")

_ALIAS_KEY = "rnc.codec_weights_alias"


def _codec_weights(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """``--codec-weights``, else what the deprecated ``--weights`` of encode/decode gave (click handles
    the options given on the command line before those left at their default)."""
    return value if value is not None else ctx.meta.get(_ALIAS_KEY)


def _deprecated_weights(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is not None:
        report(f"Warning: 'rnc {ctx.info_name} --weights' is deprecated: use --codec-weights "
               "(--weights names a recognizer's weights).", to_stdout=False)
        ctx.meta[_ALIAS_KEY] = value


def _codec_weights_option(encoding_default: str) -> Callable:
    return click.option(
        "--codec-weights", metavar="NAME|FILE", default=None, callback=_codec_weights,
        help="Codec weights: a shipped name (see 'rnc models') or a weights file. Default: for a .rnc file, "
             f"the shipped weights it names; for encoding, {encoding_default}.")


#: ``--codec-weights NAME|FILE``: the codec's weights, in every command that runs the codec.
codec_weights_option = _codec_weights_option("the shipped default")
#: ``--codec-weights`` of a command that encodes for a recognizer (``rnc send``): the recognition weights.
recognition_codec_weights_option = _codec_weights_option(
    f"{RECOGNITION_WEIGHTS}, the shipped weights for recognition on a server")

#: The old spelling of ``--codec-weights`` in ``rnc encode``/``decode``: hidden, warns, one release.
deprecated_weights_alias = click.option("--weights", hidden=True, expose_value=False, callback=_deprecated_weights,
                                        metavar="NAME|FILE")

#: How recognizers are loaded and run (``rnc classify``/``detect``/``eval``/``serve``).
no_download_option = click.option("--no-download", is_flag=True,
                                  help="Never download weights (also: environment variable RNC_OFFLINE=1).")
device_option = click.option("--device", default="cpu", show_default=True, help="Torch device: cpu, cuda, cuda:1, …")
precision_option = click.option(
    "--precision", type=click.Choice(PRECISIONS), default=PRECISIONS[0], show_default=True,
    help="auto: bfloat16 where the CPU has native support and it pays off.")


def recognizer_options(default: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The options that pick and load a recognizer (``default``: the ``--recognizer`` default)."""
    return stacked([
        click.option("--recognizer", default=default, show_default=True, metavar="NAME",
                     help="Recognizer (see 'rnc recognizers'); third parties add theirs via the "
                          "'rnncodec.recognizers' entry point."),
        click.option("--weights", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
                     help="Local state dict for the recognizer (e.g. fine-tuned on decoded images). "
                          "Default: torchvision's DEFAULT weights from the torch hub cache."),
        no_download_option,
        device_option,
        precision_option,
        click.option("--batch-size", type=click.IntRange(min=1), default=None,
                     help="Images per forward pass (default: the recognizer's)."),
        codec_weights_option,
        threads_option,
    ])
