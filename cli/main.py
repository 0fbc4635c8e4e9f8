"""The ``rnc`` command group.

Subcommands are listed in :data:`COMMANDS` as ``"name": "module:attribute"`` and imported only
when they run (or when ``rnc --help`` lists them), so ``rnc info`` never pays for torch.  To add
a command, write ``cli/<name>.py`` with a ``@click.command("<name>")`` function ``<name>_command``
and add one line to :data:`COMMANDS`.  Keep heavy imports (torch, torchvision) inside the command
function so that ``rnc --help`` stays fast too.

Exit status: 0 success; 1 a bad or unreadable file, an I/O error, a refused overwrite, or a
command that needs what the light install lacks (torch: "pip install 'rnncodec[torch]'") — one
line ``Error: …`` on stderr, no traceback; ``-vv`` logs the traceback; 2 a usage error; 141
(128 + SIGPIPE, as Unix tools) when the reader of stdout went away (``rnc info … | head -1``),
without a message.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
from typing import Any, Mapping

import click

from rnncodec import __version__
from rnncodec.formats.errors import RNCError

__all__ = ["cli", "COMMANDS", "LazyGroup", "describe_error", "describe_file_error", "EXIT_BROKEN_PIPE",
           "TORCH_EXTRA_MODULES"]

#: Exit status when stdout's reader has gone (128 + SIGPIPE, what a shell shows for ``cat``).
EXIT_BROKEN_PIPE = 141

log = logging.getLogger("rnncodec.cli")

#: Subcommand name → ``"module:attribute"`` of its :class:`click.Command`.
COMMANDS: dict[str, str] = {
    "info": "rnncodec.cli.info:info_command",
    "truncate": "rnncodec.cli.truncate:truncate_command",
    "encode": "rnncodec.cli.encode:encode_command",
    "decode": "rnncodec.cli.decode:decode_command",
    "models": "rnncodec.cli.models:models_command",
    "train": "rnncodec.cli.train:train_command",
    "classify": "rnncodec.cli.classify:classify_command",
    "detect": "rnncodec.cli.detect:detect_command",
    "recognizers": "rnncodec.cli.recognizers:recognizers_command",
    "eval": "rnncodec.cli.eval:eval_command",
    "finetune": "rnncodec.cli.finetune:finetune_command",
    "serve": "rnncodec.cli.serve:serve_command",
    "send": "rnncodec.cli.send:send_command",
}


#: Top-level modules of the ``[torch]`` extra: a command that misses one says how to install it.
TORCH_EXTRA_MODULES = frozenset({"torch", "torchvision", "pytorch_msssim", "fastapi", "uvicorn", "starlette"})


def describe_error(exc: BaseException) -> str:
    """A one-line message for an error shown to a user."""
    if isinstance(exc, OSError) and exc.strerror:
        return f"{click.format_filename(exc.filename)}: {exc.strerror}" if exc.filename else exc.strerror
    return " ".join(str(exc).split()) or type(exc).__name__


def describe_file_error(path: str | os.PathLike, exc: BaseException) -> str:
    """``FILE: what went wrong`` — the file named once, even when the error names it too."""
    name = "<stdin>" if os.fspath(path) == "-" else click.format_filename(path)
    if isinstance(exc, OSError) and exc.strerror and exc.filename is not None:
        return describe_error(exc)
    message = describe_error(exc)
    for prefix in {f"{name}: ", f"{os.path.basename(os.fspath(path))}: "}:
        if message.startswith(prefix):
            message = message[len(prefix):]
    return f"{name}: {message}"


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's last flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # no real stdout (a test runner's buffer)
        pass


class LazyGroup(click.Group):
    """A :class:`click.Group` that imports its subcommands on first use.

    Args:
        lazy_commands: subcommand name → ``"module:attribute"`` of the command object.

    Errors of the project (:class:`RNCError`) and :class:`OSError` raised by a subcommand become
    ``Error: <one line>`` and exit status 1.
    """

    def __init__(self, *args: Any, lazy_commands: Mapping[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands = dict(lazy_commands)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy_commands and cmd_name not in self.commands:
            module_name, _, attribute = self.lazy_commands[cmd_name].partition(":")
            command = getattr(importlib.import_module(module_name), attribute)
            if not isinstance(command, click.Command):
                raise TypeError(f"{self.lazy_commands[cmd_name]} is not a click command")
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            try:
                return super().invoke(ctx)
            finally:
                sys.stdout.flush()  # a reader that left shows here, not at the interpreter's exit
        except BrokenPipeError:
            _silence_stdout()
            raise SystemExit(EXIT_BROKEN_PIPE) from None
        except ModuleNotFoundError as exc:
            if (exc.name or "").partition(".")[0] not in TORCH_EXTRA_MODULES:
                raise
            log.debug("command failed", exc_info=True)
            raise click.ClickException(f"rnc {ctx.invoked_subcommand} needs {exc.name}, which is not installed: "
                                       "pip install 'rnncodec[torch]'") from exc
        except (RNCError, OSError) as exc:
            log.debug("command failed", exc_info=True)
            raise click.ClickException(describe_error(exc)) from exc


def _configure_logging(verbose: int, quiet: int) -> None:
    """WARNING by default; each -v one level more detail, each -q one level less."""
    level = min(max(logging.WARNING + 10 * (quiet - verbose), logging.DEBUG), logging.CRITICAL)
    logging.basicConfig(format="%(levelname)s: %(message)s")
    logging.getLogger("rnncodec").setLevel(level)


@click.group(
    cls=LazyGroup,
    lazy_commands=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, "--version", prog_name="rnc")
@click.option("-v", "--verbose", count=True, help="More messages (-vv: debug, with tracebacks).")
@click.option("-q", "--quiet", count=True, help="Fewer messages (-q: errors only).")
def cli(verbose: int, quiet: int) -> None:
    """rnc: a progressive neural image codec and its .rnc files."""
    _configure_logging(verbose, quiet)
