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
    pixels = np.random.default_rng(3).integers(0, 256, (height, width, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def test_an_image_is_encoded_with_the_recognition_weights_unless_told(weights_file):
    image = _png()
    sent = EdgeClient(UNREACHABLE).prepare(image, iterations=1)
    assert sent.kind == "rnc" and sent.original_bytes == len(image)
    assert read(sent.data).header.weights_id == RNCWeights.from_name(RECOGNITION_WEIGHTS).value.weights_id
    assert RNCWeights.from_name(RECOGNITION_WEIGHTS) is not RNCWeights.DEFAULT  # not the default's

    told = EdgeClient(UNREACHABLE, codec_weights=weights_file).prepare(image, iterations=1)
    assert read(told.data).header.weights_id == weights_id_of(sha256_file(weights_file))
