"""Shared fixtures: headers, random codes and sample files built with the public API."""

from __future__ import annotations

import hashlib

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
def codec(weights_file):
    from rnncodec.codec import Codec

    return Codec(weights_file)


@pytest.fixture(scope="session")
def photo():
    """A real photo (scikit-image's astronaut, public domain), cropped to 100×72 to stay fast."""
    from skimage import data

    return np.ascontiguousarray(data.astronaut()[100:172, 150:250])
