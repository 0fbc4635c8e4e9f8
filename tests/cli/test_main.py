"""The rnc group: lazy commands, version, verbosity, error handling and exit codes."""

from __future__ import annotations

import logging
import subprocess
import sys

import click
import pytest

from rnncodec import __version__
from rnncodec.cli.main import COMMANDS, LazyGroup, cli, describe_error
from rnncodec.formats import CorruptChunkError


def test_version(runner):
    result = runner.invoke(cli, ["--version"])
    assert result.exit_code == 0 and result.output == f"rnc, version {__version__}\n"


def test_help_lists_every_command(runner):
    result = runner.invoke(cli, ["--help"])
    assert result.exit_code == 0
    for name in COMMANDS:
        assert f"  {name} " in result.output


def test_unknown_command_is_a_usage_error(runner):
    result = runner.invoke(cli, ["frobnicate"])
    assert result.exit_code == 2 and "No such command 'frobnicate'" in result.output


def test_commands_are_imported_only_when_used(tmp_path):
    code = ("import sys\nfrom rnncodec.cli.main import cli\n"
            "cli.main(['--version'], standalone_mode=False)\n"
            "print(sorted(m for m in sys.modules if m.startswith('rnncodec.cli.')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert done.stdout.splitlines()[-1] == "['rnncodec.cli.main']"


def _group_with(command: click.Command) -> LazyGroup:
    group = LazyGroup(name="t", lazy_commands={})
    group.add_command(command)
    return group


@pytest.mark.parametrize(
    "error, message",
    [
        (CorruptChunkError("bad CRC", chunk_type=b"RITR", offset=1234, index=2),
         "Error: broken RNC file: bad CRC in chunk RITR #2 at byte 1234\n"),
        (FileNotFoundError(2, "No such file or directory", "gone.rnc"),
         "Error: gone.rnc: No such file or directory\n"),
        (PermissionError(13, "Permission denied"), "Error: Permission denied\n"),
    ],
)
def test_project_and_os_errors_are_one_line_exit_1(runner, error, message):
    @click.command("boom")
    def boom():
        raise error

    result = runner.invoke(_group_with(boom), ["boom"])
    assert result.exit_code == 1 and result.output == message
    assert "Traceback" not in result.output


def test_other_errors_are_bugs_and_propagate(runner):
    @click.command("bug")
    def bug():
        raise KeyError("bug")

    result = runner.invoke(_group_with(bug), ["bug"])
    assert isinstance(result.exception, KeyError)


def test_a_lazy_target_must_be_a_command():
    group = LazyGroup(name="t", lazy_commands={"x": "rnncodec.cli.main:describe_error"})
    with pytest.raises(TypeError, match="is not a click command"):
        group.get_command(click.Context(group), "x")


def test_describe_error_flattens_lines():
    assert describe_error(ValueError("two\nlines")) == "two lines"


@pytest.mark.parametrize("flags, level", [([], logging.WARNING), (["-v"], logging.INFO),
                                          (["-vv"], logging.DEBUG), (["-q"], logging.ERROR)])
def test_verbosity_sets_the_log_level(runner, rnc_path, flags, level):
    logger = logging.getLogger("rnncodec")
    try:
        result = runner.invoke(cli, [*flags, "info", str(rnc_path)])
        assert result.exit_code == 0
        assert logger.level == level
    finally:
        logger.setLevel(logging.NOTSET)
