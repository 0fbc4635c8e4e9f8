"""rnc as a Unix filter and for programs: ``-`` for stdin/stdout, broken pipes, ``-q``, ``--json``,
errors that name their file once, ``info`` past bad files, ``decode -n`` beyond a file, ``--quality``."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from rnncodec import formats
from rnncodec.cli.main import EXIT_BROKEN_PIPE, cli

RNC = [sys.executable, "-m", "rnncodec.cli"]


@pytest.fixture
def png(tmp_path, photo):
    path = tmp_path / "a.png"
    Image.fromarray(photo).save(path)
    return path


def _run(args, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(RNC + [str(a) for a in args], capture_output=True, timeout=120, **kwargs)


def test_encode_and_decode_as_a_pipe(png, tmp_path, weights_file, codec):
    encoded = _run(["encode", "-", "-o", "-", "-n", "2", "--codec-weights", weights_file], input=png.read_bytes())
    assert encoded.returncode == 0, encoded.stderr
    assert encoded.stdout == codec.encode(png.read_bytes(), 2)  # the bytes alone on stdout
    assert b"<stdin> \xe2\x86\x92 <stdout>" in encoded.stderr  # the report goes to stderr
    decoded = _run(["decode", "-", "-o", "-", "--format", "png", "--codec-weights", weights_file], input=encoded.stdout)
    assert decoded.returncode == 0, decoded.stderr
    image = Image.open(io.BytesIO(decoded.stdout))
    assert image.format == "PNG" and np.array_equal(np.asarray(image), np.asarray(codec.decode(encoded.stdout)))


def test_truncate_and_info_read_stdin(rnc_path, runner):
    result = runner.invoke(cli, ["truncate", "-", "-n", "1", "-o", "-"], input=rnc_path.read_bytes())
    assert result.exit_code == 0
    assert result.stdout_bytes == formats.truncate(rnc_path, 1)
    result = runner.invoke(cli, ["info", "--json", "-"], input=rnc_path.read_bytes())
    assert result.exit_code == 0 and json.loads(result.output)["iterations"] == 4


def test_pipe_usage_errors(runner, rnc_path, png):
    cases = [(["decode", str(rnc_path), "-o", "-"], "needs --format"),
             (["decode", "-"], "only input, with -o"),
             (["encode", "-", str(png), "-o", "x.rnc"], "-o/--output takes one input"),
             (["truncate", "-", "-n", "1", "--in-place"], "--in-place needs a file")]
    for args, message in cases:
        result = runner.invoke(cli, args, input=b"")
        assert result.exit_code == 2 and message in result.output, args


def test_binary_output_to_a_terminal_is_refused(tmp_path, rnc_path):
    leader, follower = os.openpty()
    try:
        done = subprocess.run(RNC + ["truncate", str(rnc_path), "-n", "1", "-o", "-"], stdout=follower,
                              stderr=subprocess.PIPE, timeout=60)
    finally:
        os.close(leader), os.close(follower)
    assert done.returncode == 1 and b"standard output is a terminal" in done.stderr


def test_a_reader_that_leaves_is_a_quiet_exit_141(tmp_path, rnc_path):
    files = []
    for k in range(400):  # enough output to fill the pipe after head has gone
        files.append(tmp_path / f"f{k}.rnc")
        files[-1].write_bytes(rnc_path.read_bytes())
    done = subprocess.run(["bash", "-c", 'set -o pipefail; "$@" | head -n 1; echo "status ${PIPESTATUS[0]}" >&2',
                           "sh", *RNC, "info", "--json", *map(str, files)], capture_output=True, text=True,
                          timeout=120)
    assert done.stdout.count("\n") == 1 and json.loads(done.stdout)["iterations"] == 4
    assert done.stderr == f"status {EXIT_BROKEN_PIPE}\n"  # no traceback, no 'Exception ignored'


def test_quiet_prints_nothing_but_errors(runner, png, weights_file, rnc_path, tmp_path):
    result = runner.invoke(cli, ["-q", "encode", str(png), "--codec-weights", str(weights_file)])
    assert result.exit_code == 0 and result.output == "" and png.with_suffix(".rnc").exists()
    result = runner.invoke(cli, ["-q", "truncate", str(rnc_path), "-n", "1", "-o", str(tmp_path / "t.rnc")])
    assert result.exit_code == 0 and result.output == ""
    result = runner.invoke(cli, ["-q", "decode", str(png.with_suffix(".rnc")), "-o", str(tmp_path / "d.jpg"),
                                 "--codec-weights", str(weights_file)])
    assert result.exit_code == 0 and result.output == ""


def test_an_error_names_its_file_once(runner, tmp_path, weights_file):
    bad = tmp_path / "notimg.png"
    bad.write_text("not an image")
    result = runner.invoke(cli, ["encode", str(bad), "--codec-weights", str(weights_file)])
    assert result.exit_code == 1
    assert result.output == f"Error: {bad}: not an image Pillow can read\n"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_permission_error_names_the_output_not_a_temporary_file(runner, rnc_path, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        result = runner.invoke(cli, ["truncate", str(rnc_path), "-n", "1", "-o", str(locked / "t.rnc")])
    finally:
        locked.chmod(0o755)
    assert result.exit_code == 1 and result.output == f"Error: {locked / 't.rnc'}: Permission denied\n"


def test_a_temporary_file_error_is_reported_under_the_output_name(monkeypatch, rnc_path, tmp_path, runner):
    real_open = os.open

    def refuse(path, *args, **kwargs):
        if str(path).endswith(".tmp"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", refuse)
    result = runner.invoke(cli, ["truncate", str(rnc_path), "-n", "1", "-o", str(tmp_path / "t.rnc")])
    assert result.exit_code == 1 and result.output == f"Error: {tmp_path / 't.rnc'}: Permission denied\n"


def test_info_goes_on_past_bad_files_and_fails_at_the_end(runner, rnc_path, tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG not at all")
    result = runner.invoke(cli, ["info", str(bad), str(rnc_path)])
    assert result.exit_code == 1
    assert f"Error: {bad}: " in result.stderr and "not an RNC file" in result.stderr
    assert "4 of 4" in result.stdout
    result = runner.invoke(cli, ["info", "--json", str(bad), str(rnc_path)])
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.exit_code == 1 and [set(r) >= {"file"} for r in records] == [True, True]
    assert "error" in records[0] and records[1]["iterations"] == 4


def test_decode_beyond_the_file_is_refused_like_truncate(runner, rnc_path, tmp_path, weights_file):
    for command in (["decode", str(rnc_path), "-o", str(tmp_path / "d.png"), "--codec-weights", str(weights_file)],
                    ["truncate", str(rnc_path), "-o", str(tmp_path / "t.rnc")]):
        result = runner.invoke(cli, command + ["-n", "9"])
        assert result.exit_code == 2 and "has only 4 iterations" in result.output, command
    assert not (tmp_path / "d.png").exists()


def test_json_on_every_command_that_reports(runner, png, weights_file, tmp_path):
    out = tmp_path / "a.rnc"
    encoded = runner.invoke(cli, ["encode", str(png), "-o", str(out), "-n", "2", "--codec-weights", str(weights_file),
                                  "--json"])
    record = json.loads(encoded.output)
    assert record == {"file": str(png), "output": str(out), "bytes": out.stat().st_size,
                      "bpp": round(8 * out.stat().st_size / (100 * 72), 4), "source_bytes": png.stat().st_size,
                      "width": 100, "height": 72, "mode": "RGB", "iterations": 2,
                      "coder": formats.read_header(out).coder}
    decoded = runner.invoke(cli, ["decode", str(out), "-n", "1", "-o", str(tmp_path / "a.webp"),
                                  "--codec-weights", str(weights_file), "--json"])
    assert json.loads(decoded.output) == {"file": str(out), "output": str(tmp_path / "a.webp"), "format": "WEBP",
                                          "width": 100, "height": 72, "mode": "RGB", "iterations": 1}
    cut = runner.invoke(cli, ["truncate", str(out), "-n", "1", "-o", str(tmp_path / "c.rnc"), "--json"])
    assert json.loads(cut.output) == {"file": str(out), "output": str(tmp_path / "c.rnc"), "iterations": 1,
                                      "bytes": (tmp_path / "c.rnc").stat().st_size}
    bad = tmp_path / "bad.png"
    bad.write_text("no")
    failed = runner.invoke(cli, ["encode", str(bad), "--codec-weights", str(weights_file), "--json"])
    assert failed.exit_code == 1 and json.loads(failed.stdout) == {
        "file": str(bad), "error": f"{bad}: not an image Pillow can read"}


def test_decode_quality_sets_lossy_outputs(runner, png, weights_file, tmp_path):
    rnc = tmp_path / "a.rnc"
    rnc.write_bytes(png.read_bytes())
    runner.invoke(cli, ["encode", str(png), "-o", str(rnc), "--force", "--codec-weights", str(weights_file)])
    sizes = {}
    for quality in ("20", "95"):
        target = tmp_path / f"q{quality}.jpg"
        result = runner.invoke(cli, ["decode", str(rnc), "-o", str(target), "--quality", quality,
                                     "--codec-weights", str(weights_file)])
        assert result.exit_code == 0, result.output
        sizes[quality] = target.stat().st_size
    assert sizes["20"] < sizes["95"]
    result = runner.invoke(cli, ["decode", str(rnc), "-o", str(tmp_path / "x.png"), "--quality", "50",
                                 "--codec-weights", str(weights_file)])
    assert result.exit_code == 0 and "--quality applies to JPEG, WebP and AVIF outputs only" in result.stderr
