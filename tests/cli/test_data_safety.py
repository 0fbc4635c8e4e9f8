"""The CLI never loses data: no output over an input, no two inputs sharing an output, stale temps
cleaned, multi-frame inputs named, malformed weights one line, hostile files bounded."""

from __future__ import annotations

import os
import time

import pytest
import torch
from PIL import Image

from rnncodec import formats
from rnncodec.cli.main import cli
from rnncodec.cli.options import STALE_TEMP_S, atomic_output


@pytest.fixture
def png(tmp_path, photo):
    path = tmp_path / "in.png"
    Image.fromarray(photo).save(path)
    return path


def test_encode_never_writes_over_its_input_even_with_force(runner, png, weights_file):
    before = png.read_bytes()
    result = runner.invoke(cli, ["encode", str(png), "-o", str(png), "--force", "--codec-weights", str(weights_file)])
    assert result.exit_code == 2 and "is an input; refusing to write over it (even with --force)" in result.output
    assert png.read_bytes() == before


def test_decode_never_writes_over_its_input(runner, tmp_path, weights_file, png):
    data = (tmp_path / "x.rnc")
    result = runner.invoke(cli, ["encode", str(png), "-o", str(data), "--codec-weights", str(weights_file)])
    assert result.exit_code == 0, result.output
    before = data.read_bytes()
    weird = tmp_path / "x.png"  # the input, under a name with an image extension: a link to it
    os.symlink(data, weird)
    result = runner.invoke(cli, ["decode", str(weird), "-o", str(weird), "--force", "--codec-weights", str(weights_file)])
    assert result.exit_code == 2 and "is an input" in result.output and data.read_bytes() == before


def test_output_collisions_in_a_batch_are_refused_before_anything_is_written(runner, tmp_path, photo, weights_file):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        Image.fromarray(photo).save(tmp_path / folder / "x.png")
    out = tmp_path / "o"
    for force in ([], ["--force"]):
        result = runner.invoke(cli, ["encode", str(tmp_path / "a" / "x.png"), str(tmp_path / "b" / "x.png"),
                                     "--out-dir", str(out), "--codec-weights", str(weights_file), *force])
        assert result.exit_code == 2, result.output
        assert "inputs would write the same output (nothing written)" in result.output
        assert "a/x.png, " in result.output and "b/x.png" in result.output
        assert not out.exists() or not any(out.iterdir())


def test_a_batch_with_an_existing_output_stops_before_writing_any(runner, tmp_path, photo, weights_file):
    for name in ("p", "q"):
        Image.fromarray(photo).save(tmp_path / f"{name}.png")
    (tmp_path / "q.rnc").write_bytes(b"keep me")
    result = runner.invoke(cli, ["encode", str(tmp_path / "p.png"), str(tmp_path / "q.png"),
                                 "--codec-weights", str(weights_file)])
    assert result.exit_code == 1 and "q.rnc exists" in result.output
    assert not (tmp_path / "p.rnc").exists() and (tmp_path / "q.rnc").read_bytes() == b"keep me"


def test_stale_temporary_files_of_ours_are_removed_when_the_output_is_written(tmp_path):
    target = tmp_path / "x.rnc"
    stale = tmp_path / ".x.rnc.0123456789abcdef.tmp"
    fresh = tmp_path / ".x.rnc.fedcba9876543210.tmp"  # another command writing right now
    foreign = tmp_path / ".x.rnc.mine.tmp"
    for path in (stale, fresh, foreign):
        path.write_bytes(b"partial")
    old = time.time() - STALE_TEMP_S - 5
    for path in (stale, foreign):
        os.utime(path, (old, old))
    with atomic_output(target) as out:
        out.write(b"data")
    assert target.read_bytes() == b"data"
    assert not stale.exists() and fresh.exists() and foreign.exists()


def test_an_animated_gif_is_encoded_from_its_first_frame_with_a_warning(runner, tmp_path, weights_file):
    frames = [Image.new("RGB", (40, 24), colour) for colour in ("red", "green")]
    gif = tmp_path / "anim.gif"
    frames[0].save(gif, save_all=True, append_images=frames[1:])
    result = runner.invoke(cli, ["encode", str(gif), "--codec-weights", str(weights_file)])
    assert result.exit_code == 0, result.output
    assert "Warning: anim.gif: 2 frames; only the first is encoded" in result.output
    assert (tmp_path / "anim.rnc").exists()


def test_malformed_weights_are_one_error_line(runner, png, tmp_path, weights_file):
    payload = torch.load(weights_file, map_location="cpu", weights_only=True)
    del payload["config"]
    bad = tmp_path / "bad.pt"
    torch.save(payload, bad)
    result = runner.invoke(cli, ["encode", str(png), "--codec-weights", str(bad)])
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and "malformed rnncodec weights file (KeyError" in result.output
    assert "Traceback" not in result.output


def test_an_image_over_max_pixels_is_refused_naming_the_option(runner, png, weights_file):
    result = runner.invoke(cli, ["encode", str(png), "--max-pixels", "1000", "--codec-weights", str(weights_file)])
    assert result.exit_code == 1 and "more than max_pixels = 1,000 (--max-pixels)" in result.output


def test_decode_limits_name_their_option(runner, png, tmp_path, weights_file):
    data = tmp_path / "in.rnc"
    assert runner.invoke(cli, ["encode", str(png), "-o", str(data), "-n", "2",
                               "--codec-weights", str(weights_file)]).exit_code == 0
    for option, value in (("--max-iterations", "1"), ("--max-pixels", "100"), ("--max-code-bits", "1000")):
        result = runner.invoke(cli, ["decode", str(data), option, value, "--codec-weights", str(weights_file),
                                     "-o", str(tmp_path / "out.png")])
        assert result.exit_code == 1 and f"({option})" in result.output, result.output
    # a crafted file: 65535×4096, 64 iterations, empty context payloads — refused from its header
    header = formats.read_header(data).replace(width=65535, height=4096, iterations=64, coder="context")
    bomb = tmp_path / "bomb.rnc"
    bomb.write_bytes(formats.spec.SIGNATURE + formats.chunks.pack_chunk(b"RHDR", header.to_bytes()))
    start = time.perf_counter()
    result = runner.invoke(cli, ["decode", str(bomb), "--codec-weights", str(weights_file)])
    assert result.exit_code == 1 and "max_code_bits" in result.output and time.perf_counter() - start < 1


def test_truncate_refuses_its_own_input_as_output(runner, rnc_path):
    before = rnc_path.read_bytes()
    result = runner.invoke(cli, ["truncate", str(rnc_path), "-n", "1", "-o", str(rnc_path), "--force"])
    assert result.exit_code == 2 and "is an input" in result.output and rnc_path.read_bytes() == before
