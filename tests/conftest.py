"""Shared fixtures: headers, random codes and sample files built with the public API."""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from rnncodec.formats import Header, write_bytes

WEIGHTS = hashlib.sha256(b"test weights").digest()


def _header(**fields) -> Header:
    base = dict(width=40, height=24, mode="RGB", iterations=3, weights_id=WEIGHTS,
                architecture="g16", coder="raw")
    return Header(**{**base, **fields})


def _codes(header: Header, seed: int = 0, count: int | None = None) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    count = header.iterations if count is None else count
    return [rng.integers(0, 2, header.code_shape, dtype=np.uint8) for _ in range(count)]


@pytest.fixture(scope="session")
def make_header():
    """``make_header(**fields)``: a valid Header (40×24 RGB, 3 raw iterations) with overrides."""
    return _header


@pytest.fixture(scope="session")
def make_codes():
    """``make_codes(header, seed=0, count=None)``: reproducible random code tensors."""
    return _codes


@pytest.fixture(scope="session")
def file16():
    """A 16-iteration zstd file with metadata and alpha: ``(bytes, header, codes, metadata, alpha)``."""
    header = _header(width=37, height=21, iterations=16, coder="zstd")
    codes = _codes(header, seed=16)
    metadata = {"source_name": "cat.png", "source_bytes": 4242, "tool_version": "0.1.0"}
    alpha = np.random.default_rng(1).integers(0, 256, (21, 37), dtype=np.uint8)
    return write_bytes(header, codes, metadata, alpha), header, codes, metadata, alpha


