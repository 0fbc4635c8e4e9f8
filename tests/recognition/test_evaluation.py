"""Pieces of the evaluation: same-size JPEG, the settings, one image in every setting."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from rnncodec import formats
from rnncodec.recognition.evaluation import jpeg_within, settings, variants


@pytest.fixture(scope="module")
def picture(photo):
    return Image.fromarray(photo)


def _jpeg_size(image, quality):
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=quality, optimize=True)
    return out.tell()


def test_jpeg_within_takes_the_highest_quality_that_fits(picture):
    budget = _jpeg_size(picture, 40)
    data, quality, fits = jpeg_within(picture, budget)
    assert fits and len(data) <= budget and quality >= 40
    assert quality == 100 or _jpeg_size(picture, quality + 1) > budget
    assert Image.open(io.BytesIO(data)).size == picture.size


def test_jpeg_within_falls_back_to_quality_1_and_says_so(picture):
    data, quality, fits = jpeg_within(picture, 10)
    assert (quality, fits) == (1, False) and len(data) == _jpeg_size(picture, 1) > 10


def test_settings_order():
    assert settings(2) == ["original", "rnc-1", "rnc-2", "jpeg-1", "jpeg-2"]


def test_variants_cover_every_setting_at_the_rnc_sizes(tmp_path, picture, codec):
    path = tmp_path / "p.png"
    picture.save(path)
    keep = tmp_path / "keep"
    keep.mkdir()
    out = variants(path, codec, 2, keep)
    assert [v.setting for v in out] == settings(2)
    sizes = {v.setting: v.size for v in out}
    assert sizes["original"] == path.stat().st_size
    rnc = (keep / "p.rnc").read_bytes()
    assert sizes["rnc-2"] == len(rnc) and sizes["rnc-1"] == len(formats.truncate(rnc, iterations=1))
    for k in (1, 2):
        jpeg = next(v for v in out if v.setting == f"jpeg-{k}")
        assert jpeg.size == len((keep / f"p-jpeg-{k}.jpg").read_bytes())
        assert jpeg.fits == (jpeg.size <= sizes[f"rnc-{k}"])
    assert all(v.image.size == picture.size for v in out)
