"""The onnx backend does what the torch backend does, and files cross between them: tiling, alpha,
image modes, progressive and lenient decoding; choosing a backend; PSNR and codes on photos."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import rnncodec
from rnncodec import formats
from rnncodec.backends import BackendUnavailableError, resolve_backend
from rnncodec.codec import Codec

BACKENDS = ("torch", "onnx")


@pytest.fixture(scope="module")
def photo():
    """A 160×280 crop of the astronaut: in 128-px tiles (the smallest a reader accepts), seams both ways."""
    from skimage import data

    return np.ascontiguousarray(data.astronaut()[100:260, 150:430])


@pytest.fixture(scope="module")
def codecs(onnx_weights_file):
    """Both backends on the same tiny weights, tiled at 128 px so that seams are exercised."""
    return {name: Codec(onnx_weights_file, tile_size=128, precision="fp32", backend=name) for name in BACKENDS}


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2)
    return 10 * np.log10(255 ** 2 / max(mse, 1e-12))


def _bits_agree(a: bytes, b: bytes) -> float:
    return float(np.mean(np.stack(formats.read(a).codes()) == np.stack(formats.read(b).codes())))


def test_same_weights_identity_and_header(codecs, photo):
    torch_file, onnx_file = (codecs[name].encode(photo, 2, coder="zstd") for name in BACKENDS)
    assert formats.read_header(torch_file) == formats.read_header(onnx_file)
    assert codecs["onnx"].backend.precision == "fp32"


@pytest.mark.parametrize("encoder", BACKENDS)
def test_a_file_decodes_alike_with_either_backend(codecs, photo, encoder):
    data = codecs[encoder].encode(photo, 3)  # 160×280 in 128-px tiles: seams both ways
    torch_pixels, onnx_pixels = (np.asarray(codecs[name].decode(data), np.int16) for name in BACKENDS)
    assert np.abs(torch_pixels - onnx_pixels).max() <= 1
    for k in (1, 2):  # any prefix
        assert np.abs(np.asarray(codecs["torch"].decode(data, k), np.int16)
                      - np.asarray(codecs["onnx"].decode(data, k), np.int16)).max() <= 1


def test_encoders_agree_on_the_codes(codecs, photo):
    files = [codecs[name].encode(photo, 4, coder="zstd") for name in BACKENDS]
    assert _bits_agree(*files) >= 0.999


@pytest.mark.parametrize("mode", ["L", "LA", "RGBA", "P", "I;16"])
def test_image_modes_and_alpha_on_onnx(codecs, photo, mode):
    image = Image.fromarray(photo).convert("RGBA" if mode in ("LA", "RGBA") else "RGB")
    if mode in ("LA", "RGBA"):
        image.putalpha(Image.fromarray(np.tile((np.arange(photo.shape[1]) % 256).astype(np.uint8), (photo.shape[0], 1))))
    source = image.convert(mode)
    data = codecs["onnx"].encode(source, 2)
    decoded = {name: codecs[name].decode(data) for name in BACKENDS}
    assert {d.mode for d in decoded.values()} == {formats.read_header(data).mode + ("A" if "A" in mode else "")}
    if "A" in mode:  # alpha is lossless whatever decodes it
        assert all(np.array_equal(np.asarray(d.getchannel("A")), np.asarray(source.getchannel("A")))
                   for d in decoded.values())


def test_progressive_and_lenient_decoding_on_onnx(codecs, photo):
    codec = codecs["onnx"]
    data = codecs["torch"].encode(photo, 3, coder="raw")
    rnc = formats.read(data)
    decoder = codec.progressive_decoder(rnc.header)
    for k, bits in enumerate(rnc.codes(), 1):
        assert np.array_equal(np.asarray(decoder.add(bits)), np.asarray(codec.decode(data, k)))
    cut = data[:-20]  # inside the last iteration's chunk
    with pytest.raises(formats.TruncatedFileError):
        codec.decode(cut)
    assert np.array_equal(np.asarray(codec.decode(cut, strict=False)), np.asarray(codec.decode(data, 2)))


def test_backend_choice(onnx_weights_file, monkeypatch, photo):
    monkeypatch.setenv("RNC_BACKEND", "onnx")
    assert resolve_backend() == "onnx" and Codec(onnx_weights_file).backend.name == "onnx"
    data = rnncodec.encode(photo, 1, weights=onnx_weights_file)
    assert rnncodec.decode(data, weights=onnx_weights_file, backend="torch").size == (280, 160)
    monkeypatch.delenv("RNC_BACKEND")
    assert resolve_backend() == "torch" and resolve_backend("auto") == "torch"  # torch is installed here
    with pytest.raises(ValueError, match="backend must be"):
        Codec(onnx_weights_file, backend="tflite")
    with pytest.raises(ValueError, match="float32 only"):
        Codec(onnx_weights_file, backend="onnx", precision="bf16")


def test_torch_backend_without_torch_says_how_to_install(monkeypatch, onnx_weights_file):
    monkeypatch.setattr("rnncodec.backends.torch_installed", lambda: False)
    assert resolve_backend() == "onnx"
    with pytest.raises(BackendUnavailableError, match=r"pip install 'rnncodec\[torch\]'"):
        Codec(onnx_weights_file, backend="torch")


@pytest.mark.slow
def test_shipped_weights_agree_across_backends_on_photos():
    """The default weights on three public-domain photos (128×192 crops), 2 iterations: the same
    codes and the same PSNR within 0.05 dB whichever backend encodes and decodes."""
    from skimage import data as samples

    torch_codec, onnx_codec = (Codec(precision="fp32", backend=name) for name in BACKENDS)
    for name in ("astronaut", "coffee", "chelsea"):
        photo = np.ascontiguousarray(getattr(samples, name)()[:128, :192])
        files = [codec.encode(photo, 2, coder="zstd") for codec in (torch_codec, onnx_codec)]
        assert _bits_agree(*files) >= 0.999, name
        for data in files:
            psnrs = [_psnr(codec.decode(data), photo) for codec in (torch_codec, onnx_codec)]
            assert abs(psnrs[0] - psnrs[1]) < 0.05, (name, psnrs)
