"""The Pillow plugin: Image.open reads .rnc files (pixels decoded on load), Image.save writes them."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image, ImageFile

import rnncodec
from rnncodec import formats
from rnncodec import pillow as rnc_pillow


@pytest.fixture
def tiny_weights(weights_file):
    """The plugin decodes and encodes with the session's random tiny weights during the test."""
    rnc_pillow.register(weights=weights_file)
    yield weights_file
    rnc_pillow.register()


@pytest.fixture
def rnc_file(tmp_path, codec, photo):
    path = tmp_path / "x.rnc"
    path.write_bytes(codec.encode(photo, 3))
    return path


def test_open_reads_the_header_without_torch(tmp_path, file16):
    path = tmp_path / "cat.rnc"
    path.write_bytes(file16[0])
    code = ("import sys\nfrom PIL import Image\nimport rnncodec.pillow\n"
            f"im = Image.open({str(path)!r})\nprint(im.format, im.size, im.mode, im.info['iterations'])\n"
            "print('torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.split("\n")[:2] == ["RNC (37, 21) RGBA 16", "False"], done.stderr


def test_load_equals_rnncodec_decode(rnc_file, tiny_weights):
    with Image.open(rnc_file) as im:
        assert (im.format, im.size, im.mode, im.get_format_mimetype()) == ("RNC", (100, 72), "RGB", "image/x-rnc")
        pixels = np.asarray(im.convert("RGB"))
    assert np.array_equal(pixels, np.asarray(rnncodec.decode(rnc_file, weights=tiny_weights)))


def test_iterations_picks_a_prefix(rnc_file, tiny_weights):
    with Image.open(rnc_file) as im:
        assert im.info["iterations"] == 3
        im.iterations = 1
        first = np.asarray(im)
    assert np.array_equal(first, np.asarray(rnncodec.decode(rnc_file, 1, weights=tiny_weights)))


def test_save_writes_an_rnc_file(tmp_path, photo, tiny_weights, codec):
    target = tmp_path / "saved.rnc"
    Image.fromarray(photo).save(target, iterations=2, coder="zstd")
    rnc = formats.read(target)
    assert (rnc.iterations, rnc.header.coder, rnc.header.width) == (2, "zstd", 100)
    assert all(np.array_equal(a, b) for a, b in zip(rnc.codes(), formats.read(codec.encode(photo, 2)).codes()))
    Image.fromarray(photo).convert("RGBA").save(tmp_path / "alpha.rnc")  # the extension picks the format
    with Image.open(tmp_path / "alpha.rnc") as im:
        assert im.mode == "RGBA" and im.info["iterations"] == 2


def test_a_truncated_file_needs_load_truncated_images(rnc_file, tiny_weights, monkeypatch):
    cut = rnc_file.with_name("cut.rnc")
    cut.write_bytes(rnc_file.read_bytes()[:-30])
    with Image.open(cut) as im:
        assert im.info["truncated"] and im.info["iterations"] == 2
        with pytest.raises(OSError, match="image file is truncated"):
            im.load()
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    with Image.open(cut) as im:
        pixels = np.asarray(im)
    assert np.array_equal(pixels, np.asarray(rnncodec.decode(rnc_file, 2, weights=tiny_weights)))


def test_thumbnail(rnc_file, tiny_weights):
    with Image.open(rnc_file) as im:
        im.thumbnail((50, 50))
        assert im.size == (50, 36) and im.mode == "RGB"


def test_other_files_are_not_taken(tmp_path, photo):
    Image.fromarray(photo).save(tmp_path / "a.png")
    with Image.open(tmp_path / "a.png") as im:
        assert im.format == "PNG"


def test_the_entry_point_registers_the_plugin():
    from importlib.metadata import entry_points

    (entry_point,) = [e for e in entry_points(group="pillow.plugins") if e.name == "rnc"]
    assert entry_point.load() is rnc_pillow.register
