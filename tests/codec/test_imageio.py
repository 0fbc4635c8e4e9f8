"""Input normalisation: modes, arrays, EXIF orientation, alpha policy; output modes."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from rnncodec.errors import UnsupportedImageError
from rnncodec.imageio import load_image


def _rgb(h=20, w=30, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


@pytest.mark.parametrize("mode", ["L", "P", "CMYK", "I;16", "I", "F", "1", "RGB", "YCbCr", "LA", "RGBA", "PA"])
def test_every_pillow_mode_round_trips(codec, mode):
    source = Image.fromarray(_rgb()).convert(mode)
    image = codec.decode(codec.encode(source, 1))
    assert image.size == (30, 20)
    gray = mode in ("L", "I;16", "I", "F", "1", "LA")
    alpha = mode in ("LA", "RGBA", "PA")
    expected = ("L" if gray else "RGB") + ("A" if alpha else "")
    assert image.mode == expected


def test_alpha_is_kept_losslessly(codec):
    alpha = np.random.default_rng(3).integers(0, 256, (20, 30), dtype=np.uint8)
    source = Image.fromarray(np.dstack([_rgb(), alpha]), "RGBA")
    image = codec.decode(codec.encode(source, 1))
    assert np.array_equal(np.asarray(image.getchannel("A")), alpha)


def test_alpha_refused_or_dropped_on_request(codec):
    source = Image.fromarray(np.dstack([_rgb(), np.full((20, 30), 7, np.uint8)]), "RGBA")
    with pytest.raises(UnsupportedImageError, match="alpha"):
        codec.encode(source, 1, alpha="refuse")
    assert codec.decode(codec.encode(source, 1, alpha="drop")).mode == "RGB"


def test_sixteen_bit_scaled_to_eight():
    array = np.full((4, 4), 65535, dtype=np.uint16)
    assert load_image(array).rgb.max() == 255
    assert load_image(Image.fromarray(array)).rgb.max() == 255


@pytest.mark.parametrize("array", [
    np.zeros((5, 6), np.uint8), np.zeros((5, 6, 1), np.uint8), np.zeros((5, 6, 3), np.float32),
    np.ones((5, 6), bool), np.zeros((5, 6, 4), np.uint8)])
def test_arrays(array):
    source = load_image(array)
    assert source.rgb.shape == (5, 6, 3) and source.rgb.dtype == np.uint8


@pytest.mark.parametrize("array", [np.zeros((5,), np.uint8), np.zeros((5, 6, 2), np.uint8),
                                   np.zeros((5, 6), np.int64)])
def test_bad_arrays(array):
    with pytest.raises(UnsupportedImageError):
        load_image(array)


def test_exif_orientation_applied():
    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise on display
    Image.fromarray(_rgb(20, 30)).save(buffer, "JPEG", exif=exif)
    source = load_image(buffer.getvalue())
    assert (source.width, source.height) == (20, 30)
    assert source.source_bytes == len(buffer.getvalue())


def test_not_an_image():
    with pytest.raises(UnsupportedImageError, match="not an image"):
        load_image(b"hello")


def test_a_multi_frame_image_warns_that_its_first_frame_is_used(tmp_path):
    from rnncodec.errors import MultiFrameWarning

    frames = [Image.new("RGB", (20, 16), colour) for colour in ("red", "green", "blue")]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:])
    with pytest.warns(MultiFrameWarning, match="anim.gif: 3 frames; only the first is encoded"):
        source = load_image(path)
    assert source.width == 20


def test_an_image_over_max_pixels_is_refused_before_its_pixels_are_decoded(tmp_path, monkeypatch):
    from rnncodec.errors import ImageTooLargeError

    path = tmp_path / "big.png"
    Image.new("RGB", (300, 200)).save(path)
    monkeypatch.setattr(Image.Image, "load", lambda self: pytest.fail("pixels decoded"))
    with pytest.raises(ImageTooLargeError, match=r"300×200 = 60,000 pixels, more than max_pixels = 50,000"):
        load_image(path, max_pixels=50_000)


# -- downscaling before coding (encode(shorter_side=…, longer_side=…)) --------------------------------

@pytest.mark.parametrize("side, pixels, size, expected", [
    ("shorter", 256, (500, 375), (341, 256)),
    ("shorter", 256, (375, 500), (256, 341)),
    ("longer", 320, (640, 480), (320, 240)),
    ("longer", 320, (480, 640), (240, 320)),
    ("shorter", 256, (200, 900), (200, 900)),  # small enough: never enlarged
    ("longer", 1, (7, 3), (1, 1)),             # no side below one pixel
])
def test_a_downscale_bounds_its_side_and_keeps_the_aspect(side, pixels, size, expected):
    from rnncodec.imageio import Downscale

    assert Downscale(side, pixels).size(*size) == expected


@pytest.mark.parametrize("side, pixels", [("middle", 10), ("shorter", 0), ("longer", 2.5), ("shorter", True)])
def test_a_bad_downscale_is_refused(side, pixels):
    from rnncodec.imageio import Downscale

    with pytest.raises(ValueError):
        Downscale(side, pixels)
    with pytest.raises(ValueError, match="not both"):
        Downscale.from_options(shorter_side=10, longer_side=10)


def test_a_downscaled_jpeg_turned_by_exif_records_its_size_as_displayed():
    from rnncodec.imageio import Downscale

    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # stored 300×200, displayed 200×300
    Image.fromarray(_rgb(200, 300)).save(buffer, "JPEG", exif=exif)
    source = load_image(buffer.getvalue(), downscale=Downscale("shorter", 50))
    assert (source.width, source.height) == (50, 75)
    assert source.source_size == (200, 300)
    assert load_image(buffer.getvalue(), downscale=Downscale("shorter", 500)).source_size is None  # not downscaled


def test_a_downscale_averages_and_keeps_alpha_and_grayscale():
    from rnncodec.imageio import Downscale

    stripes = np.zeros((40, 40), np.uint8)
    stripes[:, ::2] = 255  # one-pixel stripes: their average is mid-grey
    gray = load_image(stripes, downscale=Downscale("longer", 10))
    assert gray.mode == "L" and gray.rgb.shape == (10, 10, 3)
    assert abs(float(gray.rgb.mean()) - 127.5) < 3
    rgba = np.zeros((40, 60, 4), np.uint8)
    rgba[:, :30] = (255, 0, 0, 255)  # opaque red beside transparent green: no green may bleed in
    rgba[:, 30:] = (0, 255, 0, 0)
    source = load_image(rgba, downscale=Downscale("shorter", 20))
    assert source.rgb.shape == (20, 30, 3) and source.alpha.shape == (20, 30)
    assert source.alpha[:, :12].min() >= 250 and source.alpha[:, 18:].max() <= 5
    opaque = source.alpha > 0
    assert source.rgb[..., 1][opaque].max() == 0


def test_a_downscaled_encode_decodes_at_the_coded_size_and_names_the_original(codec):
    from rnncodec.formats import read

    data = codec.encode(_rgb(256, 384), 1, shorter_side=64, coder="raw")
    assert codec.decode(data).size == (96, 64)
    assert read(data).metadata["source_size"] == [384, 256]
    assert len(data) < len(codec.encode(_rgb(256, 384), 1, coder="raw")) / 4  # 1/16 of the blocks
    with pytest.raises(ValueError, match="not both"):
        codec.encode(_rgb(), 1, shorter_side=8, longer_side=8)


def test_a_downscaled_file_decodes_at_its_source_size_on_request(codec, weights_file):
    from rnncodec.codec import decode
    from rnncodec.formats import LimitExceededError, Limits

    data = codec.encode(_rgb(64, 96), 1, longer_side=48)
    assert decode(data, weights=weights_file).size == (48, 32)
    assert decode(data, weights=weights_file, at_source_size=True).size == (96, 64)
    assert decode(data, weights=weights_file, at_source_size=True, output="numpy").shape == (64, 96, 3)
    plain = codec.encode(_rgb(64, 96), 1)
    assert decode(plain, weights=weights_file, at_source_size=True).size == (96, 64)
    with pytest.raises(LimitExceededError, match="max_pixels"):  # checked before decoding
        decode(data, weights=weights_file, at_source_size=True, limits=Limits(max_pixels=5000))