@pytest.fixture(scope="session")
def load_benchmark():
    """``load_benchmark("rd_table")``: the script ``benchmarks/rd_table.py`` as a module (benchmarks/ is no package)."""
    def load(name: str):
        path = Path(__file__).resolve().parents[1] / "benchmarks" / f"{name}.py"
        spec = importlib.util.spec_from_file_location(f"{name}_benchmark", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    return load


# -- codec fixtures: random-initialised weights files made in the session (never downloaded) ----------


def _weights_file(path, seed: int):
    import torch

    from rnncodec.configs import get_config
    from rnncodec.model import RecurrentCodec
    from rnncodec.weights import save_weights

    torch.manual_seed(seed)
    return save_weights(RecurrentCodec(get_config("tiny")), path, meta={"note": "random, for tests"})


@pytest.fixture(scope="session")
def weights_file(tmp_path_factory):
    """A weights file of the ``tiny`` architecture with random parameters."""
    return _weights_file(tmp_path_factory.mktemp("weights") / "tiny-a.pt", seed=0)


@pytest.fixture(scope="session")
def other_weights_file(tmp_path_factory):
    """Different random weights of the same architecture."""
    return _weights_file(tmp_path_factory.mktemp("weights") / "tiny-b.pt", seed=1)


@pytest.fixture(scope="session")
def onnx_weights_file(tmp_path_factory, weights_file):
    """A copy of ``weights_file`` with its ONNX graphs beside it (``python -m rnncodec.onnx_export``)."""
    import shutil

    from rnncodec.onnx_export import export_onnx

    path = Path(shutil.copy(weights_file, tmp_path_factory.mktemp("onnx") / weights_file.name))
    export_onnx(path)
    return path


@pytest.fixture(scope="session")
def packs_alone():
    """The shipped entries packed against no base — the wheel carries their ONNX graphs, from which
    the others' are made: the one every chain of packs ends at, and the older entries rounded to
    fewer mantissa bits."""
    from rnncodec.weights import PACK_SUFFIX, RNCWeights, shipped_dir
    from rnncodec.weights_pack import read_pack_header

    return [member for member in RNCWeights
            if read_pack_header((shipped_dir() / member.value.file).with_suffix(PACK_SUFFIX))["base_sha256"] is None]


@pytest.fixture(scope="session")
def packed_alone(packs_alone):
    """The shipped entry whose pack holds its file alone, byte for byte: every chain of packs ends at
    it (the default's too)."""
    (alone,) = [member for member in packs_alone if member.value.rounded is None]
    return alone


@pytest.fixture(scope="session")
def codec(weights_file):
    from rnncodec.codec import Codec

    return Codec(weights_file)


@pytest.fixture(scope="session")
def photo():
    """A real photo (scikit-image's astronaut, public domain), cropped to 100×72 to stay fast."""
    from skimage import data

    return np.ascontiguousarray(data.astronaut()[100:172, 150:250])


# -- recognition fixtures: random torchvision networks saved as --weights files (never downloaded) ----


@pytest.fixture(autouse=True, scope="session")
def _no_weight_downloads():
    """No test may download recognizer weights: RNC_OFFLINE=1 for the whole session."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RNC_OFFLINE", "1")
        yield


@pytest.fixture(autouse=True, scope="session")
def _weights_cache(tmp_path_factory):
    """Packed shipped weights unpack into a folder of this session, not the user's cache (RNC_CACHE_DIR)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RNC_CACHE_DIR", str(tmp_path_factory.mktemp("rnc-cache")))
        yield


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """An empty torch hub cache (TORCH_HOME) and downloads off; returns its checkpoints folder."""
    monkeypatch.setenv("RNC_OFFLINE", "1")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    return tmp_path / "torch-home" / "hub" / "checkpoints"


@pytest.fixture(scope="session")
def resnet50_weights(tmp_path_factory):
    """A state dict file of a randomly initialised torchvision ResNet-50."""
    import torch
    from torchvision.models import resnet50

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("recognizers") / "resnet50-random.pth"
    torch.save(resnet50(weights=None).state_dict(), path)
    return path


@pytest.fixture(scope="session")
def ssd_weights(tmp_path_factory):
    """A state dict file of a random SSDlite320 MobileNetV3 whose class head favours 'person'.

    The bias makes every anchor score ~0.97 for person and < 0.001 for the other classes, so the
    network finds a few confident objects (for --draw and --stop-at-confidence) and its
    post-processing stays fast.
    """
    import torch
    from torchvision.models.detection import ssdlite320_mobilenet_v3_large

    torch.manual_seed(0)
    model = ssdlite320_mobilenet_v3_large(weights=None, weights_backbone=None)
    with torch.no_grad():
        for block in model.head.classification_head.module_list:
            block[-1].bias.view(-1, 91)[:, 1] += 8.0  # 91 COCO categories per anchor; 1 is person
    path = tmp_path_factory.mktemp("recognizers") / "ssdlite-random.pth"
    torch.save(model.state_dict(), path)
    return path


# -- edge server fixtures: rnc serve in a thread of the test process, on a loopback port ----------------


@pytest.fixture(scope="session")
def save_coded(codec):
    """``save_coded(folder, name, pixels, iterations)`` writes NAME.png and NAME.rnc (tiny random codec)."""
    from PIL import Image

    def save(folder, name: str, pixels, iterations: int) -> None:
        Image.fromarray(pixels).save(folder / f"{name}.png")
        (folder / f"{name}.rnc").write_bytes(codec.encode(folder / f"{name}.png", iterations))
    return save


@pytest.fixture(scope="session")
def coded_photo(tmp_path_factory, save_coded, photo):
    """A folder with photo.png (the 100×72 ``photo``) and photo.rnc (4 iterations, tiny random codec)."""
    folder = tmp_path_factory.mktemp("coded")
    save_coded(folder, "photo", photo, 4)
    return folder


@pytest.fixture(scope="session")
def rnc(coded_photo):
    """The bytes of ``coded_photo``'s photo.rnc."""
    return (coded_photo / "photo.rnc").read_bytes()


@pytest.fixture(scope="session")
def edge_server(weights_file, resnet50_weights, ssd_weights):
    """A server (:class:`rnncodec.edge.runner.BackgroundServer`): classify with the random ResNet-50,
    detect with the random SSDlite, ``.rnc`` bodies decoded with ``weights_file``; stopped at the end."""
    from rnncodec.edge.config import RecognizerSpec, ServerConfig
    from rnncodec.edge.runner import BackgroundServer

    config = ServerConfig(recognizers={"classify": RecognizerSpec("resnet50", str(resnet50_weights)),
                                       "detect": RecognizerSpec("mobilenet-ssd", str(ssd_weights))},
                          codec_weights=str(weights_file), download=False)
    with BackgroundServer(config) as server:
        yield server
