"""EdgeClient.prepare: what a client sends for an image or a .rnc file (no server needed)."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from rnncodec.edge.client import EdgeClient
from rnncodec.formats import read
from rnncodec.weights import RECOGNITION_WEIGHTS, RNCWeights, sha256_file, weights_id_of

UNREACHABLE = "http://127.0.0.1:9"  # prepare never connects


def _png(width: int = 40, height: int = 24) -> bytes:
    return _png_of(np.random.default_rng(3).integers(0, 256, (height, width, 3), dtype=np.uint8))


def _png_of(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def test_an_image_is_encoded_with_the_recognition_weights_unless_told(weights_file):
    image = _png()
    sent = EdgeClient(UNREACHABLE).prepare(image, iterations=1)
    assert sent.kind == "rnc" and sent.original_bytes == len(image)
    assert read(sent.data).header.weights_id == RNCWeights.from_name(RECOGNITION_WEIGHTS).value.weights_id
    assert read(sent.data).metadata is None  # stripped: the server reads none of it
    assert RNCWeights.from_name(RECOGNITION_WEIGHTS) is not RNCWeights.DEFAULT  # not the default's

    told = EdgeClient(UNREACHABLE, codec_weights=weights_file).prepare(image, iterations=1)
    assert read(told.data).header.weights_id == weights_id_of(sha256_file(weights_file))


def test_a_downscaled_image_keeps_its_source_size_and_metadata_can_be_asked_for(weights_file):
    image = _png(64, 48)
    client = EdgeClient(UNREACHABLE, codec_weights=weights_file, encode_options={"longer_side": 32})
    assert read(client.prepare(image, iterations=1).data).metadata == {"source_size": [64, 48]}
    keeping = EdgeClient(UNREACHABLE, codec_weights=weights_file, encode_options={"strip_metadata": False})
    assert read(keeping.prepare(image, iterations=1).data).metadata["source_bytes"] == len(image)


def test_a_byte_budget_below_the_whole_photo_downscales_it():
    from skimage.data import astronaut

    photo = astronaut()[:192, :256]
    client = EdgeClient(UNREACHABLE, codec_weights="GRU_S_V4")
    whole = len(client.prepare(photo_png := _png_of(photo), iterations=1).data)
    budget = EdgeClient(UNREACHABLE, codec_weights="GRU_S_V4", encode_options={"max_bytes": whole - 1,
                                                                               "downscale_to_fit": True})
    sent = read(budget.prepare(photo_png).data)
    assert sent.file_bytes <= whole - 1 and sent.metadata == {"source_size": [256, 192]}
