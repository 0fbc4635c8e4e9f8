"""The codec API: round trips, sizes, truncation, determinism, weights identity, tiling."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

import rnncodec
from rnncodec import formats
from rnncodec.codec import Codec, tiles_of
from rnncodec.seams import smooth_seams
from rnncodec.errors import RNCError, WeightsMismatchError


@pytest.mark.parametrize("size", [(1, 1), (17, 33), (16, 16), (40, 3), (100, 72)])
def test_any_size_round_trips(codec, size):
    width, height = size
    rgb = np.random.default_rng(width * height).integers(0, 256, (height, width, 3), dtype=np.uint8)
    data = codec.encode(rgb, 2)
    image = codec.decode(data)
    assert image.size == size and image.mode == "RGB"
    header = formats.read_header(data)
    assert (header.width, header.height, header.iterations) == (width, height, 2)


def test_size_is_32_bits_per_block_per_iteration_plus_container(codec):
    rgb = np.random.default_rng(0).integers(0, 256, (512, 768, 3), dtype=np.uint8)
    data = codec.encode(rgb, 2, coder="raw", metadata=None)
    rnc = formats.read(data)
    assert sum(len(p) for p in rnc.payloads) == 12288  # 2 × 32 bits × (768/16 × 512/16) / 8
    assert rnc.bytes_per_iteration == [6144 + 12, 6144 + 12]


def test_more_iterations_more_bytes_and_prefix_decoding(codec, photo):
    data = codec.encode(photo, 4, coder="raw")
    rnc = formats.read(data)
    assert rnc.iterations == 4
    for k in range(1, 5):
        assert codec.decode(data, k).size == (100, 72)


def test_truncated_file_decodes_like_prefix_of_original(codec, photo):
    data = codec.encode(photo, 3)
    for k in (1, 2):
        cut = formats.truncate(data, iterations=k)
        assert np.array_equal(np.asarray(codec.decode(cut)), np.asarray(codec.decode(data, k)))


def test_streaming_encoder_writes_same_codes_as_encode(codec, photo):
    out = io.BytesIO()
    header = codec.encode_to(out, photo, 3, coder="zstd")
    assert header.iterations == 3
    streamed = formats.read(out.getvalue())
    whole = formats.read(codec.encode(photo, 3, coder="zstd"))
    assert all(np.array_equal(a, b) for a, b in zip(streamed.codes(), whole.codes()))


def test_deterministic_bytes_and_pixels(codec, photo):
    first, second = codec.encode(photo, 3), codec.encode(photo, 3)
    assert first == second
    assert np.array_equal(np.asarray(codec.decode(first)), np.asarray(codec.decode(second)))


def test_progressive_decoder_matches_decode(codec, photo):
    data = codec.encode(photo, 3)
    rnc = formats.read(data)
    decoder = codec.progressive_decoder(rnc.header)
    for k, bits in enumerate(rnc.codes(), 1):
        image = decoder.add(bits)
        assert np.array_equal(np.asarray(image), np.asarray(codec.decode(data, k)))


def test_wrong_weights_is_a_clear_error_naming_both(codec, other_weights_file, photo):
    data = codec.encode(photo, 1)
    other = Codec(other_weights_file)
    with pytest.raises(WeightsMismatchError) as info:
        other.decode(data)
    message = str(info.value)
    assert codec.weights.weights_id.hex() in message and other.weights.weights_id.hex() in message
    assert isinstance(info.value, RNCError)


def test_module_level_api_with_weights_file(weights_file, photo, tmp_path):
    path = tmp_path / "photo.png"
    Image.fromarray(photo).save(path)
    data = rnncodec.encode(path, iterations=1, weights=weights_file)
    assert formats.read(data).metadata["source_name"] == "photo.png"
    assert formats.read(data).metadata["source_bytes"] == path.stat().st_size
    assert rnncodec.decode(data, weights=weights_file).size == (100, 72)
    assert rnncodec.decode(io.BytesIO(data), weights=weights_file, iterations=1).size == (100, 72)


def test_lenient_decoding_of_a_cut_file(codec, photo):
    data = codec.encode(photo, 3, coder="raw")
    cut = data[:-20]  # inside the last iteration's chunk
    with pytest.raises(formats.TruncatedFileError):
        codec.decode(cut)
    lenient = codec.decode(formats.read(cut, strict=False))
    assert np.array_equal(np.asarray(lenient), np.asarray(codec.decode(data, 2)))


@pytest.mark.parametrize("iterations", [0, 17, 2.5])
def test_bad_iteration_counts(codec, photo, iterations):
    with pytest.raises(ValueError):
        codec.encode(photo, iterations)


def test_tiles_cover_the_image_once():
    tiles = tiles_of(96, 80, 32)
    covered = np.zeros((96, 80), dtype=int)
    for top, left, h, w in tiles:
        covered[top:top + h, left:left + w] += 1
    assert (covered == 1).all()
    assert tiles_of(96, 80, 0) == [(0, 0, 96, 80)]


def test_tiles_are_independent(weights_file, photo):
    """Each tile's codes are exactly those of the same crop coded alone, and so are its pixels except the
    one next to each seam (the decoder's seam smoothing)."""
    tiled = Codec(weights_file, tile_size=32)
    whole = Codec(weights_file, tile_size=0)
    data = tiled.encode(photo, 2)
    rnc = formats.read(data)
    assert rnc.header.tile_size == 32
    decoded = np.asarray(tiled.decode(data))
    padded = np.pad(photo, ((0, 80 - 72), (0, 112 - 100), (0, 0)), mode="edge")
    for top, left, h, w in tiles_of(80, 112, 32):
        crop = padded[top:top + h, left:left + w]
        alone = formats.read(whole.encode(crop, 2))
        for k in range(2):
            assert np.array_equal(rnc.codes()[k][:, top // 16:(top + h) // 16, left // 16:(left + w) // 16],
                                  alone.codes()[k])
        alone_pixels = np.asarray(whole.decode(alone))
        bottom, right = min(top + h, 72), min(left + w, 100)
        inner = (slice(1 if top else 0, h - 1 if top + h < 80 else h),
                 slice(1 if left else 0, w - 1 if left + w < 112 else w))
        assert np.array_equal(decoded[top:bottom, left:right][inner], alone_pixels[:bottom - top, :right - left][inner])


def test_seam_smoothing_touches_only_the_two_pixels_at_each_seam():
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (48, 80, 3), dtype=np.uint8)
    smoothed = pixels.copy()
    smooth_seams(smoothed, 32)
    changed = np.argwhere((smoothed != pixels).any(axis=2))
    assert len(changed)
    assert all(x in (31, 32, 63, 64) or y in (31, 32) for y, x in changed)
    line = np.zeros((32, 64, 3), np.uint8)
    line[:, 31:33] = 200  # a bright two-pixel line exactly on the seam at x = 32 …
    smooth_seams(line, 32)
    assert line[:, 31:33].max() <= round(0.3 * 200)  # … is mostly blended away
    flat = np.full((64, 64, 3), 77, np.uint8)
    smooth_seams(flat, 16)
    assert (flat == 77).all()  # a flat image stays flat
    smooth_seams(flat, 0)
