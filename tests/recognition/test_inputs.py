"""Decoding recognition inputs: .rnc files (whole, first K iterations, progressively) and images."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from PIL import Image

from rnncodec import formats
from rnncodec.errors import ImageTooLargeError, UnknownWeightsError, UnsupportedImageError
from rnncodec.recognition import InputDecoder, is_rnc
from rnncodec.recognition.inputs import bytes_through


@pytest.fixture(scope="module")
def rnc_file(tmp_path_factory, codec, photo):
    path = tmp_path_factory.mktemp("inputs") / "photo.bin"  # recognised by its signature, not its name
    path.write_bytes(codec.encode(photo, 3, metadata={"note": "x"}))
    return path


def test_bytes_through_counts_up_to_each_iteration_chunk(rnc_file):
    rnc = formats.read(rnc_file)
    ends = [bytes_through(rnc, k) for k in range(4)]
    assert ends == sorted(set(ends))
    assert ends[1] - ends[0] == rnc.bytes_per_iteration[0]
    assert ends[3] + 12 == rnc.file_bytes  # then the 12-byte end chunk
    assert formats.read(formats.truncate(rnc_file, iterations=2)).file_bytes == ends[2] + 12


def test_decode_an_rnc_file_whole_or_from_its_first_iterations(rnc_file, weights_file, codec):
    decoder = InputDecoder(weights_file)
    whole, first = decoder.decode(rnc_file), decoder.decode(rnc_file, iterations=1)
    assert (whole.sample.kind, whole.sample.iterations, whole.sample.iterations_in_file) == ("rnc", 3, 3)
    assert first.sample.iterations == 1 and first.sample.bytes_read < whole.sample.bytes_read
    assert whole.sample.file_bytes == rnc_file.stat().st_size
    assert (whole.image.width, whole.image.height) == (100, 72)
    assert np.array_equal(np.asarray(first.image), np.asarray(codec.decode(rnc_file.read_bytes(), 1)))
    assert decoder.decode(rnc_file, iterations=9).sample.iterations == 3


def test_progressive_refines_with_strictly_increasing_bytes(rnc_file, weights_file):
    decoder = InputDecoder(weights_file)
    steps = list(decoder.progressive(rnc_file))
    assert [s.sample.iterations for s in steps] == [1, 2, 3]
    assert [s.sample.bytes_read for s in steps] == [bytes_through(formats.read(rnc_file), k) for k in (1, 2, 3)]
    for step in steps:
        assert np.array_equal(np.asarray(step.image),
                              np.asarray(decoder.decode(rnc_file, step.sample.iterations).image))
    assert len(list(decoder.progressive(rnc_file, iterations=2))) == 2


def test_plain_images_are_baselines(tmp_path, photo):
    path = tmp_path / "photo.jpg"
    Image.fromarray(photo).convert("L").save(path)
    decoded = InputDecoder().decode(path)
    assert (decoded.sample.kind, decoded.sample.iterations, decoded.image.mode) == ("image", None, "RGB")
    assert decoded.sample.bytes_read == decoded.sample.file_bytes == path.stat().st_size
    assert [d.sample.kind for d in InputDecoder().progressive(path)] == ["image"]


def test_a_file_from_unshipped_weights_asks_for_the_codec_weights(rnc_file):
    with pytest.raises(UnknownWeightsError, match="not shipped: pass that weights file"):
        InputDecoder().decode(rnc_file)


def test_is_rnc_reads_the_signature_or_a_cut_inside_it(rnc_file):
    data = rnc_file.read_bytes()
    assert is_rnc(data[:8]) and is_rnc(data) and is_rnc(data[:3])  # cut inside the signature: a .rnc, cut
    assert not is_rnc(b"") and not is_rnc(b"\x89PNG\r\n\x1a\n") and not is_rnc(data[1:])


def test_bytes_and_files_and_streams_decode_alike(rnc_file, weights_file):
    decoder = InputDecoder(weights_file)
    data = rnc_file.read_bytes()
    from_file, from_bytes = decoder.decode(rnc_file, 2), decoder.decode(data, 2, name="upload")
    assert from_bytes.sample == dataclasses.replace(from_file.sample, file="upload")
    assert np.array_equal(np.asarray(from_bytes.image), np.asarray(from_file.image))
    stream = decoder.stream("upload")
    steps = [stream.refine(event) for event in stream.feed(data) if isinstance(event, formats.IterationEvent)]
    whole = list(decoder.progressive(data, name="upload"))
    assert [s.sample.bytes_read for s in steps] == [s.sample.bytes_read for s in whole]
    assert steps[-1].sample == whole[-1].sample and np.array_equal(np.asarray(steps[-1].image.convert("RGB")),
                                                                   np.asarray(whole[-1].image.convert("RGB")))


def test_plain_images_over_max_pixels_are_refused_before_decoding(tmp_path, photo):
    path = tmp_path / "photo.png"
    Image.fromarray(photo).save(path)
    with pytest.raises(ImageTooLargeError, match="100×72 = 7,200 pixels, more than the 7,199"):
        InputDecoder(max_pixels=7199).decode(path)
    assert InputDecoder(max_pixels=7200).decode(path).sample.kind == "image"
    with pytest.raises(UnsupportedImageError, match="neither a .rnc file"):
        InputDecoder().decode(b"just text", name="body")


def test_paths_may_be_strings_as_the_docs_write_them(rnc_file, weights_file):
    decoder = InputDecoder(weights_file)
    assert decoder.decode(str(rnc_file), iterations=1).sample.file_bytes == rnc_file.stat().st_size
    assert [d.sample.iterations for d in decoder.progressive(str(rnc_file))] == [1, 2, 3]


def test_a_downscaled_files_source_size_reaches_the_sample_however_it_is_read(weights_file, codec, photo):
    from rnncodec.formats import metadata_source_size

    data = codec.encode(photo, 2, longer_side=50)  # photo 100×72 → 50×36
    decoder = InputDecoder(weights_file)
    assert decoder.decode(data).sample.source_size == (100, 72)
    assert [s.sample.source_size for s in decoder.progressive(data)] == [(100, 72)] * 2
    stream = decoder.stream("upload")
    steps = [stream.refine(event) for event in stream.feed(data) if isinstance(event, formats.IterationEvent)]
    assert steps[-1].sample.source_size == (100, 72)
    assert decoder.decode(codec.encode(photo, 1)).sample.source_size is None
    for hostile in ([100], [0, 5], [1.5, 2], [True, 3], "100x72", [2 ** 40, 3], None):
        assert metadata_source_size({"source_size": hostile}) is None
    assert metadata_source_size(None) is None and metadata_source_size({"source_size": [3, 4]}) == (3, 4)
