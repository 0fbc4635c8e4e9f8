"""The decoded-image cache, in this process: what it writes, that it is resumable, its errors."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import rnncodec
from rnncodec import formats
from rnncodec.codec import Codec
from rnncodec.errors import UnsupportedImageError
from rnncodec.recognition import DatasetError, RecognitionError
from rnncodec.recognition.decoded_cache import build_decoded_cache, cache_folder, code_photo, photo_key


@pytest.fixture(scope="module")
def photos(tmp_path_factory, photo):
    """Three small photos: an RGB PNG, a grayscale JPEG, an RGBA PNG."""
    folder = tmp_path_factory.mktemp("photos")
    Image.fromarray(photo).save(folder / "a.png")
    Image.fromarray(photo[:48, :64]).convert("L").save(folder / "b.jpg", quality=90)
    rgba = np.dstack([photo[8:56, 16:80], np.full((48, 64), 200, np.uint8)])
    Image.fromarray(rgba, "RGBA").save(folder / "c.png")
    return [folder / "a.png", folder / "b.jpg", folder / "c.png"]


def test_writes_each_photo_coded_once_and_decoded_at_every_k(tmp_path, photos, weights_file, codec):
    cached = build_decoded_cache(photos, tmp_path, [3, 1], codec_weights=str(weights_file), progress=False)
    assert [c.source for c in cached] == photos
    for entry in cached:
        assert entry.key == photo_key(entry.source) and len(entry.key) == 16
        assert entry.rnc.parent == cache_folder(tmp_path, str(weights_file)) and entry.rnc.parent.parent == tmp_path
        data = entry.rnc.read_bytes()
        header = formats.read_header(data)
        assert header.iterations == 3 and header.mode in ("RGB", "L")  # alpha dropped
        assert formats.read(data).alpha is None
        assert sorted(entry.decoded) == sorted(entry.sizes) == [1, 3]
        for k, png in entry.decoded.items():
            assert entry.sizes[k] == len(formats.truncate(data, iterations=k)) < len(data) + (k == 3)
            with Image.open(png) as image:
                assert image.mode == "RGB" and image.format == "PNG"
                assert np.array_equal(np.asarray(image), np.asarray(codec.decode(data, k).convert("RGB")))


def test_the_rnc_file_is_the_codecs_own_encoding(tmp_path, photos, weights_file, codec):
    from rnncodec.imageio import load_image

    entries = build_decoded_cache(photos, tmp_path, [2], codec_weights=str(weights_file), progress=False)
    for entry in entries:
        source = load_image(entry.source, alpha="drop")
        header = formats.read_header(entry.rnc)
        assert header.mode == source.mode  # the grayscale JPEG stays grayscale (its PNGs are RGB)
        assert formats.read(entry.rnc).metadata == {"tool_version": f"rnncodec {rnncodec.__version__}"}
        if source.mode == "RGB":  # what `rnc encode` (and rnncodec.encode) make of the pixels
            assert entry.rnc.read_bytes() == codec.encode(source.rgb, 2, alpha="drop")
        coded = code_photo(codec, source, [1, 2])
        assert coded.data == entry.rnc.read_bytes() and coded.sizes[2] == entry.sizes[2]


def test_a_second_build_codes_nothing(tmp_path, photos, weights_file, monkeypatch):
    first = build_decoded_cache(photos, tmp_path, [1, 2], codec_weights=str(weights_file), progress=False)
    stamps = {path: path.stat().st_mtime_ns for entry in first for path in [entry.rnc, *entry.decoded.values()]}
    monkeypatch.setattr(Codec, "iter_codes_and_images", lambda *a, **k: pytest.fail("a photo was coded again"))
    again = build_decoded_cache(photos, tmp_path, [1, 2], codec_weights=str(weights_file), progress=False)
    assert again == first
    assert {path: path.stat().st_mtime_ns for path in stamps} == stamps
    # fewer iterations than the file holds: decoded from it, sizes those of the same file cut shorter
    fewer, = build_decoded_cache(photos[:1], tmp_path, [1], codec_weights=str(weights_file), progress=False)
    assert fewer.rnc == first[0].rnc and fewer.sizes == {1: first[0].sizes[1]}


def test_an_interrupted_build_continues(tmp_path, photos, weights_file, monkeypatch):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image")
    with pytest.raises(UnsupportedImageError):
        build_decoded_cache([photos[0], broken, photos[1]], tmp_path / "cache", [1, 2],
                            codec_weights=str(weights_file), progress=False)
    folder = cache_folder(tmp_path / "cache", str(weights_file))
    key = photo_key(photos[0])
    assert sorted(p.name for p in folder.iterdir()) == [f"{key}-1.png", f"{key}-2.png", f"{key}.rnc"]
    (folder / f"{key}-1.png").unlink()  # a PNG lost: decoded again from the .rnc file, not coded again
    coded = []
    original = Codec.iter_codes_and_images
    monkeypatch.setattr(Codec, "iter_codes_and_images",
                        lambda self, *a, **k: coded.append(1) or original(self, *a, **k))
    entries = build_decoded_cache(photos[:2], tmp_path / "cache", [1, 2], codec_weights=str(weights_file),
                                  progress=False)
    assert len(coded) == 1  # photos[1] only
    assert all(path.is_file() for entry in entries for path in entry.decoded.values())
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_more_iterations_recode_the_photo(tmp_path, photos, weights_file, codec):
    short, = build_decoded_cache(photos[:1], tmp_path, [1], codec_weights=str(weights_file), progress=False)
    png = short.decoded[1].read_bytes()
    longer, = build_decoded_cache(photos[:1], tmp_path, [1, 4], codec_weights=str(weights_file), progress=False)
    assert formats.read_header(longer.rnc).iterations == 4
    assert longer.decoded[1].read_bytes() == png  # the encoder is causal: iteration 1 is the same
    assert longer.sizes[1] == short.sizes[1]


def test_each_codec_weights_has_its_own_folder(tmp_path, photos, weights_file, other_weights_file):
    a, = build_decoded_cache(photos[:1], tmp_path, [1], codec_weights=str(weights_file), progress=False)
    b, = build_decoded_cache(photos[:1], tmp_path, [1], codec_weights=str(other_weights_file), progress=False)
    assert a.key == b.key and a.rnc.parent != b.rnc.parent
    assert a.rnc.read_bytes() != b.rnc.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([a.rnc.parent.name, b.rnc.parent.name])


def test_the_same_photo_under_two_names_is_coded_once(tmp_path, photos, weights_file, monkeypatch):
    copy = tmp_path / "copy-of-a.png"
    copy.write_bytes(photos[0].read_bytes())
    coded = []
    original = Codec.iter_codes_and_images
    monkeypatch.setattr(Codec, "iter_codes_and_images",
                        lambda self, *a, **k: coded.append(1) or original(self, *a, **k))
    a, b = build_decoded_cache([photos[0], copy], tmp_path / "cache", [2], codec_weights=str(weights_file),
                               progress=False)
    assert len(coded) == 1 and (a.key, a.rnc, a.sizes) == (b.key, b.rnc, b.sizes) and a.source != b.source


def test_errors(tmp_path, photos, weights_file, monkeypatch):
    with pytest.raises(DatasetError, match="missing.png: cannot read the photo"):
        build_decoded_cache([tmp_path / "missing.png"], tmp_path, [1], codec_weights=str(weights_file))
    for bad in ([], [0], [17], [1.5]):
        with pytest.raises(ValueError, match="iterations must be"):
            build_decoded_cache(photos, tmp_path, bad, codec_weights=str(weights_file))
    monkeypatch.setitem(__import__("sys").modules, "ray", None)  # as if Ray were not installed
    with pytest.raises(RecognitionError, match=r"pip install 'rnncodec\[ray\]'"):
        build_decoded_cache(photos, tmp_path, [1], codec_weights=str(weights_file), ray="local")


@pytest.mark.slow
def test_local_ray_with_two_workers_writes_the_same_bytes(tmp_path, photos, weights_file):
    pytest.importorskip("ray.data", reason="Ray Data is not installed (pip install 'rnncodec[ray]')")
    here = build_decoded_cache(photos, tmp_path / "here", [1, 3], codec_weights=str(weights_file), progress=False)
    there = build_decoded_cache(photos, tmp_path / "ray", [1, 3], codec_weights=str(weights_file), progress=False,
                                ray="local", workers=2, batch_size=1)
    assert [e.source for e in there] == photos
    for a, b in zip(here, there):
        assert a.rnc.read_bytes() == b.rnc.read_bytes() and a.sizes == b.sizes
        assert all(a.decoded[k].read_bytes() == b.decoded[k].read_bytes() for k in (1, 3))


def test_the_process_keeps_its_thread_count(tmp_path, photos, weights_file):
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(3)
    try:
        build_decoded_cache(photos[:1], tmp_path, [1], codec_weights=str(weights_file), progress=False, threads=1)
        assert torch.get_num_threads() == 3  # the codec ran on one, the recognizer after it gets them all
    finally:
        torch.set_num_threads(before)
