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
    bare = io.BytesIO()
    codec.encode_to(bare, photo, 3, coder="zstd", strip_metadata=True)
    assert bare.getvalue() == codec.encode(photo, 3, coder="zstd", strip_metadata=True)  # the same file
    assert formats.read(bare.getvalue()).metadata is None and streamed.metadata is not None


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


@pytest.mark.parametrize("tile_size, mode", [(0, "RGB"), (128, "RGB"), (128, "L")])
def test_images_made_while_encoding_are_the_decoders(weights_file, tile_size, mode):
    """iter_codes_and_images: the codes of iter_codes, and pixel for pixel the progressive decoder's images."""
    from skimage import data as skdata

    from rnncodec.imageio import load_image

    photo = np.ascontiguousarray(skdata.astronaut()[:150, :200])  # two tiles of 128
    codec = Codec(weights_file, tile_size=tile_size)
    source = load_image(Image.fromarray(photo).convert(mode))
    pairs = list(codec.iter_codes_and_images(source, 3))
    codes = list(codec.iter_codes(source.rgb, 3))
    data = codec.file_bytes(source, codes)
    rnc = formats.read(data)
    decoder = codec.progressive_decoder(rnc.header, rnc.alpha)
    for (bits, image), expected_bits, file_bits in zip(pairs, codes, rnc.codes(), strict=True):
        assert np.array_equal(bits, expected_bits) and np.array_equal(bits, file_bits)
        expected = decoder.add(file_bits)
        assert image.mode == expected.mode == mode
        assert np.array_equal(np.asarray(image), np.asarray(expected))


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


def test_stripped_metadata_leaves_the_codes_and_drops_only_the_encoders_keys(weights_file, photo, tmp_path):
    path = tmp_path / "photo.png"
    Image.fromarray(photo).save(path)
    full = rnncodec.encode(path, iterations=2, weights=weights_file)
    bare = rnncodec.encode(path, iterations=2, weights=weights_file, strip_metadata=True)
    assert formats.read(bare).metadata is None and len(bare) < len(full)  # no mETa chunk at all
    assert formats.read(bare).payloads == formats.read(full).payloads
    assert np.array_equal(np.asarray(rnncodec.decode(bare, weights=weights_file)),
                          np.asarray(rnncodec.decode(full, weights=weights_file)))
    own = rnncodec.encode(path, iterations=1, weights=weights_file, strip_metadata=True, metadata={"camera": 3},
                          shorter_side=36)
    assert formats.read(own).metadata == {"source_size": [100, 72], "camera": 3}  # what decoding needs, kept


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


def test_tiles_are_independent(weights_file):
    """Each tile's codes are exactly those of the same crop coded alone, and so are its pixels except the
    one next to each seam (the decoder's seam smoothing)."""
    from skimage import data as skdata

    photo = np.ascontiguousarray(skdata.astronaut()[:200, :300])
    tiled = Codec(weights_file, tile_size=128)
    whole = Codec(weights_file, tile_size=0)
    data = tiled.encode(photo, 2)
    rnc = formats.read(data)
    assert rnc.header.tile_size == 128
    decoded = np.asarray(tiled.decode(data))
    padded = np.pad(photo, ((0, 208 - 200), (0, 304 - 300), (0, 0)), mode="edge")
    for top, left, h, w in tiles_of(208, 304, 128):
        crop = padded[top:top + h, left:left + w]
        alone = formats.read(whole.encode(crop, 2))
        for k in range(2):
            assert np.array_equal(rnc.codes()[k][:, top // 16:(top + h) // 16, left // 16:(left + w) // 16],
                                  alone.codes()[k])
        alone_pixels = np.asarray(whole.decode(alone))
        bottom, right = min(top + h, 200), min(left + w, 300)
        inner = (slice(1 if top else 0, h - 1 if top + h < 208 else h),
                 slice(1 if left else 0, w - 1 if left + w < 304 else w))
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


def test_a_cancellation_stops_decoding_between_tiles_and_iterations(weights_file):
    from rnncodec.cancel import Cancellation
    from rnncodec.errors import CancelledError

    class CancelAfter(Cancellation):
        def __init__(self, checks: int):
            super().__init__()
            self.left = checks

        def check(self) -> None:
            self.left -= 1
            if self.left < 0:
                self.cancel("test")
            super().check()

    tiled = Codec(weights_file, tile_size=128)
    data = tiled.encode(np.zeros((200, 300, 3), dtype=np.uint8), 2, coder="raw")
    # 2 iterations of entropy decoding, then 6 tiles × 2 iterations of the network: 14 checks
    counted = CancelAfter(10**6)
    tiled.decode(data, cancel=counted)
    assert 10**6 - counted.left == 2 + 6 * 2
    with pytest.raises(CancelledError, match="decoding stopped: test"):
        tiled.decode(data, cancel=CancelAfter(5))
    with pytest.raises(CancelledError, match="deadline passed"):
        tiled.decode(data, cancel=Cancellation(deadline_s=0))


def test_decode_limits_and_the_tile_minimum(codec, photo):
    data = codec.encode(photo, 2)
    with pytest.raises(formats.LimitExceededError, match="max_iterations = 2 > 1"):
        codec.decode(data, limits=formats.Limits(max_iterations=1))
    with pytest.raises(ValueError, match="tile_size must be 0 or a power of two ≥ 128"):
        Codec(codec.weights, tile_size=64)


def test_the_encoder_refuses_what_readers_would_before_coding(codec):
    from rnncodec.imageio import SourceImage

    huge = SourceImage(np.broadcast_to(np.zeros(3, dtype=np.uint8), (20000, 20000, 3)), "RGB")
    with pytest.raises(formats.LimitExceededError, match="max_pixels = 400000000 > 268435456"):
        codec.header_for(huge, 1, "raw")


def test_file_bytes_takes_a_path_as_encode_does(codec, photo, tmp_path):
    Image.fromarray(photo).save(tmp_path / "photo.png")
    codes = list(codec.iter_codes(photo, 3))
    for source in (str(tmp_path / "photo.png"), tmp_path / "photo.png"):
        assert codec.file_bytes(source, codes[:2]) == codec.encode(source, 2)


def test_decode_to_numpy(weights_file, photo):
    data = rnncodec.encode(photo, 2, weights=weights_file)
    pixels = rnncodec.decode(data, weights=weights_file, output="numpy")
    assert isinstance(pixels, np.ndarray) and pixels.dtype == np.uint8 and pixels.shape == (72, 100, 3)
    assert np.array_equal(pixels, np.asarray(rnncodec.decode(data, weights=weights_file)))
    gray = rnncodec.encode(photo[..., 0], 1, weights=weights_file)
    assert rnncodec.decode(gray, weights=weights_file, output="numpy").shape == (72, 100)
    with pytest.raises(ValueError, match="'pil' or 'numpy'"):
        rnncodec.decode(data, weights=weights_file, output="tensor")
